//! Format-preserving YAML: bytes, spans and styles. Knows nothing of Kubernetes.
//!
//! [`Stream::parse`] reads a multi-document stream into a span tree; [`Document::value`] is a
//! document as Kubernetes reads it (`serde_json::Value`); [`Stream::edit`] applies RFC 6902
//! patches to documents as text splices and verifies the result (invariant I2) before returning
//! it. Untouched bytes are copied from the source, so an empty patch returns the input.
//!
//! Modules: `events` (the only one that sees the parser, granit-parser), `tree` (span tree),
//! `value` (YAML to JSON as the API server resolves it; its doc lists the YAML 1.1 choices),
//! `edit` (splices), `render` (text for new values), `lines` (line arithmetic), `error`.
//!
//! # What an edit does
//! - A changed scalar is re-spelled in place; a trailing comment on its line stays.
//! - A new key goes after the last entry of its mapping and after the comment lines below that
//!   entry indented at least as deep as the mapping's keys; in a flow mapping it is appended as
//!   `, key: value`; in a JSON document as JSON (on its own line if the object spans lines).
//! - A removed entry or item takes its own lines: the comment lines directly above it at its
//!   column (they describe it), its lines, and a comment at the end of its last line. The
//!   comment lines after a removed last entry stay (they may describe what follows).
//! - A mapping or sequence emptied by a removal becomes `{}` / `[]`; an empty value (`key:`,
//!   `~`, `{}`, `[]`) that gains children is rewritten in block form in block context.
//! - New text uses the document's indentation step, sequence style (`- ` at the key's column or
//!   indented) and the file's line break; strings are quoted only when plain text would read
//!   back as something else.
//! - A change to an anchored node used by an alias, through an alias, or to a key that comes
//!   from a merge key `<<` is refused: it would change every use.
//!
//! # Verification
//! Each edited document's new text is parsed on its own (its slice of the stream runs from its
//! `---` to the next document's start) and its value compared with the patched value, numbers
//! by value; unedited documents keep their bytes. If a slice does not parse alone (a directive
//! placed before the next document's `---`), the whole new stream is parsed and compared.
//!
//! # Limitations
//! - Edits come from diffing the old and the patched value, not from replaying operations. In
//!   a sequence, equal items stay and items of the same shape (mappings sharing an entry, such
//!   as a container's `name`) are edited in place. A sequence that exactly one `add`/`remove`
//!   of an item targets is changed at that index; with several such operations on one sequence
//!   holding equal items, an insertion may land next to another equal item (the value is still
//!   the patched one), and a `move` shows as a removal and an insertion.
//! - Keys that are aliases or collections (`*a: b`, `? [x]: y`) cannot be edited around; a `?`
//!   on a line before its key, and comments between `-` and its item, are not located: such
//!   edits are refused (or verification refuses them).
//! - Comments inside a multi-line flow collection are not tracked: removing an entry there also
//!   removes a comment between it and the entry before.
//! - New multi-line strings are written double-quoted with `\n` escapes, not as block scalars;
//!   new strings are double-quoted when quoting is needed, whatever quotes the file prefers.
//! - A block scalar's header is found as the first `|`/`>` after the previous token: an anchor
//!   or tag name containing those characters in front of a block scalar confuses it.
//! - `!!binary` scalars resolve to their base64 text (go-yaml decodes them); other custom tags
//!   are read as their text.

mod edit;
mod error;
mod events;
mod lines;
mod render;
mod tree;
mod value;

use serde_json::Value;

pub use error::Error;

use tree::{Kind, Node, Tree};

/// A parsed multi-document stream. Immutable: edits return new text.
#[derive(Debug)]
pub struct Stream {
    source: String,
    documents: Vec<Document>,
    /// Where each line starts, computed on the first [`Stream::location`] so that locating
    /// many findings in a large file is not quadratic.
    line_index: std::sync::OnceLock<lines::LineIndex>,
}

/// One document of a stream.
#[derive(Debug)]
pub struct Document {
    value: Value,
    line: usize,
    tree: Tree,
}

