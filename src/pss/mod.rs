//! The Pod Security Standards, as the upstream pod-security-admission evaluator
//! (`k8s.io/pod-security-admission/policy`) defines them: levels, versions, and one module per
//! control holding its check and its remedy. Knows no YAML and no files: it reads
//! `serde_json::Value` objects and returns violations.
//!
//! Check order, per-version behaviour, level overrides (a restricted check replacing a baseline
//! one) and message wording follow upstream, so a message here reads as PSA's would.
//!
//! Each control module holds its check and its remedy, so a reader finds both in one place.
//! Remedies act on a [`fixer::Fixer`] (the workload copy a plan edits), so they need nothing
//! from `plan`; their names, kinds and safety tags come from the catalog in `patches/`
//! ([`catalog`]). Levels and versions are the policy's vocabulary ([`crate::policy`]) and are
//! re-exported here. Checks see the pod as the API server does after the defaulting that
//! matters to PSA ([`pod`]): a volume without a source is an emptyDir, a hostNetwork pod's
//! ports get `hostPort = containerPort` (templates included: their Pods are defaulted).

pub mod allow_privilege_escalation;
pub mod app_armor_profile;
pub mod capabilities;
pub mod catalog;
pub mod fixer;
pub mod host_namespaces;
pub mod host_path_volumes;
pub mod host_ports;
pub mod host_probes;
pub mod message;
pub mod pod;
pub mod privileged;
pub mod proc_mount;
pub mod profile_annotations;
pub mod restricted_volumes;
pub mod run_as_non_root;
pub mod run_as_user;
pub mod se_linux_options;
pub mod seccomp_profile;
pub mod sysctls;
#[cfg(test)]
pub mod testing;
pub mod windows_host_process;

pub use crate::policy::{Level, ParseError, Version, NEWEST_MINOR};
use fixer::Fixer;
use pod::Pod;
use serde_json::Value;

/// Namespace label holding the enforced level.
pub const ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";
/// Namespace label holding the enforced version.
pub const ENFORCE_VERSION_LABEL: &str = "pod-security.kubernetes.io/enforce-version";

/// One violation of a control, as PSA would report it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Violation {
    /// Upstream check id, e.g. `allowPrivilegeEscalation`, `capabilities_restricted`.
    pub check: String,
    /// The level whose policy contains the check.
    pub level: Level,
    /// JSON pointer (relative to the workload object) of the first offending field, or of the
    /// missing field's parent.
    pub path: String,
    /// Every offending location, in upstream visiting order (pod level, then init, regular and
    /// ephemeral containers); `path` is the first.
    pub paths: Vec<String>,
    /// Upstream wording: `reason (detail)`, e.g. `allowPrivilegeEscalation != false (container
    /// "app" must set securityContext.allowPrivilegeEscalation=false)`.
    pub message: String,
}

/// What a check found: upstream's reason and detail, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub reason: String,
    pub detail: String,
    pub paths: Vec<String>,
}

impl Finding {
    pub fn new(reason: &str, detail: String, paths: Vec<String>) -> Finding {
        Finding {
            reason: reason.to_string(),
            detail,
            paths,
        }
    }
}

/// One upstream check: its id, the level it belongs to, the first version it is in force,
/// the baseline checks it replaces at the restricted level, its check and its remedy.
pub struct Control {
    pub id: &'static str,
    pub level: Level,
    pub since: u32,
    pub overrides: &'static [&'static str],
    pub check: fn(&Pod, Version) -> Option<Finding>,
    pub remedy: fn(&mut Fixer),
}

const fn control(
    id: &'static str,
    level: Level,
    since: u32,
    overrides: &'static [&'static str],
    check: fn(&Pod, Version) -> Option<Finding>,
    remedy: fn(&mut Fixer),
) -> Control {
    Control {
        id,
        level,
        since,
        overrides,
        check,
        remedy,
    }
}

use Level::{Baseline, Restricted};

