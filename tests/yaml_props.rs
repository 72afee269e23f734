//! Property tests for the format-preserving YAML editor (`pss_fix::yaml`).
//!
//! Documents come from a model ([`Node`]) rendered in block style by [`Renderer`]: nested
//! mappings and sequences, 2- or 4-space indentation, indented or indentless sequences, plain,
//! single- and double-quoted scalars, comment lines above entries and trailing comments, LF or
//! CRLF, with or without a final newline and a `---` marker. The renderer records the lines of
//! every node, so a property can name the lines an edit may touch. Patches are generated from the
//! document's value: `replace` of a scalar, `remove` of any node, `add` of a key to a mapping
//! (new or existing) and of an item to a sequence, with scalar and small subtree values.
//!
//! Properties:
//! - the rendered text parses to the model's value, and an empty patch returns it byte for byte;
//! - I2: for patches of one to four operations, the output parses to `json_patch::patch(value)`;
//! - I1: for one operation, the output is the input with only the node's lines spliced: the
//!   lines before and after are kept, and the number of new lines is what a block rendering of
//!   the value takes; CRLF stays CRLF and LF stays LF; a replaced scalar keeps its comment;
//! - applying an `add` of a mapping key to the output again changes nothing;
//! - JSON documents (the model's value written minified, or pretty with tabs or spaces) stay
//!   JSON in the file's style: minified output has no blank outside its strings, and
//!   tab-indented output indents every line with tabs only.
//!
//! `CASES` cases per property keeps the file under a minute in a debug build; set
//! `PROPTEST_CASES` to run more.

use std::collections::BTreeMap;

use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, Patch, PatchOperation, RemoveOperation, ReplaceOperation};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::TestCaseError;
use pss_fix::yaml::Stream;
use serde_json::{json, Value};

/// Cases per property unless `PROPTEST_CASES` says otherwise.
const CASES: u32 = 1024;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(CASES);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The document model and its block rendering

#[derive(Clone, Debug)]
enum Node {
    Scalar(Scalar),
    Map(Vec<Entry>),
    Seq(Vec<Item>),
}

/// A scalar as written (`text`, empty for `key:`) and as Kubernetes reads it (`value`).
#[derive(Clone, Debug)]
struct Scalar {
    text: String,
    value: Value,
    trailing_comment: bool,
}

#[derive(Clone, Debug)]
struct Entry {
    key: String,
    node: Node,
    comment_above: bool,
}

#[derive(Clone, Debug)]
struct Item {
    node: Node,
    comment_above: bool,
}

#[derive(Clone, Debug)]
struct Style {
    step: usize,
    indentless: bool,
    crlf: bool,
    final_newline: bool,
    start_marker: bool,
}

impl Node {
    fn value(&self) -> Value {
        match self {
            Node::Scalar(scalar) => scalar.value.clone(),
            Node::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|entry| (entry.key.clone(), entry.node.value()))
                    .collect(),
            ),
            Node::Seq(items) => Value::Array(items.iter().map(|item| item.node.value()).collect()),
        }
    }
}

/// Where a node sits in the rendered text, as 0-based line indices: comment lines above it in
/// `comment..start`, its own lines (key line and children, or item lines) in `start..end`.
#[derive(Clone, Copy, Debug)]
struct Span {
    comment: usize,
    start: usize,
    end: usize,
}

/// A generated document: its text and the span of every node, keyed by JSON pointer.
#[derive(Debug)]
struct Doc {
    text: String,
    value: Value,
    style: Style,
    spans: BTreeMap<String, Span>,
}

struct Renderer<'a> {
    style: &'a Style,
    lines: Vec<String>,
    spans: BTreeMap<String, Span>,
    comments: usize,
}

