//! The upstream `k8s.io/pod-security-admission` library (through `e2e/psa-oracle`) judges
//! `pss-fix`'s checker and fixer:
//! - on the upstream fixtures, read from that module's `test/testdata` in the Go module cache;
//! - on generated pods (seeded, reproducible: `PSS_FIX_DIFF_SEED`, `PSS_FIX_DIFF_PODS`), made by
//!   mutating the fixtures with each other's PSS-relevant parts and with values from a table.
//!
//! Verdicts and messages must be equal, and every pod `pss-fix` fixes must be allowed upstream
//! unless the plan lists something as unfixable.

use crate::util::e2e::{upstream_testdata, Oracle};
use crate::util::support;
use proptest::prelude::Rng as _;
use proptest::test_runner::{RngAlgorithm, TestRng};
use pss_fix::config::Config;
use pss_fix::pss::{self, Level, Version};
use pss_fix::workload::workloads;
use serde_json::{json, Value};

/// PSA's rejection message for `violations` at `policy`, or `None` when there are none.
fn our_message(policy: &str, violations: &[pss::Violation]) -> Option<String> {
    if violations.is_empty() {
        return None;
    }
    let details: Vec<&str> = violations.iter().map(|v| v.message.as_str()).collect();
    Some(format!(
        "violates PodSecurity \"{policy}\": {}",
        details.join(", ")
    ))
}

fn upstream_message(result: &Value) -> Option<String> {
    result["message"].as_str().map(str::to_string)
}

fn parse_policy(policy: &str) -> (Level, Version) {
    let (level, version) = policy.split_once(':').expect("level:version");
    (
        level.parse().expect("level"),
        version.parse().expect("version"),
    )
}

#[test]
fn checker_agrees_with_the_upstream_library_on_its_fixtures() {
    let test = "e2e_oracle fixtures";
    let Some(testdata) = upstream_testdata(test) else {
        return;
    };
    let Some(mut oracle) = Oracle::start(test) else {
        return;
    };
    let fixtures = support::fixtures(&testdata);
    assert!(fixtures.len() > 4000, "found {} fixtures", fixtures.len());
    let requests: Vec<Value> = fixtures
        .iter()
        .map(|f| json!({"object": f.object, "policies": [format!("{}:{}", f.level, f.version)]}))
        .collect();
    let verdicts = oracle.judge(&requests);
    let mut failures = Vec::new();
    for (fixture, verdict) in fixtures.iter().zip(&verdicts) {
        let result = &verdict["results"][0];
        let policy = format!("{}:{}", fixture.level, fixture.version);
        let (level, version) = parse_policy(&policy);
        let ours = our_message(&policy, &pss::check(&fixture.object, level, version));
        let theirs = upstream_message(result);
        if result["allowed"] != json!(fixture.pass) {
            failures.push(format!(
                "{}: upstream disagrees with the fixture itself",
                fixture.path.display()
            ));
        }
        if ours != theirs {
            failures.push(format!(
                "{}: pss-fix {ours:?}, upstream {theirs:?}",
                fixture.path.display()
            ));
        }
    }
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!(
            "e2e_oracle: {} upstream fixtures, {} disagreements\n",
            fixtures.len(),
            failures.len()
        )
        .as_bytes(),
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn pick<'a, T>(rng: &mut TestRng, items: &'a [T]) -> &'a T {
    &items[(rng.next_u64() % items.len() as u64) as usize]
}

/// Every container list of a pod spec that holds containers.
fn containers_mut(pod: &mut Value) -> Vec<&mut Value> {
    let spec = &mut pod["spec"];
    let mut found = Vec::new();
    if let Some(spec) = spec.as_object_mut() {
        for (key, list) in spec.iter_mut() {
            if matches!(
                key.as_str(),
                "containers" | "initContainers" | "ephemeralContainers"
            ) {
                if let Some(list) = list.as_array_mut() {
                    found.extend(list.iter_mut());
                }
            }
        }
    }
    found
}

fn any_container(rng: &mut TestRng, pod: &Value) -> Option<Value> {
    let mut all = Vec::new();
    for key in ["containers", "initContainers", "ephemeralContainers"] {
        if let Some(list) = pod["spec"][key].as_array() {
            all.extend(list.iter().cloned());
        }
    }
    (!all.is_empty()).then(|| pick(rng, &all).clone())
}

