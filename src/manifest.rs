//! One manifest text through the engine: parse the stream, find its workloads, hold each to its
//! level, plan, edit. Pure: text in, results out, no I/O and no printing.
//!
//! This is what the CLI runs per file (and what the benchmark times). It owns the one place
//! where workload-relative patches become document-relative ones (List items) and where
//! findings get their FILE:LINE:COL. It knows nothing of paths, output formats or exit codes.

use crate::config::{Config, LevelChoice};
use crate::plan::{self, Change, HardeningGap, Note, Plan, Unfixable};
use crate::policy::Exemptions;
use crate::pss::{self, Level, Version, Violation};
use crate::workload;
use crate::yaml;
use json_patch::jsonptr::PointerBuf;
use json_patch::{Patch, PatchOperation};
use serde_json::Value;
use std::collections::HashMap;

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
    /// `--default-level`: the Namespace is unknown or has no enforce label.
    Default,
}

/// The level and version a workload is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldTo {
    pub enforce: Enforce,
    pub source: LevelSource,
}

/// How levels are chosen, and the configuration every plan starts from. Built once per run.
#[derive(Debug, Clone)]
pub struct Policies {
    /// `Some` for `--level baseline|restricted`; `None` for `--level namespace`.
    pub fixed: Option<(Level, Version)>,
    /// With `--level namespace`: what workloads are held to whose Namespace is unknown or
    /// has no enforce label.
    pub default: Enforce,
    /// With `--level namespace`: what each Namespace with an enforce label enforces.
    pub namespaces: HashMap<String, Enforce>,
    /// Hardening, defaults and exemptions (flags already applied).
    pub config: Config,
}

impl Policies {
    /// Every workload held to `level` at `version` (`--level baseline|restricted`).
    pub fn fixed(level: Level, version: Version, config: Config) -> Policies {
        Policies {
            fixed: Some((level, version)),
            default: Enforce::Level(level, version),
            namespaces: HashMap::new(),
            config,
        }
    }

    /// Policies from a resolved config: its level and version; with `level: namespace`,
    /// workloads of unknown or unlabelled namespaces are held to `default_level` (`None`:
    /// privileged) at the config's version.
    pub fn new(config: Config, default_level: Option<Level>) -> Policies {
        let version = config.version;
        Policies {
            fixed: match config.level {
                LevelChoice::Fixed(level) => Some((level, version)),
                LevelChoice::Namespace => None,
            },
            default: default_level
                .map_or(Enforce::Privileged, |level| Enforce::Level(level, version)),
            namespaces: HashMap::new(),
            config,
        }
    }

    /// What `namespace` (a workload's `metadata.namespace`) is held to, from the Namespaces
    /// the files declare.
    pub fn held_to(&self, namespace: Option<&str>) -> HeldTo {
        self.held_to_enforcing(namespace.and_then(|name| self.namespaces.get(name).copied()))
    }

    /// What a workload is held to when its Namespace enforces `namespace` (`None`: unknown or
    /// without an enforce label). The one rule for the CLI (Namespaces from files) and the
    /// webhook (Namespaces from the cluster).
    pub fn held_to_enforcing(&self, namespace: Option<Enforce>) -> HeldTo {
        if let Some((level, version)) = self.fixed {
            return HeldTo {
                enforce: Enforce::Level(level, version),
                source: LevelSource::Flag,
            };
        }
        match namespace {
            Some(enforce) => HeldTo {
                enforce,
                source: LevelSource::Namespace,
            },
            None => HeldTo {
                enforce: self.default,
                source: LevelSource::Default,
            },
        }
    }

    /// Records the Namespaces `document` declares (itself or List items) that carry an
    /// enforce label.
    pub fn learn_namespaces(&mut self, document: &Value) {
        self.namespaces.extend(namespaces(document));
    }
}

