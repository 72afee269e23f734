//! `restrictedVolumes` (restricted, replacing `hostPathVolumes`): only configMap, csi,
//! downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected and secret
//! volumes. A volume with no known source is what the API server defaults to `emptyDir`, so
//! it is allowed. Unfixable: removing a volume changes what the workload mounts.

use super::fixer::Fixer;
use super::message::{join_quote, pluralize, sorted_set};
use super::pod::{set, Pod};
use super::{Finding, Version};
use serde_json::{Map, Value};

pub const ID: &str = "restrictedVolumes";

const ALLOWED: [&str; 9] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];
/// In the order in which the first one present names a volume's type in messages.
const RESTRICTED: [&str; 21] = [
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

fn has(volume: &Map<String, Value>, source: &str) -> bool {
    set(volume.get(source)).is_some_and(Value::is_object)
}

/// (volume name, volume pointer, type name) of each restricted volume.
fn offenders(pod: &Pod) -> Vec<(String, String, &'static str)> {
    pod.volumes()
        .into_iter()
        .filter_map(|(at, volume)| {
            if ALLOWED.iter().any(|source| has(volume, source)) {
                return None;
            }
            // No known source at all: the API server defaults it to emptyDir.
            let kind = RESTRICTED.into_iter().find(|source| has(volume, source))?;
            let name = volume
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            Some((name.to_string(), at, kind))
        })
        .collect()
}

pub fn check(pod: &Pod, _version: Version) -> Option<Finding> {
    let bad = offenders(pod);
    if bad.is_empty() {
        return None;
    }
    let names: Vec<_> = bad.iter().map(|(name, _, _)| name.as_str()).collect();
    let kinds = sorted_set(bad.iter().map(|(_, _, kind)| kind.to_string()).collect());
    Some(Finding::new(
        "restricted volume types",
        format!(
            "{} {} {} {} {}",
            pluralize("volume", "volumes", names.len()),
            join_quote(&names),
            pluralize("uses", "use", names.len()),
            pluralize(
                "restricted volume type",
                "restricted volume types",
                kinds.len()
            ),
            join_quote(&kinds)
        ),
        bad.iter()
            .map(|(_, at, kind)| format!("{at}/{kind}"))
            .collect(),
    ))
}

pub fn remedy(fix: &mut Fixer) {
    let reason = &super::catalog::remedy(ID, "keep").description;
    let bad = fix.pod().map(|pod| offenders(&pod)).unwrap_or_default();
    for (_, at, kind) in bad {
        fix.refuse(ID, &format!("{at}/{kind}"), reason);
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testing::*;
    use crate::pss::Level::Restricted;
    use serde_json::json;

    #[test]
    fn restricted_types_are_named_and_unknown_sources_default_to_empty_dir() {
        let pod = restricted_pod(
            json!({}),
            json!({"volumes": [
            {"name": "a", "nfs": {"server": "s", "path": "/"}},
            {"name": "b", "hostPath": {"path": "/"}},
            {"name": "c"},
            {"name": "d", "configMap": {"name": "x"}, "hostPath": {"path": "/"}}]}),
        );
        assert_eq!(
            message(&pod, Restricted, "latest", super::ID),
            "restricted volume types (volumes \"a\", \"b\" use restricted volume types \"hostPath\", \"nfs\")"
        );
        let plan = crate::plan::plan(&pod, &policy(Restricted, "latest"));
        assert!(plan.patch.0.is_empty());
        assert_eq!(plan.unfixable.len(), 2);
    }
}
