//! `procMount` (baseline) and `procMount_restricted` (restricted, v1.35+, replacing it):
//! `securityContext.procMount`, when set (even to ""), must be `Default`. From v1.35 the
//! baseline check allows any procMount in a pod with `hostUsers: false` (its own user
//! namespace); the restricted check does not. Remedy: set it to `Default`.

use super::fixer::Fixer;
use super::message::{containers_phrase, join_quote, sorted_set};
use super::pod::{child, Pod};
use super::{Finding, Version};
use serde_json::Value;

pub const BASELINE_ID: &str = "procMount";
pub const RESTRICTED_ID: &str = "procMount_restricted";
const FIELD: &str = "procMount";

fn offenders(pod: &Pod) -> Vec<(String, String, String)> {
    pod.containers()
        .iter()
        .filter_map(|c| {
            let value = c.context_field(FIELD)?.as_str().unwrap_or_default();
            (value != "Default").then(|| {
                (
                    c.name.to_string(),
                    c.security_context_at(),
                    value.to_string(),
                )
            })
        })
        .collect()
}

fn finding(bad: Vec<(String, String, String)>) -> Option<Finding> {
    if bad.is_empty() {
        return None;
    }
    let names: Vec<_> = bad.iter().map(|(name, _, _)| name.as_str()).collect();
    let kinds = sorted_set(bad.iter().map(|(_, _, kind)| kind.clone()).collect());
    Some(Finding::new(
        "procMount",
        format!(
            "{} must not set securityContext.procMount to {}",
            containers_phrase(&names),
            join_quote(&kinds)
        ),
        bad.iter().map(|(_, at, _)| child(at, FIELD)).collect(),
    ))
}

pub fn check_baseline(pod: &Pod, version: Version) -> Option<Finding> {
    if version.at_least(35) && pod.in_user_namespace() {
        return None;
    }
    finding(offenders(pod))
}

pub fn check_restricted(pod: &Pod, _version: Version) -> Option<Finding> {
    finding(offenders(pod))
}

fn remedy(fix: &mut Fixer, check: &str) {
    let remedy = super::catalog::remedy(FIELD, "set-default");
    let bad = fix.pod().map(|pod| offenders(&pod)).unwrap_or_default();
    for (name, at, _) in bad {
        fix.set(
            check,
            remedy,
            &at,
            FIELD,
            Value::String("Default".to_string()),
            Some(&name),
        );
    }
}

pub fn remedy_baseline(fix: &mut Fixer) {
    remedy(fix, BASELINE_ID);
}

pub fn remedy_restricted(fix: &mut Fixer) {
    remedy(fix, RESTRICTED_ID);
}

#[cfg(test)]
mod tests {
    use crate::pss::testing::*;
    use crate::pss::Level::{Baseline, Restricted};
    use serde_json::json;

    #[test]
    fn user_namespaces_relax_baseline_from_v1_35_but_not_restricted() {
        let mut pod = restricted_pod(
            json!({"procMount": "Unmasked"}),
            json!({"hostUsers": false}),
        );
        assert_eq!(ids(&pod, Baseline, "v1.34"), ["procMount"]);
        assert!(ids(&pod, Baseline, "v1.35").is_empty());
        assert_eq!(ids(&pod, Restricted, "v1.34"), ["procMount"]);
        assert_eq!(ids(&pod, Restricted, "v1.35"), ["procMount_restricted"]);
        assert_eq!(
            message(&pod, Restricted, "v1.35", super::RESTRICTED_ID),
            "procMount (container \"app\" must not set securityContext.procMount to \"Unmasked\")"
        );
        let (_, patched) = fix(&pod, Restricted, "latest");
        assert_eq!(
            patched["spec"]["containers"][0]["securityContext"]["procMount"],
            "Default"
        );
        pod["spec"]["containers"][0]["securityContext"]["procMount"] = json!("");
        assert_eq!(ids(&pod, Baseline, "v1.0"), ["procMount"]);
    }
}
