//! Capabilities. `capabilities_baseline` (baseline): `capabilities.add` only from the
//! runtime's default set. `capabilities_restricted` (restricted, v1.22+, replacing the
//! baseline check; Windows pods exempt from v1.25): `drop` must contain `ALL` and `add` may
//! only contain `NET_BIND_SERVICE`. Names are compared exactly, as upstream does.
//! Remedies: remove the disallowed `add` entries (the whole `add` when none stays); add `ALL`
//! to `drop`, keeping existing drops, or where `drop` spells it in another case (`all`, which
//! the runtime reads as ALL but PSA does not) replace that item.

use super::fixer::Fixer;
use super::message::{containers_phrase, join_quote, sorted_set};
use super::pod::{item, Container, Pod};
use super::{Finding, Version};
use serde_json::Value;

pub const BASELINE_ID: &str = "capabilities_baseline";
pub const RESTRICTED_ID: &str = "capabilities_restricted";
const CONTROL: &str = "capabilities";

const BASELINE_ALLOWED: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];
const RESTRICTED_ALLOWED: [&str; 1] = ["NET_BIND_SERVICE"];

const CAPABILITIES_AT: &str = "/securityContext/capabilities";
const ADD_AT: &str = "/securityContext/capabilities/add";
const DROP_AT: &str = "/securityContext/capabilities/drop";

/// The entries of `capabilities.<key>` (non-strings read as "").
fn entries<'a>(c: &Container<'a>, key: &str) -> impl Iterator<Item = &'a str> {
    c.context_field("capabilities")
        .and_then(|caps| caps.get(key))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|item| item.as_str().unwrap_or_default())
}

/// Per container: (container, indices and names of the disallowed `add` entries).
fn disallowed_adds<'a>(
    pod: &Pod<'a>,
    allowed: &[&str],
) -> Vec<(Container<'a>, Vec<(usize, &'a str)>)> {
    pod.containers()
        .iter()
        .filter_map(|c| {
            let extra: Vec<_> = entries(c, "add")
                .enumerate()
                .filter(|(_, cap)| !allowed.contains(cap))
                .collect();
            (!extra.is_empty()).then(|| (c.clone(), extra))
        })
        .collect()
}

fn add_paths(bad: &[(Container, Vec<(usize, &str)>)]) -> Vec<String> {
    bad.iter()
        .flat_map(|(c, extra)| {
            let at = c.at_with(ADD_AT);
            extra.iter().map(move |(index, _)| item(&at, *index))
        })
        .collect()
}

fn add_detail(bad: &[(Container, Vec<(usize, &str)>)]) -> String {
    let names: Vec<_> = bad.iter().map(|(c, _)| c.name).collect();
    let caps = sorted_set(
        bad.iter()
            .flat_map(|(_, extra)| extra.iter().map(|(_, cap)| cap.to_string()))
            .collect(),
    );
    format!(
        "{} must not include {} in securityContext.capabilities.add",
        containers_phrase(&names),
        join_quote(&caps)
    )
}

pub fn check_baseline(pod: &Pod, _version: Version) -> Option<Finding> {
    let bad = disallowed_adds(pod, &BASELINE_ALLOWED);
    if bad.is_empty() {
        return None;
    }
    Some(Finding::new(
        "non-default capabilities",
        add_detail(&bad),
        add_paths(&bad),
    ))
}

fn restricted_applies(pod: &Pod, version: Version) -> bool {
    !(version.at_least(25) && pod.is_windows())
}

/// Containers whose `drop` lacks `ALL`, with the pointer of the field (or missing parent).
fn missing_drop_all<'a>(pod: &Pod<'a>) -> Vec<(Container<'a>, String)> {
    pod.containers()
        .iter()
        .filter_map(|c| {
            if entries(c, "drop").any(|cap| cap == "ALL") {
                return None;
            }
            let capabilities = c.context_field("capabilities");
            let path = if c.security_context().is_none() {
                c.at()
            } else if capabilities.is_none() {
                c.security_context_at()
            } else if capabilities.and_then(|caps| caps.get("drop")).is_none() {
                c.at_with(CAPABILITIES_AT)
            } else {
                c.at_with(DROP_AT)
            };
            Some((c.clone(), path))
        })
        .collect()
}

