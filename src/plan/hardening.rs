//! OWASP K01 hardening beyond PSS: `readOnlyRootFilesystem: true` and default resource
//! requests and limits. Gaps are reported apart from PSS violations; the remedy fills what is
//! missing and never changes a written value: an explicit `readOnlyRootFilesystem: false` is
//! a decision and stays, a missing request is never set above an existing limit, and a
//! missing limit never below an existing request (quantities compared by value: `500m` < `1`).
//! Windows pods (also those that select Windows nodes without `spec.os.name`) get no
//! `readOnlyRootFilesystem` (Linux-only); ephemeral containers get no
//! resources (the API forbids them); a resource the pod-level `resources` bounds gets no
//! container defaults (the API server would reject one above the pod's values).

use super::HardeningGap;
use crate::policy::quantity;
use crate::policy::{Hardening, Resources};
use crate::pss::fixer::Fixer;
use crate::pss::pod::{child, Container, Pod};
use serde_json::Value;

pub const READ_ONLY_ID: &str = "readOnlyRootFilesystem";
pub const RESOURCES_ID: &str = "resources";
const CONTROL: &str = "hardening";

/// `requests.cpu`, `requests.memory`, `limits.cpu`, `limits.memory`.
const SLOTS: [(&str, &str); 4] = [
    ("requests", "cpu"),
    ("requests", "memory"),
    ("limits", "cpu"),
    ("limits", "memory"),
];

fn needs_read_only(windows: bool, c: &Container) -> bool {
    !windows && c.context_field(READ_ONLY_ID).is_none()
}

fn resource<'a>(c: &Container<'a>, group: &str, name: &str) -> Option<&'a Value> {
    c.value
        .get(RESOURCES_ID)
        .and_then(|r| r.get(group))
        .and_then(|g| g.get(name))
        .filter(|v| !v.is_null())
}

/// Whether the pod-level `resources` (Kubernetes 1.32+) sets a request or a limit for `name`.
/// The pod then bounds that resource for its containers, and the API server holds container
/// values to it (each limit at most the pod's limit, the requests together at most the pod's
/// request, which defaults to its limit): a default could break that, so none is added.
fn pod_bounds(pod: &Pod, name: &str) -> bool {
    let Some(resources) = pod.field(RESOURCES_ID) else {
        return false;
    };
    ["requests", "limits"].into_iter().any(|group| {
        resources
            .get(group)
            .and_then(|values| values.get(name))
            .is_some_and(|value| !value.is_null())
    })
}

fn missing_resources(pod: &Pod, c: &Container) -> Vec<(&'static str, &'static str)> {
    if c.ephemeral {
        return Vec::new();
    }
    SLOTS
        .into_iter()
        .filter(|(group, name)| resource(c, group, name).is_none() && !pod_bounds(pod, name))
        .collect()
}

/// The hardening gaps of `workload` for the hardening turned on.
pub fn gaps(workload: &Value, hardening: &Hardening) -> Vec<HardeningGap> {
    let Some(pod) = Pod::of(workload) else {
        return Vec::new();
    };
    let windows = pod.targets_windows();
    let mut found = Vec::new();
    for c in pod.containers() {
        if hardening.read_only_root_filesystem && needs_read_only(windows, c) {
            found.push(HardeningGap {
                check: READ_ONLY_ID.to_string(),
                path: c.at(),
                message: format!(
                    "container \"{}\" must set securityContext.readOnlyRootFilesystem=true",
                    c.name
                ),
            });
        }
        let missing = missing_resources(&pod, c);
        if hardening.default_resources && !missing.is_empty() {
            let names: Vec<_> = missing
                .iter()
                .map(|(group, name)| format!("{group}.{name}"))
                .collect();
            found.push(HardeningGap {
                check: RESOURCES_ID.to_string(),
                path: c.at(),
                message: format!(
                    "container \"{}\" must set resources {}",
                    c.name,
                    names.join(", ")
                ),
            });
        }
    }
    found
}

/// The value to set for a missing slot: the default, bounded by the other side when it is
/// written (a request never above the limit, a limit never below the request).
fn bounded(c: &Container, group: &str, name: &str, defaults: &Resources) -> Value {
    let default = match (group, name) {
        ("requests", "cpu") => &defaults.requests.cpu,
        ("requests", _) => &defaults.requests.memory,
        ("limits", "cpu") => &defaults.limits.cpu,
        _ => &defaults.limits.memory,
    };
    let other_group = if group == "requests" {
        "limits"
    } else {
        "requests"
    };
    let other = resource(c, other_group, name).and_then(|value| match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    });
    let (Some(other), Some(wanted)) = (other, quantity::parse(default)) else {
        return Value::String(default.clone());
    };
    match quantity::parse(&other) {
        Some(bound) if group == "requests" && wanted > bound => Value::String(other),
        Some(bound) if group == "limits" && wanted < bound => Value::String(other),
        _ => Value::String(default.clone()),
    }
}

/// The resource values to add to one container, as few `set`s as the gaps allow: the whole
/// `resources` when it is missing, a whole `requests` or `limits` when that is missing, else
/// single values. Returns `(parent pointer, key, value)` triples.
fn resource_sets(pod: &Pod, c: &Container, defaults: &Resources) -> Vec<(String, String, Value)> {
    let missing = missing_resources(pod, c);
    if missing.is_empty() {
        return Vec::new();
    }
    let mut groups = serde_json::Map::new();
    for (group, name) in &missing {
        let value = bounded(c, group, name, defaults);
        let entry = groups
            .entry(group.to_string())
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Value::Object(values) = entry {
            values.insert(name.to_string(), value);
        }
    }
    let resources_at = child(&c.at(), RESOURCES_ID);
    let resources = c.value.get(RESOURCES_ID).filter(|r| r.is_object());
    let Some(resources) = resources else {
        return vec![(c.at(), RESOURCES_ID.to_string(), Value::Object(groups))];
    };
    let mut sets = Vec::new();
    for (group, values) in groups {
        if resources.get(&group).is_some_and(Value::is_object) {
            let group_at = child(&resources_at, &group);
            if let Value::Object(values) = values {
                sets.extend(
                    values
                        .into_iter()
                        .map(|(name, value)| (group_at.clone(), name, value)),
                );
            }
        } else {
            sets.push((resources_at.clone(), group, values));
        }
    }
    sets
}

/// Fills the gaps the policy's hardening asks for.
pub fn remedy(fix: &mut Fixer) {
    let hardening = &fix.policy().hardening;
    let windows = fix.targets_windows();
    let Some(pod) = fix.pod() else { return };
    let mut read_only = Vec::new();
    let mut resources = Vec::new();
    for c in pod.containers() {
        if hardening.read_only_root_filesystem && needs_read_only(windows, c) {
            read_only.push((c.name.to_string(), c.security_context_at()));
        }
        if hardening.default_resources {
            for (parent, key, value) in resource_sets(&pod, c, &hardening.resources) {
                resources.push((c.name.to_string(), parent, key, value));
            }
        }
    }
    let read_only_remedy = crate::pss::catalog::remedy(CONTROL, "read-only-root-filesystem");
    for (name, at) in read_only {
        fix.set(
            READ_ONLY_ID,
            read_only_remedy,
            &at,
            READ_ONLY_ID,
            Value::Bool(true),
            Some(&name),
        );
    }
    let resources_remedy = crate::pss::catalog::remedy(CONTROL, "default-resources");
    for (name, parent, key, value) in resources {
        fix.set(
            RESOURCES_ID,
            resources_remedy,
            &parent,
            &key,
            value,
            Some(&name),
        );
    }
}
