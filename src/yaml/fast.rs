//! A fast path to the span tree for the YAML that manifests are mostly written in: block
//! mappings and sequences, flow collections, plain, quoted and block scalars (on one line or
//! several), comments, `---` and `...` markers, CRLF and a BOM. It reads bytes, not
//! characters, and builds [`Tree`]s directly, without an event stream.
//!
//! It only ever answers for a whole stream, and only when every construct in it is one it
//! knows: at the first thing it does not (anchors, aliases, tags, explicit keys, directives,
//! `- - ` on one line, block scalars with keep chomping or an indentation indicator, tabs,
//! control characters, anything malformed) it gives up and [`super::tree::parse`] reads the
//! stream through the full parser instead. So it never reports an error itself, and whatever
//! it accepts the full parser accepts with the same tree: debug builds compare the two on every
//! parse (so every test, golden and fuzz input does), and the property tests below do so on
//! generated and mutated manifests.

use super::events::Style;
use super::tree::{Entry, Item, Kind, Node, Text, Tree};
use std::collections::{HashMap, HashSet};

/// The span trees of `source`, or `None` when it holds anything this path does not read.
pub(crate) fn parse(source: &str) -> Option<Vec<Tree>> {
    if !plain_characters(source) {
        return None;
    }
    let mut reader = Reader {
        source,
        bytes: source.as_bytes(),
        pos: 0,
    };
    if source.starts_with('\u{feff}') {
        reader.pos = '\u{feff}'.len_utf8();
    }
    reader.stream()
}

/// Whether `source` holds only characters this path may meet: printable ASCII, line breaks
/// (`\n`, `\r\n`), and non-ASCII characters that are neither controls nor line separators (a
/// BOM only first).
fn plain_characters(source: &str) -> bool {
    let bytes = source.as_bytes();
    // Branch-free over each chunk, so the common all-clean case runs at memory speed.
    let controls = bytes.chunks(64).any(|chunk| {
        chunk.iter().fold(false, |found, &byte| {
            found | ((byte < b' ') & (byte != b'\n') & (byte != b'\r')) | (byte == 0x7f)
        })
    });
    if controls {
        return false;
    }
    if memchr::memchr_iter(b'\r', bytes).any(|at| bytes.get(at + 1) != Some(&b'\n')) {
        return false;
    }
    if source.is_ascii() {
        return true;
    }
    source.char_indices().all(|(at, c)| {
        c.is_ascii()
            || !(matches!(
                c,
                '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{fffe}' | '\u{ffff}'
            ) || (c == '\u{feff}' && at != 0))
    })
}

struct Reader<'a> {
    source: &'a str,
    bytes: &'a [u8],
    /// Where reading goes on: always the start of a line between calls of the block readers.
    pos: usize,
}

/// How a block value is introduced: by a mapping's `:` or a sequence's `-`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Introducer {
    Colon,
    Dash,
}

impl<'a> Reader<'a> {
    /// The byte at `at`, with a line break (`\n`, or the `\r` of `\r\n`) and the end of the
    /// input read as `\n`.
    fn byte(&self, at: usize) -> u8 {
        match self.bytes.get(at) {
            Some(b'\r') => b'\n',
            Some(&byte) => byte,
            None => b'\n',
        }
    }

    /// Where the line break that ends the line `at` is on sits (the end of the input without).
    fn break_at(&self, at: usize) -> usize {
        let at = at.min(self.bytes.len());
        memchr::memchr(b'\n', &self.bytes[at..]).map_or(self.bytes.len(), |offset| at + offset)
    }

    /// The end of the text of the line `at` is on: before its `\n` or `\r\n`.
    fn line_end(&self, at: usize) -> usize {
        let end = self.break_at(at);
        if end > at && end < self.bytes.len() && self.bytes[end - 1] == b'\r' {
            end - 1
        } else {
            end
        }
    }

    /// The start of the line after the one `at` is on.
    fn next_line(&self, at: usize) -> usize {
        (self.break_at(at) + 1).min(self.bytes.len())
    }

    fn skip_spaces(&self, mut at: usize) -> usize {
        while self.byte(at) == b' ' && at < self.bytes.len() {
            at += 1;
        }
        at
    }

    /// Whether only spaces and a comment are left on the line from `at` (a `#` counts as a
    /// comment only after a space or at the start of the line).
    fn rest_is_blank(&self, at: usize) -> bool {
        let next = self.skip_spaces(at);
        let byte = self.byte(next);
        next >= self.bytes.len()
            || byte == b'\n'
            || (byte == b'#' && (next > at || at == 0 || self.bytes[at - 1] == b'\n'))
    }

    /// The first line at or after `from` (a line start) with content: its start and
    /// indentation. Blank and comment-only lines are skipped.
    fn content_line(&self, mut from: usize) -> Option<(usize, usize)> {
        while from < self.bytes.len() {
            let text = self.skip_spaces(from);
            match self.byte(text) {
                b'\n' | b'#' => from = self.next_line(from),
                _ if text >= self.bytes.len() => return None,
                _ => return Some((from, text - from)),
            }
        }
        None
    }

    /// Whether the line at `line` (a line start) starts with the marker `---` or `...`.
    fn marker(&self, line: usize, marker: &[u8; 3]) -> bool {
        self.bytes[line..].starts_with(marker) && matches!(self.byte(line + 3), b' ' | b'\n')
    }

