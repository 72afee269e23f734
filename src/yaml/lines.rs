//! Line arithmetic on a source text, the one place that knows what a line break is (LF, CRLF
//! and a lone CR, as YAML allows) and what a column is (characters from the line's start, a
//! leading BOM not counted). The tree builder, the editor, errors and locations use it.

/// A source text seen as lines. Offsets are bytes; every method clamps nothing, so callers pass
/// offsets inside the text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lines<'a> {
    pub(crate) source: &'a str,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(source: &'a str) -> Lines<'a> {
        Lines { source }
    }

    /// The start of the line holding `at`.
    pub(crate) fn start(&self, at: usize) -> usize {
        self.source[..at]
            .rfind(['\n', '\r'])
            .map_or(0, |newline| newline + 1)
    }

    /// The end of the line holding `at`, before its line break.
    pub(crate) fn end(&self, at: usize) -> usize {
        memchr::memchr2(b'\n', b'\r', &self.source.as_bytes()[at..])
            .map_or(self.source.len(), |newline| at + newline)
    }

    /// The start of the line after the one holding `at` (the source's end on the last line).
    pub(crate) fn next(&self, at: usize) -> usize {
        let end = self.end(at);
        match &self.source.as_bytes()[end..] {
            [b'\r', b'\n', ..] => end + 2,
            [] => end,
            _ => end + 1,
        }
    }

    /// The start of the line before the one starting at `line_start` (which must not be 0).
    pub(crate) fn previous(&self, line_start: usize) -> usize {
        // Step over the previous line's break (two bytes for CRLF) to reach that line.
        let break_length = if self.source[..line_start].ends_with("\r\n") {
            2
        } else {
            1
        };
        self.start(line_start - break_length)
    }

    /// The text of the line starting at `line_start`, without its line break.
    pub(crate) fn line(&self, line_start: usize) -> &'a str {
        &self.source[line_start..self.end(line_start)]
    }

    /// 0-based column of `at`, in characters.
    pub(crate) fn column(&self, at: usize) -> usize {
        column_of(&self.source[self.start(at)..at])
    }

    /// Whether only blanks stand before `at` on its line.
    pub(crate) fn first_on_line(&self, at: usize) -> bool {
        self.source[self.start(at)..at]
            .trim_start_matches('\u{feff}')
            .bytes()
            .all(|byte| byte == b' ' || byte == b'\t')
    }

    /// The indentation of the line starting at `line_start` when it holds only a comment.
    pub(crate) fn comment_line(&self, line_start: usize) -> Option<usize> {
        let line = self.line(line_start);
        let rest = line.trim_start_matches(' ');
        rest.starts_with('#').then(|| line.len() - rest.len())
    }

    /// Whether the text's last line has no line break.
    pub(crate) fn ends_without_line_break(&self) -> bool {
        !self.source.ends_with(['\n', '\r'])
    }

    /// The line break the text uses first (`"\n"` when it has none).
    pub(crate) fn line_break(&self) -> &'static str {
        match memchr::memchr2(b'\n', b'\r', self.source.as_bytes()).map(|at| &self.source[at..]) {
            Some(rest) if rest.starts_with("\r\n") => "\r\n",
            Some(rest) if rest.starts_with('\r') => "\r",
            _ => "\n",
        }
    }

    /// `offset` moved back to a character boundary and clamped to the text.
    fn boundary(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.source.len());
        while !self.source.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    /// 1-based line and column of byte `offset` (clamped). Linear in the offset; for errors and
    /// single lookups ([`LineIndex`] answers many).
    pub(crate) fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = self.boundary(offset);
        let before = &self.source[..offset];
        (breaks(before.as_bytes()) + 1, self.column(offset) + 1)
    }
}

/// Columns (characters) of the text between a line's start and a position on it.
fn column_of(before: &str) -> usize {
    before.trim_start_matches('\u{feff}').chars().count()
}

