//! The leaf of the engine: what a plan is held to and may do. Levels and versions, the
//! [`Policy`] of one workload, whether a remedy is [`Safety::Safe`], K01 hardening and its
//! default [`Resources`], [`Exemptions`] (config rules and the `pss-fix.dev/skip` annotation,
//! matched to a workload here) and resource [`quantity`] arithmetic.
//!
//! Depends only on `pointer` and `workload`; `pss`, `plan` and `config` build on it. Which
//! control names exist is the standard's knowledge, so names are checked above (`config`),
//! not here: matching here is by the rules in [`Exemptions::exempts`].

pub mod quantity;

use crate::workload::Workload;
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// The newest PSS version this build knows (`latest` resolves to it; so does any newer
/// `v1.N`, as upstream evaluates a version with the newest check implementation not newer
/// than it).
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(try_from = "String")]
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

impl TryFrom<String> for Version {
    type Error = ParseError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
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

/// Whether applying a remedy can change what the workload does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// Apply what can be applied to a workload that cannot reach the level; by default it is
    /// left unchanged.
    pub partial: bool,
    /// UID set with runAsNonRoot when no non-zero runAsUser is set.
    pub run_as_user: i64,
    /// K01 hardening (readOnlyRootFilesystem, default resources).
    pub hardening: Hardening,
    /// Controls and containers exempted (config file and workload annotation merged).
    pub exemptions: Exemptions,
}

/// Resource quantities for one of `requests` or `limits`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantities {
    pub cpu: String,
    pub memory: String,
}

/// Default resources set where a container has none. In the config file each value is
/// optional and falls back to its default.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(from = "PartialResources")]
pub struct Resources {
    pub requests: Quantities,
    pub limits: Quantities,
}

impl Default for Resources {
    fn default() -> Self {
        Resources {
            requests: Quantities {
                cpu: "100m".to_string(),
                memory: "128Mi".to_string(),
            },
            limits: Quantities {
                cpu: "500m".to_string(),
                memory: "512Mi".to_string(),
            },
        }
    }
}

/// [`Resources`] as the config file gives them: any value may be left out.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialResources {
    #[serde(default)]
    requests: PartialQuantities,
    #[serde(default)]
    limits: PartialQuantities,
}

#[derive(Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialQuantities {
    cpu: Option<Quantity>,
    memory: Option<Quantity>,
}

impl From<PartialResources> for Resources {
    fn from(partial: PartialResources) -> Resources {
        let Resources { requests, limits } = Resources::default();
        let fill = |given: PartialQuantities, default: Quantities| Quantities {
            cpu: given.cpu.map_or(default.cpu, |q| q.0),
            memory: given.memory.map_or(default.memory, |q| q.0),
        };
        Resources {
            requests: fill(partial.requests, requests),
            limits: fill(partial.limits, limits),
        }
    }
}

/// A resource quantity as the API server accepts it, kept as written (a YAML number such as
/// `1` or `0.5` too).
#[derive(serde::Deserialize)]
#[serde(try_from = "serde_json::Value")]
struct Quantity(String);

impl TryFrom<serde_json::Value> for Quantity {
    type Error = String;
    fn try_from(value: serde_json::Value) -> Result<Self, Self::Error> {
        let text = match value {
            serde_json::Value::String(text) => text,
            serde_json::Value::Number(number) => number.to_string(),
            other => {
                return Err(format!(
                    "invalid value `{other}`: expected a resource quantity"
                ))
            }
        };
        match quantity::parse(&text) {
            Some(_) => Ok(Quantity(text)),
            None => Err(format!(
                "invalid value `{text}`: expected a resource quantity such as 100m or 128Mi"
            )),
        }
    }
}

/// The `hardening` section of the config file: each switch unset (`None`) is on at restricted
/// and off at baseline.
#[derive(Debug, Clone, PartialEq, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct HardeningSettings {
    pub read_only_root_filesystem: Option<bool>,
    pub default_resources: Option<bool>,
    pub resources: Resources,
}