    fn stream(&mut self) -> Option<Vec<Tree>> {
        let mut trees: Vec<Tree> = Vec::new();
        // The `---` that opened the current document and its end, when nothing followed yet.
        let mut open: Option<(usize, usize)> = None;
        loop {
            let Some((line, indent)) = self.content_line(self.pos) else {
                if let Some((marker, after)) = open {
                    let empty = empty_document(marker, after, &mut trees, self.bytes.len());
                    trees.push(empty);
                }
                break;
            };
            let first = line + indent;
            if indent == 0 && self.marker(line, b"---") {
                if !self.rest_is_blank(line + 3) {
                    return None;
                }
                if let Some((marker, after)) = open {
                    let empty = empty_document(marker, after, &mut trees, self.bytes.len());
                    trees.push(empty);
                }
                open = Some((line, line + 3));
                self.pos = self.next_line(line);
                continue;
            }
            if matches!(self.byte(first), b'%') || (indent == 0 && self.marker(line, b"...")) {
                return None;
            }
            if open.is_none() && !trees.is_empty() {
                return None;
            }
            let root = self.block_node(line, indent)?;
            if let Some((line, 0)) = self.content_line(self.pos) {
                if self.marker(line, b"...") {
                    // A document end marker: only a new document or the end may follow.
                    if !self.rest_is_blank(line + 3) {
                        return None;
                    }
                    self.pos = self.next_line(line);
                }
            }
            if let Some((line, indent)) = self.content_line(self.pos) {
                if indent != 0 || !self.marker(line, b"---") {
                    return None;
                }
            }
            let start = match open.take() {
                Some((marker, _)) if !trees.is_empty() => marker,
                _ => 0,
            };
            if let Some(previous) = trees.last_mut() {
                previous.range.end = start;
            }
            trees.push(Tree {
                root,
                range: start..self.bytes.len(),
                anchor_names: HashMap::new(),
                aliased: HashSet::new(),
            });
        }
        Some(trees)
    }

    /// The block node whose first line is `line`, indented by `indent`: a mapping, a sequence
    /// or a flow collection.
    fn block_node(&mut self, line: usize, indent: usize) -> Option<Node> {
        let first = line + indent;
        if self.is_dash(first) {
            return self.block_sequence(indent, first);
        }
        if matches!(self.byte(first), b'[' | b'{') {
            let node = self.flow(first, indent as isize - 1)?;
            return self.end_of_line(node.end).then_some(node);
        }
        let (key, after) = self.block_scalar_key(first)?;
        self.block_mapping(indent, key, after)
    }

    fn is_dash(&self, at: usize) -> bool {
        self.byte(at) == b'-' && matches!(self.byte(at + 1), b' ' | b'\n')
    }

    /// After a node ending at `end`: the rest of its line is blank, and reading goes on at the
    /// next line.
    fn end_of_line(&mut self, end: usize) -> bool {
        if !self.rest_is_blank(end) {
            return false;
        }
        self.pos = self.next_line(end);
        true
    }

    /// A block mapping at `indent` whose first key has been read: `key`, with its `:` at
    /// `colon`.
    fn block_mapping(&mut self, indent: usize, mut key: Node, mut colon: usize) -> Option<Node> {
        let mut entries = Vec::new();
        loop {
            let value = self.block_value(indent, colon, Introducer::Colon)?;
            entries.push(Entry {
                start: key.start,
                key,
                colon: Some(colon),
                value,
            });
            match self.content_line(self.pos) {
                Some((line, next))
                    if next == indent
                        && !self.marker(line, b"---")
                        && !self.marker(line, b"...") =>
                {
                    if self.is_dash(line + next) {
                        return None;
                    }
                    (key, colon) = self.block_scalar_key(line + next)?;
                }
                Some((_, next)) if next > indent => return None,
                _ => break,
            }
        }
        let start = entries.first().map_or(0, |entry| entry.start);
        let end = entries
            .last()
            .map_or(0, |entry| entry.value.end.max(entry.key.end));
        Some(bare_node(
            start,
            end,
            Kind::Map {
                flow: false,
                entries,
            },
        ))
    }

    /// A block sequence at `indent` whose first `-` is at `dash`.
    fn block_sequence(&mut self, indent: usize, mut dash: usize) -> Option<Node> {
        let mut items = Vec::new();
        loop {
            let node = self.block_value(indent, dash, Introducer::Dash)?;
            items.push(Item {
                dash: Some(dash),
                node,
            });
            match self.content_line(self.pos) {
                Some((line, next)) if next == indent && self.is_dash(line + next) => {
                    dash = line + next;
                }
                Some((_, next)) if next > indent => return None,
                _ => break,
            }
        }
        let start = items.first().and_then(|item| item.dash).unwrap_or(0);
        let end = items.last().map_or(0, |item| item.node.end);
        Some(bare_node(start, end, Kind::Seq { flow: false, items }))
    }

    /// The value after the `:` or `-` at `indicator`, in a collection at `indent`. Leaves
    /// `pos` at the start of the line after the value.
    fn block_value(&mut self, indent: usize, indicator: usize, by: Introducer) -> Option<Node> {
        let at = self.skip_spaces(indicator + 1);
        let byte = self.byte(at);
        if at >= self.bytes.len() || byte == b'\n' || (byte == b'#' && at > indicator + 1) {
            return self.value_below(indent, indicator, by);
        }
        if at == indicator + 1 {
            return None;
        }
        self.value_at(at, indent, by)
    }

