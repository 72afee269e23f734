//! `privileged` (baseline): no container may set `securityContext.privileged: true`.
//! Remedy: set it to false, unless the container mounts a volume with Bidirectional mount
//! propagation: the API server allows that only in a privileged container, so privileged
//! cannot go without changing what the container mounts (unfixable, with the reason).

use super::fixer::Fixer;
use super::message::containers_phrase;
use super::pod::{child, Container, Pod};
use super::{Finding, Version};
use serde_json::Value;

pub const ID: &str = "privileged";

/// Why a container must stay privileged: the index of its first Bidirectional mount.
fn bidirectional_mount(c: &Container) -> Option<usize> {
    c.value
        .get("volumeMounts")
        .and_then(Value::as_array)?
        .iter()
        .position(|mount| {
            mount.get("mountPropagation").and_then(Value::as_str) == Some("Bidirectional")
        })
}

fn offenders<'p, 'a>(pod: &'p Pod<'a>) -> impl Iterator<Item = &'p Container<'a>> {
    pod.containers()
        .iter()
        .filter(|c| c.context_field(ID).and_then(Value::as_bool) == Some(true))
}

pub fn check(pod: &Pod, _version: Version) -> Option<Finding> {
    let bad: Vec<_> = offenders(pod).collect();
    if bad.is_empty() {
        return None;
    }
    let names: Vec<_> = bad.iter().map(|c| c.name).collect();
    Some(Finding::new(
        "privileged",
        format!(
            "{} must not set securityContext.privileged=true",
            containers_phrase(&names)
        ),
        bad.iter()
            .map(|c| child(&c.security_context_at(), ID))
            .collect(),
    ))
}

pub fn remedy(fix: &mut Fixer) {
    let remedy = super::catalog::remedy(ID, "set-false");
    let Some(pod) = fix.pod() else { return };
    let bad: Vec<_> = offenders(&pod)
        .map(|c| {
            let kept = bidirectional_mount(c).map(|index| {
                format!(
                    "volumeMounts[{index}] uses Bidirectional mount propagation, which the API \
                     server allows only in a privileged container; privileged cannot go without \
                     changing what the container mounts"
                )
            });
            (c.name.to_string(), c.security_context_at(), kept)
        })
        .collect();
    for (name, at, kept) in bad {
        match kept {
            Some(reason) => fix.refuse(ID, &child(&at, ID), &reason),
            None => {
                fix.set(ID, remedy, &at, ID, Value::Bool(false), Some(&name));
            }
        }
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

    /// spire-agent's CSI driver (tests/corpus, istio's spire quickstart): the API server
    /// refuses Bidirectional propagation in a container that is not privileged.
    #[test]
    fn a_bidirectional_mount_keeps_privileged_and_is_reported() {
        let pod = pod(json!({"containers": [
            {"name": "csi", "securityContext": {"privileged": true},
             "volumeMounts": [{"name": "a", "mountPath": "/a"},
                {"name": "pods", "mountPath": "/var/lib/kubelet/pods", "mountPropagation": "Bidirectional"}]},
            {"name": "app", "securityContext": {"privileged": true},
             "volumeMounts": [{"name": "a", "mountPath": "/a", "mountPropagation": "HostToContainer"}]}]}));
        // It cannot reach baseline: left unchanged, unless --partial.
        let (plan, patched) = fix_with(&pod, &policy(Baseline, "latest"));
        assert!(plan.blocked && plan.patch.0.is_empty() && patched == pod);
        let mut partial = policy(Baseline, "latest");
        partial.partial = true;
        let (plan, patched) = fix_with(&pod, &partial);
        assert_eq!(
            ops(&plan),
            ["replace /spec/containers/1/securityContext/privileged"]
        );
        assert_eq!(
            patched["spec"]["containers"][0]["securityContext"]["privileged"],
            true
        );
        let unfixable: Vec<_> = plan
            .unfixable
            .iter()
            .map(|u| (u.check.as_str(), u.path.as_str()))
            .collect();
        assert_eq!(
            unfixable,
            [(
                "privileged",
                "/spec/containers/0/securityContext/privileged"
            )]
        );
        assert!(plan.unfixable[0]
            .reason
            .starts_with("volumeMounts[1] uses Bidirectional mount propagation"));
    }
}
