//! `privileged` (baseline): no container may set `securityContext.privileged: true`.
//! Remedy: set it to false.

use super::fixer::Fixer;
use super::message::containers_phrase;
use super::pod::{child, Pod};
use super::{Finding, Version};
use serde_json::Value;

pub const ID: &str = "privileged";

fn offenders(pod: &Pod) -> Vec<(String, String)> {
    pod.containers()
        .iter()
        .filter(|c| c.context_field(ID).and_then(Value::as_bool) == Some(true))
        .map(|c| (c.name.to_string(), c.security_context_at()))
        .collect()
}

pub fn check(pod: &Pod, _version: Version) -> Option<Finding> {
    let bad = offenders(pod);
    if bad.is_empty() {
        return None;
    }
    let names: Vec<_> = bad.iter().map(|(name, _)| name.as_str()).collect();
    Some(Finding::new(
        "privileged",
        format!(
            "{} must not set securityContext.privileged=true",
            containers_phrase(&names)
        ),
        bad.iter().map(|(_, at)| child(at, ID)).collect(),
    ))
}

pub fn remedy(fix: &mut Fixer) {
    let remedy = super::catalog::remedy(ID, "set-false");
    let bad = fix.pod().map(|pod| offenders(&pod)).unwrap_or_default();
    for (name, at) in bad {
        fix.set(ID, remedy, &at, ID, Value::Bool(false), Some(&name));
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testing::*;
    use crate::pss::Level::Baseline;
    use serde_json::json;

    #[test]
    fn privileged_is_set_false() {
        let pod = pod(
            json!({"initContainers": [{"name": "i", "securityContext": {"privileged": true}}],
            "containers": [{"name": "a", "securityContext": {"privileged": false}}]}),
        );
        assert_eq!(
            message(&pod, Baseline, "latest", super::ID),
            "privileged (container \"i\" must not set securityContext.privileged=true)"
        );
        let (plan, _) = fix(&pod, Baseline, "latest");
        assert_eq!(
            ops(&plan),
            ["replace /spec/initContainers/0/securityContext/privileged"]
        );
    }
}