    /// The value whose text starts at `at`, in a collection at `indent`.
    fn value_at(&mut self, at: usize, indent: usize, by: Introducer) -> Option<Node> {
        let byte = self.byte(at);
        match byte {
            b'[' | b'{' => {
                let node = self.flow(at, indent as isize)?;
                self.end_of_line(node.end).then_some(node)
            }
            b'\'' | b'"' => match self.quoted(at) {
                Some((node, after)) => self.scalar_value(node, after, at, by),
                None => {
                    let (node, after) = self.quoted_lines(at, indent)?;
                    self.end_of_line(after).then_some(node)
                }
            },
            b'|' | b'>' => self.block_scalar(at, indent),
            b'-' if self.is_dash(at) => None,
            _ if starts_plain(byte, self.byte(at + 1)) => {
                let end = self.plain_end(at, false);
                match self.continuation(end, indent) {
                    Some(next) if self.colon_after(end).is_none() => {
                        self.plain_lines(at, end, next, indent)
                    }
                    _ => self.scalar_value(plain(at, end), end, at, by),
                }
            }
            _ => None,
        }
    }

    /// After text ending at `end`, the start of the next line's text when that line continues
    /// a multi-line scalar of a collection at `indent`: more indented, not a comment, with only
    /// empty lines between. `None` when the line of `end` has a comment, or nothing continues.
    fn continuation(&self, end: usize, indent: usize) -> Option<usize> {
        let after = self.skip_spaces(end);
        if after < self.line_end(end) {
            return None;
        }
        let (text, text_indent) = self.text_line(self.next_line(end))?;
        (text_indent > indent && self.byte(text) != b'#').then_some(text)
    }

    /// The line breaks between text ending at `end` and the next text at `next`, folded: one
    /// break is a space, and each empty line after it a line feed.
    fn fold(&self, end: usize, next: usize, text: &mut String) {
        let breaks = self.line_breaks(end, next);
        if breaks == 1 {
            text.push(' ');
        } else {
            text.extend(std::iter::repeat_n('\n', breaks - 1));
        }
    }

    /// The line breaks between text ending at `end` and the next text at `next`.
    fn line_breaks(&self, end: usize, next: usize) -> usize {
        memchr::memchr_iter(b'\n', &self.bytes[end..next]).count()
    }

    /// A plain scalar on several lines: its first line `start..end`, the next text at `next`.
    /// Left to the full parser when a continuation line starts with `- `, `? ` or `: `, or
    /// holds `: `.
    fn plain_lines(
        &mut self,
        start: usize,
        mut end: usize,
        mut next: usize,
        indent: usize,
    ) -> Option<Node> {
        let mut text = self.source[start..end].to_owned();
        loop {
            if matches!(self.byte(next), b'-' | b'?' | b':')
                && matches!(self.byte(next + 1), b' ' | b'\n')
            {
                return None;
            }
            let line_end = self.plain_end(next, false);
            if self.byte(self.skip_spaces(line_end)) == b':' {
                return None;
            }
            self.fold(end, next, &mut text);
            text.push_str(&self.source[next..line_end]);
            end = line_end;
            match self.continuation(end, indent) {
                Some(following) => next = following,
                None => break,
            }
        }
        self.end_of_line(end)
            .then(|| scalar_node(start, end, Text::Owned(text.into_boxed_str()), Style::Plain))
    }

    /// A quoted scalar starting at `at` that runs over several lines, each indented more than
    /// `indent`; its node and the position after the closing quote. Line breaks fold as in
    /// plain scalars; in a double-quoted one, `\` at a line's end joins the lines.
    fn quoted_lines(&self, at: usize, indent: usize) -> Option<(Node, usize)> {
        let quote = self.bytes[at];
        let double = quote == b'"';
        let mut text = String::new();
        let mut pos = at + 1;
        loop {
            let line_end = self.line_end(pos);
            let segment = &self.source[pos..line_end];
            let bytes = segment.as_bytes();
            // `text` up to its last character that is not a written blank: blanks before a line
            // break are not content (escaped ones are).
            let mut kept = text.len();
            let mut joined = false;
            let mut index = 0;
            while index < bytes.len() {
                match bytes[index] {
                    b'\\' if double => {
                        if index + 1 == bytes.len() {
                            joined = true;
                            break;
                        }
                        let mut rest = segment[index + 1..].chars();
                        text.push(escape(&mut rest)?);
                        kept = text.len();
                        index = segment.len() - rest.as_str().len();
                    }
                    b'\'' if !double && bytes.get(index + 1) == Some(&b'\'') => {
                        text.push('\'');
                        kept = text.len();
                        index += 2;
                    }
                    byte if byte == quote => {
                        let close = pos + index;
                        let style = if double {
                            Style::DoubleQuoted
                        } else {
                            Style::SingleQuoted
                        };
                        let text = Text::Owned(text.into_boxed_str());
                        return Some((scalar_node(at, close + 1, text, style), close + 1));
                    }
                    b' ' => {
                        text.push(' ');
                        index += 1;
                    }
                    _ => {
                        let c = segment[index..].chars().next()?;
                        text.push(c);
                        kept = text.len();
                        index += c.len_utf8();
                    }
                }
            }
            if !joined {
                text.truncate(kept);
            }
            // The next line with text, indented more than the collection.
            let (next, next_indent) = self.text_line(self.next_line(line_end))?;
            if next_indent <= indent {
                return None;
            }
            if joined {
                // Only the empty lines between the joined ones are content.
                let empty_lines = self.line_breaks(line_end, next) - 1;
                text.extend(std::iter::repeat_n('\n', empty_lines));
            } else {
                self.fold(line_end, next, &mut text);
            }
            pos = next;
        }
    }

