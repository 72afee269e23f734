//! Where new and removed text goes: a removed element takes its own lines (and the comment
//! lines above it that describe it), new block elements go after the last element and the
//! comment lines that belong to it, flow elements go between separators; JSON written over
//! several lines gets one element per line.

use serde_json::Value;

use super::{Editor, Element};
use crate::yaml::tree::{Kind, Node};

impl Editor<'_> {
    /// Inserts new items before item `before` (or after the last one).
    pub(super) fn insert_items(
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
        let column = self.lines.column(elements[0].start);
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
        if self.lines.first_on_line(start) {
            let at = self.with_comments_above(self.lines.start(start), column);
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
    pub(super) fn fill_empty_document(&mut self, node: &Node, text: String) {
        let after_marker = !self.lines.source[self.lines.start(node.start)..node.start]
            .trim()
            .is_empty();
        let text = if after_marker {
            format!("{}{text}", self.layout.line_break)
        } else {
            text
        };
        self.splice(node.start, node.start, text);
    }

    /// Removes the elements at `removed` (sorted; not all of them), run by run: in flow style
    /// with their separators, in block style with their own lines.
    pub(super) fn remove(&mut self, elements: &[Element], removed: &[usize], flow: bool) {
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
            if !self.lines.first_on_line(start) && last + 1 < elements.len() {
                // `- key: value` with more entries below: the next entry moves up after `- `.
                self.splice(start, elements[last + 1].start, String::new());
                continue;
            }
            let column = self.lines.column(start);
            let from = self.with_comments_above(self.lines.start(start), column);
            let to = self.lines.next(elements[last].end);
            if to == self.lines.source.len() && self.lines.ends_without_line_break() && from > 0 {
                // The last line goes: the line before becomes the last one and must lose its
                // line break, which `apply` does (an insertion may still come before it).
                self.trim_final_line_break = true;
            }
            self.splice(from, to, String::new());
        }
    }

    /// Adds rendered block elements (entries or `- items`, at `column`) after the last element
    /// and the comment lines that belong to it.
    pub(super) fn append_block(
        &mut self,
        elements: &[Element],
        column: usize,
        rendered: Vec<String>,
    ) {
        let last = elements
            .last()
            .expect("a block collection should have an element")
            .end;
        let at = self.after_trailing_comments(self.lines.next(last), column);
        let line_break = self.layout.line_break;
        let mut text = String::new();
        let at_end_without_break =
            at == self.lines.source.len() && self.lines.ends_without_line_break();
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
    pub(super) fn append_flow(
        &mut self,
        node: &Node,
        elements: &[Element],
        rendered: Vec<(String, &str, &Value)>,
    ) {
        let Some(last) = elements.last() else {
            let text = if self.layout.json_lines {
                self.pretty_into_empty(node, rendered)
            } else {
                let flat: Vec<String> = rendered.into_iter().map(|(text, _, _)| text).collect();
                flat.join(self.layout.comma())
            };
            self.splice(node.start + 1, node.start + 1, text);
            return;
        };
        let multi_line =
            self.layout.json && self.lines.start(last.start) != self.lines.start(node.start);
        let mut text = String::new();
        for (flat, key, value) in rendered {
            if multi_line {
                let column = self.lines.column(last.start);
                text.push(',');
                text.push_str(self.layout.line_break);
                self.layout.indent_to(&mut text, column);
                if matches!(node.kind, Kind::Map { .. }) {
                    text.push_str(&Value::String(key.to_owned()).to_string());
                    text.push_str(": ");
                }
                self.layout.json_pretty(&mut text, value, column);
            } else {
                text.push_str(self.layout.comma());
                text.push_str(&flat);
            }
        }
        self.splice(last.end, last.end, text);
    }

    /// The inside of an empty `{}`/`[]` of JSON laid out over lines, filled as its siblings
    /// are laid out: one element per line, one step deeper than the line holding the bracket,
    /// the closing bracket back on that line's indentation.
    fn pretty_into_empty(&self, node: &Node, rendered: Vec<(String, &str, &Value)>) -> String {
        let line = self.lines.line(self.lines.start(node.start));
        let column = line.len() - line.trim_start_matches([' ', '\t']).len();
        let inner = column + self.layout.step;
        let mut text = String::new();
        for (index, (_, key, value)) in rendered.into_iter().enumerate() {
            if index > 0 {
                text.push(',');
            }
            text.push_str(self.layout.line_break);
            self.layout.indent_to(&mut text, inner);
            if matches!(node.kind, Kind::Map { .. }) {
                text.push_str(&Value::String(key.to_owned()).to_string());
                text.push_str(": ");
            }
            self.layout.json_pretty(&mut text, value, inner);
        }
        text.push_str(self.layout.line_break);
        self.layout.indent_to(&mut text, column);
        text
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
            self.layout.json && self.lines.start(start) != self.lines.start(node.start);
        let column = self.lines.column(start);
        let mut text = String::new();
        for (flat, _, value) in rendered {
            if multi_line {
                self.layout.json_pretty(&mut text, value, column);
                text.push(',');
                text.push_str(self.layout.line_break);
                self.layout.indent_to(&mut text, column);
            } else {
                text.push_str(&flat);
                text.push_str(self.layout.comma());
            }
        }
        self.splice(start, start, text);
    }
    /// `line_start` moved up over the comment lines directly above it at `column`: an entry's
    /// own comments.
    pub(super) fn with_comments_above(&self, mut line_start: usize, column: usize) -> usize {
        while line_start > 0 {
            let previous = self.lines.previous(line_start);
            if self.lines.comment_line(previous) != Some(column) {
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
    pub(super) fn after_trailing_comments(
        &self,
        mut line_start: usize,
        min_column: usize,
    ) -> usize {
        while line_start < self.lines.source.len() {
            match self.lines.comment_line(line_start) {
                Some(indent) if indent >= min_column => line_start = self.lines.next(line_start),
                _ => break,
            }
        }
        if line_start < self.lines.source.len() {
            let line = self.lines.line(line_start);
            let content = line.trim_start_matches(' ');
            if !content.is_empty() {
                let column = line.len() - content.len();
                return self.with_comments_above(line_start, column);
            }
        }
        line_start
    }
}
