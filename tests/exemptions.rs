//! `check` and `fix` agree on exemptions (issue 14): what the config or the `pss-fix.dev/skip`
//! annotation exempts is listed as exempted and not counted, an id that names no control is an
//! error at its place, and a `container` rule cannot exempt a pod-level control.

use crate::util::{stderr, stdout, Dir};
use serde_json::Value;

/// A Pod violating baseline twice, both exempted by its annotation.
const ANNOTATED: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: agent
  annotations:
    pss-fix.dev/skip: hostNamespaces, Privileged
spec:
  hostNetwork: true
  containers:
    - name: agent
      image: example/agent:1
      securityContext:
        privileged: true
";

/// The same Pod without the annotation.
const PLAIN: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: agent
spec:
  hostNetwork: true
  containers:
    - name: agent
      image: example/agent:1
      securityContext:
        privileged: true
";

#[test]
fn check_lists_what_the_annotation_exempts_and_does_not_count_it() {
    let dir = Dir::new();
    dir.write("pod.yaml", ANNOTATED);
    let output = dir
        .command(&["check", "--level", "baseline", "pod.yaml"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "pod.yaml:8:3: Pod/agent [baseline latest, exempted by pss-fix.dev/skip]: hostNamespaces: \
host namespaces (hostNetwork=true)\n\
pod.yaml:13:9: Pod/agent [baseline latest, exempted by pss-fix.dev/skip]: privileged: \
privileged (container \"agent\" must not set securityContext.privileged=true)\n"
    );
    // `fix` leaves the same findings alone, so there is nothing to change.
    dir.command(&["fix", "--check", "--level", "baseline", "pod.yaml"])
        .assert()
        .code(0);
    dir.write("pod.yaml", PLAIN);
    dir.command(&["check", "--level", "baseline", "pod.yaml"])
        .assert()
        .code(1);
}

#[test]
fn a_container_rule_exempts_that_container_only_in_json_and_sarif() {
    let dir = Dir::new();
    dir.write("pod.yaml", PLAIN);
    dir.write(
        ".pss-fix.yaml",
        "exemptions:\n  - name: agent\n    container: agent\n    controls: [privileged]\n",
    );
    let output = dir
        .command(&[
            "check", "--level", "baseline", "--output", "json", "pod.yaml",
        ])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).expect("JSON");
    let checks = |key: &str| -> Vec<String> {
        report[0][key]
            .as_array()
            .expect("an array")
            .iter()
            .map(|found| found["check"].as_str().expect("a check").to_owned())
            .collect()
    };
    assert_eq!(checks("violations"), ["hostNamespaces"]);
    assert_eq!(checks("exempted"), ["privileged"]);
    assert_eq!(report[0]["exempted"][0]["reason"], "exempted by config");
    assert_eq!(report[0]["exempted"][0]["line"], 11);

    let output = dir
        .command(&[
            "check", "--level", "baseline", "--output", "sarif", "pod.yaml",
        ])
        .output()
        .expect("runs");
    let log: Value = serde_json::from_str(&stdout(&output)).expect("SARIF");
    let results = log["runs"][0]["results"].as_array().expect("results");
    let suppressed: Vec<(&Value, &Value)> = results
        .iter()
        .map(|result| (&result["ruleId"], &result["suppressions"][0]["kind"]))
        .collect();
    assert_eq!(
        suppressed,
        [
            (&Value::from("hostNamespaces"), &Value::Null),
            (&Value::from("privileged"), &Value::from("external"))
        ]
    );
}

#[test]
fn an_unknown_control_in_the_annotation_is_an_error_at_its_line() {
    let dir = Dir::new();
    dir.write(
        "bad.yaml",
        ANNOTATED.replace("hostNamespaces", "hostNamespace"),
    );
    dir.write("good.yaml", PLAIN);
    let output = dir
        .command(&["check", "--level", "baseline", "bad.yaml", "good.yaml"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(
            "bad.yaml:6:5: annotation `pss-fix.dev/skip`: unknown control `hostNamespace`; \
             known: allowPrivilegeEscalation, appArmorProfile, capabilities, hostNamespaces, "
        ),
        "{}",
        stderr(&output)
    );
    // The other input is still judged.
    assert!(stdout(&output).contains("good.yaml:6:3: Pod/agent [baseline latest]: hostNamespaces"));
}

#[test]
fn config_errors_name_the_line_of_the_field() {
    let dir = Dir::new();
    dir.write("pod.yaml", PLAIN);
    for (rules, message) in [
        (
            "  - kind: Pod\n    controls: [hostNamespace]\n",
            ".pss-fix.yaml:5:5: config field `exemptions[0].controls`: unknown control \
             `hostNamespace`; known: allowPrivilegeEscalation, ",
        ),
        (
            "  - kind: Pod\n    container: agent\n    controls: [hostNamespaces]\n",
            ".pss-fix.yaml:6:5: config field `exemptions[0].controls`: `hostNamespaces` is a \
             pod-level control",
        ),
        (
            "  - kind: Pod\n    containers: agent\n",
            ".pss-fix.yaml:5:5: config field `exemptions[0].containers`: unknown field \
             `containers`, expected one of ",
        ),
    ] {
        dir.write(
            ".pss-fix.yaml",
            format!("level: baseline\n# why: the agent needs the host\nexemptions:\n{rules}"),
        );
        let output = dir.command(&["check", "pod.yaml"]).output().expect("runs");
        assert_eq!(output.status.code(), Some(2));
        assert!(
            stderr(&output).starts_with(&format!("pss-fix: {message}")),
            "{}",
            stderr(&output)
        );
    }
}