    /// A scalar read on an indicator's line, ending at `after`: the whole value, or after a
    /// `-`, the first key of a compact mapping (`- name: app`).
    fn scalar_value(
        &mut self,
        node: Node,
        after: usize,
        start: usize,
        by: Introducer,
    ) -> Option<Node> {
        if let Some(colon) = self.colon_after(after) {
            // `key: a: b` is not YAML; `- a: b` starts a mapping at the key's column.
            if by == Introducer::Colon {
                return None;
            }
            let line_start = self.source[..start].rfind('\n').map_or(0, |at| at + 1);
            return self.block_mapping(start - line_start, node, colon);
        }
        self.end_of_line(after).then_some(node)
    }

    /// A value written on the lines below its indicator, or an empty one.
    fn value_below(&mut self, indent: usize, indicator: usize, by: Introducer) -> Option<Node> {
        let below = self.next_line(indicator);
        self.pos = below;
        match self.content_line(below) {
            Some((line, next)) if next == 0 && self.marker(line, b"---") => {}
            Some((line, next)) if next > indent => {
                let first = line + next;
                if self.is_dash(first) || matches!(self.byte(first), b'[' | b'{') {
                    return self.block_node(line, next);
                }
                // A key starts a mapping; anything else is a scalar written below its indicator.
                if let Some((key, colon)) = self.block_scalar_key(first) {
                    return self.block_mapping(next, key, colon);
                }
                return self.value_at(first, indent, Introducer::Colon);
            }
            // An indentless sequence as a mapping's value.
            Some((line, next))
                if next == indent && by == Introducer::Colon && self.is_dash(line + next) =>
            {
                return self.block_sequence(next, line + next)
            }
            _ => {}
        }
        // The full parser places an empty mapping value's event at its `:`.
        let at = indicator + 1;
        Some(match by {
            Introducer::Colon => empty_null(at, indicator),
            Introducer::Dash => empty_null(at, at),
        })
    }

    /// A block scalar whose header (`|` or `>`, with a chomping indicator) is at `header`, its
    /// content indented more than `indent`. Left to the full parser: explicit indentation,
    /// keep chomping (`+`), an empty scalar, blank lines with more spaces than the content.
    fn block_scalar(&mut self, header: usize, indent: usize) -> Option<Node> {
        let literal = self.bytes[header] == b'|';
        let strip = match self.byte(header + 1) {
            b'-' => true,
            b' ' | b'\n' | b'#' => false,
            _ => return None,
        };
        let header_end = header + 1 + usize::from(strip);
        if !self.rest_is_blank(header_end) || self.byte(header_end) == b'#' {
            return None;
        }
        // The content's indentation: the first line with text; lines before it are empty.
        let first_line = self.next_line(header);
        let (first, content_indent) = self.text_line(first_line)?;
        if content_indent <= indent || first >= self.bytes.len() {
            return None;
        }
        let mut text = String::new();
        // Line breaks read but not yet written: the one ending the last text line, and the
        // empty lines after it.
        let mut pending_break = false;
        let mut empty_lines = 0;
        let mut previous_spaced = false;
        let mut end = header_end;
        let mut line = first_line;
        while line < self.bytes.len() {
            let text_start = self.skip_spaces(line);
            let line_end = self.line_end(line);
            if text_start >= line_end {
                // Empty: it may not hold spaces beyond the content's indentation.
                if text_start - line > content_indent {
                    return None;
                }
                empty_lines += 1;
                line = self.next_line(line);
                continue;
            }
            if text_start - line < content_indent {
                break;
            }
            let body = &self.source[line + content_indent..line_end];
            let spaced = body.starts_with(' ');
            if pending_break {
                if !literal && !previous_spaced && !spaced {
                    if empty_lines == 0 {
                        text.push(' ');
                    }
                } else {
                    text.push('\n');
                }
            }
            for _ in 0..empty_lines {
                text.push('\n');
            }
            text.push_str(body);
            end = line + content_indent + body.trim_end_matches(' ').len();
            previous_spaced = spaced;
            empty_lines = 0;
            pending_break = true;
            line = self.next_line(line);
        }
        // Clipping keeps the last line break, one the full parser supplies at the end of the
        // input too.
        if !strip {
            text.push('\n');
        }
        // Reading goes on after the last text line; the empty lines after it are not content.
        self.pos = self.next_line(end);
        let style = if literal {
            Style::Literal
        } else {
            Style::Folded
        };
        Some(scalar_node(
            header,
            end,
            Text::Owned(text.into_boxed_str()),
            style,
        ))
    }

    /// The first line at or after `from` (a line start) with text, comments included: its
    /// first byte and indentation. Lines before it must be empty.
    fn text_line(&self, mut from: usize) -> Option<(usize, usize)> {
        while from < self.bytes.len() {
            let text = self.skip_spaces(from);
            if text < self.line_end(from) {
                return Some((text, text - from));
            }
            from = self.next_line(from);
        }
        None
    }

