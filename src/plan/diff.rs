//! The RFC 6902 patch from a workload to its repaired copy. Remedies only add or replace
//! fields, remove fields, remove array items or append to arrays, so the difference is read
//! back exactly: a new key is one `add` with its whole subtree (parents before children by
//! construction), removed array items go highest index first so every index stays valid, and
//! anything else that changed is one `replace`.

use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, PatchOperation, RemoveOperation, ReplaceOperation};
use serde_json::Value;

/// The operations that turn `old` into `new`.
pub fn diff(old: &Value, new: &Value) -> Vec<PatchOperation> {
    let mut ops = Vec::new();
    if old != new {
        walk(&PointerBuf::root(), old, new, &mut ops);
    }
    ops
}

/// The operations for `old` and `new`, which differ. Equal children are skipped before their
/// pointer is built: most of a workload is untouched, and each subtree is compared once per
/// changed ancestor rather than once per ancestor.
fn walk(at: &PointerBuf, old: &Value, new: &Value, ops: &mut Vec<PatchOperation>) {
    match (old, new) {
        (Value::Object(before), Value::Object(after)) => {
            for (key, value) in after {
                match before.get(key) {
                    Some(previous) if previous == value => {}
                    Some(previous) => {
                        walk(&at.with_trailing_token(key.as_str()), previous, value, ops)
                    }
                    None => ops.push(PatchOperation::Add(AddOperation {
                        path: at.with_trailing_token(key.as_str()),
                        value: value.clone(),
                    })),
                }
            }
            for key in before.keys().filter(|key| !after.contains_key(*key)) {
                ops.push(PatchOperation::Remove(RemoveOperation {
                    path: at.with_trailing_token(key.as_str()),
                }));
            }
        }
        (Value::Array(before), Value::Array(after)) if before.len() == after.len() => {
            for (index, (previous, value)) in before.iter().zip(after).enumerate() {
                if previous != value {
                    walk(&at.with_trailing_token(index), previous, value, ops);
                }
            }
        }
        (Value::Array(before), Value::Array(after)) if after.starts_with(before) => {
            for (index, value) in after.iter().enumerate().skip(before.len()) {
                ops.push(PatchOperation::Add(AddOperation {
                    path: at.with_trailing_token(index),
                    value: value.clone(),
                }));
            }
        }
        (Value::Array(before), Value::Array(after)) => match removed_indices(before, after) {
            Some(removed) => {
                for index in removed.into_iter().rev() {
                    ops.push(PatchOperation::Remove(RemoveOperation {
                        path: at.with_trailing_token(index),
                    }));
                }
            }
            None => replace(at, new, ops),
        },
        _ => replace(at, new, ops),
    }
}

fn replace(at: &PointerBuf, new: &Value, ops: &mut Vec<PatchOperation>) {
    ops.push(PatchOperation::Replace(ReplaceOperation {
        path: at.clone(),
        value: new.clone(),
    }));
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
    use serde_json::json;

    fn applied(old: &serde_json::Value, new: &serde_json::Value) -> serde_json::Value {
        let mut patched = old.clone();
        json_patch::patch(&mut patched, &diff(old, new)).expect("the diff should apply");
        patched
    }

    #[test]
    fn a_new_subtree_is_one_add() {
        let old = json!({"spec": {"containers": [{"name": "a"}]}});
        let new = json!({"spec": {"containers": [{"name": "a",
            "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]}});
        let ops = diff(&old, &new);
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
        let paths: Vec<_> = diff(&old, &new)
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
        let paths: Vec<_> = diff(&old, &new)
            .iter()
            .map(|op| op.path().to_string())
            .collect();
        assert_eq!(paths, ["/drop/1"]);
        assert_eq!(applied(&old, &new), new);
    }

    #[test]
    fn null_parent_is_replaced() {
        let old = json!({"securityContext": null});
        let new = json!({"securityContext": {"runAsNonRoot": true}});
        assert_eq!(applied(&old, &new), new);
        assert_eq!(diff(&old, &new).len(), 1);
    }
}
