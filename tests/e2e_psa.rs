//! The real kube-apiserver v1.37 with Pod Security Admission judges what `pss-fix` writes.
//!
//! For every workload in `golden/fix`, `examples/` and `tests/corpus/`, at baseline and
//! restricted and at v1.25 and latest: the Pod built from the workload (PSA enforces on Pods)
//! and the workload itself are created with `dryRun=All` in a namespace that enforces that level
//! and version, before and after `pss-fix fix`. The files are read by kubectl, as a user's
//! `kubectl apply` reads them. Then:
//! - a fixed workload is admitted, unless `pss-fix patch` reported something unfixable for
//!   it, and then PSA rejects it with exactly the message `pss-fix check` gives for it;
//! - an original workload is rejected iff `pss-fix check` finds violations, with its message;
//! - no fixed object is refused for anything else (validation): that is a failure, with the
//!   server's message.
//!
//! Originals that the API server refuses as invalid are not ours to judge: they are counted
//! and listed, and their workloads left out.

use crate::util::e2e::{kubectl_objects, pod_from, Cluster};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const LEVELS: [&str; 2] = ["baseline", "restricted"];
const VERSIONS: [&str; 2] = ["v1.25", "latest"];
const KINDS: [&str; 9] = [
    "Pod",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "ReplicationController",
    "PodTemplate",
];

/// One manifest to judge, with the config file its golden case uses.
struct Input {
    path: PathBuf,
    config: Option<PathBuf>,
}

fn inputs() -> Vec<Input> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for case in sorted_entries(&root.join("golden/fix")) {
        let config = case.join("config.yaml");
        for name in ["input.yaml", "input.json"] {
            if case.join(name).exists() {
                found.push(Input {
                    path: case.join(name),
                    config: config.exists().then_some(config.clone()),
                });
            }
        }
    }
    for dir in ["examples/shop", "tests/corpus"] {
        for path in sorted_entries(&root.join(dir)) {
            if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json" | "golden")
            ) {
                found.push(Input { path, config: None });
            }
        }
    }
    found
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    entries
}

/// Runs the real `pss-fix` binary; returns stdout (exit codes 0 and 1 are verdicts).
fn pss_fix(args: &[&str], input: &Input, file: &Path) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pss-fix"));
    command.args(args);
    if let Some(config) = &input.config {
        command.arg("--config").arg(config);
    }
    let output = command.arg(file).output().expect("pss-fix runs");
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "pss-fix {args:?} {}: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// What `pss-fix` says of each workload of a file: (kind, name) in document order.
type Said = Vec<((String, String), Value)>;

fn said(json_array: &str) -> Said {
    let entries: Vec<Value> = serde_json::from_str(json_array).expect("pss-fix JSON");
    entries
        .into_iter()
        .map(|entry| {
            let key = (
                entry["kind"].as_str().unwrap_or_default().to_string(),
                entry["name"].as_str().unwrap_or_default().to_string(),
            );
            (key, entry)
        })
        .collect()
}