/// The level for workloads whose namespace is unknown or unlabelled, in files and streams:
/// the config's `defaultLevel` when it sets one, else restricted. PSA's own default for an
/// unlabelled namespace is privileged (the webhook's default), but a file does not say which
/// cluster it goes to.
pub fn manifest_default_level(config: &Config, config_sets_default: bool) -> Option<Level> {
    if config_sets_default {
        config.default_level
    } else {
        Some(Level::Restricted)
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
    /// The patch relative to the workload object (empty when privileged, and unless
    /// [`Keep::Patches`]).
    pub patch: Patch,
    pub changes: Vec<Change>,
    /// The workload cannot reach its level (see [`Plan::blocked`]).
    pub blocked: bool,
    /// Changes left out because the workload cannot reach its level (see [`Plan::withheld`]).
    pub withheld: Vec<Change>,
    /// Advice (see [`Plan::notes`]).
    pub notes: Vec<Note>,
    pub unfixable: Vec<Located<Unfixable>>,
    pub violations: Vec<Located<Violation>>,
    pub hardening_gaps: Vec<Located<HardeningGap>>,
    /// Violations and hardening gaps an exemption covers: listed, never counted.
    pub exempted: Vec<Located<Exempted>>,
}

/// A violation or hardening gap that an exemption (config or `pss-fix.dev/skip`) covers.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Exempted {
    pub check: String,
    /// JSON pointer relative to the workload.
    pub path: String,
    pub message: String,
    /// A K01 hardening gap, not a PSS violation.
    pub hardening: bool,
    /// E.g. `exempted by pss-fix.dev/skip`.
    pub reason: String,
}

/// One finding of a workload, PSS violation or hardening gap, as the reports list it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding<'a> {
    pub check: &'a str,
    /// JSON pointer relative to the workload.
    pub path: &'a str,
    pub message: &'a str,
    pub line: usize,
    pub column: usize,
    /// A K01 hardening gap, not a PSS violation.
    pub hardening: bool,
    /// Why an exemption covers it (listed, not counted); `None` for a finding that counts.
    pub exempted: Option<&'a str>,
}

impl WorkloadReport {
    /// The violations, then the hardening gaps, then what exemptions cover.
    pub fn findings(&self) -> impl Iterator<Item = Finding<'_>> {
        let violations = self.violations.iter().map(|found| Finding {
            check: &found.item.check,
            path: &found.item.path,
            message: &found.item.message,
            line: found.line,
            column: found.column,
            hardening: false,
            exempted: None,
        });
        let gaps = self.hardening_gaps.iter().map(|found| Finding {
            check: &found.item.check,
            path: &found.item.path,
            message: &found.item.message,
            line: found.line,
            column: found.column,
            hardening: true,
            exempted: None,
        });
        let exempted = self.exempted.iter().map(|found| Finding {
            check: &found.item.check,
            path: &found.item.path,
            message: &found.item.message,
            line: found.line,
            column: found.column,
            hardening: found.item.hardening,
            exempted: Some(&found.item.reason),
        });
        violations.chain(gaps).chain(exempted)
    }
}

/// What [`Manifest::process`] keeps besides each workload's findings and plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Nothing more (`check`): the patch, changes, withheld changes, unfixable and notes are
    /// left empty.
    Findings,
    /// The plan too (`check --explain`): only the patch is left empty.
    FindingsAndPlan,
    /// The fixed text, [`Manifest::fixed`] (`fix`); patches, violations, hardening gaps and
    /// exemptions are left empty (changes, withheld changes, unfixable and notes stay).
    FixedText,
    /// Each workload's patch (`patch`).
    Patches,
}

/// A manifest after the engine ran over it.
#[derive(Debug)]
pub struct Manifest {
    pub workloads: Vec<WorkloadReport>,
    /// The fixed text, or `None` when nothing changes (the input is then left untouched).
    pub fixed: Option<String>,
}

impl Manifest {
    /// Judges and plans every workload of `source`, keeping what `keep` asks for besides the
    /// findings. An error (not YAML, or an edit that fails verification) concerns the whole
    /// text.
    pub fn process(source: &str, policies: &Policies, keep: Keep) -> Result<Manifest, yaml::Error> {
        // Document by document: the engine holds one document's tree and values at a time.
        let processed = yaml::process(source, |visit| {
            let found = workload::workloads(visit.document().value());
            // Exactly as many: reports live until the file's output, and a pushed-to `Vec`
            // holds room for four.
            let mut reports = Vec::with_capacity(found.len());
            let mut operations = Vec::new();
            for found in found {
                let mut report = judge(visit, &found, policies, keep)?;
                // A patch is the largest part of a report (its values): it stays only for
                // `patch`, and `fix` moves it into the document's edit.
                if keep != Keep::Patches {
                    let patch = std::mem::take(&mut report.patch);
                    if keep == Keep::FixedText {
                        operations.extend(prefixed(patch, &found.pointer));
                    }
                }
                reports.push(report);
            }
            Ok((reports, Patch(operations)))
        })?;
        // Exactly as many (`flatten` cannot say how many, so collecting it doubles its way up).
        let count = processed.results.iter().map(Vec::len).sum();
        let mut workloads = Vec::with_capacity(count);
        for reports in processed.results {
            workloads.extend(reports);
        }
        Ok(Manifest {
            workloads,
            fixed: processed.text.filter(|text| text != source),
        })
    }
}

