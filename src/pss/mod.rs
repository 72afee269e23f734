//! The Pod Security Standards, as the upstream pod-security-admission evaluator defines them:
//! levels, versions, and one module per control (its check and its remedy). Knows no YAML.
//!
//! SKELETON: the API below is the contract the CLI and webhook code against; the standard
//! itself is filled in by issue 3.

use serde_json::Value;

/// The newest PSS version this build knows (`latest` resolves to it).
pub const NEWEST_MINOR: u32 = 37;

/// A PSS level. `privileged` allows everything and so is never checked.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Baseline,
    Restricted,
}

/// A PSS version: `v1.N`, or `latest` (the newest this build knows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    Minor(u32),
    Latest,
}

/// One violation of a control, as PSA would report it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Violation {
    /// Upstream check id, e.g. `allowPrivilegeEscalation`, `capabilities_restricted`.
    pub check: String,
    /// The level whose policy contains the check.
    pub level: Level,
    /// JSON pointer (relative to the workload object) of the offending field, or of the
    /// missing field's parent.
    pub path: String,
    /// Upstream wording, e.g. `allowPrivilegeEscalation != false (container "app" must set ...)`.
    pub message: String,
}

/// All violations of `workload` (any kind PSA evaluates, not a List) at `level` and `version`.
/// A non-workload object has none.
pub fn check(workload: &Value, level: Level, version: Version) -> Vec<Violation> {
    let _ = (workload, level, version);
    todo!("issue 3")
}
