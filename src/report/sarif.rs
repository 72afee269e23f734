//! `check --output sarif`: a SARIF 2.1.0 log that GitHub code scanning accepts.
//!
//! One run whose tool driver is `pss-fix` and whose rules are the checks found (id = the
//! upstream check id, or the hardening id), in first-seen order. Each finding is one result:
//! `ruleId`/`ruleIndex`, `level` (`error` for a PSS violation; `warning` for a hardening gap,
//! or `error` with `--hardening`), `message.text` naming the workload, the level it was held to
//! and the upstream message, and one physical location: the file as a relative URI against
//! `%SRCROOT%` and the region `startLine`/`startColumn` of the offending field.
//! `properties.pointer` carries the field's JSON pointer within its document. A finding an
//! exemption covers carries `suppressions`: kind `inSource` for the `pss-fix.dev/skip`
//! annotation in the file, `external` for the config file, the reason as `justification`.
//!
//! SARIF is one JSON object, so results are collected (they are small) and written at the end.

use super::{enforce_name, finding_label, workload_name};
use crate::manifest::WorkloadReport;
use serde_json::{json, Value};
use std::io::{self, Write};

/// Where rules link to for help.
const HELP_URI: &str = "https://kubernetes.io/docs/concepts/security/pod-security-standards/";

/// Where a finding is: file, JSON pointer within the document, line and column.
struct Place<'a> {
    file: &'a str,
    pointer: String,
    line: usize,
    column: usize,
}

/// A SARIF log being built.
pub struct SarifLog {
    /// Rule ids in first-seen order, with whether the rule is a hardening rule.
    rules: Vec<(String, bool)>,
    results: Vec<Value>,
    /// Hardening gaps are errors (they fail the run) rather than warnings.
    hardening_is_error: bool,
}

impl SarifLog {
    pub fn new(hardening_is_error: bool) -> SarifLog {
        SarifLog {
            rules: Vec::new(),
            results: Vec::new(),
            hardening_is_error,
        }
    }

    /// Adds the findings of one workload of `file` (a path relative to the repository root).
    pub fn add(&mut self, file: &str, workload: &WorkloadReport) {
        let name = workload_name(workload);
        let held_to = enforce_name(workload.held_to.enforce);
        for found in workload.findings() {
            let label = finding_label(&found, &held_to);
            let text = format!("{name} [{label}]: {}", found.message);
            let place = Place {
                file,
                pointer: format!("{}{}", workload.pointer, found.path),
                line: found.line,
                column: found.column,
            };
            self.result(found.check, place, text, found.hardening, found.exempted);
        }
    }

    fn result(
        &mut self,
        check: &str,
        place: Place<'_>,
        text: String,
        hardening: bool,
        exempted: Option<&str>,
    ) {
        let index = match self.rules.iter().position(|(id, _)| id == check) {
            Some(index) => index,
            None => {
                self.rules.push((check.to_owned(), hardening));
                self.rules.len() - 1
            }
        };
        let level = if hardening && !self.hardening_is_error {
            "warning"
        } else {
            "error"
        };
        self.results.push(json!({
            "ruleId": check,
            "ruleIndex": index,
            "level": level,
            "message": {"text": text},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": uri(place.file), "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": place.line, "startColumn": place.column}
            }}],
            "properties": {"pointer": place.pointer}
        }));
        if let (Some(reason), Some(Value::Object(result))) = (exempted, self.results.last_mut()) {
            // The annotation sits in the file itself; a config rule, alone or with it, does not.
            let kind = if reason.contains("config") {
                "external"
            } else {
                "inSource"
            };
            result.insert(
                "suppressions".to_owned(),
                json!([{"kind": kind, "justification": reason}]),
            );
        }
    }

    /// Writes the whole log.
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|(id, hardening)| {
                let description = if *hardening {
                    format!("OWASP K01 hardening: {id}")
                } else {
                    format!("Pod Security Standards control: {id}")
                };
                let level = if *hardening && !self.hardening_is_error {
                    "warning"
                } else {
                    "error"
                };
                json!({
                    "id": id,
                    "name": id,
                    "shortDescription": {"text": description},
                    "helpUri": HELP_URI,
                    "defaultConfiguration": {"level": level}
                })
            })
            .collect();
        let log = json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "pss-fix",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": HELP_URI,
                    "rules": rules
                }},
                "results": self.results
            }]
        });
        serde_json::to_writer_pretty(&mut *out, &log)?;
        writeln!(out)
    }
}