impl Stream {
    /// Parses `source` (which may start with a BOM and use CRLF line ends).
    pub fn parse(source: &str) -> Result<Stream, Error> {
        let documents = Documents::new(source).collect::<Result<Vec<_>, _>>()?;
        Ok(Stream {
            source: source.to_owned(),
            documents,
            line_index: std::sync::OnceLock::new(),
        })
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
    /// is returned. Several patches for one document apply in order.
    pub fn edit(&self, edits: &[(usize, json_patch::Patch)]) -> Result<String, Error> {
        let mut expected: Vec<Option<Value>> = vec![None; self.documents.len()];
        for (index, patch) in edits {
            let document = self.documents.get(*index).ok_or_else(|| {
                Error::at(
                    &self.source,
                    self.source.len(),
                    format!(
                        "no document {index} (the stream has {})",
                        self.documents.len()
                    ),
                )
            })?;
            let target = expected[*index].get_or_insert_with(|| document.value.clone());
            apply_patch(&self.source, *index, document, target, patch)?;
        }
        // Each edited document is spliced and verified on its own slice; unedited slices are
        // copied. A slice that does not parse alone (a `%TAG` directive of an earlier part of
        // the stream, say) is verified by parsing the whole result instead.
        let mut text = String::with_capacity(self.source.len());
        let mut copied = 0;
        let mut verify_whole = false;
        for ((index, document), new) in self.documents.iter().enumerate().zip(&expected) {
            let Some(new) = new else {
                continue;
            };
            let operations: Vec<json_patch::PatchOperation> = edits
                .iter()
                .filter(|(edited, _)| *edited == index)
                .flat_map(|(_, patch)| patch.0.iter().cloned())
                .collect();
            let Some(edited) = edit_document(&self.source, index, document, &operations, new)?
            else {
                continue;
            };
            verify_whole |= !edited.verified;
            let range = &document.tree.range;
            text.push_str(&self.source[copied..range.start]);
            text.push_str(&edited.text);
            copied = range.end;
        }
        if copied == 0 && text.is_empty() {
            return Ok(self.source.clone());
        }
        text.push_str(&self.source[copied..]);
        if verify_whole {
            self.verify(&text, &expected)?;
        }
        Ok(text)
    }

    /// Checks I2 on an edit's result: same number of documents, edited ones equal to their
    /// patched values, the others unchanged.
    fn verify(&self, text: &str, expected: &[Option<Value>]) -> Result<(), Error> {
        let first_edited = expected.iter().position(Option::is_some).unwrap_or(0);
        let at = |index: usize| {
            self.documents
                .get(index)
                .map_or(0, |document| document.tree.root.props_start)
        };
        let reparsed = Stream::parse(text).map_err(|error| {
            Error::internal(
                &self.source,
                at(first_edited),
                &format!("the edited text does not parse ({error})"),
            )
        })?;
        if reparsed.documents.len() != self.documents.len() {
            return Err(Error::internal(
                &self.source,
                at(first_edited),
                "the edit changed the number of documents",
            ));
        }
        for (index, ((before, after), expected)) in self
            .documents
            .iter()
            .zip(&reparsed.documents)
            .zip(expected)
            .enumerate()
        {
            let wanted = expected.as_ref().unwrap_or(&before.value);
            if !value::same(wanted, &after.value) {
                return Err(not_faithful(&self.source, index, before));
            }
        }
        Ok(())
    }

    /// 1-based (line, column) of the node at `pointer` (RFC 6901) in document `document`, or of
    /// its nearest existing ancestor when the node does not exist. A mapping member is located
    /// at its key, a sequence item at its `-`; a key brought in by a merge key at the `<<`.
    /// A document index out of range gives (1, 1).
    pub fn location(&self, document: usize, pointer: &str) -> (usize, usize) {
        match self.documents.get(document) {
            Some(document) => locate(&self.source, &self.line_index, document, pointer),
            None => (1, 1),
        }
    }

    /// The byte range of the node at `pointer` (RFC 6901) in document `document`, or of its
    /// nearest existing ancestor: from a mapping member's key (a sequence item's `-`) to the end
    /// of its value's content. Edits of that pointer change bytes only in this range, the
    /// comment lines directly above it and the line break or line after it; tests and reports
    /// use it to say what an edit may touch. A document index out of range gives `0..0`.
    pub fn range(&self, document: usize, pointer: &str) -> std::ops::Range<usize> {
        match self.documents.get(document) {
            Some(document) => node_range(&self.source, document, pointer),
            None => 0..0,
        }
    }
}

/// The range [`Stream::range`] gives, in one document.
fn node_range(source: &str, document: &Document, pointer: &str) -> std::ops::Range<usize> {
    let mut node = &document.tree.root;
    let mut range = node.props_start..node.end;
    for token in crate::pointer::tokens(pointer) {
        let Some((child, at)) = step(node, &token, source) else {
            break;
        };
        match child {
            Some(child) => {
                node = child;
                range = at..child.end;
            }
            None => break,
        }
    }
    range
}

/// The documents of a source in order, each with its value and first line, built when asked
/// for.
struct Documents<'a> {
    source: &'a str,
    trees: Box<dyn Iterator<Item = Result<Tree, Error>> + 'a>,
    /// The line of `counted`: lines are counted on from the previous document.
    line: usize,
    counted: usize,
}

