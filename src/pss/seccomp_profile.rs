//! Seccomp. `seccompProfile_baseline` (baseline): before v1.19 the alpha annotations
//! (`seccomp.security.alpha.kubernetes.io/pod`, `container.seccomp.security.alpha.kubernetes.io/
//! <container>`) must be `runtime/default`, `docker/default` or `localhost/*`; from v1.19 the
//! `seccompProfile.type` fields, where set, must be RuntimeDefault or Localhost.
//! `seccompProfile_restricted` (restricted, v1.19+, replacing it; Windows pods exempt from
//! v1.25): the type must also be set, at pod level or on every container.
//! Remedies: type RuntimeDefault where it is disallowed (Localhost is left alone), then one
//! pod-level `seccompProfile` covering every container that sets none (the profile the pod's
//! annotation names, when PSS allows it); annotations to `runtime/default`. At every version,
//! annotations and fields the remedy left disagreeing are brought back into agreement
//! ([`super::profile_annotations`]): the API server rejects a pod whose seccomp annotation and
//! field disagree, even where PSS reads only one of them.

use super::fixer::Fixer;
use super::message::{
    containers_phrase, go_quote, join_quote, pluralize, setters_phrase, sorted_set,
};
use super::pod::{child, profile_type, Pod};
use super::profile_annotations::{Snapshot, SECCOMP};
use super::{Finding, Version};
use serde_json::{json, Value};

pub const BASELINE_ID: &str = "seccompProfile_baseline";
pub const RESTRICTED_ID: &str = "seccompProfile_restricted";
const CONTROL: &str = "seccompProfile";
const FIELD: &str = "seccompProfile";
const VALID: [&str; 2] = ["RuntimeDefault", "Localhost"];
const POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const CONTAINER_ANNOTATION: &str = "container.seccomp.security.alpha.kubernetes.io/";

/// Annotations with a forbidden value: (key, value, container it names).
fn bad_annotations(pod: &Pod) -> Vec<(String, String, Option<String>)> {
    let annotations = pod.annotations();
    let valid = |value: &str| {
        value == "runtime/default" || value == "docker/default" || value.starts_with("localhost/")
    };
    let mut keys = vec![(POD_ANNOTATION.to_string(), None)];
    keys.extend(pod.containers().iter().map(|c| {
        (
            format!("{CONTAINER_ANNOTATION}{}", c.name),
            Some(c.name.to_string()),
        )
    }));
    let mut bad = Vec::new();
    for (key, container) in keys {
        if let Some((_, value)) = annotations.iter().find(|(k, _)| *k == key) {
            if !valid(value)
                && !bad
                    .iter()
                    .any(|(k, _, _): &(String, String, Option<String>)| *k == key)
            {
                bad.push((key, value.to_string(), container));
            }
        }
    }
    bad
}

/// Profiles with a disallowed type: (container or None for the pod, securityContext pointer, type).
fn bad_types(pod: &Pod) -> Vec<(Option<String>, String, String)> {
    let mut bad = Vec::new();
    if let Some(kind) = profile_type(pod.security_context(), FIELD) {
        if !VALID.contains(&kind) {
            bad.push((None, pod.security_context_at(), kind.to_string()));
        }
    }
    for c in pod.containers() {
        if let Some(kind) = profile_type(c.security_context(), FIELD) {
            if !VALID.contains(&kind) {
                bad.push((
                    Some(c.name.to_string()),
                    c.security_context_at(),
                    kind.to_string(),
                ));
            }
        }
    }
    bad
}

fn bad_type_finding(bad: &[(Option<String>, String, String)]) -> Finding {
    let setters = setters_phrase(bad.iter().map(|(name, _, _)| name.as_deref()));
    let kinds = sorted_set(bad.iter().map(|(_, _, kind)| kind.clone()).collect());
    Finding::new(
        "seccompProfile",
        format!(
            "{} must not set securityContext.seccompProfile.type to {}",
            setters,
            join_quote(&kinds)
        ),
        bad.iter()
            .map(|(_, at, _)| child(&child(at, FIELD), "type"))
            .collect(),
    )
}

pub fn check_baseline(pod: &Pod, version: Version) -> Option<Finding> {
    if version.at_least(19) {
        let bad = bad_types(pod);
        return (!bad.is_empty()).then(|| bad_type_finding(&bad));
    }
    let bad = bad_annotations(pod);
    if bad.is_empty() {
        return None;
    }
    let quoted = sorted_set(
        bad.iter()
            .map(|(key, value, _)| format!("{key}={}", go_quote(value)))
            .collect(),
    );
    Some(Finding::new(
        "seccompProfile",
        format!(
            "forbidden {} {}",
            pluralize("annotation", "annotations", quoted.len()),
            quoted.join(", ")
        ),
        bad.iter()
            .map(|(key, _, _)| child(&format!("{}/annotations", pod.metadata_at), key))
            .collect(),
    ))
}

