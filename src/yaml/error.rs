//! [`Error`]: a parse or edit failure pointing at a byte of the input, and the line/column
//! arithmetic it needs (shared with [`super::Stream::location`]).

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

impl Error {
    /// An error at byte `offset` of `source` (clamped to the source and to a char boundary).
    pub(crate) fn at(source: &str, offset: usize, message: impl Into<String>) -> Error {
        let (line, column) = line_column(source, offset);
        Error {
            line,
            column,
            offset: offset.min(source.len()),
            message: message.into(),
        }
    }
}

/// 1-based line and column (in characters, a leading BOM not counted) of byte `offset`.
/// Linear in the offset; used for errors and single lookups only.
pub(crate) fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line_start = before.rfind(['\n', '\r']).map_or(0, |newline| newline + 1);
    let line = line_breaks(before.as_bytes()) + 1;
    let column_text = before[line_start..].trim_start_matches('\u{feff}');
    (line, column_text.chars().count() + 1)
}

/// The byte offsets where lines start (the first is 0), after LF, CRLF and a lone CR.
pub(crate) fn line_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(break_ends(bytes));
    starts
}

/// The line breaks in `bytes`: LF, CRLF, and a lone CR (YAML allows all three).
pub(crate) fn line_breaks(bytes: &[u8]) -> usize {
    break_ends(bytes).count()
}

/// Where each line break of `bytes` ends (a CRLF counts once, at its LF).
fn break_ends(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memchr::memchr2_iter(b'\n', b'\r', bytes)
        .filter(|&at| bytes[at] == b'\n' || bytes.get(at + 1) != Some(&b'\n'))
        .map(|at| at + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_and_skip_the_bom() {
        assert_eq!(line_column("a: é\nbc", 6), (2, 1));
        assert_eq!(line_column("é: x", 4), (1, 4));
        assert_eq!(line_column("\u{feff}a: x", 3), (1, 1));
        assert_eq!(line_column("ab", 99), (1, 3));
        assert_eq!(line_column("a\rb\r\nc", 5), (3, 1));
    }
}
