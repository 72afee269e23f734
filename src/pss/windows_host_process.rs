//! `windowsHostProcess` (baseline): `securityContext.windowsOptions.hostProcess` must not be
//! true, at pod level or in any container. Remedy: set it to false everywhere it is true (a
//! mix of host-process and normal containers is invalid, so all go together).

use super::fixer::Fixer;
use super::message::setters_phrase;
use super::pod::{child, Pod};
use super::{Finding, Version};
use serde_json::{Map, Value};

pub const ID: &str = "windowsHostProcess";

fn host_process(context: Option<&Map<String, Value>>) -> bool {
    context
        .and_then(|c| c.get("windowsOptions"))
        .and_then(|options| options.get("hostProcess"))
        .and_then(Value::as_bool)
        == Some(true)
}

/// (container or None for the pod, windowsOptions pointer).
fn offenders(pod: &Pod) -> Vec<(Option<String>, String)> {
    let mut bad = Vec::new();
    if host_process(pod.security_context()) {
        bad.push((None, child(&pod.security_context_at(), "windowsOptions")));
    }
    for c in pod.containers() {
        if host_process(c.security_context()) {
            bad.push((
                Some(c.name.to_string()),
                child(&c.security_context_at(), "windowsOptions"),
            ));
        }
    }
    bad
}

pub fn check(pod: &Pod, _version: Version) -> Option<Finding> {
    let bad = offenders(pod);
    if bad.is_empty() {
        return None;
    }
    let setters = setters_phrase(bad.iter().map(|(name, _)| name.as_deref()));
    Some(Finding::new(
        "hostProcess",
        format!(
            "{} must not set securityContext.windowsOptions.hostProcess=true",
            setters
        ),
        bad.iter().map(|(_, at)| child(at, "hostProcess")).collect(),
    ))
}

pub fn remedy(fix: &mut Fixer) {
    let remedy = super::catalog::remedy(ID, "set-false");
    let bad = fix.pod().map(|pod| offenders(&pod)).unwrap_or_default();
    for (name, at) in bad {
        fix.set(
            ID,
            remedy,
            &at,
            "hostProcess",
            Value::Bool(false),
            name.as_deref(),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testing::*;
    use crate::pss::Level::Baseline;
    use serde_json::json;

    #[test]
    fn host_process_is_set_false_everywhere() {
        let pod = pod(
            json!({"os": {"name": "windows"}, "securityContext": {"windowsOptions": {"hostProcess": true}},
            "containers": [{"name": "w", "securityContext": {"windowsOptions": {"hostProcess": true}}}]}),
        );
        assert_eq!(
            message(&pod, Baseline, "latest", super::ID),
            "hostProcess (pod and container \"w\" must not set securityContext.windowsOptions.hostProcess=true)"
        );
        let (plan, _) = fix(&pod, Baseline, "latest");
        assert_eq!(plan.patch.0.len(), 2);
    }
}