/// Holds one workload to its level, plans it and locates every finding. The report keeps
/// what `keep`'s output reads, as it lives until the file's output is written: no findings
/// for [`Keep::FixedText`] (they are not even looked for), no plan for [`Keep::Findings`]. A
/// skip annotation that names no control is an error at the annotation.
fn judge(
    visit: &yaml::Visit<'_>,
    found: &workload::Workload<'_>,
    policies: &Policies,
    keep: Keep,
) -> Result<WorkloadReport, yaml::Error> {
    let findings = keep != Keep::FixedText;
    let plan_read = keep != Keep::Findings;
    let held_to = policies.held_to(found.namespace.as_deref());
    let locate = |path: &str| visit.location(&format!("{}{path}", found.pointer));
    let (plan, hardening_gaps, exemptions) = match held_to.enforce {
        Enforce::Level(level, version) => {
            let policy = policies
                .config
                .policy_for(found, level, version)
                .map_err(|error| {
                    let at = format!("{}{}", found.pointer, error.pointer());
                    visit.error_at(&at, error.to_string())
                })?;
            let gaps = if findings {
                plan::hardening::gaps(found.object, &policy.hardening)
            } else {
                Vec::new()
            };
            (plan::plan(found.object, &policy), gaps, policy.exemptions)
        }
        Enforce::Privileged => (
            Plan {
                patch: Patch(Vec::new()),
                changes: Vec::new(),
                unfixable: Vec::new(),
                violations: Vec::new(),
                blocked: false,
                withheld: Vec::new(),
                notes: Vec::new(),
            },
            Vec::new(),
            Exemptions::default(),
        ),
    };
    let mut exempted = Vec::new();
    let mut violations = Vec::new();
    for violation in kept(findings, plan.violations) {
        match plan::exemption(
            found.object,
            &violation.check,
            &violation.paths,
            &exemptions,
        ) {
            Some(reason) => exempted.push(Exempted {
                check: violation.check,
                path: violation.path,
                message: violation.message,
                hardening: false,
                reason,
            }),
            None => violations.push(violation),
        }
    }
    let mut gaps = Vec::new();
    for gap in hardening_gaps {
        let paths = std::slice::from_ref(&gap.path);
        match plan::exemption(found.object, &gap.check, paths, &exemptions) {
            Some(reason) => exempted.push(Exempted {
                check: gap.check,
                path: gap.path,
                message: gap.message,
                hardening: true,
                reason,
            }),
            None => gaps.push(gap),
        }
    }
    let (line, column) = locate("");
    Ok(WorkloadReport {
        document: visit.index,
        pointer: found.pointer.clone(),
        kind: found.kind.clone(),
        namespace: found.namespace.clone(),
        name: found.name.clone(),
        line,
        column,
        held_to,
        unfixable: located(kept(plan_read, plan.unfixable), |item| &item.path, locate),
        violations: located(violations, |item| &item.path, locate),
        hardening_gaps: located(gaps, |item| &item.path, locate),
        exempted: located(exempted, |item| &item.path, locate),
        patch: plan.patch,
        changes: kept(plan_read, plan.changes),
        blocked: plan.blocked,
        withheld: kept(plan_read, plan.withheld),
        notes: kept(plan_read, plan.notes),
    })
}

/// `items` when the output reads them, without the spare room pushing left; else nothing.
fn kept<T>(read: bool, mut items: Vec<T>) -> Vec<T> {
    if !read {
        return Vec::new();
    }
    items.shrink_to_fit();
    items
}

/// Pairs each finding with the place of the field at its path.
fn located<T>(
    items: Vec<T>,
    path: impl Fn(&T) -> &String,
    locate: impl Fn(&str) -> (usize, usize),
) -> Vec<Located<T>> {
    items
        .into_iter()
        .map(|item| {
            let (line, column) = locate(path(&item));
            Located { item, line, column }
        })
        .collect()
}