/// Every check, baseline then restricted, each sorted by id: upstream's message order.
/// Version-specific behaviour inside a check (allowed sets, relaxations, exemptions) lives in
/// its module.
pub static CONTROLS: [Control; 19] = [
    control(
        app_armor_profile::ID,
        Baseline,
        0,
        &[],
        app_armor_profile::check,
        app_armor_profile::remedy,
    ),
    control(
        capabilities::BASELINE_ID,
        Baseline,
        0,
        &[],
        capabilities::check_baseline,
        capabilities::remedy_baseline,
    ),
    control(
        host_namespaces::ID,
        Baseline,
        0,
        &[],
        host_namespaces::check,
        host_namespaces::remedy,
    ),
    control(
        host_path_volumes::ID,
        Baseline,
        0,
        &[],
        host_path_volumes::check,
        host_path_volumes::remedy,
    ),
    control(
        host_ports::ID,
        Baseline,
        0,
        &[],
        host_ports::check,
        host_ports::remedy,
    ),
    control(
        host_probes::ID,
        Baseline,
        34,
        &[],
        host_probes::check,
        host_probes::remedy,
    ),
    control(
        privileged::ID,
        Baseline,
        0,
        &[],
        privileged::check,
        privileged::remedy,
    ),
    control(
        proc_mount::BASELINE_ID,
        Baseline,
        0,
        &[],
        proc_mount::check_baseline,
        proc_mount::remedy_baseline,
    ),
    control(
        se_linux_options::ID,
        Baseline,
        0,
        &[],
        se_linux_options::check,
        se_linux_options::remedy,
    ),
    control(
        seccomp_profile::BASELINE_ID,
        Baseline,
        0,
        &[],
        seccomp_profile::check_baseline,
        seccomp_profile::remedy_baseline,
    ),
    control(
        sysctls::ID,
        Baseline,
        0,
        &[],
        sysctls::check,
        sysctls::remedy,
    ),
    control(
        windows_host_process::ID,
        Baseline,
        0,
        &[],
        windows_host_process::check,
        windows_host_process::remedy,
    ),
    control(
        allow_privilege_escalation::ID,
        Restricted,
        8,
        &[],
        allow_privilege_escalation::check,
        allow_privilege_escalation::remedy,
    ),
    control(
        capabilities::RESTRICTED_ID,
        Restricted,
        22,
        &[capabilities::BASELINE_ID],
        capabilities::check_restricted,
        capabilities::remedy_restricted,
    ),
    control(
        proc_mount::RESTRICTED_ID,
        Restricted,
        35,
        &[proc_mount::BASELINE_ID],
        proc_mount::check_restricted,
        proc_mount::remedy_restricted,
    ),
    control(
        restricted_volumes::ID,
        Restricted,
        0,
        &[host_path_volumes::ID],
        restricted_volumes::check,
        restricted_volumes::remedy,
    ),
    control(
        run_as_non_root::ID,
        Restricted,
        0,
        &[],
        run_as_non_root::check,
        run_as_non_root::remedy,
    ),
    control(
        run_as_user::ID,
        Restricted,
        23,
        &[],
        run_as_user::check,
        run_as_user::remedy,
    ),
    control(
        seccomp_profile::RESTRICTED_ID,
        Restricted,
        19,
        &[seccomp_profile::BASELINE_ID],
        seccomp_profile::check_restricted,
        seccomp_profile::remedy_restricted,
    ),
];

/// The checks evaluated at `level` and `version`, in message order.
pub fn controls_for(level: Level, version: Version) -> Vec<&'static Control> {
    let in_force: Vec<&Control> = CONTROLS
        .iter()
        .filter(|c| c.level <= level && version.at_least(c.since))
        .collect();
    let overridden: Vec<&str> = in_force
        .iter()
        .flat_map(|c| c.overrides.iter().copied())
        .collect();
    in_force
        .into_iter()
        .filter(|c| !overridden.contains(&c.id))
        .collect()
}

/// The level a check id belongs to; `None` for ids that are not upstream checks (hardening).
pub fn level_of(check: &str) -> Option<Level> {
    CONTROLS.iter().find(|c| c.id == check).map(|c| c.level)
}

/// The control of a check id.
pub fn control_of(check: &str) -> Option<&'static Control> {
    CONTROLS.iter().find(|c| c.id == check)
}

/// All violations of `workload` (any kind PSA evaluates, not a List) at `level` and `version`,
/// in upstream order (baseline checks, then restricted, each sorted by id). A non-workload
/// object, or a ReplicationController without a template, has none.
pub fn check(workload: &Value, level: Level, version: Version) -> Vec<Violation> {
    check_only(workload, level, version, |_| true)
}

