//! `check --output sarif`: a SARIF 2.1.0 log that GitHub code scanning accepts.
//!
//! One run whose tool driver is `pss-fix` and whose rules are the checks found (id = the
//! upstream check id, or the hardening id), in first-seen order. Each finding is one result:
//! `ruleId`/`ruleIndex`, `level` (`error` for a PSS violation; `warning` for a hardening gap,
//! or `error` with `--hardening`), `message.text` naming the workload, the level it was held to
//! and the upstream message, and one physical location: the file as a relative URI against
//! `%SRCROOT%` (the current directory, where code scanning runs) and the region
//! `startLine`/`startColumn` of the offending field. `properties.pointer` carries the field's
//! JSON pointer within its document. A finding an exemption covers carries `suppressions`: kind
//! `inSource` for the `pss-fix.dev/skip` annotation in the file, `external` for the config
//! file, the reason as `justification`.
//!
//! Each rule has `help` (text and Markdown: what the control requires and how `pss-fix fix`
//! helps) and `properties.security-severity`, the CVSS-like score GitHub ranks alerts by
//! (baseline controls high, restricted medium, hardening low), with the tag `security`. An input
//! that could not be read (not YAML, not UTF-8) is not a result but a tool execution
//! notification of level `error` in `invocations[0]`, whose `executionSuccessful` is then
//! false; code scanning shows those as tool errors, not as alerts.
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

/// What a rule's help says and how severe GitHub should rank it, per check id.
fn rule_help(id: &str) -> (&'static str, &'static str) {
    match id {
        "privileged" => (
            "Privileged containers disable most security mechanisms: \
securityContext.privileged must be unset or false.",
            "9.0",
        ),
        "hostNamespaces" => (
            "Sharing the host's namespaces must be disallowed: hostNetwork, \
hostPID and hostIPC must be unset or false.",
            "8.5",
        ),
        "hostPathVolumes" => (
            "HostPath volumes must be forbidden: they expose the node's \
file system. pss-fix cannot remove them without changing what the workload mounts.",
            "8.5",
        ),
        "capabilities_baseline" => (
            "Adding capabilities beyond the default set must be \
disallowed (securityContext.capabilities.add).",
            "8.0",
        ),
        "hostPorts" => (
            "HostPorts should be disallowed entirely (or limited to a known \
list): they bind the node's network.",
            "7.0",
        ),
        "hostProbesAndHostLifecycle" => (
            "Probes and lifecycle handlers must not set `host` \
to reach other hosts from the node.",
            "7.0",
        ),
        "appArmorProfile" => (
            "Overriding the default AppArmor profile must not be allowed: \
RuntimeDefault or Localhost only.",
            "7.0",
        ),
        "seLinuxOptions" => (
            "Setting a custom SELinux user or role is forbidden, and the type \
is limited to the container types.",
            "7.0",
        ),
        "procMount" | "procMount_restricted" => (
            "The default /proc masks must be kept: \
procMount must be unset or Default.",
            "7.0",
        ),
        "seccompProfile_baseline" => ("Seccomp must not be explicitly set to Unconfined.", "7.0"),
        "sysctls" => (
            "Sysctls can disable security mechanisms or affect every container on \
the node: only the safe subset is allowed.",
            "7.0",
        ),
        "windowsHostProcess" => (
            "Windows HostProcess containers have privileged access to \
the host and must not be used.",
            "9.0",
        ),
        "restrictedVolumes" => (
            "The restricted level allows only configMap, csi, \
downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected and secret volumes.",
            "6.0",
        ),
        "allowPrivilegeEscalation" => (
            "Privilege escalation (setuid binaries) must not be \
allowed: securityContext.allowPrivilegeEscalation must be false.",
            "6.5",
        ),
        "runAsNonRoot" => (
            "Containers must run as non-root users: runAsNonRoot must be \
true.",
            "6.5",
        ),
        "runAsUser" => ("Containers must not set runAsUser to 0.", "6.5"),
        "seccompProfile_restricted" => (
            "A seccomp profile must be set: RuntimeDefault or \
Localhost.",
            "5.5",
        ),
        "capabilities_restricted" => (
            "Containers must drop ALL capabilities and may add \
back only NET_BIND_SERVICE.",
            "6.0",
        ),
        "readOnlyRootFilesystem" => (
            "OWASP K01 hardening: a read-only root file system \
keeps an attacker from changing the container's binaries.",
            "3.0",
        ),
        "resources" => (
            "OWASP K01 hardening: resource requests and limits keep one \
workload from starving the node.",
            "2.0",
        ),
        _ => ("A control of the Pod Security Standards.", "5.0"),
    }
}

