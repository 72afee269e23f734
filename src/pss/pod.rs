//! A read-only view of the pod PSA evaluates inside a workload: its metadata, its spec and its
//! containers, each with the JSON pointer it sits at, and the API-server defaulting that
//! changes what the checks see.
//!
//! The checks read fields leniently: a missing or `null` field is unset, as Go decoding into
//! the API types makes it. Values of the wrong type (which the API server would reject before
//! PSA runs) are treated as unset.

use crate::pointer::{lookup, push_index, push_token};
use crate::workload::{self, PodPointers};
use serde_json::{Map, Value};
use std::cell::OnceCell;

/// The pod of one workload.
#[derive(Debug, Clone)]
pub struct Pod<'a> {
    pub metadata: Option<&'a Map<String, Value>>,
    pub spec: Option<&'a Map<String, Value>>,
    /// Pointer of the pod metadata, relative to the workload.
    pub metadata_at: &'static str,
    /// Pointer of the pod spec, relative to the workload.
    pub spec_at: &'static str,
    /// [`Pod::containers`], listed on first use: every check and most remedies visit them.
    containers: OnceCell<Vec<Container<'a>>>,
}

/// One container of any of the three lists.
#[derive(Debug, Clone)]
pub struct Container<'a> {
    pub name: &'a str,
    pub value: &'a Map<String, Value>,
    /// Ephemeral containers may not set resources, ports or probes.
    pub ephemeral: bool,
    /// Where it is: the pod spec's pointer, the list and the index (the pointer is made only
    /// for the few containers a finding or an edit is about).
    spec_at: &'static str,
    list: &'static str,
    index: usize,
}

/// The three container lists, in the order upstream visits them.
pub const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

impl<'a> Pod<'a> {
    /// The pod of `object` when it is a workload PSA evaluates. A ReplicationController
    /// without a template has no pod; any other kind without one is an empty pod, which is
    /// what the API server evaluates.
    pub fn of(object: &'a Value) -> Option<Pod<'a>> {
        let (kind, pointers) = workload::workload_kind(object)?;
        Pod::of_kind(object, kind, pointers)
    }

    /// [`Pod::of`] for an object whose kind and pod pointers are known (a kind found by
    /// [`workload::workload_kind`]).
    pub fn of_kind(object: &'a Value, kind: &str, pointers: PodPointers) -> Option<Pod<'a>> {
        let template = lookup(object, pointers.template);
        if kind == "ReplicationController" && set(template).is_none() {
            return None;
        }
        let part = |key| template?.get(key)?.as_object();
        Some(Pod {
            metadata: part("metadata"),
            spec: part("spec"),
            metadata_at: pointers.metadata,
            spec_at: pointers.spec,
            containers: OnceCell::new(),
        })
    }

    /// A field of the pod spec.
    pub fn field(&self, key: &str) -> Option<&'a Value> {
        set(self.spec?.get(key))
    }

    /// Whether a boolean field of the pod spec is `true`.
    pub fn flag(&self, key: &str) -> bool {
        self.field(key).and_then(Value::as_bool) == Some(true)
    }

    /// The pod-level securityContext.
    pub fn security_context(&self) -> Option<&'a Map<String, Value>> {
        self.field("securityContext").and_then(Value::as_object)
    }

    /// Pointer of the pod-level securityContext (which may not exist).
    pub fn security_context_at(&self) -> String {
        child(self.spec_at, "securityContext")
    }

    /// `spec.os.name: windows`.
    pub fn is_windows(&self) -> bool {
        self.field("os")
            .and_then(|os| os.get("name"))
            .and_then(Value::as_str)
            == Some("windows")
    }