/// The workloads of kubectl's reading of a file, each with what `pss-fix` said of it (matched
/// by kind and name, in order).
fn matched<'a>(objects: &'a [Value], said: &'a Said) -> Vec<(&'a Value, Option<&'a Value>)> {
    let mut used = vec![false; said.len()];
    objects
        .iter()
        .filter(|object| KINDS.contains(&object["kind"].as_str().unwrap_or_default()))
        .map(|object| {
            let key = (
                object["kind"].as_str().unwrap_or_default().to_string(),
                object["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
            let found = said
                .iter()
                .enumerate()
                .find(|(index, (k, _))| !used[*index] && *k == key);
            let entry = found.map(|(index, (_, entry))| {
                used[index] = true;
                entry
            });
            (object, entry)
        })
        .collect()
}

/// The rejection message PSA gives for what `pss-fix check` found at `level:version`: its
/// violations and the PSS findings it lists as exempted (an exemption changes what pss-fix
/// does, not what PSA sees), in upstream's check order.
fn expected_message(level: &str, version: &str, check: &Value) -> Option<String> {
    let exempted = check["exempted"].as_array().into_iter().flatten();
    let mut findings: Vec<&Value> = check["violations"]
        .as_array()?
        .iter()
        .chain(exempted.filter(|finding| finding["hardening"] != true))
        .collect();
    if findings.is_empty() {
        return None;
    }
    let order = |finding: &&Value| {
        pss_fix::pss::CONTROLS
            .iter()
            .position(|control| finding["check"] == control.id)
    };
    findings.sort_by_key(order);
    let details: Vec<&str> = findings
        .iter()
        .map(|finding| finding["message"].as_str().unwrap_or_default())
        .collect();
    Some(format!(
        "violates PodSecurity \"{level}:{version}\": {}",
        details.join(", ")
    ))
}

#[derive(Default)]
struct Tally {
    /// (level:version, "original"|"fixed", "admitted"|"rejected") -> count
    outcomes: BTreeMap<(String, &'static str, &'static str), usize>,
    invalid_originals: Vec<String>,
    /// Files kubectl cannot read as a whole against this server.
    unreadable: Vec<String>,
    failures: Vec<String>,
}

/// Judges one Pod: the server's verdict against the expected message (`None`: admitted).
fn judge(
    tally: &mut Tally,
    what: &str,
    stage: &'static str,
    policy: &str,
    expected: Option<&str>,
    answer: &crate::util::e2e::Answer,
) {
    let verdict = match answer.status {
        201 => "admitted",
        403 => "rejected",
        _ => {
            tally.failures.push(format!(
                "{what} at {policy}: the {stage} Pod is refused ({}): {}",
                answer.status,
                answer.message()
            ));
            return;
        }
    };
    *tally
        .outcomes
        .entry((policy.to_string(), stage, verdict))
        .or_default() += 1;
    let message = answer.message();
    let agrees = match expected {
        None => answer.status == 201,
        Some(expected) => answer.status == 403 && message.ends_with(expected),
    };
    if !agrees {
        tally.failures.push(format!(
            "{what} ({stage}) at {policy}: pss-fix expects {}, the API server says {} {message}",
            expected.unwrap_or("admission"),
            answer.status
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_server_admits_what_pss_fix_fixes() {
    let test = "e2e_psa";
    let Some(cluster) = Cluster::connect(test) else {
        return;
    };
    cluster.namespace(UNENFORCED, &json!({})).await;
    for level in LEVELS {
        for version in VERSIONS {
            let labels = json!({
                "pod-security.kubernetes.io/enforce": level,
                "pod-security.kubernetes.io/enforce-version": version,
            });
            cluster.namespace(&namespace(level, version), &labels).await;
        }
    }
    let scratch = tempfile::tempdir().expect("temp dir");
    let mut tally = Tally::default();
    let inputs = inputs();
    let mut workloads = 0;
    for (file_index, input) in inputs.iter().enumerate() {
        let shown = input
            .path
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(&input.path)
            .display()
            .to_string();
        let originals = match kubectl_objects(&input.path) {
            Ok(objects) => objects,
            Err(message) => {
                // Kinds or versions this server does not serve (CRDs, batch/v1beta1, ...).
                let first = message.lines().next().unwrap_or_default();
                tally.unreadable.push(format!("{shown}: {first}"));
                continue;
            }
        };
        // Workloads that the API server refuses as they are given (in a namespace that enforces
        // nothing) are not ours to judge.
        let mut invalid = Vec::new();
        let workloads_in_file = originals
            .iter()
            .filter(|object| KINDS.contains(&object["kind"].as_str().unwrap_or_default()));
        for (index, original) in workloads_in_file.enumerate() {
            let pod = pod_from(original, &format!("w{file_index}-{index}"));
            for object in [original, &pod] {
                let answer = cluster.dry_run_create(UNENFORCED, object).await;
                if answer.status != 201 && !invalid.contains(&index) {
                    invalid.push(index);
                    tally.invalid_originals.push(format!(
                        "{shown}: {} {}: {} {}",
                        object["kind"].as_str().unwrap_or_default(),
                        original["metadata"]["name"].as_str().unwrap_or_default(),
                        answer.status,
                        answer.message()
                    ));
                }
            }
        }
        for level in LEVELS {
            for version in VERSIONS {
                let policy = format!("{level}:{version}");
                let ns = namespace(level, version);
                let selection = ["--level", level, "--pss-version", version];
                let check_original = said(&pss_fix(
                    &[&["check", "--output", "json"][..], &selection].concat(),
                    input,
                    &input.path,
                ));
                let patches = said(&pss_fix(
                    &[&["patch"][..], &selection].concat(),
                    input,
                    &input.path,
                ));
                let fixed_text = pss_fix(
                    &[&["fix", "--stdout"][..], &selection].concat(),
                    input,
                    &input.path,
                );
                let extension = input
                    .path
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or("yaml");
                let extension = if extension == "json" { "json" } else { "yaml" };
                let fixed_path = scratch
                    .path()
                    .join(format!("{file_index}-{level}-{version}.{extension}"));
                std::fs::write(&fixed_path, &fixed_text).expect("write");
                let check_fixed = said(&pss_fix(
                    &[&["check", "--output", "json"][..], &selection].concat(),
                    input,
                    &fixed_path,
                ));
                let fixed = match kubectl_objects(&fixed_path) {
                    Ok(objects) => objects,
                    Err(message) => {
                        tally.failures.push(format!(
                            "{shown} at {policy}: kubectl cannot read the fixed file: {message}"
                        ));
                        continue;
                    }
                };
                let original_pairs = matched(&originals, &check_original);
                let fixed_pairs = matched(&fixed, &check_fixed);
                let patch_pairs = matched(&fixed, &patches);
                for (index, ((original, original_check), ((fixed, fixed_check), (_, patch)))) in
                    original_pairs
                        .iter()
                        .zip(fixed_pairs.iter().zip(patch_pairs.iter()))
                        .enumerate()
                {
                    if invalid.contains(&index) {
                        continue;
                    }
                    let what = format!(
                        "{shown}: {} {}",
                        original["kind"].as_str().unwrap_or_default(),
                        original["metadata"]["name"].as_str().unwrap_or_default()
                    );
                    let (Some(original_check), Some(fixed_check), Some(patch)) =
                        (original_check, fixed_check, patch)
                    else {
                        tally
                            .failures
                            .push(format!("{what}: pss-fix did not report this workload"));
                        continue;
                    };
                    if level == LEVELS[0] && version == VERSIONS[0] {
                        workloads += 1;
                    }
                    let pod_name = format!("w{file_index}-{index}");
                    // The original: as the API server sees it, judged by pss-fix check.
                    let expected = expected_message(level, version, original_check);
                    let answer = cluster
                        .dry_run_create(&ns, &pod_from(original, &pod_name))
                        .await;
                    judge(
                        &mut tally,
                        &what,
                        "original",
                        &policy,
                        expected.as_deref(),
                        &answer,
                    );
                    // The fixed workload: admitted unless pss-fix said what stays unfixable.
                    let expected = expected_message(level, version, fixed_check);
                    let unfixable = patch["unfixable"].as_array().map_or(0, Vec::len);
                    if expected.is_some() && unfixable == 0 {
                        tally.failures.push(format!(
                            "{what} at {policy}: violations remain after the fix and none was reported unfixable: {}",
                            expected.as_deref().unwrap_or_default()
                        ));
                    }
                    let answer = cluster
                        .dry_run_create(&ns, &pod_from(fixed, &pod_name))
                        .await;
                    judge(
                        &mut tally,
                        &what,
                        "fixed",
                        &policy,
                        expected.as_deref(),
                        &answer,
                    );
                    if fixed["kind"] != "Pod" {
                        let answer = cluster.dry_run_create(&ns, fixed).await;
                        if answer.status != 201 {
                            tally.failures.push(format!(
                                "{what} at {policy}: the fixed workload is refused ({}): {}",
                                answer.status,
                                answer.message()
                            ));
                        }
                    }
                }
            }
        }
    }

    let mut report = format!("{} files, {workloads} workloads\n", inputs.len());
    for ((policy, stage, verdict), count) in &tally.outcomes {
        report += &format!("  {policy:<20} {stage:<8} {verdict:<8} {count}\n");
    }
    report += &format!(
        "originals refused as invalid (left out): {}\n",
        tally.invalid_originals.len()
    );
    for line in &tally.invalid_originals {
        // Some messages list dozens of fields; the start says enough.
        let short: String = line.chars().take(300).collect();
        report += &format!("  {short}\n");
    }
    report += &format!(
        "files kubectl cannot read against this server (left out): {}\n",
        tally.unreadable.len()
    );
    for line in &tally.unreadable {
        report += &format!("  {line}\n");
    }
    let _ = std::io::Write::write_all(&mut std::io::stderr(), report.as_bytes());
    let rejected_originals: usize = tally
        .outcomes
        .iter()
        .filter(|((_, stage, verdict), _)| *stage == "original" && *verdict == "rejected")
        .map(|(_, count)| count)
        .sum();
    assert!(
        rejected_originals > 0,
        "no original was rejected: the test could not fail\n{report}"
    );
    assert!(
        tally.failures.is_empty(),
        "{} disagreements with the real API server:\n{}\n\n{report}",
        tally.failures.len(),
        tally.failures.join("\n")
    );
}

/// A namespace that enforces nothing, where originals are tried for validity.
const UNENFORCED: &str = "psa-none";

fn namespace(level: &str, version: &str) -> String {
    format!("psa-{level}-{}", version.replace('.', "-"))
}
