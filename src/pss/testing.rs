//! Test helpers for the control modules: small pods, verdicts and plans.

use crate::config::Config;
use crate::plan::Plan;
use crate::policy::Policy;
use crate::pss::{check, Level, Version};
use serde_json::{json, Value};

/// A Pod with `spec`.
pub fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
}

/// A Pod with one container `app` with securityContext `context`.
pub fn pod_with(context: Value) -> Value {
    pod(json!({"containers": [{"name": "app", "image": "x", "securityContext": context}]}))
}

/// A Pod that passes restricted at every version, with `app`'s securityContext extended by
/// `context` and the spec by `spec`.
pub fn restricted_pod(context: Value, spec: Value) -> Value {
    let mut security =
        json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}});
    merge(&mut security, context);
    let mut full = json!({
        "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "app", "image": "x", "securityContext": security}]
    });
    merge(&mut full, spec);
    pod(full)
}

fn merge(target: &mut Value, extra: Value) {
    if let (Some(target), Value::Object(extra)) = (target.as_object_mut(), extra) {
        for (key, value) in extra {
            match (target.get_mut(&key), value) {
                (Some(existing @ Value::Object(_)), value @ Value::Object(_)) => {
                    merge(existing, value)
                }
                (_, value) => {
                    target.insert(key, value);
                }
            }
        }
    }
}

pub fn version(text: &str) -> Version {
    text.parse().expect("test version")
}

/// The violated check ids.
pub fn ids(object: &Value, level: Level, at: &str) -> Vec<String> {
    check(object, level, version(at))
        .into_iter()
        .map(|v| v.check)
        .collect()
}

/// The message of the only violation of `id`.
pub fn message(object: &Value, level: Level, at: &str, id: &str) -> String {
    check(object, level, version(at))
        .into_iter()
        .find(|v| v.check == id)
        .map(|v| v.message)
        .unwrap_or_default()
}

/// The default policy without hardening.
pub fn policy(level: Level, at: &str) -> Policy {
    let mut config = Config::default();
    config.hardening.read_only_root_filesystem = Some(false);
    config.hardening.default_resources = Some(false);
    let object = pod(json!({}));
    let workload = crate::workload::workloads(&object).remove(0);
    config
        .policy_for(&workload, level, version(at))
        .expect("the skip annotations name controls")
}

/// The plan under `policy` and the patched object.
pub fn fix_with(object: &Value, policy: &Policy) -> (Plan, Value) {
    let plan = crate::plan::plan(object, policy);
    let mut patched = object.clone();
    json_patch::patch(&mut patched, &plan.patch).expect("the plan should apply");
    (plan, patched)
}

/// The plan without hardening, and the patched object, which must pass.
pub fn fix(object: &Value, level: Level, at: &str) -> (Plan, Value) {
    let (plan, patched) = fix_with(object, &policy(level, at));
    assert_eq!(
        ids(&patched, level, at),
        Vec::<String>::new(),
        "{}",
        serde_json::to_string(&plan.patch).unwrap_or_default()
    );
    (plan, patched)
}

/// The ops of a plan as `op path` strings.
pub fn ops(plan: &Plan) -> Vec<String> {
    serde_json::to_value(&plan.patch)
        .ok()
        .and_then(|ops| ops.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|op| {
            format!(
                "{} {}",
                op["op"].as_str().unwrap_or_default(),
                op["path"].as_str().unwrap_or_default()
            )
        })
        .collect()
}
