//! What the patch itself says about a sequence: it inserts or removes the item at an index.
//! Equal items make a value diff ambiguous (`[a, a]` gaining an `a`); a hint puts the change
//! where the patch put it. Hints only steer alignment: the result is verified anyway.

use std::collections::HashMap;

use json_patch::PatchOperation;
use serde_json::Value;

/// The one change a patch makes to a sequence's items.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum SequenceHint {
    Insert(usize),
    Remove(usize),
}

/// Hints for sequences that exactly one `add` or `remove` of an item targets, by the sequence's
/// pointer. Any other operation on an item of a sequence, or a second one, leaves it unhinted.
pub(crate) fn sequence_hints(
    operations: &[PatchOperation],
    old: &Value,
) -> HashMap<String, SequenceHint> {
    let mut hints: HashMap<String, Option<SequenceHint>> = HashMap::new();
    for operation in operations {
        let (path, insert) = match operation {
            PatchOperation::Add(add) => (add.path.to_string(), true),
            PatchOperation::Remove(remove) => (remove.path.to_string(), false),
            PatchOperation::Replace(op) => (op.path.to_string(), false),
            PatchOperation::Move(op) => (op.path.to_string(), false),
            PatchOperation::Copy(op) => (op.path.to_string(), false),
            PatchOperation::Test(op) => (op.path.to_string(), false),
        };
        let Some(at) = path.rfind('/') else {
            continue;
        };
        let (parent, token) = (&path[..at], &path[at + 1..]);
        if !matches!(
            operation,
            PatchOperation::Add(_) | PatchOperation::Remove(_)
        ) {
            // Any other operation inside a sequence makes its hint unreliable.
            hints.insert(parent.to_owned(), None);
            continue;
        }
        let Some(Value::Array(items)) = crate::pointer::lookup(old, parent) else {
            continue;
        };
        let index = match token {
            "-" if insert => items.len(),
            _ => match token.parse::<usize>() {
                Ok(index) => index,
                Err(_) => continue,
            },
        };
        let hint = if insert {
            SequenceHint::Insert(index)
        } else {
            SequenceHint::Remove(index)
        };
        hints
            .entry(parent.to_owned())
            .and_modify(|seen| *seen = None)
            .or_insert(Some(hint));
    }
    hints
        .into_iter()
        .filter_map(|(pointer, hint)| Some((pointer, hint?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hints(old: Value, ops: Value) -> Vec<(String, SequenceHint)> {
        let ops: json_patch::Patch = serde_json::from_value(ops).unwrap();
        let mut hints: Vec<_> = sequence_hints(&ops.0, &old).into_iter().collect();
        hints.sort_by(|a, b| a.0.cmp(&b.0));
        hints
    }

    #[test]
    fn one_add_or_remove_of_an_item_is_a_hint() {
        let old = json!({"a": ["x", "x"], "b": [1], "m": {"k": 1}});
        assert_eq!(
            hints(
                old.clone(),
                json!([{"op": "add", "path": "/a/-", "value": "x"}, {"op": "remove", "path": "/b/0"}])
            ),
            vec![
                ("/a".to_owned(), SequenceHint::Insert(2)),
                ("/b".to_owned(), SequenceHint::Remove(0))
            ]
        );
        // Not a sequence, not an index, or not there: no hint.
        assert!(hints(
            old.clone(),
            json!([{"op": "add", "path": "/m/k2", "value": 1}, {"op": "add", "path": "/q/0", "value": 1}])
        )
        .is_empty());
    }

    #[test]
    fn a_second_or_other_operation_on_the_sequence_drops_its_hint() {
        let old = json!({"a": ["x", "y"]});
        let two =
            json!([{"op": "add", "path": "/a/0", "value": "w"}, {"op": "remove", "path": "/a/2"}]);
        assert!(hints(old.clone(), two).is_empty());
        let replaced = json!([{"op": "add", "path": "/a/0", "value": "w"}, {"op": "replace", "path": "/a/1", "value": "z"}]);
        assert!(hints(old, replaced).is_empty());
    }
}