/// [`check`] limited to the controls whose id `wanted` accepts.
pub fn check_only(
    workload: &Value,
    level: Level,
    version: Version,
    wanted: impl Fn(&str) -> bool,
) -> Vec<Violation> {
    let Some(pod) = Pod::of(workload) else {
        return Vec::new();
    };
    controls_for(level, version)
        .into_iter()
        .filter(|control| wanted(control.id))
        .filter_map(|control| {
            let finding = (control.check)(&pod, version)?;
            let mut message = finding.reason;
            if !finding.detail.is_empty() {
                message.reserve(finding.detail.len() + 3);
                message.push_str(" (");
                message.push_str(&finding.detail);
                message.push(')');
            }
            Some(Violation {
                check: control.id.to_string(),
                level: control.level,
                path: finding
                    .paths
                    .first()
                    .cloned()
                    .unwrap_or_else(|| pod.spec_at.to_string()),
                paths: finding.paths,
                message,
            })
        })
        .collect()
}

/// The enforced policy of a Namespace from its labels, as PSA's `PolicyToEvaluate` reads them.
///
/// - `None`: no `enforce` label; the admission configuration's default applies (PSA's default
///   default is privileged). An `enforce-version` label alone also gives `None`.
/// - `Some((None, version))`: `enforce: privileged` (nothing is checked).
/// - `Some((Some(level), version))`: that level at that version; a missing `enforce-version`
///   label means `latest`.
///
/// Invalid values fail closed as PSA does: an unknown level enforces `restricted`, an unparsable
/// version (anything but `latest` or `v1.N`) enforces `latest`. A non-string label value is
/// treated as an invalid value.
pub fn enforced_level(labels: &serde_json::Map<String, Value>) -> Option<(Option<Level>, Version)> {
    let level = labels.get(ENFORCE_LABEL)?;
    let level = match level.as_str() {
        Some("privileged") => None,
        Some(text) => Some(text.parse().unwrap_or(Level::Restricted)),
        None => Some(Level::Restricted),
    };
    let version = labels
        .get(ENFORCE_VERSION_LABEL)
        .and_then(Value::as_str)
        .and_then(|text| text.parse().ok())
        .unwrap_or(Version::Latest);
    Some((level, version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn enforce_labels_fail_closed_like_psa() {
        let labels = |value: Value| value.as_object().cloned().unwrap_or_default();
        assert_eq!(enforced_level(&labels(json!({}))), None);
        assert_eq!(
            enforced_level(&labels(json!({ENFORCE_VERSION_LABEL: "v1.20"}))),
            None
        );
        assert_eq!(
            enforced_level(&labels(json!({ENFORCE_LABEL: "baseline"}))),
            Some((Some(Level::Baseline), Version::Latest))
        );
        assert_eq!(
            enforced_level(&labels(
                json!({ENFORCE_LABEL: "privileged", ENFORCE_VERSION_LABEL: "v1.20"})
            )),
            Some((None, Version::Minor(20)))
        );
        assert_eq!(
            enforced_level(&labels(
                json!({ENFORCE_LABEL: "strict", ENFORCE_VERSION_LABEL: "1.20"})
            )),
            Some((Some(Level::Restricted), Version::Latest))
        );
    }

    #[test]
    fn checks_follow_upstream_order_and_overrides() {
        let ids = |level, version| -> Vec<&str> {
            controls_for(level, version).iter().map(|c| c.id).collect()
        };
        assert_eq!(ids(Level::Baseline, Version::Minor(0)).len(), 11);
        assert_eq!(ids(Level::Baseline, Version::Latest).len(), 12);
        let restricted = ids(Level::Restricted, Version::Latest);
        for replaced in [
            "capabilities_baseline",
            "seccompProfile_baseline",
            "hostPathVolumes",
            "procMount",
        ] {
            assert!(!restricted.contains(&replaced), "{replaced}");
        }
        let old = ids(Level::Restricted, Version::Minor(7));
        assert!(
            old.contains(&"capabilities_baseline") && !old.contains(&"allowPrivilegeEscalation")
        );
        let mut sorted = restricted.clone();
        sorted.sort_by_key(|id| (level_of(id) == Some(Level::Restricted), *id));
        assert_eq!(sorted, restricted);
    }

    #[test]
    fn non_workloads_and_template_less_controllers_have_no_violations() {
        let service = json!({"apiVersion": "v1", "kind": "Service"});
        assert!(check(&service, Level::Restricted, Version::Latest).is_empty());
        let controller = json!({"apiVersion": "v1", "kind": "ReplicationController", "spec": {}});
        assert!(check(&controller, Level::Restricted, Version::Latest).is_empty());
        let job = json!({"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}});
        let violations = check(&job, Level::Restricted, Version::Latest);
        assert_eq!(violations[0].path, "/spec/template/spec/containers/0");
    }
}