    /// A mapping key at `at` (plain or quoted, on one line) and its `:`.
    fn block_scalar_key(&self, at: usize) -> Option<(Node, usize)> {
        // `---word` and `...word` at a line's start: left to the full parser.
        if self.bytes[at..].starts_with(b"---") || self.bytes[at..].starts_with(b"...") {
            return None;
        }
        let byte = self.byte(at);
        let (key, after) = match byte {
            b'\'' | b'"' => self.quoted(at)?,
            _ if starts_plain(byte, self.byte(at + 1)) => {
                let end = self.plain_end(at, false);
                (plain(at, end), end)
            }
            _ => return None,
        };
        let colon = self.colon_after(after)?;
        // YAML limits implicit keys to 1024 characters.
        (after - at <= 1024).then_some((key, colon))
    }

    /// The `:` that follows `at` across spaces, when it indicates a mapping value (a space or
    /// the line's end after it).
    fn colon_after(&self, at: usize) -> Option<usize> {
        let colon = self.skip_spaces(at);
        (self.byte(colon) == b':' && matches!(self.byte(colon + 1), b' ' | b'\n')).then_some(colon)
    }

    /// Where a plain scalar starting at `at` ends: before a `: `, a ` #`, the line's end, and
    /// in flow context a flow indicator; trailing spaces are not part of it.
    fn plain_end(&self, at: usize, flow: bool) -> usize {
        let mut end = at;
        let mut at = at;
        loop {
            let byte = self.byte(at);
            if at >= self.bytes.len() || byte == b'\n' {
                break;
            }
            match byte {
                b':' if matches!(self.byte(at + 1), b' ' | b'\n')
                    || (flow && matches!(self.byte(at + 1), b',' | b'[' | b']' | b'{' | b'}')) =>
                {
                    break
                }
                b'#' if self.bytes[at - 1] == b' ' => break,
                b',' | b'[' | b']' | b'{' | b'}' if flow => break,
                b' ' => {}
                _ => end = at + 1,
            }
            at += 1;
        }
        // A multi-byte character's last byte ends it.
        end
    }

    /// A quoted scalar starting at `at`, closed on the same line: its node and the position
    /// after the closing quote.
    fn quoted(&self, at: usize) -> Option<(Node, usize)> {
        let quote = self.bytes[at];
        let line_end = self.line_end(at);
        let body = at + 1;
        let (text, end, style) = if quote == b'\'' {
            let mut close = body;
            let mut doubled = false;
            loop {
                let offset = self.bytes[close..line_end]
                    .iter()
                    .position(|&b| b == b'\'')?;
                close += offset;
                if self.byte(close + 1) == b'\'' {
                    doubled = true;
                    close += 2;
                    continue;
                }
                break;
            }
            let text = if doubled {
                Text::Owned(self.source[body..close].replace("''", "'").into_boxed_str())
            } else {
                Text::Source(body, close)
            };
            (text, close + 1, Style::SingleQuoted)
        } else {
            let mut close = body;
            let mut escaped = false;
            loop {
                let offset = self.bytes[close..line_end]
                    .iter()
                    .position(|&b| b == b'"' || b == b'\\')?;
                close += offset;
                if self.bytes[close] == b'\\' {
                    escaped = true;
                    close += 2;
                    if close > line_end {
                        return None;
                    }
                    continue;
                }
                break;
            }
            let text = if escaped {
                Text::Owned(unescape(&self.source[body..close])?.into_boxed_str())
            } else {
                Text::Source(body, close)
            };
            (text, close + 1, Style::DoubleQuoted)
        };
        Some((scalar_node(at, end, text, style), end))
    }

    /// A flow collection starting at `at` (`[` or `{`). Its lines after the first must be
    /// indented more than `parent` (the enclosing block collection's indentation).
    fn flow(&self, at: usize, parent: isize) -> Option<Node> {
        let mapping = self.bytes[at] == b'{';
        let close = if mapping { b'}' } else { b']' };
        let mut pos = self.flow_space(at + 1, parent)?;
        let mut entries = Vec::new();
        let mut items = Vec::new();
        while self.byte(pos) != close {
            let (node, after) = self.flow_node(pos, parent)?;
            let mut next = self.flow_space(after, parent)?;
            if mapping {
                // JSON-like keys (quoted, or flow collections) may be followed right by `:`.
                let adjacent = self.byte(next) == b':'
                    && (matches!(self.byte(next + 1), b' ' | b'\n' | b',' | b'}' | b']')
                        || !matches!(
                            node.kind,
                            Kind::Scalar {
                                style: Style::Plain,
                                ..
                            }
                        ));
                if !adjacent || matches!(node.kind, Kind::Map { .. } | Kind::Seq { .. }) {
                    return None;
                }
                let colon = next;
                let value_at = self.flow_space(colon + 1, parent)?;
                let value = if matches!(self.byte(value_at), b',' | b'}') {
                    next = value_at;
                    empty_null(colon + 1, colon)
                } else {
                    let (value, after) = self.flow_node(value_at, parent)?;
                    next = self.flow_space(after, parent)?;
                    value
                };
                entries.push(Entry {
                    start: node.props_start,
                    key: node,
                    colon: Some(colon),
                    value,
                });
            } else {
                if self.byte(next) == b':' {
                    return None;
                }
                items.push(Item { dash: None, node });
            }
            match self.byte(next) {
                b',' => pos = self.flow_space(next + 1, parent)?,
                byte if byte == close => pos = next,
                _ => return None,
            }
        }
        let kind = if mapping {
            Kind::Map {
                flow: true,
                entries,
            }
        } else {
            Kind::Seq { flow: true, items }
        };
        Some(bare_node(at, pos + 1, kind))
    }

