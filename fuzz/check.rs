//! The checks of the `edit` fuzz target, shared with `tests/fuzz_regressions.rs`, which
//! replays the inputs in `fuzz/regressions/` in every `cargo test` run.
//!
//! Input layout: YAML text, a NUL byte, then operations of three bytes each:
//! `[kind and document, target, value or key]`. The text alone (no NUL) is parsed and checked
//! for empty-patch identity. Operations are fitted to the parsed values (paths of existing
//! nodes, keys and values from small tables), so most inputs reach the editor instead of
//! failing pointer lookups; some stay invalid on purpose (a `test` that does not match).
//!
//! Checked, besides "never panics": a parse error points inside the input; an empty patch gives
//! the input back; when `json_patch::patch` rejects the operations the editor does too; when
//! the editor accepts them, its output parses to the same number of documents, each equal to
//! `json_patch::patch(old value, ops)` (I2); a refusal (aliases, merge keys) is allowed.

use json_patch::jsonptr::PointerBuf;
use json_patch::{
    AddOperation, Patch, PatchOperation, RemoveOperation, ReplaceOperation, TestOperation,
};
use pss_fix::yaml::Stream;
use serde_json::{json, Value};

/// Runs one fuzz input; panics when the editor breaks a promise.
pub fn check(data: &[u8]) {
    let (text, ops) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let stream = match Stream::parse(text) {
        Ok(stream) => stream,
        Err(error) => {
            assert!(
                error.offset <= text.len() && error.line >= 1 && error.column >= 1,
                "error position outside the input: {error:?}"
            );
            return;
        }
    };
    let untouched = stream.edit(&[]).expect("an empty patch should never fail");
    assert_eq!(untouched, text, "an empty patch changed the input");

    let documents: Vec<Value> = stream
        .documents()
        .iter()
        .map(|document| document.value().clone())
        .collect();
    if documents.is_empty() {
        return;
    }
    let edits = fit_operations(&documents, ops);
    for (document, patch) in &edits {
        for operation in &patch.0 {
            // Must not panic, whether or not the node exists.
            let _ = stream.location(*document, operation.path().as_str());
        }
    }

    let mut expected = documents.clone();
    let meaningful = edits
        .iter()
        .all(|(document, patch)| json_patch::patch(&mut expected[*document], &patch.0).is_ok());
    // A refusal (`Err`) is allowed: aliases, merge keys and unsupported layouts are refused.
    if let Ok(output) = stream.edit(&edits) {
        assert!(
            meaningful,
            "the editor applied a patch json_patch rejects: {edits:?}"
        );
        let reparsed = Stream::parse(&output)
            .unwrap_or_else(|e| panic!("output does not parse: {e}\n{output}"));
        let values: Vec<&Value> = reparsed
            .documents()
            .iter()
            .map(|document| document.value())
            .collect();
        let wanted: Vec<&Value> = expected.iter().collect();
        assert_eq!(values, wanted, "output breaks I2 for {edits:?}:\n{output}");
    }
}

/// Keys for `add`: some exist in Kubernetes manifests, some need quoting or pointer escaping.
const KEYS: &[&str] = &[
    "securityContext",
    "runAsNonRoot",
    "name",
    "yes",
    "true",
    "a/b",
    "x~y",
    "0755",
    "with space",
    "",
];

fn value_for(byte: u8) -> Value {
    match byte % 16 {
        0 => json!(true),
        1 => json!(false),
        2 => json!(null),
        3 => json!(65532),
        4 => json!("ALL"),
        5 => json!("true"),
        6 => json!("0755"),
        7 => json!(""),
        8 => json!("a: b #c"),
        9 => json!("line\nbreak"),
        10 => json!("héllo 日本"),
        11 => json!({"drop": ["ALL"]}),
        12 => json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}),
        13 => json!(["NET_RAW", "ALL"]),
        14 => json!({}),
        _ => json!([]),
    }
}

/// JSON pointers of every node of `value`, the root first.
fn pointers(value: &Value) -> Vec<PointerBuf> {
    let mut found = vec![PointerBuf::root()];
    let mut index = 0;
    while index < found.len() {
        let pointer = found[index].clone();
        match value.pointer(pointer.as_str()) {
            Some(Value::Object(map)) => {
                for key in map.keys() {
                    found.push(pointer.with_trailing_token(key.as_str()));
                }
            }
            Some(Value::Array(items)) => {
                for position in 0..items.len() {
                    found.push(pointer.with_trailing_token(position));
                }
            }
            _ => {}
        }
        index += 1;
    }
    found
}

/// Turns operation bytes into one patch per touched document, each operation aimed at a node
/// of the document as the earlier operations leave it.
fn fit_operations(documents: &[Value], bytes: &[u8]) -> Vec<(usize, Patch)> {
    let mut current = documents.to_vec();
    let mut edits: Vec<(usize, Patch)> = Vec::new();
    for chunk in bytes.chunks_exact(3) {
        let (head, target, extra) = (chunk[0], chunk[1], chunk[2]);
        let document = usize::from(head / 8) % documents.len();
        let nodes = pointers(&current[document]);
        let node = nodes[usize::from(target) % nodes.len()].clone();
        let is_map = current[document]
            .pointer(node.as_str())
            .is_some_and(Value::is_object);
        let is_seq = current[document]
            .pointer(node.as_str())
            .is_some_and(Value::is_array);
        let operation = match head % 8 {
            0 | 1 if is_map => PatchOperation::Add(AddOperation {
                path: node.with_trailing_token(KEYS[usize::from(extra) % KEYS.len()]),
                value: value_for(extra / 16),
            }),
            0 | 1 if is_seq => PatchOperation::Add(AddOperation {
                path: node.with_trailing_token(if extra % 2 == 0 { "-" } else { "0" }),
                value: value_for(extra / 2),
            }),
            2 | 3 if !node.is_root() => PatchOperation::Remove(RemoveOperation { path: node }),
            4 | 5 => PatchOperation::Replace(ReplaceOperation {
                path: node,
                value: value_for(extra),
            }),
            6 => PatchOperation::Test(TestOperation {
                path: node.clone(),
                value: if extra % 2 == 0 {
                    current[document]
                        .pointer(node.as_str())
                        .cloned()
                        .unwrap_or(Value::Null)
                } else {
                    value_for(extra)
                },
            }),
            _ => PatchOperation::Add(AddOperation {
                path: node,
                value: value_for(extra),
            }),
        };
        // Later operations are fitted to the value this one leaves; a failing one stays in the
        // patch so that rejection is exercised too.
        let _ = json_patch::patch(&mut current[document], std::slice::from_ref(&operation));
        match edits.iter_mut().find(|(index, _)| *index == document) {
            Some((_, patch)) => patch.0.push(operation),
            None => edits.push((document, Patch(vec![operation]))),
        }
    }
    edits
}