fn restricted_applies(pod: &Pod, version: Version) -> bool {
    !(version.at_least(25) && pod.is_windows())
}

/// Containers without a seccompProfile when the pod level sets no valid one.
fn unset(pod: &Pod) -> Vec<(String, String)> {
    if profile_type(pod.security_context(), FIELD).is_some_and(|kind| VALID.contains(&kind)) {
        return Vec::new();
    }
    pod.containers()
        .iter()
        .filter(|c| profile_type(c.security_context(), FIELD).is_none())
        .map(|c| {
            let at = if c.security_context().is_some() {
                c.security_context_at()
            } else {
                c.at()
            };
            (c.name.to_string(), at)
        })
        .collect()
}

pub fn check_restricted(pod: &Pod, version: Version) -> Option<Finding> {
    if !restricted_applies(pod, version) {
        return None;
    }
    let bad = bad_types(pod);
    if !bad.is_empty() {
        return Some(bad_type_finding(&bad));
    }
    let missing = unset(pod);
    if missing.is_empty() {
        return None;
    }
    let names: Vec<_> = missing.iter().map(|(name, _)| name.as_str()).collect();
    Some(Finding::new(
        "seccompProfile",
        format!(
            "pod or {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
            containers_phrase(&names)
        ),
        missing.into_iter().map(|(_, at)| at).collect(),
    ))
}

fn fix_bad_types(fix: &mut Fixer, check: &str) {
    let remedy = super::catalog::remedy(CONTROL, "field-runtime-default");
    let bad = fix.pod().map(|pod| bad_types(&pod)).unwrap_or_default();
    for (name, at, _) in bad {
        let value = Value::String("RuntimeDefault".to_string());
        fix.set(
            check,
            remedy,
            &child(&at, FIELD),
            "type",
            value,
            name.as_deref(),
        );
    }
}

pub fn remedy_baseline(fix: &mut Fixer) {
    let snapshot = Snapshot::take(fix, SECCOMP);
    if fix.policy().version.at_least(19) {
        fix_bad_types(fix, BASELINE_ID);
    } else {
        fix_bad_annotations(fix);
    }
    if let Some(snapshot) = snapshot {
        snapshot.reconcile(fix, BASELINE_ID);
    }
}

/// Why a Windows pod's seccomp annotation is left as it is.
const WINDOWS_ANNOTATION_REASON: &str = "seccomp is Linux-only: in a Windows pod (spec.os.name: \
     windows) no seccompProfile field could agree with a rewritten annotation";

fn fix_bad_annotations(fix: &mut Fixer) {
    let remedy = super::catalog::remedy(CONTROL, "annotation-runtime-default");
    let Some((parent, bad)) = fix.pod().map(|pod| {
        (
            format!("{}/annotations", pod.metadata_at),
            bad_annotations(&pod),
        )
    }) else {
        return;
    };
    // seccomp is Linux-only: no seccompProfile field can be written in a Windows pod, so one
    // already there (the container's or the pod's) could not follow a rewritten annotation.
    let windows = fix.pod().is_some_and(|pod| pod.is_windows());
    for (key, _, container) in bad {
        if windows {
            fix.refuse(
                BASELINE_ID,
                &child(&parent, &key),
                WINDOWS_ANNOTATION_REASON,
            );
            continue;
        }
        let value = Value::String("runtime/default".to_string());
        fix.set(
            BASELINE_ID,
            remedy,
            &parent,
            &key,
            value,
            container.as_deref(),
        );
    }
}

pub fn remedy_restricted(fix: &mut Fixer) {
    let snapshot = Snapshot::take(fix, SECCOMP);
    fix_bad_types(fix, RESTRICTED_ID);
    add_missing(fix);
    if let Some(snapshot) = snapshot {
        snapshot.reconcile(fix, RESTRICTED_ID);
    }
}

/// The profile `annotation_key` names when PSS allows it: what a field added for its pod or
/// container must be, so that the API server sees them agree.
fn annotated_profile(pod: &Pod, annotation_key: &str) -> Option<Value> {
    pod.annotations()
        .into_iter()
        .find(|(key, _)| *key == annotation_key)
        .and_then(|(_, value)| SECCOMP.allowed_field_for(value))
}