    /// Why the pod runs on Windows nodes without saying so in `spec.os.name` (which PSA and
    /// the API server read): a `kubernetes.io/os` (or `beta.kubernetes.io/os`) node selector or
    /// required node affinity that only admits `windows`, or `windowsOptions.hostProcess`. `None`
    /// when it does not target Windows or says so with `spec.os.name: windows`.
    pub fn windows_by_selection(&self) -> Option<&'static str> {
        if self.is_windows() {
            return None;
        }
        let selector = self.field("nodeSelector");
        if OS_LABELS.iter().any(|label| {
            selector
                .and_then(|labels| labels.get(*label))
                .and_then(Value::as_str)
                == Some("windows")
        }) {
            return Some("its nodeSelector selects kubernetes.io/os: windows");
        }
        let terms = self
            .field("affinity")
            .and_then(|affinity| affinity.pointer(REQUIRED_NODE_TERMS))
            .and_then(Value::as_array)
            .filter(|terms| !terms.is_empty());
        if terms.is_some_and(|terms| terms.iter().all(term_requires_windows)) {
            return Some("its node affinity requires kubernetes.io/os: windows");
        }
        // Set or not (a fix turns it off, the pod still runs on Windows), only Windows has it.
        let host_process = |context: Option<&Map<String, Value>>| {
            context
                .and_then(|context| context.get("windowsOptions"))
                .and_then(|options| options.get("hostProcess"))
                .is_some_and(Value::is_boolean)
        };
        if host_process(self.security_context())
            || self
                .containers()
                .iter()
                .any(|c| host_process(c.security_context()))
        {
            return Some("it sets windowsOptions.hostProcess, which only Windows has");
        }
        None
    }

    /// Whether the pod runs on Windows nodes: [`Pod::is_windows`], or
    /// [`Pod::windows_by_selection`].
    pub fn targets_windows(&self) -> bool {
        self.is_windows() || self.windows_by_selection().is_some()
    }

    /// `spec.hostUsers: false`: the pod runs in its own user namespace.
    pub fn in_user_namespace(&self) -> bool {
        self.field("hostUsers").and_then(Value::as_bool) == Some(false)
    }

    /// The pod annotations; a `null` value reads as `""`, as in Go.
    pub fn annotations(&self) -> Vec<(&'a str, &'a str)> {
        let Some(annotations) = self
            .metadata
            .and_then(|metadata| set(metadata.get("annotations")))
            .and_then(Value::as_object)
        else {
            return Vec::new();
        };
        annotations
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str().unwrap_or_default()))
            .collect()
    }

    /// Every container: init containers, then containers, then ephemeral containers.
    pub fn containers(&self) -> &[Container<'a>] {
        self.containers.get_or_init(|| self.list_containers())
    }

    fn list_containers(&self) -> Vec<Container<'a>> {
        let mut found = Vec::new();
        for list in CONTAINER_LISTS {
            let Some(items) = self.field(list).and_then(Value::as_array) else {
                continue;
            };
            for (index, entry) in items.iter().enumerate() {
                if let Some(value) = entry.as_object() {
                    found.push(Container {
                        name: value
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or_default(),
                        value,
                        ephemeral: list == "ephemeralContainers",
                        spec_at: self.spec_at,
                        list,
                        index,
                    });
                }
            }
        }
        found
    }

    /// The volumes, each with its pointer.
    pub fn volumes(&self) -> Vec<(String, &'a Map<String, Value>)> {
        self.field("volumes")
            .and_then(Value::as_array)
            .map(|items| {
                let volumes_at = child(self.spec_at, "volumes");
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(index, volume)| {
                        Some((item(&volumes_at, index), volume.as_object()?))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl<'a> Container<'a> {
    /// Pointer of the container object, relative to the workload.
    pub fn at(&self) -> String {
        self.at_with("")
    }

    /// The container's pointer with `suffix` after it: tokens that need no escaping, each after
    /// a `/`.
    pub fn at_with(&self, suffix: &str) -> String {
        let mut path =
            String::with_capacity(self.spec_at.len() + self.list.len() + 8 + suffix.len());
        path.push_str(self.spec_at);
        path.push('/');
        path.push_str(self.list);
        push_index(&mut path, self.index);
        path.push_str(suffix);
        path
    }

    /// The container's securityContext.
    pub fn security_context(&self) -> Option<&'a Map<String, Value>> {
        set(self.value.get("securityContext")).and_then(Value::as_object)
    }

    /// Pointer of the container's securityContext (which may not exist).
    pub fn security_context_at(&self) -> String {
        self.at_with("/securityContext")
    }

    /// A field of the container's securityContext.
    pub fn context_field(&self, key: &str) -> Option<&'a Value> {
        set(self.security_context()?.get(key))
    }
}

/// The node labels that name a node's operating system.
const OS_LABELS: [&str; 2] = ["kubernetes.io/os", "beta.kubernetes.io/os"];

/// Where the required node selector terms sit in `affinity`.
const REQUIRED_NODE_TERMS: &str =
    "/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms";

/// Whether a node selector term admits only Windows nodes: one of its expressions on an OS
/// label is `In` with `windows` as its only value.
fn term_requires_windows(term: &Value) -> bool {
    term.get("matchExpressions")
        .and_then(Value::as_array)
        .is_some_and(|expressions| {
            expressions.iter().any(|expression| {
                let key = expression.get("key").and_then(Value::as_str);
                key.is_some_and(|key| OS_LABELS.contains(&key))
                    && expression.get("operator").and_then(Value::as_str) == Some("In")
                    && expression.get("values") == Some(&serde_json::json!(["windows"]))
            })
        })
}

/// A present, non-null value.
pub fn set(value: Option<&Value>) -> Option<&Value> {
    value.filter(|value| !value.is_null())
}

/// The `type` of a profile object (`seccompProfile`, `appArmorProfile`) in `context`:
/// `None` when the profile is unset, `""` when it is set without a type.
pub fn profile_type<'a>(context: Option<&'a Map<String, Value>>, key: &str) -> Option<&'a str> {
    let profile = set(context?.get(key))?;
    Some(
        profile
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    )
}

/// Appends `key` to `pointer` with RFC 6901 escaping (`~` as `~0`, `/` as `~1`). Pointers are
/// built on every check, so the common key needing no escape is copied once.
pub fn child(pointer: &str, key: &str) -> String {
    let mut path = String::with_capacity(pointer.len() + 1 + key.len());
    path.push_str(pointer);
    push_token(&mut path, key);
    path
}

/// Appends array index `index` to `pointer`.
pub fn item(pointer: &str, index: usize) -> String {
    let mut path = String::with_capacity(pointer.len() + 4);
    path.push_str(pointer);
    push_index(&mut path, index);
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_are_escaped() {
        assert_eq!(child("/metadata", "a/b~c"), "/metadata/a~1b~0c");
        assert_eq!(
            item(&child("/spec", "containers"), 10),
            "/spec/containers/10"
        );
    }
}
