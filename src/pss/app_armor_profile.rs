//! `appArmorProfile` (baseline): AppArmor may not be disabled or set to a custom profile type:
//! `appArmorProfile.type` (pod and containers) must be RuntimeDefault or Localhost, and every
//! `container.apparmor.security.beta.kubernetes.io/*` annotation must be empty,
//! `runtime/default` or `localhost/*`.
//! Remedy: type RuntimeDefault, annotation `runtime/default` (Localhost is left alone); an
//! annotation and a field the remedy left disagreeing are brought back into agreement
//! ([`super::profile_annotations`]), as the API server requires.

use super::fixer::Fixer;
use super::message::{go_quote, join_quote, pluralize, setters_phrase, sorted_set};
use super::pod::{child, profile_type, Pod};
use super::profile_annotations::{Snapshot, APP_ARMOR};
use super::{Finding, Version};
use serde_json::Value;

pub const ID: &str = "appArmorProfile";
const ALLOWED: [&str; 2] = ["RuntimeDefault", "Localhost"];
const ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

/// A bad profile: (container name or None for the pod, securityContext pointer, type).
type BadField = (Option<String>, String, String);

fn bad_fields(pod: &Pod) -> Vec<BadField> {
    let mut bad = Vec::new();
    if let Some(kind) = profile_type(pod.security_context(), ID) {
        if !ALLOWED.contains(&kind) {
            bad.push((None, pod.security_context_at(), kind.to_string()));
        }
    }
    for c in pod.containers() {
        if let Some(kind) = profile_type(c.security_context(), ID) {
            if !ALLOWED.contains(&kind) {
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

fn bad_annotations<'a>(pod: &Pod<'a>) -> Vec<(&'a str, &'a str)> {
    pod.annotations()
        .into_iter()
        .filter(|(key, value)| {
            key.starts_with(ANNOTATION_PREFIX)
                && !(value.is_empty()
                    || *value == "runtime/default"
                    || value.starts_with("localhost/"))
        })
        .collect()
}

pub fn check(pod: &Pod, _version: Version) -> Option<Finding> {
    let fields = bad_fields(pod);
    let annotations = bad_annotations(pod);
    if fields.is_empty() && annotations.is_empty() {
        return None;
    }
    let mut setters = setters_phrase(fields.iter().map(|(name, _, _)| name.as_deref()));
    let mut values = sorted_set(fields.iter().map(|(_, _, kind)| kind.clone()).collect());
    let mut quoted: Vec<_> = annotations
        .iter()
        .map(|(key, value)| format!("{key}={}", go_quote(value)))
        .collect();
    quoted.sort();
    if !quoted.is_empty() {
        if !setters.is_empty() {
            setters.push_str(" and ");
        }
        setters.push_str(pluralize("annotation", "annotations", quoted.len()));
    }
    values.extend(quoted);
    let mut paths: Vec<_> = fields
        .iter()
        .map(|(_, at, _)| child(&child(at, ID), "type"))
        .collect();
    paths.extend(
        annotations
            .iter()
            .map(|(key, _)| child(&format!("{}/annotations", pod.metadata_at), key)),
    );
    Some(Finding::new(
        pluralize(
            "forbidden AppArmor profile",
            "forbidden AppArmor profiles",
            values.len(),
        ),
        format!(
            "{} must not set AppArmor profile type to {}",
            setters,
            join_quote(&values)
        ),
        paths,
    ))
}

pub fn remedy(fix: &mut Fixer) {
    let snapshot = Snapshot::take(fix, APP_ARMOR);
    fix_profiles(fix);
    if let Some(snapshot) = snapshot {
        snapshot.reconcile(fix, ID);
    }
}

fn fix_profiles(fix: &mut Fixer) {
    let Some(pod) = fix.pod() else { return };
    let fields = bad_fields(&pod);
    let annotations: Vec<(String, String)> = bad_annotations(&pod)
        .into_iter()
        .map(|(key, _)| (key.to_string(), format!("{}/annotations", pod.metadata_at)))
        .collect();
    // The pod-level profile is also every container's that sets none: it stays when one of
    // them is exempted (its annotation, which must agree with it, stays too).
    let inheritors: Vec<String> = pod
        .containers()
        .iter()
        .filter(|c| profile_type(c.security_context(), ID).is_none())
        .map(|c| c.name.to_string())
        .collect();
    let exempt_inheritor = inheritors
        .iter()
        .find(|name| fix.exemptions().exempts_container(ID, name))
        .cloned();
    let field_remedy = super::catalog::remedy(ID, "field-runtime-default");
    for (name, context_at, _) in fields {
        let value = Value::String("RuntimeDefault".to_string());
        fix.set(
            ID,
            field_remedy,
            &child(&context_at, ID),
            "type",
            value,
            name.as_deref().or(exempt_inheritor.as_deref()),
        );
    }
    let annotation_remedy = super::catalog::remedy(ID, "annotation-runtime-default");
    for (key, parent) in annotations {
        let container = key.strip_prefix(ANNOTATION_PREFIX).map(str::to_string);
        let value = Value::String("runtime/default".to_string());
        fix.set(
            ID,
            annotation_remedy,
            &parent,
            &key,
            value,
            container.as_deref(),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testing::*;
    use crate::pss::Level::Baseline;
    use serde_json::json;

    #[test]
    fn fields_and_annotations_in_upstream_wording() {
        let mut pod = pod_with(json!({"appArmorProfile": {"type": "Unconfined"}}));
        pod["metadata"]["annotations"] =
            json!({"container.apparmor.security.beta.kubernetes.io/app": "unconfined"});
        assert_eq!(
            message(&pod, Baseline, "latest", super::ID),
            "forbidden AppArmor profiles (container \"app\" and annotation must not set AppArmor profile type to \
             \"Unconfined\", \"container.apparmor.security.beta.kubernetes.io/app=\"unconfined\"\")"
        );
        let (plan, patched) = fix(&pod, Baseline, "latest");
        assert_eq!(
            ops(&plan),
            [
                "replace /metadata/annotations/container.apparmor.security.beta.kubernetes.io~1app",
                "replace /spec/containers/0/securityContext/appArmorProfile/type"
            ]
        );
        assert_eq!(
            patched["spec"]["containers"][0]["securityContext"]["appArmorProfile"]["type"],
            "RuntimeDefault"
        );
    }

    #[test]
    fn localhost_is_left_alone() {
        let pod =
            pod_with(json!({"appArmorProfile": {"type": "Localhost", "localhostProfile": "p"}}));
        assert!(ids(&pod, Baseline, "latest").is_empty());
    }
}