/// Where each line of a text starts, so that many positions are located in logarithmic time.
#[derive(Debug)]
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(source: &str) -> LineIndex {
        let bytes = source.as_bytes();
        let mut starts = vec![0];
        starts.extend(break_ends(bytes));
        LineIndex { starts }
    }

    /// 1-based line and column of byte `offset` of `source` (the text this index was built
    /// from), as [`Lines::line_column`] computes them.
    pub(crate) fn line_column(&self, source: &str, offset: usize) -> (usize, usize) {
        let offset = Lines::new(source).boundary(offset);
        let line = self.starts.partition_point(|&start| start <= offset);
        (line, column_of(&source[self.starts[line - 1]..offset]) + 1)
    }
}

/// The line breaks in `bytes`: LF, CRLF, and a lone CR.
pub(crate) fn breaks(bytes: &[u8]) -> usize {
    break_ends(bytes).count()
}

/// Where each line break of `bytes` ends (a CRLF counts once, at its LF).
fn break_ends(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memchr::memchr2_iter(b'\n', b'\r', bytes)
        .filter(|&at| bytes[at] == b'\n' || bytes.get(at + 1) != Some(&b'\n'))
        .map(|at| at + 1)
}

/// A line without its comment: up to the first `#` at its start or after a blank. (Quoted
/// text is not considered: callers run it only on the few tokens before a node.)
pub(crate) fn without_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let hash = bytes
        .iter()
        .enumerate()
        .find(|&(at, &byte)| byte == b'#' && (at == 0 || matches!(bytes[at - 1], b' ' | b'\t')))
        .map_or(line.len(), |(at, _)| at);
    &line[..hash]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_and_skip_the_bom() {
        let at = |source: &str, offset| Lines::new(source).line_column(offset);
        assert_eq!(at("a: é\nbc", 6), (2, 1));
        assert_eq!(at("é: x", 4), (1, 4));
        assert_eq!(at("\u{feff}a: x", 3), (1, 1));
        assert_eq!(at("ab", 99), (1, 3));
        assert_eq!(at("a\rb\r\nc", 5), (3, 1));
        assert_eq!(at("a\u{e9}", 2), (1, 2), "inside a character: its start");
    }

    #[test]
    fn the_index_agrees_with_scanning_for_every_offset() {
        let source = "\u{feff}a: 1\r\nb: h\u{e9}llo\rc:\n  - \u{65e5}\n\nd: 2";
        let index = LineIndex::new(source);
        // Inside a CRLF (no node starts there) the scan counts the CR as a lone one.
        let inside_crlf = |offset: usize| source.get(offset - 1..=offset) == Some("\r\n");
        for offset in (0..=source.len() + 1).filter(|&offset| offset == 0 || !inside_crlf(offset)) {
            assert_eq!(
                index.line_column(source, offset),
                Lines::new(source).line_column(offset),
                "offset {offset}"
            );
        }
    }

    #[test]
    fn lines_step_over_every_kind_of_break() {
        let lines = Lines::new("a\r\nbb\rc\n# x\n");
        assert_eq!((lines.start(4), lines.end(3), lines.next(3)), (3, 5, 6));
        assert_eq!(lines.next(0), 3);
        assert_eq!(lines.previous(3), 0);
        assert_eq!(lines.previous(6), 3);
        assert_eq!(lines.comment_line(8), Some(0));
        assert_eq!(lines.comment_line(6), None);
        assert_eq!(lines.next(12), 12);
        assert_eq!(lines.line_break(), "\r\n");
        assert_eq!(Lines::new("a\rb").line_break(), "\r");
        assert_eq!(Lines::new("a").line_break(), "\n");
        assert!(Lines::new("a").ends_without_line_break());
    }

    #[test]
    fn comments_end_a_line_only_after_a_blank() {
        assert_eq!(without_comment("a#b # c"), "a#b ");
        assert_eq!(without_comment("# c"), "");
        assert_eq!(without_comment("x:\t#c"), "x:\t");
    }
}
