//! Values as data: which keys of a chart's values may control a security context or resources
//! (the candidates), the probe values that mark them, where a marker shows up in a rendered
//! workload, and the values change (an overlay) written as a patch of `values.yaml` or as an
//! override file. Pure: values in, values out; knows nothing of helm processes or files.
//!
//! An overlay is what `helm -f` merges over the chart's values: mappings merge key by key, any
//! other value replaces, and `null` deletes the key (Helm's documented way to drop a default).

use crate::pointer;
use json_patch::{AddOperation, Patch, PatchOperation, RemoveOperation, ReplaceOperation};
use serde_json::{Map, Value};

/// The key a probe value carries, followed by the candidate's number: `pssFixProbe3: true`.
/// A template that renders the value (`toYaml .Values.podSecurityContext`) shows the key at
/// the place the value reaches.
pub const PROBE_KEY_PREFIX: &str = "pssFixProbe";

/// Whether a values key is named as charts name pod and container security contexts and
/// resources: `securityContext`, `podSecurityContext`, `containerSecurityContext`,
/// `initContainerSecurityContext`, `resources`, `sidecarResources`, ...
fn names_security_or_resources(key: &str) -> bool {
    key == "resources"
        || key.ends_with("Resources")
        || key.to_ascii_lowercase().ends_with("securitycontext")
}

/// The candidate keys of `values` (pointers prefixed with `prefix`, in key order): keys
/// named for security contexts or resources whose value is a mapping or null, at any depth.
/// Their own children are not searched: a security context holds no other.
pub fn candidates(values: &Value, prefix: &str, found: &mut Vec<String>) {
    let Value::Object(map) = values else {
        return;
    };
    for (key, value) in map {
        let mut path = prefix.to_owned();
        pointer::push_token(&mut path, key);
        let shaped = matches!(value, Value::Object(_) | Value::Null);
        if shaped && names_security_or_resources(key) {
            if !found.contains(&path) {
                found.push(path);
            }
        } else {
            candidates(value, &path, found);
        }
    }
}

/// The probe values for the candidates numbered `indices`: each candidate's mapping gains
/// `pssFixProbeN: true`; Helm merges it over the chart's own value of that key.
pub fn probe(candidates: &[String], indices: &[usize]) -> Value {
    let mut root = Value::Object(Map::new());
    for &index in indices {
        let marker = Value::Object(Map::from_iter([(
            format!("{PROBE_KEY_PREFIX}{index}"),
            Value::Bool(true),
        )]));
        insert(&mut root, &candidates[index], marker);
    }
    root
}

/// Every probe marker in `object`: the candidate's number and the pointer (relative to
/// `object`) of the mapping that holds the marker, which is where the candidate's value lands.
pub fn markers(object: &Value) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    find_markers(object, &mut String::new(), &mut found);
    found
}

fn find_markers(value: &Value, path: &mut String, found: &mut Vec<(usize, String)>) {
    let length = path.len();
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let number = key
                    .strip_prefix(PROBE_KEY_PREFIX)
                    .and_then(|digits| digits.parse::<usize>().ok());
                if let Some(number) = number {
                    found.push((number, path.clone()));
                    continue;
                }
                pointer::push_token(path, key);
                find_markers(child, path, found);
                path.truncate(length);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                pointer::push_index(path, index);
                find_markers(item, path, found);
                path.truncate(length);
            }
        }
        _ => {}
    }
}

/// The overlay that turns `old` (absent: `None`) into `new`: changed and new keys of mappings;
/// a removed key becomes an empty value of its kind (`[]`, `{}`), or `null` for a scalar: Helm
/// 4 keeps a subchart's default that the parent's values.yaml sets to `null`, so `null` is
/// the last resort. Any other change is the whole new value. `None` when equal.
pub fn difference(old: Option<&Value>, new: &Value) -> Option<Value> {
    match (old, new) {
        (Some(old), new) if old == new => None,
        (Some(Value::Object(old)), Value::Object(new)) => {
            let mut changed = Map::new();
            for (key, value) in new {
                if let Some(overlay) = difference(old.get(key), value) {
                    changed.insert(key.clone(), overlay);
                }
            }
            for (key, value) in old.iter().filter(|(key, _)| !new.contains_key(*key)) {
                let emptied = match value {
                    Value::Array(_) => Value::Array(Vec::new()),
                    Value::Object(_) => Value::Object(Map::new()),
                    _ => Value::Null,
                };
                changed.insert(key.clone(), emptied);
            }
            (!changed.is_empty()).then_some(Value::Object(changed))
        }
        (_, new) => Some(new.clone()),
    }
}

