//! Configuration: the `.pss-fix.yaml` schema and the flags that override it, resolved into a
//! [`Policy`] per workload. Decoded with serde from an already-parsed value (the CLI parses the
//! YAML, and locates an error by its field's JSON pointer); knows no files.
//!
//! ```yaml
//! level: restricted            # baseline | restricted | namespace (from Namespace labels)
//! version: latest              # latest | v1.N
//! defaultLevel: baseline       # with `level: namespace`, for namespaces without an enforce
//!                              # label: baseline | restricted | privileged (the default)
//! runAsUser: 65532             # UID set with runAsNonRoot when none is set (non-zero)
//! safeOnly: false              # apply only remedies tagged safe
//! partial: false              # fix what can be fixed in a workload that cannot reach its
//!                              # level (default: leave it unchanged and say why)
//! hardening:                   # OWASP K01; each defaults to on at restricted, off at baseline
//!   readOnlyRootFilesystem: true
//!   defaultResources: true
//!   resources:
//!     requests: {cpu: 100m, memory: 128Mi}
//!     limits: {cpu: 500m, memory: 512Mi}
//! exemptions:                  # every given matcher must match; `controls` absent = all
//!   - namespace: kube-system   # the whole workload
//!     kind: DaemonSet
//!     name: node-exporter
//!     controls: [hostNamespaces, hostPorts]
//!   - kind: DaemonSet          # one container's own fields
//!     name: node-exporter
//!     container: exporter
//!     controls: [capabilities]
//! enforce: false               # webhook only: deny what stays unfixable
//! skipNamespaces: [kube-system] # webhook only: admit these untouched
//! ```
//!
//! Exemption ids are matched case-insensitively against an upstream check id
//! (`capabilities_restricted`), its control name without the level suffix (`capabilities`
//! covers both capability checks), a short name (`seccomp`, `apparmor`, `selinux`,
//! `hostProcess`), a hardening id (`readOnlyRootFilesystem`, `resources`) or `all`. The
//! workload annotation `pss-fix.dev/skip: "seccompProfile,capabilities"` takes the same ids;
//! it is read from the workload's own metadata and from its pod template's metadata, and both
//! lists apply. An id that names nothing is an error, in the file or in the annotation, never a
//! silent no-op. A rule with `container` covers that container's own fields, so it cannot name
//! a pod-level control ([`POD_LEVEL`]): those fields are shared by every container.

use crate::plan::hardening::{READ_ONLY_ID, RESOURCES_ID};
use crate::policy::{
    self, ExemptionRule, Exemptions, HardeningSettings, Level, Policy, Resources, Version, ALIASES,
    ALL, SKIP_ANNOTATION,
};
use crate::pss;
use crate::workload::Workload;
use serde::{de, Deserialize, Deserializer};
use serde_json::Value;

/// The config key of the default level; callers that treat an unset default differently
/// (files: restricted, the webhook: privileged) look for it.
pub const DEFAULT_LEVEL_KEY: &str = "defaultLevel";

/// The UID set with `runAsNonRoot` by default: the distroless `nonroot` user.
pub const DEFAULT_RUN_AS_USER: i64 = 65532;

/// Controls whose fields are the pod's, shared by every container: a `container` rule cannot
/// exempt them.
pub const POD_LEVEL: [&str; 4] = [
    pss::host_namespaces::ID,
    pss::host_path_volumes::ID,
    pss::restricted_volumes::ID,
    pss::sysctls::ID,
];

/// A config that is not valid, or a skip annotation that names no control.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// `field` is the path as written (`exemptions[0].controls`, empty for the whole file) and
    /// `pointer` the same as a JSON pointer, to find its line.
    #[error("config{}: {message}", in_field(.field))]
    Config {
        field: String,
        pointer: String,
        message: String,
    },
    /// `pointer` is the annotation's, relative to the workload.
    #[error("annotation `{SKIP_ANNOTATION}`: {}", unknown_control(.id))]
    Annotation { pointer: String, id: String },
}

fn in_field(field: &str) -> String {
    if field.is_empty() {
        String::new()
    } else {
        format!(" field `{field}`")
    }
}

impl Error {
    /// The JSON pointer of what is wrong: in the config, or in the workload.
    pub fn pointer(&self) -> &str {
        match self {
            Error::Config { pointer, .. } | Error::Annotation { pointer, .. } => pointer,
        }
    }

    fn config(index: usize, key: &str, message: String) -> Error {
        Error::Config {
            field: format!("exemptions[{index}].{key}"),
            pointer: format!("/exemptions/{index}/{key}"),
            message,
        }
    }
}