    /// A node inside a flow collection: a scalar on one line or a nested collection.
    fn flow_node(&self, at: usize, parent: isize) -> Option<(Node, usize)> {
        match self.byte(at) {
            b'[' | b'{' => {
                let node = self.flow(at, parent)?;
                let end = node.end;
                Some((node, end))
            }
            b'\'' | b'"' => self.quoted(at),
            byte if starts_flow_plain(byte, self.byte(at + 1)) => {
                let end = self.plain_end(at, true);
                // `a:b` is one plain scalar in YAML; this path leaves such text alone.
                if self.source[at..end].contains(':') {
                    return None;
                }
                Some((plain(at, end), end))
            }
            _ => None,
        }
    }

    /// Skips spaces, line breaks and comments inside a flow collection; every new line must be
    /// indented more than `parent`. `None` at the end of the input.
    fn flow_space(&self, mut at: usize, parent: isize) -> Option<usize> {
        loop {
            at = self.skip_spaces(at);
            match self.byte(at) {
                _ if at >= self.bytes.len() => return None,
                b'\n' => {
                    let line = self.next_line(at);
                    at = self.skip_spaces(line);
                    let blank = matches!(self.byte(at), b'\n' | b'#') || at >= self.bytes.len();
                    // Like kubectl, a closing bracket may sit at the collection's own indentation.
                    let indent = (at - line) as isize;
                    let closing = indent == parent && matches!(self.byte(at), b']' | b'}');
                    if !blank
                        && ((indent <= parent && !closing)
                            || self.marker(line, b"---")
                            || self.marker(line, b"..."))
                    {
                        return None;
                    }
                }
                b'#' if self.bytes[at - 1] == b' ' || self.bytes[at - 1] == b'\n' => {
                    at = self.line_end(at);
                }
                _ => return Some(at),
            }
        }
    }
}

/// A node spanning `start..end` with no properties.
fn bare_node(start: usize, end: usize, kind: Kind) -> Node {
    Node {
        start,
        end,
        props_start: start,
        tag_start: None,
        anchor: 0,
        kind,
    }
}

/// An untagged scalar spanning `start..end`.
fn scalar_node(start: usize, end: usize, text: Text, style: Style) -> Node {
    bare_node(
        start,
        end,
        Kind::Scalar {
            text,
            style,
            tag: None,
        },
    )
}

/// A plain scalar, its text the source itself.
fn plain(start: usize, end: usize) -> Node {
    scalar_node(start, end, Text::Source(start, end), Style::Plain)
}

/// An empty value (null, written as nothing) at `at`, as the full parser reports it: its text
/// is `~`, and its event may start before it (`props_start`).
fn empty_null(at: usize, props_start: usize) -> Node {
    Node {
        props_start,
        ..scalar_node(at, at, Text::Owned("~".into()), Style::Plain)
    }
}

/// Whether a plain scalar may start with `byte` (followed by `next`): not an indicator, except
/// `-`, `?` and `:` before a non-space.
fn starts_plain(byte: u8, next: u8) -> bool {
    match byte {
        b'-' | b'?' | b':' => !matches!(next, b' ' | b'\n'),
        b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
        | b'"' | b'%' | b'@' | b'`' | b' ' | b'\n' => false,
        _ => true,
    }
}

/// Whether a plain scalar in a flow collection may start with `byte` (followed by `next`).
fn starts_flow_plain(byte: u8, next: u8) -> bool {
    match byte {
        b'?' | b':' => false,
        b'-' => !matches!(next, b' ' | b'\n' | b',' | b'[' | b']' | b'{' | b'}'),
        _ => starts_plain(byte, next),
    }
}

/// The empty document a `---` at `marker` opened; its root sits right after the marker.
fn empty_document(marker: usize, after: usize, trees: &mut [Tree], len: usize) -> Tree {
    let start = if trees.is_empty() { 0 } else { marker };
    if let Some(previous) = trees.last_mut() {
        previous.range.end = start;
    }
    Tree {
        root: empty_null(after, after),
        range: start..len,
        anchor_names: HashMap::new(),
        aliased: HashSet::new(),
    }
}

/// The text of a double-quoted scalar's body with its escapes decoded; `None` for an escape
/// this path leaves to the full parser.
fn unescape(body: &str) -> Option<String> {
    let mut text = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            text.push(escape(&mut chars)?);
        } else {
            text.push(c);
        }
    }
    Some(text)
}

/// The character an escape stands for, read from just after its `\\`.
fn escape(chars: &mut std::str::Chars<'_>) -> Option<char> {
    Some(match chars.next()? {
        '0' => '\0',
        'a' => '\u{7}',
        'b' => '\u{8}',
        't' => '\t',
        'n' => '\n',
        'v' => '\u{b}',
        'f' => '\u{c}',
        'r' => '\r',
        'e' => '\u{1b}',
        ' ' => ' ',
        '"' => '"',
        '/' => '/',
        '\\' => '\\',
        'N' => '\u{85}',
        '_' => '\u{a0}',
        'L' => '\u{2028}',
        'P' => '\u{2029}',
        'x' => hex(chars, 2)?,
        'u' => hex(chars, 4)?,
        'U' => hex(chars, 8)?,
        _ => return None,
    })
}

