//! `hostPorts` (baseline): containers must not set a non-zero `hostPort`. In a hostNetwork
//! pod the API server defaults `hostPort` to `containerPort` (`defaultHostNetworkPorts`, for
//! init and regular containers) before PSA sees it, so those ports count too. A template is
//! not defaulted, but every Pod a controller creates from it is, and PSA enforces on that Pod:
//! the check reports what the Pod will carry. Remedy: remove the `hostPort` fields; unfixable
//! while hostNetwork stays (its pods get every hostPort back from defaulting).

use super::fixer::Fixer;
use super::message::{containers_phrase, pluralize, sorted_set};
use super::pod::Pod;
use super::{Finding, Version};
use serde_json::Value;

pub const ID: &str = "hostPorts";

/// A port that uses a host port.
struct Offender {
    container: String,
    /// Pointer of the container (names need not be unique).
    container_at: String,
    port_at: String,
    host_port: i64,
    /// Set by the API server from `containerPort` (hostNetwork Pod), not written.
    defaulted: bool,
}

impl Offender {
    /// Where PSA's finding points: the written `hostPort`, or the port it is defaulted in.
    fn path(&self) -> String {
        if self.defaulted {
            self.port_at.clone()
        } else {
            format!("{}/hostPort", self.port_at)
        }
    }
}

fn offenders(pod: &Pod) -> Vec<Offender> {
    let defaulting = pod.flag("hostNetwork");
    let mut found = Vec::new();
    for c in pod.containers() {
        let Some(ports) = c.value.get("ports").and_then(Value::as_array) else {
            continue;
        };
        for (index, port) in ports.iter().enumerate() {
            let written = port.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
            let (host_port, defaulted) = if written == 0 && defaulting && !c.ephemeral {
                (
                    port.get("containerPort")
                        .and_then(Value::as_i64)
                        .unwrap_or(0),
                    true,
                )
            } else {
                (written, false)
            };
            if host_port != 0 {
                found.push(Offender {
                    container: c.name.to_string(),
                    container_at: c.at(),
                    port_at: format!("{}/ports/{index}", c.at()),
                    host_port,
                    defaulted,
                });
            }
        }
    }
    found
}

pub fn check(pod: &Pod, _version: Version) -> Option<Finding> {
    let bad = offenders(pod);
    if bad.is_empty() {
        return None;
    }
    let mut names: Vec<&str> = Vec::new();
    for (index, offender) in bad.iter().enumerate() {
        if index == 0 || bad[index - 1].container_at != offender.container_at {
            names.push(&offender.container);
        }
    }
    let ports = sorted_set(bad.iter().map(|o| o.host_port.to_string()).collect());
    Some(Finding::new(
        "hostPort",
        format!(
            "{} {} {} {}",
            containers_phrase(&names),
            pluralize("uses", "use", names.len()),
            pluralize("hostPort", "hostPorts", ports.len()),
            ports.join(", ")
        ),
        bad.iter().map(Offender::path).collect(),
    ))
}

pub fn remedy(fix: &mut Fixer) {
    let remedy = super::catalog::remedy(ID, "remove");
    let Some((host_network, bad)) = fix
        .pod()
        .map(|pod| (pod.flag("hostNetwork"), offenders(&pod)))
    else {
        return;
    };
    for offender in bad {
        if host_network {
            // The API server sets hostPort = containerPort in a hostNetwork pod, so no edit
            // of the port can help while hostNetwork stays (exempted or kept by --safe-only).
            fix.refuse(
                ID,
                &offender.path(),
                "hostNetwork stays, and its pods get hostPort = containerPort from the API server",
            );
        } else {
            fix.remove(ID, remedy, &offender.path(), Some(&offender.container));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testing::*;
    use crate::pss::Level::Baseline;
    use serde_json::json;

    #[test]
    fn host_ports_are_removed() {
        let pod = pod(json!({"containers": [
            {"name": "a", "ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81, "hostPort": 0}]},
            {"name": "b", "ports": [{"containerPort": 9, "hostPort": 9090}]}]}));
        assert_eq!(
            message(&pod, Baseline, "latest", super::ID),
            "hostPort (containers \"a\", \"b\" use hostPorts 8080, 9090)"
        );
        let (plan, _) = fix(&pod, Baseline, "latest");
        assert_eq!(
            ops(&plan),
            [
                "remove /spec/containers/0/ports/0/hostPort",
                "remove /spec/containers/1/ports/0/hostPort"
            ]
        );
    }

    #[test]
    fn containers_with_the_same_name_are_each_named() {
        let port = json!([{"containerPort": 1, "hostPort": 2}]);
        let pod = pod(
            json!({"containers": [{"name": "x", "ports": port}, {"name": "x", "ports": port}]}),
        );
        assert_eq!(
            message(&pod, Baseline, "latest", super::ID),
            "hostPort (containers \"x\", \"x\" use hostPort 2)"
        );
    }

    /// flannel's DaemonSet (tests/corpus): its Pods get `hostPort = containerPort` from the
    /// API server, and PSA rejects them for it.
    #[test]
    fn host_network_pods_and_templates_default_host_port_from_container_port() {
        let spec = json!({"hostNetwork": true,
            "initContainers": [{"name": "i", "ports": [{"containerPort": 7}]}],
            "containers": [{"name": "a", "ports": [{"containerPort": 8081, "hostPort": 0}]}],
            "ephemeralContainers": [{"name": "e", "ports": [{"containerPort": 9}]}]});
        let template = json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "spec": {"template": {"spec": spec}}});
        for (object, at) in [
            (pod(spec.clone()), "/spec"),
            (template, "/spec/template/spec"),
        ] {
            let violation = crate::pss::check(&object, Baseline, version("latest"))
                .into_iter()
                .find(|v| v.check == super::ID)
                .expect("a hostPort violation");
            assert_eq!(
                violation.message,
                "hostPort (containers \"i\", \"a\" use hostPorts 7, 8081)"
            );
            assert_eq!(
                violation.paths,
                [
                    format!("{at}/initContainers/0/ports/0"),
                    format!("{at}/containers/0/ports/0")
                ]
            );
            // Turning hostNetwork off takes the defaulted ports with it: nothing else to edit.
            let (plan, _) = fix(&object, Baseline, "latest");
            assert_eq!(ops(&plan), [format!("replace {at}/hostNetwork")]);
        }
    }

    #[test]
    fn defaulted_and_written_host_ports_remain_while_host_network_stays() {
        let object = pod(json!({"hostNetwork": true, "containers": [{"name": "a",
            "ports": [{"containerPort": 80}, {"containerPort": 81, "hostPort": 81}]}]}));
        let mut policy = policy(Baseline, "latest");
        policy.exemptions.controls.insert("hostnamespaces".into());
        let (plan, patched) = fix_with(&object, &policy);
        // Removing a written hostPort would only have it defaulted back.
        assert_eq!(patched, object);
        let refused: Vec<_> = plan
            .unfixable
            .iter()
            .filter(|u| u.check == super::ID)
            .map(|u| (u.path.as_str(), u.reason.contains("hostNetwork stays")))
            .collect();
        assert_eq!(
            refused,
            [
                ("/spec/containers/0/ports/0", true),
                ("/spec/containers/0/ports/1/hostPort", true)
            ]
        );
        let mut safe_only = crate::pss::testing::policy(Baseline, "latest");
        safe_only.safe_only = true;
        let (plan, _) = fix_with(&object, &safe_only);
        assert!(plan.unfixable.iter().any(|u| u.check == super::ID));
    }
}
