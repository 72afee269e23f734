//! `allowPrivilegeEscalation` (restricted, v1.8+; Windows pods exempt from v1.25): every
//! container must set `securityContext.allowPrivilegeEscalation: false`.
//! Remedy: set it to false per container (it has no pod-level field), unless the container
//! stays privileged or keeps adding CAP_SYS_ADMIN, which the API server rejects together with
//! it. The privileged remedy has run by then (baseline checks come first); the capabilities
//! remedy has not, so it is asked whether it will remove CAP_SYS_ADMIN.

use super::fixer::Fixer;
use super::message::containers_phrase;
use super::pod::{child, Container, Pod};
use super::{Finding, Version};
use serde_json::Value;

pub const ID: &str = "allowPrivilegeEscalation";

/// A container that does not set it to false.
struct Offender {
    name: String,
    /// The offending field, or its missing parent.
    path: String,
    context_at: String,
    privileged: bool,
    adds_sys_admin: bool,
}

fn offenders(pod: &Pod, version: Version) -> Vec<Offender> {
    if version.at_least(25) && pod.is_windows() {
        return Vec::new();
    }
    pod.containers()
        .iter()
        .filter_map(|c| {
            let value = c.context_field(ID);
            if value.and_then(Value::as_bool) == Some(false) {
                return None;
            }
            let path = match (c.security_context(), value) {
                (None, _) => c.at(),
                (Some(_), None) => c.security_context_at(),
                (Some(_), Some(_)) => child(&c.security_context_at(), ID),
            };
            Some(Offender {
                name: c.name.to_string(),
                path,
                context_at: c.security_context_at(),
                privileged: c.context_field("privileged").and_then(Value::as_bool) == Some(true),
                adds_sys_admin: adds_sys_admin(c),
            })
        })
        .collect()
}

/// CAP_SYS_ADMIN as the API server spells it in this rule (`SYS_ADMIN` does not count).
fn adds_sys_admin(c: &Container) -> bool {
    c.context_field("capabilities")
        .and_then(|caps| caps.get("add"))
        .and_then(Value::as_array)
        .is_some_and(|add| add.iter().any(|cap| cap == "CAP_SYS_ADMIN"))
}

pub fn check(pod: &Pod, version: Version) -> Option<Finding> {
    let bad = offenders(pod, version);
    if bad.is_empty() {
        return None;
    }
    let names: Vec<_> = bad.iter().map(|o| o.name.as_str()).collect();
    Some(Finding::new(
        "allowPrivilegeEscalation != false",
        format!(
            "{} must set securityContext.allowPrivilegeEscalation=false",
            containers_phrase(&names)
        ),
        bad.into_iter().map(|o| o.path).collect(),
    ))
}

pub fn remedy(fix: &mut Fixer) {
    let remedy = super::catalog::remedy(ID, "set-false");
    let version = fix.policy().version;
    let Some(targets) = fix.pod().map(|pod| offenders(&pod, version)) else {
        return;
    };
    for target in targets {
        let conflict = if target.privileged {
            Some("allowPrivilegeEscalation=false is invalid while privileged=true stays")
        } else if target.adds_sys_admin
            && !super::capabilities::removes_adds_later(fix, &target.name)
        {
            Some("allowPrivilegeEscalation=false is invalid while CAP_SYS_ADMIN is added")
        } else {
            None
        };
        match conflict {
            Some(reason) => fix.refuse(ID, &target.path, reason),
            None => {
                let name = Some(target.name.as_str());
                fix.set(ID, remedy, &target.context_at, ID, Value::Bool(false), name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testing::*;
    use crate::pss::Level::Restricted;
    use serde_json::json;

    #[test]
    fn required_from_v1_8() {
        let pod = restricted_pod(json!({"allowPrivilegeEscalation": true}), json!({}));
        assert!(!ids(&pod, Restricted, "v1.7").contains(&super::ID.to_string()));
        assert_eq!(
            message(&pod, Restricted, "v1.8", super::ID),
            "allowPrivilegeEscalation != false (container \"app\" must set securityContext.allowPrivilegeEscalation=false)"
        );
    }

    #[test]
    fn windows_pods_are_exempt_from_v1_25() {
        let pod = pod(json!({"os": {"name": "windows"}, "containers": [{"name": "w"}]}));
        assert!(ids(&pod, Restricted, "v1.24").contains(&super::ID.to_string()));
        assert!(!ids(&pod, Restricted, "v1.25").contains(&super::ID.to_string()));
    }

    #[test]
    fn remedy_sets_false_unless_privileged_stays() {
        let pod = restricted_pod(json!({"allowPrivilegeEscalation": true}), json!({}));
        let (plan, _) = fix(&pod, Restricted, "latest");
        assert_eq!(
            ops(&plan),
            ["replace /spec/containers/0/securityContext/allowPrivilegeEscalation"]
        );
        let privileged = restricted_pod(
            json!({"allowPrivilegeEscalation": null, "privileged": true}),
            json!({}),
        );
        let mut policy = policy(Restricted, "latest");
        policy.exemptions.controls.insert("privileged".into());
        let (plan, _) = fix_with(&privileged, &policy);
        assert!(plan
            .unfixable
            .iter()
            .any(|u| u.check == super::ID && u.reason.contains("privileged=true")));
    }

    /// Before, CAP_SYS_ADMIN kept allowPrivilegeEscalation unset although the capabilities
    /// remedy removed it right after: reported unfixable, and set by a second run.
    #[test]
    fn sys_admin_blocks_the_remedy_only_while_it_stays() {
        let pod = restricted_pod(
            json!({"allowPrivilegeEscalation": null, "capabilities": {"add": ["CAP_SYS_ADMIN"]}}),
            json!({}),
        );
        for at in ["latest", "v1.21"] {
            let (plan, patched) = fix(&pod, Restricted, at);
            assert!(plan.unfixable.is_empty(), "{at}: {:?}", plan.unfixable);
            let (again, _) = fix(&patched, Restricted, at);
            assert!(again.patch.0.is_empty(), "{at}: not idempotent");
        }
        let mut exempt = policy(Restricted, "latest");
        exempt
            .exemptions
            .containers
            .push(("app".into(), ["capabilities_restricted".to_string()].into()));
        let mut safe_only = policy(Restricted, "latest");
        safe_only.safe_only = true;
        for policy in [exempt, safe_only] {
            let (plan, patched) = fix_with(&pod, &policy);
            let context = &patched["spec"]["containers"][0]["securityContext"];
            assert_eq!(context["capabilities"]["add"], json!(["CAP_SYS_ADMIN"]));
            assert_eq!(context["allowPrivilegeEscalation"], json!(null));
            assert!(plan
                .unfixable
                .iter()
                .any(|u| u.check == super::ID && u.reason.contains("CAP_SYS_ADMIN")));
        }
    }
}
