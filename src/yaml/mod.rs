//! Format-preserving YAML: bytes, spans and styles. Knows nothing of Kubernetes.
//!
//! [`Stream::parse`] reads a multi-document stream into a span tree; [`Document::value`] is a
//! document as Kubernetes reads it (`serde_json::Value`); [`Stream::edit`] applies RFC 6902
//! patches to documents as text splices and verifies the result (invariant I2) before returning
//! it. Untouched bytes are copied from the source, so an empty patch returns the input.
//!
//! SKELETON: the API below is the contract the CLI codes against; bodies are filled in by the
//! editor work (issue 2).

use serde_json::Value;

/// A parse or edit failure, pointing into the input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct Error {
    /// 1-based line of the offending byte.
    pub line: usize,
    /// 1-based column (in characters) of the offending byte.
    pub column: usize,
    /// Byte offset into the input.
    pub offset: usize,
    /// Lower-case reason, quoting the offending value.
    pub message: String,
}

/// A parsed multi-document stream. Immutable: edits return new text.
#[derive(Debug)]
pub struct Stream {
    source: String,
    documents: Vec<Document>,
}

/// One document of a stream.
#[derive(Debug)]
pub struct Document {
    value: Value,
    line: usize,
}

impl Stream {
    /// Parses `source` (which may start with a BOM and use CRLF line ends).
    pub fn parse(source: &str) -> Result<Stream, Error> {
        let _ = source;
        todo!("issue 2")
    }

    /// The text this stream was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The documents, in order; empty documents included (their value is `Value::Null`).
    pub fn documents(&self) -> &[Document] {
        &self.documents
    }

    /// Applies each `(document index, patch)` and returns the whole new text. Every byte outside
    /// the edited nodes is kept (I1); the result is re-parsed and each edited document's value
    /// must equal `json_patch::patch(old value, patch)` (I2), else this is an error and no text
    /// is returned.
    pub fn edit(&self, edits: &[(usize, json_patch::Patch)]) -> Result<String, Error> {
        let _ = edits;
        todo!("issue 2")
    }

    /// 1-based (line, column) of the node at `pointer` (RFC 6901) in document `document`, or of
    /// its nearest existing ancestor when the node does not exist.
    pub fn location(&self, document: usize, pointer: &str) -> (usize, usize) {
        let _ = (document, pointer);
        todo!("issue 2")
    }
}

impl Document {
    /// The document as Kubernetes reads it: aliases and merge keys resolved, YAML 1.1 scalars
    /// as sigs.k8s.io/yaml resolves them.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// 1-based line where the document's content starts.
    pub fn line(&self) -> usize {
        self.line
    }
}
