//! The RFC 6902 patch from a workload to its repaired copy. Remedies only add or replace
//! fields, remove fields, remove array items or append to arrays, so the difference is read
//! back exactly: a new key is one `add` with its whole subtree (parents before children by
//! construction), removed array items go highest index first so every index stays valid, and
//! anything else that changed is one `replace`.
//!
//! Only the subtrees the remedies edited are walked, from the originals the fixer saved before
//! its first edit in each: a workload is mostly left as it was, and neither copying nor
//! comparing all of it is needed.

use crate::pointer::{index_token, lookup_mut, push_index, push_token, tokens};
use crate::pss::fixer::Original;
use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, PatchOperation, RemoveOperation, ReplaceOperation};
use serde_json::Value;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// The operations that turn the workload into `new`, which equals it outside the `originals`
/// (disjoint subtrees, in any order).
pub fn diff<'t>(
    originals: impl IntoIterator<Item = Original<'t>>,
    new: &Value,
) -> Vec<PatchOperation> {
    walk(originals, new, true)
}

/// [`diff`] of a `new` the caller gives away: the values of `add` and `replace` are moved out
/// of it, not copied. They are most of a patch that adds fields to every container (and of
/// the memory of a plan: a copy of each for a pod of 50,000 containers).
pub fn diff_owned<'t>(
    originals: impl IntoIterator<Item = Original<'t>>,
    mut new: Value,
) -> Vec<PatchOperation> {
    let mut ops = walk(originals, &new, false);
    for op in &mut ops {
        // Each path is where the value sits in `new` (the walker made it from there), and none
        // is inside another: an added or replaced subtree is one operation.
        if let PatchOperation::Add(AddOperation { path, value })
        | PatchOperation::Replace(ReplaceOperation { path, value }) = op
        {
            if let Some(found) = lookup_mut(&mut new, path.as_str()) {
                *value = std::mem::take(found);
            }
        }
    }
    ops
}

/// The operations, with the values of `add` and `replace` copied from `new` when `copy` is
/// set, else `null` for the caller to fill.
fn walk<'t>(
    originals: impl IntoIterator<Item = Original<'t>>,
    new: &Value,
    copy: bool,
) -> Vec<PatchOperation> {
    let mut scope = Scope::default();
    for (pointer, original) in originals {
        scope.insert(pointer, original);
    }
    let mut walker = Walker {
        at: Vec::new(),
        ops: Vec::new(),
        copy,
    };
    walker.walk_within(Some(new), &scope);
    walker.ops
}

/// The saved subtrees as a tree of reference tokens.
#[derive(Default)]
struct Scope<'t> {
    /// At a saved subtree: its original, compared whole with what is there now.
    original: Option<Option<&'t Value>>,
    /// By unescaped reference token: a map, as one saved subtree per container of a pod with
    /// 50,000 containers makes 50,000 siblings (a list's lookup made that quadratic).
    children: BTreeMap<Cow<'t, str>, Scope<'t>>,
}

impl<'t> Scope<'t> {
    fn insert(&mut self, pointer: &'t str, original: Option<&'t Value>) {
        let mut scope = self;
        for token in tokens(pointer) {
            scope = scope.children.entry(token).or_default();
        }
        scope.original = Some(original);
    }
}

/// A token of the path being walked, borrowed from the values or the scope.
#[derive(Clone, Copy)]
enum Step<'v> {
    Key(&'v str),
    Index(usize),
}

/// Walks both values once, in step. Containers are not compared before they are walked (a
/// whole-subtree comparison at every level of a deep change cost more than the rest of the
/// plan), and the path is a stack of borrowed tokens, made a pointer only for an operation.
struct Walker<'v> {
    at: Vec<Step<'v>>,
    ops: Vec<PatchOperation>,
    /// Copy the values of `add` and `replace` (else `null`: see [`diff_owned`]).
    copy: bool,
}

