//! `hostPathVolumes` (baseline; at restricted, `restrictedVolumes` replaces it): no hostPath
//! volumes. Unfixable: removing a volume changes what the workload mounts.

use super::message::{join_quote, pluralize};
use super::pod::{set, Pod};
use super::{Finding, Version};
use crate::plan::fixer::Fixer;

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
