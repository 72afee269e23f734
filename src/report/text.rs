//! Human-readable text: `check`'s findings and `fix`'s explanations.
//!
//! `check` writes one line per finding, in the form compilers and editors jump to:
//! `FILE:LINE:COL: KIND/NAMESPACE/NAME [LEVEL VERSION]: CHECK: MESSAGE`, where the bracket says
//! which level the workload was held to (`restricted latest`, `baseline v1.25`); K01 hardening
//! gaps have `[hardening]` there instead, so they read as their own kind of finding. Findings an
//! exemption covers come last, the reason added in the bracket
//! (`[restricted latest, exempted by config]`); they do not count.
//!
//! `fix` explains each workload it changed or could not fully fix: a heading
//! `FILE:LINE:COL: KIND/NAMESPACE/NAME [LEVEL VERSION, FROM]`, then one line per change
//! `  fixed CHECK (LEVEL, safe|changes-behaviour) at PATH: DESCRIPTION`, and one per violation
//! left `  unfixable CHECK at LINE:COL PATH: REASON`. A workload that cannot reach its level
//! and was left unchanged (no `--partial`) says so under its heading, and lists the fixes not
//! applied as `  withheld CHECK (LEVEL, SAFETY) at PATH: DESCRIPTION`. Advice comes last, as
//! `  note at PATH: MESSAGE`.

use super::{enforce_name, finding_label, workload_name};
use crate::manifest::{LevelSource, WorkloadReport};
use crate::plan::Change;
use crate::policy::Safety;
use std::io::{self, Write};

/// Writes `check`'s lines for one workload: its violations, then its hardening gaps.
pub fn write_findings(
    out: &mut dyn Write,
    file: &str,
    workload: &WorkloadReport,
) -> io::Result<()> {
    let name = workload_name(workload);
    let held_to = enforce_name(workload.held_to.enforce);
    for found in workload.findings() {
        let label = finding_label(&found, &held_to);
        let exempted = found
            .exempted
            .map_or(String::new(), |reason| format!(", {reason}"));
        writeln!(
            out,
            "{file}:{}:{}: {name} [{label}{exempted}]: {}: {}",
            found.line, found.column, found.check, found.message
        )?;
    }
    Ok(())
}

/// Writes the explanation of what fixing did to one workload; nothing when it needed nothing.
pub fn write_explanation(
    out: &mut dyn Write,
    file: &str,
    workload: &WorkloadReport,
) -> io::Result<()> {
    if workload.changes.is_empty()
        && workload.unfixable.is_empty()
        && workload.withheld.is_empty()
        && workload.notes.is_empty()
    {
        return Ok(());
    }
    let level = enforce_name(workload.held_to.enforce);
    // The level's origin is worth saying only when it varies per workload (--level namespace).
    let source = match workload.held_to.source {
        LevelSource::Flag => "",
        LevelSource::Namespace => ", from its namespace",
        LevelSource::Default => ", namespace unknown, --default-level",
    };
    writeln!(
        out,
        "{file}:{}:{}: {} [{}{source}]",
        workload.line,
        workload.column,
        workload_name(workload),
        level
    )?;
    if !workload.withheld.is_empty() {
        writeln!(
            out,
            "  cannot reach {level}: left unchanged, {} withheld (--partial applies them)",
            pluralize(workload.withheld.len(), "fix", "fixes")
        )?;
    } else if workload.blocked {
        let what = if workload.changes.is_empty() {
            "nothing to fix"
        } else {
            "fixed in part (--partial)"
        };
        writeln!(out, "  cannot reach {level}: {what}")?;
    }
    for change in &workload.changes {
        write_change(out, "fixed", change)?;
    }
    for change in &workload.withheld {
        write_change(out, "withheld", change)?;
    }
    for note in &workload.notes {
        writeln!(out, "  note at {}: {}", note.path, note.message)?;
    }
    for left in &workload.unfixable {
        writeln!(
            out,
            "  unfixable {} at {}:{} {}: {}",
            left.item.check, left.line, left.column, left.item.path, left.item.reason
        )?;
    }
    Ok(())
}

/// `  VERB CHECK (LEVEL, SAFETY) at PATH: DESCRIPTION`.
fn write_change(out: &mut dyn Write, verb: &str, change: &Change) -> io::Result<()> {
    let level = change.level.map_or("hardening", |level| level.as_str());
    let safety = match change.safety {
        Safety::Safe => "safe",
        Safety::ChangesBehaviour => "changes-behaviour",
    };
    writeln!(
        out,
        "  {verb} {} ({level}, {safety}) at {}: {}",
        change.check, change.path, change.description
    )
}

/// `1 fix`, `2 fixes`.
fn pluralize(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::deployment;

    fn render(write: impl Fn(&mut dyn Write) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        write(&mut out).expect("writes to a vec");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn findings_are_one_line_each_hardening_apart() {
        let text = render(|out| write_findings(out, "app.yaml", &deployment()));
        assert_eq!(
            text,
            "app.yaml:20:9: Deployment/shop/web [restricted v1.30]: allowPrivilegeEscalation: \
allowPrivilegeEscalation is not allowed\n\
app.yaml:30:9: Deployment/shop/web [restricted v1.30]: hostPathVolumes: hostPathVolumes is not \
allowed\n\
app.yaml:20:9: Deployment/shop/web [hardening]: readOnlyRootFilesystem: container \"app\" \
should set readOnlyRootFilesystem\n"
        );
    }

    #[test]
    fn explanation_lists_changes_and_unfixables() {
        let text = render(|out| write_explanation(out, "app.yaml", &deployment()));
        assert_eq!(
            text,
            "app.yaml:12:1: Deployment/shop/web [restricted v1.30, from its namespace]\n  \
cannot reach restricted v1.30: fixed in part (--partial)\n  \
fixed allowPrivilegeEscalation (restricted, safe) at \
/spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation: set \
allowPrivilegeEscalation to false\n  \
unfixable hostPathVolumes at 30:11 /spec/template/spec/volumes/0/hostPath: removing the volume \
changes what the pod mounts\n"
        );
    }

    #[test]
    fn a_workload_left_unchanged_lists_the_withheld_fixes() {
        let mut workload = deployment();
        workload.withheld = std::mem::take(&mut workload.changes);
        let text = render(|out| write_explanation(out, "app.yaml", &workload));
        assert!(text.contains(
            "\n  cannot reach restricted v1.30: left unchanged, 1 fix withheld (--partial applies \
them)\n  withheld allowPrivilegeEscalation (restricted, safe) at "
        ));
    }

    #[test]
    fn nothing_to_explain_writes_nothing() {
        let mut workload = deployment();
        workload.changes.clear();
        workload.unfixable.clear();
        assert_eq!(render(|out| write_explanation(out, "a", &workload)), "");
    }

    #[test]
    fn exempted_findings_come_last_with_the_reason() {
        let workload = crate::report::fixtures::exempted_deployment();
        let text = render(|out| write_findings(out, "app.yaml", &workload));
        assert!(
            text.ends_with(
                "app.yaml:30:9: Deployment/shop/web [restricted v1.30, exempted by \
pss-fix.dev/skip]: hostPathVolumes: hostPathVolumes is not allowed\n"
            ),
            "{text}"
        );
    }
}
