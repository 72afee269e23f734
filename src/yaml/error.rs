//! [`Error`]: a parse or edit failure pointing at a byte of the input, shown as toml_edit shows
//! its errors: the position and reason, then the source line with a caret under the column.

use super::lines::Lines;

/// Where to report a bug: an "internal error" (the editor broke its own invariant) says so.
pub(crate) const REPORT_BUG: &str = "this is a bug in pss-fix: please report it on the \
     project's issue tracker with the input file and the command line";

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
    /// The input's line holding the offending byte, without its line break.
    pub source_line: String,
}

impl Error {
    /// An error at byte `offset` of `source` (clamped to the source and to a char boundary).
    pub(crate) fn at(source: &str, offset: usize, message: impl Into<String>) -> Error {
        let lines = Lines::new(source);
        let offset = offset.min(source.len());
        let (line, column) = lines.line_column(offset);
        let line_start = lines.start(offset);
        Error {
            line,
            column,
            offset,
            message: message.into(),
            source_line: lines
                .line(line_start)
                .trim_start_matches('\u{feff}')
                .to_owned(),
        }
    }

    /// The editor broke one of its own invariants: the message says it is a bug and how to
    /// report it.
    pub(crate) fn internal(source: &str, offset: usize, what: &str) -> Error {
        Error::at(
            source,
            offset,
            format!("internal error: {what}; nothing written ({REPORT_BUG})"),
        )
    }

    /// The source line and a caret under the column, as toml_edit shows them:
    ///
    /// ```text
    ///   |
    /// 3 | {{- with .Values }}
    ///   |  ^
    /// ```
    ///
    /// Tabs in the line are kept, and the caret's padding copies them, so it lines up.
    pub fn snippet(&self) -> String {
        let number = self.line.to_string();
        let gutter = " ".repeat(number.len());
        let padding: String = self
            .source_line
            .chars()
            .take(self.column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!(
            "{gutter} |\n{number} | {}\n{gutter} | {padding}^",
            self.source_line
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snippet_puts_a_caret_under_the_column() {
        let error = Error::at("a: 1\n\tb: é\n", 9, "no");
        assert_eq!((error.line, error.column), (2, 5));
        assert_eq!(error.snippet(), "  |\n2 | \tb: é\n  | \t   ^");
        let error = Error::at("\u{feff}x", 3, "bom");
        assert_eq!(error.snippet(), "  |\n1 | x\n  | ^");
        let end = Error::at("a\n", 2, "end");
        assert_eq!(end.snippet(), "  |\n2 | \n  | ^");
    }

    #[test]
    fn internal_errors_say_they_are_bugs() {
        let error = Error::internal("a", 0, "overlapping edits");
        assert!(error
            .message
            .starts_with("internal error: overlapping edits"));
        assert!(error.message.contains("this is a bug"));
        assert!(error
            .message
            .contains("with the input file and the command line"));
    }
}
