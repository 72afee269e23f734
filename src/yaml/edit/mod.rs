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
//!
//! Submodules by job: `hints` (what the patch says about sequences), `reconcile` (the walk over
//! tree and values), `align` (sequence alignment), `place` (where text goes), `apply` (the
//! splices applied).

mod align;
mod apply;
mod hints;
mod place;
mod reconcile;

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::error::Error;
use super::events::Style;
use super::lines::Lines;
use super::render::{Layout, DEFAULT_SEQUENCE_OFFSET, DEFAULT_STEP};
use super::tree::{Entry, Kind, Node, Tree};

pub(crate) use apply::apply;
pub(crate) use hints::{sequence_hints, SequenceHint};

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
pub(crate) fn splices(
    source: &str,
    tree: &Tree,
    old: &Value,
    new: &Value,
    hints: &HashMap<String, SequenceHint>,
) -> Result<Edit, Error> {
    let mut editor = Editor {
        lines: Lines::new(source),
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
/// block sequence under a key gives the sequence offset. A flow root is JSON unless it has a
/// key that is not double-quoted (YAML flow style); JSON is minified when it is written on one
/// line with no blank after its first separator, and tab-indented when its second line starts
/// with a tab. New keys are double-quoted when the root mapping's keys all are.
fn layout(source: &str, tree: &Tree) -> Layout {
    let lines = Lines::new(source);
    let mut step = None;
    let mut sequence_offset = None;
    detect(&lines, &tree.root, &mut step, &mut sequence_offset);
    let root = &tree.root;
    let quoted_keys = match &root.kind {
        Kind::Map { entries, .. } => !entries.is_empty() && all_keys_double_quoted(entries),
        _ => false,
    };
    let json = root.is_flow() && (quoted_keys || !matches!(root.kind, Kind::Map { .. }));
    let json_lines = json && lines.start(root.end) != lines.start(root.start);
    let minified = json && !json_lines && {
        let separator = memchr::memchr2(b':', b',', &source.as_bytes()[root.start..root.end]);
        separator.is_some_and(|at| source.as_bytes().get(root.start + at + 1) != Some(&b' '))
    };
    let indent = if json_lines && lines.line(lines.next(root.start)).starts_with('\t') {
        '\t'
    } else {
        ' '
    };
    Layout {
        step: step.unwrap_or(DEFAULT_STEP),
        sequence_offset: sequence_offset.unwrap_or(DEFAULT_SEQUENCE_OFFSET),
        line_break: lines.line_break(),
        json,
        minified,
        json_lines,
        indent,
        quoted_keys,
    }
}

/// Whether every key of a mapping is a double-quoted scalar: new keys are written so too.
fn all_keys_double_quoted(entries: &[Entry]) -> bool {
    entries.iter().all(|entry| {
        matches!(
            entry.key.kind,
            Kind::Scalar {
                style: Style::DoubleQuoted,
                ..
            }
        )
    })
}

fn detect(
    lines: &Lines,
    node: &Node,
    step: &mut Option<usize>,
    sequence_offset: &mut Option<usize>,
) {
    if step.is_some() && sequence_offset.is_some() {
        return;
    }
    match &node.kind {
        Kind::Map { entries, .. } => {
            for entry in entries {
                let key_line = lines.start(entry.key.start);
                let key_column = lines.column(entry.key.start);
                match &entry.value.kind {
                    Kind::Map {
                        entries: children, ..
                    } if step.is_none() => {
                        if let Some(child) = children.first() {
                            let child_column = lines.column(child.key.start);
                            if lines.start(child.key.start) != key_line && child_column > key_column
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
                            let dash_column = lines.column(dash);
                            if lines.start(dash) != key_line && dash_column >= key_column {
                                *sequence_offset = Some(dash_column - key_column);
                            }
                        }
                    }
                    _ => {}
                }
                detect(lines, &entry.value, step, sequence_offset);
            }
        }
        Kind::Seq { items, .. } => {
            for item in items {
                detect(lines, &item.node, step, sequence_offset);
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

struct Editor<'a> {
    lines: Lines<'a>,
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
            self.lines.source,
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn first_tree(source: &str) -> Result<Tree, Error> {
        crate::yaml::tree::parse(source)
            .next()
            .expect("a test source should hold a document")
    }

    /// The text `splices` and `apply` make of `source` (one document) given the new value;
    /// no verification, so a wrong splice shows here as wrong text.
    fn edited(source: &str, new: Value) -> Result<String, Error> {
        let tree = &first_tree(source)?;
        let old = crate::yaml::value::to_value(source, tree)?;
        let mut edit = splices(source, tree, &old, &new, &HashMap::new())?;
        apply(source, tree.range.clone(), &mut edit)
    }

    #[test]
    fn layout_follows_the_first_nested_mapping_and_sequence() {
        let source = "a:\n    b: 1\n    l:\n        - x\n";
        let tree = &first_tree(source).unwrap();
        let layout = layout(source, tree);
        assert_eq!((layout.step, layout.sequence_offset), (4, 4));
        assert!(!layout.json);
        let flat = "a: 1\r\n";
        let layout = super::layout(flat, &first_tree(flat).unwrap());
        assert_eq!(
            (layout.step, layout.sequence_offset, layout.line_break),
            (DEFAULT_STEP, DEFAULT_SEQUENCE_OFFSET, "\r\n")
        );
    }

    #[test]
    fn new_entries_go_after_the_comments_of_the_last_one() {
        let source = "m:\n  a: 1\n  # about a\n# about z\nz: 2\n";
        assert_eq!(
            edited(source, json!({"m": {"a": 1, "b": 2}, "z": 2})).unwrap(),
            "m:\n  a: 1\n  # about a\n  b: 2\n# about z\nz: 2\n"
        );
    }

    #[test]
    fn removed_entries_take_their_comment_lines_above() {
        let source = "a: 1\n# about b\nb: 2 # two\nc: 3\n";
        assert_eq!(
            edited(source, json!({"a": 1, "c": 3})).unwrap(),
            "a: 1\nc: 3\n"
        );
    }

    #[test]
    fn items_are_inserted_before_their_successor_and_its_comments() {
        let source = "l:\n- a\n# about c\n- c\n";
        assert_eq!(
            edited(source, json!({"l": ["a", "b", "c"]})).unwrap(),
            "l:\n- a\n- b\n# about c\n- c\n"
        );
    }

    #[test]
    fn edits_through_an_alias_are_refused_naming_the_pointer() {
        let source = "a: &x {k: 1}\nb: *x\n";
        let error = edited(source, json!({"a": {"k": 1}, "b": {"k": 2}})).unwrap_err();
        assert!(error.message.starts_with("cannot edit `/b`"), "{error}");
        assert_eq!((error.line, error.column), (2, 4));
    }
}
