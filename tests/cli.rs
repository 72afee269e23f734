//! The real `pss-fix` binary: every mode of `fix`, `patch` and `check`, the exit codes and the
//! error paths (bad files go on, exit 2 at the end), on inputs built in a temporary directory.

use crate::util;

use serde_json::Value;
use std::fs;
use std::time::{Duration, SystemTime};
use util::{documents, stderr, stdout, Dir, BASELINE_ONLY, COMPLIANT, PRIVILEGED_POD};

/// A Helm template: not YAML until rendered.
const HELM_TEMPLATE: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  template:
    spec:
      containers:
        {{- range .Values.containers }}
        - name: {{ .name }}
        {{- end }}
";

// ---------------------------------------------------------------- fix: diff (the default)

#[test]
fn fix_prints_a_diff_that_git_apply_takes_and_explains_on_stderr() {
    let dir = Dir::new();
    dir.copy_examples();
    let output = dir.command(&["fix", "shop"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let diff = stdout(&output);
    assert!(diff.starts_with("--- a/shop/"), "{diff}");
    assert!(!diff.contains("\x1b["), "no colour off a terminal");
    assert!(
        !diff.contains("configmap.yaml"),
        "untouched files have no diff"
    );
    let explanation = stderr(&output);
    assert!(explanation.contains("Deployment/shop/web [restricted latest]"));
    assert!(explanation.contains("  fixed allowPrivilegeEscalation (restricted, "));
    assert!(explanation.contains("/spec/template/spec/containers/0/securityContext"));
    // The printed diff, applied, gives exactly what --write writes.
    dir.write("changes.diff", &diff);
    let applied = std::process::Command::new("git")
        .current_dir(dir.path())
        .args(["apply", "changes.diff"])
        .output()
        .expect("git runs");
    assert!(applied.status.success(), "{}", stderr(&applied));
    let after_apply = dir.read("shop/web.yaml");
    let fresh = Dir::new();
    fresh.copy_examples();
    fresh.command(&["fix", "--write", "shop"]).assert().code(0);
    assert_eq!(after_apply, fresh.read("shop/web.yaml"));
}

#[test]
fn fix_diff_colour_is_opt_in_off_a_terminal() {
    let dir = Dir::new();
    dir.write("a.yaml", BASELINE_ONLY);
    let always = dir
        .command(&["fix", "--color", "always", "a.yaml"])
        .output()
        .expect("runs");
    assert!(stdout(&always).contains("\x1b[32m+"), "{}", stdout(&always));
    let auto = dir
        .command(&["fix", "a.yaml"])
        .env("NO_COLOR", "1")
        .output()
        .expect("runs");
    assert!(!stdout(&auto).contains("\x1b["));
}

#[test]
fn fix_reads_stdin_without_paths() {
    let dir = Dir::new();
    let output = dir
        .command(&["fix"])
        .write_stdin(BASELINE_ONLY)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("--- a/<stdin>\n+++ b/<stdin>\n"));
}

#[test]
fn nothing_to_fix_prints_nothing() {
    let dir = Dir::new();
    dir.write("ok.yaml", COMPLIANT);
    dir.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    );
    let output = dir.command(&["fix", "."]).output().expect("runs");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "");
    assert_eq!(stderr(&output), "");
}

// ---------------------------------------------------------------- fix --write

#[test]
fn write_fixes_in_place_and_leaves_compliant_files_untouched() {
    let dir = Dir::new();
    let fixable = dir.write("fixable.yaml", BASELINE_ONLY);
    let compliant = dir.write("ok.yaml", COMPLIANT);
    let old = SystemTime::now() - Duration::from_secs(3600);
    for path in [&fixable, &compliant] {
        fs::File::options()
            .write(true)
            .open(path)
            .and_then(|file| file.set_modified(old))
            .expect("set mtime");
    }
    let output = dir.command(&["fix", "-w", "."]).output().expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains("1 of 2 files fixed"),
        "{}",
        stderr(&output)
    );
    assert_ne!(dir.read("fixable.yaml"), BASELINE_ONLY);
    assert!(dir
        .read("fixable.yaml")
        .contains("- name: app  # the only container\n"));
    assert_eq!(dir.read("ok.yaml"), COMPLIANT);
    let mtime = |path| {
        fs::metadata(path)
            .and_then(|meta| meta.modified())
            .expect("mtime")
    };
    assert_eq!(mtime(&compliant), old, "a compliant file is not rewritten");
    assert_ne!(mtime(&fixable), old);
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .expect("list")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "no temporary files left: {leftovers:?}");
}

