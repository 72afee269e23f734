//! The only module that sees granit-parser types: it turns the parser's events into our own
//! [`Event`]s with plain byte ranges, and its errors into [`Error`]s.
//!
//! Why granit-parser (CRATES.md): it reports exact byte offsets (also on non-ASCII input), start
//! and end of every event, block/flow style, and anchor names; and, like kubectl and PyYAML, it
//! accepts a flow sequence closed at its key's indentation, which yaml-rust2 and saphyr-parser
//! reject. Keeping it behind this adapter keeps a parser switch cheap.

use std::borrow::Cow;
use std::ops::Range;

use granit_parser::{Event as RawEvent, Parser, ScalarStyle, StructureStyle, Tag};

use super::error::Error;

/// How a scalar is written in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

/// A tag that changes how a scalar resolves. Only the YAML core tags matter to Kubernetes;
/// everything else is `Other` (go-yaml v2 reads such scalars as strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScalarTag {
    Str,
    /// `!!bool`, `!!int`, `!!float`, `!!null`, `!!timestamp`: resolved like a plain scalar.
    Resolvable,
    Other,
}

/// One parser event, stripped to what the span tree needs.
#[derive(Debug)]
pub(crate) enum Event<'a> {
    DocumentStart,
    DocumentEnd,
    MappingStart {
        flow: bool,
        anchor: usize,
    },
    MappingEnd,
    SequenceStart {
        flow: bool,
        anchor: usize,
    },
    SequenceEnd,
    Scalar {
        value: Cow<'a, str>,
        style: Style,
        anchor: usize,
        tag: Option<ScalarTag>,
    },
    Alias {
        anchor: usize,
    },
    /// The name of anchor `id`, following the anchored node's event.
    Anchor {
        id: usize,
        name: Cow<'a, str>,
    },
}

/// An event with its byte range in the source and, for tagged nodes, where the tag starts.
#[derive(Debug)]
pub(crate) struct Spanned<'a> {
    pub(crate) event: Event<'a>,
    pub(crate) range: Range<usize>,
    pub(crate) tag_start: Option<usize>,
}

/// Iterates over the events of `source`. Comments are not requested: the editor reads them from
/// the text, where their lines and columns are exact.
pub(crate) fn events(source: &str) -> impl Iterator<Item = Result<Spanned<'_>, Error>> + '_ {
    let options = granit_parser::options! { emit_anchor_events: true, emit_comments: false };
    Parser::new_from_str_with_options(source, options).filter_map(move |next| {
        let (raw, span) = match next {
            Ok(pair) => pair,
            Err(error) => {
                let offset = error.marker().byte_offset().unwrap_or(source.len());
                return Some(Err(Error::at(source, offset, error.kind().to_string())));
            }
        };
        let range = span
            .byte_range()
            .expect("a parser built from &str should report byte offsets");
        let tag_start = span.tag_start().and_then(|marker| marker.byte_offset());
        let event = match raw {
            RawEvent::DocumentStart(..) => Event::DocumentStart,
            RawEvent::DocumentEnd => Event::DocumentEnd,
            RawEvent::MappingStart(style, anchor, _) => Event::MappingStart {
                flow: style == StructureStyle::Flow,
                anchor,
            },
            RawEvent::MappingEnd => Event::MappingEnd,
            RawEvent::SequenceStart(style, anchor, _) => Event::SequenceStart {
                flow: style == StructureStyle::Flow,
                anchor,
            },
            RawEvent::SequenceEnd => Event::SequenceEnd,
            RawEvent::Scalar(value, style, anchor, tag) => Event::Scalar {
                value,
                style: match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                },
                anchor,
                tag: tag.map(|tag| scalar_tag(&tag)),
            },
            RawEvent::Alias(anchor) => Event::Alias { anchor },
            RawEvent::Anchor(id, name) => Event::Anchor { id, name },
            // Stream markers carry nothing; comments are not requested; unresolved aliases are
            // not requested (an unknown anchor is a parse error).
            _ => return None,
        };
        Some(Ok(Spanned {
            event,
            range,
            tag_start,
        }))
    })
}

fn scalar_tag(tag: &Tag) -> ScalarTag {
    if tag.handle() != "tag:yaml.org,2002:" {
        return ScalarTag::Other;
    }
    match tag.suffix() {
        "str" => ScalarTag::Str,
        "bool" | "int" | "float" | "null" | "timestamp" => ScalarTag::Resolvable,
        _ => ScalarTag::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(source: &str) -> Vec<(String, Range<usize>)> {
        events(source)
            .map(|event| {
                let event = event.unwrap();
                (format!("{:?}", event.event), event.range)
            })
            .collect()
    }

    #[test]
    fn byte_offsets_are_exact_after_non_ascii_and_crlf() {
        let source = "a: héllo 日本\r\nb: c\r\n";
        let events = ranges(source);
        let c = events
            .iter()
            .find(|(event, _)| event.contains("\"c\""))
            .unwrap();
        assert_eq!(&source[c.1.clone()], "c");
    }

    #[test]
    fn bom_is_skipped() {
        let source = "\u{feff}a: b\n";
        let events = ranges(source);
        let a = events
            .iter()
            .find(|(event, _)| event.contains("\"a\""))
            .unwrap();
        assert_eq!(a.1, 3..4);
    }

    #[test]
    fn errors_carry_the_parser_reason_and_position() {
        let source = "a:\n\tb: 1\n";
        let error = events(source).find_map(Result::err).unwrap();
        assert_eq!((error.line, error.column), (2, 2));
        assert!(error.message.contains("tab"), "{}", error.message);
    }
}
