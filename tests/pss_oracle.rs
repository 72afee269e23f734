//! Cross-check with an independent evaluator, `../shared/tools/pss_check.py` (Python +
//! PyYAML). Without the tool, python3 or PyYAML the tests fail under CI and are skipped, with
//! a note, elsewhere.
//!
//! - wording: for every upstream fixture, our violations (check ids and messages) equal the
//!   evaluator's, in order;
//! - fixes: every fail fixture and a few multi-container workloads, once patched by the plan,
//!   pass the evaluator at the same level and version, or violate only checks the plan lists
//!   as unfixable.
//!
//! The evaluator judges the Pod a workload's controller creates (`e2e::pod_from`), as our
//! checks do: PSA enforces on that Pod, and the API server defaults it more than a template
//! (a hostNetwork Pod's ports get `hostPort = containerPort`; a template's do not since v1.28).

use crate::util::e2e::{missing, pod_from};
use crate::util::support;

use pss_fix::config::Config;
use pss_fix::pss::{self, Level, Version};
use pss_fix::workload::workloads;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The evaluator, or `None` after [`missing`] says why `test` cannot run.
fn oracle(test: &str) -> Option<PathBuf> {
    let tool = support::shared_dir().map(|dir| dir.join("tools/pss_check.py"));
    let works = Command::new("python3")
        .args(["-c", "import yaml"])
        .output()
        .is_ok_and(|out| out.status.success());
    let found = tool.filter(|tool| tool.is_file() && works);
    if found.is_none() {
        missing(
            test,
            "../shared/tools/pss_check.py with python3 and PyYAML",
            "put the shared folder beside the repository and `pip install pyyaml`",
        );
    }
    found
}

/// One evaluator run: level, version and the files to judge.
type Job = (String, String, Vec<PathBuf>);

/// The evaluator's verdicts for every job: file path -> [(check, message)]. Runs as many
/// evaluator processes at once as there are cores.
fn evaluate_all(tool: &Path, jobs: &[Job]) -> BTreeMap<String, Vec<(String, String)>> {
    let runs: Vec<_> = jobs
        .iter()
        .flat_map(|(level, version, files)| {
            files.chunks(200).map(move |chunk| (level, version, chunk))
        })
        .collect();
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut verdicts = BTreeMap::new();
    for wave in runs.chunks(parallel) {
        let children: Vec<_> = wave
            .iter()
            .map(|(level, version, chunk)| {
                Command::new("python3")
                    .arg(tool)
                    .args(["--level", level, "--version", version, "--json"])
                    .args(*chunk)
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .expect("python3 should run")
            })
            .collect();
        for child in children {
            let out = child
                .wait_with_output()
                .expect("the evaluator should finish");
            read_report(&out.stdout, &mut verdicts);
        }
    }
    verdicts
}

fn read_report(stdout: &[u8], verdicts: &mut BTreeMap<String, Vec<(String, String)>>) {
    let report: Value = serde_json::from_slice(stdout).expect("the evaluator prints JSON");
    assert_eq!(report["errors"], json!([]), "evaluator errors");
    for workload in report["workloads"].as_array().expect("workloads") {
        let violations = workload["violations"]
            .as_array()
            .expect("violations")
            .iter()
            .map(|v| {
                let text = |key: &str| v[key].as_str().expect("violation fields are strings");
                let (reason, detail) = (text("reason"), text("detail"));
                let message = if detail.is_empty() {
                    reason.to_string()
                } else {
                    format!("{reason} ({detail})")
                };
                (text("check").to_string(), message)
            })
            .collect();
        let source = workload["source"]
            .as_str()
            .expect("workloads name their source");
        verdicts.insert(source.to_string(), violations);
    }
}

fn ours(object: &Value, level: Level, version: Version) -> Vec<(String, String)> {
    pss::check(object, level, version)
        .into_iter()
        .map(|v| (v.check, v.message))
        .collect()
}