impl Renderer<'_> {
    fn render(root: &[Entry], style: &Style) -> Doc {
        let mut renderer = Renderer {
            style,
            lines: Vec::new(),
            spans: BTreeMap::new(),
            comments: 0,
        };
        if style.start_marker {
            renderer.lines.push("---".to_owned());
        }
        let start = renderer.lines.len();
        renderer.map(root, 0, "", None);
        let end = renderer.lines.len();
        renderer.spans.insert(
            String::new(),
            Span {
                comment: start,
                start,
                end,
            },
        );
        let eol = if style.crlf { "\r\n" } else { "\n" };
        let mut text = renderer.lines.join(eol);
        if style.final_newline {
            text.push_str(eol);
        }
        Doc {
            text,
            value: Node::Map(root.to_vec()).value(),
            style: style.clone(),
            spans: renderer.spans,
        }
    }

    fn comment(&mut self, column: usize) {
        self.comments += 1;
        let line = format!("{}# note {}", " ".repeat(column), self.comments);
        self.lines.push(line);
    }

    fn trailing(&mut self, scalar: &Scalar) -> String {
        if scalar.trailing_comment {
            self.comments += 1;
            format!(" # trailing {}", self.comments)
        } else {
            String::new()
        }
    }

    /// Renders a block mapping at `column`. A mapping that is a sequence item is compact: its
    /// first entry shares the `- ` line (`first_line_prefix`), and it carries no comments.
    fn map(&mut self, entries: &[Entry], column: usize, pointer: &str, first: Option<String>) {
        let compact = first.is_some();
        let mut first = first;
        for entry in entries {
            let prefix = first.take().unwrap_or_else(|| " ".repeat(column));
            let child = format!("{pointer}/{}", escape(&entry.key));
            let comment = self.lines.len();
            if entry.comment_above && !compact {
                self.comment(column);
            }
            let start = self.lines.len();
            let key_line = format!("{prefix}{}:", entry.key);
            match &entry.node {
                Node::Scalar(scalar) => {
                    let trailing = self.trailing(scalar);
                    let space = if scalar.text.is_empty() { "" } else { " " };
                    self.lines
                        .push(format!("{key_line}{space}{}{trailing}", scalar.text));
                }
                Node::Map(children) if children.is_empty() => {
                    self.lines.push(format!("{key_line} {{}}"));
                }
                Node::Seq(items) if items.is_empty() => self.lines.push(format!("{key_line} []")),
                Node::Map(children) => {
                    self.lines.push(key_line);
                    self.map(children, column + self.style.step, &child, None);
                }
                Node::Seq(items) => {
                    self.lines.push(key_line);
                    let dash = if self.style.indentless {
                        column
                    } else {
                        column + self.style.step
                    };
                    self.seq(items, dash, &child);
                }
            }
            let end = self.lines.len();
            self.spans.insert(
                child,
                Span {
                    comment,
                    start,
                    end,
                },
            );
        }
    }

    fn seq(&mut self, items: &[Item], dash: usize, pointer: &str) {
        let pad = " ".repeat(dash);
        for (index, item) in items.iter().enumerate() {
            let child = format!("{pointer}/{index}");
            let comment = self.lines.len();
            if item.comment_above {
                self.comment(dash);
            }
            let start = self.lines.len();
            match &item.node {
                Node::Scalar(scalar) => {
                    let trailing = self.trailing(scalar);
                    let space = if scalar.text.is_empty() { "" } else { " " };
                    self.lines
                        .push(format!("{pad}-{space}{}{trailing}", scalar.text));
                }
                Node::Map(entries) if entries.is_empty() => self.lines.push(format!("{pad}- {{}}")),
                Node::Seq(items) if items.is_empty() => self.lines.push(format!("{pad}- []")),
                Node::Map(entries) => self.map(entries, dash + 2, &child, Some(format!("{pad}- "))),
                Node::Seq(items) => {
                    self.lines.push(format!("{pad}-"));
                    self.seq(items, dash + self.style.step, &child);
                }
            }
            let end = self.lines.len();
            self.spans.insert(
                child,
                Span {
                    comment,
                    start,
                    end,
                },
            );
        }
    }
}

/// RFC 6901 escaping of one reference token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

// ---------------------------------------------------------------------------------------------
// Strategies for documents

/// Plain scalars that read as strings under YAML 1.1 and 1.2 alike.
const PLAIN_STRINGS: &[&str] = &[
    "alpha",
    "nginx:1.27",
    "web-01",
    "two words",
    "RuntimeDefault",
    "/var/run/app",
    "héllo wörld",
    "日本語",
    "a.b_c-d",
    "ALL",
    "--flag=1",
    "x#y",
];

/// Keys of generated mappings; `/` and `~` exercise pointer escaping.
const KEYS: &[&str] = &[
    "name",
    "image",
    "spec",
    "items",
    "a",
    "b",
    "data",
    "value",
    "ports",
    "securityContext",
    "app.kubernetes.io/name",
    "x~y",
];

