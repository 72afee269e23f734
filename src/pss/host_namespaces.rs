//! `hostNamespaces` (baseline): `hostNetwork`, `hostPID` and `hostIPC` must not be true.
//! Remedy: set each to false (changes behaviour: the pod leaves the host's namespace), except
//! hostNetwork while Windows host-process containers stay: the API server requires it for them.

use super::fixer::Fixer;
use super::pod::{child, Pod};
use super::{Finding, Version};
use serde_json::Value;

pub const ID: &str = "hostNamespaces";
const FIELDS: [&str; 3] = ["hostNetwork", "hostPID", "hostIPC"];

fn used(pod: &Pod) -> Vec<&'static str> {
    FIELDS.into_iter().filter(|key| pod.flag(key)).collect()
}

pub fn check(pod: &Pod, _version: Version) -> Option<Finding> {
    let used = used(pod);
    if used.is_empty() {
        return None;
    }
    Some(Finding::new(
        "host namespaces",
        used.iter()
            .map(|key| format!("{key}=true"))
            .collect::<Vec<_>>()
            .join(", "),
        used.iter().map(|key| child(pod.spec_at, key)).collect(),
    ))
}

pub fn remedy(fix: &mut Fixer) {
    let remedy = super::catalog::remedy(ID, "set-false");
    let Some((spec_at, used)) = fix.pod().map(|pod| (pod.spec_at, used(&pod))) else {
        return;
    };
    for key in used {
        if key == "hostNetwork" && super::windows_host_process::stays(fix) {
            fix.refuse(
                ID,
                &child(spec_at, key),
                "host-process containers stay, and the API server requires hostNetwork for them",
            );
        } else {
            fix.set(ID, remedy, spec_at, key, Value::Bool(false), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testing::*;
    use crate::pss::Level::Baseline;
    use serde_json::json;

    #[test]
    fn each_true_namespace_is_named_and_set_false() {
        let pod = pod(
            json!({"hostNetwork": true, "hostIPC": true, "hostPID": false, "containers": [{"name": "a"}]}),
        );
        assert_eq!(
            message(&pod, Baseline, "v1.0", super::ID),
            "host namespaces (hostNetwork=true, hostIPC=true)"
        );
        let (plan, _) = fix(&pod, Baseline, "v1.0");
        assert_eq!(
            ops(&plan),
            ["replace /spec/hostIPC", "replace /spec/hostNetwork"]
        );
        assert!(plan
            .changes
            .iter()
            .all(|c| c.safety == crate::policy::Safety::ChangesBehaviour));
    }
}