pub fn check_restricted(pod: &Pod, version: Version) -> Option<Finding> {
    if !restricted_applies(pod, version) {
        return None;
    }
    let missing = missing_drop_all(pod);
    let adding = disallowed_adds(pod, &RESTRICTED_ALLOWED);
    if missing.is_empty() && adding.is_empty() {
        return None;
    }
    let mut details = Vec::new();
    if !missing.is_empty() {
        let names: Vec<_> = missing.iter().map(|(c, _)| c.name).collect();
        details.push(format!(
            "{} must set securityContext.capabilities.drop=[\"ALL\"]",
            containers_phrase(&names)
        ));
    }
    if !adding.is_empty() {
        details.push(add_detail(&adding));
    }
    let mut paths: Vec<_> = missing.iter().map(|(_, path)| path.clone()).collect();
    paths.extend(add_paths(&adding));
    Some(Finding::new(
        "unrestricted capabilities",
        details.join("; "),
        paths,
    ))
}

/// Removes the disallowed `add` entries: the whole `add` when none stays, else each entry,
/// highest index first so the others keep their place.
fn remove_adds(fix: &mut Fixer, check: &str, allowed: &[&str]) {
    let remedy = super::catalog::remedy(CONTROL, "remove-added");
    let Some(targets) = fix.pod().map(|pod| {
        disallowed_adds(&pod, allowed)
            .into_iter()
            .map(|(c, extra)| {
                let keeps_some = entries(&c, "add").count() > extra.len();
                let indices: Vec<_> = extra.into_iter().map(|(index, _)| index).collect();
                (c.name.to_string(), c.at_with(ADD_AT), keeps_some, indices)
            })
            .collect::<Vec<_>>()
    }) else {
        return;
    };
    for (name, add_at, keeps_some, indices) in targets {
        if keeps_some {
            for index in indices.into_iter().rev() {
                fix.remove(check, remedy, &item(&add_at, index), Some(&name));
            }
        } else {
            fix.remove(check, remedy, &add_at, Some(&name));
        }
    }
}

/// Whether `capabilities_restricted`'s remedy will remove what `container` adds beyond
/// `NET_BIND_SERVICE`: it is in force, and neither exempted nor withheld. It runs after
/// remedies of checks sorted before it (allowPrivilegeEscalation), which may depend on it.
pub fn removes_adds_later(fix: &Fixer, container: &str) -> bool {
    let policy = fix.policy();
    let in_force = super::controls_for(policy.level, policy.version)
        .iter()
        .any(|control| control.id == RESTRICTED_ID);
    let remedy = super::catalog::remedy(CONTROL, "remove-added");
    in_force
        && fix
            .withheld(RESTRICTED_ID, remedy, Some(container))
            .is_none()
}

pub fn remedy_baseline(fix: &mut Fixer) {
    remove_adds(fix, BASELINE_ID, &BASELINE_ALLOWED);
}