fn hex(chars: &mut std::str::Chars<'_>, digits: usize) -> Option<char> {
    let mut code = 0;
    for _ in 0..digits {
        code = code * 16 + chars.next()?.to_digit(16)?;
    }
    char::from_u32(code)
}

#[cfg(test)]
mod tests {
    use super::super::tree::{assert_same_trees, parse_events};
    use proptest::prelude::*;

    /// `source` is read by the fast path, into the full parser's trees.
    fn fast(source: &str) {
        let trees =
            super::parse(source).unwrap_or_else(|| panic!("the fast path should read {source:?}"));
        assert_same_trees(source, &trees, &parse_events(source));
    }

    /// `source` is left to the full parser.
    fn full(source: &str) {
        assert!(
            super::parse(source).is_none(),
            "the fast path should leave {source:?} to the full parser"
        );
    }

    #[test]
    fn reads_block_collections_and_their_empty_values() {
        fast("a: 1\nb:\n  c: x y  # note\n  d:\n# between\ne: [] \n");
        fast(
            "- a\n-\n- k: v\n  l:\n    - 1\n    -  2\n- - \n"
                .replace("- - \n", "-\n")
                .as_str(),
        );
        fast("spec:\n  containers:\n  - name: app\n    ports:\n    - containerPort: 80\n  volumes:\n");
        fast("  indented: root\n  next: 2\n");
        fast("key: value with colon-free text, commas [and] {braces}\n");
        fast("url: http://example.com/a#frag\nport: -1\nflag: --verbose\n");
    }

    #[test]
    fn reads_flow_collections() {
        fast("a: [1, 'two', \"three\", {k: v, n: }]\nb: {x: [], y: {}}\nc: [a, b, ]\n");
        fast("{\"apiVersion\": \"v1\", \"kind\": \"Pod\",\n \"spec\": {\"containers\": [\n  {\"name\": \"a\", \"args\": [\"-x\", -1, 2.5e3, null, true]}]}}\n");
        fast("args: [\n  \"--a\",  # first\n\n  \"--b\",\n]\n");
        // A closing bracket at the key's indentation, as kubectl reads it.
        fast("spec:\n  args: [\n    a,\n  ]\n");
    }

    #[test]
    fn reads_quoted_scalars() {
        fast("a: 'it''s'\nb: \"tab\\there \\u00e9 \\\" \\\\ \\x41\"\n'k 1': \"v\"\n\"k2\": ''\n");
        fast("- 'one': 1\n  \"two\": 2\n");
        fast("d: 'folded\n  over\n\n  lines'\ne: \"plain\n  double\"\n");
        fast("f: \"esc \\t \\u00e9  \n  joined \\\n    here\\\n\n  and \\  \n  more\"\n");
    }

    #[test]
    fn reads_multi_line_plain_scalars() {
        fast("description: Operation contains information\n  about a \"run\" {key,value} op\n\n  with a paragraph\nnext: 1\n");
        fast("- first line\n  second line\n- x\n");
        fast("key:\n- indentless item\n  continued\n- k: v\n  w: x\nnext: 1\n");
        fast("description:\n  below its key\n  and on\ntype: string\n");
        fast("description:\n  \"quoted below\n  its key\"\n");
    }

    #[test]
    fn reads_block_scalars() {
        fast("a: |\n  line 1\n\n  line 3\n    more\nb: >-\n  folded\n  text\n\n  para\n    spaced\n  back\nc: 1\n");
        fast("- |-\n  x\n- >\n\n  leading blank\n# after\n");
        fast("a: | # header comment\n  x\nb: >- # another\n  y\n");
        fast("script: |\n  #!/bin/sh\n  echo \"a: b\"   \n\n\nnext: 2\n");
    }

    #[test]
    fn reads_streams_markers_bom_and_crlf() {
        fast("---\n---\na: 1\n---\n");
        fast("# header\na: 1\n--- # second\nb: 2\n...\n---\nc: 3\n");
        fast("a: 1\n...\n");
        fast("\u{feff}a: 1\r\nb:\r\n  - x\r\n  - 'y'\r\nc: |\r\n  l1\r\n  l2\r\n");
        fast("name: caf\u{e9} \u{65e5}\u{672c}\nk: v\n");
        fast("");
        fast("# only a comment\n");
    }

