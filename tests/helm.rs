//! `pss-fix helm` with the real helm, Helm 3 and Helm 4, on charts written for these tests
//! (`tests/charts/`) and on `helm create`'s scaffold. Each test runs once per helm binary
//! found in `target/e2e/bin` (`helm3`, `helm4`, built by `e2e/tools/build`); a missing one
//! fails the test under `CI=true` and is skipped, saying so, otherwise.
//!
//! The judge of every fix is the chart rendered again by helm and checked by `pss-fix check`
//! at the level asked for. `SNAPSHOTS=overwrite` rewrites the expected values files.

use crate::util::e2e::Oracle;
use crate::util::{self, copy_tree, Dir};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The helm binaries the tests run with.
#[allow(clippy::print_stderr, reason = "a skipped run says so")]
fn helms() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e/bin");
    let mut found = Vec::new();
    for name in ["helm3", "helm4"] {
        let path = dir.join(name);
        if path.is_file() {
            found.push(path);
            continue;
        }
        let message = format!(
            "{} is missing; build it with `e2e/tools/build` (or `GOBIN=/tmp/h go install \
helm.sh/helm/v4/cmd/helm@v4.3.2` and copy /tmp/h/helm there)",
            path.display()
        );
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{message}");
        }
        eprintln!("skipping the {name} run of this test: {message}");
    }
    found
}

/// Copies `tests/charts/NAME` into `dir/NAME`.
fn copy_chart(dir: &Dir, name: &str) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/charts")
        .join(name);
    copy_tree(&source, &dir.path().join(name));
    dir.path().join(name)
}

/// `pss-fix helm CHART --helm HELM ARGS...` in `dir`.
fn pss_fix_helm(dir: &Dir, helm: &Path, chart: &str, args: &[&str]) -> std::process::Output {
    let helm = helm.display().to_string();
    let mut all = vec!["helm", chart, "--helm", &helm];
    all.extend_from_slice(args);
    dir.command(&all).output().expect("pss-fix runs")
}

/// `helm template release CHART ARGS...` in `dir`: the rendered stream.
fn template(dir: &Dir, helm: &Path, chart: &str, args: &[&str]) -> String {
    let output = Command::new(helm)
        .current_dir(dir.path())
        .args(["template", "release", chart])
        .args(args)
        .output()
        .expect("helm runs");
    assert!(output.status.success(), "{}", util::stderr(&output));
    util::stdout(&output)
}

