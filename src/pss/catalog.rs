//! The remedy catalog: `patches/<control>.json`, embedded at build time. Each file names the
//! upstream checks of one control and its remedies, each with a kind (`set`, `remove`,
//! `unfixable`), a safety tag and the description shown to users. Code decides *where* a
//! remedy applies; the catalog decides what it is called and whether it is safe.

use crate::policy::Safety;
use std::sync::OnceLock;

/// One remedy of a control.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remedy {
    pub id: String,
    pub kind: RemedyKind,
    pub safety: Safety,
    pub description: String,
}

/// What a remedy does to the workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RemedyKind {
    Set,
    Remove,
    Unfixable,
}

/// One catalog file.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub control: String,
    pub checks: Vec<String>,
    pub remedies: Vec<Remedy>,
}

const FILES: [&str; 16] = [
    include_str!("../../patches/allowPrivilegeEscalation.json"),
    include_str!("../../patches/appArmorProfile.json"),
    include_str!("../../patches/capabilities.json"),
    include_str!("../../patches/hostNamespaces.json"),
    include_str!("../../patches/hostPathVolumes.json"),
    include_str!("../../patches/hostPorts.json"),
    include_str!("../../patches/hostProbesAndHostLifecycle.json"),
    include_str!("../../patches/privileged.json"),
    include_str!("../../patches/procMount.json"),
    include_str!("../../patches/restrictedVolumes.json"),
    include_str!("../../patches/runAsNonRoot.json"),
    include_str!("../../patches/runAsUser.json"),
    include_str!("../../patches/seLinuxOptions.json"),
    include_str!("../../patches/seccompProfile.json"),
    include_str!("../../patches/sysctls.json"),
    include_str!("../../patches/windowsHostProcess.json"),
];

const HARDENING: &str = include_str!("../../patches/hardening.json");

/// Every control of the catalog, hardening last.
pub fn controls() -> &'static [Control] {
    static CATALOG: OnceLock<Vec<Control>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        FILES
            .iter()
            .chain([&HARDENING])
            .map(|text| {
                serde_json::from_str(text)
                    .expect("every embedded patches/*.json should parse (tested in catalog::tests)")
            })
            .collect()
    })
}

/// The remedy `id` of `control`.
pub fn remedy(control: &str, id: &str) -> &'static Remedy {
    controls()
        .iter()
        .filter(|entry| entry.control == control)
        .flat_map(|entry| &entry.remedies)
        .find(|remedy| remedy.id == id)
        .unwrap_or_else(|| panic!("patches/{control}.json should define remedy `{id}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_file_parses_and_names_its_checks() {
        let controls = controls();
        assert_eq!(controls.len(), FILES.len() + 1);
        for control in controls {
            assert!(!control.checks.is_empty(), "{}", control.control);
            assert!(!control.remedies.is_empty(), "{}", control.control);
        }
        let mut checks: Vec<_> = controls.iter().flat_map(|c| c.checks.clone()).collect();
        checks.sort();
        let before = checks.len();
        checks.dedup();
        assert_eq!(before, checks.len(), "a check belongs to one control");
    }
}
