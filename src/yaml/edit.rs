//! Edits as text splices. The patched value of a document is computed first
//! (`json_patch::patch`); the editor then walks the span tree alongside the old and the new
//! value and emits the smallest splices that turn one into the other: changed scalars are
//! re-spelled in place, removed entries and items lose their own lines, new entries and items
//! are rendered ([`super::render`]) after their siblings. Everything else is left as it is, so
//! the bytes outside edited nodes are the source's by construction.
//!
//! Diffing values (rather than replaying each operation on the text) needs one pass and one
//! verification parse per edit, whatever the number of operations, and makes operations that
//! undo each other cost nothing.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::error::Error;
use super::render::{Layout, DEFAULT_SEQUENCE_OFFSET, DEFAULT_STEP};
use super::tree::{Entry, Item, Kind, Node, Tree};
use super::value::{is_merge_key, same, scalar_key};

/// Replace `start..end` of the source with `text` (an insertion when they are equal).
#[derive(Debug)]
pub(crate) struct Splice {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) text: String,
}

/// The splices of one document's edit.
#[derive(Debug)]
pub(crate) struct Edit {
    pub(crate) splices: Vec<Splice>,
    /// The source has no final line break and its last line is removed: the new last line must
    /// not end with one either.
    pub(crate) trim_final_line_break: bool,
}

/// Where a node sits in its parent; it decides how a replacement is laid out.
#[derive(Clone, Copy)]
enum Slot {
    Root,
    Value {
        key_column: usize,
        colon: Option<usize>,
        flow: bool,
    },
    Item {
        dash: Option<usize>,
        flow: bool,
    },
}

impl Slot {
    fn flow(self) -> bool {
        match self {
            Slot::Root => false,
            Slot::Value { flow, .. } | Slot::Item { flow, .. } => flow,
        }
    }
}

/// Computes the splices that turn document `tree` (valued `old`) into `new`.
/// What the patch itself says about one sequence: it inserts or removes the item at an index.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum SequenceHint {
    Insert(usize),
    Remove(usize),
}

