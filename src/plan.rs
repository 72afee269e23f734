//! Violations to a minimal RFC 6902 patch, plus what cannot be fixed and why.
//!
//! Each violated control's remedy (in its `pss` module) edits the workload (a copy, unless the
//! caller gives it away); the patch is the difference, read from the originals of the edited
//! subtrees, so every operation is one a remedy asked for, parents come before children and a
//! new subtree is one `add`. K01 hardening (beyond PSS) is planned the same way after the PSS
//! remedies.
//!
//! Where a remedy cannot or may not act (an exemption, `--safe-only`, a Linux-only field in a
//! Windows pod, a restricted volume), it records why; every violation still present after the
//! plan is listed in [`Plan::unfixable`] with those reasons. A non-workload object gets an
//! empty plan.
//!
//! All or nothing: a workload that cannot reach its level (a violation stays that no exemption
//! chose to keep) gets no patch unless the policy is `partial`: privileges removed, a UID and a
//! read-only root would leave it broken and still rejected. Its changes are listed as
//! [`Plan::withheld`] beside what blocks it.

pub mod diff;
pub mod hardening;

use crate::policy::{Exemptions, Policy};
use crate::pss::fixer::Fixer;
pub use crate::pss::fixer::{Change, Note, Unfixable};
use crate::pss::Violation;
use serde_json::Value;
use std::borrow::Cow;

/// The plan for one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Minimal RFC 6902 patch against the workload object.
    pub patch: json_patch::Patch,
    pub changes: Vec<Change>,
    pub unfixable: Vec<Unfixable>,
    /// PSS violations of the input at the policy's level and version.
    pub violations: Vec<Violation>,
    /// The workload cannot reach the level: violations stay that no exemption chose to keep.
    pub blocked: bool,
    /// The changes not applied because the workload is blocked (without `--partial`):
    /// behaviour-changing edits that would leave it broken and still rejected.
    pub withheld: Vec<Change>,
    /// Advice, e.g. to set `spec.os.name: windows` on a pod that selects Windows nodes.
    pub notes: Vec<Note>,
}

/// A K01 hardening gap: not a PSS violation, and counted only when asked for.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HardeningGap {
    /// `readOnlyRootFilesystem` or `resources`.
    pub check: String,
    /// JSON pointer of the container (relative to the workload).
    pub path: String,
    /// E.g. `container "app" must set securityContext.readOnlyRootFilesystem=true`.
    pub message: String,
}

/// Reason given for a violation no remedy touched.
pub const NO_REMEDY_REASON: &str = "not fixed by any remedy";

/// Plans the fixes for one workload object (not a List): each violated control's remedy
/// (unless the control is exempted), then the hardening the policy turns on. Every violation
/// still there after the plan is listed in `unfixable` with the reason.
pub fn plan(workload: &Value, policy: &Policy) -> Plan {
    plan_cow(Cow::Borrowed(workload), policy)
}

/// [`plan`] for a workload the caller gives away (the webhook's request object): it is edited
/// in place, never copied.
pub fn plan_owned(workload: Value, policy: &Policy) -> Plan {
    plan_cow(Cow::Owned(workload), policy)
}