pub fn remedy_restricted(fix: &mut Fixer) {
    remove_adds(fix, RESTRICTED_ID, &RESTRICTED_ALLOWED);
    let remedy = super::catalog::remedy(CONTROL, "drop-all");
    let version = fix.policy().version;
    let Some(targets) = fix
        .pod()
        .filter(|pod| restricted_applies(pod, version))
        .map(|pod| {
            missing_drop_all(&pod)
                .into_iter()
                .map(|(c, _)| {
                    let other_case =
                        entries(&c, "drop").position(|cap| cap.eq_ignore_ascii_case("ALL"));
                    (c.name.to_string(), c.at_with(DROP_AT), other_case)
                })
                .collect::<Vec<_>>()
        })
    else {
        return;
    };
    let spell = super::catalog::remedy(CONTROL, "spell-all");
    let all = Value::String("ALL".to_string());
    for (name, drop_at, other_case) in targets {
        match other_case {
            // `all` already drops everything; PSA wants the exact string.
            Some(index) => fix.replace(
                RESTRICTED_ID,
                spell,
                &item(&drop_at, index),
                all.clone(),
                Some(&name),
            ),
            None => fix.append(RESTRICTED_ID, remedy, &drop_at, all.clone(), Some(&name)),
        };
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testing::*;
    use crate::pss::Level::{Baseline, Restricted};
    use serde_json::json;

    #[test]
    fn a_drop_of_all_in_another_case_is_respelled_in_place() {
        let pod = restricted_pod(
            json!({"capabilities": {"drop": ["NET_RAW", "all"]}}),
            json!({}),
        );
        assert_eq!(ids(&pod, Restricted, "latest"), [super::RESTRICTED_ID]);
        let (plan, patched) = fix(&pod, Restricted, "latest");
        assert_eq!(
            ops(&plan),
            ["replace /spec/containers/0/securityContext/capabilities/drop/1"]
        );
        assert_eq!(
            patched["spec"]["containers"][0]["securityContext"]["capabilities"]["drop"],
            json!(["NET_RAW", "ALL"])
        );
        assert_eq!(plan.changes[0].safety, crate::policy::Safety::Safe);
    }

    #[test]
    fn baseline_allows_the_default_set_only() {
        let pod = pod_with(json!({"capabilities": {"add": ["CHOWN", "SYS_ADMIN", "NET_ADMIN"]}}));
        assert_eq!(
            message(&pod, Baseline, "latest", super::BASELINE_ID),
            "non-default capabilities (container \"app\" must not include \"NET_ADMIN\", \"SYS_ADMIN\" in securityContext.capabilities.add)"
        );
        let (plan, patched) = fix(&pod, Baseline, "latest");
        assert_eq!(
            ops(&plan),
            [
                "remove /spec/containers/0/securityContext/capabilities/add/2",
                "remove /spec/containers/0/securityContext/capabilities/add/1"
            ]
        );
        assert_eq!(
            patched["spec"]["containers"][0]["securityContext"]["capabilities"]["add"],
            json!(["CHOWN"])
        );
    }

    #[test]
    fn restricted_replaces_baseline_from_v1_22() {
        let pod = restricted_pod(
            json!({"capabilities": {"add": ["SYS_ADMIN"], "drop": ["ALL"]}}),
            json!({}),
        );
        assert_eq!(ids(&pod, Restricted, "v1.21"), ["capabilities_baseline"]);
        assert_eq!(ids(&pod, Restricted, "v1.22"), ["capabilities_restricted"]);
    }

    #[test]
    fn drop_all_merges_and_keeps_net_bind_service() {
        let pod = restricted_pod(
            json!({"capabilities": {"add": ["NET_BIND_SERVICE", "NET_RAW"], "drop": ["NET_ADMIN"]}}),
            json!({}),
        );
        assert_eq!(
            message(&pod, Restricted, "latest", super::RESTRICTED_ID),
            "unrestricted capabilities (container \"app\" must set securityContext.capabilities.drop=[\"ALL\"]; \
             container \"app\" must not include \"NET_RAW\" in securityContext.capabilities.add)"
        );
        let (_, patched) = fix(&pod, Restricted, "latest");
        assert_eq!(
            patched["spec"]["containers"][0]["securityContext"]["capabilities"],
            json!({"add": ["NET_BIND_SERVICE"], "drop": ["NET_ADMIN", "ALL"]})
        );
    }

    #[test]
    fn a_whole_disallowed_add_goes_in_one_op() {
        let pod = restricted_pod(
            json!({"capabilities": {"add": ["SYS_ADMIN", "NET_RAW"], "drop": ["ALL"]}}),
            json!({}),
        );
        let (plan, _) = fix(&pod, Restricted, "latest");
        assert_eq!(
            ops(&plan),
            ["remove /spec/containers/0/securityContext/capabilities/add"]
        );
    }
}