/// One pod-level profile for the containers that set none, or one per container when an
/// exemption keeps one of them out. A container whose annotation names another allowed
/// profile than the pod level gets that one, and the pod level is set only if a container
/// is left for it to cover.
fn add_missing(fix: &mut Fixer) {
    let remedy = super::catalog::remedy(CONTROL, "field-runtime-default");
    let runtime_default = json!({"type": "RuntimeDefault"});
    let Some((pod_context_at, missing, containers, pod_profile)) = fix.pod().map(|pod| {
        let containers: Vec<_> = pod
            .containers()
            .iter()
            .filter(|c| profile_type(c.security_context(), FIELD).is_none())
            .map(|c| {
                let key = format!("{CONTAINER_ANNOTATION}{}", c.name);
                (
                    c.name.to_string(),
                    c.security_context_at(),
                    annotated_profile(&pod, &key),
                )
            })
            .collect();
        let pod_profile =
            annotated_profile(&pod, POD_ANNOTATION).unwrap_or_else(|| runtime_default.clone());
        (
            pod.security_context_at(),
            unset(&pod),
            containers,
            pod_profile,
        )
    }) else {
        return;
    };
    if missing.is_empty() {
        return;
    }
    let per_container =
        fix.any_exempt(RESTRICTED_ID, missing.iter().map(|(name, _)| name.as_str()));
    let mut covered_by_pod = false;
    for (name, context_at, annotated) in containers {
        let profile = match annotated {
            Some(profile) if per_container || profile != pod_profile => profile,
            _ if per_container => runtime_default.clone(),
            _ => {
                covered_by_pod = true;
                continue;
            }
        };
        fix.set(
            RESTRICTED_ID,
            remedy,
            &context_at,
            FIELD,
            profile,
            Some(&name),
        );
    }
    if covered_by_pod {
        fix.set(
            RESTRICTED_ID,
            remedy,
            &pod_context_at,
            FIELD,
            pod_profile,
            None,
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testing::*;
    use crate::pss::Level::{Baseline, Restricted};
    use serde_json::json;

    #[test]
    fn annotations_before_v1_19_fields_after() {
        let mut pod = pod_with(json!({"seccompProfile": {"type": "Unconfined"}}));
        pod["metadata"]["annotations"] =
            json!({"seccomp.security.alpha.kubernetes.io/pod": "unconfined"});
        assert_eq!(
            message(&pod, Baseline, "v1.18", super::BASELINE_ID),
            "seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod=\"unconfined\")"
        );
        assert_eq!(
            message(&pod, Baseline, "v1.19", super::BASELINE_ID),
            "seccompProfile (container \"app\" must not set securityContext.seccompProfile.type to \"Unconfined\")"
        );
        let (plan, _) = fix(&pod, Baseline, "v1.18");
        assert_eq!(
            ops(&plan),
            ["replace /metadata/annotations/seccomp.security.alpha.kubernetes.io~1pod"]
        );
    }

    #[test]
    fn restricted_requires_a_profile_from_v1_19_and_sets_it_once_at_pod_level() {
        let pod = pod(
            json!({"securityContext": {"runAsNonRoot": true}, "containers": [
            {"name": "a", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}},
            {"name": "b", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}}]}),
        );
        assert!(ids(&pod, Restricted, "v1.18").is_empty());
        assert_eq!(
            message(&pod, Restricted, "v1.19", super::RESTRICTED_ID),
            "seccompProfile (pod or container \"a\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")"
        );
        let (plan, patched) = fix(&pod, Restricted, "latest");
        assert_eq!(ops(&plan), ["add /spec/securityContext/seccompProfile"]);
        assert_eq!(
            patched["spec"]["containers"][1]["securityContext"]["seccompProfile"]["type"],
            "Localhost"
        );
    }

    #[test]
    fn an_exempt_container_keeps_the_pod_level_untouched() {
        let pod = restricted_pod(
            json!({}),
            json!({"securityContext": {"seccompProfile": null}}),
        );
        let mut with_two = pod.clone();
        let second = with_two["spec"]["containers"][0].clone();
        with_two["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "side", "securityContext": second["securityContext"]}));
        let mut policy = policy(Restricted, "latest");
        policy
            .exemptions
            .containers
            .push(("side".into(), ["seccompprofile".to_string()].into()));
        let (plan, _) = fix_with(&with_two, &policy);
        assert_eq!(
            ops(&plan),
            ["add /spec/containers/0/securityContext/seccompProfile"]
        );
        assert_eq!(plan.unfixable.len(), 1);
        assert!(plan.unfixable[0].reason.contains("\"side\""));
    }
}
