//! JSON output: `patch`'s array and `check --output json`'s array.
//!
//! Both are one JSON array with one object per workload, written as the files are processed
//! (one object per line), so memory does not grow with the tree. Fields common to both:
//!
//! - `file`: the path as given on the command line or found in a directory, `<stdin>` for stdin;
//! - `document`: 0-based index of the YAML document in the file;
//! - `pointer`: JSON pointer of the workload in its document, `""` or `/items/N` in a `v1 List`;
//! - `kind`, `namespace`, `name`: from the object (`null` when absent);
//! - `level`: `baseline`, `restricted` or `privileged` (nothing checked), the level the
//!   workload was held to; `version`: `v1.N` or `latest` (`null` when privileged);
//!   `level_source`: `flag`, `namespace` or `default` (namespace unknown).
//!
//! `patch` adds `patch` (RFC 6902 operations relative to the workload object: exactly what `fix`
//! applies) and `unfixable` (`[{"check", "path", "reason", "line", "column"}]`), and for a
//! workload that cannot reach its level and was left unchanged (no `--partial`), `withheld`
//! (`[{"check", "level", "safety", "path", "description"}]`, the fixes not applied); `notes`
//! (`[{"path", "message"}]`, advice such as setting `spec.os.name: windows`) when there are any.
//!
//! `check` adds `line` and `column` of the workload, `violations`
//! (`[{"check", "level", "path", "paths", "message", "line", "column"}]`, PSS violations as PSA judges
//! them; `paths` lists every offending field when there are several) and `hardening_gaps`
//! (`[{"check", "path", "message", "line", "column"}]`, K01 hardening), and, only when an
//! exemption (config or `pss-fix.dev/skip`) covers a finding, `exempted`
//! (`[{"check", "path", "message", "hardening", "reason", "line", "column"}]`: not in
//! `violations` or `hardening_gaps` and not counted for the exit code).

use crate::manifest::{Enforce, Exempted, LevelSource, Located, WorkloadReport};
use crate::plan::{Change, HardeningGap, Note, Unfixable};
use crate::pss::Violation;
use serde::Serialize;
use std::io::{self, Write};

/// Writes a JSON array element by element: `[` before the first, `,` between, `]` at the end.
pub struct ArrayWriter {
    started: bool,
}

impl ArrayWriter {
    pub fn new() -> ArrayWriter {
        ArrayWriter { started: false }
    }

    /// Writes one element on its own line.
    pub fn element(&mut self, out: &mut dyn Write, element: &impl Serialize) -> io::Result<()> {
        out.write_all(if self.started { b",\n" } else { b"[\n" })?;
        self.started = true;
        serde_json::to_writer(&mut *out, element)?;
        Ok(())
    }

    /// Closes the array (an empty one when no element was written).
    pub fn finish(self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(if self.started { b"\n]\n" } else { b"[]\n" })
    }
}

impl Default for ArrayWriter {
    fn default() -> Self {
        ArrayWriter::new()
    }
}

/// The fields every per-workload object starts with.
#[derive(Serialize)]
struct Identity<'a> {
    file: &'a str,
    document: usize,
    pointer: &'a str,
    kind: &'a str,
    namespace: Option<&'a str>,
    name: Option<&'a str>,
    level: &'static str,
    version: Option<String>,
    level_source: LevelSource,
}

impl<'a> Identity<'a> {
    fn new(file: &'a str, workload: &'a WorkloadReport) -> Identity<'a> {
        let (level, version) = match workload.held_to.enforce {
            Enforce::Privileged => ("privileged", None),
            Enforce::Level(level, version) => (level.as_str(), Some(version.to_string())),
        };
        Identity {
            file,
            document: workload.document,
            pointer: &workload.pointer,
            kind: &workload.kind,
            namespace: workload.namespace.as_deref(),
            name: workload.name.as_deref(),
            level,
            version,
            level_source: workload.held_to.source,
        }
    }
}

/// One element of `patch`'s array.
#[derive(Serialize)]
pub struct PatchEntry<'a> {
    #[serde(flatten)]
    identity: Identity<'a>,
    patch: &'a json_patch::Patch,
    unfixable: &'a [Located<Unfixable>],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    withheld: &'a [Change],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    notes: &'a [Note],
}