/// Hints for sequences that exactly one `add` or `remove` of an item targets, by the sequence's
/// pointer. Equal items make a value diff ambiguous (`[a, a]` gaining an `a`); the hint puts
/// the change where the patch put it. Hints only steer alignment: the result is verified anyway.
pub(crate) fn sequence_hints(
    operations: &[json_patch::PatchOperation],
    old: &Value,
) -> HashMap<String, SequenceHint> {
    let mut hints: HashMap<String, Option<SequenceHint>> = HashMap::new();
    for operation in operations {
        let (path, insert) = match operation {
            json_patch::PatchOperation::Add(add) => (add.path.to_string(), true),
            json_patch::PatchOperation::Remove(remove) => (remove.path.to_string(), false),
            other => {
                // Any other operation inside a sequence makes its hint unreliable.
                let path = match other {
                    json_patch::PatchOperation::Replace(op) => op.path.to_string(),
                    json_patch::PatchOperation::Move(op) => op.path.to_string(),
                    json_patch::PatchOperation::Copy(op) => op.path.to_string(),
                    json_patch::PatchOperation::Test(op) => op.path.to_string(),
                    _ => continue,
                };
                if let Some(at) = path.rfind('/') {
                    hints.insert(path[..at].to_owned(), None);
                }
                continue;
            }
        };
        let Some(at) = path.rfind('/') else {
            continue;
        };
        let (parent, token) = (&path[..at], &path[at + 1..]);
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

pub(crate) fn splices(
    source: &str,
    tree: &Tree,
    old: &Value,
    new: &Value,
    hints: &HashMap<String, SequenceHint>,
) -> Result<Edit, Error> {
    let mut editor = Editor {
        text: Text { source },
        tree,
        layout: layout(source, tree),
        anchored: HashMap::new(),
        hints,
        splices: Vec::new(),
        trim_final_line_break: false,
    };
    if !tree.aliased.is_empty() {
        collect_anchored(&tree.root, &tree.aliased, &mut editor.anchored);
    }
    let mut pointer = String::new();
    editor.reconcile(&tree.root, old, new, Slot::Root, &mut pointer)?;
    Ok(Edit {
        splices: editor.splices,
        trim_final_line_break: editor.trim_final_line_break,
    })
}

/// Detects the document's layout: the first nested mapping gives the indentation step, the first
/// block sequence under a key gives the sequence offset.
fn layout(source: &str, tree: &Tree) -> Layout {
    let text = Text { source };
    let mut step = None;
    let mut sequence_offset = None;
    detect(&text, &tree.root, &mut step, &mut sequence_offset);
    let line_break = match source.find(['\n', '\r']).map(|at| &source[at..]) {
        Some(rest) if rest.starts_with("\r\n") => "\r\n",
        Some(rest) if rest.starts_with('\r') => "\r",
        _ => "\n",
    };
    Layout {
        step: step.unwrap_or(DEFAULT_STEP),
        sequence_offset: sequence_offset.unwrap_or(DEFAULT_SEQUENCE_OFFSET),
        line_break,
        json: tree.root.is_flow(),
    }
}

fn detect(text: &Text, node: &Node, step: &mut Option<usize>, sequence_offset: &mut Option<usize>) {
    if step.is_some() && sequence_offset.is_some() {
        return;
    }
    match &node.kind {
        Kind::Map { entries, .. } => {
            for entry in entries {
                let key_line = text.line_start(entry.key.start);
                let key_column = text.column(entry.key.start);
                match &entry.value.kind {
                    Kind::Map {
                        entries: children, ..
                    } if step.is_none() => {
                        if let Some(child) = children.first() {
                            let child_column = text.column(child.key.start);
                            if text.line_start(child.key.start) != key_line
                                && child_column > key_column
                            {
                                *step = Some(child_column - key_column);
                            }
                        }
                    }
                    Kind::Seq {
                        flow: false,
                        items: children,
                    } if sequence_offset.is_none() => {
                        if let Some(dash) = children.first().and_then(|item| item.dash) {
                            let dash_column = text.column(dash);
                            if text.line_start(dash) != key_line && dash_column >= key_column {
                                *sequence_offset = Some(dash_column - key_column);
                            }
                        }
                    }
                    _ => {}
                }
                detect(text, &entry.value, step, sequence_offset);
            }
        }
        Kind::Seq { items, .. } => {
            for item in items {
                detect(text, &item.node, step, sequence_offset);
            }
        }
        Kind::Scalar { .. } | Kind::Alias { .. } => {}
    }
}

fn collect_anchored<'a>(
    node: &'a Node,
    aliased: &HashSet<usize>,
    into: &mut HashMap<usize, &'a Node>,
) {
    if node.anchor != 0 && aliased.contains(&node.anchor) {
        into.insert(node.anchor, node);
    }
    match &node.kind {
        Kind::Map { entries, .. } => {
            for entry in entries {
                collect_anchored(&entry.key, aliased, into);
                collect_anchored(&entry.value, aliased, into);
            }
        }
        Kind::Seq { items, .. } => {
            for item in items {
                collect_anchored(&item.node, aliased, into);
            }
        }
        Kind::Scalar { .. } | Kind::Alias { .. } => {}
    }
}

/// Line arithmetic on the source.
#[derive(Clone, Copy)]
struct Text<'a> {
    source: &'a str,
}

