//! Sequence alignment: which old item becomes which new one, which go, which come. Items equal
//! in both stay (a longest common subsequence, from `similar`'s LCS table); between them, old
//! and new items of the same shape (for mappings: sharing a key with an equal value, such as a
//! container's `name`) are edited in place, the rest removed or inserted.

use std::ops::Range;

use serde_json::Value;
use similar::algorithms::{lcs, Capture};
use similar::DiffOp;

use super::hints::SequenceHint;
use crate::yaml::value::same;

/// One step of turning an old sequence into a new one.
#[derive(Debug, PartialEq)]
pub(super) enum Step {
    /// Old item `.0` becomes new item `.1` (edited in place).
    Pair(usize, usize),
    Remove(usize),
    /// New items `new` go before old item `before` (after the last one when it is the length).
    Insert {
        before: usize,
        new: Range<usize>,
    },
}

/// The steps from `old` to `new`: where the patch says (`hint`) when it fits the lengths, else
/// by alignment.
pub(super) fn steps(old: &[Value], new: &[Value], hint: Option<SequenceHint>) -> Vec<Step> {
    match hint {
        Some(SequenceHint::Insert(at)) if at <= old.len() && new.len() == old.len() + 1 => {
            let mut steps: Vec<Step> = (0..at).map(|index| Step::Pair(index, index)).collect();
            steps.push(Step::Insert {
                before: at,
                new: at..at + 1,
            });
            steps.extend((at..old.len()).map(|index| Step::Pair(index, index + 1)));
            steps
        }
        Some(SequenceHint::Remove(at)) if at < old.len() && new.len() + 1 == old.len() => {
            let mut steps: Vec<Step> = (0..at).map(|index| Step::Pair(index, index)).collect();
            steps.push(Step::Remove(at));
            steps.extend((at + 1..old.len()).map(|index| Step::Pair(index, index - 1)));
            steps
        }
        _ => aligned(old, new),
    }
}

fn aligned(old: &[Value], new: &[Value]) -> Vec<Step> {
    let mut steps = Vec::new();
    let equal = common(old, new, same);
    let mut previous = (0, 0);
    for &(old_at, new_at) in equal.iter().chain(std::iter::once(&(old.len(), new.len()))) {
        let (old_gap, new_gap) = (previous.0..old_at, previous.1..new_at);
        if old_gap.len() == new_gap.len() {
            steps.extend(old_gap.zip(new_gap).map(|(old, new)| Step::Pair(old, new)));
        } else {
            let similar = common(&old[old_gap.clone()], &new[new_gap.clone()], alike);
            let ends = similar
                .iter()
                .map(|&(old, new)| (old_gap.start + old, new_gap.start + new, true))
                .chain(std::iter::once((old_gap.end, new_gap.end, false)));
            let mut sub = (old_gap.start, new_gap.start);
            for (old_end, new_end, paired) in ends {
                let count = (old_end - sub.0).min(new_end - sub.1);
                steps.extend((0..count).map(|offset| Step::Pair(sub.0 + offset, sub.1 + offset)));
                steps.extend((sub.0 + count..old_end).map(Step::Remove));
                if sub.1 + count < new_end {
                    steps.push(Step::Insert {
                        before: old_end,
                        new: sub.1 + count..new_end,
                    });
                }
                if paired {
                    steps.push(Step::Pair(old_end, new_end));
                }
                sub = (old_end + 1, new_end + 1);
            }
        }
        previous = (old_at + 1, new_at + 1);
    }
    steps
}

/// Whether two values have the same shape: same type, and mappings share an entry.
fn alike(old: &Value, new: &Value) -> bool {
    match (old, new) {
        (Value::Object(old), Value::Object(new)) => {
            (old.is_empty() && new.is_empty())
                || old
                    .iter()
                    .any(|(key, value)| new.get(key).is_some_and(|new| same(value, new)))
        }
        (Value::Array(_), Value::Array(_))
        | (Value::String(_), Value::String(_))
        | (Value::Number(_), Value::Number(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Null, Value::Null) => true,
        _ => false,
    }
}

/// LCS tables above this size are not built; only the common prefix and suffix are then
/// matched, which keeps a huge sequence (100,000 containers) linear in time and memory.
const MAX_ALIGNMENT_CELLS: usize = 1 << 16;

/// A value compared by a chosen relation, so that `similar` can align by it.
struct By<'a> {
    value: &'a Value,
    matches: fn(&Value, &Value) -> bool,
}

impl PartialEq for By<'_> {
    fn eq(&self, other: &By<'_>) -> bool {
        (self.matches)(other.value, self.value)
    }
}