/// How the level is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum LevelChoice {
    Fixed(Level),
    /// From the workload's Namespace labels `pod-security.kubernetes.io/enforce[-version]`.
    Namespace,
}

impl TryFrom<String> for LevelChoice {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        match text.as_str() {
            "namespace" => Ok(LevelChoice::Namespace),
            other => other.parse().map(LevelChoice::Fixed).map_err(|_| {
                format!("invalid value `{other}`: expected baseline, restricted or namespace")
            }),
        }
    }
}

/// The whole configuration, as the file spells it. Unknown fields are errors (a typo must not
/// silently turn a setting off). Fields are public so CLI flags can override them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    pub level: LevelChoice,
    pub version: Version,
    /// With [`LevelChoice::Namespace`], the level for a namespace without an enforce label;
    /// `None` is privileged (nothing checked or fixed), PSA's own default.
    #[serde(deserialize_with = "default_level")]
    pub default_level: Option<Level>,
    #[serde(deserialize_with = "uid")]
    pub run_as_user: i64,
    pub safe_only: bool,
    /// Fix what can be fixed in a workload that cannot reach its level (default: leave it).
    pub partial: bool,
    pub hardening: HardeningSettings,
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
            partial: false,
            hardening: HardeningSettings::default(),
            exemptions: Vec::new(),
            enforce: false,
            skip_namespaces: Vec::new(),
        }
    }
}

fn default_level<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Level>, D::Error> {
    match String::deserialize(deserializer)?.as_str() {
        "privileged" => Ok(None),
        other => other.parse().map(Some).map_err(|_| {
            de::Error::custom(format!(
                "invalid value `{other}`: expected privileged, baseline or restricted"
            ))
        }),
    }
}

fn uid<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let uid = i64::deserialize(deserializer)?;
    if (1..=i64::from(i32::MAX)).contains(&uid) {
        Ok(uid)
    } else {
        Err(de::Error::custom(format!(
            "invalid value `{uid}`: expected a non-zero UID"
        )))
    }
}

impl Config {
    /// Reads and validates a parsed `.pss-fix.yaml` (`null`, an empty file, is the default).
    pub fn from_value(value: &Value) -> Result<Config, Error> {
        if value.is_null() {
            return Ok(Config::default());
        }
        // serde would also read a struct from a sequence, field by field.
        if !value.is_object() {
            return Err(Error::Config {
                field: String::new(),
                pointer: String::new(),
                message: format!("invalid value `{value}`: expected a mapping"),
            });
        }
        let config: Config = serde_path_to_error::deserialize(value).map_err(|error| {
            let mut pointer = String::new();
            for segment in error.path().iter() {
                match segment {
                    serde_path_to_error::Segment::Seq { index } => {
                        crate::pointer::push_index(&mut pointer, *index)
                    }
                    serde_path_to_error::Segment::Map { key } => {
                        crate::pointer::push_token(&mut pointer, key)
                    }
                    serde_path_to_error::Segment::Enum { .. }
                    | serde_path_to_error::Segment::Unknown => {}
                }
            }
            let field = error.path().to_string();
            Error::Config {
                field: if field == "." { String::new() } else { field },
                pointer,
                message: error.into_inner().to_string(),
            }
        })?;
        config.check_request_within_limit()?;
        config.check_exemptions()?;
        Ok(config)
    }

    /// A default request above its default limit would make every filled container invalid.
    fn check_request_within_limit(&self) -> Result<(), Error> {
        let Resources { requests, limits } = &self.hardening.resources;
        let pairs = [
            ("cpu", &requests.cpu, &limits.cpu),
            ("memory", &requests.memory, &limits.memory),
        ];
        for (name, request, limit) in pairs {
            if policy::quantity::parse(request) > policy::quantity::parse(limit) {
                return Err(Error::Config {
                    field: format!("hardening.resources.requests.{name}"),
                    pointer: format!("/hardening/resources/requests/{name}"),
                    message: format!("invalid value `{request}`: above its limit `{limit}`"),
                });
            }
        }
        Ok(())
    }