fn scalar() -> impl Strategy<Value = Scalar> {
    let written = prop_oneof![
        select(PLAIN_STRINGS).prop_map(|s| (s.to_owned(), json!(s))),
        (0u32..100_000).prop_map(|n| (n.to_string(), json!(n))),
        (1i32..1000).prop_map(|n| (format!("-{n}"), json!(-n))),
        select(&[0.5, 1.25, -2.5][..]).prop_map(|f| (f.to_string(), json!(f))),
        any::<bool>().prop_map(|b| (b.to_string(), json!(b))),
        select(&["null", "~", ""][..]).prop_map(|s| (s.to_owned(), Value::Null)),
        "[a-z :#'\"é]{0,8}".prop_map(|s| (format!("'{}'", s.replace('\'', "''")), json!(s))),
        "[a-z :#'\"\\\\é]{0,8}".prop_map(|s| {
            let escaped = s.replace('\\', "\\\\").replace('"', "\\\"");
            (format!("\"{escaped}\""), json!(s))
        }),
    ];
    (written, prop::bool::weighted(0.2)).prop_map(|((text, value), trailing_comment)| Scalar {
        text,
        value,
        trailing_comment,
    })
}

fn entries(
    node: impl Strategy<Value = Node>,
    size: std::ops::Range<usize>,
) -> impl Strategy<Value = Vec<Entry>> {
    prop::collection::vec((select(KEYS), node, prop::bool::weighted(0.2)), size).prop_map(
        |entries| {
            let mut seen = std::collections::HashSet::new();
            entries
                .into_iter()
                .filter(|(key, _, _)| seen.insert(*key))
                .map(|(key, node, comment_above)| Entry {
                    key: key.to_owned(),
                    node,
                    comment_above,
                })
                .collect()
        },
    )
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        8 => scalar().prop_map(Node::Scalar),
        1 => Just(Node::Map(Vec::new())),
        1 => Just(Node::Seq(Vec::new())),
    ];
    leaf.prop_recursive(4, 48, 4, |inner| {
        prop_oneof![
            entries(inner.clone(), 1..4).prop_map(Node::Map),
            prop::collection::vec((inner, prop::bool::weighted(0.2)), 1..4).prop_map(|items| {
                Node::Seq(
                    items
                        .into_iter()
                        .map(|(node, comment_above)| Item {
                            node,
                            comment_above,
                        })
                        .collect(),
                )
            }),
        ]
    })
}

fn style() -> impl Strategy<Value = Style> {
    (
        select(&[2usize, 4][..]),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.3),
    )
        .prop_map(
            |(step, indentless, crlf, final_newline, start_marker)| Style {
                step,
                indentless,
                crlf,
                final_newline,
                start_marker,
            },
        )
}

fn doc() -> impl Strategy<Value = Doc> {
    (entries(node(), 1..6), style()).prop_map(|(root, style)| Renderer::render(&root, &style))
}

// ---------------------------------------------------------------------------------------------
// Strategies for patches

/// Values that operations put into documents: scalars (some need quotes) and small subtrees.
fn new_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        select(
            &[
                "true",
                "0755",
                "yes",
                "",
                "a: b",
                "- x",
                "#x",
                "ALL",
                "RuntimeDefault",
                "nginx:1.27",
                "héllo",
                "null",
                "~",
                "1.5",
                " lead",
                "trail ",
            ][..]
        )
        .prop_map(Value::from),
        (0i64..70_000).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
        Just(json!({"drop": ["ALL"]})),
        Just(json!({"runAsNonRoot": true, "runAsUser": 1000})),
        Just(json!({"capabilities": {"drop": ["ALL"]}, "privileged": false})),
        Just(json!(["ALL", "NET_RAW"])),
        Just(json!({})),
        Just(json!([])),
    ]
}

/// Keys that `add` puts into mappings; some exist in generated documents, some need quotes.
const NEW_KEYS: &[&str] = &[
    "securityContext",
    "runAsNonRoot",
    "name",
    "newKey",
    "yes",
    "true",
    "a/b",
    "x~y",
    "0755",
    "with space",
];

#[derive(Clone, Copy, Debug, PartialEq)]
enum OpKind {
    Replace,
    Remove,
    AddKey,
    AddItem,
}