    #[test]
    fn leaves_other_constructs_to_the_full_parser() {
        for source in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "? complex\n: key\n",
            "%YAML 1.2\n---\na: 1\n",
            "a:\tb\n",
            "key: - a\n",
            "- - nested\n",
            "a: |+\n  keep\n\n",
            "a: |2\n   indented\n",
            "a: b\n  - c\n",
            "a: 'open\n",
            "a: [1, 2\n",
            "{{- with .Values }}\na: 1\n",
            "a: 1\n b: 2\n",
            "a: b: c\n",
            "a: x\u{85}y\n",
            "a:\r b\n",
        ] {
            full(source);
        }
    }

    /// One scalar in a style the fast path reads.
    fn scalar() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z][a-z0-9./-]{0,8}",
            "-?[0-9]{1,4}",
            Just("true".to_owned()),
            Just("null".to_owned()),
            "'[a-z :#]{0,6}'",
            "\"[a-z :#]{0,6}\"",
            Just("\"esc\\n\\\"q\\\"\"".to_owned()),
            Just("'it''s'".to_owned()),
            Just("[a, 'b', {c: d}]".to_owned()),
            Just("{}".to_owned()),
        ]
    }

    /// Mapping entries the generator writes besides nested blocks, as (indentation, text) lines;
    /// `KEY` is the entry's key.
    const FORMS: &[&[(usize, &str)]] = &[
        &[(0, "KEY:")],
        &[(0, "KEY: |"), (2, "text: not a key"), (2, ""), (2, "more")],
        &[(0, "KEY: plain start"), (2, "continued")],
        &[
            (0, "KEY: >-"),
            (2, "folded"),
            (2, "text"),
            (4, "spaced"),
            (2, ""),
            (2, "end"),
        ],
        &[(0, "KEY: 'quoted over"), (2, "two lines'")],
        &[(0, "KEY: [a,"), (2, "b]")],
        &[(0, "KEY: \"esc\\t over  "), (2, "two \\"), (4, "lines\"")],
        &[
            (0, "KEY:"),
            (0, "- indentless"),
            (2, "continued"),
            (0, "- [x]"),
        ],
    ];

    /// A block node at `indent`, as the lines of a mapping or sequence.
    fn block(depth: u32) -> impl Strategy<Value = Vec<(usize, String)>> {
        let leaf = prop::collection::vec(("[a-z]{1,6}", scalar()), 1..4).prop_map(|entries| {
            entries
                .into_iter()
                .enumerate()
                .map(|(i, (key, value))| (0, format!("{key}{i}: {value}")))
                .collect::<Vec<_>>()
        });
        leaf.prop_recursive(depth, 24, 4, |inner| {
            prop_oneof![
                // A mapping whose values are nested blocks, block scalars or nothing.
                prop::collection::vec(("[a-z]{1,6}", inner.clone(), 0..=FORMS.len()), 1..4)
                    .prop_map(|entries| {
                        let mut lines = Vec::new();
                        for (i, (key, child, form)) in entries.into_iter().enumerate() {
                            let key = format!("{key}{i}");
                            match FORMS.get(form) {
                                Some(form) => lines
                                    .extend(form.iter().map(|(indent, line)| {
                                        (*indent, line.replace("KEY", &key))
                                    })),
                                None => {
                                    lines.push((0, format!("{key}:  # comment")));
                                    lines.extend(child.into_iter().map(|(d, l)| (d + 2, l)));
                                }
                            }
                        }
                        lines
                    }),
                // A sequence of blocks (compact mappings).
                prop::collection::vec(inner, 1..3).prop_map(|items| {
                    let mut lines = Vec::new();
                    for item in items {
                        // `- - x` is left to the full parser: a nested sequence goes below.
                        let nested = item.first().is_some_and(|(_, l)| l.starts_with('-'));
                        if nested {
                            lines.push((0, "-".to_owned()));
                        }
                        for (n, (d, l)) in item.into_iter().enumerate() {
                            if n == 0 && !nested {
                                lines.push((d, format!("- {l}")));
                            } else {
                                lines.push((d + 2, l));
                            }
                        }
                    }
                    lines
                }),
            ]
        })
    }

    /// Text inserted by the mutation test: indicators, breaks, quotes, markers, odd characters.
    const MUTATIONS: &[&str] = &[
        "", " ", "  ", "\n", "\n\n", ": ", ":", "- ", "-", "#", " #", "'", "''", "\"", "\\", "[",
        "]", "{", "}", ",", "|", "|-", ">", "? ", "&a ", "*a", "!t ", "%", "  x", "x: y", "\r\n",
        "\r", "\t", "---\n", "...\n", "\u{e9}", "\u{85}", "\u{feff}", "@", "`",
    ];

    fn render(lines: &[(usize, String)], crlf: bool) -> String {
        let newline = if crlf { "\r\n" } else { "\n" };
        lines
            .iter()
            .map(|(indent, line)| {
                if line.is_empty() {
                    newline.to_owned()
                } else {
                    format!("{}{line}{newline}", " ".repeat(*indent))
                }
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Generated manifests of the constructs it knows always take the fast path, with the
        /// full parser's trees.
        #[test]
        fn known_constructs_take_the_fast_path(
            documents in prop::collection::vec(block(3), 1..3),
            crlf in any::<bool>(),
        ) {
            let texts: Vec<String> = documents.iter().map(|lines| render(lines, crlf)).collect();
            fast(&texts.join("---\n"));
        }

        /// Whatever random edits of such a manifest make of it, the fast path either reads it
        /// as the full parser does or leaves it alone (never accepts what the full parser
        /// rejects).
        #[test]
        fn mutated_manifests_never_diverge(
            lines in block(3),
            edits in prop::collection::vec(
                (any::<prop::sample::Index>(), prop::sample::select(MUTATIONS), 0..3usize),
                1..4,
            ),
        ) {
            let mut text = render(&lines, false);
            for (at, insert, delete) in edits {
                let at = at.index(text.len() + 1);
                let at = (0..=at).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
                let end = (at + delete).min(text.len());
                let end = (end..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
                text = format!("{}{insert}{}", &text[..at], &text[end..]);
            }
            if let Some(trees) = super::parse(&text) {
                assert_same_trees(&text, &trees, &parse_events(&text));
            }
        }
    }
}
