//! `windowsHostProcess` (baseline): `securityContext.windowsOptions.hostProcess` must not be
//! true, at pod level or in any container. Remedy: set it to false everywhere it is true. The
//! API server refuses a pod that mixes host-process and other containers, and host-process
//! containers without hostNetwork: so when one setter is exempted or withheld, every setter
//! keeps it, and hostNetwork stays with it (see [`stays`]).

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

/// Why hostProcess stays where it is set: the control or any container exempted (every
/// container of a valid host-process pod is one, inheriting the pod's setting or not), or the
/// remedy withheld by `--safe-only`. `None`: the remedy sets it false everywhere.
fn kept(fix: &Fixer, pod: &Pod, bad: &[(Option<String>, String)]) -> Option<String> {
    if bad.is_empty() {
        return None;
    }
    let remedy = super::catalog::remedy(ID, "set-false");
    pod.containers()
        .iter()
        .map(|c| Some(c.name))
        .chain([None])
        .find_map(|name| fix.withheld(ID, remedy, name))
        .map(|withheld| withheld.reason().to_string())
}

/// Whether hostProcess stays true somewhere after the plan (then the pod needs hostNetwork).
pub fn stays(fix: &Fixer) -> bool {
    fix.pod()
        .is_some_and(|pod| kept(fix, &pod, &offenders(&pod)).is_some())
}

pub fn remedy(fix: &mut Fixer) {
    let remedy = super::catalog::remedy(ID, "set-false");
    let Some(pod) = fix.pod() else { return };
    let bad = offenders(&pod);
    if let Some(reason) = kept(fix, &pod, &bad) {
        let reason = format!(
            "{reason}; a pod may not mix host-process and other containers, so every setter keeps it"
        );
        for (_, at) in bad {
            fix.refuse(ID, &child(&at, "hostProcess"), &reason);
        }
        return;
    }
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

    /// The API server refuses host-process containers beside others, and without hostNetwork.
    #[test]
    fn an_exempted_or_withheld_setter_keeps_host_process_and_host_network() {
        let pod = pod(json!({"os": {"name": "windows"}, "hostNetwork": true,
            "securityContext": {"windowsOptions": {"hostProcess": true}},
            "containers": [{"name": "a"}, {"name": "b"}]}));
        let mut control = policy(Baseline, "latest");
        control
            .exemptions
            .controls
            .insert("windowshostprocess".into());
        // "a" inherits the pod's setting: setting the pod false would change it.
        let mut container = policy(Baseline, "latest");
        container
            .exemptions
            .containers
            .push(("a".into(), ["windowshostprocess".to_string()].into()));
        let mut safe_only = policy(Baseline, "latest");
        safe_only.safe_only = true;
        for policy in [control, container, safe_only] {
            let (plan, patched) = fix_with(&pod, &policy);
            assert_eq!(patched, pod, "{:?}", plan.changes);
            let mut unfixable: Vec<_> = plan.unfixable.iter().map(|u| u.check.as_str()).collect();
            unfixable.dedup();
            assert_eq!(unfixable, ["hostNamespaces", "windowsHostProcess"]);
        }
        let (_, patched) = fix(&pod, Baseline, "latest");
        assert_eq!(patched["spec"]["hostNetwork"], false);
    }
}
