//! Configuration: the `.pss-fix.yaml` schema and the flags that override it, resolved into a
//! [`Policy`] per workload. Reads an already-parsed value (the CLI parses the
//! YAML); knows no files.
//!
//! ```yaml
//! level: restricted            # baseline | restricted | namespace (from Namespace labels)
//! version: latest              # latest | v1.N
//! defaultLevel: baseline       # with `level: namespace`, for namespaces without an enforce
//!                              # label: baseline | restricted | privileged (the default)
//! runAsUser: 65532             # UID set with runAsNonRoot when none is set (non-zero)
//! safeOnly: false              # apply only remedies tagged safe
//! hardening:                   # OWASP K01; each defaults to on at restricted, off at baseline
//!   readOnlyRootFilesystem: true
//!   defaultResources: true
//!   resources:
//!     requests: {cpu: 100m, memory: 128Mi}
//!     limits: {cpu: 500m, memory: 512Mi}
//! exemptions:                  # every given matcher must match; `controls` absent = all
//!   - namespace: kube-system
//!     kind: DaemonSet
//!     name: node-exporter
//!     container: exporter
//!     controls: [hostNamespaces, hostPorts]
//! enforce: false               # webhook only: deny what stays unfixable
//! skipNamespaces: [kube-system] # webhook only: admit these untouched
//! ```
//!
//! Exemption ids are matched case-insensitively against an upstream check id
//! (`capabilities_restricted`), its control name without the level suffix (`capabilities`
//! covers both capability checks), a short name (`seccomp`, `apparmor`, `selinux`,
//! `hostProcess`), a hardening id (`readOnlyRootFilesystem`, `resources`) or `all`. The workload annotation `pss-fix.dev/skip: "seccompProfile,capabilities"` takes the
//! same ids; it is read from the workload's own metadata and from its pod template's
//! metadata, and both lists apply.

use crate::policy::{ExemptionRule, Exemptions, Hardening, Level, Policy, Resources, Version};
use crate::workload::Workload;
use serde_json::{Map, Value};

/// The config key of the default level; callers that treat an unset default differently
/// (files: restricted, the webhook: privileged) look for it.
pub const DEFAULT_LEVEL_KEY: &str = "defaultLevel";

/// The UID set with `runAsNonRoot` by default: the distroless `nonroot` user.
pub const DEFAULT_RUN_AS_USER: i64 = 65532;

/// A configuration value that is not valid; names the field and quotes the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("config field `{field}`: invalid value `{value}`: {expected}")]
    Invalid {
        field: String,
        value: String,
        expected: &'static str,
    },
    #[error("config field `{field}`: unknown field")]
    Unknown { field: String },
}

/// How the level is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelChoice {
    Fixed(Level),
    /// From the workload's Namespace labels `pod-security.kubernetes.io/enforce[-version]`.
    Namespace,
}

/// The whole configuration. Fields are public so CLI flags can override them.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub level: LevelChoice,
    pub version: Version,
    /// With [`LevelChoice::Namespace`], the level for a namespace without an enforce label;
    /// `None` is privileged (nothing checked or fixed), PSA's own default.
    pub default_level: Option<Level>,
    pub run_as_user: i64,
    pub safe_only: bool,
    /// `None`: on at restricted, off at baseline.
    pub read_only_root_filesystem: Option<bool>,
    /// `None`: on at restricted, off at baseline.
    pub default_resources: Option<bool>,
    pub resources: Resources,
    pub exemptions: Vec<ExemptionRule>,
    /// Webhook only: deny a request that stays in violation after fixing.
    pub enforce: bool,
    /// Webhook only: namespaces admitted untouched.
    pub skip_namespaces: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            level: LevelChoice::Fixed(Level::Restricted),
            version: Version::Latest,
            default_level: None,
            run_as_user: DEFAULT_RUN_AS_USER,
            safe_only: false,
            read_only_root_filesystem: None,
            default_resources: None,
            resources: Resources::default(),
            exemptions: Vec::new(),
            enforce: false,
            skip_namespaces: Vec::new(),
        }
    }
}