/// Merges `overlay` into `target`, mappings key by key. Where both set a non-mapping value the
/// target's stays (the first workload's need wins; the re-render shows any other left).
pub fn merge(target: &mut Value, overlay: Value) {
    match (target, overlay) {
        (Value::Object(target), Value::Object(overlay)) => {
            for (key, value) in overlay {
                match target.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        target.insert(key, value);
                    }
                }
            }
        }
        (target @ Value::Null, overlay) => *target = overlay,
        _ => {}
    }
}

/// Merges `overlay` into `root` at `path` (a values pointer), creating the mappings above it.
pub fn insert(root: &mut Value, path: &str, overlay: Value) {
    let mut node = root;
    for token in pointer::tokens(path) {
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        node = match node {
            Value::Object(map) => map.entry(token.into_owned()).or_insert(Value::Null),
            _ => unreachable!("made a mapping above"),
        };
    }
    merge(node, overlay);
}

/// The patch of a values file (whose document is `values`) that makes it give what `overlay`
/// asks for. A `null` in the overlay removes the key from the file, except under the keys in
/// `keep_null` (subcharts): there the default comes from elsewhere, so `null` is written.
pub fn patch(values: &Value, overlay: &Value, keep_null: &[String]) -> Patch {
    let mut operations = Vec::new();
    let Value::Object(overlay) = overlay else {
        return Patch(operations);
    };
    let empty = Map::new();
    let top = values.as_object().unwrap_or(&empty);
    for (key, value) in overlay {
        let mut path = String::new();
        pointer::push_token(&mut path, key);
        let keep = keep_null.contains(key);
        operations_for(top.get(key), value, &path, keep, &mut operations);
    }
    Patch(operations)
}

fn operations_for(
    target: Option<&Value>,
    overlay: &Value,
    path: &str,
    keep_null: bool,
    operations: &mut Vec<PatchOperation>,
) {
    let parse = |path: &str| {
        json_patch::jsonptr::PointerBuf::parse(path)
            .expect("paths built with pointer::push_token should be valid JSON pointers")
    };
    match (target, overlay) {
        (Some(Value::Object(target)), Value::Object(overlay)) => {
            for (key, value) in overlay {
                let mut child = path.to_owned();
                pointer::push_token(&mut child, key);
                operations_for(target.get(key), value, &child, keep_null, operations);
            }
        }
        (None, Value::Null) if !keep_null => {}
        (Some(_), Value::Null) if !keep_null => {
            operations.push(PatchOperation::Remove(RemoveOperation {
                path: parse(path),
            }))
        }
        (None, value) => operations.push(PatchOperation::Add(AddOperation {
            path: parse(path),
            value: written(value, keep_null),
        })),
        (Some(_), value) => operations.push(PatchOperation::Replace(ReplaceOperation {
            path: parse(path),
            value: written(value, keep_null),
        })),
    }
}