#[test]
fn fixing_twice_is_fixing_once() {
    let dir = Dir::new();
    dir.copy_examples();
    dir.write("pod.yaml", PRIVILEGED_POD);
    dir.command(&["fix", "-w", "."]).assert().code(0);
    let once: Vec<String> = [
        "shop/web.yaml",
        "shop/db.yaml",
        "shop/report.yaml",
        "pod.yaml",
    ]
    .iter()
    .map(|file| dir.read(file))
    .collect();
    let output = dir
        .command(&["fix", "--check", "."])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    dir.command(&["fix", "-w", "."]).assert().code(0);
    let twice: Vec<String> = [
        "shop/web.yaml",
        "shop/db.yaml",
        "shop/report.yaml",
        "pod.yaml",
    ]
    .iter()
    .map(|file| dir.read(file))
    .collect();
    assert_eq!(once, twice);
}

#[test]
fn write_refuses_a_read_only_file_and_goes_on() {
    let dir = Dir::new();
    let locked = dir.write("a-locked.yaml", BASELINE_ONLY);
    dir.write("b-open.yaml", BASELINE_ONLY);
    let mut permissions = fs::metadata(&locked).expect("stat").permissions();
    permissions.set_readonly(true);
    fs::set_permissions(&locked, permissions).expect("chmod");
    let output = dir
        .command(&["fix", "--write", "."])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let errors = stderr(&output);
    assert!(
        errors.contains("pss-fix: ./a-locked.yaml: file is read-only\n"),
        "{errors}"
    );
    assert_eq!(dir.read("a-locked.yaml"), BASELINE_ONLY);
    assert_ne!(dir.read("b-open.yaml"), BASELINE_ONLY);
}

#[cfg(unix)]
#[test]
fn write_follows_a_symlink_to_its_target() {
    let dir = Dir::new();
    let target = dir.write("real/app.yaml", BASELINE_ONLY);
    let link = dir.path().join("link.yaml");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    dir.command(&["fix", "-w", "link.yaml"]).assert().code(0);
    assert!(fs::symlink_metadata(&link)
        .expect("stat")
        .file_type()
        .is_symlink());
    assert_ne!(dir.read("real/app.yaml"), BASELINE_ONLY);
}

#[test]
fn write_refuses_stdin() {
    let dir = Dir::new();
    let output = dir
        .command(&["fix", "-w", "-"])
        .write_stdin(BASELINE_ONLY)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--write cannot write stdin"));
}

#[test]
fn crlf_and_bom_survive_a_fix() {
    let dir = Dir::new();
    let crlf = format!("\u{feff}{}", BASELINE_ONLY.replace('\n', "\r\n"));
    dir.write("windows.yaml", &crlf);
    dir.command(&["fix", "-w", "windows.yaml"]).assert().code(0);
    let fixed = dir.read("windows.yaml");
    assert_ne!(fixed, crlf);
    assert!(
        fixed.starts_with("\u{feff}apiVersion: apps/v1\r\n"),
        "{fixed:?}"
    );
    assert!(
        !fixed.replace("\r\n", "").contains('\n'),
        "every line ends in CRLF: {fixed:?}"
    );
    assert_eq!(
        documents(&fixed),
        documents(
            &dir.command(&["fix", "--stdout", "-"])
                .write_stdin(crlf.as_str())
                .output()
                .map(|output| stdout(&output))
                .expect("runs")
        )
    );
}

// ---------------------------------------------------------------- fix --stdout, --check

