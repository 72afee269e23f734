//! The span tree: every node of a document with its exact byte range in the stream source, its
//! style (block/flow collection; plain, quoted or block scalar), its anchor, and for block
//! sequences where each item's `-` is. Built from [`super::events`]; knows no JSON.
//!
//! Ranges cover a node's content only: a block collection runs from its first key (or first
//! `-`) to the end of its last child's content, a block scalar from its `|`/`>` header to its
//! last non-blank character, and an empty value is a zero-width range just after its `:` or `-`.
//! Comments and blank lines are never part of a node; the editor reads them from the text.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::iter::Peekable;

use super::error::Error;
use super::events::{events, Event, ScalarTag, Spanned, Style};
use super::lines::{without_comment, Lines};

/// One node of a document.
#[derive(Debug)]
pub(crate) struct Node {
    /// First byte of the content (after any anchor and tag).
    pub(crate) start: usize,
    /// One past the last byte of the content.
    pub(crate) end: usize,
    /// Where the node's properties (`&anchor`, `!tag`) start, or `start` without any.
    pub(crate) props_start: usize,
    /// Where a tag starts, if the node has one.
    pub(crate) tag_start: Option<usize>,
    /// The parser's anchor id, 0 for none.
    pub(crate) anchor: usize,
    pub(crate) kind: Kind,
}

/// A scalar's decoded text: a range of the source when the source spells it verbatim (most
/// scalars: no allocation), else its own copy (escapes, folded lines).
#[derive(Debug)]
pub(crate) enum Text {
    Source(usize, usize),
    Owned(Box<str>),
}

impl Text {
    fn new(value: Cow<'_, str>, source: &str) -> Text {
        if let Cow::Borrowed(text) = &value {
            let offset = (text.as_ptr() as usize).wrapping_sub(source.as_ptr() as usize);
            if offset <= source.len() && text.len() <= source.len() - offset {
                return Text::Source(offset, offset + text.len());
            }
        }
        Text::Owned(value.into_owned().into_boxed_str())
    }

    pub(crate) fn get<'a>(&'a self, source: &'a str) -> &'a str {
        match self {
            Text::Source(start, end) => &source[*start..*end],
            Text::Owned(text) => text,
        }
    }
}

#[derive(Debug)]
pub(crate) enum Kind {
    Scalar {
        text: Text,
        style: Style,
        tag: Option<ScalarTag>,
    },
    Alias {
        anchor: usize,
    },
    Map {
        flow: bool,
        entries: Vec<Entry>,
    },
    Seq {
        flow: bool,
        items: Vec<Item>,
    },
}

/// A mapping entry: the key node, the `:` (absent for `{key}`), the value.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The `?` of an explicit key, else where the key's properties start.
    pub(crate) start: usize,
    pub(crate) key: Node,
    pub(crate) colon: Option<usize>,
    pub(crate) value: Node,
}

/// A sequence item; `dash` is the byte offset of its `-` in block sequences.
#[derive(Debug)]
pub(crate) struct Item {
    pub(crate) dash: Option<usize>,
    pub(crate) node: Node,
}

impl Node {
    /// An empty (null) value written as nothing at all: `key:` or `-`.
    pub(crate) fn is_empty_null(&self) -> bool {
        self.start == self.end && matches!(self.kind, Kind::Scalar { .. })
    }

    pub(crate) fn is_flow(&self) -> bool {
        matches!(
            self.kind,
            Kind::Map { flow: true, .. } | Kind::Seq { flow: true, .. }
        )
    }
}

/// One document of a stream.
#[derive(Debug)]
pub(crate) struct Tree {
    pub(crate) root: Node,
    /// The document's slice of the stream: from its `---` (the stream's start for the first
    /// document) to the next document's start. Parsed alone, it is the same document.
    pub(crate) range: std::ops::Range<usize>,
    /// Anchor id to name, for error messages.
    pub(crate) anchor_names: HashMap<usize, String>,
    /// Anchor ids used by at least one alias in this document.
    pub(crate) aliased: HashSet<usize>,
}