impl<'v> Walker<'v> {
    /// Down the scope to each saved subtree (visiting keys in the order [`Walker::walk`]
    /// would), and there the whole comparison. Above the saved subtrees nothing changed, so
    /// only the new value is read.
    fn walk_within(&mut self, new: Option<&'v Value>, scope: &'v Scope<'v>) {
        if let Some(original) = scope.original {
            match (original, new) {
                (Some(old), Some(new)) => self.walk(old, new),
                (None, Some(new)) => self.add(None, new),
                (Some(_), None) => self.remove(None),
                (None, None) => {}
            }
            return;
        }
        match new {
            Some(Value::Object(after)) => {
                for (key, inside) in &scope.children {
                    let (key, new) = match after.get_key_value(key.as_ref()) {
                        Some((key, new)) => (key.as_str(), Some(new)),
                        None => (key.as_ref(), None),
                    };
                    self.at.push(Step::Key(key));
                    self.walk_within(new, inside);
                    self.at.pop();
                }
            }
            Some(Value::Array(after)) => {
                let mut children: Vec<_> = scope
                    .children
                    .iter()
                    .filter_map(|(token, inside)| Some((index_token(token)?, inside)))
                    .collect();
                children.sort_unstable_by_key(|(index, _)| *index);
                for (index, inside) in children {
                    self.at.push(Step::Index(index));
                    self.walk_within(after.get(index), inside);
                    self.at.pop();
                }
            }
            // Saved subtrees under a scalar or a missing value were not there either (the
            // fixer saves the first missing level, never one below it): nothing changed.
            _ => {}
        }
    }

    fn walk(&mut self, old: &'v Value, new: &'v Value) {
        match (old, new) {
            (Value::Object(before), Value::Object(after)) => {
                // Both maps iterate in key order (serde_json's Map is a BTreeMap; a test below
                // holds it to that), so one pass over each pairs the keys up: the keys of
                // `before` passed over are gone from `after`.
                let mut previous = before.iter().peekable();
                for (key, value) in after {
                    loop {
                        let order = previous.peek().map(|(old, _)| old.as_str().cmp(key));
                        match order {
                            Some(Ordering::Less) => {
                                if let Some((gone, _)) = previous.next() {
                                    self.remove(Some(Step::Key(gone)));
                                }
                            }
                            Some(Ordering::Equal) => {
                                if let Some((_, old)) = previous.next() {
                                    self.within(Step::Key(key), old, value);
                                }
                                break;
                            }
                            Some(Ordering::Greater) | None => {
                                self.add(Some(Step::Key(key)), value);
                                break;
                            }
                        }
                    }
                }
                for (gone, _) in previous {
                    self.remove(Some(Step::Key(gone)));
                }
            }
            (Value::Array(before), Value::Array(after)) if before.len() == after.len() => {
                for (index, (previous, value)) in before.iter().zip(after).enumerate() {
                    self.within(Step::Index(index), previous, value);
                }
            }
            (Value::Array(before), Value::Array(after)) if after.starts_with(before) => {
                for (index, value) in after.iter().enumerate().skip(before.len()) {
                    self.add(Some(Step::Index(index)), value);
                }
            }
            (Value::Array(before), Value::Array(after)) => match removed_indices(before, after) {
                Some(removed) => {
                    for index in removed.into_iter().rev() {
                        let path = self.pointer(Some(Step::Index(index)));
                        self.ops
                            .push(PatchOperation::Remove(RemoveOperation { path }));
                    }
                }
                None => self.replace(new),
            },
            _ if old == new => {}
            _ => self.replace(new),
        }
    }

    fn within(&mut self, step: Step<'v>, old: &'v Value, new: &'v Value) {
        self.at.push(step);
        self.walk(old, new);
        self.at.pop();
    }

    /// Adds `value` at the current path, or at `last` below it.
    fn add(&mut self, last: Option<Step<'_>>, value: &Value) {
        let path = self.pointer(last);
        self.ops.push(PatchOperation::Add(AddOperation {
            path,
            value: self.value(value),
        }));
    }

    /// Removes the value at the current path, or at `last` below it.
    fn remove(&mut self, last: Option<Step<'_>>) {
        let path = self.pointer(last);
        self.ops
            .push(PatchOperation::Remove(RemoveOperation { path }));
    }

    fn replace(&mut self, new: &Value) {
        let path = self.pointer(None);
        self.ops.push(PatchOperation::Replace(ReplaceOperation {
            path,
            value: self.value(new),
        }));
    }