/// One mutation of `pod`, drawn with `rng`, using `donors` for realistic parts.
fn mutate(rng: &mut TestRng, pod: &mut Value, donors: &[Value]) {
    let donor = pick(rng, donors);
    match rng.next_u64() % 10 {
        0 => pod["spec"]["securityContext"] = donor["spec"]["securityContext"].clone(),
        1 => pod["spec"]["volumes"] = donor["spec"]["volumes"].clone(),
        2 => pod["metadata"]["annotations"] = donor["metadata"]["annotations"].clone(),
        3 => {
            let field = *pick(rng, &["hostNetwork", "hostPID", "hostIPC", "hostUsers"]);
            pod["spec"][field] = pick(rng, &[json!(true), json!(false), Value::Null]).clone();
        }
        4 => {
            pod["spec"]["os"] = pick(
                rng,
                &[
                    json!({"name": "windows"}),
                    json!({"name": "linux"}),
                    Value::Null,
                ],
            )
            .clone()
        }
        5 => {
            if let Some(container) = any_container(rng, donor) {
                let key = *pick(rng, &["containers", "initContainers"]);
                let mut container = container;
                container["name"] = json!(format!("g{}", rng.next_u64() % 1000));
                match pod["spec"][key].as_array_mut() {
                    Some(list) => list.push(container),
                    None => pod["spec"][key] = json!([container]),
                }
            }
        }
        6 => {
            // A donor container's securityContext onto one of ours.
            if let Some(source) = any_container(rng, donor) {
                let mut ours = containers_mut(pod);
                if !ours.is_empty() {
                    let index = (rng.next_u64() % ours.len() as u64) as usize;
                    ours[index]["securityContext"] = source["securityContext"].clone();
                }
            }
        }
        7 => {
            let (field, values) = *pick(rng, FIELDS);
            let mut ours = containers_mut(pod);
            if !ours.is_empty() {
                let index = (rng.next_u64() % ours.len() as u64) as usize;
                ours[index]["securityContext"][field] = value_of(pick(rng, values));
            }
        }
        8 => {
            let (field, values) = *pick(rng, FIELDS);
            if field != "privileged" && field != "capabilities" {
                pod["spec"]["securityContext"][field] = value_of(pick(rng, values));
            }
        }
        _ => {
            let port = pick(rng, &[json!(null), json!(0), json!(8080)]).clone();
            let mut ours = containers_mut(pod);
            if !ours.is_empty() {
                let index = (rng.next_u64() % ours.len() as u64) as usize;
                ours[index]["ports"] = json!([{"containerPort": 80, "hostPort": port}]);
            }
        }
    }
    strip_nulls(pod);
}