/// The random choices behind one operation; [`Choice::operation`] fits them to a value.
#[derive(Clone, Debug)]
struct Choice {
    kind: OpKind,
    target: Index,
    key: &'static str,
    value: Value,
    position: Index,
}

fn choice() -> impl Strategy<Value = Choice> {
    (
        select(
            &[
                OpKind::Replace,
                OpKind::Remove,
                OpKind::AddKey,
                OpKind::AddItem,
            ][..],
        ),
        any::<Index>(),
        select(NEW_KEYS),
        new_value(),
        any::<Index>(),
    )
        .prop_map(|(kind, target, key, value, position)| Choice {
            kind,
            target,
            key,
            value,
            position,
        })
}

/// The nodes of a value by what an operation can do with them (pointers, RFC 6901 encoded).
#[derive(Default)]
struct Targets {
    scalars: Vec<String>,
    maps: Vec<String>,
    seqs: Vec<(String, usize)>,
    removable: Vec<String>,
}

impl Targets {
    fn of(value: &Value) -> Targets {
        let mut targets = Targets::default();
        targets.walk(value, String::new());
        targets
    }

    fn walk(&mut self, value: &Value, pointer: String) {
        if !pointer.is_empty() {
            self.removable.push(pointer.clone());
        }
        match value {
            Value::Object(map) => {
                self.maps.push(pointer.clone());
                for (key, child) in map {
                    self.walk(child, format!("{pointer}/{}", escape(key)));
                }
            }
            Value::Array(items) => {
                self.seqs.push((pointer.clone(), items.len()));
                for (index, child) in items.iter().enumerate() {
                    self.walk(child, format!("{pointer}/{index}"));
                }
            }
            _ => self.scalars.push(pointer),
        }
    }
}

/// One operation fitted to a value: what it does and where, for the I1 check.
#[derive(Clone, Debug)]
struct Planned {
    kind: OpKind,
    /// The replaced or removed node, or the mapping/sequence that gains a child.
    target: String,
    /// For `add`: the new key or the insertion index.
    child: String,
    operation: PatchOperation,
}

