//! `hostProbesAndHostLifecycle` (baseline, v1.34+): probes and lifecycle handlers must not
//! set `httpGet.host` or `tcpSocket.host`. Remedy: remove the host field (the handler then
//! targets the pod's own IP, which is what a probe is for).

use super::fixer::Fixer;
use super::message::{containers_phrase, join_quote, pluralize, sorted_set};
use super::pod::Pod;
use super::{Finding, Version};
use serde_json::Value;

pub const ID: &str = "hostProbesAndHostLifecycle";

const PROBES: [&str; 3] = ["livenessProbe", "readinessProbe", "startupProbe"];
const LIFECYCLE: [&str; 2] = ["postStart", "preStop"];
const HANDLERS: [&str; 2] = ["httpGet", "tcpSocket"];

/// (container name, host field pointer, host) of every set host.
fn offenders(pod: &Pod) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    for c in pod.containers() {
        let lifecycle = c.value.get("lifecycle").filter(|v| v.is_object());
        let probes = PROBES.iter().map(|key| ("", *key, c.value.get(*key)));
        let hooks = LIFECYCLE
            .iter()
            .map(|key| ("/lifecycle", *key, lifecycle.and_then(|l| l.get(*key))));
        for (parent, key, endpoint) in probes.chain(hooks) {
            let Some(endpoint) = endpoint else {
                continue;
            };
            for handler in HANDLERS {
                let host = endpoint
                    .get(handler)
                    .and_then(|h| h.get("host"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if !host.is_empty() {
                    found.push((
                        c.name.to_string(),
                        format!("{}{parent}/{key}/{handler}/host", c.at()),
                        host.to_string(),
                    ));
                }
            }
        }
    }
    found
}

pub fn check(pod: &Pod, version: Version) -> Option<Finding> {
    if !version.at_least(34) {
        return None;
    }
    let bad = offenders(pod);
    if bad.is_empty() {
        return None;
    }
    let names = sorted_set(bad.iter().map(|(name, _, _)| name.clone()).collect());
    let hosts = sorted_set(bad.iter().map(|(_, _, host)| host.clone()).collect());
    Some(Finding::new(
        "probe or lifecycle host",
        format!(
            "{} {} {} {}",
            containers_phrase(&names),
            pluralize("uses", "use", names.len()),
            pluralize(
                "probe or lifecycle host",
                "probe or lifecycle hosts",
                hosts.len()
            ),
            join_quote(&hosts)
        ),
        bad.into_iter().map(|(_, at, _)| at).collect(),
    ))
}

pub fn remedy(fix: &mut Fixer) {
    let remedy = super::catalog::remedy(ID, "remove-host");
    let bad = fix.pod().map(|pod| offenders(&pod)).unwrap_or_default();
    for (name, at, _) in bad {
        fix.remove(ID, remedy, &at, Some(&name));
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testing::*;
    use crate::pss::Level::Baseline;
    use serde_json::json;

    #[test]
    fn hosts_are_checked_from_v1_34_and_removed() {
        let pod = pod(json!({"containers": [{"name": "a",
            "livenessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80}},
            "lifecycle": {"preStop": {"tcpSocket": {"host": "example.com", "port": 1}}}}]}));
        assert!(ids(&pod, Baseline, "v1.33").is_empty());
        assert_eq!(
            message(&pod, Baseline, "v1.34", super::ID),
            "probe or lifecycle host (container \"a\" uses probe or lifecycle hosts \"10.0.0.1\", \"example.com\")"
        );
        let (plan, _) = fix(&pod, Baseline, "v1.34");
        assert_eq!(
            ops(&plan),
            [
                "remove /spec/containers/0/lifecycle/preStop/tcpSocket/host",
                "remove /spec/containers/0/livenessProbe/httpGet/host"
            ]
        );
    }
}