impl HardeningSettings {
    /// The hardening a plan at `level` gets.
    pub fn at(&self, level: Level) -> Hardening {
        let restricted = level == Level::Restricted;
        Hardening {
            read_only_root_filesystem: self.read_only_root_filesystem.unwrap_or(restricted),
            default_resources: self.default_resources.unwrap_or(restricted),
            resources: self.resources.clone(),
        }
    }
}

/// K01 hardening options, resolved for one plan.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Hardening {
    pub read_only_root_filesystem: bool,
    pub default_resources: bool,
    pub resources: Resources,
}

/// Annotation naming the controls not to fix in one workload.
pub const SKIP_ANNOTATION: &str = "pss-fix.dev/skip";

/// One exemption rule of the config file: every matcher given must match the workload. With
/// `container`, the rule covers that container's own fields only (pod-level fields are shared
/// by every container).
#[derive(Debug, Clone, PartialEq, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExemptionRule {
    pub namespace: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub container: Option<String>,
    /// Control ids as written; empty: every control.
    #[serde(default)]
    pub controls: BTreeSet<String>,
}

impl ExemptionRule {
    fn matches(&self, workload: &Workload) -> bool {
        let same = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|want| Some(want) == have)
        };
        same(&self.namespace, workload.namespace.as_deref())
            && same(&self.kind, Some(workload.kind.as_str()))
            && same(&self.name, workload.name.as_deref())
    }
}

/// Controls exempted from fixing in one workload (config and annotation merged).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exemptions {
    /// Ids exempted for the whole workload (lower case, as written).
    pub controls: BTreeSet<String>,
    /// `(container name, ids)` exempted for one container; empty ids: every control.
    pub containers: Vec<(String, BTreeSet<String>)>,
    /// Where the exemption came from, for the unfixable reason.
    pub source: Option<String>,
}

impl Exemptions {
    /// The exemptions of `workload`: the config `rules` that match it, and the ids of its
    /// `pss-fix.dev/skip` annotations.
    pub fn for_workload(rules: &[ExemptionRule], workload: &Workload) -> Exemptions {
        let mut exemptions = Exemptions::default();
        let mut sources = Vec::new();
        for rule in rules.iter().filter(|rule| rule.matches(workload)) {
            match &rule.container {
                Some(container) => exemptions
                    .containers
                    .push((container.clone(), rule.controls.clone())),
                None if rule.controls.is_empty() => {
                    exemptions.controls.insert(ALL.to_string());
                }
                None => exemptions.controls.extend(rule.controls.iter().cloned()),
            }
            sources.push("config");
        }
        let annotated = skip_annotations(workload);
        if !annotated.is_empty() {
            exemptions
                .controls
                .extend(annotated.into_iter().map(|(_, id)| id.to_string()));
            sources.push(SKIP_ANNOTATION);
        }
        sources.dedup();
        if !sources.is_empty() {
            exemptions.source = Some(sources.join(" and "));
        }
        exemptions
    }

    /// Whether `check` (an upstream or hardening id) is exempted for the whole workload.
    pub fn exempts(&self, check: &str) -> bool {
        matches_any(&self.controls, check)
    }

    /// Whether `check` is exempted for the container named `container`.
    pub fn exempts_container(&self, check: &str, container: &str) -> bool {
        self.exempts(check)
            || self
                .containers
                .iter()
                .any(|(name, ids)| name == container && (ids.is_empty() || matches_any(ids, check)))
    }
}

/// Short names people write for a control, as in the issue's own example
/// (`pss-fix.dev/skip: "seccomp,capabilities"`).
pub const ALIASES: [(&str, &str); 4] = [
    ("seccomp", "seccompProfile"),
    ("apparmor", "appArmorProfile"),
    ("selinux", "seLinuxOptions"),
    ("hostProcess", "windowsHostProcess"),
];

/// The id every control matches.
pub const ALL: &str = "all";

