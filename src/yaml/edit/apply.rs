//! Applying splices to the source: the one place that writes the new text of a document.

use super::Edit;
use crate::yaml::error::Error;

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
            return Err(Error::internal(source, splice.start, "overlapping edits"));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::edit::Splice;

    fn edit(splices: &[(usize, usize, &str)], trim_final_line_break: bool) -> Edit {
        Edit {
            splices: splices
                .iter()
                .map(|&(start, end, text)| Splice {
                    start,
                    end,
                    text: text.to_owned(),
                })
                .collect(),
            trim_final_line_break,
        }
    }

    #[test]
    fn splices_apply_in_source_order_within_the_range() {
        let source = "a: 1\nb: 2\nc: 3\n";
        let mut splices = edit(&[(8, 9, "9"), (3, 4, "7"), (5, 5, "x: 0\n")], false);
        assert_eq!(
            apply(source, 0..10, &mut splices).unwrap(),
            "a: 7\nx: 0\nb: 9\n"
        );
    }

    #[test]
    fn overlapping_splices_are_an_internal_error() {
        let mut splices = edit(&[(0, 3, "x"), (2, 4, "y")], false);
        let error = apply("abcdef", 0..6, &mut splices).unwrap_err();
        assert!(error
            .message
            .starts_with("internal error: overlapping edits"));
        assert!(error.message.contains("this is a bug"));
        let mut outside = edit(&[(4, 6, "x")], false);
        assert!(apply("abcdef", 0..5, &mut outside).is_err());
    }

    #[test]
    fn a_removed_last_line_takes_the_line_break_before_it() {
        // `b: 2` (no final line break) removed, `c: 3` appended at the end.
        let source = "a: 1\nb: 2";
        let mut splices = edit(&[(5, 9, ""), (9, 9, "\nc: 3")], true);
        assert_eq!(apply(source, 0..9, &mut splices).unwrap(), "a: 1\nc: 3");
        let mut only_removed = edit(&[(5, 9, "")], true);
        assert_eq!(apply(source, 0..9, &mut only_removed).unwrap(), "a: 1");
    }
}