/// An overlay value as a file holds it: without the `null`s that only delete (unless kept).
fn written(value: &Value, keep_null: bool) -> Value {
    match value {
        Value::Object(map) if !keep_null => Value::Object(
            map.iter()
                .filter(|(_, value)| !value.is_null())
                .map(|(key, value)| (key.clone(), written(value, keep_null)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn candidates_are_named_mappings_or_nulls_at_any_depth() {
        let values = json!({
            "replicaCount": 1,
            "podSecurityContext": {},
            "securityContext": null,
            "resources": {"limits": {"cpu": "1"}},
            "controller": {"containerSecurityContext": {"runAsUser": 1}, "image": "x",
                "resources": "big"},
            "sidecars": [{"securityContext": {}}],
            "a~b": {"initResources": {}},
        });
        let mut found = Vec::new();
        candidates(&values, "", &mut found);
        assert_eq!(
            found,
            [
                "/a~0b/initResources",
                "/controller/containerSecurityContext",
                "/podSecurityContext",
                "/resources",
                "/securityContext",
            ]
        );
        let mut under = Vec::new();
        candidates(&json!({"securityContext": {}}), "/child", &mut under);
        assert_eq!(under, ["/child/securityContext"]);
    }

    #[test]
    fn probe_values_mark_each_candidate_and_markers_find_them() {
        let candidates = vec![
            "/securityContext".to_owned(),
            "/controller/podSecurityContext".to_owned(),
        ];
        let probe = probe(&candidates, &[0, 1]);
        assert_eq!(
            probe,
            json!({"securityContext": {"pssFixProbe0": true},
                "controller": {"podSecurityContext": {"pssFixProbe1": true}}})
        );
        let rendered = json!({"spec": {"template": {"spec": {
            "securityContext": {"pssFixProbe1": true},
            "containers": [{"name": "a", "securityContext": {"runAsUser": 1, "pssFixProbe0": true}},
                {"name": "b", "securityContext": {"pssFixProbe0": true}}]}}}});
        assert_eq!(
            markers(&rendered),
            [
                (
                    0,
                    "/spec/template/spec/containers/0/securityContext".to_owned()
                ),
                (
                    0,
                    "/spec/template/spec/containers/1/securityContext".to_owned()
                ),
                (1, "/spec/template/spec/securityContext".to_owned()),
            ]
        );
    }

    #[test]
    fn difference_keeps_only_changes_and_empties_removals() {
        let old = json!({"runAsUser": 0, "privileged": true, "keep": 1,
            "capabilities": {"add": ["NET_ADMIN"]}, "seLinuxOptions": {"type": "spc_t"}});
        let new = json!({"runAsUser": 1000, "keep": 1, "runAsNonRoot": true,
            "capabilities": {"drop": ["ALL"]}});
        assert_eq!(
            difference(Some(&old), &new),
            Some(json!({"runAsUser": 1000, "runAsNonRoot": true,
                "capabilities": {"add": [], "drop": ["ALL"]}, "privileged": null,
                "seLinuxOptions": {}}))
        );
        assert_eq!(difference(None, &json!({"a": 1})), Some(json!({"a": 1})));
        assert_eq!(difference(Some(&old), &old), None);
    }

    #[test]
    fn merge_and_insert_build_one_overlay_first_need_wins() {
        let mut root = json!({});
        insert(&mut root, "/child/securityContext", json!({"a": 1}));
        insert(
            &mut root,
            "/child/securityContext",
            json!({"a": 2, "b": {"c": 3}}),
        );
        insert(&mut root, "/resources", json!({"limits": {"cpu": "1"}}));
        assert_eq!(
            root,
            json!({"child": {"securityContext": {"a": 1, "b": {"c": 3}}},
                "resources": {"limits": {"cpu": "1"}}})
        );
    }

    #[test]
    fn patch_adds_replaces_and_removes_but_keeps_subchart_nulls() {
        let values = json!({"securityContext": null, "podSecurityContext": {"fsGroup": 1,
            "privileged": true}, "child": {}});
        let overlay = json!({
            "securityContext": {"runAsNonRoot": true, "gone": null},
            "podSecurityContext": {"privileged": null, "runAsUser": 7},
            "resources": {"limits": {"cpu": "1"}},
            "child": {"securityContext": {"privileged": null}}});
        let patch = patch(&values, &overlay, &["child".to_owned()]);
        assert_eq!(
            serde_json::to_value(&patch).expect("serialises"),
            json!([
                {"op": "add", "path": "/child/securityContext", "value": {"privileged": null}},
                {"op": "remove", "path": "/podSecurityContext/privileged"},
                {"op": "add", "path": "/podSecurityContext/runAsUser", "value": 7},
                {"op": "add", "path": "/resources", "value": {"limits": {"cpu": "1"}}},
                {"op": "replace", "path": "/securityContext", "value": {"runAsNonRoot": true}},
            ])
        );
    }
}
