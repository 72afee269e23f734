//! One manifest text through the engine: parse the stream, find its workloads, hold each to its
//! level, plan, edit. Pure: text in, results out, no I/O and no printing.
//!
//! This is what the CLI runs per file (and what the benchmark times). It owns the one place
//! where workload-relative patches become document-relative ones (List items) and where
//! findings get their FILE:LINE:COL. It knows nothing of paths, output formats or exit codes.

use crate::plan::{self, Change, Plan, Policy, Unfixable};
use crate::pss::{Level, Version, Violation};
use crate::workload;
use crate::yaml;
use json_patch::jsonptr::PointerBuf;
use json_patch::{Patch, PatchOperation};
use serde_json::Value;
use std::collections::HashMap;

/// Label naming the level PSA enforces in a namespace.
const ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";
/// Label naming the PSS version PSA enforces in a namespace.
const ENFORCE_VERSION_LABEL: &str = "pod-security.kubernetes.io/enforce-version";

/// What a namespace enforces, from its pod-security labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforce {
    /// `privileged`: PSA allows everything, so nothing is checked or fixed.
    Privileged,
    Level(Level, Version),
}

/// Where the level a workload is held to came from (the output says it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LevelSource {
    /// `--level baseline|restricted`.
    Flag,
    /// The workload's Namespace labels.
    Namespace,
    /// `--default-level`: the Namespace is unknown.
    Default,
}

/// The level and version a workload is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldTo {
    pub enforce: Enforce,
    pub source: LevelSource,
}

/// How levels are chosen, and the policy knobs every plan shares. Built once per run.
#[derive(Debug, Clone)]
pub struct Policies {
    /// `Some` for `--level baseline|restricted`; `None` for `--level namespace`.
    pub fixed: Option<(Level, Version)>,
    /// With `--level namespace`: the level and version of workloads whose Namespace is unknown.
    pub default: (Level, Version),
    /// With `--level namespace`: what each known namespace enforces.
    pub namespaces: HashMap<String, Enforce>,
    /// The policy knobs besides level and version (those are overwritten per workload).
    pub template: Policy,
}

impl Policies {
    /// What `namespace` (a workload's `metadata.namespace`) is held to.
    pub fn held_to(&self, namespace: Option<&str>) -> HeldTo {
        if let Some((level, version)) = self.fixed {
            return HeldTo {
                enforce: Enforce::Level(level, version),
                source: LevelSource::Flag,
            };
        }
        match namespace.and_then(|name| self.namespaces.get(name)) {
            Some(enforce) => HeldTo {
                enforce: *enforce,
                source: LevelSource::Namespace,
            },
            None => HeldTo {
                enforce: Enforce::Level(self.default.0, self.default.1),
                source: LevelSource::Default,
            },
        }
    }

    /// The full policy for one workload at `level` and `version`.
    fn policy(&self, level: Level, version: Version) -> Policy {
        Policy {
            level,
            version,
            ..self.template.clone()
        }
    }
}

/// A finding with the place of its field in the file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Located<T> {
    #[serde(flatten)]
    pub item: T,
    pub line: usize,
    pub column: usize,
}

/// One workload of a manifest, judged and planned.
#[derive(Debug, Clone)]
pub struct WorkloadReport {
    /// Index of the document in the stream (0-based).
    pub document: usize,
    /// JSON pointer of the workload in its document (`""`, or `/items/N` in a List).
    pub pointer: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// 1-based line and column where the workload starts.
    pub line: usize,
    pub column: usize,
    pub held_to: HeldTo,
    /// The patch relative to the workload object (empty when privileged).
    pub patch: Patch,
    pub changes: Vec<Change>,
    pub unfixable: Vec<Located<Unfixable>>,
    pub violations: Vec<Located<Violation>>,
    pub hardening_gaps: Vec<Located<Violation>>,
}

/// A manifest after the engine ran over it.
#[derive(Debug)]
pub struct Manifest {
    pub workloads: Vec<WorkloadReport>,
    /// The fixed text, or `None` when nothing changes (the input is then left untouched).
    pub fixed: Option<String>,
}