impl Choice {
    /// The operation these choices make on `value`; `None` when no node fits the kind.
    fn operation(&self, value: &Value) -> Option<Planned> {
        let targets = Targets::of(value);
        let pick = |list: &[String]| {
            (!list.is_empty()).then(|| list[self.target.index(list.len())].clone())
        };
        let (target, child, path) = match self.kind {
            OpKind::Replace | OpKind::Remove => {
                let list = if self.kind == OpKind::Replace {
                    &targets.scalars
                } else {
                    &targets.removable
                };
                let target = pick(list)?;
                (target.clone(), String::new(), target)
            }
            OpKind::AddKey => {
                let map = pick(&targets.maps)?;
                let child = escape(self.key);
                let path = format!("{map}/{child}");
                (map, self.key.to_owned(), path)
            }
            OpKind::AddItem => {
                if targets.seqs.is_empty() {
                    return None;
                }
                let (seq, len) = &targets.seqs[self.target.index(targets.seqs.len())];
                let index = self.position.index(len + 1);
                let token = if index == *len {
                    "-".to_owned()
                } else {
                    index.to_string()
                };
                (seq.clone(), index.to_string(), format!("{seq}/{token}"))
            }
        };
        let path = PointerBuf::parse(path).ok()?;
        let value = self.value.clone();
        let operation = match self.kind {
            OpKind::Replace => PatchOperation::Replace(ReplaceOperation { path, value }),
            OpKind::Remove => PatchOperation::Remove(RemoveOperation { path }),
            OpKind::AddKey | OpKind::AddItem => PatchOperation::Add(AddOperation { path, value }),
        };
        Some(Planned {
            kind: self.kind,
            target,
            child,
            operation,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Checks

fn parse_value(text: &str) -> Result<Value, TestCaseError> {
    let stream = Stream::parse(text)
        .map_err(|e| TestCaseError::fail(format!("output does not parse: {e}\n{text}")))?;
    prop_assert_eq!(
        stream.documents().len(),
        1,
        "one document expected in\n{}",
        text
    );
    Ok(stream.documents()[0].value().clone())
}

fn edit(doc: &Doc, operations: Vec<PatchOperation>) -> Result<String, TestCaseError> {
    let stream = Stream::parse(&doc.text)
        .map_err(|e| TestCaseError::fail(format!("generated text does not parse: {e}")))?;
    stream
        .edit(&[(0, Patch(operations.clone()))])
        .map_err(|e| TestCaseError::fail(format!("edit {operations:?} refused: {e}")))
}

/// Line ends keep the document's convention, and a missing final newline stays missing.
fn check_line_ends(doc: &Doc, output: &str) -> Result<(), TestCaseError> {
    let bare_lf = output
        .match_indices('\n')
        .any(|(at, _)| !output[..at].ends_with('\r'));
    // The convention is the one the input shows; a document without a line break shows
    // none, and new lines there use LF.
    if doc.text.contains("\r\n") {
        prop_assert!(!bare_lf, "a bare LF in a CRLF document:\n{:?}", output);
    } else {
        prop_assert!(
            !output.contains('\r'),
            "a CR in an LF document:\n{:?}",
            output
        );
    }
    prop_assert_eq!(output.ends_with('\n'), doc.style.final_newline);
    Ok(())
}

/// Lines of a value rendered in block style as a mapping entry (`key: ...` and children).
fn entry_lines(value: &Value) -> Option<usize> {
    match value {
        Value::Object(map) if !map.is_empty() => map
            .values()
            .map(entry_lines)
            .sum::<Option<usize>>()
            .map(|n| n + 1),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(item_lines)
            .sum::<Option<usize>>()
            .map(|n| n + 1),
        _ => Some(1),
    }
}

/// Lines of a value rendered as a block sequence item; a mapping is compact (`- key: ...`).
/// A sequence directly in a sequence has more than one reasonable layout: not counted.
fn item_lines(value: &Value) -> Option<usize> {
    match value {
        Value::Object(map) if !map.is_empty() => map.values().map(entry_lines).sum(),
        Value::Array(items) if !items.is_empty() => None,
        _ => Some(1),
    }
}

/// Whether `output` is `input` with lines `lo..hi` replaced by `inserted` lines (any number if
/// `None`): the lines before and after the edited node are exactly the input's.
fn is_splice(
    input: &[&str],
    output: &[&str],
    lo: usize,
    hi: usize,
    inserted: Option<usize>,
) -> bool {
    let tail = input.len() - hi;
    output.len() >= lo + tail
        && output[..lo] == input[..lo]
        && output[output.len() - tail..] == input[hi..]
        && inserted.is_none_or(|n| output.len() == lo + n + tail)
}

fn parent(pointer: &str) -> &str {
    pointer.rsplit_once('/').map_or("", |(parent, _)| parent)
}

/// I1 for one operation: the lines it may touch, and the number of lines it adds.
fn check_preservation(doc: &Doc, planned: &Planned, output: &str) -> Result<(), TestCaseError> {
    let input: Vec<&str> = doc.text.lines().collect();
    let lines: Vec<&str> = output.lines().collect();
    let span = |pointer: &str| {
        doc.spans
            .get(pointer)
            .copied()
            .ok_or_else(|| TestCaseError::fail(format!("no span for {pointer:?}")))
    };
    let node = |pointer: &str| doc.value.pointer(pointer).cloned().unwrap_or(Value::Null);
    let in_sequence = |pointer: &str| !pointer.is_empty() && node(parent(pointer)).is_array();
    let value = match &planned.operation {
        PatchOperation::Add(op) => op.value.clone(),
        PatchOperation::Replace(op) => op.value.clone(),
        _ => Value::Null,
    };
    let new_lines = |at_item: bool| {
        if at_item {
            item_lines(&value)
        } else {
            entry_lines(&value)
        }
    };
    let empty = |pointer: &str| match node(pointer) {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    };
    let target = planned.target.as_str();

    let allowed: Vec<(usize, usize, Option<usize>)> = match planned.kind {
        OpKind::Replace => {
            let at = span(target)?;
            let count = if value.is_object() || value.is_array() {
                new_lines(in_sequence(target))
            } else {
                Some(1)
            };
            vec![(at.start, at.end, count)]
        }
        OpKind::AddKey if empty(target) => {
            let at = span(target)?;
            vec![(at.start, at.end, None)]
        }
        OpKind::AddKey => {
            let existing = format!("{target}/{}", escape(&planned.child));
            if doc.spans.contains_key(&existing) {
                let at = span(&existing)?;
                vec![(at.start, at.end, None)]
            } else {
                let end = span(target)?.end;
                vec![(end, end, new_lines(false))]
            }
        }
        OpKind::AddItem if empty(target) => {
            let at = span(target)?;
            vec![(at.start, at.end, None)]
        }
        OpKind::AddItem => {
            // Next to items equal to the new one, every place among them gives the same
            // sequence and keeps every input byte: all of them are right.
            let count = new_lines(true);
            let items = node(target).as_array().cloned().unwrap_or_default();
            let index = planned.child.parse().unwrap_or(items.len());
            let mut first = index;
            while first > 0 && items[first - 1] == value {
                first -= 1;
            }
            let mut last = index;
            while last < items.len() && items[last] == value {
                last += 1;
            }
            let mut places = Vec::new();
            for at in first..=last {
                match doc.spans.get(&format!("{target}/{at}")) {
                    Some(before) => {
                        places.push((before.comment, before.comment, count));
                        places.push((before.start, before.start, count));
                    }
                    None => {
                        let end = span(target)?.end;
                        places.push((end, end, count));
                    }
                }
            }
            places
        }
        OpKind::Remove => {
            let at = span(target)?;
            let holder = parent(target);
            let siblings = match node(holder) {
                Value::Object(map) => map.len(),
                Value::Array(items) => items.len(),
                _ => 0,
            };
            // The entry written first (a map's keys are sorted, not in text order).
            let first_of_compact = in_sequence(holder)
                && node(holder)
                    .as_object()
                    .and_then(|map| {
                        map.keys()
                            .map(|key| format!("{holder}/{}", escape(key)))
                            .min_by_key(|path| doc.spans.get(path).map(|at| at.start))
                    })
                    .is_some_and(|first| target == first);
            if siblings == 1 {
                // The holder becomes `{}` or `[]`: its own line changes too.
                vec![(span(holder)?.start.min(at.comment), at.end, None)]
            } else if first_of_compact {
                // `- a: 1` / `  b: 2` becomes `- b: 2`: the next entry's line takes the dash.
                vec![(at.start, at.end + 1, Some(1))]
            } else {
                vec![(at.comment, at.end, Some(0)), (at.start, at.end, Some(0))]
            }
        }
    };
    prop_assert!(
        allowed
            .iter()
            .any(|&(lo, hi, inserted)| is_splice(&input, &lines, lo, hi, inserted)),
        "{:?} touched lines outside {:?}\n--- input\n{}\n--- output\n{}",
        planned.operation,
        allowed,
        doc.text,
        output
    );
    if planned.kind == OpKind::Replace {
        let at = span(target)?.start;
        if let Some((_, comment)) = input[at].split_once(" # trailing ") {
            prop_assert!(
                lines
                    .iter()
                    .any(|line| line.ends_with(&format!(" # trailing {comment}"))),
                "the trailing comment of the replaced scalar is lost:\n{}",
                output
            );
        }
    }
    Ok(())
}

/// How a generated JSON document is written.
#[derive(Clone, Copy, Debug)]
enum JsonStyle {
    Minified,
    Tabs,
    Spaces,
}

fn json_text(value: &Value, style: JsonStyle) -> String {
    let indent: &[u8] = match style {
        JsonStyle::Minified => return value.to_string(),
        JsonStyle::Tabs => b"\t",
        JsonStyle::Spaces => b"  ",
    };
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(value, &mut serializer).unwrap();
    String::from_utf8(out).unwrap()
}

/// Whether JSON text has a blank or line break outside its strings (minified JSON has none).
fn has_blank_outside_strings(text: &str) -> bool {
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') | (false, _, '"') => in_string = !in_string,
            (false, _, ' ' | '\t' | '\n' | '\r') => return true,
            _ => {}
        }
    }
    false
}

/// A JSON document of the model's value, in one of the styles.
fn json_doc() -> impl Strategy<Value = (Value, JsonStyle)> {
    (
        entries(node(), 1..6),
        select(&[JsonStyle::Minified, JsonStyle::Tabs, JsonStyle::Spaces][..]),
    )
        .prop_map(|(root, style)| (Node::Map(root).value(), style))
}

proptest! {
    #![proptest_config(config())]

    /// JSON stays JSON in the file's own style: minified stays minified, tabs stay tabs.
    #[test]
    fn json_keeps_its_style(
        (value, style) in json_doc(),
        choices in prop::collection::vec(choice(), 1..5),
    ) {
        let text = json_text(&value, style);
        let mut expected = value.clone();
        let mut operations = Vec::new();
        for choice in &choices {
            if let Some(planned) = choice.operation(&expected) {
                json_patch::patch(&mut expected, std::slice::from_ref(&planned.operation))
                    .map_err(|e| TestCaseError::fail(format!("generated a bad patch: {e}")))?;
                operations.push(planned.operation);
            }
        }
        let output = Stream::parse(&text)
            .map_err(|e| TestCaseError::fail(format!("JSON does not parse: {e}\n{text}")))?
            .edit(&[(0, Patch(operations.clone()))])
            .map_err(|e| TestCaseError::fail(format!("edit {operations:?} refused: {e}\n{text}")))?;
        let read: Value = serde_json::from_str(&output)
            .map_err(|e| TestCaseError::fail(format!("output is not JSON: {e}\n{output}")))?;
        prop_assert_eq!(&read, &expected, "output:\n{}", output);
        match style {
            JsonStyle::Minified => prop_assert!(
                !has_blank_outside_strings(&output),
                "a blank added to minified JSON:\n{}",
                output
            ),
            JsonStyle::Tabs => prop_assert!(
                output.lines().all(|line| !line.starts_with(' ')),
                "a line indented with spaces:\n{}",
                output
            ),
            JsonStyle::Spaces => prop_assert!(!output.contains('\t'), "{}", output),
        }
    }

    /// The rendered text reads as the model says, and an empty patch gives it back unchanged.
    #[test]
    fn parses_to_model_and_empty_patch_is_identity(doc in doc()) {
        let stream = Stream::parse(&doc.text)
            .map_err(|e| TestCaseError::fail(format!("does not parse: {e}\n{}", doc.text)))?;
        prop_assert_eq!(stream.documents().len(), 1);
        prop_assert_eq!(stream.documents()[0].value(), &doc.value);
        let untouched = stream.edit(&[]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&untouched, &doc.text);
        let empty = stream
            .edit(&[(0, Patch(Vec::new()))])
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&empty, &doc.text);
    }

    /// I2: the output of a patch of up to four operations reads as `json_patch::patch` says.
    #[test]
    fn output_means_the_patch(doc in doc(), choices in prop::collection::vec(choice(), 1..5)) {
        let mut expected = doc.value.clone();
        let mut operations = Vec::new();
        for choice in &choices {
            if let Some(planned) = choice.operation(&expected) {
                json_patch::patch(&mut expected, std::slice::from_ref(&planned.operation))
                    .map_err(|e| TestCaseError::fail(format!("generated a bad patch: {e}")))?;
                operations.push(planned.operation);
            }
        }
        let output = edit(&doc, operations)?;
        check_line_ends(&doc, &output)?;
        prop_assert_eq!(parse_value(&output)?, expected, "output:\n{}", output);
    }

    /// I1: one operation changes only the lines of the node it edits.
    #[test]
    fn edit_touches_only_its_node(doc in doc(), choice in choice()) {
        let Some(planned) = choice.operation(&doc.value) else {
            return Ok(());
        };
        let output = edit(&doc, vec![planned.operation.clone()])?;
        check_line_ends(&doc, &output)?;
        check_preservation(&doc, &planned, &output)?;
    }

    /// Adding a mapping key to a document that already has it, with that value, changes nothing.
    #[test]
    fn add_twice_is_add_once(doc in doc(), choice in choice()) {
        let choice = Choice { kind: OpKind::AddKey, ..choice };
        let Some(planned) = choice.operation(&doc.value) else {
            return Ok(());
        };
        let once = edit(&doc, vec![planned.operation.clone()])?;
        let again = Stream::parse(&once)
            .map_err(|e| TestCaseError::fail(format!("output does not parse: {e}")))?
            .edit(&[(0, Patch(vec![planned.operation.clone()]))])
            .map_err(|e| TestCaseError::fail(format!("second add refused: {e}")))?;
        prop_assert_eq!(&again, &once);
    }
}