impl<'a> Documents<'a> {
    fn new(source: &'a str) -> Documents<'a> {
        Documents {
            source,
            trees: Box::new(tree::parse(source)),
            line: 1,
            counted: 0,
        }
    }
}

impl Iterator for Documents<'_> {
    type Item = Result<Document, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let tree = match self.trees.next()? {
            Ok(tree) => tree,
            Err(error) => return Some(Err(error)),
        };
        let value = match value::to_value(self.source, &tree) {
            Ok(value) => value,
            Err(error) => return Some(Err(error)),
        };
        let start = tree.root.props_start.max(self.counted);
        self.line += lines::breaks(&self.source.as_bytes()[self.counted..start]);
        self.counted = start;
        Some(Ok(Document {
            value,
            line: self.line,
            tree,
        }))
    }
}

/// One document as [`process`] hands it to its visitor.
pub struct Visit<'a> {
    /// The document's index in the stream.
    pub index: usize,
    document: &'a Document,
    source: &'a str,
    line_index: &'a std::sync::OnceLock<lines::LineIndex>,
}

impl Visit<'_> {
    pub fn document(&self) -> &Document {
        self.document
    }

    /// Where the node at `pointer` is, as [`Stream::location`] says.
    pub fn location(&self, pointer: &str) -> (usize, usize) {
        locate(self.source, self.line_index, self.document, pointer)
    }

    /// An error about the node at `pointer` (or its nearest existing ancestor), pointing at it.
    pub fn error_at(&self, pointer: &str, message: String) -> Error {
        let offset = node_range(self.source, self.document, pointer).start;
        Error::at(self.source, offset, message)
    }
}

/// What [`process`] gives back: the visitor's result for each document, in order, and the new
/// text when a patch changed any.
#[derive(Debug)]
pub struct Processed<T> {
    pub results: Vec<T>,
    pub text: Option<String>,
}

