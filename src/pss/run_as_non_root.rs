//! `runAsNonRoot` (restricted; pods with `hostUsers: false` exempt from v1.35):
//! `runAsNonRoot: true` at pod level or on every container, and never false.
//! Remedy: true where it is false, then one pod-level `runAsNonRoot: true` covering every
//! container that sets none. Together with it, a non-zero `runAsUser` (the policy's UID,
//! 65532 by default) where no container would otherwise have one: `runAsNonRoot` alone makes
//! an image whose user is root fail to start. Windows pods get no `runAsUser` (Linux-only),
//! nor do pods that select Windows nodes without saying so in `spec.os.name`. A Windows
//! `runAsUserName: ContainerAdministrator` becomes `ContainerUser`: with `runAsNonRoot: true`
//! the kubelet would never start it.

use super::fixer::Fixer;
use super::message::{containers_phrase, setters_phrase};
use super::pod::{child, Pod};
use super::{Finding, Version};
use serde_json::{Map, Value};

pub const ID: &str = "runAsNonRoot";

fn value(context: Option<&Map<String, Value>>, key: &str) -> Option<Value> {
    context
        .and_then(|c| c.get(key))
        .filter(|v| !v.is_null())
        .cloned()
}

/// What the check sees: explicit falses (None: the pod), and containers relying on a pod
/// level that is not true.
struct Findings {
    explicit: Vec<(Option<String>, String)>,
    implicit: Vec<(String, String)>,
}

fn inspect(pod: &Pod, version: Version) -> Findings {
    let mut findings = Findings {
        explicit: Vec::new(),
        implicit: Vec::new(),
    };
    if version.at_least(35) && pod.in_user_namespace() {
        return findings;
    }
    let pod_value = value(pod.security_context(), ID).and_then(|v| v.as_bool());
    if pod_value == Some(false) {
        findings.explicit.push((None, pod.security_context_at()));
    }
    for c in pod.containers() {
        match value(c.security_context(), ID).and_then(|v| v.as_bool()) {
            Some(false) => findings
                .explicit
                .push((Some(c.name.to_string()), c.security_context_at())),
            None if pod_value != Some(true) => {
                let at = if c.security_context().is_some() {
                    c.security_context_at()
                } else {
                    c.at()
                };
                findings.implicit.push((c.name.to_string(), at));
            }
            _ => {}
        }
    }
    findings
}

pub fn check(pod: &Pod, version: Version) -> Option<Finding> {
    let findings = inspect(pod, version);
    if !findings.explicit.is_empty() {
        let setters = setters_phrase(findings.explicit.iter().map(|(name, _)| name.as_deref()));
        return Some(Finding::new(
            "runAsNonRoot != true",
            format!(
                "{} must not set securityContext.runAsNonRoot=false",
                setters
            ),
            findings
                .explicit
                .iter()
                .map(|(_, at)| child(at, ID))
                .collect(),
        ));
    }
    if findings.implicit.is_empty() {
        return None;
    }
    let names: Vec<_> = findings
        .implicit
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    Some(Finding::new(
        "runAsNonRoot != true",
        format!(
            "pod or {} must set securityContext.runAsNonRoot=true",
            containers_phrase(&names)
        ),
        findings.implicit.into_iter().map(|(_, at)| at).collect(),
    ))
}

pub fn remedy(fix: &mut Fixer) {
    let set_true = super::catalog::remedy(ID, "set-true");
    let version = fix.policy().version;
    let Some((pod_at, findings)) = fix
        .pod()
        .map(|pod| (pod.security_context_at(), inspect(&pod, version)))
    else {
        return;
    };
    for (name, at) in findings.explicit {
        fix.set(ID, set_true, &at, ID, Value::Bool(true), name.as_deref());
    }
    // Containers that still rely on the pod level (which may have just become true).
    let implicit: Vec<(String, String)> = fix
        .pod()
        .map(|pod| {
            let pod_true =
                value(pod.security_context(), ID).and_then(|v| v.as_bool()) == Some(true);
            pod.containers()
                .iter()
                .filter(|c| !pod_true && value(c.security_context(), ID).is_none())
                .map(|c| (c.name.to_string(), c.security_context_at()))
                .collect()
        })
        .unwrap_or_default();
    if !implicit.is_empty() {
        if fix.any_exempt(ID, implicit.iter().map(|(name, _)| name.as_str())) {
            for (name, at) in &implicit {
                fix.set(ID, set_true, at, ID, Value::Bool(true), Some(name));
            }
        } else {
            fix.set(ID, set_true, &pod_at, ID, Value::Bool(true), None);
        }
    }
    set_user(fix);
    set_windows_user(fix);
}

