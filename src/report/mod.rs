//! Output: unified diffs, the `patch` JSON, `check` text, JSON and SARIF, and the explanation of
//! each fix. Everything writes into `impl Write`; nothing here prints, opens files or decides
//! exit codes.
//!
//! Inputs are [`crate::manifest::WorkloadReport`]s plus the file's display name, which the
//! caller chooses (a path as given, or `<stdin>`).

pub mod diff;
pub mod json;
pub mod sarif;
pub mod text;

use crate::manifest::{Enforce, Finding, WorkloadReport};

/// Display name of the standard input.
pub const STDIN_NAME: &str = "<stdin>";

/// `restricted latest`, `baseline v1.25` or `privileged`.
pub fn enforce_name(enforce: Enforce) -> String {
    match enforce {
        Enforce::Privileged => "privileged".to_owned(),
        Enforce::Level(level, version) => format!("{level} {version}"),
    }
}

/// What a finding is reported against: the level the workload is held to (`held_to`, from
/// [`enforce_name`]), or `hardening` for a K01 gap.
pub fn finding_label<'a>(finding: &Finding<'_>, held_to: &'a str) -> &'a str {
    if finding.hardening {
        "hardening"
    } else {
        held_to
    }
}

/// `Kind/namespace/name`, or `Kind/name` without a namespace; an unnamed object (a template
/// with `generateName`) shows `<unnamed>`.
pub fn workload_name(workload: &WorkloadReport) -> String {
    let name = workload.name.as_deref().unwrap_or("<unnamed>");
    match &workload.namespace {
        Some(namespace) => format!("{}/{namespace}/{name}", workload.kind),
        None => format!("{}/{name}", workload.kind),
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Hand-built workload reports for the writers' tests (no engine involved).

    use crate::manifest::{Enforce, Exempted, HeldTo, LevelSource, Located, WorkloadReport};
    use crate::plan::{Change, HardeningGap, Unfixable};
    use crate::policy::Safety;
    use crate::pss::{Level, Version, Violation};
    use json_patch::Patch;
    use serde_json::json;

    /// A Deployment with one fix, one unfixable violation, two violations and a hardening gap.
    pub fn deployment() -> WorkloadReport {
        let patch: Patch = serde_json::from_value(json!([{"op": "add",
            "path": "/spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation",
            "value": false}]))
        .expect("valid patch");
        let violation = |check: &str, path: &str, line| Located {
            item: Violation {
                check: check.to_owned(),
                level: Level::Restricted,
                path: path.to_owned(),
                paths: vec![path.to_owned()],
                message: format!("{check} is not allowed"),
            },
            line,
            column: 9,
        };
        WorkloadReport {
            document: 1,
            pointer: String::new(),
            kind: "Deployment".to_owned(),
            namespace: Some("shop".to_owned()),
            name: Some("web".to_owned()),
            line: 12,
            column: 1,
            held_to: HeldTo {
                enforce: Enforce::Level(Level::Restricted, Version::Minor(30)),
                source: LevelSource::Namespace,
            },
            patch,
            changes: vec![Change {
                check: "allowPrivilegeEscalation".to_owned(),
                level: Some(Level::Restricted),
                safety: Safety::Safe,
                path: "/spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation"
                    .to_owned(),
                description: "set allowPrivilegeEscalation to false",
            }],
            // Fixed in part (`--partial`): the hostPath volume blocks the level.
            blocked: true,
            withheld: Vec::new(),
            notes: Vec::new(),
            unfixable: vec![Located {
                item: Unfixable {
                    check: "hostPathVolumes".to_owned(),
                    path: "/spec/template/spec/volumes/0/hostPath".to_owned(),
                    reason: "removing the volume changes what the pod mounts".to_owned(),
                },
                line: 30,
                column: 11,
            }],
            violations: vec![
                violation(
                    "allowPrivilegeEscalation",
                    "/spec/template/spec/containers/0",
                    20,
                ),
                violation(
                    "hostPathVolumes",
                    "/spec/template/spec/volumes/0/hostPath",
                    30,
                ),
            ],
            hardening_gaps: vec![Located {
                item: HardeningGap {
                    check: "readOnlyRootFilesystem".to_owned(),
                    path: "/spec/template/spec/containers/0".to_owned(),
                    message: "container \"app\" should set readOnlyRootFilesystem".to_owned(),
                },
                line: 20,
                column: 9,
            }],
            exempted: Vec::new(),
        }
    }

    /// [`deployment`] with its hostPathVolumes violation exempted by the skip annotation.
    pub fn exempted_deployment() -> WorkloadReport {
        let mut workload = deployment();
        let violation = workload.violations.remove(1);
        workload.exempted.push(Located {
            item: Exempted {
                check: violation.item.check,
                path: violation.item.path,
                message: violation.item.message,
                hardening: false,
                reason: "exempted by pss-fix.dev/skip".to_owned(),
            },
            line: violation.line,
            column: violation.column,
        });
        workload
    }
}