/// Whether exemption id `id` names `check` (an upstream check id such as
/// `capabilities_restricted`, or a hardening id), ignoring case: the check id itself, its
/// control name without the level suffix (`capabilities`), a short name from [`ALIASES`], or
/// [`ALL`].
pub fn names(id: &str, check: &str) -> bool {
    let control = check
        .strip_suffix("_baseline")
        .or_else(|| check.strip_suffix("_restricted"))
        .unwrap_or(check);
    let id = ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(id))
        .map_or(id, |(_, full)| full);
    id.eq_ignore_ascii_case(ALL)
        || id.eq_ignore_ascii_case(check)
        || id.eq_ignore_ascii_case(control)
}

fn matches_any(ids: &BTreeSet<String>, check: &str) -> bool {
    ids.iter().any(|id| names(id, check))
}

/// The ids of `pss-fix.dev/skip` on the workload's metadata and its pod template's metadata,
/// each with the JSON pointer of its annotation (relative to the workload).
pub fn skip_annotations<'w>(workload: &Workload<'w>) -> Vec<(String, &'w str)> {
    let mut pointers = vec!["/metadata"];
    if let Some(pod) = workload.pod_pointers() {
        pointers.push(pod.metadata);
    }
    pointers.dedup();
    let mut found = Vec::new();
    for metadata in pointers {
        let list = crate::pointer::lookup(workload.object, metadata)
            .and_then(|metadata| metadata.get("annotations")?.get(SKIP_ANNOTATION)?.as_str());
        let mut at = format!("{metadata}/annotations");
        crate::pointer::push_token(&mut at, SKIP_ANNOTATION);
        for id in list.into_iter().flat_map(|list| list.split(',')) {
            let id = id.trim();
            if !id.is_empty() {
                found.push((at.clone(), id));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_versions_parse_as_psa_does() {
        assert_eq!("baseline".parse(), Ok(Level::Baseline));
        assert_eq!(Level::Restricted.to_string(), "restricted");
        assert!("privileged".parse::<Level>().is_err());
        assert_eq!("v1.23".parse(), Ok(Version::Minor(23)));
        assert_eq!("v1.0".parse(), Ok(Version::Minor(0)));
        assert_eq!("latest".parse(), Ok(Version::Latest));
        for bad in ["1.23", "v1.023", "v2.0", "v1.", "v1.x", "Latest"] {
            assert!(bad.parse::<Version>().is_err(), "{bad}");
        }
        assert_eq!(Version::Minor(5).to_string(), "v1.5");
        assert_eq!(Version::Minor(99).effective_minor(), NEWEST_MINOR);
        assert_eq!(
            "v1.x".parse::<Version>().unwrap_err().to_string(),
            "invalid version `v1.x`: must be \"latest\" or \"v1.x\""
        );
    }

    #[test]
    fn ids_name_checks_by_id_control_alias_or_all() {
        for (id, check) in [
            ("capabilities_restricted", "capabilities_restricted"),
            ("Capabilities", "capabilities_baseline"),
            ("SECCOMP", "seccompProfile_restricted"),
            ("hostprocess", "windowsHostProcess"),
            ("all", "readOnlyRootFilesystem"),
        ] {
            assert!(names(id, check), "{id} {check}");
        }
        for (id, check) in [
            ("capabilities_baseline", "capabilities_restricted"),
            ("seccomp", "seLinuxOptions"),
            ("hostNamespace", "hostNamespaces"),
        ] {
            assert!(!names(id, check), "{id} {check}");
        }
    }

    #[test]
    fn skip_annotations_are_read_with_their_place() {
        let object = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "annotations": {SKIP_ANNOTATION: " seccomp ,,all"}},
            "spec": {"template": {"metadata": {"annotations": {SKIP_ANNOTATION: "privileged"}}}}});
        let workload = crate::workload::workloads(&object).remove(0);
        assert_eq!(
            skip_annotations(&workload),
            [
                (
                    "/metadata/annotations/pss-fix.dev~1skip".to_string(),
                    "seccomp"
                ),
                ("/metadata/annotations/pss-fix.dev~1skip".to_string(), "all"),
                (
                    "/spec/template/metadata/annotations/pss-fix.dev~1skip".to_string(),
                    "privileged"
                ),
            ]
        );
    }
}
