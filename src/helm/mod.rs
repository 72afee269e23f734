//! `pss-fix helm`: fix a Helm chart at its source, its values, rather than what it renders.
//!
//! A thin shell over the engine: the chart is rendered with the user's helm ([`Renderer`]),
//! every rendered workload is planned exactly as `fix` plans a file ([`crate::plan`], the same
//! [`Policies`]), and what the plans need is carried back to the values keys that reach it:
//! 1. **Candidates**: keys of the chart's `values.yaml` (and of each subchart's, under its key)
//!    named for security contexts or resources whose value is a mapping or null
//!    ([`values::candidates`]).
//! 2. **Probe**: one render with every candidate marked (`pssFixProbeN: true` merged into its
//!    value) shows which workload and pointer each reaches. A render the chart refuses (a
//!    schema, a `fail`) is split in halves until the refusing keys are isolated, so probing
//!    takes at most `2 x candidates - 1` renders and usually one. Deterministic: candidates in
//!    key order, markers numbered.
//! 3. **Change**: each planned operation is assigned to the candidate reaching the deepest
//!    pointer above it; the value at that pointer before and after the plan gives the values
//!    overlay for that key ([`values::difference`]). Operations no candidate reaches are left.
//! 4. **Check**: the chart is rendered again with the change, and every workload planned
//!    again: what is left is reported with the template file (and line) that writes it, for
//!    the post-renderer (`pss-fix fix --stdout -`) to fix at deploy time.
//!
//! Writing files and printing are the CLI's (`app/helm.rs`); this module runs helm and reads
//! the chart's files, nothing else.

mod render;
pub mod values;

pub use render::{Rendered, Renderer};

use crate::manifest::{Enforce, Policies};
use crate::plan::{self, Plan};
use crate::pointer;
use crate::workload::Workload;
use crate::yaml;
use json_patch::{PatchOperation, RemoveOperation};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// What can go wrong running helm or reading the chart.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot run `{}`: {source} (install Helm 3 or 4, or name it with --helm BIN)", helm.display())]
    Spawn {
        helm: PathBuf,
        source: std::io::Error,
    },
    #[error("`helm {command}` failed ({status}): {stderr}")]
    Helm {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("`helm {command}` printed text that is not YAML: {message}")]
    Output { command: String, message: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{error}", path.display())]
    Yaml { path: PathBuf, error: yaml::Error },
    /// A rendered workload's `pss-fix.dev/skip` annotation, or an exemption, is not valid.
    #[error("{workload}: {source}")]
    Policy {
        workload: String,
        source: crate::config::Error,
    },
}

/// The chart's values as files hold them.
#[derive(Debug)]
pub struct Chart {
    /// The chart directory, when the chart is one: its `values.yaml` can be edited and its
    /// templates searched.
    pub dir: Option<PathBuf>,
    /// The text of the chart's `values.yaml` (empty when it has none).
    pub values_text: String,
    values: Value,
    subcharts: Vec<Subchart>,
}

/// A subchart under `charts/`.
#[derive(Debug)]
struct Subchart {
    /// Its key in the parent's values: its alias, else its name (helm also names its rendered
    /// files `PARENT/charts/KEY/...`).
    key: String,
    /// Its default values.
    defaults: Value,
    /// Its directory, when unpacked.
    dir: Option<PathBuf>,
}

