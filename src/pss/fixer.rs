//! The editing side of a plan: a copy of the workload the remedies change, with every change
//! recorded (and every refused one, with its reason). The patch is computed afterwards from
//! the copy (see `diff`), so remedies only say what the result must be.
//!
//! A borrowed workload is copied on the first edit: a compliant one, the common case, costs no
//! copy, no re-check and no diff (see [`Fixer::untouched`]). An owned one (the webhook's) is
//! edited in place. Either way, before the first edit in a subtree its original is saved, and
//! the diff reads only those.

use crate::pointer::{index_token, lookup, lookup_mut};
use crate::pointer::{raw_tokens, tokens, unescape};
use crate::policy::{Exemptions, Level, Policy, Safety};
use crate::pss::catalog::Remedy;
use crate::pss::pod::Pod;
use crate::workload::{workload_kind, PodPointers};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

/// Reason recorded when `--safe-only` keeps a remedy out.
pub const SAFE_ONLY_REASON: &str = "changes behaviour; not applied with --safe-only";

/// Reason recorded when a remedy would add a Linux-only field to a Windows pod.
pub const WINDOWS_REASON: &str =
    "Linux-only field; the API server rejects it in a Windows pod (spec.os.name: windows)";

/// securityContext and pod spec fields the API server rejects in a Windows pod.
const LINUX_ONLY: [&str; 12] = [
    "allowPrivilegeEscalation",
    "appArmorProfile",
    "capabilities",
    "privileged",
    "procMount",
    "readOnlyRootFilesystem",
    "runAsGroup",
    "runAsUser",
    "seLinuxOptions",
    "seccompProfile",
    "sysctls",
    "hostUsers",
];

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
    /// What was done, e.g. `set allowPrivilegeEscalation to false` (the catalog's words,
    /// not a copy: reports keep every change of a file until its output).
    pub description: &'static str,
}

/// A violation the plan leaves, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Unfixable {
    pub check: String,
    pub path: String,
    pub reason: String,
}

/// Advice about a workload the plan could act on only in part, e.g. to set
/// `spec.os.name: windows` on a pod that selects Windows nodes.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Note {
    /// JSON pointer it is about (relative to the workload).
    pub path: String,
    pub message: String,
}

/// A subtree saved before its first edit: its pointer (RFC 6901, relative to the workload)
/// and its value then (`None`: it did not exist).
pub type Original<'t> = (&'t str, Option<&'t Value>);

/// Why a remedy may not run (see [`Fixer::withheld`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Withheld {
    /// An exemption chose to keep the violation; the reason names the container and source.
    Exempted(String),
    /// `--safe-only` keeps a behaviour-changing remedy out.
    SafeOnly,
}

impl Withheld {
    pub fn reason(&self) -> &str {
        match self {
            Withheld::Exempted(reason) => reason,
            Withheld::SafeOnly => SAFE_ONLY_REASON,
        }
    }
}

/// The workload copy under repair.
#[derive(Debug)]
pub struct Fixer<'p> {
    object: Cow<'p, Value>,
    /// The workload's kind and pod pointers, found once (remedies never change the kind).
    kind: Option<(&'static str, PodPointers)>,
    policy: &'p Policy,
    windows: bool,
    /// Why the workload as it came runs on Windows nodes without `spec.os.name` (see
    /// [`Pod::windows_by_selection`]; a remedy may turn `hostProcess` off, not the node OS).
    windows_selection: Option<&'static str>,
    pub(crate) changes: Vec<Change>,
    pub(crate) notes: Vec<Note>,
    pub(crate) refused: Vec<Unfixable>,
    /// The entries of `refused`, to keep each once in time linear in their number.
    refused_once: HashSet<Unfixable>,
    /// Checks an exemption kept a remedy from (for a container or the whole workload): what
    /// stays violated for them was chosen, and does not block the level.
    pub(crate) exempted: Vec<String>,
    /// The original of every subtree an edit was made (or tried) in, disjoint, by pointer;
    /// empty until the first edit. Ordered, so that the saved subtrees inside a pointer are one
    /// range and the ones around it a few lookups: one edit per container of a pod with
    /// 50,000 containers stays linear (a list made it quadratic: 77 s of CPU).
    originals: BTreeMap<String, Option<Value>>,
}