/// The Windows user the kubelet refuses to start with `runAsNonRoot: true` (compared without
/// case), and the unprivileged user every Windows base image has.
const WINDOWS_ADMIN: &str = "ContainerAdministrator";
const WINDOWS_USER: &str = "ContainerUser";

/// The `runAsUserName` in `context`'s windowsOptions.
fn windows_user(context: Option<&Map<String, Value>>) -> Option<&str> {
    context?
        .get("windowsOptions")?
        .get("runAsUserName")?
        .as_str()
}

/// Turns every effective `ContainerAdministrator` into `ContainerUser`: where a container names
/// it, and at pod level when a container without a user of its own inherits it.
fn set_windows_user(fix: &mut Fixer) {
    let Some(pod) = fix.pod() else { return };
    let is_admin = |user: Option<&str>| user.is_some_and(|u| u.eq_ignore_ascii_case(WINDOWS_ADMIN));
    let mut targets = Vec::new();
    let mut inherited = false;
    for c in pod.containers() {
        match windows_user(c.security_context()) {
            Some(user) if is_admin(Some(user)) => targets.push((
                Some(c.name.to_string()),
                c.at_with("/securityContext/windowsOptions"),
            )),
            Some(_) => {}
            None => inherited = true,
        }
    }
    if inherited && is_admin(windows_user(pod.security_context())) {
        targets.push((None, child(&pod.security_context_at(), "windowsOptions")));
    }
    let remedy = super::catalog::remedy(ID, "windows-user");
    for (name, options_at) in targets {
        let user = Value::String(WINDOWS_USER.to_string());
        fix.set(
            ID,
            remedy,
            &options_at,
            "runAsUserName",
            user,
            name.as_deref(),
        );
    }
}