impl Chart {
    /// Reads the chart's values: from its directory, or with `helm show values` for a packaged
    /// or remote chart (whose subcharts are then not searched). Subcharts are the directories
    /// and packages under `charts/`.
    pub fn load(renderer: &Renderer) -> Result<Chart, Error> {
        let dir = Path::new(&renderer.chart);
        if !dir.is_dir() {
            let values_text = renderer.show("values", dir)?;
            let values = first_document(&values_text, dir)?;
            return Ok(Chart {
                dir: None,
                values_text,
                values,
                subcharts: Vec::new(),
            });
        }
        let values_path = dir.join("values.yaml");
        let values_text = match std::fs::read_to_string(&values_path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(Error::Io {
                    path: values_path,
                    source,
                })
            }
        };
        let values = first_document(&values_text, &values_path)?;
        let subcharts = subcharts(renderer, dir)?;
        Ok(Chart {
            dir: Some(dir.to_path_buf()),
            values_text,
            values,
            subcharts,
        })
    }

    /// The candidate keys, the chart's own first, then each subchart's under its key.
    pub fn candidates(&self) -> Vec<String> {
        let mut found = Vec::new();
        values::candidates(&self.values, "", &mut found);
        for subchart in &self.subcharts {
            let mut prefix = String::new();
            pointer::push_token(&mut prefix, &subchart.key);
            values::candidates(&subchart.defaults, &prefix, &mut found);
        }
        found
    }

    /// The chart's `values.yaml` with `overlay` written into it by the format-preserving
    /// editor (comments, order and layout kept).
    pub fn edited_values(&self, overlay: &Value) -> Result<String, Error> {
        let path = self.values_path();
        let stream = yaml::Stream::parse(&self.values_text).map_err(|error| Error::Yaml {
            path: path.clone(),
            error,
        })?;
        let keep_null: Vec<String> = self
            .subcharts
            .iter()
            .map(|subchart| subchart.key.clone())
            .collect();
        if stream.documents().is_empty() {
            // Nothing to edit in place (an empty or comment-only file): the change follows.
            return Ok(format!("{}{}", self.values_text, override_text(overlay)?));
        }
        let patch = values::patch(&self.values, overlay, &keep_null);
        stream
            .edit(&[(0, patch)])
            .map_err(|error| Error::Yaml { path, error })
    }

    /// Where the chart's `values.yaml` is (or would be).
    pub fn values_path(&self) -> PathBuf {
        self.dir
            .as_deref()
            .unwrap_or(Path::new("."))
            .join("values.yaml")
    }

    /// The file and line of the template that writes `pointer` of a workload helm says came
    /// from `source` (`template_line`). Only for a chart directory; `source` alone otherwise.
    pub fn template_location(&self, source: &str, pointer: &str) -> String {
        let Some(dir) = &self.dir else {
            return source.to_owned();
        };
        // helm names files `CHART_NAME/templates/...` and `CHART_NAME/charts/KEY/...`; the
        // directories may be named otherwise.
        let Some((_, relative)) = source.split_once('/') else {
            return source.to_owned();
        };
        let in_subchart = self.subcharts.iter().find_map(|subchart| {
            let rest = relative.strip_prefix(&format!("charts/{}/", subchart.key))?;
            Some(subchart.dir.as_ref()?.join(rest))
        });
        let path = in_subchart.unwrap_or_else(|| dir.join(relative));
        let Ok(text) = std::fs::read_to_string(&path) else {
            return source.to_owned();
        };
        match template_line(&text, pointer) {
            Some(line) => format!("{}:{line}", path.display()),
            None => path.display().to_string(),
        }
    }
}

/// The 1-based line of a template that writes `pointer`, or its deepest ancestor found: each
/// key of the pointer is looked for below the previous one's line, deeper indented, until a
/// line indented no deeper ends the block. Template actions (`{{ ... }}` lines) and comments
/// are skipped; sequence indices are not counted (the first item is searched).
fn template_line(text: &str, pointer: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let (mut found, mut start, mut parent_indent) = (None, 0, None);
    for key in pointer::tokens(pointer) {
        if pointer::index_token(&key).is_some() {
            continue;
        }
        let mut hit = None;
        for (index, line) in lines.iter().enumerate().skip(start) {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with("{{") || trimmed.starts_with('#') {
                continue;
            }
            let indent = line.len() - trimmed.len();
            if parent_indent.is_some_and(|parent| indent <= parent) {
                break;
            }
            let body = trimmed.strip_prefix("- ").unwrap_or(trimmed);
            let names_key = body
                .strip_prefix(key.as_ref())
                .is_some_and(|rest| rest.trim_start().starts_with(':'));
            if names_key {
                hit = Some((index, line.len() - body.len()));
                break;
            }
        }
        let Some((index, indent)) = hit else {
            break;
        };
        found = Some(index + 1);
        start = index + 1;
        parent_indent = Some(indent);
    }
    found
}

/// The value of the first document of a values file (null when it has none).
fn first_document(text: &str, path: &Path) -> Result<Value, Error> {
    let stream = yaml::Stream::parse(text).map_err(|error| Error::Yaml {
        path: path.to_path_buf(),
        error,
    })?;
    Ok(stream
        .documents()
        .first()
        .map_or(Value::Null, |document| document.value().clone()))
}