#[test]
fn messages_equal_the_independent_evaluator_on_every_fixture() {
    let Some(tool) =
        oracle("pss_oracle::messages_equal_the_independent_evaluator_on_every_fixture")
    else {
        return;
    };
    let shared = support::shared_dir().expect("oracle implies shared");
    let mut groups: BTreeMap<(String, String), Vec<support::Fixture>> = BTreeMap::new();
    for fixture in support::fixtures(&shared.join("conformance/pss")) {
        groups
            .entry((fixture.level.clone(), fixture.version.clone()))
            .or_default()
            .push(fixture);
    }
    let jobs: Vec<Job> = groups
        .iter()
        .map(|((level, version), fixtures)| {
            let paths = fixtures.iter().map(|f| f.path.clone()).collect();
            (level.clone(), version.clone(), paths)
        })
        .collect();
    let verdicts = evaluate_all(&tool, &jobs);
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for ((level, version), fixtures) in &groups {
        for fixture in fixtures {
            let expected = &verdicts[&fixture.path.display().to_string()];
            let actual = ours(
                &fixture.object,
                level.parse().unwrap(),
                version.parse().unwrap(),
            );
            compared += 1;
            if &actual != expected {
                mismatches.push(format!(
                    "{}:\n  ours   {actual:?}\n  oracle {expected:?}",
                    fixture.path.display()
                ));
            }
        }
    }
    eprintln!(
        "wording compared on {compared} fixtures, {} mismatches",
        mismatches.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Multi-container workloads of several kinds, each breaking several controls at once.
fn extra_workloads() -> Vec<(&'static str, Value)> {
    let containers = json!([
        {"name": "app", "image": "nginx", "ports": [{"containerPort": 80, "hostPort": 8080}],
         "securityContext": {"privileged": true, "capabilities": {"add": ["NET_ADMIN", "NET_BIND_SERVICE"], "drop": ["NET_RAW"]},
                             "runAsUser": 0, "procMount": "Unmasked",
                             "seccompProfile": {"type": "Unconfined"}},
         "livenessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80}},
         "resources": {"limits": {"cpu": "50m", "memory": "64Mi"}}},
        {"name": "sidecar", "image": "envoy",
         "securityContext": {"runAsNonRoot": false, "seLinuxOptions": {"type": "spc_t", "level": "s0"},
                             "appArmorProfile": {"type": "Unconfined"}},
         "resources": {"requests": {"cpu": "2", "memory": "1Gi"}}}
    ]);
    let init = json!([{"name": "init", "image": "busybox", "securityContext": {"allowPrivilegeEscalation": true}}]);
    let pod_spec = json!({
        "hostNetwork": true, "hostPID": true,
        "securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}, {"name": "net.ipv4.tcp_syncookies", "value": "1"}]},
        "initContainers": init, "containers": containers
    });
    let template = json!({"metadata": {"labels": {"app": "x"},
        "annotations": {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}}, "spec": pod_spec});
    vec![
        (
            "pod",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p",
            "annotations": {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}},
            "spec": pod_spec}),
        ),
        (
            "deployment",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": template}}),
        ),
        (
            "cronjob",
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}}),
        ),
        (
            "windows",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "w"},
            "spec": {"os": {"name": "windows"},
                     "securityContext": {"windowsOptions": {"hostProcess": true}},
                     "containers": [{"name": "win", "image": "servercore"}]}}),
        ),
        (
            "userns",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "u"},
            "spec": {"hostUsers": false, "containers": [{"name": "a", "image": "x",
                     "securityContext": {"procMount": "Unmasked"}}]}}),
        ),
    ]
}

/// A patched workload written for the evaluator, and the checks its plan says stay.
type Written = (PathBuf, Vec<String>);