impl Manifest {
    /// Judges and plans every workload of `source` and, when `fix` is set, edits the text.
    /// An error (not YAML, or an edit that fails verification) concerns the whole text.
    pub fn process(source: &str, policies: &Policies, fix: bool) -> Result<Manifest, yaml::Error> {
        let stream = yaml::Stream::parse(source)?;
        let mut workloads = Vec::new();
        let mut edits: Vec<(usize, Patch)> = Vec::new();
        for (index, document) in stream.documents().iter().enumerate() {
            for found in workload::workloads(document.value()) {
                let report = judge(&stream, index, &found, policies);
                if fix && !report.patch.0.is_empty() {
                    let ops = prefixed(&report.patch, &found.pointer);
                    match edits.last_mut() {
                        Some((last, patch)) if *last == index => patch.0.extend(ops),
                        _ => edits.push((index, Patch(ops))),
                    }
                }
                workloads.push(report);
            }
        }
        let fixed = if edits.is_empty() {
            None
        } else {
            Some(stream.edit(&edits)?).filter(|text| text != source)
        };
        Ok(Manifest { workloads, fixed })
    }
}

/// Holds one workload to its level, plans it and locates every finding.
fn judge(
    stream: &yaml::Stream,
    document: usize,
    found: &workload::Workload<'_>,
    policies: &Policies,
) -> WorkloadReport {
    let held_to = policies.held_to(found.namespace.as_deref());
    let plan = match held_to.enforce {
        Enforce::Level(level, version) => {
            plan::plan(found.object, &policies.policy(level, version))
        }
        Enforce::Privileged => Plan {
            patch: Patch(Vec::new()),
            changes: Vec::new(),
            unfixable: Vec::new(),
            violations: Vec::new(),
            hardening_gaps: Vec::new(),
        },
    };
    let locate = |path: &str| stream.location(document, &format!("{}{path}", found.pointer));
    let located = |violations: Vec<Violation>| {
        violations
            .into_iter()
            .map(|item| {
                let (line, column) = locate(&item.path);
                Located { item, line, column }
            })
            .collect()
    };
    let (line, column) = locate("");
    WorkloadReport {
        document,
        pointer: found.pointer.clone(),
        kind: found.kind.clone(),
        namespace: found.namespace.clone(),
        name: found.name.clone(),
        line,
        column,
        held_to,
        unfixable: plan
            .unfixable
            .into_iter()
            .map(|item| {
                let (line, column) = locate(&item.path);
                Located { item, line, column }
            })
            .collect(),
        violations: located(plan.violations),
        hardening_gaps: located(plan.hardening_gaps),
        patch: plan.patch,
        changes: plan.changes,
    }
}

/// The operations of `patch` (relative to a workload) made relative to its document, for a
/// workload that sits at `pointer` in it (a List item).
fn prefixed(patch: &Patch, pointer: &str) -> Vec<PatchOperation> {
    if pointer.is_empty() {
        return patch.0.clone();
    }
    let prefix =
        PointerBuf::parse(pointer).expect("workload pointers should be valid JSON pointers");
    let join = |path: &PointerBuf| prefix.concat(path);
    patch
        .0
        .iter()
        .map(|op| match op {
            PatchOperation::Add(op) => PatchOperation::Add(json_patch::AddOperation {
                path: join(&op.path),
                value: op.value.clone(),
            }),
            PatchOperation::Remove(op) => PatchOperation::Remove(json_patch::RemoveOperation {
                path: join(&op.path),
            }),
            PatchOperation::Replace(op) => PatchOperation::Replace(json_patch::ReplaceOperation {
                path: join(&op.path),
                value: op.value.clone(),
            }),
            PatchOperation::Move(op) => PatchOperation::Move(json_patch::MoveOperation {
                from: join(&op.from),
                path: join(&op.path),
            }),
            PatchOperation::Copy(op) => PatchOperation::Copy(json_patch::CopyOperation {
                from: join(&op.from),
                path: join(&op.path),
            }),
            PatchOperation::Test(op) => PatchOperation::Test(json_patch::TestOperation {
                path: join(&op.path),
                value: op.value.clone(),
            }),
        })
        .collect()
}