#[test]
fn stdout_is_a_helm_post_renderer() {
    let dir = Dir::new();
    let rendered = format!(
        "---\n# Source: shop/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n---\n# Source: shop/templates/web.yaml\n{BASELINE_ONLY}"
    );
    let output = dir
        .command(&["fix", "--stdout", "-"])
        .write_stdin(rendered.as_str())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let fixed = stdout(&output);
    assert!(
        fixed.starts_with("---\n# Source: shop/templates/cm.yaml\n"),
        "{fixed}"
    );
    let documents = documents(&fixed);
    assert_eq!(documents.len(), 2);
    let pod = &documents[1]["spec"]["template"]["spec"];
    assert_eq!(
        pod["containers"][0]["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    // Compliant input comes out byte for byte.
    let output = dir
        .command(&["fix", "--stdout"])
        .write_stdin(COMPLIANT)
        .output()
        .expect("runs");
    assert_eq!(stdout(&output), COMPLIANT);
}

#[test]
fn stdout_prints_nothing_on_error() {
    let dir = Dir::new();
    let output = dir
        .command(&["fix", "--stdout", "-"])
        .write_stdin(HELM_TEMPLATE)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).starts_with("pss-fix: <stdin>:"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn stdout_takes_a_single_input() {
    let dir = Dir::new();
    dir.write("a.yaml", BASELINE_ONLY);
    dir.write("b.yaml", BASELINE_ONLY);
    let output = dir
        .command(&["fix", "--stdout", "."])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    assert!(stderr(&output).contains("--stdout"), "{}", stderr(&output));
}

#[test]
fn check_mode_names_what_would_change_and_exits_1() {
    let dir = Dir::new();
    dir.write("a.yaml", BASELINE_ONLY);
    dir.write("ok.yaml", COMPLIANT);
    let output = dir
        .command(&["fix", "--check", "."])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output),
        "would fix ./a.yaml (1 workload)\n1 file would be fixed, 1 file left unchanged\n"
    );
    assert_eq!(dir.read("a.yaml"), BASELINE_ONLY);
    let quiet = dir
        .command(&["fix", "--check", "--quiet", "."])
        .output()
        .expect("runs");
    assert_eq!(quiet.status.code(), Some(1));
    assert_eq!(stderr(&quiet), "");
    dir.command(&["fix", "--check", "ok.yaml"])
        .assert()
        .code(0)
        .stdout("")
        .stderr("0 files would be fixed, 1 file left unchanged\n");
    let explained = dir
        .command(&["fix", "--check", "--explain", "a.yaml"])
        .output()
        .expect("runs");
    assert!(
        stderr(&explained).contains("  fixed "),
        "{}",
        stderr(&explained)
    );
    // --diff names the default explicitly; with --check it also fails on a change.
    let diff = dir
        .command(&["fix", "--diff", "--check", "a.yaml"])
        .output()
        .expect("runs");
    assert_eq!(diff.status.code(), Some(1));
    assert!(
        stdout(&diff).starts_with("--- a/a.yaml\n"),
        "{}",
        stdout(&diff)
    );
    dir.command(&["fix", "--diff", "ok.yaml"])
        .assert()
        .code(0)
        .stdout("");
}

#[test]
fn write_with_check_fixes_and_fails_like_a_pre_commit_hook() {
    let dir = Dir::new();
    dir.write("a.yaml", BASELINE_ONLY);
    let output = dir
        .command(&["fix", "--write", "--check", "a.yaml"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_ne!(dir.read("a.yaml"), BASELINE_ONLY);
    dir.command(&["fix", "--write", "--check", "a.yaml"])
        .assert()
        .code(0);
}

#[test]
fn unfixable_violations_are_explained() {
    let dir = Dir::new();
    dir.write("pod.yaml", PRIVILEGED_POD);
    let output = dir
        .command(&["fix", "--level", "baseline", "pod.yaml"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "", "all or nothing: no diff");
    let explanation = stderr(&output);
    assert!(
        explanation.contains("  unfixable hostPathVolumes at 17:"),
        "{explanation}"
    );
    assert!(
        explanation.contains("  cannot reach baseline latest: left unchanged, "),
        "{explanation}"
    );
    assert!(
        explanation.contains("  withheld privileged (baseline, "),
        "{explanation}"
    );
    assert!(
        explanation.ends_with(
            "pss-fix: 1 workload cannot reach baseline: see above (--partial applies what can \
be applied)\n"
        ),
        "{explanation}"
    );
    let output = dir
        .command(&["fix", "--level", "baseline", "--partial", "pod.yaml"])
        .output()
        .expect("runs");
    let explanation = stderr(&output);
    assert!(
        explanation.contains("  fixed privileged (baseline, "),
        "{explanation}"
    );
    assert!(
        explanation.ends_with("pss-fix: 1 workload cannot reach baseline: see above\n"),
        "{explanation}"
    );
}

// ---------------------------------------------------------------- bad inputs

#[test]
fn a_helm_chart_is_reported_once_and_the_rest_fixed() {
    let dir = Dir::new();
    dir.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
    );
    dir.write("chart/values.yaml", "replicas: 3\n");
    dir.write("chart/templates/deployment.yaml", HELM_TEMPLATE);
    dir.write("chart/templates/service.yaml", HELM_TEMPLATE);
    dir.write("plain/app.yaml", BASELINE_ONLY);
    let output = dir.command(&["fix", "-w", "."]).output().expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        "pss-fix: ./chart: Helm chart: its templates are not YAML until rendered; render it and \
use the post-renderer (`pss-fix fix --stdout -`), or `pss-fix helm ./chart`\n\
pss-fix: 1 of 3 files fixed\n"
    );
    assert_eq!(dir.read("chart/templates/deployment.yaml"), HELM_TEMPLATE);
    assert_eq!(dir.read("chart/values.yaml"), "replicas: 3\n");
    assert_ne!(dir.read("plain/app.yaml"), BASELINE_ONLY);
    // Named one by one (as pre-commit does), the templates are still one note.
    let output = dir
        .command(&[
            "check",
            "chart/templates/deployment.yaml",
            "chart/templates/service.yaml",
        ])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
    // --quiet silences the note.
    dir.command(&["check", "--quiet", "chart"])
        .assert()
        .code(0)
        .stderr("");
}

/// `--exclude templates/` (the help's own example) matches `chart/templates/x.yaml`, in walks
/// and in files named on the command line, as gitignore would.
#[test]
fn excludes_apply_to_named_files_with_gitignore_semantics() {
    let dir = Dir::new();
    dir.write("k8s/templates/x.yaml", HELM_TEMPLATE);
    dir.write("k8s/old/app.yaml", BASELINE_ONLY);
    dir.write("k8s/app.yaml", COMPLIANT);
    for args in [
        &[
            "check",
            "--exclude",
            "templates/",
            "--exclude",
            "old/",
            "k8s",
        ][..],
        &[
            "check",
            "--exclude",
            "templates/",
            "--exclude",
            "old/",
            "k8s/templates/x.yaml",
            "k8s/old/app.yaml",
            "k8s/app.yaml",
        ],
    ] {
        dir.command(args).assert().code(0).stdout("").stderr("");
    }
    // The config file's patterns are relative to the config file.
    dir.write("k8s/.pss-fix.yaml", "exclude: [/old/]\n");
    dir.write("k8s/sub/old/app.yaml", BASELINE_ONLY);
    let output = dir
        .command(&["check", "k8s/old/app.yaml", "k8s/sub/old/app.yaml"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(!text.contains("k8s/old/app.yaml"), "{text}");
    assert!(text.contains("k8s/sub/old/app.yaml"), "{text}");
}

#[test]
fn non_utf8_and_missing_files_are_errors_with_places() {
    let dir = Dir::new();
    dir.write(
        "latin1.yaml",
        b"apiVersion: v1\nkind: ConfigMap\ndata:\n  city: M\xfcnchen\n",
    );
    dir.write("app.yaml", BASELINE_ONLY);
    let output = dir
        .command(&["check", "latin1.yaml", "missing.yaml", "app.yaml"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2), "errors win over findings");
    let errors = stderr(&output);
    assert!(
        errors.contains("pss-fix: latin1.yaml:4:10: not UTF-8 text (byte 0xFC)\n"),
        "{errors}"
    );
    assert!(
        errors.contains("pss-fix: missing.yaml: no such file or directory\n"),
        "{errors}"
    );
    assert!(
        stdout(&output).contains("app.yaml:"),
        "the good file is still checked"
    );
}

#[test]
fn invalid_yaml_names_file_line_and_column() {
    let dir = Dir::new();
    dir.write("bad.yaml", "a: b: c\n");
    let output = dir.command(&["check", "bad.yaml"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let errors = stderr(&output);
    // The place and reason, then the line with a caret under the column.
    assert_eq!(
        errors,
        "pss-fix: bad.yaml:1:5: mapping values are not allowed in this context\n  |\n1 | a: b: c\n  |     ^\n",
    );
}

/// `pss-fix check . | head -1` keeps the verdict: the exit code does not depend on how much
/// output the reader took (issue 17).
#[test]
fn a_closed_stdout_ends_the_output_but_keeps_the_verdict() {
    let dir = Dir::new();
    for index in 0..200 {
        dir.write(&format!("apps/app{index:03}.yaml"), BASELINE_ONLY);
    }
    dir.write("apps/zz-bad.yaml", "a: b: c\n");
    for (command, verdict) in [("fix", 2), ("check", 2)] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pss-fix"))
            .current_dir(dir.path())
            .args([command, "apps"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawns");
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("waits");
        let errors = stderr(&output);
        assert!(!errors.contains("panicked"), "{errors}");
        assert!(!errors.contains("pss-fix: stdout"), "{errors}");
        assert!(
            errors.contains("zz-bad.yaml:1:"),
            "the run went on: {errors}"
        );
        assert_eq!(output.status.code(), Some(verdict), "{command}: {errors}");
    }
    std::fs::remove_file(dir.path().join("apps/zz-bad.yaml")).expect("remove");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pss-fix"))
        .current_dir(dir.path())
        .args(["check", "apps"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawns");
    drop(child.stdout.take());
    assert_eq!(child.wait().expect("waits").code(), Some(1));
}

/// With no PATH and a terminal on stdin, nothing waits for input that will not come: `check`
/// reads the current directory (as ruff does), `fix --write` says what it expects.
#[cfg(unix)]
#[test]
fn no_path_and_a_terminal_reads_the_current_directory() {
    let dir = Dir::new();
    dir.write("app.yaml", BASELINE_ONLY);
    let in_a_terminal = |command: &str| {
        std::process::Command::new("script")
            .current_dir(dir.path())
            .args(["-qec", command, "/dev/null"])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("script (util-linux) runs")
    };
    let binary = env!("CARGO_BIN_EXE_pss-fix");
    let check = in_a_terminal(&format!("{binary} check"));
    assert_eq!(check.status.code(), Some(1), "{}", stdout(&check));
    assert!(stdout(&check).contains("app.yaml:"), "{}", stdout(&check));
    let write = in_a_terminal(&format!("{binary} fix --write"));
    assert_eq!(write.status.code(), Some(2));
    assert!(
        stdout(&write).contains("no PATH given and stdin is a terminal"),
        "{}",
        stdout(&write)
    );
    assert_eq!(dir.read("app.yaml"), BASELINE_ONLY);
    // `-` still reads stdin, terminal or not.
    dir.command(&["check", "-"])
        .write_stdin(COMPLIANT)
        .assert()
        .code(0);
}

// ---------------------------------------------------------------- patch

#[test]
fn patch_equals_what_fix_applies() {
    let dir = Dir::new();
    dir.copy_examples();
    let list = format!(
        "apiVersion: v1\nkind: List\nitems:\n- {}\n",
        documents(PRIVILEGED_POD)[0]
    );
    dir.write("list.yaml", &list);
    let output = dir.command(&["patch", "."]).output().expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let entries: Vec<Value> = serde_json::from_slice(&output.stdout).expect("JSON array");
    let kinds: Vec<&str> = entries
        .iter()
        .map(|entry| entry["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, ["Pod", "StatefulSet", "CronJob", "Deployment"]);
    assert_eq!(entries[0]["pointer"], "/items/0");
    dir.command(&["fix", "-w", "."]).assert().code(0);
    let originals = Dir::new();
    originals.copy_examples();
    originals.write("list.yaml", &list);
    for entry in &entries {
        let file = entry["file"].as_str().expect("file");
        let document = entry["document"].as_u64().expect("document") as usize;
        let pointer = entry["pointer"].as_str().expect("pointer");
        let mut expected = documents(&originals.read(file))[document].clone();
        let workload = expected.pointer_mut(pointer).expect("workload at pointer");
        let patch: json_patch::Patch =
            serde_json::from_value(entry["patch"].clone()).expect("RFC 6902 patch");
        json_patch::patch(workload, &patch).expect("patch applies");
        assert_eq!(documents(&dir.read(file))[document], expected, "{file}");
        for key in ["namespace", "name", "level", "version", "unfixable"] {
            assert!(entry.get(key).is_some(), "{key} in {entry}");
        }
    }
}

// ---------------------------------------------------------------- check

#[test]
fn check_text_names_place_workload_level_and_check() {
    let dir = Dir::new();
    dir.write("a.yaml", BASELINE_ONLY);
    let output = dir.command(&["check", "a.yaml"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    let first = text.lines().next().expect("a finding");
    let parts: Vec<&str> = first.splitn(4, ':').collect();
    assert_eq!(parts[0], "a.yaml");
    assert!(
        parts[1].parse::<usize>().is_ok() && parts[2].parse::<usize>().is_ok(),
        "{first}"
    );
    assert!(
        parts[3].starts_with(" Deployment/shop/plain [restricted latest]: "),
        "{first}"
    );
    assert!(text.contains(": allowPrivilegeEscalation: "), "{text}");
    dir.command(&["check", "--level", "baseline", "a.yaml"])
        .assert()
        .code(0);
    dir.write("ok.yaml", COMPLIANT);
    dir.command(&["check", "ok.yaml"])
        .assert()
        .code(0)
        .stdout("");
}

#[test]
fn hardening_gaps_count_only_on_request() {
    let dir = Dir::new();
    let soft = COMPLIANT.replace("            readOnlyRootFilesystem: true\n", "");
    dir.write("soft.yaml", &soft);
    let output = dir.command(&["check", "soft.yaml"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stdout(&output).contains("[hardening]: readOnlyRootFilesystem: "),
        "{}",
        stdout(&output)
    );
    dir.command(&["check", "--hardening", "soft.yaml"])
        .assert()
        .code(1);
    dir.command(&[
        "check",
        "--hardening",
        "--no-read-only-root-fs",
        "soft.yaml",
    ])
    .assert()
    .code(0);
}

#[test]
fn check_json_lists_every_workload() {
    let dir = Dir::new();
    dir.copy_examples();
    let output = dir
        .command(&["check", "--output", "json", "shop"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let entries: Vec<Value> = serde_json::from_slice(&output.stdout).expect("JSON array");
    assert_eq!(entries.len(), 3);
    let report = entries
        .iter()
        .find(|entry| entry["name"] == "nightly-report")
        .expect("cronjob");
    assert_eq!(report["file"], "shop/report.yaml");
    assert_eq!(report["level"], "restricted");
    let checks: Vec<&str> = report["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|violation| violation["check"].as_str().expect("check"))
        .collect();
    assert!(checks.contains(&"hostNamespaces"), "{checks:?}");
    let host_network = &report["violations"][checks
        .iter()
        .position(|c| *c == "hostNamespaces")
        .expect("found")];
    assert_eq!(host_network["line"], 15, "{host_network}");
}

#[test]
fn check_sarif_has_rules_results_and_regions() {
    let dir = Dir::new();
    dir.copy_examples();
    let output = dir
        .command(&["check", "--output", "sarif", "shop"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let log: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(log["version"], "2.1.0");
    assert!(log["$schema"]
        .as_str()
        .expect("schema")
        .contains("sarif-2.1.0"));
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let results = run["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for result in results {
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        let location = &result["locations"][0]["physicalLocation"];
        let uri = location["artifactLocation"]["uri"].as_str().expect("uri");
        assert!(uri.starts_with("shop/") && uri.ends_with(".yaml"), "{uri}");
        assert!(location["region"]["startLine"].as_u64().expect("line") >= 1);
        assert!(location["region"]["startColumn"].as_u64().expect("column") >= 1);
        assert!(!result["message"]["text"].as_str().expect("text").is_empty());
    }
}

/// The log validates against the SARIF 2.1.0 JSON schema, kept in tests/data as the crate
/// serde-sarif 0.8.0 ships it (src/schema.json, the OASIS schema); an unreadable input is a
/// notification, not a result.
#[test]
fn check_sarif_validates_against_the_sarif_2_1_0_schema() {
    let dir = Dir::new();
    dir.copy_examples();
    dir.write("shop/broken.yaml", "a: b: c\n");
    let output = dir
        .command(&["check", "-o", "sarif", "--hardening", "shop"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2), "a broken input is an error");
    let log: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    // The OASIS schema's pattern for `language` (of a run and a tool component) has a stray
    // `]`, which the validator's regex engine rejects when it checks the schema itself; pss-fix
    // writes no `language`.
    let text = include_str!("data/sarif-schema-2.1.0.json").replace(
        r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#,
        r#""^[a-zA-Z]{2}(-[a-zA-Z]{2})?$""#,
    );
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let run = &log["runs"][0];
    let notification = &run["invocations"][0]["toolExecutionNotifications"][0];
    assert_eq!(
        notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "shop/broken.yaml"
    );
    assert_eq!(run["invocations"][0]["executionSuccessful"], false);
    for rule in run["tool"]["driver"]["rules"].as_array().expect("rules") {
        let severity: f64 = rule["properties"]["security-severity"]
            .as_str()
            .expect("security-severity is a string")
            .parse()
            .expect("a number");
        assert!((0.1..=10.0).contains(&severity), "{rule}");
        assert!(rule["help"]["text"]
            .as_str()
            .is_some_and(|text| !text.is_empty()));
    }
    for result in run["results"].as_array().expect("results") {
        let location = &result["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(location["uriBaseId"], "%SRCROOT%");
    }
}

// ---------------------------------------------------------------- levels

#[test]
fn namespace_level_follows_namespace_labels() {
    let dir = Dir::new();
    dir.write(
        "ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    pod-security.kubernetes.io/enforce: baseline\n    pod-security.kubernetes.io/enforce-version: v1.30\n",
    );
    dir.write("app.yaml", BASELINE_ONLY);
    let output = dir
        .command(&["check", "--level", "namespace", "--output", "json", "."])
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "baseline holds: {}",
        stdout(&output)
    );
    let entries: Vec<Value> = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(entries[0]["level"], "baseline");
    assert_eq!(entries[0]["version"], "v1.30");
    assert_eq!(entries[0]["level_source"], "namespace");
    // Without the Namespace the workload falls back to --default-level (restricted).
    dir.command(&["check", "--level", "namespace", "app.yaml"])
        .assert()
        .code(1);
    dir.command(&[
        "check",
        "--level",
        "namespace",
        "--default-level",
        "baseline",
        "app.yaml",
    ])
    .assert()
    .code(0);
    // --namespaces reads the labels from a file outside the inputs.
    dir.command(&[
        "check",
        "--level",
        "namespace",
        "--namespaces",
        "ns.yaml",
        "app.yaml",
    ])
    .assert()
    .code(0);
    // The explanation says which level was used and why.
    let output = dir
        .command(&["fix", "--level", "namespace", "app.yaml"])
        .output()
        .expect("runs");
    assert!(
        stderr(&output).contains("[restricted latest, namespace unknown, --default-level]"),
        "{}",
        stderr(&output)
    );
}

/// A subset of the repository's files (pre-commit's) still finds the levels its Namespaces and
/// its config define, and an unknown namespace is named (issue 17).
#[test]
fn namespace_levels_come_from_the_repository_and_the_config() {
    let dir = Dir::new();
    std::fs::create_dir_all(dir.path().join(".git")).expect("mkdir");
    dir.write(
        "cluster/namespaces.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    pod-security.kubernetes.io/enforce: baseline\n",
    );
    dir.write("apps/shop.yaml", BASELINE_ONLY);
    dir.write(
        "apps/batch.yaml",
        BASELINE_ONLY.replace("namespace: shop", "namespace: batch"),
    );
    dir.write(
        "apps/ops.yaml",
        BASELINE_ONLY.replace("namespace: shop", "namespace: ops"),
    );
    dir.write(
        ".pss-fix.yaml",
        "level: namespace\nnamespaces:\n  batch: baseline\n",
    );
    let output = dir
        .command(&[
            "check",
            "-o",
            "json",
            "apps/shop.yaml",
            "apps/batch.yaml",
            "apps/ops.yaml",
        ])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1), "ops is held to restricted");
    let entries: Vec<Value> = serde_json::from_slice(&output.stdout).expect("JSON");
    let levels: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|entry| {
            (
                entry["namespace"].as_str().expect("namespace"),
                entry["level"].as_str().expect("level"),
                entry["level_source"].as_str().expect("source"),
            )
        })
        .collect();
    assert_eq!(
        levels,
        [
            ("shop", "baseline", "namespace"),
            ("batch", "baseline", "namespace"),
            ("ops", "restricted", "default")
        ]
    );
    assert_eq!(
        stderr(&output),
        "pss-fix: apps/ops.yaml: namespace `ops` has no known level (no labelled Namespace in \
the inputs, --namespaces, the repository or the config's `namespaces`): held to restricted \
latest (--default-level)\n"
    );
}

#[test]
fn privileged_namespaces_are_left_alone() {
    let dir = Dir::new();
    dir.write(
        "all.yaml",
        format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    pod-security.kubernetes.io/enforce: privileged\n---\n{BASELINE_ONLY}"),
    );
    dir.command(&["fix", "--check", "--level", "namespace", "all.yaml"])
        .assert()
        .code(0);
}

#[test]
fn config_file_in_the_current_directory_is_read() {
    let dir = Dir::new();
    dir.write("app.yaml", BASELINE_ONLY);
    dir.write(".pss-fix.yaml", "level: baseline\n");
    dir.command(&["check", "app.yaml"]).assert().code(0);
    dir.command(&["check", "--level", "restricted", "app.yaml"])
        .assert()
        .code(1);
    dir.write(".pss-fix.yaml", "levle: baseline\n");
    let output = dir.command(&["check", "app.yaml"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output)
            .starts_with("pss-fix: .pss-fix.yaml:1:1: config field `levle`: unknown field `levle`"),
        "{}",
        stderr(&output)
    );
}

/// Each input uses the nearest `.pss-fix.yaml` above it, up to the repository root, as ruff
/// and black find theirs; `--explain` says which.
#[test]
fn config_is_found_upward_from_each_input_to_the_repository_root() {
    let dir = Dir::new();
    dir.write(".pss-fix.yaml", "level: baseline\n");
    std::fs::create_dir_all(dir.path().join("repo/.git")).expect("mkdir");
    dir.write("repo/.pss-fix.yaml", "level: baseline\n");
    dir.write("repo/strict/.pss-fix.yaml", "level: restricted\n");
    dir.write("repo/strict/deep/app.yaml", BASELINE_ONLY);
    dir.write("repo/lax/app.yaml", BASELINE_ONLY);
    std::fs::create_dir_all(dir.path().join("other/.git")).expect("mkdir");
    dir.write("other/app.yaml", BASELINE_ONLY);
    let output = dir
        .command(&["check", "--explain", "-o", "json", "repo", "other"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let entries: Vec<Value> = serde_json::from_slice(&output.stdout).expect("JSON");
    let level_of = |file: &str| {
        entries
            .iter()
            .find(|entry| entry["file"] == file)
            .map(|entry| entry["level"].clone())
            .expect("listed")
    };
    assert_eq!(level_of("repo/lax/app.yaml"), "baseline");
    assert_eq!(level_of("repo/strict/deep/app.yaml"), "restricted");
    assert_eq!(
        level_of("other/app.yaml"),
        "restricted",
        "the outer file is past .git"
    );
    let explained = stderr(&output);
    assert!(
        explained.contains("pss-fix: config repo/.pss-fix.yaml for 1 input\n"),
        "{explained}"
    );
    assert!(
        explained.contains("pss-fix: config repo/strict/.pss-fix.yaml for 1 input\n"),
        "{explained}"
    );
    assert!(
        explained.contains("pss-fix: no .pss-fix.yaml found up to the repository root for 1 input"),
        "{explained}"
    );
}

#[test]
fn run_as_user_flag_sets_the_uid() {
    let dir = Dir::new();
    let output = dir
        .command(&["fix", "--stdout", "--run-as-user", "4242"])
        .write_stdin(BASELINE_ONLY)
        .output()
        .expect("runs");
    assert!(stdout(&output).contains("4242"), "{}", stdout(&output));
}

#[test]
fn policy_flags_reach_the_plan() {
    let dir = Dir::new();
    let fixed = |args: &[&str]| {
        let mut all = vec!["fix", "--stdout"];
        all.extend_from_slice(args);
        let output = dir
            .command(&all)
            .write_stdin(BASELINE_ONLY)
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        documents(&stdout(&output)).remove(0)["spec"]["template"]["spec"].clone()
    };
    let full = fixed(&["--cpu-limit", "750m"]);
    assert_eq!(full["securityContext"]["runAsNonRoot"], true);
    assert_eq!(full["containers"][0]["resources"]["limits"]["cpu"], "750m");
    assert_eq!(
        full["containers"][0]["securityContext"]["readOnlyRootFilesystem"],
        true
    );
    // Safe remedies alone cannot reach restricted: --partial applies them.
    let safe = fixed(&["--safe-only", "--partial"]);
    assert_eq!(safe["securityContext"].get("runAsNonRoot"), None, "{safe}");
    assert_eq!(
        safe["containers"][0]["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    let bare = fixed(&["--no-default-resources", "--no-read-only-root-fs"]);
    assert_eq!(bare["containers"][0].get("resources"), None, "{bare}");
    assert_eq!(
        bare["containers"][0]["securityContext"].get("readOnlyRootFilesystem"),
        None
    );
}

// ---------------------------------------------------------------- krm

#[test]
fn krm_fixes_the_items_of_a_resource_list() {
    let dir = Dir::new();
    let item = BASELINE_ONLY.replace('\n', "\n    ");
    let list = format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n  - {}\nfunctionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: pss-fix\n  data:\n    runAsUser: \"4242\"\n",
        item.trim_end()
    );
    let output = dir
        .command(&["krm"])
        .write_stdin(list.as_str())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let fixed = documents(&stdout(&output)).remove(0);
    assert_eq!(fixed["kind"], "ResourceList");
    let pod = &fixed["items"][0]["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsUser"], 4242);
    assert!(fixed["results"]
        .as_array()
        .is_some_and(|results| !results.is_empty()));
    let output = dir
        .command(&["krm"])
        .write_stdin(BASELINE_ONLY)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).starts_with("pss-fix: krm: "),
        "{}",
        stderr(&output)
    );
}

// ---------------------------------------------------------------- usage, help, completions

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let dir = Dir::new();
    dir.command(&["fix", "--level", "strict"]).assert().code(2);
    dir.command(&["fix", "--pss-version", "1.30"])
        .assert()
        .code(2);
    dir.command(&["frobnicate"]).assert().code(2);
    dir.command(&["--help"]).assert().code(0);
    let version = dir.command(&["--version"]).output().expect("runs");
    let version = stdout(&version);
    assert!(version.starts_with("pss-fix 0."), "{version}");
    assert!(
        version.contains(&format!("v1.{}", pss_fix::pss::NEWEST_MINOR)),
        "{version}"
    );
}

#[test]
fn man_pages_one_per_subcommand() {
    let dir = Dir::new();
    let man = dir.command(&["man"]).output().expect("runs");
    assert_eq!(man.status.code(), Some(0));
    assert!(stdout(&man).contains(".TH pss-fix"), "{}", stdout(&man));
    let check = dir.command(&["man", "check"]).output().expect("runs");
    assert!(
        stdout(&check).contains(".TH pss-fix-check"),
        "{}",
        stdout(&check)
    );
    assert!(stdout(&check).contains("hardening"));
    assert!(
        !stdout(&check).contains("\\-\\-write"),
        "{}",
        stdout(&check)
    );
    dir.command(&["man", "--dir", "pages"]).assert().code(0);
    for page in [
        "pss-fix.1",
        "pss-fix-fix.1",
        "pss-fix-check.1",
        "pss-fix-patch.1",
    ] {
        assert!(dir.path().join("pages").join(page).is_file(), "{page}");
    }
    dir.command(&["man", "nope"]).assert().code(2);
}

/// The bash script is loaded into a real bash and asked, through the function `complete`
/// registered, what follows `pss-fix check --hard` and `pss-fix fix --level ` (clap_complete
/// lost every subcommand option for a hyphenated binary name).
#[test]
fn bash_completion_completes_subcommand_options() {
    let dir = Dir::new();
    let script = dir
        .command(&["completions", "bash"])
        .output()
        .expect("runs");
    assert_eq!(script.status.code(), Some(0));
    dir.write("pss-fix.bash", &script.stdout);
    let probe = r#"
source ./pss-fix.bash
function=$(complete -p pss-fix | sed -E 's/.* -F ([^ ]+) pss-fix$/\1/')
ask() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
        "$function" pss-fix "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        echo "${COMPREPLY[*]}"; }
ask pss-fix ch
ask pss-fix check --hard
ask pss-fix fix --level ""
ask pss-fix check -o ""
"#;
    let output = std::process::Command::new("bash")
        .current_dir(dir.path())
        .args(["-c", probe])
        .output()
        .expect("bash runs");
    assert_eq!(
        stdout(&output),
        "check\n--hardening\nbaseline restricted namespace\ntext json sarif\n",
        "{}",
        stderr(&output)
    );
}