impl Config {
    /// Reads and validates a parsed `.pss-fix.yaml`. Unknown fields are errors (a typo must
    /// not silently turn a setting off).
    pub fn from_value(value: &Value) -> Result<Config, Error> {
        let mut config = Config::default();
        if value.is_null() {
            return Ok(config);
        }
        let root = object(value, "")?;
        for (key, value) in root {
            match key.as_str() {
                "level" => {
                    config.level = match string(value, key)? {
                        "namespace" => LevelChoice::Namespace,
                        text => LevelChoice::Fixed(text.parse().map_err(|_| {
                            invalid(key, value, "expected baseline, restricted or namespace")
                        })?),
                    }
                }
                "version" => {
                    config.version = string(value, key)?
                        .parse()
                        .map_err(|_| invalid(key, value, "expected latest or v1.N"))?
                }
                DEFAULT_LEVEL_KEY => {
                    config.default_level = match string(value, key)? {
                        "privileged" => None,
                        text => Some(text.parse().map_err(|_| {
                            invalid(key, value, "expected privileged, baseline or restricted")
                        })?),
                    }
                }
                "runAsUser" => {
                    config.run_as_user = value
                        .as_i64()
                        .filter(|uid| *uid > 0 && *uid <= i64::from(i32::MAX))
                        .ok_or_else(|| invalid(key, value, "expected a non-zero UID"))?
                }
                "safeOnly" => config.safe_only = boolean(value, key)?,
                "hardening" => {
                    read_hardening(value, &mut config)?;
                    check_request_within_limit(&config.resources)?;
                }
                "exemptions" => {
                    config.exemptions = array(value, key)?
                        .iter()
                        .enumerate()
                        .map(|(index, rule)| read_rule(rule, &format!("exemptions[{index}]")))
                        .collect::<Result<_, _>>()?
                }
                "enforce" => config.enforce = boolean(value, key)?,
                "skipNamespaces" => {
                    config.skip_namespaces = strings(value, key)?;
                }
                _ => return Err(unknown("", key)),
            }
        }
        Ok(config)
    }

    /// The policy for one workload at `level` and `version` (already resolved from the level
    /// choice): hardening defaults by level, exemptions from the config rules that match the
    /// workload and from its `pss-fix.dev/skip` annotations.
    pub fn policy_for(&self, workload: &Workload, level: Level, version: Version) -> Policy {
        let restricted = level == Level::Restricted;
        Policy {
            level,
            version,
            safe_only: self.safe_only,
            run_as_user: self.run_as_user,
            hardening: Hardening {
                read_only_root_filesystem: self.read_only_root_filesystem.unwrap_or(restricted),
                default_resources: self.default_resources.unwrap_or(restricted),
                resources: self.resources.clone(),
            },
            exemptions: Exemptions::for_workload(&self.exemptions, workload),
        }
    }
}

fn read_hardening(value: &Value, config: &mut Config) -> Result<(), Error> {
    for (key, value) in object(value, "hardening")? {
        let field = format!("hardening.{key}");
        match key.as_str() {
            "readOnlyRootFilesystem" => {
                config.read_only_root_filesystem = Some(boolean(value, &field)?)
            }
            "defaultResources" => config.default_resources = Some(boolean(value, &field)?),
            "resources" => {
                for (kind, value) in object(value, &field)? {
                    let field = format!("{field}.{kind}");
                    let target = match kind.as_str() {
                        "requests" => &mut config.resources.requests,
                        "limits" => &mut config.resources.limits,
                        _ => return Err(unknown("hardening.resources.", kind)),
                    };
                    for (name, value) in object(value, &field)? {
                        let slot = match name.as_str() {
                            "cpu" => &mut target.cpu,
                            "memory" => &mut target.memory,
                            _ => return Err(unknown(&format!("{field}."), name)),
                        };
                        *slot = quantity_string(value, &format!("{field}.{name}"))?;
                    }
                }
            }
            _ => return Err(unknown("hardening.", key)),
        }
    }
    Ok(())
}

