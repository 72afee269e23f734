//! Unified diffs of a file before and after fixing.
//!
//! Format: the headers are `--- a/NAME` and `+++ b/NAME` (as `git diff` writes them), so the
//! output applies with `git apply` and with `patch -p1`. A name that leaves the current
//! directory (absolute, or with `..`) is written as `git diff --no-index` writes an absolute
//! one, from the root without its leading `/` (`a/tmp/x.yaml`): both tools refuse `..` in a
//! patch, and take that form from `/` (`git apply --directory`/`patch -d` elsewhere); hunks have three lines of context and
//! come from the patience algorithm, which matches GNU `diff -u` on repeated lines (`- name:`)
//! where Myers does not. CRLF line ends are kept inside the lines; a last line without a newline
//! gets the usual `\ No newline at end of file` marker. Colour is optional ANSI on whole lines.

use similar::{Algorithm, ChangeTag, TextDiff};
use std::io::{self, Write};
use std::path::{Component, Path};

/// Lines of context around each hunk (`diff -u`'s default).
const CONTEXT_LINES: usize = 3;

const BOLD: &str = "\x1b[1m";
const CYAN: &str = "\x1b[36m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const RESET: &str = "\x1b[0m";

/// Writes the unified diff from `old` to `new` of the file shown as `name`; nothing when the
/// texts are equal.
pub fn write(out: &mut dyn Write, name: &str, old: &str, new: &str, color: bool) -> io::Result<()> {
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .diff_lines(old, new);
    let mut unified = diff.unified_diff();
    unified.context_radius(CONTEXT_LINES);
    let paint = |code: &'static str| if color { code } else { "" };
    let reset = if color { RESET } else { "" };
    let name = header_name(name);
    let mut header_written = false;
    for hunk in unified.iter_hunks() {
        if !header_written {
            writeln!(out, "{}--- a/{name}{reset}", paint(BOLD))?;
            writeln!(out, "{}+++ b/{name}{reset}", paint(BOLD))?;
            header_written = true;
        }
        writeln!(out, "{}{}{reset}", paint(CYAN), hunk.header())?;
        for change in hunk.iter_changes() {
            let (sign, code) = match change.tag() {
                ChangeTag::Equal => (' ', ""),
                ChangeTag::Delete => ('-', RED),
                ChangeTag::Insert => ('+', GREEN),
            };
            let line = change.value();
            let (content, end) = split_line_end(line);
            if code.is_empty() {
                write!(out, "{sign}{content}")?;
            } else {
                write!(out, "{}{sign}{content}{reset}", paint(code))?;
            }
            if end.is_empty() {
                write!(out, "\n\\ No newline at end of file\n")?;
            } else {
                out.write_all(end.as_bytes())?;
            }
        }
    }
    Ok(())
}

/// The name in the headers: `./` dropped; a path that leaves the current directory made
/// absolute (against the current directory), normalised, and written from the root.
fn header_name(name: &str) -> String {
    let path = Path::new(name);
    let leaves = path.is_absolute()
        || path
            .components()
            .any(|component| component == Component::ParentDir);
    if !leaves {
        return name.strip_prefix("./").unwrap_or(name).to_owned();
    }
    let absolute = match std::env::current_dir() {
        Ok(current) if !path.is_absolute() => current.join(path),
        _ => path.to_path_buf(),
    };
    let mut parts: Vec<String> = Vec::new();
    for component in absolute.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    parts.join("/")
}

/// Splits a line into its content and its line end (`\n`, `\r\n` or nothing), so colour codes
/// close before the line end and CRLF stays intact.
fn split_line_end(line: &str) -> (&str, &str) {
    let content = line
        .strip_suffix("\r\n")
        .or_else(|| line.strip_suffix('\n'))
        .unwrap_or(line);
    (content, &line[content.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(name: &str, old: &str, new: &str, color: bool) -> String {
        let mut out = Vec::new();
        write(&mut out, name, old, new, color).expect("writes to a vec");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn equal_texts_give_nothing() {
        assert_eq!(diff("a.yaml", "x: 1\n", "x: 1\n", false), "");
    }

    #[test]
    fn headers_hunks_and_context() {
        let old = "a: 1\nb: 2\nc: 3\nd: 4\ne: 5\n";
        let new = "a: 1\nb: 2\nc: 3\nc2: 0\nd: 4\ne: 5\n";
        assert_eq!(
            diff("./dir/a.yaml", old, new, false),
            "--- a/dir/a.yaml\n+++ b/dir/a.yaml\n@@ -1,5 +1,6 @@\n a: 1\n b: 2\n c: 3\n+c2: 0\n d: 4\n e: 5\n"
        );
    }

    #[test]
    fn names_outside_the_current_directory_are_written_from_the_root() {
        assert_eq!(header_name("/tmp/x/a.yaml"), "tmp/x/a.yaml");
        assert_eq!(header_name("/tmp/x/../y/./a.yaml"), "tmp/y/a.yaml");
        let current = std::env::current_dir().unwrap();
        let parent = current.parent().unwrap().join("a.yaml");
        assert_eq!(
            header_name("../a.yaml"),
            parent.to_string_lossy().trim_start_matches('/')
        );
        assert_eq!(header_name("./dir/a.yaml"), "dir/a.yaml");
        assert_eq!(header_name(crate::report::STDIN_NAME), "<stdin>");
    }

    #[test]
    fn crlf_is_kept_and_missing_newline_marked() {
        let out = diff("a.yaml", "a: 1\r\nb: 2", "a: 1\r\nb: 3", false);
        assert_eq!(
            out,
            "--- a/a.yaml\n+++ b/a.yaml\n@@ -1,2 +1,2 @@\n a: 1\r\n-b: 2\n\\ No newline at end of file\n+b: 3\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn colour_wraps_lines_but_not_line_ends() {
        let out = diff("a.yaml", "a: 1\n", "a: 2\n", true);
        assert!(out.contains("\x1b[31m-a: 1\x1b[0m\n"), "{out:?}");
        assert!(out.contains("\x1b[32m+a: 2\x1b[0m\n"), "{out:?}");
        assert!(out.starts_with("\x1b[1m--- a/a.yaml\x1b[0m\n"), "{out:?}");
    }

    #[test]
    fn patience_keeps_repeated_lines_together() {
        // Myers would pair the inserted `- name:` with the first existing one.
        let old = "- name: a\n  x: 1\n- name: b\n  x: 2\n";
        let new = "- name: a\n  x: 1\n  y: 0\n- name: b\n  x: 2\n";
        let out = diff("a.yaml", old, new, false);
        assert!(out.contains("   x: 1\n+  y: 0\n - name: b\n"), "{out}");
    }
}