/// The documents of `source`, each built when asked for: a caller that handles one document
/// at a time holds one tree at a time. After an error the iterator ends.
pub(crate) fn parse(source: &str) -> impl Iterator<Item = Result<Tree, Error>> + '_ {
    let mut builder = Builder {
        source,
        events: events(source).peekable(),
        last_end: 0,
        prev_end: 0,
        anchor_names: HashMap::new(),
        aliased: HashSet::new(),
        entry_stack: Vec::new(),
        item_stack: Vec::new(),
    };
    let mut first = true;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        let next = builder.document(first).transpose()?;
        first = false;
        failed = next.is_err();
        Some(next)
    })
}

struct Builder<'a, I: Iterator<Item = Result<Spanned<'a>, Error>>> {
    source: &'a str,
    events: Peekable<I>,
    /// The furthest end of any event read so far.
    last_end: usize,
    /// `last_end` before the latest event: where the gap before that event's token starts.
    prev_end: usize,
    anchor_names: HashMap<usize, String>,
    aliased: HashSet<usize>,
    /// Entries and items of the collections being built, innermost last: each collection
    /// takes its own off the top when it ends, so its `Vec` is allocated once at its size.
    entry_stack: Vec<Entry>,
    item_stack: Vec<Item>,
}

impl<'a, I: Iterator<Item = Result<Spanned<'a>, Error>>> Builder<'a, I> {
    /// The next document, `None` at the end of the stream. Its slice runs from its `---` (the
    /// stream's start for the first document) to where the next document starts.
    fn document(&mut self, first: bool) -> Result<Option<Tree>, Error> {
        let Some(spanned) = self.next()? else {
            return Ok(None);
        };
        if !matches!(spanned.event, Event::DocumentStart) {
            return Err(self.unexpected(Some(spanned)));
        }
        let start = if first { 0 } else { spanned.range.start };
        let first_event = self.expect_next()?;
        let root = self.node(first_event)?;
        match self.next()? {
            Some(Spanned {
                event: Event::DocumentEnd,
                ..
            }) => {}
            other => return Err(self.unexpected(other)),
        }
        let end = match self.events.peek() {
            Some(Ok(Spanned {
                event: Event::DocumentStart,
                range,
                ..
            })) => range.start,
            _ => self.source.len(),
        };
        Ok(Some(Tree {
            root,
            range: start..end,
            anchor_names: std::mem::take(&mut self.anchor_names),
            aliased: std::mem::take(&mut self.aliased),
        }))
    }

    fn next(&mut self) -> Result<Option<Spanned<'a>>, Error> {
        let next = self.events.next().transpose()?;
        if let Some(spanned) = &next {
            self.prev_end = self.last_end;
            self.last_end = self.last_end.max(spanned.range.end);
        }
        Ok(next)
    }

    fn expect_next(&mut self) -> Result<Spanned<'a>, Error> {
        self.next()?
            .ok_or_else(|| Error::at(self.source, self.source.len(), "unexpected end of input"))
    }

    fn unexpected(&self, spanned: Option<Spanned<'a>>) -> Error {
        match spanned {
            Some(spanned) => Error::at(
                self.source,
                spanned.range.start,
                format!("unexpected parser event {:?}", spanned.event),
            ),
            None => Error::at(self.source, self.source.len(), "unexpected end of input"),
        }
    }

    /// Consumes the `Anchor` event that follows a node with anchor id `anchor` (none follows
    /// unanchored nodes) and returns where its `&name` starts.
    fn anchor_event(&mut self, anchor: usize) -> Result<Option<usize>, Error> {
        if anchor == 0 {
            return Ok(None);
        }
        if let Some(Ok(Spanned {
            event: Event::Anchor { .. },
            ..
        })) = self.events.peek()
        {
            if let Some(Spanned {
                event: Event::Anchor { id, name },
                range,
                ..
            }) = self.next()?
            {
                self.anchor_names.insert(id, name.into_owned());
                return Ok(Some(range.start));
            }
        }
        Ok(None)
    }

    fn node(&mut self, first: Spanned<'a>) -> Result<Node, Error> {
        let gap_start = self.prev_end;
        let Spanned {
            event,
            range,
            tag_start,
        } = first;
        match event {
            Event::Scalar {
                value,
                style,
                anchor,
                tag,
            } => {
                let (start, end) = match style {
                    Style::Literal | Style::Folded => {
                        self.block_scalar_range(gap_start, range.clone())
                    }
                    _ => (range.start, range.end),
                };
                let anchor_start = self.anchor_event(anchor)?;
                Ok(Node {
                    start,
                    end,
                    props_start: props_start(start, anchor_start, tag_start),
                    tag_start,
                    anchor,
                    kind: Kind::Scalar {
                        text: Text::new(value, self.source),
                        style,
                        tag,
                    },
                })
            }
            Event::Alias { anchor } => {
                self.aliased.insert(anchor);
                Ok(Node {
                    start: range.start,
                    end: range.end,
                    props_start: range.start,
                    tag_start: None,
                    anchor: 0,
                    kind: Kind::Alias { anchor },
                })
            }
            Event::MappingStart { flow, anchor } => {
                let anchor_start = self.anchor_event(anchor)?;
                let base = self.entry_stack.len();
                let end = loop {
                    let next = self.expect_next()?;
                    if let Event::MappingEnd = next.event {
                        break next.range.end;
                    }
                    let key = self.node(next)?;
                    let colon = self.colon_after(key.end);
                    let first = self.expect_next()?;
                    let mut value = self.node(first)?;
                    if value.is_empty_null() {
                        // An empty value sits right after its `:`, or after its key when there
                        // is none (`? key`): the parser may place it at the next token.
                        let at = colon.map_or(key.end, |colon| colon + 1);
                        value.start = at;
                        value.end = at;
                        value.props_start = value.props_start.min(at);
                    }
                    let colon = colon.or_else(|| {
                        // `? key` / `: value` on its own line.
                        let written = !value.is_empty_null();
                        written.then(|| self.indicator_before(value.props_start, ':'))?
                    });
                    let start = if flow {
                        key.props_start
                    } else {
                        self.explicit_key_before(key.props_start)
                            .unwrap_or(key.props_start)
                    };
                    self.entry_stack.push(Entry {
                        start,
                        key,
                        colon,
                        value,
                    });
                };
                let entries: Vec<Entry> = self.entry_stack.drain(base..).collect();
                let (start, end) = if flow {
                    (range.start, end)
                } else {
                    let first = entries.first().map_or(range.start, |entry| entry.start);
                    let last = entries
                        .last()
                        .map_or(range.start, |entry| entry.value.end.max(entry.key.end));
                    (first, last)
                };
                Ok(Node {
                    start,
                    end,
                    props_start: props_start(start, anchor_start, tag_start),
                    tag_start,
                    anchor,
                    kind: Kind::Map { flow, entries },
                })
            }
            Event::SequenceStart { flow, anchor } => {
                let anchor_start = self.anchor_event(anchor)?;
                let base = self.item_stack.len();
                let end = loop {
                    let next = self.expect_next()?;
                    if let Event::SequenceEnd = next.event {
                        break next.range.end;
                    }
                    let mut node = self.node(next)?;
                    let dash = if flow {
                        None
                    } else {
                        self.indicator_before(node.props_start, '-')
                    };
                    if let (true, Some(dash)) = (node.is_empty_null(), dash) {
                        node.start = dash + 1;
                        node.end = dash + 1;
                        node.props_start = node.start;
                    }
                    self.item_stack.push(Item { dash, node });
                };
                let items: Vec<Item> = self.item_stack.drain(base..).collect();
                let (start, end) = if flow {
                    (range.start, end)
                } else {
                    let first = items.first().map_or(range.start, |item| {
                        item.dash.unwrap_or(item.node.props_start)
                    });
                    let last = items.last().map_or(range.start, |item| item.node.end);
                    (first, last)
                };
                Ok(Node {
                    start,
                    end,
                    props_start: props_start(start, anchor_start, tag_start),
                    tag_start,
                    anchor,
                    kind: Kind::Seq { flow, items },
                })
            }
            other => Err(self.unexpected(Some(Spanned {
                event: other,
                range,
                tag_start,
            }))),
        }
    }

    /// A block scalar's header (`|`, `>`, with indicators) starts the node; its content ends at
    /// the last non-blank character (the parser's range runs on to the next token).
    fn block_scalar_range(
        &self,
        gap_start: usize,
        content: std::ops::Range<usize>,
    ) -> (usize, usize) {
        let gap_start = gap_start.min(content.start);
        let header = self.source[gap_start..content.start]
            .find(['|', '>'])
            .map(|at| gap_start + at)
            .or_else(|| {
                // No token before it in the gap (a document's root): the header ends the last
                // non-blank line before the content.
                let before = self.source[..content.start].trim_end();
                let line_start = Lines::new(before).start(before.len());
                without_comment(&before[line_start..])
                    .rfind(['|', '>'])
                    .map(|at| line_start + at)
            })
            .unwrap_or(content.start);
        // The header and its indicators (`|-`, `>+2`); nothing when it was not found.
        let header_end = if matches!(self.source.as_bytes().get(header), Some(b'|' | b'>')) {
            header
                + 1
                + self.source.as_bytes()[header + 1..]
                    .iter()
                    .take_while(|byte| matches!(byte, b'-' | b'+' | b'0'..=b'9'))
                    .count()
        } else {
            header
        };
        let text = self.source[content.start..content.end.max(content.start)]
            .trim_end_matches([' ', '\t', '\r', '\n']);
        // An empty block scalar ends with its header (its content range may start on the next
        // line, after the line break).
        let mut content_end = if text.is_empty() {
            header_end.min(self.source.len())
        } else {
            content.start + text.len()
        };
        if self.source[header..header_end.min(self.source.len())].contains('+') {
            // Keep chomping: the blank lines after the last text are content too.
            content_end = self.after_blank_lines(content_end);
        }
        (header, content_end.max(header_end.min(self.source.len())))
    }

    /// `at` (the end of a line's text) moved to the end of the blank lines that follow it
    /// (each ended by a line break).
    fn after_blank_lines(&self, mut at: usize) -> usize {
        let lines = Lines::new(self.source);
        loop {
            let next = lines.next(at);
            let blank = lines.line(next).trim_matches([' ', '\t']).is_empty();
            if next == at || !blank || lines.end(next) == self.source.len() {
                return at;
            }
            at = lines.end(next);
        }
    }

    /// The `:` after a key, if only blanks separate them.
    fn colon_after(&self, key_end: usize) -> Option<usize> {
        let rest = &self.source[key_end..];
        let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        (rest.as_bytes().get(skipped) == Some(&b':')).then_some(key_end + skipped)
    }

    /// The `?` of an explicit key written on the key's line (`? key`).
    fn explicit_key_before(&self, key_start: usize) -> Option<usize> {
        let before = self.source[..key_start].trim_end_matches([' ', '\t']);
        before.ends_with('?').then(|| before.len() - 1)
    }

    /// The indicator (`-` of a block sequence item, `?` of an explicit key) right before a
    /// node: the last token before it, across blanks, line breaks and comments.
    fn indicator_before(&self, node_start: usize, indicator: char) -> Option<usize> {
        let mut end = node_start;
        loop {
            let before = self.source[..end].trim_end_matches([' ', '\t', '\r', '\n']);
            let line_start = Lines::new(before).start(before.len());
            let code = without_comment(&before[line_start..]).trim_end();
            if code.is_empty() {
                if line_start == 0 {
                    return None;
                }
                end = line_start;
                continue;
            }
            return code
                .ends_with(indicator)
                .then(|| line_start + code.len() - 1);
        }
    }
}

fn props_start(start: usize, anchor_start: Option<usize>, tag_start: Option<usize>) -> usize {
    [Some(start), anchor_start, tag_start]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(start)
}