/// A default request above its default limit would make every filled container invalid.
fn check_request_within_limit(resources: &Resources) -> Result<(), Error> {
    let pairs = [
        ("cpu", &resources.requests.cpu, &resources.limits.cpu),
        (
            "memory",
            &resources.requests.memory,
            &resources.limits.memory,
        ),
    ];
    for (name, request, limit) in pairs {
        if crate::policy::quantity::parse(request) > crate::policy::quantity::parse(limit) {
            return Err(Error::Invalid {
                field: format!("hardening.resources.requests.{name}"),
                value: request.clone(),
                expected: "a request not above its limit",
            });
        }
    }
    Ok(())
}

fn read_rule(value: &Value, field: &str) -> Result<ExemptionRule, Error> {
    let mut rule = ExemptionRule::default();
    for (key, value) in object(value, field)? {
        let prefix = format!("{field}.");
        let field = format!("{field}.{key}");
        match key.as_str() {
            "namespace" => rule.namespace = Some(string(value, &field)?.to_string()),
            "kind" => rule.kind = Some(string(value, &field)?.to_string()),
            "name" => rule.name = Some(string(value, &field)?.to_string()),
            "container" => rule.container = Some(string(value, &field)?.to_string()),
            "controls" => {
                rule.controls = strings(value, &field)?
                    .into_iter()
                    .map(|id| id.to_ascii_lowercase())
                    .collect()
            }
            _ => return Err(unknown(&prefix, key)),
        }
    }
    Ok(rule)
}

/// A resource quantity as Kubernetes accepts it (a YAML number like `1` or `0.5` is fine).
fn quantity_string(value: &Value, field: &str) -> Result<String, Error> {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        _ => return Err(invalid(field, value, "expected a resource quantity")),
    };
    match crate::policy::quantity::parse(&text) {
        Some(_) => Ok(text),
        None => Err(invalid(
            field,
            value,
            "expected a resource quantity such as 100m or 128Mi",
        )),
    }
}

fn invalid(field: &str, value: &Value, expected: &'static str) -> Error {
    Error::Invalid {
        field: field.to_string(),
        value: match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        },
        expected,
    }
}

fn unknown(prefix: &str, key: &str) -> Error {
    Error::Unknown {
        field: format!("{prefix}{key}"),
    }
}

fn object<'a>(value: &'a Value, field: &str) -> Result<&'a Map<String, Value>, Error> {
    value.as_object().ok_or_else(|| {
        invalid(
            if field.is_empty() { "(root)" } else { field },
            value,
            "expected a mapping",
        )
    })
}

fn array<'a>(value: &'a Value, field: &str) -> Result<&'a Vec<Value>, Error> {
    value
        .as_array()
        .ok_or_else(|| invalid(field, value, "expected a sequence"))
}

fn string<'a>(value: &'a Value, field: &str) -> Result<&'a str, Error> {
    value
        .as_str()
        .ok_or_else(|| invalid(field, value, "expected a string"))
}

fn boolean(value: &Value, field: &str) -> Result<bool, Error> {
    value
        .as_bool()
        .ok_or_else(|| invalid(field, value, "expected true or false"))
}