fn plan_cow(workload: Cow<'_, Value>, policy: &Policy) -> Plan {
    let violations = crate::pss::check(&workload, policy.level, policy.version);
    // Tests hold every patch to the diff of the whole workload.
    #[cfg(debug_assertions)]
    let whole = workload.clone().into_owned();
    let mut fixer = Fixer::new(workload, policy);
    for violation in &violations {
        if policy.exemptions.exempts(&violation.check) {
            let source = policy.exemptions.source.as_deref().unwrap_or("config");
            let reason = format!("exempted by {source}");
            for path in &violation.paths {
                fixer.refuse_exempted(&violation.check, path, &reason);
            }
        } else if let Some(control) = crate::pss::control_of(&violation.check) {
            (control.remedy)(&mut fixer);
        }
    }
    hardening::remedy(&mut fixer);
    if let Some(why) = fixer.windows_selection() {
        let spec_at = fixer.pod().map(|pod| pod.spec_at).unwrap_or_default();
        fixer.note(
            spec_at,
            format!(
                "the pod runs on Windows ({why}) but does not say so: no Linux-only field \
                 (readOnlyRootFilesystem, runAsUser) was added; set spec.os.name: windows so \
                 the API server and PSA judge it as a Windows pod"
            ),
        );
    }
    // Checks are pure: an object no remedy edited has the violations it started with. And
    // remedies only tighten fields, so only a control violated before can be violated after
    // (tests/plan_properties.rs holds every plan to a full check of its result).
    let rechecked;
    let remaining = if fixer.untouched() {
        &violations
    } else {
        rechecked = crate::pss::check_only(fixer.object(), policy.level, policy.version, |id| {
            violations.iter().any(|violation| violation.check == id)
        });
        &rechecked
    };
    let mut unfixable = Vec::new();
    for violation in remaining {
        let reasons: Vec<_> = fixer
            .refused
            .iter()
            .filter(|refusal| refusal.check == violation.check)
            .cloned()
            .collect();
        if reasons.is_empty() {
            unfixable.push(Unfixable {
                check: violation.check.clone(),
                path: violation.path.clone(),
                reason: NO_REMEDY_REASON.to_string(),
            });
        }
        unfixable.extend(reasons);
    }
    // A violation an exemption keeps was chosen; any other left blocks the level.
    let blocked = unfixable
        .iter()
        .any(|left| !fixer.exempted.contains(&left.check));
    if blocked && !policy.partial {
        return Plan {
            patch: json_patch::Patch(Vec::new()),
            changes: Vec::new(),
            unfixable,
            violations,
            blocked,
            withheld: std::mem::take(&mut fixer.changes),
            notes: std::mem::take(&mut fixer.notes),
        };
    }
    let changes = std::mem::take(&mut fixer.changes);
    let notes = std::mem::take(&mut fixer.notes);
    let patch = if fixer.untouched() {
        json_patch::Patch(Vec::new())
    } else {
        #[cfg(debug_assertions)]
        let expected = diff::diff([("", Some(&whole))], fixer.object());
        let (originals, fixed) = fixer.into_edits();
        let patch = diff::diff_owned(
            originals
                .iter()
                .map(|(pointer, original)| (pointer.as_str(), original.as_ref())),
            fixed,
        );
        #[cfg(debug_assertions)]
        assert_eq!(patch, expected, "an edit outside the saved originals");
        json_patch::Patch(patch)
    };
    Plan {
        patch,
        changes,
        unfixable,
        violations,
        blocked,
        withheld: Vec::new(),
        notes,
    }
}

/// Why a finding of `check` at `paths` (pointers relative to `workload`) is exempted: the
/// whole workload is, or every container the paths lie in is. `None`: the finding counts. The
/// remedies honour the same exemptions, so `check` and `fix` agree.
pub fn exemption(
    workload: &Value,
    check: &str,
    paths: &[String],
    exemptions: &Exemptions,
) -> Option<String> {
    let reason = || {
        let source = exemptions.source.as_deref().unwrap_or("config");
        format!("exempted by {source}")
    };
    if exemptions.exempts(check) {
        return Some(reason());
    }
    if exemptions.containers.is_empty() || paths.is_empty() {
        return None;
    }
    let pod = crate::pss::pod::Pod::of(workload)?;
    let in_exempted_container = |path: &String| {
        pod.containers().iter().any(|container| {
            let at = container.at();
            path.strip_prefix(&at)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
                && exemptions.exempts_container(check, container.name)
        })
    };
    paths.iter().all(in_exempted_container).then(reason)
}

#[cfg(test)]
mod tests {
    use crate::pss::testing::*;
    use crate::pss::Level::{Baseline, Restricted};
    use serde_json::json;