/// A relative URI reference for a file path: `/` separators, no leading `./`, and bytes outside
/// RFC 3986's unreserved set and `/` percent-encoded.
fn uri(file: &str) -> String {
    let file = file.strip_prefix("./").unwrap_or(file);
    let mut uri = String::with_capacity(file.len());
    for byte in file.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                uri.push(char::from(byte))
            }
            b'\\' => uri.push('/'),
            _ => uri.push_str(&format!("%{byte:02X}")),
        }
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::deployment;

    fn log(hardening_is_error: bool) -> Value {
        let mut sarif = SarifLog::new(hardening_is_error);
        sarif.add("./deploy/app one.yaml", &deployment());
        let mut out = Vec::new();
        sarif.write(&mut out).expect("writes to a vec");
        serde_json::from_slice(&out).expect("valid JSON")
    }

    #[test]
    fn shape_github_needs() {
        let log = log(false);
        assert_eq!(log["version"], "2.1.0");
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["name"], "pss-fix");
        let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
        let ids: Vec<&str> = rules
            .iter()
            .map(|rule| rule["id"].as_str().expect("id"))
            .collect();
        assert_eq!(
            ids,
            [
                "allowPrivilegeEscalation",
                "hostPathVolumes",
                "readOnlyRootFilesystem"
            ]
        );
        let results = run["results"].as_array().expect("results");
        assert_eq!(results.len(), 3);
        let second = &results[1];
        assert_eq!(second["ruleId"], "hostPathVolumes");
        assert_eq!(second["ruleIndex"], 1);
        assert_eq!(second["level"], "error");
        let location = &second["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], "deploy/app%20one.yaml");
        assert_eq!(location["region"]["startLine"], 30);
        assert_eq!(location["region"]["startColumn"], 9);
        assert!(second["message"]["text"]
            .as_str()
            .expect("text")
            .starts_with("Deployment/shop/web [restricted v1.30]: "));
        assert_eq!(results[2]["level"], "warning");
    }

    #[test]
    fn hardening_counts_as_error_on_request() {
        let log = log(true);
        assert_eq!(log["runs"][0]["results"][2]["level"], "error");
        assert_eq!(
            log["runs"][0]["tool"]["driver"]["rules"][2]["defaultConfiguration"]["level"],
            "error"
        );
    }

    #[test]
    fn empty_log_is_valid() {
        let mut out = Vec::new();
        SarifLog::new(false).write(&mut out).expect("writes");
        let log: Value = serde_json::from_slice(&out).expect("valid JSON");
        assert_eq!(log["runs"][0]["results"], json!([]));
    }

    #[test]
    fn exempted_findings_are_suppressed_results() {
        let mut workload = crate::report::fixtures::exempted_deployment();
        let mut sarif = SarifLog::new(false);
        sarif.add("app.yaml", &workload);
        workload.exempted[0].item.reason = "exempted by config".to_owned();
        sarif.add("app.yaml", &workload);
        let mut out = Vec::new();
        sarif.write(&mut out).expect("writes to a vec");
        let log: Value = serde_json::from_slice(&out).expect("valid JSON");
        let results = log["runs"][0]["results"].as_array().expect("results");
        assert_eq!(results.len(), 6);
        assert!(results[0].get("suppressions").is_none());
        assert_eq!(results[2]["ruleId"], "hostPathVolumes");
        assert_eq!(
            results[2]["suppressions"],
            json!([{"kind": "inSource", "justification": "exempted by pss-fix.dev/skip"}])
        );
        assert_eq!(results[5]["suppressions"][0]["kind"], "external");
    }
}