/// The operations of `patch` (relative to a workload) made relative to its document, for a
/// workload that sits at `pointer` in it (a List item). The values move, not copied.
fn prefixed(patch: Patch, pointer: &str) -> Vec<PatchOperation> {
    let mut ops = patch.0;
    if pointer.is_empty() {
        return ops;
    }
    let prefix =
        PointerBuf::parse(pointer).expect("workload pointers should be valid JSON pointers");
    let join = |path: &mut PointerBuf| *path = prefix.concat(path);
    for op in &mut ops {
        match op {
            PatchOperation::Add(op) => join(&mut op.path),
            PatchOperation::Remove(op) => join(&mut op.path),
            PatchOperation::Replace(op) => join(&mut op.path),
            PatchOperation::Test(op) => join(&mut op.path),
            PatchOperation::Move(op) => {
                join(&mut op.from);
                join(&mut op.path);
            }
            PatchOperation::Copy(op) => {
                join(&mut op.from);
                join(&mut op.path);
            }
        }
    }
    ops
}

/// The Namespaces a document declares (itself, or the items of a List) that carry an
/// enforce label, with what each enforces (read as PSA reads the labels).
pub fn namespaces(document: &Value) -> Vec<(String, Enforce)> {
    match document.get("kind").and_then(Value::as_str) {
        Some("Namespace") => namespace(document).into_iter().collect(),
        Some(kind) if kind.ends_with("List") => document
            .get("items")
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(namespace).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// One Namespace object's name and enforced level; `None` when it is not a named Namespace or
/// has no enforce label.
fn namespace(object: &Value) -> Option<(String, Enforce)> {
    if object.get("kind").and_then(Value::as_str) != Some("Namespace") {
        return None;
    }
    let metadata = object.get("metadata")?;
    let name = metadata.get("name")?.as_str()?.to_owned();
    let labels = metadata.get("labels")?.as_object()?;
    Some((name, enforce_of_labels(labels)?))
}

/// What a Namespace with these labels enforces; `None` without an enforce label.
pub fn enforce_of_labels(labels: &serde_json::Map<String, Value>) -> Option<Enforce> {
    Some(match pss::enforced_level(labels)? {
        (None, _) => Enforce::Privileged,
        (Some(level), version) => Enforce::Level(level, version),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn namespace_labels_give_level_and_version() {
        let document = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": "shop", "labels": {pss::ENFORCE_LABEL: "baseline",
                pss::ENFORCE_VERSION_LABEL: "v1.25"}}});
        assert_eq!(
            namespaces(&document),
            vec![(
                "shop".to_owned(),
                Enforce::Level(Level::Baseline, Version::Minor(25))
            )]
        );
    }

    #[test]
    fn lists_are_read_and_unlabelled_namespaces_skipped() {
        let document = json!({"apiVersion": "v1", "kind": "List", "items": [
            {"kind": "Namespace", "metadata": {"name": "unlabelled"}},
            {"kind": "Namespace", "metadata": {"name": "open",
                "labels": {pss::ENFORCE_LABEL: "privileged"}}},
            {"kind": "ConfigMap", "metadata": {"name": "x"}},
            {"kind": "Namespace", "metadata": {"name": "locked",
                "labels": {pss::ENFORCE_LABEL: "restricted"}}}]});
        let locked = Enforce::Level(Level::Restricted, Version::Latest);
        assert_eq!(
            namespaces(&document),
            vec![
                ("open".to_owned(), Enforce::Privileged),
                ("locked".to_owned(), locked),
            ]
        );
    }

    #[test]
    fn unknown_namespace_falls_back_to_default() {
        let policies = Policies {
            fixed: None,
            default: Enforce::Level(Level::Baseline, Version::Minor(30)),
            namespaces: HashMap::from([("shop".to_owned(), Enforce::Privileged)]),
            config: Config::default(),
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
        let ops = prefixed(patch.clone(), "/items/3");
        assert_eq!(
            serde_json::to_value(&ops).expect("serialises"),
            json!([
                {"op": "add", "path": "/items/3/spec/hostNetwork", "value": false},
                {"op": "remove", "path": "/items/3/spec/containers/0/ports/0/hostPort"}
            ])
        );
        assert_eq!(prefixed(patch.clone(), ""), patch.0);
    }
}