/// The Namespaces a document declares (itself, or the items of a List) with what each
/// enforces. A Namespace without an enforce label enforces `privileged`, as PSA does.
pub fn namespaces(document: &Value) -> Vec<(String, Enforce)> {
    match document.get("kind").and_then(Value::as_str) {
        Some("Namespace") => namespace(document).into_iter().collect(),
        Some("List") => document
            .get("items")
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(namespace).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// One Namespace object's name and enforced level; `None` when it is not a named Namespace.
fn namespace(object: &Value) -> Option<(String, Enforce)> {
    if object.get("kind").and_then(Value::as_str) != Some("Namespace") {
        return None;
    }
    let metadata = object.get("metadata")?;
    let name = metadata.get("name")?.as_str()?.to_owned();
    let label = |key: &str| {
        metadata
            .get("labels")
            .and_then(|labels| labels.get(key))
            .and_then(Value::as_str)
    };
    // PSA fails closed on malformed labels: a bad level reads as `restricted`, a bad version
    // as `latest`. An unset level means `privileged`.
    let version = label(ENFORCE_VERSION_LABEL)
        .and_then(parse_pss_version)
        .unwrap_or(Version::Latest);
    let enforce = match label(ENFORCE_LABEL) {
        None | Some("privileged") => Enforce::Privileged,
        Some("baseline") => Enforce::Level(Level::Baseline, version),
        Some(_) => Enforce::Level(Level::Restricted, version),
    };
    Some((name, enforce))
}

/// `v1.N` or `latest`, as `--pss-version` and the enforce-version label hold it; versions newer
/// than this build knows are `latest`, as PSA reads them.
pub fn parse_pss_version(text: &str) -> Option<Version> {
    if text == "latest" {
        return Some(Version::Latest);
    }
    let minor = text.strip_prefix("v1.")?.parse::<u32>().ok()?;
    Some(if minor > crate::pss::NEWEST_MINOR {
        Version::Latest
    } else {
        Version::Minor(minor)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn namespace_labels_give_level_and_version() {
        let document = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": "shop", "labels": {ENFORCE_LABEL: "baseline", ENFORCE_VERSION_LABEL: "v1.25"}}});
        assert_eq!(
            namespaces(&document),
            vec![(
                "shop".to_owned(),
                Enforce::Level(Level::Baseline, Version::Minor(25))
            )]
        );
    }

    #[test]
    fn namespace_without_label_is_privileged_and_lists_are_read() {
        let document = json!({"apiVersion": "v1", "kind": "List", "items": [
            {"kind": "Namespace", "metadata": {"name": "open"}},
            {"kind": "ConfigMap", "metadata": {"name": "x"}},
            {"kind": "Namespace", "metadata": {"name": "locked",
                "labels": {ENFORCE_LABEL: "restricted"}}}]});
        assert_eq!(
            namespaces(&document),
            vec![
                ("open".to_owned(), Enforce::Privileged),
                (
                    "locked".to_owned(),
                    Enforce::Level(Level::Restricted, Version::Latest)
                ),
            ]
        );
    }

    #[test]
    fn unknown_namespace_falls_back_to_default() {
        let policies = Policies {
            fixed: None,
            default: (Level::Baseline, Version::Minor(30)),
            namespaces: HashMap::from([("shop".to_owned(), Enforce::Privileged)]),
            template: template(),
        };
        assert_eq!(policies.held_to(Some("shop")).enforce, Enforce::Privileged);
        assert_eq!(
            policies.held_to(Some("shop")).source,
            LevelSource::Namespace
        );
        let other = policies.held_to(Some("other"));
        assert_eq!(
            other.enforce,
            Enforce::Level(Level::Baseline, Version::Minor(30))
        );
        assert_eq!(other.source, LevelSource::Default);
        assert_eq!(policies.held_to(None).source, LevelSource::Default);
    }

    #[test]
    fn list_item_patches_are_prefixed() {
        let patch: Patch = serde_json::from_value(json!([
            {"op": "add", "path": "/spec/hostNetwork", "value": false},
            {"op": "remove", "path": "/spec/containers/0/ports/0/hostPort"}
        ]))
        .expect("valid patch");
        let ops = prefixed(&patch, "/items/3");
        assert_eq!(
            serde_json::to_value(&ops).expect("serialises"),
            json!([
                {"op": "add", "path": "/items/3/spec/hostNetwork", "value": false},
                {"op": "remove", "path": "/items/3/spec/containers/0/ports/0/hostPort"}
            ])
        );
        assert_eq!(prefixed(&patch, ""), patch.0);
    }

    fn template() -> Policy {
        Policy {
            level: Level::Restricted,
            version: Version::Latest,
            safe_only: false,
            run_as_user: 65532,
            hardening: crate::config::Hardening::default(),
            exemptions: crate::config::Exemptions::default(),
        }
    }
}