impl Text<'_> {
    fn line_start(&self, at: usize) -> usize {
        self.source[..at]
            .rfind(['\n', '\r'])
            .map_or(0, |newline| newline + 1)
    }

    /// The end of the line holding `at`, before its line break.
    fn line_end(&self, at: usize) -> usize {
        self.source[at..]
            .find(['\n', '\r'])
            .map_or(self.source.len(), |newline| at + newline)
    }

    /// The start of the line after the one holding `at` (the source's end on the last line).
    fn next_line(&self, at: usize) -> usize {
        let end = self.line_end(at);
        match &self.source.as_bytes()[end..] {
            [b'\r', b'\n', ..] => end + 2,
            [] => end,
            _ => end + 1,
        }
    }

    fn column(&self, at: usize) -> usize {
        self.source[self.line_start(at)..at]
            .trim_start_matches('\u{feff}')
            .chars()
            .count()
    }

    fn first_on_line(&self, at: usize) -> bool {
        self.source[self.line_start(at)..at]
            .trim_start_matches('\u{feff}')
            .bytes()
            .all(|byte| byte == b' ' || byte == b'\t')
    }

    /// The line `start..` as (indentation, rest) when it holds only a comment.
    fn comment_line(&self, start: usize) -> Option<usize> {
        let line = &self.source[start..self.line_end(start)];
        let rest = line.trim_start_matches(' ');
        rest.starts_with('#').then(|| line.len() - rest.len())
    }

    /// `line_start` moved up over the comment lines directly above it at `column`: an entry's
    /// own comments.
    fn with_comments_above(&self, mut line_start: usize, column: usize) -> usize {
        while line_start > 0 {
            // Step over the previous line's break (two bytes for CRLF) to reach that line.
            let break_length = if self.source[..line_start].ends_with("\r\n") {
                2
            } else {
                1
            };
            let previous = self.line_start(line_start - break_length);
            if self.comment_line(previous) != Some(column) {
                break;
            }
            line_start = previous;
        }
        line_start
    }

    /// `line_start` moved down over the comment lines at `min_column` or deeper that follow a
    /// collection's last element: they belong to it, new elements go after them.
    /// A comment block directly above the next line at that line's indentation is that line's
    /// (see `with_comments_above`) and is not crossed.
    fn after_trailing_comments(&self, mut line_start: usize, min_column: usize) -> usize {
        while line_start < self.source.len() {
            match self.comment_line(line_start) {
                Some(indent) if indent >= min_column => line_start = self.next_line(line_start),
                _ => break,
            }
        }
        if line_start < self.source.len() {
            let line = &self.source[line_start..self.line_end(line_start)];
            let content = line.trim_start_matches(' ');
            if !content.is_empty() {
                let column = line.len() - content.len();
                return self.with_comments_above(line_start, column);
            }
        }
        line_start
    }

    fn ends_without_line_break(&self) -> bool {
        !self.source.ends_with(['\n', '\r'])
    }
}

struct Editor<'a> {
    text: Text<'a>,
    tree: &'a Tree,
    layout: Layout,
    /// Anchored nodes that some alias uses, by anchor id.
    anchored: HashMap<usize, &'a Node>,
    hints: &'a HashMap<String, SequenceHint>,
    splices: Vec<Splice>,
    trim_final_line_break: bool,
}

/// One element of a collection, for removal and insertion.
#[derive(Clone, Copy)]
struct Element {
    start: usize,
    end: usize,
}