#[test]
fn fixed_workloads_pass_the_independent_evaluator() {
    let Some(tool) = oracle("pss_oracle::fixed_workloads_pass_the_independent_evaluator") else {
        return;
    };
    let shared = support::shared_dir().expect("oracle implies shared");
    let dir = tempfile::tempdir().expect("temp dir");
    // Partial: a workload that cannot reach the level still gets every fix, so each is judged.
    let config = Config {
        partial: true,
        ..Config::default()
    };
    let mut groups: BTreeMap<(String, String), Vec<Written>> = BTreeMap::new();
    let mut write = |level: &str, version: &str, name: &str, object: &Value| {
        let (l, v): (Level, Version) = (level.parse().unwrap(), version.parse().unwrap());
        let found = workloads(object);
        let policy = config
            .policy_for(&found[0], l, v)
            .expect("the skip annotations name controls");
        let plan = pss_fix::plan::plan(object, &policy);
        let mut patched = object.clone();
        json_patch::patch(&mut patched, &plan.patch).expect("plan should apply");
        let path = dir.path().join(format!("{level}-{version}-{name}.json"));
        let pod = pod_from(&patched, "pod");
        std::fs::write(&path, serde_json::to_string_pretty(&pod).unwrap()).unwrap();
        let unfixable = plan.unfixable.iter().map(|u| u.check.clone()).collect();
        groups
            .entry((level.to_string(), version.to_string()))
            .or_default()
            .push((path, unfixable));
    };
    for fixture in support::fixtures(&shared.join("conformance/pss"))
        .iter()
        .filter(|f| !f.pass)
    {
        write(
            &fixture.level,
            &fixture.version,
            &fixture.name,
            &fixture.object,
        );
    }
    for (name, object) in extra_workloads() {
        for level in ["baseline", "restricted"] {
            for version in [
                "v1.0", "v1.18", "v1.22", "v1.24", "v1.30", "v1.34", "latest",
            ] {
                write(level, version, name, &object);
            }
        }
    }
    let jobs: Vec<Job> = groups
        .iter()
        .map(|((level, version), files)| {
            let paths = files.iter().map(|(path, _)| path.clone()).collect();
            (level.clone(), version.clone(), paths)
        })
        .collect();
    let verdicts = evaluate_all(&tool, &jobs);
    let mut checked = 0;
    let mut problems = Vec::new();
    for files in groups.values() {
        for (path, unfixable) in files {
            checked += 1;
            let remaining = &verdicts[&path.display().to_string()];
            if remaining
                .iter()
                .any(|(check, _)| !unfixable.contains(check))
            {
                problems.push(format!(
                    "{}: {remaining:?} (unfixable {unfixable:?})",
                    path.display()
                ));
            }
        }
    }
    eprintln!(
        "{checked} fixed workloads evaluated, {} problems",
        problems.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Real-world manifests (`tests/corpus`): for every workload, our verdict equals the
/// evaluator's at several levels and versions, and the fixed workload passes it (or keeps
/// only what the plan calls unfixable).
#[test]
fn corpus_workloads_agree_and_fixes_pass() {
    let Some(tool) = oracle("pss_oracle::corpus_workloads_agree_and_fixes_pass") else {
        return;
    };
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let entries = std::fs::read_dir(&corpus).expect("tests/corpus is in the repository");
    let mut objects = Vec::new();
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Some(documents) = support::yaml_documents(&text) else {
            continue;
        };
        for document in &documents {
            objects.extend(workloads(document).into_iter().map(|w| w.object.clone()));
        }
    }
    assert!(
        objects.len() > 50,
        "expected the corpus, found {} workloads",
        objects.len()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    // Partial: a workload that cannot reach the level still gets every fix, so each is judged.
    let config = Config {
        partial: true,
        ..Config::default()
    };
    let mut problems = Vec::new();
    let mut jobs: Vec<Job> = Vec::new();
    let mut originals = Vec::new();
    let mut fixed = Vec::new();
    for (level, version) in [
        ("restricted", "latest"),
        ("baseline", "latest"),
        ("restricted", "v1.24"),
        ("baseline", "v1.18"),
    ] {
        let (l, v): (Level, Version) = (level.parse().unwrap(), version.parse().unwrap());
        let mut paths = Vec::new();
        for (index, object) in objects.iter().enumerate() {
            let original = dir.path().join(format!("{level}-{version}-{index}.json"));
            std::fs::write(&original, pod_from(object, "pod").to_string()).unwrap();
            let found = workloads(object);
            let policy = config
                .policy_for(&found[0], l, v)
                .expect("the skip annotations name controls");
            let plan = pss_fix::plan::plan(object, &policy);
            let mut patched = object.clone();
            json_patch::patch(&mut patched, &plan.patch).expect("plan should apply");
            if !pss_fix::plan::plan(&patched, &policy).patch.0.is_empty() {
                problems.push(format!(
                    "workload {index} at {level} {version}: not idempotent"
                ));
            }
            let patched_path = dir
                .path()
                .join(format!("{level}-{version}-{index}-fixed.json"));
            std::fs::write(&patched_path, pod_from(&patched, "pod").to_string()).unwrap();
            paths.push(original.clone());
            paths.push(patched_path.clone());
            originals.push((original, ours(object, l, v)));
            let unfixable: Vec<_> = plan.unfixable.iter().map(|u| u.check.clone()).collect();
            fixed.push((patched_path, unfixable));
        }
        jobs.push((level.to_string(), version.to_string(), paths));
    }
    let verdicts = evaluate_all(&tool, &jobs);
    for (path, actual) in &originals {
        let expected = &verdicts[&path.display().to_string()];
        if actual != expected {
            problems.push(format!(
                "{}:\n  ours   {actual:?}\n  oracle {expected:?}",
                path.display()
            ));
        }
    }
    for (path, unfixable) in &fixed {
        let remaining = &verdicts[&path.display().to_string()];
        if remaining
            .iter()
            .any(|(check, _)| !unfixable.contains(check))
        {
            problems.push(format!(
                "{}: {remaining:?} (unfixable {unfixable:?})",
                path.display()
            ));
        }
    }
    eprintln!(
        "{} corpus workloads at 4 level/versions, {} problems",
        objects.len(),
        problems.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
