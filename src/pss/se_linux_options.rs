//! `seLinuxOptions` (baseline): `seLinuxOptions.type` (pod and containers) must be empty,
//! `container_t`, `container_init_t` or `container_kvm_t` (and `container_engine_t` from
//! v1.31); `user` and `role` must be unset or empty.
//! Remedy: remove the disallowed keys (the whole `seLinuxOptions` when nothing else stays).

use super::fixer::Fixer;
use super::message::{join_quote, pluralize, setters_phrase, sorted_set};
use super::pod::{child, set, Pod};
use super::{Finding, Version};
use serde_json::{Map, Value};

pub const ID: &str = "seLinuxOptions";

fn allowed_types(version: Version) -> &'static [&'static str] {
    const V1_0: [&str; 4] = ["", "container_t", "container_init_t", "container_kvm_t"];
    const V1_31: [&str; 5] = [
        "",
        "container_t",
        "container_init_t",
        "container_kvm_t",
        "container_engine_t",
    ];
    if version.at_least(31) {
        &V1_31
    } else {
        &V1_0
    }
}

/// A bad `seLinuxOptions`: owner (None: the pod), its pointer and its disallowed keys.
struct Offender {
    container: Option<String>,
    at: String,
    bad_keys: Vec<&'static str>,
    bad_type: Option<String>,
    removes_all: bool,
}

fn inspect(
    container: Option<&str>,
    context: Option<&Map<String, Value>>,
    context_at: String,
    version: Version,
) -> Option<Offender> {
    let options = set(context?.get(ID))?.as_object()?;
    let text = |key: &str| options.get(key).and_then(Value::as_str).unwrap_or_default();
    let mut bad_keys = Vec::new();
    let mut bad_type = None;
    if !allowed_types(version).contains(&text("type")) {
        bad_keys.push("type");
        bad_type = Some(text("type").to_string());
    }
    for key in ["user", "role"] {
        if !text(key).is_empty() {
            bad_keys.push(key);
        }
    }
    if bad_keys.is_empty() {
        return None;
    }
    Some(Offender {
        container: container.map(str::to_string),
        at: child(&context_at, ID),
        removes_all: options.keys().all(|key| bad_keys.contains(&key.as_str())),
        bad_keys,
        bad_type,
    })
}

fn offenders(pod: &Pod, version: Version) -> Vec<Offender> {
    let mut found: Vec<_> = inspect(
        None,
        pod.security_context(),
        pod.security_context_at(),
        version,
    )
    .into_iter()
    .collect();
    for c in pod.containers() {
        found.extend(inspect(
            Some(c.name),
            c.security_context(),
            c.security_context_at(),
            version,
        ));
    }
    found
}

pub fn check(pod: &Pod, version: Version) -> Option<Finding> {
    let bad = offenders(pod, version);
    if bad.is_empty() {
        return None;
    }
    let setters = setters_phrase(bad.iter().map(|o| o.container.as_deref()));
    let types = sorted_set(bad.iter().filter_map(|o| o.bad_type.clone()).collect());
    let mut problems = Vec::new();
    if !types.is_empty() {
        problems.push(format!(
            "{} {}",
            pluralize("type", "types", types.len()),
            join_quote(&types)
        ));
    }
    for key in ["user", "role"] {
        if bad.iter().any(|o| o.bad_keys.contains(&key)) {
            problems.push(format!("{key} may not be set"));
        }
    }
    Some(Finding::new(
        "seLinuxOptions",
        format!(
            "{} set forbidden securityContext.seLinuxOptions: {}",
            setters,
            problems.join("; ")
        ),
        bad.iter()
            .flat_map(|o| o.bad_keys.iter().map(|key| child(&o.at, key)))
            .collect(),
    ))
}

pub fn remedy(fix: &mut Fixer) {
    let remedy = super::catalog::remedy(ID, "remove");
    let version = fix.policy().version;
    let bad = fix
        .pod()
        .map(|pod| offenders(&pod, version))
        .unwrap_or_default();
    for offender in bad {
        let container = offender.container.as_deref();
        if offender.removes_all {
            fix.remove(ID, remedy, &offender.at, container);
        } else {
            for key in offender.bad_keys {
                fix.remove(ID, remedy, &child(&offender.at, key), container);
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
    fn container_engine_t_is_allowed_from_v1_31() {
        let pod = pod_with(json!({"seLinuxOptions": {"type": "container_engine_t"}}));
        assert_eq!(ids(&pod, Baseline, "v1.30"), ["seLinuxOptions"]);
        assert!(ids(&pod, Baseline, "v1.31").is_empty());
    }

    #[test]
    fn disallowed_keys_are_removed_and_others_kept() {
        let mut spec =
            pod_with(json!({"seLinuxOptions": {"type": "spc_t", "user": "u", "level": "s0"}}));
        spec["spec"]["securityContext"] = json!({"seLinuxOptions": {"role": "r"}});
        assert_eq!(
            message(&spec, Baseline, "latest", super::ID),
            "seLinuxOptions (pod and container \"app\" set forbidden securityContext.seLinuxOptions: \
             type \"spc_t\"; user may not be set; role may not be set)"
        );
        let (plan, patched) = fix(&spec, Baseline, "latest");
        assert_eq!(
            ops(&plan),
            [
                "remove /spec/containers/0/securityContext/seLinuxOptions/type",
                "remove /spec/containers/0/securityContext/seLinuxOptions/user",
                "remove /spec/securityContext/seLinuxOptions"
            ]
        );
        assert_eq!(
            patched["spec"]["containers"][0]["securityContext"]["seLinuxOptions"],
            json!({"level": "s0"})
        );
    }
}
