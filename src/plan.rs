//! Violations to a minimal RFC 6902 patch, plus what cannot be fixed and why.
//!
//! SKELETON: filled in by issue 3.

use crate::pss::{Level, Version, Violation};
use serde_json::Value;

/// Whether applying a remedy can change what the workload does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Safety {
    Safe,
    ChangesBehaviour,
}

/// Everything that decides a plan for one workload (resolved: no `namespace` level here).
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub level: Level,
    pub version: Version,
    /// Apply only remedies tagged [`Safety::Safe`].
    pub safe_only: bool,
    /// UID set with runAsNonRoot when no non-zero runAsUser is set.
    pub run_as_user: i64,
    /// K01 hardening (readOnlyRootFilesystem, default resources).
    pub hardening: crate::config::Hardening,
    /// Controls and containers exempted (config file and workload annotation merged).
    pub exemptions: crate::config::Exemptions,
}

/// One change the plan makes.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Change {
    /// Check id (upstream) or hardening id (`readOnlyRootFilesystem`, `resources`).
    pub check: String,
    /// The level that requires it; `None` for hardening.
    pub level: Option<Level>,
    pub safety: Safety,
    /// JSON pointer the change is made at (relative to the workload).
    pub path: String,
    /// What was done, e.g. `set allowPrivilegeEscalation to false`.
    pub description: String,
}

/// A violation the plan leaves, with the reason.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Unfixable {
    pub check: String,
    pub path: String,
    pub reason: String,
}

/// The plan for one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Minimal RFC 6902 patch against the workload object.
    pub patch: json_patch::Patch,
    pub changes: Vec<Change>,
    pub unfixable: Vec<Unfixable>,
    /// PSS violations of the input at the policy's level and version.
    pub violations: Vec<Violation>,
    /// K01 hardening gaps of the input (not PSS violations).
    pub hardening_gaps: Vec<Violation>,
}

/// Plans the fixes for one workload object (not a List).
pub fn plan(workload: &Value, policy: &Policy) -> Plan {
    let _ = (workload, policy);
    todo!("issue 3")
}
