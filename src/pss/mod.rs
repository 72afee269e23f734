//! The Pod Security Standards, as the upstream pod-security-admission evaluator
//! (`k8s.io/pod-security-admission/policy`) defines them: levels, versions, and one module per
//! control holding its check and its remedy. Knows no YAML and no files: it reads
//! `serde_json::Value` objects and returns violations.
//!
//! Check order, per-version behaviour, level overrides (a restricted check replacing a baseline
//! one) and message wording follow upstream, so a message here reads as PSA's would.

use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// The newest PSS version this build knows (`latest` resolves to it; so does any newer
/// `v1.N`, as upstream evaluates a version with the newest check implementation not newer
/// than it).
pub const NEWEST_MINOR: u32 = 37;

/// Namespace label holding the enforced level.
pub const ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";
/// Namespace label holding the enforced version.
pub const ENFORCE_VERSION_LABEL: &str = "pod-security.kubernetes.io/enforce-version";

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

/// A level or version that does not parse; the message quotes the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("invalid level `{0}`: must be one of baseline, restricted")]
    Level(String),
    #[error("invalid version `{0}`: must be \"latest\" or \"v1.x\"")]
    Version(String),
}

impl Level {
    /// The upstream name (`baseline`, `restricted`).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "baseline" => Ok(Level::Baseline),
            "restricted" => Ok(Level::Restricted),
            _ => Err(ParseError::Level(s.to_string())),
        }
    }
}

impl Version {
    /// The minor version whose checks are evaluated: `latest` and anything newer than
    /// [`NEWEST_MINOR`] evaluate as [`NEWEST_MINOR`].
    pub fn effective_minor(self) -> u32 {
        match self {
            Version::Minor(minor) => minor.min(NEWEST_MINOR),
            Version::Latest => NEWEST_MINOR,
        }
    }

    /// Whether checks in force since `v1.minor` apply at this version.
    pub fn at_least(self, minor: u32) -> bool {
        self.effective_minor() >= minor
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Minor(minor) => write!(f, "v1.{minor}"),
            Version::Latest => f.write_str("latest"),
        }
    }
}

impl FromStr for Version {
    type Err = ParseError;
    /// Accepts exactly what PSA's `ParseVersion` accepts: `latest` or `v1.N` (no leading zeros).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "latest" {
            return Ok(Version::Latest);
        }
        let invalid = || ParseError::Version(s.to_string());
        let digits = s.strip_prefix("v1.").ok_or_else(invalid)?;
        let well_formed = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        if !well_formed {
            return Err(invalid());
        }
        digits.parse().map(Version::Minor).map_err(|_| invalid())
    }
}

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

/// All violations of `workload` (any kind PSA evaluates, not a List) at `level` and `version`,
/// in upstream order (baseline checks, then restricted, each sorted by id). A non-workload
/// object has none.
pub fn check(workload: &Value, level: Level, version: Version) -> Vec<Violation> {
    let _ = (workload, level, version);
    todo!("issue 3")
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