impl<'p> Fixer<'p> {
    pub fn new(workload: Cow<'p, Value>, policy: &'p Policy) -> Fixer<'p> {
        let mut fixer = Fixer {
            kind: workload_kind(&workload),
            object: workload,
            policy,
            windows: false,
            windows_selection: None,
            changes: Vec::new(),
            notes: Vec::new(),
            refused: Vec::new(),
            refused_once: HashSet::new(),
            exempted: Vec::new(),
            originals: BTreeMap::new(),
        };
        fixer.windows = fixer.pod().is_some_and(|pod| pod.is_windows());
        fixer.windows_selection = fixer.pod().and_then(|pod| pod.windows_by_selection());
        fixer
    }

    /// The pod as the remedies have left it so far.
    pub fn pod(&self) -> Option<Pod<'_>> {
        let (kind, pointers) = self.kind?;
        Pod::of_kind(&self.object, kind, pointers)
    }

    /// Whether the workload runs on Windows nodes, by `spec.os.name` or by its selection.
    pub fn targets_windows(&self) -> bool {
        self.windows || self.windows_selection.is_some()
    }

    /// Why the workload runs on Windows nodes though `spec.os.name` does not say so.
    pub fn windows_selection(&self) -> Option<&'static str> {
        self.windows_selection
    }

    pub fn policy(&self) -> &'p Policy {
        self.policy
    }

    pub fn exemptions(&self) -> &'p Exemptions {
        &self.policy.exemptions
    }

    pub fn object(&self) -> &Value {
        &self.object
    }

    /// True when no edit was attempted, so the object is the workload as it came; `false`
    /// does not mean it changed.
    pub fn untouched(&self) -> bool {
        self.originals.is_empty()
    }

    /// The originals of the subtrees edits were made or attempted in; the object equals the
    /// workload everywhere else.
    pub fn originals(&self) -> impl Iterator<Item = Original<'_>> {
        self.originals
            .iter()
            .map(|(pointer, original)| (pointer.as_str(), original.as_ref()))
    }

    /// The originals of the edited subtrees (see [`Fixer::originals`]) and the edited object,
    /// for a caller done with the fixer.
    pub fn into_edits(self) -> (BTreeMap<String, Option<Value>>, Value) {
        (self.originals, self.object.into_owned())
    }

    /// The object to edit inside the subtree at `pointer`, its original saved.
    fn edit_within(&mut self, pointer: &str) -> &mut Value {
        self.save_original(pointer);
        self.object.to_mut()
    }

    /// Saves the original of the subtree at `pointer`, or of its first missing level (an edit
    /// creates it whole), unless a saved subtree holds it. Saved subtrees inside it are put
    /// back to their originals in the copy and give way to it.
    fn save_original(&mut self, pointer: &str) {
        // Within a saved subtree, so is its first missing level.
        if ancestors_or_self(pointer).any(|ancestor| self.originals.contains_key(ancestor)) {
            return;
        }
        let (at, found) = existing_prefix(&self.object, pointer);
        let mut original = found.cloned();
        // The pointers strictly inside `at` are those from `at/` up to `at0` ('0' follows '/').
        let inside: Vec<String> = self
            .originals
            .range(format!("{at}/")..format!("{at}0"))
            .map(|(inner, _)| inner.clone())
            .collect();
        for inner in inside {
            let value = self
                .originals
                .remove(&inner)
                .expect("a pointer just read from the map should be in it");
            if let Some(original) = &mut original {
                restore(original, &inner[at.len()..], value);
            }
        }
        self.originals.insert(at.to_string(), original);
    }

    /// Whether `check` is exempted for any of `containers` (then a pod-level field, which
    /// would cover them too, must not be used).
    pub fn any_exempt<'n>(
        &self,
        check: &str,
        mut containers: impl Iterator<Item = &'n str>,
    ) -> bool {
        containers.any(|name| self.exemptions().exempts_container(check, name))
    }

    /// Records advice for the user about `path`.
    pub fn note(&mut self, path: &str, message: String) {
        self.notes.push(Note {
            path: path.to_string(),
            message,
        });
    }

    /// Records that an exemption keeps `check` violated at `path`.
    pub fn refuse_exempted(&mut self, check: &str, path: &str, reason: &str) {
        if !self.exempted.iter().any(|exempted| exempted == check) {
            self.exempted.push(check.to_string());
        }
        self.refuse(check, path, reason);
    }

    /// Records that `check` stays violated at `path`, and why.
    pub fn refuse(&mut self, check: &str, path: &str, reason: &str) {
        let entry = Unfixable {
            check: check.to_string(),
            path: path.to_string(),
            reason: reason.to_string(),
        };
        if self.refused_once.insert(entry.clone()) {
            self.refused.push(entry);
        }
    }

    /// Why `remedy` may not run for `check` (and `container`, when it is about one): an
    /// exemption or `--safe-only`; `None` when it may. Records nothing, so a remedy can ask
    /// whether another one will act.
    pub fn withheld(
        &self,
        check: &str,
        remedy: &'static Remedy,
        container: Option<&str>,
    ) -> Option<Withheld> {
        if let Some(name) = container {
            if self.exemptions().exempts_container(check, name) {
                let source = self.exemptions().source.as_deref().unwrap_or("config");
                return Some(Withheld::Exempted(format!(
                    "container \"{name}\" exempted by {source}"
                )));
            }
        }
        (self.policy.safe_only && remedy.safety == Safety::ChangesBehaviour)
            .then_some(Withheld::SafeOnly)
    }

    /// Whether `remedy` may run at `path` for `check` (and `container`): see [`Self::withheld`].
    /// Records the refusal otherwise.
    fn permit(
        &mut self,
        check: &str,
        remedy: &'static Remedy,
        path: &str,
        container: Option<&str>,
    ) -> bool {
        match self.withheld(check, remedy, container) {
            Some(Withheld::Exempted(reason)) => self.refuse_exempted(check, path, &reason),
            Some(Withheld::SafeOnly) => self.refuse(check, path, SAFE_ONLY_REASON),
            None => return true,
        }
        false
    }

    /// Sets `key` to `value` in the object at `parent`, creating missing parents. Refused (and
    /// recorded) when exempted, unsafe under `--safe-only`, or a new Linux-only field in a
    /// Windows pod. Returns whether it was set.
    pub fn set(
        &mut self,
        check: &str,
        remedy: &'static Remedy,
        parent: &str,
        key: &str,
        value: Value,
        container: Option<&str>,
    ) -> bool {
        let path = crate::pss::pod::child(parent, key);
        if !self.permit(check, remedy, &path, container) {
            return false;
        }
        if self.windows && lookup(&self.object, &path).is_none() && adds_linux_only(&path) {
            self.refuse(check, &path, WINDOWS_REASON);
            return false;
        }
        let Some(target) = ensure_object(self.edit_within(&path), parent) else {
            self.refuse(check, &path, "the parent field is not an object");
            return false;
        };
        target.insert(key.to_string(), value);
        self.record(check, remedy, path);
        true
    }

    /// Appends `value` to the array at `path` (created when missing).
    pub fn append(
        &mut self,
        check: &str,
        remedy: &'static Remedy,
        path: &str,
        value: Value,
        container: Option<&str>,
    ) -> bool {
        if !matches!(lookup(&self.object, path), Some(Value::Array(_))) {
            let (parent, key) = split_last(path);
            return self.set(
                check,
                remedy,
                parent,
                &key,
                Value::Array(vec![value]),
                container,
            );
        }
        if !self.permit(check, remedy, path, container) {
            return false;
        }
        if let Some(Value::Array(items)) = lookup_mut(self.edit_within(path), path) {
            items.push(value);
        }
        self.record(check, remedy, path.to_string());
        true
    }

    /// Replaces the existing field or array item at `path` with `value`.
    pub fn replace(
        &mut self,
        check: &str,
        remedy: &'static Remedy,
        path: &str,
        value: Value,
        container: Option<&str>,
    ) -> bool {
        if lookup(&self.object, path).is_none() || !self.permit(check, remedy, path, container) {
            return false;
        }
        if let Some(target) = lookup_mut(self.edit_within(path), path) {
            *target = value;
        }
        self.record(check, remedy, path.to_string());
        true
    }

    /// Removes the field or array item at `path`.
    pub fn remove(
        &mut self,
        check: &str,
        remedy: &'static Remedy,
        path: &str,
        container: Option<&str>,
    ) -> bool {
        if !self.permit(check, remedy, path, container) {
            return false;
        }
        let (parent, key) = split_last(path);
        // The parent: removing an array item moves the items after it.
        let removed = match lookup_mut(self.edit_within(parent), parent) {
            Some(Value::Object(map)) => map.remove(&key).is_some(),
            Some(Value::Array(items)) => match key.parse::<usize>() {
                Ok(index) if index < items.len() => {
                    items.remove(index);
                    true
                }
                _ => false,
            },
            _ => false,
        };
        if removed {
            self.record(check, remedy, path.to_string());
        }
        removed
    }

    fn record(&mut self, check: &str, remedy: &'static Remedy, path: String) {
        self.changes.push(Change {
            check: check.to_string(),
            level: crate::pss::level_of(check),
            safety: remedy.safety,
            path,
            description: &remedy.description,
        });
    }
}