    /// Every id names a control, and no `container` rule names a pod-level one.
    fn check_exemptions(&self) -> Result<(), Error> {
        for (index, rule) in self.exemptions.iter().enumerate() {
            for id in &rule.controls {
                if !is_exemption_id(id) {
                    return Err(Error::config(index, "controls", unknown_control(id)));
                }
                let pod_level = POD_LEVEL.iter().find(|check| policy::names(id, check));
                if let (Some(check), Some(container), false) =
                    (pod_level, &rule.container, id.eq_ignore_ascii_case(ALL))
                {
                    return Err(Error::config(
                        index,
                        "controls",
                        format!(
                            "`{id}` is a pod-level control: `{check}` fields are shared by every \
                             container, so a rule for container `{container}` cannot exempt \
                             them; drop `container` to exempt the whole workload"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The policy for one workload at `level` and `version` (already resolved from the level
    /// choice): hardening defaults by level, exemptions from the config rules that match the
    /// workload and from its `pss-fix.dev/skip` annotations, whose ids must name controls.
    pub fn policy_for(
        &self,
        workload: &Workload,
        level: Level,
        version: Version,
    ) -> Result<Policy, Error> {
        if let Some((pointer, id)) = policy::skip_annotations(workload)
            .into_iter()
            .find(|(_, id)| !is_exemption_id(id))
        {
            return Err(Error::Annotation {
                pointer,
                id: id.to_string(),
            });
        }
        Ok(Policy {
            level,
            version,
            safe_only: self.safe_only,
            partial: self.partial,
            run_as_user: self.run_as_user,
            hardening: self.hardening.at(level),
            exemptions: Exemptions::for_workload(&self.exemptions, workload),
        })
    }
}

/// The check ids exemptions are matched against: every upstream check and the hardening ids.
fn checks() -> impl Iterator<Item = &'static str> {
    pss::CONTROLS
        .iter()
        .map(|control| control.id)
        .chain([READ_ONLY_ID, RESOURCES_ID])
}

/// Whether `id` names at least one check (see [`policy::names`]).
fn is_exemption_id(id: &str) -> bool {
    checks().any(|check| policy::names(id, check))
}

/// The message for an id that names nothing: the names there are.
fn unknown_control(id: &str) -> String {
    let mut controls: Vec<&str> = checks()
        .map(|check| {
            check
                .strip_suffix("_baseline")
                .or_else(|| check.strip_suffix("_restricted"))
                .unwrap_or(check)
        })
        .collect();
    controls.sort_unstable();
    controls.dedup();
    let aliases: Vec<&str> = ALIASES.iter().map(|(alias, _)| *alias).collect();
    format!(
        "unknown control `{id}`; known: {}, {ALL}, the short names {} and upstream check ids \
         such as {}",
        controls.join(", "),
        aliases.join(", "),
        pss::capabilities::RESTRICTED_ID
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeSet;

    fn workload(object: &Value) -> Workload<'_> {
        crate::workload::workloads(object).remove(0)
    }

    fn error(value: Value) -> Error {
        Config::from_value(&value).unwrap_err()
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
        assert_eq!(config.hardening.read_only_root_filesystem, Some(false));
        assert_eq!(config.hardening.resources.limits.cpu, "1");
        assert_eq!(
            config.exemptions[0].controls,
            BTreeSet::from(["hostNamespaces".to_string()])
        );
        assert_eq!(config.skip_namespaces, ["kube-system"]);
        assert_eq!(Config::from_value(&Value::Null).unwrap(), Config::default());
        let privileged = Config::from_value(&json!({"defaultLevel": "privileged"})).unwrap();
        assert_eq!(privileged.default_level, None);
    }

    #[test]
    fn resource_values_left_out_keep_their_defaults() {
        let config =
            Config::from_value(&json!({"hardening": {"resources": {"limits": {"memory": "1Gi"}}}}))
                .unwrap();
        let resources = &config.hardening.resources;
        assert_eq!(resources.limits.memory, "1Gi");
        assert_eq!(resources.limits.cpu, Resources::default().limits.cpu);
        assert_eq!(resources.requests, Resources::default().requests);
    }

    #[test]
    fn errors_name_the_field_the_value_and_its_pointer() {
        let cases = [
            (
                json!({"level": "strict"}),
                "config field `level`: invalid value `strict`: expected baseline, restricted or namespace",
                "/level",
            ),
            (
                json!({"version": "1.23"}),
                "config field `version`: invalid version `1.23`: must be \"latest\" or \"v1.x\"",
                "/version",
            ),
            (
                json!({"defaultLevel": "strict"}),
                "config field `defaultLevel`: invalid value `strict`: expected privileged, baseline or restricted",
                "/defaultLevel",
            ),
            (
                json!({"runAsUser": 0}),
                "config field `runAsUser`: invalid value `0`: expected a non-zero UID",
                "/runAsUser",
            ),
            (
                json!({"safeOnly": "yes please"}),
                "config field `safeOnly`: invalid type: string \"yes please\", expected a boolean",
                "/safeOnly",
            ),
            (
                json!({"hardening": {"resources": {"limits": {"cpu": "lots"}}}}),
                "config field `hardening.resources.limits.cpu`: invalid value `lots`: expected a resource quantity such as 100m or 128Mi",
                "/hardening/resources/limits/cpu",
            ),
            (
                json!({"hardening": {"resources": {"requests": {"cpu": "2"}}}}),
                "config field `hardening.resources.requests.cpu`: invalid value `2`: above its limit `500m`",
                "/hardening/resources/requests/cpu",
            ),
            (
                json!({"exemptions": [{"controls": ["all"]}, {"nmespace": "x"}]}),
                "config field `exemptions[1].nmespace`: unknown field `nmespace`, expected one of `namespace`, `kind`, `name`, `container`, `controls`",
                "/exemptions/1/nmespace",
            ),
            (
                json!({"levle": "baseline"}),
                "config field `levle`: unknown field `levle`, expected one of",
                "/levle",
            ),
            (json!([1]), "config: invalid value `[1]`: expected a mapping", ""),
        ];
        for (value, message, pointer) in cases {
            let error = error(value);
            assert!(error.to_string().starts_with(message), "{error}");
            assert_eq!(error.pointer(), pointer, "{error}");
        }
    }

    #[test]
    fn an_unknown_control_is_an_error_naming_the_known_ones() {
        let error = error(
            json!({"exemptions": [{"kind": "Pod", "controls": ["privileged", "hostNamespace"]}]}),
        );
        let message = error.to_string();
        assert!(
            message.starts_with(
                "config field `exemptions[0].controls`: unknown control `hostNamespace`; known: \
                 allowPrivilegeEscalation, appArmorProfile, capabilities, hostNamespaces, "
            ),
            "{message}"
        );
        assert!(
            message.ends_with(
                "windowsHostProcess, all, the short names seccomp, apparmor, selinux, hostProcess \
                 and upstream check ids such as capabilities_restricted"
            ),
            "{message}"
        );
        assert_eq!(error.pointer(), "/exemptions/0/controls");
        for known in [
            "ALL",
            "seccomp",
            "capabilities_restricted",
            "readOnlyRootFilesystem",
            "HostProcess",
        ] {
            assert!(
                Config::from_value(&json!({"exemptions": [{"controls": [known]}]})).is_ok(),
                "{known}"
            );
        }
    }

    #[test]
    fn a_container_rule_cannot_exempt_a_pod_level_control() {
        for pod_level in [
            "hostNamespaces",
            "sysctls",
            "hostPathVolumes",
            "restrictedVolumes",
        ] {
            let message = error(json!({"exemptions": [
                {"container": "app", "controls": ["privileged", pod_level]}]}))
            .to_string();
            assert!(
                message.starts_with(&format!(
                    "config field `exemptions[0].controls`: `{pod_level}` is a pod-level control"
                )),
                "{message}"
            );
        }
        // Container-level and mixed controls, and everything of one container, are fine.
        let fine = json!({"exemptions": [
            {"container": "app", "controls": ["capabilities", "seccomp", "runAsNonRoot"]},
            {"container": "app"}, {"container": "app", "controls": ["all"]},
            {"controls": ["hostNamespaces"]}]});
        assert!(Config::from_value(&fine).is_ok());
    }

    #[test]
    fn hardening_defaults_follow_the_level() {
        let pod = json!({"kind": "Pod", "metadata": {"name": "p"}});
        let config = Config::default();
        let restricted = config
            .policy_for(&workload(&pod), Level::Restricted, Version::Latest)
            .unwrap();
        assert!(
            restricted.hardening.read_only_root_filesystem
                && restricted.hardening.default_resources
        );
        let baseline = config
            .policy_for(&workload(&pod), Level::Baseline, Version::Latest)
            .unwrap();
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
        let policy = config
            .policy_for(&workload(&deployment), Level::Restricted, Version::Latest)
            .unwrap();
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

    #[test]
    fn an_unknown_control_in_the_annotation_is_an_error_at_the_annotation() {
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "annotations": {SKIP_ANNOTATION: "seccomp"}},
            "spec": {"template": {"metadata": {"annotations": {SKIP_ANNOTATION: "privileged, hostNamespace"}}}}});
        let error = Config::default()
            .policy_for(&workload(&deployment), Level::Restricted, Version::Latest)
            .unwrap_err();
        assert_eq!(
            error.pointer(),
            "/spec/template/metadata/annotations/pss-fix.dev~1skip"
        );
        assert!(
            error.to_string().starts_with(
                "annotation `pss-fix.dev/skip`: unknown control `hostNamespace`; known: "
            ),
            "{error}"
        );
    }
}