/// The subcharts under `dir/charts`, in name order: each one's key in the parent's values (the
/// alias the parent's `Chart.yaml` gives it, else its name) and its default values.
fn subcharts(renderer: &Renderer, dir: &Path) -> Result<Vec<Subchart>, Error> {
    let charts = dir.join("charts");
    let Ok(entries) = std::fs::read_dir(&charts) else {
        return Ok(Vec::new());
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
    paths.sort();
    let chart_file = dir.join("Chart.yaml");
    let parent = match std::fs::read_to_string(&chart_file) {
        Ok(text) => first_document(&text, &chart_file)?,
        Err(_) => Value::Null,
    };
    let mut found = Vec::new();
    for path in paths {
        let (metadata, defaults) = if path.is_dir() {
            let chart_file = path.join("Chart.yaml");
            let Ok(text) = std::fs::read_to_string(&chart_file) else {
                continue;
            };
            let values_file = path.join("values.yaml");
            let values = match std::fs::read_to_string(&values_file) {
                Ok(text) => first_document(&text, &values_file)?,
                Err(_) => Value::Null,
            };
            (first_document(&text, &chart_file)?, values)
        } else if path.extension().is_some_and(|extension| extension == "tgz") {
            let metadata = renderer.show("chart", &path)?;
            let values = renderer.show("values", &path)?;
            (
                first_document(&metadata, &path)?,
                first_document(&values, &path)?,
            )
        } else {
            continue;
        };
        let Some(name) = metadata.get("name").and_then(Value::as_str) else {
            continue;
        };
        let unpacked = path.is_dir().then_some(path.clone());
        for key in subchart_keys(&parent, name) {
            found.push(Subchart {
                key,
                defaults: defaults.clone(),
                dir: unpacked.clone(),
            });
        }
    }
    Ok(found)
}

/// The keys a subchart named `name` has in its parent's values: one per dependency entry of
/// the parent's `Chart.yaml` naming it (its alias, else its name), else its name.
fn subchart_keys(parent: &Value, name: &str) -> Vec<String> {
    let keys: Vec<String> = parent
        .get("dependencies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|dependency| dependency.get("name").and_then(Value::as_str) == Some(name))
        .map(|dependency| {
            dependency
                .get("alias")
                .and_then(Value::as_str)
                .unwrap_or(name)
                .to_owned()
        })
        .collect();
    if keys.is_empty() {
        vec![name.to_owned()]
    } else {
        keys
    }
}

/// An override file's text for `overlay` (block YAML, as `helm -f` takes it), written by the
/// same editor that edits values files: into a block mapping whose one placeholder entry the
/// same edit removes (an empty `{}` document would be taken for JSON).
pub fn override_text(overlay: &Value) -> Result<String, Error> {
    const START: &str =
        "# Values from `pss-fix helm`: pass with `helm upgrade -f`.\npssFixPlaceholder: null\n";
    let stream = yaml::Stream::parse(START).expect("the start should parse");
    let mut patch = values::patch(&Value::Object(Map::new()), overlay, &[]);
    patch.0.push(PatchOperation::Remove(RemoveOperation {
        path: json_patch::jsonptr::PointerBuf::from_tokens(["pssFixPlaceholder"]),
    }));
    stream.edit(&[(0, patch)]).map_err(|error| Error::Yaml {
        path: PathBuf::from("<override>"),
        error,
    })
}

/// A workload as the report names it: `KIND/NAMESPACE/NAME` (no namespace: `KIND/NAME`).
fn label(found: &Workload) -> String {
    let name = found.name.as_deref().unwrap_or("<unnamed>");
    match &found.namespace {
        Some(namespace) => format!("{}/{namespace}/{name}", found.kind),
        None => format!("{}/{name}", found.kind),
    }
}

/// Plans one rendered workload as `fix` would; `None` when its namespace is privileged. A
/// workload with no namespace goes to the release namespace, as `helm install` puts it there.
fn plan_workload(
    found: &Workload,
    policies: &Policies,
    release_namespace: &str,
) -> Result<Option<Plan>, Error> {
    let namespace = found.namespace.as_deref().unwrap_or(release_namespace);
    match policies.held_to(Some(namespace)).enforce {
        Enforce::Privileged => Ok(None),
        Enforce::Level(level, version) => {
            let policy = policies
                .config
                .policy_for(found, level, version)
                .map_err(|source| Error::Policy {
                    workload: label(found),
                    source,
                })?;
            Ok(Some(plan::plan(found.object, &policy)))
        }
    }
}

/// Where a candidate's value lands in one rendered workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// The candidate's pointer in the values (`/controller/podSecurityContext`).
    pub key: String,
    /// The workload (`KIND/NAMESPACE/NAME`).
    pub workload: String,
    /// The pointer in the workload where the value lands.
    pub pointer: String,
}

/// What probing found and the values change it gives.
#[derive(Debug, Default)]
pub struct Probed {
    /// The candidate keys probed (values pointers).
    pub candidates: Vec<String>,
    /// Where each candidate reaches, in render order.
    pub reaches: Vec<Reach>,
    /// Candidates the chart would not render with a probe value, with helm's message.
    pub refused: Vec<(String, String)>,
    /// The values change: an override's values (`null` deletes a key). Null: no change.
    pub overlay: Value,
}

/// The values change for a chart, and what it was found from.
#[derive(Debug)]
pub struct Proposal {
    pub probed: Probed,
    /// The rendered workloads whose plan was not empty before the change.
    pub needing: Vec<String>,
    /// The render without change, kept to judge when there is no change.
    baseline: Rendered,
}

impl Proposal {
    /// Whether the proposal changes any value.
    pub fn changes(&self) -> bool {
        self.probed
            .overlay
            .as_object()
            .is_some_and(|map| !map.is_empty())
    }
}

/// Renders the chart, plans its workloads, probes the candidates and computes the values
/// change. With `--level namespace`, the Namespaces the chart renders are learned into
/// `policies` first.
pub fn propose(
    renderer: &Renderer,
    chart: &Chart,
    policies: &mut Policies,
) -> Result<Proposal, Error> {
    let baseline = renderer.render(&[])?;
    if policies.fixed.is_none() {
        for document in baseline.values() {
            policies.learn_namespaces(document);
        }
    }
    let mut planned: Vec<(Workload, Plan)> = Vec::new();
    for (found, _) in baseline.workloads() {
        if let Some(plan) = plan_workload(&found, policies, &renderer.namespace)? {
            if !plan.patch.0.is_empty() {
                planned.push((found, plan));
            }
        }
    }
    let needing: Vec<String> = planned.iter().map(|(found, _)| label(found)).collect();
    let mut probed = Probed::default();
    if !planned.is_empty() {
        probed.candidates = chart.candidates();
        let all: Vec<usize> = (0..probed.candidates.len()).collect();
        probe(renderer, &mut probed, &all)?;
        for (found, plan) in &planned {
            carry(found, plan, &mut probed);
        }
    }
    drop(planned);
    Ok(Proposal {
        probed,
        needing,
        baseline,
    })
}

/// Renders with the candidates `indices` probed and records where each reaches; a render the
/// chart refuses is split in halves, down to the single keys it refuses.
fn probe(renderer: &Renderer, probed: &mut Probed, indices: &[usize]) -> Result<(), Error> {
    if indices.is_empty() {
        return Ok(());
    }
    let marked = values::probe(&probed.candidates, indices);
    match renderer.render(&[marked.to_string()]) {
        Ok(rendered) => {
            for (found, _) in rendered.workloads() {
                for (index, pointer) in values::markers(found.object) {
                    if let Some(key) = probed.candidates.get(index) {
                        probed.reaches.push(Reach {
                            key: key.clone(),
                            workload: label(&found),
                            pointer,
                        });
                    }
                }
            }
            Ok(())
        }
        Err(Error::Helm { stderr, .. }) if indices.len() == 1 => {
            let key = probed.candidates[indices[0]].clone();
            probed.refused.push((key, stderr));
            Ok(())
        }
        Err(Error::Helm { .. }) => {
            let (first, second) = indices.split_at(indices.len() / 2);
            probe(renderer, probed, first)?;
            probe(renderer, probed, second)
        }
        Err(other) => Err(other),
    }
}

/// Fields a container's securityContext shares with the pod's: a pod-level change no values
/// key reaches can be made in every container instead (PSA accepts either place).
const SHARED_CONTEXT_FIELDS: [&str; 7] = [
    "runAsNonRoot",
    "runAsUser",
    "runAsGroup",
    "seccompProfile",
    "seLinuxOptions",
    "appArmorProfile",
    "windowsOptions",
];

/// Carries one workload's plan back to the values: each operation goes to the candidate that
/// reaches the deepest pointer at or above it (the more specific key on a tie: the longer
/// values pointer, then the first), and each used reach adds the difference its pointer's
/// value undergoes to its key's overlay. A pod-level securityContext no key reaches is moved
/// into the containers when keys reach every container's ([`SHARED_CONTEXT_FIELDS`]).
fn carry(found: &Workload, plan: &Plan, probed: &mut Probed) {
    let name = label(found);
    let reaches: Vec<&Reach> = probed
        .reaches
        .iter()
        .filter(|reach| reach.workload == name)
        .collect();
    let reaching = |path: &str| {
        let mut best: Option<&Reach> = None;
        for reach in reaches
            .iter()
            .filter(|reach| is_at_or_under(path, &reach.pointer))
        {
            let depth = |reach: &Reach| (reach.pointer.len(), reach.key.len());
            if best.is_none_or(|best| depth(reach) > depth(best)) {
                best = Some(reach);
            }
        }
        best
    };
    let mut used: Vec<&Reach> = Vec::new();
    let mut unreached: Vec<String> = Vec::new();
    for operation in &plan.patch.0 {
        let path = operation.path().to_string();
        match reaching(&path) {
            Some(reach) if !used.contains(&reach) => used.push(reach),
            Some(_) => {}
            None => unreached.push(path),
        }
    }
    let mut desired = found.object.clone();
    if json_patch::patch(&mut desired, &plan.patch.0).is_err() {
        return;
    }
    if let Some(pod) = found.pod_pointers() {
        let contexts = container_contexts(found.object, pod.spec);
        let targets: Option<Vec<&Reach>> = contexts
            .iter()
            .map(|context| reaching(context).filter(|reach| reach.pointer == *context))
            .collect();
        let pod_context = format!("{}/securityContext", pod.spec);
        let moved = shared_fields(&desired, found.object, &pod_context, &unreached);
        if let (Some(targets), false) = (targets, moved.is_empty()) {
            for (context, reach) in contexts.iter().zip(targets) {
                move_into(&mut desired, context, &moved);
                if !used.contains(&reach) {
                    used.push(reach);
                }
            }
        }
    }
    let mut overlays = Vec::new();
    for reach in used {
        let Some(new) = pointer::lookup(&desired, &reach.pointer) else {
            continue;
        };
        let old = pointer::lookup(found.object, &reach.pointer);
        if let Some(change) = values::difference(old, new) {
            overlays.push((reach.key.clone(), change));
        }
    }
    for (key, change) in overlays {
        values::insert(&mut probed.overlay, &key, change);
    }
}

/// The securityContext pointers of every init and regular container of the pod spec at `spec`.
fn container_contexts(object: &Value, spec: &str) -> Vec<String> {
    let mut contexts = Vec::new();
    for list in ["initContainers", "containers"] {
        let Some(Value::Array(containers)) = pointer::lookup(object, &format!("{spec}/{list}"))
        else {
            continue;
        };
        for index in 0..containers.len() {
            contexts.push(format!("{spec}/{list}/{index}/securityContext"));
        }
    }
    contexts
}

/// The fields containers share with the pod's securityContext (at `pod_context`) that the plan
/// changes there and no key reaches (`unreached` operation paths), with their planned values.
fn shared_fields(
    desired: &Value,
    original: &Value,
    pod_context: &str,
    unreached: &[String],
) -> Map<String, Value> {
    let Some(Value::Object(planned)) = pointer::lookup(desired, pod_context) else {
        return Map::new();
    };
    let before = pointer::lookup(original, pod_context);
    SHARED_CONTEXT_FIELDS
        .iter()
        .filter(|field| {
            let path = format!("{pod_context}/{field}");
            unreached
                .iter()
                .any(|op| is_at_or_under(op, &path) || is_at_or_under(&path, op))
                && before.and_then(|before| before.get(**field)) != planned.get(**field)
        })
        .filter_map(|field| Some(((*field).to_owned(), planned.get(*field)?.clone())))
        .collect()
}

/// Sets each of `fields` in the container securityContext at `context` that does not set it.
fn move_into(desired: &mut Value, context: &str, fields: &Map<String, Value>) {
    let (container, _) = context
        .rsplit_once('/')
        .expect("container context pointers end in /securityContext");
    let Some(Value::Object(container)) = pointer::lookup_mut(desired, container) else {
        return;
    };
    let slot = container
        .entry("securityContext")
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let Value::Object(context) = slot {
        for (field, value) in fields {
            context
                .entry(field.clone())
                .or_insert_with(|| value.clone());
        }
    }
}

/// Whether `path` is `parent` or a pointer below it.
fn is_at_or_under(path: &str, parent: &str) -> bool {
    path.strip_prefix(parent)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// One thing a workload still needs after the change.
#[derive(Debug, Clone)]
pub struct Left {
    pub check: String,
    /// Pointer in the workload.
    pub pointer: String,
    /// What the post-renderer would do, or why even it cannot.
    pub what: String,
    /// The engine fixes it (so the post-renderer will); false: nothing can.
    pub fixable: bool,
    /// A K01 hardening change, not a PSS violation.
    pub hardening: bool,
    /// The template file (and line) that writes it, when found.
    pub template: Option<String>,
}

/// One rendered workload after the change.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// `KIND/NAMESPACE/NAME`.
    pub workload: String,
    /// Whether it meets its level (no PSS violation left; hardening is listed apart).
    pub passes: bool,
    pub left: Vec<Left>,
}

/// Renders the chart with `extra` values (none: the chart as it now is) and judges every
/// workload; without a change, the baseline render is judged instead of rendering again.
pub fn check(
    renderer: &Renderer,
    chart: &Chart,
    policies: &Policies,
    proposal: &Proposal,
    extra: &[String],
) -> Result<Vec<Verdict>, Error> {
    let rendered;
    let judged = if proposal.changes() || !extra.is_empty() {
        rendered = renderer.render(extra)?;
        &rendered
    } else {
        &proposal.baseline
    };
    judged
        .workloads()
        .into_iter()
        .map(|(found, source)| verdict(&found, source, chart, policies, &renderer.namespace))
        .collect()
}

fn verdict(
    found: &Workload,
    source: Option<&str>,
    chart: &Chart,
    policies: &Policies,
    release_namespace: &str,
) -> Result<Verdict, Error> {
    let workload = label(found);
    let Some(plan) = plan_workload(found, policies, release_namespace)? else {
        return Ok(Verdict {
            workload,
            passes: true,
            left: Vec::new(),
        });
    };
    let template = |pointer: &str| source.map(|source| chart.template_location(source, pointer));
    let mut left: Vec<Left> = plan
        .changes
        .iter()
        .map(|change| Left {
            check: change.check.clone(),
            pointer: change.path.clone(),
            what: change.description.to_owned(),
            fixable: true,
            hardening: change.level.is_none(),
            template: template(&change.path),
        })
        .collect();
    left.extend(plan.unfixable.iter().map(|unfixable| Left {
        check: unfixable.check.clone(),
        pointer: unfixable.path.clone(),
        what: unfixable.reason.clone(),
        fixable: false,
        hardening: false,
        template: template(&unfixable.path),
    }));
    Ok(Verdict {
        workload,
        passes: plan.violations.is_empty(),
        left,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TEMPLATE: &str = "\
apiVersion: apps/v1
kind: DaemonSet
spec:
  template:
    spec:
      {{- with .Values.podSecurityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      initContainers:
        - name: init
          image: x
      containers:
        - name: agent
          securityContext:
            privileged: true
";

    #[test]
    fn template_line_follows_the_pointer_down_the_blocks() {
        let privileged = "/spec/template/spec/containers/0/securityContext/privileged";
        assert_eq!(template_line(TEMPLATE, privileged), Some(16));
        // A field the template does not write: its deepest ancestor that it does.
        let missing = "/spec/template/spec/containers/0/securityContext/runAsNonRoot";
        assert_eq!(template_line(TEMPLATE, missing), Some(15));
        // The init container has no securityContext: not the agent's, further down.
        let init = "/spec/template/spec/initContainers/0/securityContext/privileged";
        assert_eq!(template_line(TEMPLATE, init), Some(10));
        assert_eq!(template_line(TEMPLATE, "/metadata/name"), None);
    }

    #[test]
    fn subchart_keys_are_aliases_else_the_name() {
        let parent = json!({"dependencies": [
            {"name": "db", "alias": "primary"}, {"name": "db", "alias": "replica"},
            {"name": "cache"}]});
        assert_eq!(subchart_keys(&parent, "db"), ["primary", "replica"]);
        assert_eq!(subchart_keys(&parent, "cache"), ["cache"]);
        assert_eq!(subchart_keys(&Value::Null, "queue"), ["queue"]);
    }

    #[test]
    fn override_text_is_block_yaml_helm_reads_back() {
        let overlay = json!({"controller": {"securityContext": {"runAsNonRoot": true,
            "capabilities": {"drop": ["ALL"]}}}});
        let text = override_text(&overlay).expect("renders");
        assert_eq!(
            text,
            "# Values from `pss-fix helm`: pass with `helm upgrade -f`.\n\
controller:\n  securityContext:\n    capabilities:\n      drop:\n      - ALL\n    \
runAsNonRoot: true\n"
        );
        let read = yaml::Stream::parse(&text).expect("parses");
        assert_eq!(read.documents()[0].value(), &overlay);
    }
}
