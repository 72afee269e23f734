//! `sysctls` (baseline): pod sysctls only from the safe set of the version (v1.0, extended
//! in v1.27, v1.29, v1.32 and v1.37). Remedy: remove the unsafe entries (the whole `sysctls`
//! when none stays).

use super::fixer::Fixer;
use super::pod::{child, Pod};
use super::{Finding, Version};
use serde_json::Value;

pub const ID: &str = "sysctls";

fn allowed(name: &str, version: Version) -> bool {
    const V1_0: [&str; 5] = [
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
    ];
    const V1_29: [&str; 4] = [
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    ];
    const V1_32: [&str; 2] = ["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"];
    const V1_37: [&str; 2] = [
        "net.ipv4.tcp_slow_start_after_idle",
        "net.ipv4.tcp_notsent_lowat",
    ];
    V1_0.contains(&name)
        || (version.at_least(27) && name == "net.ipv4.ip_local_reserved_ports")
        || (version.at_least(29) && V1_29.contains(&name))
        || (version.at_least(32) && V1_32.contains(&name))
        || (version.at_least(37) && V1_37.contains(&name))
}

/// (sysctls pointer, entry count, forbidden (index, name)).
fn offenders(pod: &Pod, version: Version) -> (String, usize, Vec<(usize, String)>) {
    let at = child(&pod.security_context_at(), ID);
    let entries = pod
        .security_context()
        .and_then(|context| context.get(ID))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let forbidden = entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            (
                index,
                entry
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            )
        })
        .filter(|(_, name)| !allowed(name, version))
        .map(|(index, name)| (index, name.to_string()))
        .collect();
    (at, entries.len(), forbidden)
}

pub fn check(pod: &Pod, version: Version) -> Option<Finding> {
    let (at, _, forbidden) = offenders(pod, version);
    if forbidden.is_empty() {
        return None;
    }
    Some(Finding::new(
        "forbidden sysctls",
        forbidden
            .iter()
            .map(|(_, name)| name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        forbidden
            .iter()
            .map(|(index, _)| format!("{at}/{index}"))
            .collect(),
    ))
}

pub fn remedy(fix: &mut Fixer) {
    let remedy = super::catalog::remedy(ID, "remove");
    let version = fix.policy().version;
    let Some((at, count, forbidden)) = fix.pod().map(|pod| offenders(&pod, version)) else {
        return;
    };
    if forbidden.len() == count {
        fix.remove(ID, remedy, &at, None);
        return;
    }
    for (index, _) in forbidden.into_iter().rev() {
        fix.remove(ID, remedy, &format!("{at}/{index}"), None);
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testing::*;
    use crate::pss::Level::Baseline;
    use serde_json::json;

    fn with_sysctls(names: &[&str]) -> serde_json::Value {
        let sysctls: Vec<_> = names
            .iter()
            .map(|name| json!({"name": name, "value": "1"}))
            .collect();
        pod(json!({"securityContext": {"sysctls": sysctls}, "containers": [{"name": "a"}]}))
    }

    #[test]
    fn each_version_extends_the_safe_set() {
        for (name, since) in [
            ("net.ipv4.ip_local_reserved_ports", "v1.27"),
            ("net.ipv4.tcp_keepalive_time", "v1.29"),
            ("net.ipv4.tcp_rmem", "v1.32"),
            ("net.ipv4.tcp_notsent_lowat", "v1.37"),
        ] {
            let pod = with_sysctls(&[name]);
            let before = format!("v1.{}", version(since).effective_minor() - 1);
            assert_eq!(ids(&pod, Baseline, &before), ["sysctls"], "{name}");
            assert!(ids(&pod, Baseline, since).is_empty(), "{name}");
        }
    }

    #[test]
    fn unsafe_entries_are_removed() {
        let pod = with_sysctls(&["kernel.msgmax", "kernel.shm_rmid_forced", "kernel.msgmax"]);
        assert_eq!(
            message(&pod, Baseline, "latest", super::ID),
            "forbidden sysctls (kernel.msgmax, kernel.msgmax)"
        );
        let (plan, _) = fix(&pod, Baseline, "latest");
        assert_eq!(
            ops(&plan),
            [
                "remove /spec/securityContext/sysctls/2",
                "remove /spec/securityContext/sysctls/0"
            ]
        );
        let (plan, _) = fix(&with_sysctls(&["kernel.msgmax"]), Baseline, "latest");
        assert_eq!(ops(&plan), ["remove /spec/securityContext/sysctls"]);
    }
}