/// Reads `source` one document at a time: hands each to `visit` (an error from it ends the
/// run), applies the patch it returns
/// for that document as [`Stream::edit`] does (I1, and I2 verified) and drops the document
/// before reading the next. So memory follows the largest document, not the stream: a 50 MB
/// stream of many documents is held as text (input and output) plus one document's tree and
/// values. A document whose slice cannot be verified alone (a directive before the next
/// `---`) makes it start over through [`Stream`], which holds every document.
pub fn process<T>(
    source: &str,
    mut visit: impl FnMut(&Visit<'_>) -> Result<(T, json_patch::Patch), Error>,
) -> Result<Processed<T>, Error> {
    let line_index = std::sync::OnceLock::new();
    let mut results = Vec::new();
    let mut text = String::new();
    let mut copied = 0;
    for (index, document) in Documents::new(source).enumerate() {
        let document = document?;
        let (result, patch) = visit(&Visit {
            index,
            document: &document,
            source,
            line_index: &line_index,
        })?;
        results.push(result);
        if patch.0.is_empty() {
            continue;
        }
        let mut new = document.value.clone();
        apply_patch(source, index, &document, &mut new, &patch)?;
        let Some(edited) = edit_document(source, index, &document, &patch.0, &new)? else {
            continue;
        };
        if !edited.verified {
            return process_whole(source, visit);
        }
        let range = &document.tree.range;
        if text.is_empty() {
            // The new text is about as long as the source: one allocation, not doublings.
            text.reserve(source.len() + edited.text.len());
        }
        text.push_str(&source[copied..range.start]);
        text.push_str(&edited.text);
        copied = range.end;
    }
    let text = (copied > 0 || !text.is_empty()).then(|| {
        text.push_str(&source[copied..]);
        text
    });
    Ok(Processed { results, text })
}

/// [`process`] through a [`Stream`]: every document held, the edit verified on the whole new
/// text.
fn process_whole<T>(
    source: &str,
    mut visit: impl FnMut(&Visit<'_>) -> Result<(T, json_patch::Patch), Error>,
) -> Result<Processed<T>, Error> {
    let stream = Stream::parse(source)?;
    let mut results = Vec::new();
    let mut edits = Vec::new();
    for (index, document) in stream.documents.iter().enumerate() {
        let (result, patch) = visit(&Visit {
            index,
            document,
            source,
            line_index: &stream.line_index,
        })?;
        results.push(result);
        if !patch.0.is_empty() {
            edits.push((index, patch));
        }
    }
    let text = if edits.is_empty() {
        None
    } else {
        Some(stream.edit(&edits)?)
    };
    Ok(Processed { results, text })
}

/// A document's edited slice of the stream.
struct Edited {
    text: String,
    /// Parsed alone, the slice gave the patched value; `false`: it does not parse alone and
    /// must be verified in the whole new stream.
    verified: bool,
}

/// Splices document `index` of `source` to read as `new` (`operations` steer where sequence
/// items go) and verifies the slice alone when it parses alone; `None` when nothing changes.
fn edit_document(
    source: &str,
    index: usize,
    document: &Document,
    operations: &[json_patch::PatchOperation],
    new: &Value,
) -> Result<Option<Edited>, Error> {
    let hints = edit::sequence_hints(operations, &document.value);
    let mut edit = edit::splices(source, &document.tree, &document.value, new, &hints)?;
    if edit.splices.is_empty() {
        return Ok(None);
    }
    let range = document.tree.range.clone();
    let text = edit::apply(source, range.clone(), &mut edit)?;
    // Alone, a slice needs no final line break; before the next document it does.
    let breaks_before_next = range.end == source.len()
        || !source[..range.end].ends_with(['\n', '\r'])
        || text.ends_with(['\n', '\r']);
    let alone = match tree::parse(&text).collect::<Result<Vec<_>, _>>() {
        Ok(trees) if trees.len() == 1 && breaks_before_next => {
            value::to_value(&text, &trees[0]).ok()
        }
        _ => None,
    };
    match alone {
        Some(value) if value::same(new, &value) => Ok(Some(Edited {
            text,
            verified: true,
        })),
        Some(_) => Err(not_faithful(source, index, document)),
        None => Ok(Some(Edited {
            text,
            verified: false,
        })),
    }
}

/// `patch` applied to `target` (document `index`'s value), or an error at the document.
fn apply_patch(
    source: &str,
    index: usize,
    document: &Document,
    target: &mut Value,
    patch: &json_patch::Patch,
) -> Result<(), Error> {
    json_patch::patch(target, &patch.0).map_err(|error| {
        Error::at(
            source,
            document.tree.root.props_start,
            format!("patch does not apply to document {index}: {error}"),
        )
    })
}

fn not_faithful(source: &str, index: usize, document: &Document) -> Error {
    Error::internal(
        source,
        document.tree.root.props_start,
        &format!("document {index} would not read back as the patched value"),
    )
}

/// 1-based (line, column) of the node at `pointer` in `document`, or of its nearest existing
/// ancestor (see [`Stream::location`]), through the line index built on first use.
fn locate(
    source: &str,
    line_index: &std::sync::OnceLock<lines::LineIndex>,
    document: &Document,
    pointer: &str,
) -> (usize, usize) {
    let mut node = &document.tree.root;
    let mut offset = node.props_start;
    for token in crate::pointer::tokens(pointer) {
        let Some((child, at)) = step(node, &token, source) else {
            break;
        };
        offset = at;
        match child {
            Some(child) => node = child,
            None => break,
        }
    }
    line_index
        .get_or_init(|| lines::LineIndex::new(source))
        .line_column(source, offset)
}

/// The child of `node` named by one pointer token and where it is located; a key that only a
/// merge key `<<` brings in is located at the `<<`, with no child to descend into.
fn step<'a>(node: &'a Node, token: &str, source: &str) -> Option<(Option<&'a Node>, usize)> {
    match &node.kind {
        Kind::Map { entries, .. } => {
            let explicit = entries.iter().rev().find(|entry| {
                !value::is_merge_key(&entry.key, source)
                    && value::scalar_key(&entry.key, source).as_deref() == Some(token)
            });
            if let Some(entry) = explicit {
                return Some((Some(&entry.value), entry.start));
            }
            let merge = entries
                .iter()
                .find(|entry| value::is_merge_key(&entry.key, source))?;
            Some((None, merge.key.props_start))
        }
        Kind::Seq { items, .. } => {
            let item = items.get(token.parse::<usize>().ok()?)?;
            Some((Some(&item.node), item.dash.unwrap_or(item.node.props_start)))
        }
        Kind::Scalar { .. } | Kind::Alias { .. } => None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(ops: Value) -> json_patch::Patch {
        serde_json::from_value(ops).unwrap()
    }

    fn edit(source: &str, ops: Value) -> String {
        let stream = Stream::parse(source).unwrap();
        stream
            .edit(&[(0, patch(ops))])
            .unwrap_or_else(|error| panic!("{error}"))
    }

    fn refused(source: &str, ops: Value) -> Error {
        Stream::parse(source)
            .unwrap()
            .edit(&[(0, patch(ops))])
            .unwrap_err()
    }

    #[test]
    fn empty_patch_is_identity() {
        let source = "\u{feff}# c\r\na: 1 # x\r\n---\r\nb: [1, 2]\r\n...\r\n";
        let stream = Stream::parse(source).unwrap();
        assert_eq!(stream.edit(&[]).unwrap(), source);
        assert_eq!(stream.edit(&[(1, patch(json!([])))]).unwrap(), source);
        assert_eq!(stream.documents().len(), 2);
        assert_eq!(stream.documents()[1].line(), 4);
    }

    #[test]
    fn add_key_to_block_mapping_after_its_comments() {
        let source = "spec:\n  containers:\n  - name: a\n    image: b # pinned\n    # about image\n  # about volumes\n  volumes: []\n";
        let out = edit(
            source,
            json!([{"op": "add", "path": "/spec/containers/0/securityContext", "value": {"capabilities": {"drop": ["ALL"]}, "runAsNonRoot": true}}]),
        );
        assert_eq!(
            out,
            "spec:\n  containers:\n  - name: a\n    image: b # pinned\n    # about image\n    securityContext:\n      capabilities:\n        drop:\n        - ALL\n      runAsNonRoot: true\n  # about volumes\n  volumes: []\n"
        );
    }

    #[test]
    fn four_space_indented_sequences_are_followed() {
        let source = "a:\n    b:\n        - x: 1\n";
        let out = edit(
            source,
            json!([{"op": "add", "path": "/a/c", "value": {"d": [1]}}]),
        );
        assert_eq!(
            out,
            "a:\n    b:\n        - x: 1\n    c:\n        d:\n            - 1\n"
        );
    }

    #[test]
    fn replace_scalar_keeps_comment_and_quoting_elsewhere() {
        let source = "a: 'x'\nb: 1 # one\n";
        assert_eq!(
            edit(
                source,
                json!([{"op": "replace", "path": "/b", "value": "yes"}])
            ),
            "a: 'x'\nb: \"yes\" # one\n"
        );
        assert_eq!(
            edit(
                source,
                json!([{"op": "replace", "path": "/a", "value": "y z"}])
            ),
            "a: y z\nb: 1 # one\n"
        );
    }

    #[test]
    fn remove_takes_own_lines_and_comments_above() {
        let source = "a: 1\n# about b\nb:\n  c: 2\nd: 3\n";
        assert_eq!(
            edit(source, json!([{"op": "remove", "path": "/b"}])),
            "a: 1\nd: 3\n"
        );
        let source = "ports:\n- containerPort: 80\n  hostPort: 80\n";
        assert_eq!(
            edit(
                source,
                json!([{"op": "remove", "path": "/ports/0/hostPort"}])
            ),
            "ports:\n- containerPort: 80\n"
        );
        assert_eq!(
            edit(
                source,
                json!([{"op": "remove", "path": "/ports/0/containerPort"}])
            ),
            "ports:\n- hostPort: 80\n"
        );
    }

    #[test]
    fn removing_last_entries_leaves_empty_collections() {
        let source = "a:\n  b: 1 # gone\nc:\n- x\n";
        assert_eq!(
            edit(source, json!([{"op": "remove", "path": "/a/b"}])),
            "a: {}\nc:\n- x\n"
        );
        assert_eq!(
            edit(source, json!([{"op": "remove", "path": "/c/0"}])),
            "a:\n  b: 1 # gone\nc: []\n"
        );
    }

    #[test]
    fn empty_values_gain_children_in_block_form() {
        let source = "sc:\nflow: {}\nlist: [] # keep\n";
        let out = edit(
            source,
            json!([
                {"op": "add", "path": "/sc", "value": {}},
                {"op": "add", "path": "/sc/a", "value": 1},
                {"op": "add", "path": "/flow/b", "value": "c"},
                {"op": "add", "path": "/list/-", "value": "d"}
            ]),
        );
        assert_eq!(out, "sc:\n  a: 1\nflow:\n  b: c\nlist: # keep\n- d\n");
    }

    #[test]
    fn explicit_nulls_and_empty_items_gain_children() {
        let source = "a: null # n\nl:\n- {}\n- ~\n";
        let out = edit(
            source,
            json!([
                {"op": "add", "path": "/a", "value": {"b": true}},
                {"op": "add", "path": "/l/0/k", "value": "v"},
                {"op": "replace", "path": "/l/1", "value": {"x": 1, "y": 2}}
            ]),
        );
        // `y` is a YAML 1.1 boolean: quoted as a key.
        assert_eq!(out, "a: # n\n  b: true\nl:\n- k: v\n- x: 1\n  \"y\": 2\n");
    }

    #[test]
    fn tags_and_unaliased_anchors() {
        let source = "a: !!str 5\nb: &n 1\nc: !!int \"7\"\n";
        let stream = Stream::parse(source).unwrap();
        assert_eq!(
            stream.documents()[0].value(),
            &json!({"a": "5", "b": 1, "c": 7})
        );
        // The tag would change the new value's type: it goes with the old spelling.
        assert_eq!(
            edit(source, json!([{"op": "replace", "path": "/a", "value": 6}])),
            "a: 6\nb: &n 1\nc: !!int \"7\"\n"
        );
        // An anchor nobody uses does not block an edit.
        assert_eq!(
            edit(source, json!([{"op": "replace", "path": "/b", "value": 2}])),
            "a: !!str 5\nb: &n 2\nc: !!int \"7\"\n"
        );
    }

    #[test]
    fn flow_sequences_insert_before_and_json_arrays_grow_per_line() {
        assert_eq!(
            edit(
                "a: [x, y]\n",
                json!([{"op": "add", "path": "/a/0", "value": "w"}])
            ),
            "a: [w, x, y]\n"
        );
        let source = "{\n  \"a\": [\n    1\n  ]\n}";
        let out = edit(
            source,
            json!([{"op": "add", "path": "/a/-", "value": {"b": 2}}]),
        );
        assert_eq!(
            out,
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": 2\n    }\n  ]\n}"
        );
        let out = edit(
            "{\"a\": 1, \"b\": 2}",
            json!([{"op": "remove", "path": "/a"}]),
        );
        assert_eq!(out, "{\"b\": 2}");
    }

    #[test]
    fn flow_collections_stay_flow() {
        let source = "a: {b: 1}\nc: [x, y]\n";
        let out = edit(
            source,
            json!([
                {"op": "add", "path": "/a/d", "value": "e,f"},
                {"op": "add", "path": "/c/1", "value": "z"},
                {"op": "remove", "path": "/c/0"}
            ]),
        );
        assert_eq!(out, "a: {b: 1, d: \"e,f\"}\nc: [z, y]\n");
    }

    #[test]
    fn json_documents_stay_json() {
        let source = "{\n  \"a\": {\n    \"b\": 1\n  }\n}\n";
        let out = edit(
            source,
            json!([{"op": "add", "path": "/a/c", "value": {"d": [true]}}]),
        );
        assert_eq!(out, "{\n  \"a\": {\n    \"b\": 1,\n    \"c\": {\n      \"d\": [\n        true\n      ]\n    }\n  }\n}\n");
        serde_json::from_str::<Value>(&out).unwrap();
        let out = edit(
            "{\"a\": [1]}",
            json!([{"op": "add", "path": "/b", "value": {"c": "d"}}]),
        );
        assert_eq!(out, "{\"a\": [1], \"b\": {\"c\": \"d\"}}");
        let minified = edit(
            "{\"a\":[1]}",
            json!([{"op": "add", "path": "/b", "value": {"c": "d"}}, {"op": "add", "path": "/a/-", "value": 2}]),
        );
        assert_eq!(minified, "{\"a\":[1,2],\"b\":{\"c\":\"d\"}}");
        let tabs = edit(
            "{\n\t\"a\": {\n\t\t\"b\": 1\n\t}\n}\n",
            json!([{"op": "add", "path": "/a/c", "value": {"d": [true]}}]),
        );
        assert_eq!(
            tabs,
            "{\n\t\"a\": {\n\t\t\"b\": 1,\n\t\t\"c\": {\n\t\t\t\"d\": [\n\t\t\t\ttrue\n\t\t\t]\n\t\t}\n\t}\n}\n"
        );
    }

    #[test]
    fn crlf_unicode_and_missing_final_newline_are_kept() {
        let source = "n: héllo 日本\r\nm:\r\n  a: 1";
        let out = edit(source, json!([{"op": "add", "path": "/m/b", "value": 2}]));
        assert_eq!(out, "n: héllo 日本\r\nm:\r\n  a: 1\r\n  b: 2");
        let out = edit(
            source,
            json!([{"op": "remove", "path": "/m/a"}, {"op": "add", "path": "/m/c", "value": 3}]),
        );
        assert_eq!(out, "n: héllo 日本\r\nm:\r\n  c: 3");
        assert_eq!(
            edit("a: 1\nb: 2", json!([{"op": "remove", "path": "/b"}])),
            "a: 1"
        );
        let remove_b = json!([{"op": "remove", "path": "/b"}]);
        assert_eq!(edit("a: 1\r\n# about b\r\nb: 2\r\n", remove_b), "a: 1\r\n");
        let both = json!([{"op": "remove", "path": "/b"}, {"op": "add", "path": "/c", "value": 3}]);
        assert_eq!(edit("a: 1\r\nb: 2", both), "a: 1\r\nc: 3");
        let nested =
            json!([{"op": "remove", "path": "/b"}, {"op": "add", "path": "/a/1/k", "value": 3}]);
        assert_eq!(
            edit("a:\n- x\n- j: 1\nb: 2", nested),
            "a:\n- x\n- j: 1\n  k: 3"
        );
        let lone_cr = json!([{"op": "add", "path": "/b", "value": 2}]);
        assert_eq!(edit("a: 1\r", lone_cr), "a: 1\rb: 2\r");
    }

    #[test]
    fn sequences_insert_at_index_and_append() {
        let source = "l:\n  - a\n  # about b\n  - b\n";
        let out = edit(
            source,
            json!([{"op": "add", "path": "/l/1", "value": "m"}, {"op": "add", "path": "/l/-", "value": {"k": "v", "w": 1}}]),
        );
        assert_eq!(
            out,
            "l:\n  - a\n  - m\n  # about b\n  - b\n  - k: v\n    w: 1\n"
        );
    }

    #[test]
    fn block_scalars_are_kept_and_replaced_whole() {
        let source = "a: |\n  text\n\nb: >-\n  folded\nc: 1\n";
        assert_eq!(
            edit(source, json!([{"op": "replace", "path": "/c", "value": 2}])),
            "a: |\n  text\n\nb: >-\n  folded\nc: 2\n"
        );
        assert_eq!(
            edit(
                source,
                json!([{"op": "replace", "path": "/b", "value": "x"}])
            ),
            "a: |\n  text\n\nb: x\nc: 1\n"
        );
    }

    #[test]
    fn root_block_scalars_are_replaced_with_their_header() {
        let out = edit(
            "--- |\n  ף\n",
            json!([{"op": "replace", "path": "", "value": "x"}]),
        );
        assert_eq!(out, "--- x\n");
    }

    #[test]
    fn empty_documents_can_be_filled() {
        let stream = Stream::parse("a: 1\n---\n---\nb: 2\n").unwrap();
        let fill = patch(json!([{"op": "add", "path": "", "value": {"c": [3]}}]));
        assert_eq!(
            stream.edit(&[(1, fill)]).unwrap(),
            "a: 1\n---\nc:\n- 3\n---\nb: 2\n"
        );
        let scalar = patch(json!([{"op": "replace", "path": "", "value": "x"}]));
        assert_eq!(
            Stream::parse("---\n")
                .unwrap()
                .edit(&[(0, scalar)])
                .unwrap(),
            "---\nx\n"
        );
        assert!(Stream::parse("").unwrap().documents().is_empty());
    }

    #[test]
    fn multi_document_streams_edit_only_their_document() {
        let source = "%YAML 1.1\n---\nkind: ConfigMap\n...\n---\nkind: Pod\nspec: {}\n";
        let stream = Stream::parse(source).unwrap();
        let out = stream
            .edit(&[(
                1,
                patch(json!([{"op": "add", "path": "/spec/hostPID", "value": false}])),
            )])
            .unwrap();
        assert_eq!(
            out,
            "%YAML 1.1\n---\nkind: ConfigMap\n...\n---\nkind: Pod\nspec:\n  hostPID: false\n"
        );
    }

    #[test]
    fn a_slice_that_does_not_parse_alone_is_verified_in_the_whole_stream() {
        let source = "a: 1\n...\n%YAML 1.1\n---\nb: 2\n";
        let stream = Stream::parse(source).unwrap();
        let out = stream
            .edit(&[(
                0,
                patch(json!([{"op": "replace", "path": "/a", "value": 3}])),
            )])
            .unwrap();
        assert_eq!(out, "a: 3\n...\n%YAML 1.1\n---\nb: 2\n");
    }

    #[test]
    fn duplicate_key_last_wins_also_when_it_gains_children() {
        let source = "resources:\n  limits: {cpu: 1}\nname: x\nresources: {}\n";
        let out = edit(
            source,
            json!([{"op": "add", "path": "/resources/requests", "value": {"cpu": "100m"}}]),
        );
        assert_eq!(
            out,
            "resources:\n  limits: {cpu: 1}\nname: x\nresources:\n  requests:\n    cpu: 100m\n"
        );
    }

    #[test]
    fn aliases_and_merges_resolve_and_refuse_shared_edits() {
        let source = "base: &b {x: 1, q: 2}\nuse:\n  <<: *b\n  q: 3\nother: *b\n";
        let stream = Stream::parse(source).unwrap();
        assert_eq!(
            stream.documents()[0].value(),
            &json!({"base": {"x": 1, "q": 2}, "use": {"x": 1, "q": 3}, "other": {"x": 1, "q": 2}})
        );
        assert!(refused(
            source,
            json!([{"op": "replace", "path": "/base/x", "value": 5}])
        )
        .message
        .contains("&b"));
        assert!(refused(
            source,
            json!([{"op": "replace", "path": "/other/x", "value": 5}])
        )
        .message
        .contains("*b"));
        assert!(refused(
            source,
            json!([{"op": "replace", "path": "/use/x", "value": 5}])
        )
        .message
        .contains("<<"));
        assert_eq!(
            edit(
                source,
                json!([{"op": "replace", "path": "/use/q", "value": 4}])
            ),
            "base: &b {x: 1, q: 2}\nuse:\n  <<: *b\n  q: 4\nother: *b\n"
        );
        assert_eq!(
            edit(source, json!([{"op": "add", "path": "/use/z", "value": 4}])),
            "base: &b {x: 1, q: 2}\nuse:\n  <<: *b\n  q: 3\n  z: 4\nother: *b\n"
        );
        // `y` is a YAML 1.1 boolean, also as a key: go-yaml v2 reads `y: 1` as {"true": 1}.
        assert_eq!(
            Stream::parse("y: 1\n").unwrap().documents()[0].value(),
            &json!({"true": 1})
        );
    }

    #[test]
    fn removing_or_replacing_what_holds_a_used_anchor_is_refused() {
        let source = "a:\n  b: &x 1\nl:\n- &y {k: v}\nc: *x\nd: *y\n";
        for ops in [
            json!([{"op": "remove", "path": "/a"}]),
            json!([{"op": "replace", "path": "/a", "value": 2}]),
            json!([{"op": "remove", "path": "/l/0"}]),
        ] {
            let error = refused(source, ops);
            assert!(error.message.contains("alias uses elsewhere"), "{error}");
        }
        let unused = "a: &x 1\nb: 2\n";
        assert_eq!(
            edit(unused, json!([{"op": "remove", "path": "/a"}])),
            "b: 2\n"
        );
    }

    #[test]
    fn duplicate_keys_last_wins_and_remove_takes_all() {
        let source = "a: 1\nb: 2\na: 3\n";
        let stream = Stream::parse(source).unwrap();
        assert_eq!(stream.documents()[0].value(), &json!({"a": 3, "b": 2}));
        assert_eq!(
            edit(source, json!([{"op": "replace", "path": "/a", "value": 4}])),
            "a: 1\nb: 2\na: 4\n"
        );
        assert_eq!(
            edit(source, json!([{"op": "remove", "path": "/a"}])),
            "b: 2\n"
        );
    }

    #[test]
    fn test_op_and_bad_patches_are_errors() {
        let source = "a: 1\n";
        assert!(
            refused(source, json!([{"op": "test", "path": "/a", "value": 2}]))
                .message
                .contains("patch does not apply")
        );
        assert_eq!(
            edit(source, json!([{"op": "test", "path": "/a", "value": 1}])),
            source
        );
    }

    #[test]
    fn non_yaml_is_an_error_with_position() {
        let error = Stream::parse("a:\n  b: 1\n{{- with .Values }}\n").unwrap_err();
        assert_eq!(error.line, 3);
        let error = Stream::parse("a:\n\tb: 1\n").unwrap_err();
        assert!(error.message.contains("tab"));
        assert!(Stream::parse("a: .nan\n")
            .unwrap_err()
            .message
            .contains("JSON"));
    }

    #[test]
    fn flow_sequence_closed_at_key_indentation_parses() {
        let source = "a:\n  b: [\n    1,\n  ]\n  c: 2\n";
        let stream = Stream::parse(source).unwrap();
        assert_eq!(
            stream.documents()[0].value(),
            &json!({"a": {"b": [1], "c": 2}})
        );
        assert_eq!(
            edit(
                source,
                json!([{"op": "replace", "path": "/a/c", "value": 3}])
            ),
            "a:\n  b: [\n    1,\n  ]\n  c: 3\n"
        );
    }

    #[test]
    fn range_covers_entry_or_nearest_ancestor() {
        let source = "a:\n  b:\n  - x\n  - y # c\n";
        let stream = Stream::parse(source).unwrap();
        assert_eq!(&source[stream.range(0, "/a/b/1")], "- y");
        assert_eq!(&source[stream.range(0, "/a/b")], "b:\n  - x\n  - y");
        assert_eq!(
            &source[stream.range(0, "/a/q")],
            source[..source.len() - 5].to_owned()
        );
    }

    #[test]
    fn location_points_at_node_or_nearest_ancestor() {
        let source = "a:\n  b:\n  - x\n  - y\n";
        let stream = Stream::parse(source).unwrap();
        assert_eq!(stream.location(0, "/a/b/1"), (4, 3));
        assert_eq!(stream.location(0, "/a/b/7"), (2, 3));
        assert_eq!(stream.location(0, "/a/zz/q"), (1, 1));
        assert_eq!(stream.location(0, ""), (1, 1));
    }
}