    fn value(&self, value: &Value) -> Value {
        if self.copy {
            value.clone()
        } else {
            Value::Null
        }
    }

    /// The pointer of the current path, with `last` after it.
    fn pointer(&self, last: Option<Step<'_>>) -> PointerBuf {
        // Written whole and then checked: `PointerBuf::push_back` grows the string per token.
        let steps = || self.at.iter().copied().chain(last);
        let length = steps()
            .map(|step| match step {
                Step::Key(key) => 1 + key.len(),
                // `/` and three digits; a longer index only grows the string.
                Step::Index(_) => 4,
            })
            .sum();
        let mut pointer = String::with_capacity(length);
        for step in steps() {
            match step {
                Step::Key(key) => push_token(&mut pointer, key),
                Step::Index(index) => push_index(&mut pointer, index),
            }
        }
        PointerBuf::parse(pointer).expect("push_token escapes every token")
    }
}

/// The indices of `before` whose removal leaves `after`, when `after` is a subsequence.
fn removed_indices(before: &[Value], after: &[Value]) -> Option<Vec<usize>> {
    let mut removed = Vec::new();
    let mut kept = after.iter().peekable();
    for (index, item) in before.iter().enumerate() {
        if kept.peek() == Some(&item) {
            kept.next();
        } else {
            removed.push(index);
        }
    }
    kept.next().is_none().then_some(removed)
}

#[cfg(test)]
mod tests {
    use super::diff;
    use crate::pss::catalog::remedy;
    use crate::pss::fixer::Fixer;
    use crate::pss::testing::policy;
    use crate::pss::Level::Restricted;
    use serde_json::json;
    use std::borrow::Cow;

    fn whole(old: &serde_json::Value, new: &serde_json::Value) -> Vec<json_patch::PatchOperation> {
        diff([("", Some(old))], new)
    }

    fn applied(old: &serde_json::Value, new: &serde_json::Value) -> serde_json::Value {
        let mut patched = old.clone();
        json_patch::patch(&mut patched, &whole(old, new)).expect("the diff should apply");
        patched
    }

    fn paths(ops: &[json_patch::PatchOperation]) -> Vec<String> {
        ops.iter().map(|op| op.path().to_string()).collect()
    }

