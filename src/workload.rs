//! Where each kind keeps its pod spec, and how a document holds workloads (`v1 List` items).
//!
//! SKELETON: filled in by issue 3.

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

/// The workloads of one document: the document itself when it is one of the nine kinds PSA
/// evaluates, the items of a `v1 List` that are, nothing otherwise.
pub fn workloads(document: &Value) -> Vec<Workload<'_>> {
    let _ = document;
    todo!("issue 3")
}