fn strings(value: &Value, field: &str) -> Result<Vec<String>, Error> {
    array(value, field)?
        .iter()
        .map(|item| string(item, field).map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::SKIP_ANNOTATION;
    use serde_json::json;
    use std::collections::BTreeSet;

    fn workload(object: &Value) -> Workload<'_> {
        crate::workload::workloads(object).remove(0)
    }

    #[test]
    fn a_full_config_reads() {
        let config = Config::from_value(&json!({
            "level": "namespace", "version": "v1.30", "defaultLevel": "baseline",
            "runAsUser": 1000, "safeOnly": true,
            "hardening": {"readOnlyRootFilesystem": false, "defaultResources": true,
                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": 1, "memory": "1Gi"}}},
            "exemptions": [{"namespace": "kube-system", "controls": ["hostNamespaces"]}],
            "enforce": true, "skipNamespaces": ["kube-system"]
        }))
        .unwrap();
        assert_eq!(config.level, LevelChoice::Namespace);
        assert_eq!(config.version, Version::Minor(30));
        assert_eq!(config.default_level, Some(Level::Baseline));
        assert_eq!(config.run_as_user, 1000);
        assert!(config.safe_only && config.enforce);
        assert_eq!(config.read_only_root_filesystem, Some(false));
        assert_eq!(config.resources.limits.cpu, "1");
        assert_eq!(
            config.exemptions[0].controls,
            BTreeSet::from(["hostnamespaces".to_string()])
        );
        assert_eq!(Config::from_value(&Value::Null).unwrap(), Config::default());
    }

    #[test]
    fn errors_name_the_field_and_value() {
        let cases = [
            (
                json!({"level": "strict"}),
                "config field `level`: invalid value `strict`",
            ),
            (
                json!({"version": "1.23"}),
                "config field `version`: invalid value `1.23`",
            ),
            (
                json!({"runAsUser": 0}),
                "config field `runAsUser`: invalid value `0`",
            ),
            (
                json!({"hardening": {"resources": {"limits": {"cpu": "lots"}}}}),
                "config field `hardening.resources.limits.cpu`: invalid value `lots`",
            ),
            (
                json!({"hardening": {"resources": {"requests": {"cpu": "2"}}}}),
                "config field `hardening.resources.requests.cpu`: invalid value `2`",
            ),
            (
                json!({"exemptions": [{"nmespace": "x"}]}),
                "config field `exemptions[0].nmespace`: unknown field",
            ),
            (
                json!({"levle": "baseline"}),
                "config field `levle`: unknown field",
            ),
        ];
        for (value, message) in cases {
            let error = Config::from_value(&value).unwrap_err().to_string();
            assert!(error.starts_with(message), "{error}");
        }
    }

    #[test]
    fn hardening_defaults_follow_the_level() {
        let pod = json!({"kind": "Pod", "metadata": {"name": "p"}});
        let config = Config::default();
        let restricted = config.policy_for(&workload(&pod), Level::Restricted, Version::Latest);
        assert!(
            restricted.hardening.read_only_root_filesystem
                && restricted.hardening.default_resources
        );
        let baseline = config.policy_for(&workload(&pod), Level::Baseline, Version::Latest);
        assert!(
            !baseline.hardening.read_only_root_filesystem && !baseline.hardening.default_resources
        );
    }

    #[test]
    fn exemptions_merge_config_rules_and_annotations() {
        let config = Config::from_value(&json!({"exemptions": [
            {"kind": "Deployment", "name": "web", "container": "proxy", "controls": ["capabilities"]},
            {"namespace": "other", "controls": ["privileged"]}]}))
        .unwrap();
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "annotations": {SKIP_ANNOTATION: "seccompProfile, AllowPrivilegeEscalation"}},
            "spec": {"template": {"metadata": {"annotations": {SKIP_ANNOTATION: "readOnlyRootFilesystem"}}}}});
        let policy = config.policy_for(&workload(&deployment), Level::Restricted, Version::Latest);
        let exemptions = &policy.exemptions;
        assert!(exemptions.exempts("seccompProfile_restricted"));
        assert!(exemptions.exempts("allowPrivilegeEscalation"));
        assert!(exemptions.exempts("readOnlyRootFilesystem"));
        let short: Exemptions = Exemptions {
            controls: ["seccomp".to_string()].into(),
            ..Exemptions::default()
        };
        assert!(
            short.exempts("seccompProfile_baseline") && !short.exempts("capabilities_baseline")
        );
        assert!(!exemptions.exempts("privileged"));
        assert!(exemptions.exempts_container("capabilities_restricted", "proxy"));
        assert!(!exemptions.exempts_container("capabilities_restricted", "app"));
        assert_eq!(
            exemptions.source.as_deref(),
            Some("config and pss-fix.dev/skip")
        );
    }
}