    #[test]
    fn saved_subtrees_give_the_whole_diff_in_its_order() {
        let old = json!({"a": {"x": 1, "y": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]}, "b~/c": 1, "z": 1, "gone": {}});
        let mut new = old.clone();
        new["a"]["y"][10] = json!(1);
        new["a"]["y"][2] = json!(1);
        new["a"]["w"] = json!({"k": true});
        new["b~/c"] = json!(2);
        new["z"] = json!(2);
        new.as_object_mut().unwrap().remove("gone");
        let (one, zero, empty) = (json!(1), json!(0), json!({}));
        let originals = [
            ("/z", Some(&one)),
            ("/a/y/10", Some(&zero)),
            ("/b~0~1c", Some(&one)),
            ("/gone", Some(&empty)),
            ("/a/y/2", Some(&zero)),
            ("/a/w", None),
        ];
        let scoped = diff(originals, &new);
        assert_eq!(scoped, whole(&old, &new));
        assert_eq!(
            paths(&scoped),
            ["/a/w", "/a/y/2", "/a/y/10", "/b~0~1c", "/gone", "/z"]
        );
        // What lies outside the saved subtrees is not looked at.
        assert_eq!(paths(&diff(originals[..1].iter().copied(), &new)), ["/z"]);
    }

    #[test]
    fn a_saved_array_that_changed_length_is_compared_whole() {
        let old = json!({"add": ["A", "B", "C"]});
        let new = json!({"add": ["A", "C"]});
        let scoped = diff([("/add", Some(&old["add"]))], &new);
        assert_eq!(paths(&scoped), ["/add/1"]);
        assert_eq!(scoped, whole(&old, &new));
    }

    #[test]
    fn a_new_subtree_is_one_add() {
        let old = json!({"spec": {"containers": [{"name": "a"}]}});
        let new = json!({"spec": {"containers": [{"name": "a",
            "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]}});
        let ops = whole(&old, &new);
        assert_eq!(ops.len(), 1);
        assert_eq!(
            ops[0].path().to_string(),
            "/spec/containers/0/securityContext"
        );
        assert_eq!(applied(&old, &new), new);
    }

    #[test]
    fn removed_items_go_highest_index_first_and_keys_are_escaped() {
        let old = json!({"add": ["A", "B", "C", "D"], "metadata": {"annotations": {"a/b": "x"}}});
        let new = json!({"add": ["B", "D"], "metadata": {"annotations": {"a/b": "y"}}});
        let paths: Vec<_> = whole(&old, &new)
            .iter()
            .map(|op| op.path().to_string())
            .collect();
        assert_eq!(paths, ["/add/2", "/add/0", "/metadata/annotations/a~1b"]);
        assert_eq!(applied(&old, &new), new);
    }

    #[test]
    fn appended_items_are_added_at_their_index() {
        let old = json!({"drop": ["NET_RAW"]});
        let new = json!({"drop": ["NET_RAW", "ALL"]});
        let paths: Vec<_> = whole(&old, &new)
            .iter()
            .map(|op| op.path().to_string())
            .collect();
        assert_eq!(paths, ["/drop/1"]);
        assert_eq!(applied(&old, &new), new);
    }

    #[test]
    fn maps_iterate_in_key_order() {
        // The walk pairs keys up in one pass over each map: it needs sorted maps (no
        // serde_json `preserve_order`, which a dependency could also turn on).
        let map = json!({"b": 1, "c": 2, "a": 3});
        let keys: Vec<_> = map.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["a", "b", "c"]);
    }

    #[test]
    fn keys_added_removed_and_changed_in_one_map() {
        let old = json!({"a": 1, "c": {"x": 1, "y": 2}, "d": 4, "f": 6});
        let new = json!({"b": 2, "c": {"x": 1, "y": 3}, "e": 5, "f": 6});
        let ops: Vec<_> = whole(&old, &new)
            .iter()
            .map(|op| serde_json::to_value(op).unwrap())
            .collect();
        assert_eq!(
            ops,
            [
                json!({"op": "remove", "path": "/a"}),
                json!({"op": "add", "path": "/b", "value": 2}),
                json!({"op": "replace", "path": "/c/y", "value": 3}),
                json!({"op": "remove", "path": "/d"}),
                json!({"op": "add", "path": "/e", "value": 5}),
            ]
        );
        assert_eq!(applied(&old, &new), new);
    }

    #[test]
    fn equal_values_give_no_operations() {
        let value = json!({"spec": {"containers": [{"name": "a", "ports": [80, 443]}], "x": null}});
        assert!(whole(&value, &value.clone()).is_empty());
    }

    #[test]
    fn null_parent_is_replaced() {
        let old = json!({"securityContext": null});
        let new = json!({"securityContext": {"runAsNonRoot": true}});
        assert_eq!(applied(&old, &new), new);
        assert_eq!(whole(&old, &new).len(), 1);
    }

    /// An edit around subtrees saved before takes their place with the true original, so the
    /// diff of the originals is the whole diff, whatever the order of the edits.
    #[test]
    fn originals_stay_disjoint_and_true() {
        let workload = json!({"a": {"b": {"c": 1}, "list": [1, 2, 3]}, "n": null});
        let policy = policy(Restricted, "latest");
        let set = remedy("hardening", "read-only-root-filesystem");
        let mut fixer = Fixer::new(Cow::Owned(workload.clone()), &policy);
        fixer.set("x", set, "/a/b", "d", json!(2), None);
        fixer.set("x", set, "/a/new/deep", "k", json!(true), None);
        fixer.set("x", set, "/a", "b", json!({"x": 1}), None);
        fixer.remove("x", set, "/a/list/1", None);
        fixer.set("x", set, "/n", "k", json!(1), None);
        let saved: Vec<&str> = fixer.originals().map(|(at, _)| at).collect();
        assert_eq!(saved, ["/a/b", "/a/list", "/a/new", "/n"]);
        let c = json!({"c": 1});
        assert_eq!(fixer.originals().next(), Some(("/a/b", Some(&c))));
        let whole = diff([("", Some(&workload))], fixer.object());
        assert_eq!(diff(fixer.originals(), fixer.object()), whole);
        assert_eq!(whole.len(), 5);
    }
}