/// `pointer` up to its first level missing (or `null`) in `value`, all of it when it exists,
/// and the value there (`None`: missing).
fn existing_prefix<'p, 'v>(mut value: &'v Value, pointer: &'p str) -> (&'p str, Option<&'v Value>) {
    let mut end = 0;
    for token in raw_tokens(pointer) {
        end += 1 + token.len();
        let next = match value {
            Value::Object(map) => map.get(unescape(token).as_ref()),
            Value::Array(items) => index_token(token).and_then(|index| items.get(index)),
            _ => None,
        };
        match next {
            Some(next) if !next.is_null() => value = next,
            _ => return (&pointer[..end], next),
        }
    }
    (pointer, Some(value))
}

/// `pointer` and every pointer above it, down to the root `""`.
fn ancestors_or_self(pointer: &str) -> impl Iterator<Item = &str> {
    pointer
        .match_indices('/')
        .map(move |(end, _)| &pointer[..end])
        .chain([pointer])
}

/// Puts `value` (`None`: absent) back at `relative` inside `root`.
fn restore(root: &mut Value, relative: &str, value: Option<Value>) {
    let (parent, key) = split_last(relative);
    match (lookup_mut(root, parent), value) {
        (Some(Value::Object(map)), Some(value)) => {
            map.insert(key, value);
        }
        (Some(Value::Object(map)), None) => {
            map.remove(&key);
        }
        (Some(Value::Array(items)), Some(value)) => {
            if let Some(item) = key.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                *item = value;
            }
        }
        _ => {}
    }
}

/// Whether creating `path` would add a Linux-only field.
fn adds_linux_only(path: &str) -> bool {
    raw_tokens(path).any(|token| LINUX_ONLY.contains(&token))
}

/// The parent pointer and the unescaped last token of `path`.
fn split_last(path: &str) -> (&str, String) {
    let (parent, last) = path.rsplit_once('/').unwrap_or(("", path));
    (parent, unescape(last).into_owned())
}

/// The object at `pointer`, creating missing or `null` objects on the way.
fn ensure_object<'v>(root: &'v mut Value, pointer: &str) -> Option<&'v mut Map<String, Value>> {
    let mut current = root;
    for token in tokens(pointer) {
        if current.is_null() {
            *current = Value::Object(Map::new());
        }
        current = match current {
            // One search with an owned key costs less than the two a borrowed one takes here
            // (a lookup, then the insert or a second lookup).
            Value::Object(map) => map.entry(token).or_insert(Value::Null),
            Value::Array(items) => items.get_mut(index_token(&token)?)?,
            _ => return None,
        };
    }
    if current.is_null() {
        *current = Value::Object(Map::new());
    }
    current.as_object_mut()
}