/// Index pairs of a longest common subsequence of `old` and `new` under `matches`, in order.
fn common(
    old: &[Value],
    new: &[Value],
    matches: fn(&Value, &Value) -> bool,
) -> Vec<(usize, usize)> {
    let prefix = old
        .iter()
        .zip(new)
        .take_while(|(old, new)| matches(old, new))
        .count();
    let room = old.len().min(new.len()) - prefix;
    let suffix = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(room)
        .take_while(|(old, new)| matches(old, new))
        .count();
    let (old_end, new_end) = (old.len() - suffix, new.len() - suffix);
    let mut pairs: Vec<(usize, usize)> = (0..prefix).map(|at| (at, at)).collect();
    if (old_end - prefix) * (new_end - prefix) <= MAX_ALIGNMENT_CELLS {
        let old_by: Vec<By<'_>> = old.iter().map(|value| By { value, matches }).collect();
        let new_by: Vec<By<'_>> = new.iter().map(|value| By { value, matches }).collect();
        let mut capture = Capture::new();
        let result = lcs::diff_deadline_raw(
            &mut capture,
            &old_by,
            prefix..old_end,
            &new_by,
            prefix..new_end,
            None,
        );
        match result {
            Ok(()) => {}
            Err(never) => match never {},
        }
        for op in capture.into_ops() {
            if let DiffOp::Equal {
                old_index,
                new_index,
                len,
            } = op
            {
                pairs.extend((0..len).map(|at| (old_index + at, new_index + at)));
            }
        }
    }
    pairs.extend((0..suffix).map(|at| (old_end + at, new_end + at)));
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(value: Value) -> Vec<Value> {
        match value {
            Value::Array(items) => items,
            _ => unreachable!("a test passes arrays"),
        }
    }

    fn plan(old: Value, new: Value) -> Vec<Step> {
        steps(&values(old), &values(new), None)
    }

    #[test]
    fn equal_items_stay_and_the_rest_is_inserted_or_removed() {
        // Equal items need no step; `b` goes, `d` comes after the end.
        assert_eq!(
            plan(json!(["a", "b", "c"]), json!(["a", "c", "d"])),
            vec![
                Step::Remove(1),
                Step::Insert {
                    before: 3,
                    new: 2..3
                }
            ]
        );
        assert_eq!(plan(json!([1, 2, 3]), json!([1, 3])), vec![Step::Remove(1)]);
        assert_eq!(
            plan(json!([1, 3]), json!([1, 2, 3])),
            vec![Step::Insert {
                before: 1,
                new: 1..2
            }]
        );
        // Same length between equal items: edited in place.
        assert_eq!(
            plan(json!(["a", "b", "c"]), json!(["a", "x", "c"])),
            vec![Step::Pair(1, 1)]
        );
    }

    #[test]
    fn items_of_the_same_shape_are_edited_in_place() {
        // The container named b changed; one named c came before it.
        let old = json!([{"name": "a"}, {"name": "b", "x": 1}]);
        let new = json!([{"name": "a"}, {"name": "c"}, {"name": "b", "x": 2}]);
        assert_eq!(
            plan(old, new),
            vec![
                Step::Insert {
                    before: 1,
                    new: 1..2
                },
                Step::Pair(1, 2)
            ]
        );
        assert_eq!(
            plan(json!([1, "a", true]), json!(["b"])),
            vec![Step::Remove(0), Step::Pair(1, 0), Step::Remove(2)]
        );
    }

    #[test]
    fn numbers_align_by_value() {
        assert_eq!(
            plan(json!([1.0, 2]), json!([1, 2, 3])),
            vec![Step::Insert {
                before: 2,
                new: 2..3
            }]
        );
    }

    #[test]
    fn hints_place_a_change_among_equal_items() {
        let (old, new) = (values(json!(["x", "x"])), values(json!(["x", "x", "x"])));
        assert_eq!(
            steps(&old, &new, Some(SequenceHint::Insert(0))),
            vec![
                Step::Insert {
                    before: 0,
                    new: 0..1
                },
                Step::Pair(0, 1),
                Step::Pair(1, 2)
            ]
        );
        // A hint that does not fit the lengths is ignored.
        assert_eq!(
            steps(&old, &new, Some(SequenceHint::Remove(0))),
            steps(&old, &new, None)
        );
    }

    #[test]
    fn huge_middles_match_prefix_and_suffix_only() {
        let old: Vec<Value> = (0..300).map(|n| json!(n)).collect();
        let mut new: Vec<Value> = (0..300).map(|n| json!(n + 1000)).collect();
        new[0] = json!(0);
        new[299] = json!(299);
        new.insert(150, json!(150));
        assert_eq!(
            common(&old, &new, same),
            vec![(0, 0), (299, 300)],
            "the middle (298 x 299 cells) is past the cap"
        );
    }
}