impl Editor<'_> {
    fn splice(&mut self, start: usize, end: usize, text: String) {
        self.splices.push(Splice { start, end, text });
    }

    fn refuse(&self, node: &Node, pointer: &str, why: &str) -> Error {
        Error::at(
            self.text.source,
            node.start,
            format!("cannot edit `{pointer}`: {why}"),
        )
    }

    fn anchor_name(&self, anchor: usize) -> &str {
        self.tree
            .anchor_names
            .get(&anchor)
            .map_or("?", String::as_str)
    }

    fn reconcile(
        &mut self,
        node: &Node,
        old: &Value,
        new: &Value,
        slot: Slot,
        pointer: &mut String,
    ) -> Result<(), Error> {
        if same(old, new) {
            return Ok(());
        }
        if let Kind::Alias { anchor } = node.kind {
            let why = format!(
                "it is reached through alias `*{}`; editing it would change every use of `&{0}`",
                self.anchor_name(anchor)
            );
            return Err(self.refuse(node, pointer, &why));
        }
        if node.anchor != 0 && self.anchored.contains_key(&node.anchor) {
            let why = format!("it is (inside) anchored node `&{}`, which is aliased elsewhere; editing it would change every alias", self.anchor_name(node.anchor));
            return Err(self.refuse(node, pointer, &why));
        }
        match (&node.kind, old, new) {
            (Kind::Map { flow, entries }, Value::Object(old), Value::Object(new)) => {
                self.reconcile_map(node, *flow, entries, old, new, slot, pointer)
            }
            (Kind::Seq { flow, items }, Value::Array(old), Value::Array(new)) => {
                self.reconcile_seq(node, *flow, items, old, new, slot, pointer)
            }
            _ => self.replace(node, new, slot, pointer),
        }
    }

    /// Replaces a whole node with a rendering of `new`.
    fn replace(
        &mut self,
        node: &Node,
        new: &Value,
        slot: Slot,
        pointer: &str,
    ) -> Result<(), Error> {
        if let Some(anchor) = self.used_anchor_in(node) {
            return Err(self.refuse_held_anchor(node, pointer, anchor));
        }
        let in_flow = slot.flow() || self.layout.json;
        let block_collection = matches!(new, Value::Object(map) if !map.is_empty())
            || matches!(new, Value::Array(items) if !items.is_empty());
        let content_start = node.tag_start.map_or(node.start, |tag| tag.min(node.start));
        if in_flow || !block_collection {
            let mut text = String::new();
            self.layout.inline(&mut text, new);
            let old_is_block_collection =
                !node.is_flow() && matches!(node.kind, Kind::Map { .. } | Kind::Seq { .. });
            match slot {
                Slot::Root if node.is_empty_null() => self.fill_empty_document(node, text),
                _ if node.is_empty_null() => {
                    self.splice(node.start, node.start, format!(" {text}"));
                }
                Slot::Value {
                    colon: Some(at), ..
                }
                | Slot::Item { dash: Some(at), .. }
                    if old_is_block_collection =>
                {
                    // The old value started on a later line: bring the new one up to its key.
                    // A comment ending its last line described its last child: it goes too.
                    let line_end = self.text.line_end(node.end);
                    let rest = self.text.source[node.end..line_end].trim_start_matches([' ', '\t']);
                    let end = if rest.starts_with('#') {
                        line_end
                    } else {
                        node.end
                    };
                    self.splice(at + 1, end, format!(" {text}"));
                }
                _ => self.splice(content_start, node.end, text),
            }
            return Ok(());
        }
        match slot {
            Slot::Value {
                key_column,
                colon: Some(colon),
                ..
            } => {
                let mut text = String::new();
                self.layout.after_colon(&mut text, new, key_column);
                if !node.is_empty_null() {
                    self.splice(colon + 1, node.end, String::new());
                }
                let line_end = self.text.line_end(node.end);
                self.splice(line_end, line_end, text);
            }
            Slot::Item {
                dash: Some(dash), ..
            } => {
                let mut text = String::new();
                self.layout
                    .compact(&mut text, new, self.text.column(dash) + 2);
                let later_line =
                    self.text.line_start(node.props_start) != self.text.line_start(dash);
                if node.is_empty_null() || later_line {
                    // Nothing, or a value starting on a later line: the new one follows `- `.
                    self.splice(dash + 1, node.end, format!(" {text}"));
                } else {
                    self.splice(content_start, node.end, text);
                }
            }
            Slot::Root if node.is_empty_null() => {
                let mut text = String::new();
                self.layout.compact(&mut text, new, 0);
                self.fill_empty_document(node, text);
            }
            Slot::Root => {
                let mut text = String::new();
                self.layout
                    .compact(&mut text, new, self.text.column(node.start));
                self.splice(content_start, node.end, text);
            }
            _ => return Err(self.refuse(node, pointer, "cannot find where its value starts")),
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn reconcile_map(
        &mut self,
        node: &Node,
        flow: bool,
        entries: &[Entry],
        old: &Map<String, Value>,
        new: &Map<String, Value>,
        slot: Slot,
        pointer: &mut String,
    ) -> Result<(), Error> {
        if new.is_empty() || (entries.is_empty() && !slot.flow() && !self.layout.json) {
            // `{}` both ways, or `{}` gaining children in block context: re-render the node.
            return self.replace(node, &Value::Object(new.clone()), slot, pointer);
        }
        let children_flow = flow || self.layout.json;
        let mut explicit: HashMap<String, Vec<usize>> = HashMap::new();
        let mut merged = HashSet::new();
        let mut last_merge = None;
        for (index, entry) in entries.iter().enumerate() {
            if is_merge_key(&entry.key, self.text.source) {
                last_merge = Some(index);
                self.merged_keys(&entry.value, &mut merged);
            } else if let Some(key) = scalar_key(&entry.key, self.text.source) {
                explicit.entry(key.into_owned()).or_default().push(index);
            }
        }
        let mut removed = Vec::new();
        for (key, old_value) in old {
            let new_value = new.get(key);
            if new_value.is_some_and(|new_value| same(old_value, new_value)) {
                continue;
            }
            let writer = explicit
                .get(key)
                .and_then(|indices| indices.last().copied())
                .filter(|&index| last_merge.is_none_or(|merge| merge < index));
            let depth = pointer.len();
            crate::pointer::push_token(pointer, key);
            let result = match (new_value, writer) {
                (None, _) if merged.contains(key) => Err(self.refuse(
                    node,
                    pointer,
                    "it comes from a merge key `<<`; removing it means editing the merged mapping",
                )),
                (None, _) => match explicit.get(key) {
                    Some(indices) => {
                        let held = indices.iter().find_map(|&index| {
                            let entry = &entries[index];
                            self.used_anchor_in(&entry.key)
                                .or_else(|| self.used_anchor_in(&entry.value))
                        });
                        match held {
                            Some(anchor) => Err(self.refuse_held_anchor(node, pointer, anchor)),
                            None => {
                                removed.extend(indices.iter().copied());
                                Ok(())
                            }
                        }
                    }
                    None => Err(self.refuse(node, pointer, "its key is not a plain scalar")),
                },
                (Some(new_value), Some(index)) => {
                    let entry = &entries[index];
                    let slot = Slot::Value {
                        key_column: self.text.column(entry.start),
                        colon: entry.colon,
                        flow: children_flow,
                    };
                    self.reconcile(&entry.value, old_value, new_value, slot, pointer)
                }
                (Some(_), None) => Err(self.refuse(
                    node,
                    pointer,
                    "it comes from a merge key `<<`; changing it means editing the merged mapping",
                )),
            };
            pointer.truncate(depth);
            result?;
        }
        if removed.len() == entries.len() {
            return self.replace(node, &Value::Object(new.clone()), slot, pointer);
        }
        removed.sort_unstable();
        let elements: Vec<Element> = entries
            .iter()
            .map(|entry| Element {
                start: entry.start,
                end: entry
                    .value
                    .end
                    .max(entry.key.end)
                    .max(entry.colon.map_or(0, |colon| colon + 1)),
            })
            .collect();
        self.remove(&elements, &removed, children_flow);
        let added: Vec<(&String, &Value)> = new
            .iter()
            .filter(|(key, _)| !old.contains_key(*key))
            .collect();
        if added.is_empty() {
            return Ok(());
        }
        let column = self.text.column(elements[0].start);
        if children_flow {
            let mut rendered = Vec::new();
            for (key, value) in added {
                let mut text = String::new();
                self.layout.flow_entry(&mut text, key, value);
                rendered.push((text, key.as_str(), value));
            }
            self.append_flow(node, &elements, rendered);
        } else {
            let rendered = added
                .into_iter()
                .map(|(key, value)| {
                    let mut text = String::new();
                    self.layout.entry(&mut text, key, value, column);
                    text
                })
                .collect();
            self.append_block(&elements, column, rendered);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn reconcile_seq(
        &mut self,
        node: &Node,
        flow: bool,
        items: &[Item],
        old: &[Value],
        new: &[Value],
        slot: Slot,
        pointer: &mut String,
    ) -> Result<(), Error> {
        if new.is_empty() || (items.is_empty() && !slot.flow() && !self.layout.json) {
            return self.replace(node, &Value::Array(new.to_vec()), slot, pointer);
        }
        let children_flow = flow || self.layout.json;
        let elements: Vec<Element> = items
            .iter()
            .map(|item| Element {
                start: item.dash.unwrap_or(item.node.props_start),
                end: item.node.end,
            })
            .collect();
        let steps = match self.hints.get(pointer.as_str()) {
            Some(&SequenceHint::Insert(at)) if at <= old.len() && new.len() == old.len() + 1 => {
                let mut steps: Vec<Step> = (0..at).map(|index| Step::Pair(index, index)).collect();
                steps.push(Step::Insert {
                    before: at,
                    new: at..at + 1,
                });
                steps.extend((at..old.len()).map(|index| Step::Pair(index, index + 1)));
                steps
            }
            Some(&SequenceHint::Remove(at)) if at < old.len() && new.len() + 1 == old.len() => {
                let mut steps: Vec<Step> = (0..at).map(|index| Step::Pair(index, index)).collect();
                steps.push(Step::Remove(at));
                steps.extend((at + 1..old.len()).map(|index| Step::Pair(index, index - 1)));
                steps
            }
            _ => steps(old, new),
        };
        let paired = steps.iter().any(|step| matches!(step, Step::Pair(..)));
        let removed_count = steps
            .iter()
            .filter(|step| matches!(step, Step::Remove(_)))
            .count();
        if !paired && removed_count == old.len() {
            // Nothing of the old sequence stays: render it anew.
            return self.replace(node, &Value::Array(new.to_vec()), slot, pointer);
        }
        let mut removed = Vec::new();
        for step in steps {
            match step {
                Step::Pair(index, new_index) => {
                    let item = &items[index];
                    let depth = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&new_index.to_string());
                    let slot = Slot::Item {
                        dash: item.dash,
                        flow: children_flow,
                    };
                    let result =
                        self.reconcile(&item.node, &old[index], &new[new_index], slot, pointer);
                    pointer.truncate(depth);
                    result?;
                }
                Step::Remove(index) => {
                    if let Some(anchor) = self.used_anchor_in(&items[index].node) {
                        let mut item_pointer = pointer.clone();
                        item_pointer.push_str(&format!("/{index}"));
                        return Err(self.refuse_held_anchor(
                            &items[index].node,
                            &item_pointer,
                            anchor,
                        ));
                    }
                    removed.push(index);
                }
                Step::Insert { before, new: range } => {
                    self.insert_items(node, &elements, before, &new[range], children_flow);
                }
            }
        }
        self.remove(&elements, &removed, children_flow);
        Ok(())
    }

    /// Inserts new items before item `before` (or after the last one).
    fn insert_items(
        &mut self,
        node: &Node,
        elements: &[Element],
        before: usize,
        inserted: &[Value],
        flow: bool,
    ) {
        if flow {
            let rendered = inserted
                .iter()
                .map(|value| {
                    let mut text = String::new();
                    self.layout.inline(&mut text, value);
                    (text, "", value)
                })
                .collect();
            if before < elements.len() {
                self.insert_flow_before(node, elements, before, rendered);
            } else {
                self.append_flow(node, elements, rendered);
            }
            return;
        }
        let column = self.text.column(elements[0].start);
        let rendered: Vec<String> = inserted
            .iter()
            .map(|value| {
                let mut text = String::new();
                self.layout.item(&mut text, value, column);
                text
            })
            .collect();
        if before >= elements.len() {
            self.append_block(elements, column, rendered);
            return;
        }
        let start = elements[before].start;
        let mut text = String::new();
        if self.text.first_on_line(start) {
            let at = self
                .text
                .with_comments_above(self.text.line_start(start), column);
            for item in rendered {
                text.extend(std::iter::repeat_n(' ', column));
                text.push_str(&item);
                text.push_str(self.layout.line_break);
            }
            self.splice(at, at, text);
        } else {
            for item in rendered {
                text.push_str(&item);
                text.push_str(self.layout.line_break);
                text.extend(std::iter::repeat_n(' ', column));
            }
            self.splice(start, start, text);
        }
    }

    /// Writes the content of an empty document where its (empty) root is: on a line of its
    /// own after a `---`, else at the start of the line.
    fn fill_empty_document(&mut self, node: &Node, text: String) {
        let after_marker = !self.text.source[self.text.line_start(node.start)..node.start]
            .trim()
            .is_empty();
        let text = if after_marker {
            format!("{}{text}", self.layout.line_break)
        } else {
            text
        };
        self.splice(node.start, node.start, text);
    }

    /// An anchor defined in `node`'s subtree that an alias uses: replacing or removing the
    /// subtree would leave that alias dangling.
    fn used_anchor_in(&self, node: &Node) -> Option<usize> {
        if self.anchored.is_empty() {
            return None;
        }
        if node.anchor != 0 && self.anchored.contains_key(&node.anchor) {
            return Some(node.anchor);
        }
        match &node.kind {
            Kind::Map { entries, .. } => entries.iter().find_map(|entry| {
                self.used_anchor_in(&entry.key)
                    .or_else(|| self.used_anchor_in(&entry.value))
            }),
            Kind::Seq { items, .. } => items
                .iter()
                .find_map(|item| self.used_anchor_in(&item.node)),
            Kind::Scalar { .. } | Kind::Alias { .. } => None,
        }
    }

    fn refuse_held_anchor(&self, node: &Node, pointer: &str, anchor: usize) -> Error {
        let why = format!(
            "it holds anchor `&{}`, which an alias uses elsewhere; removing or replacing it would break that alias",
            self.anchor_name(anchor)
        );
        self.refuse(node, pointer, &why)
    }

    /// The keys a merge key's value brings in.
    fn merged_keys(&self, node: &Node, into: &mut HashSet<String>) {
        match &node.kind {
            Kind::Map { entries, .. } => {
                for entry in entries {
                    if is_merge_key(&entry.key, self.text.source) {
                        self.merged_keys(&entry.value, into);
                    } else if let Some(key) = scalar_key(&entry.key, self.text.source) {
                        into.insert(key.into_owned());
                    }
                }
            }
            Kind::Seq { items, .. } => {
                for item in items {
                    self.merged_keys(&item.node, into);
                }
            }
            Kind::Alias { anchor } => {
                if let Some(target) = self.anchored.get(anchor).copied() {
                    self.merged_keys(target, into);
                }
            }
            Kind::Scalar { .. } => {}
        }
    }

    /// Removes the elements at `removed` (sorted; not all of them), run by run: in flow style
    /// with their separators, in block style with their own lines.
    fn remove(&mut self, elements: &[Element], removed: &[usize], flow: bool) {
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for &index in removed {
            match runs.last_mut() {
                Some((_, last)) if *last + 1 == index => *last = index,
                _ => runs.push((index, index)),
            }
        }
        for (first, last) in runs {
            if flow {
                if first > 0 {
                    self.splice(elements[first - 1].end, elements[last].end, String::new());
                } else {
                    self.splice(
                        elements[first].start,
                        elements[last + 1].start,
                        String::new(),
                    );
                }
                continue;
            }
            let start = elements[first].start;
            if !self.text.first_on_line(start) && last + 1 < elements.len() {
                // `- key: value` with more entries below: the next entry moves up after `- `.
                self.splice(start, elements[last + 1].start, String::new());
                continue;
            }
            let column = self.text.column(start);
            let from = self
                .text
                .with_comments_above(self.text.line_start(start), column);
            let to = self.text.next_line(elements[last].end);
            if to == self.text.source.len() && self.text.ends_without_line_break() && from > 0 {
                // The last line goes: the line before becomes the last one and must lose its
                // line break, which `apply` does (an insertion may still come before it).
                self.trim_final_line_break = true;
            }
            self.splice(from, to, String::new());
        }
    }

    /// Adds rendered block elements (entries or `- items`, at `column`) after the last element
    /// and the comment lines that belong to it.
    fn append_block(&mut self, elements: &[Element], column: usize, rendered: Vec<String>) {
        let last = elements
            .last()
            .expect("a block collection should have an element")
            .end;
        let at = self
            .text
            .after_trailing_comments(self.text.next_line(last), column);
        let line_break = self.layout.line_break;
        let mut text = String::new();
        let at_end_without_break =
            at == self.text.source.len() && self.text.ends_without_line_break();
        for element in rendered {
            if at_end_without_break {
                text.push_str(line_break);
            }
            text.extend(std::iter::repeat_n(' ', column));
            text.push_str(&element);
            if !at_end_without_break {
                text.push_str(line_break);
            }
        }
        self.splice(at, at, text);
    }

    /// Adds rendered flow elements after the last one (or into an empty `{}`/`[]`). In a JSON
    /// collection written over several lines each goes on its own line, re-rendered pretty.
    fn append_flow(
        &mut self,
        node: &Node,
        elements: &[Element],
        rendered: Vec<(String, &str, &Value)>,
    ) {
        let Some(last) = elements.last() else {
            let text: Vec<String> = rendered.into_iter().map(|(text, _, _)| text).collect();
            self.splice(node.start + 1, node.start + 1, text.join(", "));
            return;
        };
        let multi_line = self.layout.json
            && self.text.line_start(last.start) != self.text.line_start(node.start);
        let mut text = String::new();
        for (flat, key, value) in rendered {
            if multi_line {
                let column = self.text.column(last.start);
                text.push(',');
                text.push_str(self.layout.line_break);
                text.extend(std::iter::repeat_n(' ', column));
                if matches!(node.kind, Kind::Map { .. }) {
                    text.push_str(&Value::String(key.to_owned()).to_string());
                    text.push_str(": ");
                }
                self.layout.json_pretty(&mut text, value, column);
            } else {
                text.push_str(", ");
                text.push_str(&flat);
            }
        }
        self.splice(last.end, last.end, text);
    }

    fn insert_flow_before(
        &mut self,
        node: &Node,
        elements: &[Element],
        before: usize,
        rendered: Vec<(String, &str, &Value)>,
    ) {
        let start = elements[before].start;
        let multi_line =
            self.layout.json && self.text.line_start(start) != self.text.line_start(node.start);
        let column = self.text.column(start);
        let mut text = String::new();
        for (flat, _, value) in rendered {
            if multi_line {
                self.layout.json_pretty(&mut text, value, column);
                text.push(',');
                text.push_str(self.layout.line_break);
                text.extend(std::iter::repeat_n(' ', column));
            } else {
                text.push_str(&flat);
                text.push_str(", ");
            }
        }
        self.splice(start, start, text);
    }
}

/// One step of turning an old sequence into a new one.
#[derive(Debug, PartialEq)]
enum Step {
    /// Old item `.0` becomes new item `.1` (edited in place).
    Pair(usize, usize),
    Remove(usize),
    /// New items `new` go before old item `before` (after the last one when it is the length).
    Insert {
        before: usize,
        new: std::ops::Range<usize>,
    },
}

/// Plans a sequence edit: items equal in both stay (longest common subsequence); between them,
/// old and new items of the same shape (for mappings: sharing a key with an equal value, such
/// as a container's `name`) are edited in place, the rest removed or inserted.
fn steps(old: &[Value], new: &[Value]) -> Vec<Step> {
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

/// Longest common subsequence tables above this size are not built; only the common prefix and
/// suffix are then matched.
const MAX_ALIGNMENT_CELLS: usize = 1 << 16;

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
    let (rows, columns) = (old_end - prefix, new_end - prefix);
    let mut pairs: Vec<(usize, usize)> = (0..prefix).map(|at| (at, at)).collect();
    if rows > 0 && columns > 0 && rows * columns <= MAX_ALIGNMENT_CELLS {
        // lengths[i][j]: the longest common subsequence of the middles from i and j on.
        let mut lengths = vec![vec![0usize; columns + 1]; rows + 1];
        for i in (0..rows).rev() {
            for j in (0..columns).rev() {
                lengths[i][j] = if matches(&old[prefix + i], &new[prefix + j]) {
                    lengths[i + 1][j + 1] + 1
                } else {
                    lengths[i + 1][j].max(lengths[i][j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < rows && j < columns {
            if matches(&old[prefix + i], &new[prefix + j]) {
                pairs.push((prefix + i, prefix + j));
                i += 1;
                j += 1;
            } else if lengths[i + 1][j] >= lengths[i][j + 1] {
                i += 1;
            } else {
                j += 1;
            }
        }
    }
    pairs.extend((0..suffix).map(|at| (old_end + at, new_end + at)));
    pairs
}

/// Applies an edit's splices, which must not overlap and must lie in `range` of `source`, and
/// returns the new text of that range.
pub(crate) fn apply(
    source: &str,
    range: std::ops::Range<usize>,
    edit: &mut Edit,
) -> Result<String, Error> {
    let splices = &mut edit.splices;
    splices.sort_by_key(|splice| (splice.start, splice.end));
    let added: usize = splices.iter().map(|splice| splice.text.len()).sum();
    let mut out = String::with_capacity(range.len() + added);
    let mut at = range.start;
    for splice in splices.iter() {
        if splice.start < at || splice.end > range.end {
            return Err(Error::at(
                source,
                splice.start,
                "internal error: overlapping edits",
            ));
        }
        out.push_str(&source[at..splice.start]);
        let mut text = splice.text.as_str();
        let at_end = splice.start == source.len();
        if edit.trim_final_line_break && at_end && out.ends_with(['\n', '\r']) {
            // Lines appended after a removed last line: the break left before it serves them.
            text = text.trim_start_matches('\r').trim_start_matches('\n');
        }
        out.push_str(text);
        at = splice.end;
    }
    out.push_str(&source[at..range.end]);
    if edit.trim_final_line_break {
        if out.ends_with('\n') {
            out.pop();
        }
        if out.ends_with('\r') {
            out.pop();
        }
    }
    Ok(out)
}