/// A SARIF log being built.
pub struct SarifLog {
    /// Rule ids in first-seen order, with whether the rule is a hardening rule.
    rules: Vec<(String, bool)>,
    results: Vec<Value>,
    /// Inputs that could not be read, as `toolExecutionNotifications`.
    notifications: Vec<Value>,
    /// Hardening gaps are errors (they fail the run) rather than warnings.
    hardening_is_error: bool,
}

impl SarifLog {
    pub fn new(hardening_is_error: bool) -> SarifLog {
        SarifLog {
            rules: Vec::new(),
            results: Vec::new(),
            notifications: Vec::new(),
            hardening_is_error,
        }
    }

    /// Records an input that could not be read: its file, the place when known, the reason.
    pub fn notify_error(&mut self, file: &str, position: Option<(usize, usize)>, message: &str) {
        let mut location = json!({"artifactLocation": artifact(file)});
        if let Some((line, column)) = position {
            location["region"] = json!({"startLine": line, "startColumn": column});
        }
        self.notifications.push(json!({
            "level": "error",
            "message": {"text": format!("{file}: {message}")},
            "locations": [{"physicalLocation": location}]
        }));
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
                "artifactLocation": artifact(place.file),
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
                let (help, severity) = rule_help(id);
                let remedy = "Run `pss-fix fix --write` on the file to apply the fixes it can \
make, or exempt the workload in .pss-fix.yaml.";
                json!({
                    "id": id,
                    "name": id,
                    "shortDescription": {"text": description},
                    "fullDescription": {"text": help},
                    "help": {
                        "text": format!("{help} {remedy} See {HELP_URI}"),
                        "markdown": format!("{help}\n\n{remedy}\n\nSee [Pod Security Standards]({HELP_URI}).")
                    },
                    "helpUri": HELP_URI,
                    "defaultConfiguration": {"level": level},
                    "properties": {"security-severity": severity, "tags": ["security", "kubernetes"]}
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
                "invocations": [{
                    "executionSuccessful": self.notifications.is_empty(),
                    "toolExecutionNotifications": self.notifications
                }],
                "originalUriBaseIds": {"%SRCROOT%": {
                    "description": {"text": "The directory pss-fix ran in (the repository root in code scanning)."}
                }},
                "results": self.results
            }]
        });
        serde_json::to_writer_pretty(&mut *out, &log)?;
        writeln!(out)
    }
}

/// Where a file is: relative to `%SRCROOT%` when the path is relative (or absolute under the
/// current directory), else an absolute `file://` URI, which code scanning cannot place but
/// other viewers can.
fn artifact(file: &str) -> Value {
    let path = std::path::Path::new(file);
    let relative = match std::env::current_dir() {
        Ok(here) if path.is_absolute() => path.strip_prefix(&here).ok(),
        _ => Some(path),
    };
    match relative.and_then(|path| path.to_str()) {
        Some(relative) => json!({"uri": uri(relative), "uriBaseId": "%SRCROOT%"}),
        None => json!({"uri": format!("file://{}", uri(file))}),
    }
}

/// A URI reference for a file path: `/` separators, no leading `./`, and bytes outside
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
    fn rules_carry_help_and_severity() {
        let log = log(false);
        let rules = &log["runs"][0]["tool"]["driver"]["rules"];
        assert_eq!(rules[1]["properties"]["security-severity"], "8.5");
        assert_eq!(rules[2]["properties"]["security-severity"], "3.0");
        assert!(rules[0]["help"]["text"]
            .as_str()
            .expect("help")
            .contains("allowPrivilegeEscalation must be false"));
        assert!(rules[0]["help"]["markdown"].is_string());
    }

    #[test]
    fn unreadable_inputs_are_notifications() {
        let mut sarif = SarifLog::new(false);
        sarif.notify_error("chart/bad.yaml", Some((3, 7)), "did not find expected key");
        let mut out = Vec::new();
        sarif.write(&mut out).expect("writes to a vec");
        let log: Value = serde_json::from_slice(&out).expect("valid JSON");
        let invocation = &log["runs"][0]["invocations"][0];
        assert_eq!(invocation["executionSuccessful"], false);
        let notification = &invocation["toolExecutionNotifications"][0];
        assert_eq!(notification["level"], "error");
        let location = &notification["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], "chart/bad.yaml");
        assert_eq!(location["region"]["startLine"], 3);
        assert_eq!(log["runs"][0]["results"], json!([]));
    }

    #[test]
    fn absolute_paths_under_the_current_directory_become_relative() {
        let here = std::env::current_dir().expect("cwd");
        let inside = here.join("k8s/app.yaml");
        assert_eq!(
            artifact(&inside.display().to_string()),
            json!({"uri": "k8s/app.yaml", "uriBaseId": "%SRCROOT%"})
        );
        assert_eq!(
            artifact("/elsewhere/app.yaml"),
            json!({"uri": "file:///elsewhere/app.yaml"})
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