impl<'a> PatchEntry<'a> {
    pub fn new(file: &'a str, workload: &'a WorkloadReport) -> PatchEntry<'a> {
        PatchEntry {
            identity: Identity::new(file, workload),
            patch: &workload.patch,
            unfixable: &workload.unfixable,
            withheld: &workload.withheld,
            notes: &workload.notes,
        }
    }
}

/// One element of `check --output json`'s array.
#[derive(Serialize)]
pub struct CheckEntry<'a> {
    #[serde(flatten)]
    identity: Identity<'a>,
    line: usize,
    column: usize,
    violations: &'a [Located<Violation>],
    hardening_gaps: &'a [Located<HardeningGap>],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    exempted: &'a [Located<Exempted>],
}

impl<'a> CheckEntry<'a> {
    pub fn new(file: &'a str, workload: &'a WorkloadReport) -> CheckEntry<'a> {
        CheckEntry {
            identity: Identity::new(file, workload),
            line: workload.line,
            column: workload.column,
            violations: &workload.violations,
            hardening_gaps: &workload.hardening_gaps,
            exempted: &workload.exempted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::deployment;
    use serde_json::{json, Value};

    fn parse(writer: ArrayWriter, mut out: Vec<u8>) -> Value {
        writer.finish(&mut out).expect("writes to a vec");
        serde_json::from_slice(&out).expect("valid JSON")
    }

    #[test]
    fn empty_array() {
        assert_eq!(parse(ArrayWriter::new(), Vec::new()), json!([]));
    }

    #[test]
    fn patch_entry_fields() {
        let workload = deployment();
        let (mut writer, mut out) = (ArrayWriter::new(), Vec::new());
        writer
            .element(&mut out, &PatchEntry::new("app.yaml", &workload))
            .expect("writes");
        assert_eq!(
            parse(writer, out),
            json!([{
                "file": "app.yaml", "document": 1, "pointer": "", "kind": "Deployment",
                "namespace": "shop", "name": "web", "level": "restricted", "version": "v1.30",
                "level_source": "namespace",
                "patch": [{"op": "add",
                    "path": "/spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation",
                    "value": false}],
                "unfixable": [{"check": "hostPathVolumes",
                    "path": "/spec/template/spec/volumes/0/hostPath",
                    "reason": "removing the volume changes what the pod mounts",
                    "line": 30, "column": 11}]
            }])
        );
    }

    #[test]
    fn check_entries_in_order() {
        let first = deployment();
        let mut second = deployment();
        second.name = Some("api".to_owned());
        second.held_to.enforce = Enforce::Privileged;
        second.violations.clear();
        let (mut writer, mut out) = (ArrayWriter::new(), Vec::new());
        for workload in [&first, &second] {
            writer
                .element(&mut out, &CheckEntry::new("a.yaml", workload))
                .expect("writes");
        }
        let value = parse(writer, out);
        assert_eq!(value[0]["violations"][1]["check"], "hostPathVolumes");
        assert_eq!(value[0]["violations"][1]["line"], 30);
        assert_eq!(
            value[0]["hardening_gaps"][0]["check"],
            "readOnlyRootFilesystem"
        );
        assert_eq!(value[1]["name"], "api");
        assert_eq!(value[1]["level"], "privileged");
        assert_eq!(value[1]["version"], Value::Null);
        assert_eq!(value[1]["violations"], json!([]));
    }

    #[test]
    fn exempted_findings_are_listed_apart_only_when_there_are_some() {
        let plain = deployment();
        let exempted = crate::report::fixtures::exempted_deployment();
        let (mut writer, mut out) = (ArrayWriter::new(), Vec::new());
        for workload in [&plain, &exempted] {
            writer
                .element(&mut out, &CheckEntry::new("a.yaml", workload))
                .expect("writes");
        }
        let value = parse(writer, out);
        assert!(value[0].get("exempted").is_none());
        assert_eq!(value[1]["violations"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            value[1]["exempted"],
            json!([{"check": "hostPathVolumes", "path": "/spec/template/spec/volumes/0/hostPath",
                "message": "hostPathVolumes is not allowed", "hardening": false,
                "reason": "exempted by pss-fix.dev/skip", "line": 30, "column": 9}])
        );
    }
}
