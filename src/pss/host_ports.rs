//! `hostPorts` (baseline): containers must not set a non-zero `hostPort`. In a hostNetwork
//! Pod (not a template) the API server defaults `hostPort` to `containerPort`, so those ports
//! count too. Remedy: remove the `hostPort` fields; unfixable while hostNetwork stays (its
//! pods get every hostPort back from defaulting).

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

fn offenders(pod: &Pod) -> Vec<Offender> {
    let defaulting = pod.is_pod && pod.flag("hostNetwork");
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
        bad.iter()
            .map(|o| {
                if o.defaulted {
                    o.port_at.clone()
                } else {
                    format!("{}/hostPort", o.port_at)
                }
            })
            .collect(),
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
                &offender.port_at,
                "hostNetwork stays, and its pods get hostPort = containerPort from the API server",
            );
        } else {
            let path = format!("{}/hostPort", offender.port_at);
            fix.remove(ID, remedy, &path, Some(&offender.container));
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

    #[test]
    fn host_network_pods_default_host_port_from_container_port() {
        let spec = json!({"hostNetwork": true, "containers": [{"name": "a", "ports": [{"containerPort": 80}]}]});
        assert!(ids(&pod(spec.clone()), Baseline, "latest").contains(&super::ID.to_string()));
        let template = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": spec}}});
        assert_eq!(ids(&template, Baseline, "latest"), ["hostNamespaces"]);
        // Fixing hostNetwork removes the defaulted port too.
        fix(&pod(spec), Baseline, "latest");
    }
}