/// Gives every container a non-zero UID: replaces a 0 where one is written, then sets one
/// pod-level `runAsUser` for the containers that have none.
fn set_user(fix: &mut Fixer) {
    let remedy = super::catalog::remedy(ID, "set-user");
    let uid = Value::from(fix.policy().run_as_user);
    let pod_is_root = |fix: &Fixer| {
        fix.pod().is_some_and(|pod| {
            value(pod.security_context(), "runAsUser").and_then(|v| v.as_i64()) == Some(0)
        })
    };
    // A pod-level 0 that the runAsUser control replaces anyway (from v1.23, unless exempted)
    // gives every container without a UID of its own a non-zero one: let that control replace
    // it first, rather than set the UID again on those containers.
    if pod_is_root(fix) && !fix.exemptions().exempts(super::run_as_user::ID) {
        super::run_as_user::remedy(fix);
    }
    if fix.targets_windows() {
        return;
    }
    let Some(pod) = fix.pod() else {
        return;
    };
    let pod_at = pod.security_context_at();
    let pod_uid = value(pod.security_context(), "runAsUser").and_then(|v| v.as_i64());
    let mut zero_containers = Vec::new();
    let mut unset = Vec::new();
    for c in pod.containers() {
        match value(c.security_context(), "runAsUser").and_then(|v| v.as_i64()) {
            Some(0) => zero_containers.push((c.name.to_string(), c.security_context_at())),
            Some(_) => {}
            None => unset.push((c.name.to_string(), c.security_context_at())),
        }
    }
    let covers_unset = pod_uid.is_some_and(|uid| uid != 0);
    for (name, at) in zero_containers {
        fix.set(ID, remedy, &at, "runAsUser", uid.clone(), Some(&name));
    }
    if unset.is_empty() || covers_unset {
        return;
    }
    if fix.any_exempt(ID, unset.iter().map(|(name, _)| name.as_str())) {
        for (name, at) in unset {
            fix.set(ID, remedy, &at, "runAsUser", uid.clone(), Some(&name));
        }
    } else {
        fix.set(ID, remedy, &pod_at, "runAsUser", uid, None);
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testing::*;
    use crate::pss::Level::Restricted;
    use serde_json::json;

    #[test]
    fn pod_level_true_with_a_uid_covers_every_container() {
        let pod = restricted_pod(
            json!({}),
            json!({"securityContext": {"runAsNonRoot": null}}),
        );
        assert_eq!(
            message(&pod, Restricted, "latest", super::ID),
            "runAsNonRoot != true (pod or container \"app\" must set securityContext.runAsNonRoot=true)"
        );
        let (plan, patched) = fix(&pod, Restricted, "latest");
        assert_eq!(
            ops(&plan),
            [
                "replace /spec/securityContext/runAsNonRoot",
                "add /spec/securityContext/runAsUser"
            ]
        );
        assert_eq!(patched["spec"]["securityContext"]["runAsUser"], 65532);
    }

    #[test]
    fn an_existing_non_zero_uid_is_kept_and_explicit_false_is_named() {
        let pod = restricted_pod(json!({"runAsNonRoot": false, "runAsUser": 1000}), json!({}));
        assert_eq!(
            message(&pod, Restricted, "latest", super::ID),
            "runAsNonRoot != true (container \"app\" must not set securityContext.runAsNonRoot=false)"
        );
        let (plan, _) = fix(&pod, Restricted, "latest");
        assert_eq!(
            ops(&plan),
            ["replace /spec/containers/0/securityContext/runAsNonRoot"]
        );
    }

    #[test]
    fn user_namespaces_are_exempt_from_v1_35_and_windows_gets_no_uid() {
        let pod = restricted_pod(
            json!({}),
            json!({"hostUsers": false, "securityContext": {"runAsNonRoot": null}}),
        );
        assert_eq!(ids(&pod, Restricted, "v1.34"), ["runAsNonRoot"]);
        assert!(ids(&pod, Restricted, "v1.35").is_empty());
        let windows = pod_with(json!({}));
        let mut windows = windows;
        windows["spec"]["os"] = json!({"name": "windows"});
        let (plan, patched) = fix(&windows, Restricted, "latest");
        assert_eq!(
            patched["spec"]["securityContext"],
            json!({"runAsNonRoot": true})
        );
        assert!(plan.unfixable.is_empty());
    }

    #[test]
    fn a_windows_administrator_becomes_container_user() {
        let pod = pod(json!({"os": {"name": "windows"},
            "securityContext": {"windowsOptions": {"runAsUserName": "containeradministrator"}},
            "containers": [{"name": "iis", "image": "x"}, {"name": "log", "image": "x",
                "securityContext": {"windowsOptions": {"runAsUserName": "ContainerAdministrator"}}}]}));
        let (plan, patched) = fix(&pod, Restricted, "latest");
        assert_eq!(
            ops(&plan),
            [
                "replace /spec/containers/1/securityContext/windowsOptions/runAsUserName",
                "add /spec/securityContext/runAsNonRoot",
                "replace /spec/securityContext/windowsOptions/runAsUserName"
            ]
        );
        assert_eq!(
            patched["spec"]["securityContext"]["windowsOptions"]["runAsUserName"],
            "ContainerUser"
        );
        assert!(plan
            .changes
            .iter()
            .all(|c| c.safety == crate::policy::Safety::ChangesBehaviour));
    }

    #[test]
    fn pods_that_select_windows_nodes_get_no_uid() {
        let mut selected = pod_with(json!({}));
        selected["spec"]["nodeSelector"] = json!({"kubernetes.io/os": "windows"});
        let (_, patched) = fix(&selected, Restricted, "latest");
        assert_eq!(patched["spec"]["securityContext"].get("runAsUser"), None);
        let mut affinity = pod_with(json!({}));
        affinity["spec"]["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [
                {"key": "beta.kubernetes.io/os", "operator": "In", "values": ["windows"]}]}]}}});
        let (plan, _) = fix(&affinity, Restricted, "latest");
        assert!(plan.notes[0].message.contains("set spec.os.name: windows"));
        affinity["spec"]["affinity"]["nodeAffinity"]
            ["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
            ["matchExpressions"][0]["values"] = json!(["windows", "linux"]);
        let (plan, patched) = fix(&affinity, Restricted, "latest");
        assert!(plan.notes.is_empty());
        assert_eq!(patched["spec"]["securityContext"]["runAsUser"], 65532);
    }

    #[test]
    fn the_uid_is_configurable() {
        let pod = pod_with(json!({}));
        let mut policy = policy(Restricted, "latest");
        policy.run_as_user = 1001;
        let (_, patched) = fix_with(&pod, &policy);
        assert_eq!(patched["spec"]["securityContext"]["runAsUser"], 1001);
    }
}
