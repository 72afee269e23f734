//! `hostPathVolumes` (baseline; at restricted, `restrictedVolumes` replaces it): no hostPath
//! volumes. Unfixable: removing a volume changes what the workload mounts.

use super::fixer::Fixer;
use super::message::{join_quote, pluralize};
use super::pod::{set, Pod};
use super::{Finding, Version};

pub const ID: &str = "hostPathVolumes";

fn offenders(pod: &Pod) -> Vec<(String, String)> {
    pod.volumes()
        .into_iter()
        .filter(|(_, volume)| set(volume.get("hostPath")).is_some_and(|source| source.is_object()))
        .map(|(at, volume)| {
            let name = volume
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or_default();
            (name.to_string(), at)
        })
        .collect()
}

pub fn check(pod: &Pod, _version: Version) -> Option<Finding> {
    let bad = offenders(pod);
    if bad.is_empty() {
        return None;
    }
    let names: Vec<_> = bad.iter().map(|(name, _)| name.as_str()).collect();
    Some(Finding::new(
        "hostPath volumes",
        format!(
            "{} {}",
            pluralize("volume", "volumes", names.len()),
            join_quote(&names)
        ),
        bad.iter().map(|(_, at)| format!("{at}/hostPath")).collect(),
    ))
}

pub fn remedy(fix: &mut Fixer) {
    let reason = &super::catalog::remedy(ID, "keep").description;
    let bad = fix.pod().map(|pod| offenders(&pod)).unwrap_or_default();
    for (_, at) in bad {
        fix.refuse(ID, &format!("{at}/hostPath"), reason);
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testing::*;
    use crate::pss::Level::{Baseline, Restricted};
    use serde_json::json;

    #[test]
    fn host_path_is_reported_and_unfixable() {
        let pod = pod(json!({"containers": [{"name": "a"}],
            "volumes": [{"name": "host", "hostPath": {"path": "/"}}, {"name": "tmp", "emptyDir": {}}]}));
        assert_eq!(
            message(&pod, Baseline, "latest", super::ID),
            "hostPath volumes (volume \"host\")"
        );
        let plan = crate::plan::plan(&pod, &policy(Baseline, "latest"));
        assert!(plan.patch.0.is_empty());
        assert_eq!(plan.unfixable.len(), 1);
        assert_eq!(plan.unfixable[0].path, "/spec/volumes/0/hostPath");
        assert!(!ids(&pod, Restricted, "latest").contains(&super::ID.to_string()));
    }
}