    #[test]
    fn safe_only_applies_safe_remedies_and_reports_the_rest() {
        let pod = pod(
            json!({"hostPID": true, "containers": [{"name": "a", "securityContext": {"privileged": true}}]}),
        );
        let mut policy = policy(Restricted, "latest");
        policy.safe_only = true;
        policy.partial = true;
        let (plan, patched) = fix_with(&pod, &policy);
        assert!(plan
            .changes
            .iter()
            .all(|c| c.safety == crate::policy::Safety::Safe));
        assert_eq!(patched["spec"]["hostPID"], true);
        assert!(plan.unfixable.iter().any(
            |u| u.check == "hostNamespaces" && u.reason == crate::pss::fixer::SAFE_ONLY_REASON
        ));
        assert!(plan.unfixable.iter().any(|u| u.check == "privileged"));
        // Safe remedies still run.
        assert_eq!(
            patched["spec"]["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        let remaining = crate::pss::check(&patched, Restricted, version("latest"));
        assert!(remaining
            .iter()
            .all(|v| plan.unfixable.iter().any(|u| u.check == v.check)));
    }

    #[test]
    fn the_skip_annotation_exempts_controls() {
        let mut pod = pod(
            json!({"hostNetwork": true, "containers": [{"name": "a", "securityContext": {"privileged": true}}]}),
        );
        pod["metadata"]["annotations"] = json!({"pss-fix.dev/skip": "hostNamespaces"});
        let workload = crate::workload::workloads(&pod).remove(0);
        let policy = crate::config::Config::default()
            .policy_for(&workload, Baseline, version("latest"))
            .unwrap();
        let (plan, patched) = fix_with(&pod, &policy);
        assert_eq!(patched["spec"]["hostNetwork"], true);
        assert_eq!(
            patched["spec"]["containers"][0]["securityContext"]["privileged"],
            false
        );
        assert_eq!(plan.unfixable.len(), 1);
        assert_eq!(plan.unfixable[0].reason, "exempted by pss-fix.dev/skip");
    }

    #[test]
    fn hardening_never_lowers_and_keeps_requests_within_limits() {
        let mut pod = restricted_pod(json!({"readOnlyRootFilesystem": false}), json!({}));
        pod["spec"]["containers"][0]["resources"] =
            json!({"requests": {"cpu": "2"}, "limits": {"memory": "64Mi"}});
        let workload = crate::workload::workloads(&pod).remove(0);
        let policy = crate::config::Config::default()
            .policy_for(&workload, Restricted, version("latest"))
            .unwrap();
        assert_eq!(plan_gaps(&pod, &policy), ["resources"]);
        let (plan, patched) = fix_with(&pod, &policy);
        let container = &patched["spec"]["containers"][0];
        assert_eq!(
            container["resources"],
            json!({
            "requests": {"cpu": "2", "memory": "64Mi"},
            "limits": {"memory": "64Mi", "cpu": "2"}})
        );
        assert_eq!(
            container["securityContext"]["readOnlyRootFilesystem"],
            false
        );
        assert_eq!(
            ops(&plan),
            [
                "add /spec/containers/0/resources/limits/cpu",
                "add /spec/containers/0/resources/requests/memory"
            ]
        );
        assert!(super::hardening::gaps(&patched, &policy.hardening).is_empty());
    }

    #[test]
    fn an_untouched_workload_keeps_its_violations_and_gets_no_patch() {
        let pod = restricted_pod(json!({}), json!({"hostNetwork": true}));
        let mut policy = policy(Restricted, "latest");
        policy
            .exemptions
            .controls
            .insert("hostnamespaces".to_string());
        let plan = super::plan(&pod, &policy);
        assert!(plan.patch.0.is_empty() && plan.changes.is_empty());
        let unfixable: Vec<_> = plan
            .unfixable
            .iter()
            .map(|u| (u.check.as_str(), u.path.as_str(), u.reason.as_str()))
            .collect();
        assert_eq!(
            unfixable,
            [("hostNamespaces", "/spec/hostNetwork", "exempted by config")]
        );
        assert_eq!(plan.violations.len(), 1);
    }

    #[test]
    fn pod_level_resources_bound_the_container_defaults() {
        let mut pod = restricted_pod(json!({"readOnlyRootFilesystem": true}), json!({}));
        pod["spec"]["resources"] = json!({"limits": {"cpu": "250m"}});
        let mut sidecar = pod["spec"]["containers"][0].clone();
        sidecar["name"] = json!("sidecar");
        pod["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(sidecar);
        let workload = crate::workload::workloads(&pod).remove(0);
        let policy = crate::config::Config::default()
            .policy_for(&workload, Restricted, version("latest"))
            .unwrap();
        let (_, patched) = fix_with(&pod, &policy);
        // Two default CPU requests of 100m each, or a 500m limit, would break the pod's 250m.
        for container in patched["spec"]["containers"].as_array().unwrap() {
            assert_eq!(
                container["resources"],
                json!({"requests": {"memory": "128Mi"}, "limits": {"memory": "512Mi"}})
            );
        }
        pod["spec"]["resources"] = json!({"requests": {"memory": "1Gi", "cpu": "1"}});
        let (plan, _) = fix_with(&pod, &policy);
        assert!(plan
            .patch
            .0
            .iter()
            .all(|op| !op.path().to_string().contains("requests")));
        assert!(super::hardening::gaps(&pod, &policy.hardening)
            .iter()
            .all(|gap| !gap.message.contains("requests")));
    }

    #[test]
    fn a_workload_that_cannot_reach_the_level_is_left_unchanged_unless_partial() {
        let pod = pod(json!({
            "containers": [{"name": "a", "securityContext": {"privileged": true}}],
            "volumes": [{"name": "host", "hostPath": {"path": "/var/run"}}]}));
        let mut policy = policy(Restricted, "latest");
        let plan = super::plan(&pod, &policy);
        assert!(plan.blocked && plan.patch.0.is_empty() && plan.changes.is_empty());
        assert!(plan.withheld.iter().any(|c| c.check == "privileged"));
        let unfixable: Vec<_> = plan.unfixable.iter().map(|u| u.check.as_str()).collect();
        assert_eq!(unfixable, ["restrictedVolumes"]);
        policy.partial = true;
        let (plan, patched) = fix_with(&pod, &policy);
        assert!(plan.blocked && plan.withheld.is_empty());
        assert_eq!(
            patched["spec"]["containers"][0]["securityContext"]["privileged"],
            false
        );
        // An exemption's violations are chosen: they do not block the rest.
        policy.partial = false;
        policy
            .exemptions
            .controls
            .insert("restrictedvolumes".into());
        let plan = super::plan(&pod, &policy);
        assert!(!plan.blocked && !plan.patch.0.is_empty());
    }

    fn plan_gaps(pod: &serde_json::Value, policy: &crate::policy::Policy) -> Vec<String> {
        super::hardening::gaps(pod, &policy.hardening)
            .into_iter()
            .map(|g| g.check)
            .collect()
    }

    #[test]
    fn windows_pods_get_no_linux_only_hardening() {
        let mut pod = restricted_pod(json!({}), json!({"os": {"name": "windows"}}));
        pod["spec"]["securityContext"] = json!({"runAsNonRoot": true});
        pod["spec"]["containers"][0]["securityContext"] = json!({});
        let workload = crate::workload::workloads(&pod).remove(0);
        let policy = crate::config::Config::default()
            .policy_for(&workload, Restricted, version("latest"))
            .unwrap();
        let (plan, _) = fix_with(&pod, &policy);
        assert_eq!(ops(&plan), ["add /spec/containers/0/resources"]);
    }

    #[test]
    fn a_finding_is_exempted_only_where_every_place_is() {
        let pod = pod(json!({"containers": [
            {"name": "a", "securityContext": {"privileged": true}},
            {"name": "b", "securityContext": {"privileged": true}}]}));
        let paths = |indexes: &[usize]| -> Vec<String> {
            indexes
                .iter()
                .map(|i| format!("/spec/containers/{i}/securityContext/privileged"))
                .collect()
        };
        let mut exemptions = crate::policy::Exemptions {
            containers: vec![("a".to_string(), ["privileged".to_string()].into())],
            ..Default::default()
        };
        let exemption = |paths: &[String], exemptions: &crate::policy::Exemptions| {
            super::exemption(&pod, "privileged", paths, exemptions)
        };
        assert_eq!(
            exemption(&paths(&[0]), &exemptions).as_deref(),
            Some("exempted by config")
        );
        assert_eq!(exemption(&paths(&[0, 1]), &exemptions), None);
        assert_eq!(exemption(&[], &exemptions), None);
        exemptions.controls.insert("all".to_string());
        exemptions.source = Some("pss-fix.dev/skip".to_string());
        assert_eq!(
            exemption(&paths(&[0, 1]), &exemptions).as_deref(),
            Some("exempted by pss-fix.dev/skip")
        );
    }
}