/// `pss-fix check --level LEVEL -` on `stream`: its exit code and its PSS findings (K01
/// hardening gaps left out: they are listed, but do not fail a level). When pss-fix passes
/// the stream, the upstream PSA library must allow each of its workloads too.
fn check(dir: &Dir, stream: &str, level: &str) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pss-fix"))
        .current_dir(dir.path())
        .args(["check", "--level", level, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("pss-fix runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stream.as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("pss-fix ends");
    let violations: String = util::stdout(&output)
        .lines()
        .filter(|line| !line.contains("[hardening]"))
        .map(|line| format!("{line}\n"))
        .collect();
    let code = output.status.code().unwrap_or(-1);
    if code == 0 {
        upstream_allows(stream, level);
    }
    (code, violations)
}

/// Asserts that the upstream PSA library (`psa-oracle`) allows every workload of `stream` at
/// `level` and the latest version.
fn upstream_allows(stream: &str, level: &str) {
    let Some(mut oracle) = Oracle::start("helm: upstream PSA verdict") else {
        return;
    };
    let policy = format!("{level}:latest");
    let requests: Vec<serde_json::Value> = util::documents(stream)
        .into_iter()
        .filter(|object| {
            let kind = object["kind"].as_str().unwrap_or_default();
            kind == "Pod"
                || object["spec"]["template"].is_object()
                || object["spec"]["jobTemplate"].is_object()
        })
        .map(|object| serde_json::json!({"object": object, "policies": [policy]}))
        .collect();
    assert!(!requests.is_empty(), "no workload rendered");
    for (request, verdict) in requests.iter().zip(oracle.judge(&requests)) {
        assert_eq!(
            verdict["results"][0]["allowed"],
            serde_json::json!(true),
            "upstream PSA forbids {}: {verdict}",
            request["object"]["metadata"]["name"]
        );
    }
}

/// The value at `pointer` of the first document of the file at `path`.
fn value_at(path: &Path, pointer: &str) -> serde_json::Value {
    let text = fs::read_to_string(path).expect("read");
    util::documents(&text)[0]
        .pointer(pointer)
        .cloned()
        .unwrap_or_default()
}

#[test]
fn scaffold_is_fixed_from_its_values_and_its_test_pod_left_to_the_post_renderer() {
    for helm in helms() {
        let dir = Dir::new();
        let created = Command::new(&helm)
            .current_dir(dir.path())
            .args(["create", "demo"])
            .output()
            .expect("helm create");
        assert!(created.status.success(), "{}", util::stderr(&created));
        let original = dir.read("demo/values.yaml");

        let shown = pss_fix_helm(&dir, &helm, "demo", &[]);
        let stderr = util::stderr(&shown);
        assert_eq!(
            dir.read("demo/values.yaml"),
            original,
            "the diff writes nothing"
        );
        assert!(
            util::stdout(&shown).starts_with("--- a/demo/values.yaml\n+++ b/demo/values.yaml\n")
        );
        for reach in [
            "values podSecurityContext reaches Deployment/release-demo /spec/template/spec/securityContext",
            "values securityContext reaches Deployment/release-demo /spec/template/spec/containers/0/securityContext",
            "values resources reaches Deployment/release-demo /spec/template/spec/containers/0/resources",
        ] {
            assert!(stderr.contains(reach), "{reach} in\n{stderr}");
        }
        // The scaffold's test hook hard-codes its Pod: only the post-renderer reaches it.
        assert!(
            stderr.contains("2 workloads rendered: 0 already passed, 1 fixed from values, 1 left to the post-renderer, 0 unfixable (0 passing with K01 hardening left to the post-renderer); 3 candidate keys, 3 renders"),
            "{stderr}"
        );
        assert!(stderr.contains("Pod/release-demo-test-connection: left violation runAsNonRoot at /spec/securityContext/runAsNonRoot"), "{stderr}");
        assert_eq!(shown.status.code(), Some(1), "the test Pod still fails");

        let written = pss_fix_helm(&dir, &helm, "demo", &["--write"]);
        assert_eq!(written.status.code(), Some(1), "{}", util::stderr(&written));
        let fixed = dir.read("demo/values.yaml");
        for comment in original
            .lines()
            .filter(|line| line.trim_start().starts_with('#'))
        {
            assert!(fixed.contains(comment), "comment {comment:?} kept");
        }
        let deployment = template(
            &dir,
            &helm,
            "demo",
            &["--show-only", "templates/deployment.yaml"],
        );
        assert_eq!(check(&dir, &deployment, "restricted"), (0, String::new()));
        let (code, findings) = check(&dir, &template(&dir, &helm, "demo", &[]), "restricted");
        assert_eq!(code, 1);
        assert!(
            findings
                .lines()
                .all(|line| line.contains("Pod/release-demo-test-connection")),
            "{findings}"
        );

        let again = pss_fix_helm(&dir, &helm, "demo", &[]);
        assert_eq!(util::stdout(&again), "", "idempotent");
        assert!(util::stderr(&again).contains("1 already passed, 0 fixed from values"));
    }
}

#[test]
fn per_component_values_are_found_and_pod_fields_go_into_containers() {
    for helm in helms() {
        let dir = Dir::new();
        let chart = copy_chart(&dir, "components");
        let values = chart.join("values.yaml");
        let original = fs::read_to_string(&values).expect("read");

        let out = pss_fix_helm(&dir, &helm, "components", &["--values-out", "psa.yaml"]);
        let stderr = util::stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert_eq!(fs::read_to_string(&values).expect("read"), original);
        assert!(stderr.contains("values controller.podSecurityContext reaches Deployment/release-controller /spec/template/spec/securityContext"), "{stderr}");
        assert!(stderr.contains("values webhook.securityContext reaches Deployment/release-webhook /spec/template/spec/initContainers/0/securityContext"), "{stderr}");
        // The webhook's template has no pod securityContext: its pod fields go to each container.
        let override_file = dir.path().join("psa.yaml");
        assert_eq!(
            value_at(&override_file, "/webhook/securityContext/runAsNonRoot"),
            true
        );
        assert_eq!(
            value_at(
                &override_file,
                "/controller/podSecurityContext/runAsNonRoot"
            ),
            true
        );
        assert_eq!(
            value_at(
                &override_file,
                "/controller/containerSecurityContext/runAsUser"
            ),
            65532
        );
        assert!(stderr.contains("Deployment/release-webhook: left hardening resources at /spec/template/spec/initContainers/0/resources"), "{stderr}");
        assert!(
            stderr.contains("2 workloads rendered: 0 already passed, 2 fixed from values, 0 left to the post-renderer, 0 unfixable (1 passing with K01 hardening left to the post-renderer)"),
            "{stderr}"
        );
        let rendered = template(&dir, &helm, "components", &["-f", "psa.yaml"]);
        assert_eq!(check(&dir, &rendered, "restricted"), (0, String::new()));

        let written = pss_fix_helm(&dir, &helm, "components", &["--write"]);
        assert_eq!(written.status.code(), Some(0), "{}", util::stderr(&written));
        let rendered = template(&dir, &helm, "components", &[]);
        assert_eq!(check(&dir, &rendered, "restricted"), (0, String::new()));
        assert_eq!(
            value_at(&values, "/webhook/resources/limits/cpu"),
            "200m",
            "kept"
        );
    }
}

#[test]
fn subchart_values_go_under_its_alias() {
    for helm in helms() {
        let dir = Dir::new();
        let chart = copy_chart(&dir, "shop");
        let subchart_values =
            fs::read_to_string(chart.join("charts/db/values.yaml")).expect("read");

        let baseline = pss_fix_helm(&dir, &helm, "shop", &["--level", "baseline"]);
        assert_eq!(
            baseline.status.code(),
            Some(0),
            "{}",
            util::stderr(&baseline)
        );
        assert_eq!(
            util::stdout(&baseline),
            "--- a/shop/values.yaml\n+++ b/shop/values.yaml\n@@ -3,3 +3,6 @@\n securityContext: {}\n \
database:\n   storage: 1Gi\n+  containerSecurityContext:\n+    capabilities:\n+      add: []\n"
        );

        let written = pss_fix_helm(&dir, &helm, "shop", &["--write"]);
        let stderr = util::stderr(&written);
        assert_eq!(written.status.code(), Some(0), "{stderr}");
        assert!(stderr.contains("values database.podSecurityContext reaches StatefulSet/release-db /spec/template/spec/securityContext"), "{stderr}");
        // Neither template renders resources: that hardening is left to the post-renderer.
        assert!(
            stderr.contains("2 workloads rendered: 0 already passed, 2 fixed from values, 0 left to the post-renderer, 0 unfixable (2 passing with K01 hardening left to the post-renderer)"),
            "{stderr}"
        );
        let values = chart.join("values.yaml");
        assert_eq!(
            value_at(&values, "/database/podSecurityContext/runAsNonRoot"),
            true
        );
        assert_eq!(
            value_at(
                &values,
                "/database/containerSecurityContext/capabilities/add"
            ),
            serde_json::json!([])
        );
        assert_eq!(value_at(&values, "/database/storage"), "1Gi");
        assert_eq!(
            fs::read_to_string(chart.join("charts/db/values.yaml")).expect("read"),
            subchart_values
        );
        let rendered = template(&dir, &helm, "shop", &[]);
        assert_eq!(check(&dir, &rendered, "restricted"), (0, String::new()));
    }
}

#[test]
fn a_hard_coded_privileged_container_is_reported_with_its_template_line() {
    for helm in helms() {
        let dir = Dir::new();
        let chart = copy_chart(&dir, "agent");
        let out = pss_fix_helm(&dir, &helm, "agent", &["--level", "baseline"]);
        let stderr = util::stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(util::stdout(&out), "", "no values key can change it");
        let template_line = format!(
            "DaemonSet/release-agent: left violation privileged at \
/spec/template/spec/containers/0/securityContext/privileged ({}:20): not reachable from values \
(the template decides it); the post-renderer `pss-fix fix --stdout -` fixes it at deploy time",
            chart
                .join("templates/daemonset.yaml")
                .strip_prefix(dir.path())
                .expect("inside")
                .display()
        );
        assert!(
            stderr.contains(&template_line),
            "{template_line}\nin\n{stderr}"
        );
        assert!(
            stderr.contains("0 fixed from values, 1 left to the post-renderer"),
            "{stderr}"
        );

        // What the post-renderer does at deploy time passes.
        let rendered = template(&dir, &helm, "agent", &[]);
        let fixed = dir
            .command(&["fix", "--level", "baseline", "--stdout", "-"])
            .write_stdin(rendered)
            .output()
            .expect("pss-fix runs");
        assert_eq!(
            check(&dir, &util::stdout(&fixed), "baseline"),
            (0, String::new())
        );
    }
}

#[test]
fn comments_in_values_survive_write() {
    let expected_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/charts/commented.values.fixed.yaml");
    for helm in helms() {
        let dir = Dir::new();
        let chart = copy_chart(&dir, "commented");
        let original = fs::read_to_string(chart.join("values.yaml")).expect("read");
        let out = pss_fix_helm(&dir, &helm, "commented", &["-w"]);
        assert_eq!(out.status.code(), Some(0), "{}", util::stderr(&out));
        let fixed = fs::read_to_string(chart.join("values.yaml")).expect("read");
        for line in original.lines().filter(|line| line.contains('#')) {
            let comment = &line[line.find('#').expect("has #")..];
            assert!(
                fixed.contains(comment),
                "comment {comment:?} kept in\n{fixed}"
            );
        }
        if std::env::var("SNAPSHOTS").as_deref() == Ok("overwrite") {
            fs::write(&expected_path, &fixed).expect("bless");
        }
        let expected = fs::read_to_string(&expected_path).expect("expected values");
        assert_eq!(
            fixed,
            expected,
            "SNAPSHOTS=overwrite rewrites {}",
            expected_path.display()
        );
        let rendered = template(&dir, &helm, "commented", &[]);
        assert_eq!(check(&dir, &rendered, "restricted"), (0, String::new()));
    }
}

#[test]
fn a_missing_helm_is_an_input_error() {
    let dir = Dir::new();
    let out = dir
        .command(&["helm", ".", "--helm", "/nonexistent/helm"])
        .output()
        .expect("pss-fix runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = util::stderr(&out);
    assert!(
        stderr.contains("cannot run `/nonexistent/helm`") && stderr.contains("--helm BIN"),
        "{stderr}"
    );
}

#[test]
fn level_namespace_reads_the_namespace_the_chart_renders_for_its_release() {
    for helm in helms() {
        let dir = Dir::new();
        copy_chart(&dir, "agent");
        dir.write(
            "agent/templates/namespace.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: agents\n  \
labels:\n    pod-security.kubernetes.io/enforce: privileged\n",
        );
        let args = ["--level", "namespace", "-n", "agents"];
        let out = pss_fix_helm(&dir, &helm, "agent", &args);
        let stderr = util::stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(
            stderr.contains("1 workload rendered: 1 already passed"),
            "{stderr}"
        );
        // Another release namespace is unknown: the default level, restricted, applies.
        let other = pss_fix_helm(&dir, &helm, "agent", &["--level", "namespace", "-n", "x"]);
        assert_eq!(other.status.code(), Some(1), "{}", util::stderr(&other));
    }
}

#[test]
fn keys_a_values_schema_refuses_are_isolated_in_halves() {
    for helm in helms() {
        let dir = Dir::new();
        copy_chart(&dir, "strict");
        let args = ["--no-default-resources", "--no-read-only-root-fs"];
        let out = pss_fix_helm(&dir, &helm, "strict", &args);
        let stderr = util::stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("values securityContext not probed: the chart refused it: Error:")
                && stderr.contains("pssFixProbe1"),
            "{stderr}"
        );
        assert!(
            stderr.contains(
                "values podSecurityContext reaches Pod/release-strict /spec/securityContext"
            ),
            "{stderr}"
        );
        // The baseline, the refused probe of both keys, one probe per half, the check.
        assert!(stderr.contains("2 candidate keys, 5 renders"), "{stderr}");
        assert!(util::stdout(&out).contains("+  runAsNonRoot: true\n"));
    }
}
