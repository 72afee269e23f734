//! Where each kind keeps its pod spec, and how a document holds workloads (`v1 List` items).
//!
//! PSA evaluates nine kinds: Pod, and the eight that embed a pod template. A document is one
//! of them, or a `List` (any `*List` kind with `items`, as `kubectl` produces) whose items
//! are; anything else holds no workload. Knows nothing of the standard itself.

use serde_json::Value;

/// A workload found in a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload<'a> {
    /// JSON pointer of the workload object inside the document: `""` for the document itself,
    /// `/items/3` for a List item.
    pub pointer: String,
    /// The workload object.
    pub object: &'a Value,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
}

/// Where a kind keeps the pod (or pod template) PSA evaluates, as JSON pointers relative to
/// the workload object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodPointers {
    /// The object holding the pod's `metadata` and `spec` (`""`: the workload itself).
    pub template: &'static str,
    /// The pod's metadata (annotations are read from here).
    pub metadata: &'static str,
    /// The pod spec.
    pub spec: &'static str,
}

/// The nine kinds PSA evaluates, with the API groups they are served in and their pod pointers.
const KINDS: [(&str, &[&str], PodPointers); 9] = [
    ("Pod", &[""], pointers("", "/metadata", "/spec")),
    (
        "PodTemplate",
        &[""],
        pointers("/template", "/template/metadata", "/template/spec"),
    ),
    ("ReplicationController", &[""], TEMPLATE),
    ("ReplicaSet", APPS, TEMPLATE),
    ("Deployment", APPS, TEMPLATE),
    ("DaemonSet", APPS, TEMPLATE),
    ("StatefulSet", APPS, TEMPLATE),
    ("Job", &["batch"], TEMPLATE),
    (
        "CronJob",
        &["batch"],
        pointers(
            "/spec/jobTemplate/spec/template",
            "/spec/jobTemplate/spec/template/metadata",
            "/spec/jobTemplate/spec/template/spec",
        ),
    ),
];
const APPS: &[&str] = &["apps", "extensions"];
const TEMPLATE: PodPointers = pointers(
    "/spec/template",
    "/spec/template/metadata",
    "/spec/template/spec",
);

const fn pointers(
    template: &'static str,
    metadata: &'static str,
    spec: &'static str,
) -> PodPointers {
    PodPointers {
        template,
        metadata,
        spec,
    }
}

/// The pod pointers of `kind` when PSA evaluates it.
pub fn pod_pointers(kind: &str) -> Option<PodPointers> {
    KINDS
        .iter()
        .find(|(name, _, _)| *name == kind)
        .map(|(_, _, pointers)| *pointers)
}

/// Whether `object` is one of the nine kinds in its Kubernetes API group (a custom resource
/// that reuses a kind name in another group is not a workload). A missing `apiVersion` is
/// accepted by kind alone.
pub fn is_workload(object: &Value) -> bool {
    workload_kind(object).is_some()
}

/// The kind and pod pointers of `object` when it is a workload (see [`is_workload`]).
pub fn workload_kind(object: &Value) -> Option<(&'static str, PodPointers)> {
    let kind = object.get("kind").and_then(Value::as_str)?;
    let (kind, groups, pointers) = KINDS.iter().find(|(name, _, _)| *name == kind)?;
    let in_group = match object.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => true,
        Some(api_version) => {
            let group = api_version.split_once('/').map_or("", |(group, _)| group);
            groups.contains(&group)
        }
    };
    in_group.then_some((kind, *pointers))
}

impl<'a> Workload<'a> {
    fn new(pointer: String, object: &'a Value) -> Workload<'a> {
        let text = |key: &str| {
            object
                .get("metadata")
                .and_then(|metadata| metadata.get(key))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        Workload {
            pointer,
            object,
            kind: object
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            namespace: text("namespace"),
            name: text("name").or_else(|| text("generateName")),
        }
    }

    /// Where this workload keeps its pod.
    pub fn pod_pointers(&self) -> Option<PodPointers> {
        pod_pointers(&self.kind)
    }
}

/// The workloads of one document: the document itself when it is one of the nine kinds PSA
/// evaluates, the items of a List that are (nested Lists included, pointer `/items/1/items/0`),
/// nothing otherwise.
pub fn workloads(document: &Value) -> Vec<Workload<'_>> {
    let mut found = Vec::new();
    collect(document, String::new(), &mut found);
    found
}

fn collect<'a>(object: &'a Value, pointer: String, found: &mut Vec<Workload<'a>>) {
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind.ends_with("List") {
        if let Some(items) = object.get("items").and_then(Value::as_array) {
            for (index, item) in items.iter().enumerate() {
                collect(item, format!("{pointer}/items/{index}"), found);
            }
            return;
        }
    }
    if is_workload(object) {
        found.push(Workload::new(pointer, object));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pod_pointers_agree_with_their_template() {
        for (kind, _, pointers) in KINDS {
            assert_eq!(
                pointers.metadata,
                format!("{}/metadata", pointers.template),
                "{kind}"
            );
            assert_eq!(
                pointers.spec,
                format!("{}/spec", pointers.template),
                "{kind}"
            );
        }
    }

    #[test]
    fn a_deployment_is_its_own_workload() {
        let doc = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"}});
        let found = workloads(&doc);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].pointer, "");
        assert_eq!(found[0].name.as_deref(), Some("web"));
        assert_eq!(found[0].namespace.as_deref(), Some("shop"));
        assert_eq!(
            found[0].pod_pointers().map(|p| p.spec),
            Some("/spec/template/spec")
        );
    }

    #[test]
    fn list_items_are_found_with_their_pointers() {
        let doc = json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "ConfigMap"},
            {"apiVersion": "batch/v1", "kind": "CronJob"},
            {"apiVersion": "v1", "kind": "List", "items": [{"kind": "Pod"}]}]});
        let pointers: Vec<_> = workloads(&doc).into_iter().map(|w| w.pointer).collect();
        assert_eq!(pointers, ["/items/1", "/items/2/items/0"]);
    }

    #[test]
    fn a_kind_in_a_foreign_group_is_not_a_workload() {
        assert!(
            workloads(&json!({"apiVersion": "example.com/v1", "kind": "Deployment"})).is_empty()
        );
        assert!(workloads(&json!({"apiVersion": "v1", "kind": "Service"})).is_empty());
        assert_eq!(workloads(&json!({"kind": "Job"})).len(), 1);
    }

    #[test]
    fn every_kind_has_its_pod_pointers() {
        assert_eq!(pod_pointers("Pod").map(|p| p.metadata), Some("/metadata"));
        assert_eq!(
            pod_pointers("PodTemplate").map(|p| p.spec),
            Some("/template/spec")
        );
        assert_eq!(
            pod_pointers("CronJob").map(|p| p.spec),
            Some("/spec/jobTemplate/spec/template/spec")
        );
        assert_eq!(pod_pointers("Service"), None);
    }
}
