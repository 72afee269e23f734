//! `runAsUser` (restricted, v1.23+; pods with `hostUsers: false` exempt from v1.35):
//! `runAsUser` must not be 0 at pod level or in any container.
//! Remedy: replace the 0 by the policy's UID (65532 by default).

use super::fixer::Fixer;
use super::message::setters_phrase;
use super::pod::{child, Pod};
use super::{Finding, Version};
use serde_json::{Map, Value};

pub const ID: &str = "runAsUser";

fn is_root(context: Option<&Map<String, Value>>) -> bool {
    context.and_then(|c| c.get(ID)).and_then(Value::as_i64) == Some(0)
}

/// (container or None for the pod, securityContext pointer) of every `runAsUser: 0`.
fn offenders(pod: &Pod, version: Version) -> Vec<(Option<String>, String)> {
    if !version.at_least(23) || (version.at_least(35) && pod.in_user_namespace()) {
        return Vec::new();
    }
    let mut bad = Vec::new();
    if is_root(pod.security_context()) {
        bad.push((None, pod.security_context_at()));
    }
    for c in pod.containers() {
        if is_root(c.security_context()) {
            bad.push((Some(c.name.to_string()), c.security_context_at()));
        }
    }
    bad
}

pub fn check(pod: &Pod, version: Version) -> Option<Finding> {
    let bad = offenders(pod, version);
    if bad.is_empty() {
        return None;
    }
    let setters = setters_phrase(bad.iter().map(|(name, _)| name.as_deref()));
    Some(Finding::new(
        "runAsUser=0",
        format!("{} must not set runAsUser=0", setters),
        bad.iter().map(|(_, at)| child(at, ID)).collect(),
    ))
}

pub fn remedy(fix: &mut Fixer) {
    let remedy = super::catalog::remedy(ID, "set-non-zero");
    let uid = Value::from(fix.policy().run_as_user);
    let version = fix.policy().version;
    let bad = fix
        .pod()
        .map(|pod| offenders(&pod, version))
        .unwrap_or_default();
    for (name, at) in bad {
        fix.set(ID, remedy, &at, ID, uid.clone(), name.as_deref());
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testing::*;
    use crate::pss::Level::Restricted;
    use serde_json::json;

    #[test]
    fn root_uid_is_checked_from_v1_23_and_replaced() {
        let pod = restricted_pod(
            json!({"runAsUser": 0}),
            json!({"securityContext": {"runAsUser": 0}}),
        );
        assert!(!ids(&pod, Restricted, "v1.22").contains(&super::ID.to_string()));
        assert_eq!(
            message(&pod, Restricted, "v1.23", super::ID),
            "runAsUser=0 (pod and container \"app\" must not set runAsUser=0)"
        );
        let (plan, _) = fix(&pod, Restricted, "v1.23");
        assert_eq!(
            ops(&plan),
            [
                "replace /spec/containers/0/securityContext/runAsUser",
                "replace /spec/securityContext/runAsUser"
            ]
        );
        let relaxed = restricted_pod(json!({"runAsUser": 0}), json!({"hostUsers": false}));
        assert!(ids(&relaxed, Restricted, "v1.35").is_empty());
    }
}