/// Security-context fields and the values that matter to them, as JSON text.
const FIELDS: &[(&str, &[&str])] = &[
    ("privileged", &["true", "false"]),
    ("allowPrivilegeEscalation", &["true", "false"]),
    ("runAsNonRoot", &["true", "false"]),
    ("runAsUser", &["0", "1000"]),
    ("procMount", &["\"Default\"", "\"Unmasked\""]),
    (
        "capabilities",
        &[
            r#"{"drop":["ALL"]}"#,
            r#"{"add":["NET_RAW"],"drop":["ALL"]}"#,
            r#"{"add":["NET_BIND_SERVICE"],"drop":["all"]}"#,
            r#"{"add":["SYS_ADMIN"]}"#,
        ],
    ),
    (
        "seccompProfile",
        &[
            r#"{"type":"RuntimeDefault"}"#,
            r#"{"type":"Unconfined"}"#,
            r#"{"type":"Localhost","localhostProfile":"p.json"}"#,
        ],
    ),
    (
        "appArmorProfile",
        &[r#"{"type":"RuntimeDefault"}"#, r#"{"type":"Unconfined"}"#],
    ),
    (
        "seLinuxOptions",
        &[
            r#"{"type":"container_t"}"#,
            r#"{"type":"spc_t"}"#,
            r#"{"user":"root"}"#,
        ],
    ),
    (
        "windowsOptions",
        &[r#"{"hostProcess":true}"#, r#"{"hostProcess":false}"#],
    ),
    (
        "sysctls",
        &[
            r#"[{"name":"kernel.shm_rmid_forced","value":"0"}]"#,
            r#"[{"name":"net.core.somaxconn","value":"1"}]"#,
        ],
    ),
];

fn value_of(text: &&str) -> Value {
    serde_json::from_str(text).expect("a JSON value in the table")
}

fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

const VERSIONS: &[&str] = &[
    "v1.0", "v1.8", "v1.19", "v1.22", "v1.23", "v1.25", "v1.30", "v1.33", "v1.35", "latest",
];

#[test]
fn checker_and_fixer_agree_with_the_upstream_library_on_generated_pods() {
    let test = "e2e_oracle generated";
    let Some(testdata) = upstream_testdata(test) else {
        return;
    };
    let Some(mut oracle) = Oracle::start(test) else {
        return;
    };
    let count: usize = std::env::var("PSS_FIX_DIFF_PODS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(100_000);
    let seed: u64 = std::env::var("PSS_FIX_DIFF_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(20_261_203);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
    let donors: Vec<Value> = support::fixtures(&testdata)
        .into_iter()
        .map(|fixture| fixture.object)
        .filter(|object| object["kind"] == "Pod")
        .collect();

    let config = Config::default();
    let mut counts = Counts::default();
    let mut failures = Vec::new();
    let batch = 2_000;
    let mut generated = 0;
    while generated < count {
        let size = batch.min(count - generated);
        let mut cases = Vec::with_capacity(size);
        for _ in 0..size {
            let mut pod = pick(&mut rng, &donors).clone();
            for _ in 0..=(rng.next_u64() % 4) {
                mutate(&mut rng, &mut pod, &donors);
            }
            let version = *pick(&mut rng, VERSIONS);
            let policies = vec![
                format!("baseline:{version}"),
                format!("restricted:{version}"),
            ];
            // The fix at the restricted policy, judged upstream at that policy.
            let (level, parsed_version) = parse_policy(&policies[1]);
            let found = workloads(&pod);
            let policy = config
                .policy_for(&found[0], level, parsed_version)
                .expect("the skip annotations name controls");
            let plan = pss_fix::plan::plan(&pod, &policy);
            let mut fixed = pod.clone();
            json_patch::patch(&mut fixed, &plan.patch).expect("the plan applies");
            cases.push((pod, fixed, policies, plan.unfixable.len()));
        }
        let requests: Vec<Value> = cases
            .iter()
            .flat_map(|(pod, fixed, policies, _)| {
                [
                    json!({"object": pod, "policies": policies}),
                    json!({"object": fixed, "policies": [policies[1]]}),
                ]
            })
            .collect();
        let verdicts = oracle.judge(&requests);
        for ((pod, fixed, policies, unfixable), pair) in cases.iter().zip(verdicts.chunks(2)) {
            if let Some(error) = pair[0]["error"].as_str() {
                failures.push(format!("the oracle cannot read {pod}: {error}"));
                continue;
            }
            for (policy, result) in policies
                .iter()
                .zip(pair[0]["results"].as_array().into_iter().flatten())
            {
                let (level, version) = parse_policy(policy);
                let ours = our_message(policy, &pss::check(pod, level, version));
                let theirs = upstream_message(result);
                counts.verdicts += 1;
                if theirs.is_some() {
                    counts.forbidden += 1;
                }
                if ours != theirs {
                    failures.push(format!(
                        "{policy}: pss-fix {ours:?}, upstream {theirs:?}\n  pod: {pod}"
                    ));
                }
            }
            let fixed_result = &pair[1]["results"][0];
            counts.fixed += 1;
            if *unfixable > 0 {
                counts.unfixable += 1;
            } else if fixed_result["allowed"] != json!(true) {
                failures.push(format!(
                    "{}: the fixed pod is forbidden upstream and nothing was reported unfixable: {}\n  pod: {pod}\n  fixed: {fixed}",
                    policies[1],
                    fixed_result["message"]
                ));
            }
        }
        generated += size;
        if failures.len() > 20 {
            break;
        }
    }
    let summary = format!(
        "e2e_oracle: seed {seed}: {generated} generated pods, {} verdicts ({} forbidden) equal upstream; {} fixed at restricted, {} with something unfixable, the rest allowed upstream; {} disagreements\n",
        counts.verdicts, counts.forbidden, counts.fixed, counts.unfixable, failures.len()
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), summary.as_bytes());
    assert!(
        counts.forbidden > 0 && counts.verdicts > counts.forbidden,
        "{summary}"
    );
    assert!(failures.is_empty(), "{summary}{}", failures.join("\n"));
}

#[derive(Default)]
struct Counts {
    verdicts: usize,
    forbidden: usize,
    fixed: usize,
    unfixable: usize,
}
