//! Rendering of new values (ones with no source text) in the style around them: block YAML in
//! block context, flow YAML in flow context, JSON in a JSON document; with the document's
//! indentation step, sequence-indent style and line break.
//!
//! Conventions: a rendering's first line carries no indentation (the caller places it); later
//! lines start with the line break and their full indentation; nothing ends with a line break.

use serde_json::{Map, Value};

use super::value::{resolve_plain, Plain};

/// Indentation step when a document shows none (no nested block mapping).
pub(crate) const DEFAULT_STEP: usize = 2;
/// Column of a sequence's `-` relative to its key when a document shows none: kubectl and most
/// Kubernetes documentation write `- ` at the key's column ("indentless").
pub(crate) const DEFAULT_SEQUENCE_OFFSET: usize = 0;

/// How new text is laid out in one document.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    /// Columns between a block mapping's keys and its nested mapping's keys.
    pub(crate) step: usize,
    /// Columns between a key and the `-` of its block sequence value (0: indentless).
    pub(crate) sequence_offset: usize,
    /// `"\n"` or `"\r\n"`, as the file uses.
    pub(crate) line_break: &'static str,
    /// The document is JSON: flow collections render as JSON.
    pub(crate) json: bool,
    /// JSON written on one line with no blank after `:` and `,`: new text adds none either.
    pub(crate) minified: bool,
    /// JSON laid out over lines (pretty-printed): new collections are too.
    pub(crate) json_lines: bool,
    /// The character that indents lines: a tab in tab-indented JSON, else a space (YAML
    /// indents with spaces only).
    pub(crate) indent: char,
    /// New keys are double-quoted, as the keys around them are (always in JSON).
    pub(crate) quoted_keys: bool,
}

impl Layout {
    /// Indentation up to `column` (in characters: a tab counts one).
    pub(crate) fn indent_to(&self, out: &mut String, column: usize) {
        out.extend(std::iter::repeat_n(self.indent, column));
    }

    fn pad(&self, out: &mut String, column: usize) {
        out.push_str(self.line_break);
        self.indent_to(out, column);
    }

    /// The separator between flow elements: `, `, or `,` in minified JSON.
    pub(crate) fn comma(&self) -> &'static str {
        if self.minified {
            ","
        } else {
            ", "
        }
    }

    /// The separator between a flow key and its value: `: `, or `:` in minified JSON.
    fn colon(&self) -> &'static str {
        if self.minified {
            ":"
        } else {
            ": "
        }
    }

    /// A new key, quoted as its siblings are (and as YAML needs).
    fn key(&self, out: &mut String, key: &str, flow: bool) {
        if self.json || self.quoted_keys {
            out.push_str(&Value::String(key.to_owned()).to_string());
        } else {
            out.push_str(&scalar_text(key, flow));
        }
    }

    /// A value after `key:` in block context, the key at `key_column`.
    pub(crate) fn after_colon(&self, out: &mut String, value: &Value, key_column: usize) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                let column = key_column + self.step;
                for (key, value) in map {
                    self.pad(out, column);
                    self.entry(out, key, value, column);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                let column = key_column + self.sequence_offset;
                for item in items {
                    self.pad(out, column);
                    self.item(out, item, column);
                }
            }
            _ => {
                out.push(' ');
                self.inline(out, value);
            }
        }
    }

    /// `key: value` of a block mapping whose keys are at `column`.
    pub(crate) fn entry(&self, out: &mut String, key: &str, value: &Value, column: usize) {
        self.key(out, key, false);
        out.push(':');
        self.after_colon(out, value, column);
    }

    /// `- value` of a block sequence whose `-` is at `dash_column`.
    pub(crate) fn item(&self, out: &mut String, value: &Value, dash_column: usize) {
        out.push('-');
        out.push(' ');
        self.compact(out, value, dash_column + 2);
    }

    /// A value starting on the current line at `column`: block collections continue on the next
    /// lines at that column (`- a: b` / `  c: d`).
    pub(crate) fn compact(&self, out: &mut String, value: &Value, column: usize) {
        match value {
            Value::Object(map) if !map.is_empty() => self.entries(out, map, column),
            Value::Array(items) if !items.is_empty() => {
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        self.pad(out, column);
                    }
                    self.item(out, item, column);
                }
            }
            _ => self.inline(out, value),
        }
    }

    /// The entries of a block mapping at `column`, the first one on the current line.
    pub(crate) fn entries(&self, out: &mut String, map: &Map<String, Value>, column: usize) {
        for (index, (key, value)) in map.iter().enumerate() {
            if index > 0 {
                self.pad(out, column);
            }
            self.entry(out, key, value, column);
        }
    }

    /// A value on one line: a scalar, or a flow collection (JSON in a JSON document).
    pub(crate) fn inline(&self, out: &mut String, value: &Value) {
        if self.json && self.minified {
            out.push_str(&value.to_string());
            return;
        }
        match value {
            Value::Object(map) => {
                out.push('{');
                for (index, (key, value)) in map.iter().enumerate() {
                    if index > 0 {
                        out.push_str(self.comma());
                    }
                    self.flow_entry(out, key, value);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push_str(self.comma());
                    }
                    self.inline(out, item);
                }
                out.push(']');
            }
            Value::String(text) if !self.json => out.push_str(&scalar_text(text, true)),
            other => out.push_str(&other.to_string()),
        }
    }

    /// `key: value` inside a flow mapping (`"key": value` in JSON).
    pub(crate) fn flow_entry(&self, out: &mut String, key: &str, value: &Value) {
        self.key(out, key, true);
        out.push_str(self.colon());
        self.inline(out, value);
    }

    /// A JSON value laid out over lines, its first line at `column` (an entry of a multi-line
    /// JSON collection).
    pub(crate) fn json_pretty(&self, out: &mut String, value: &Value, column: usize) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                out.push('{');
                for (index, (key, value)) in map.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    self.pad(out, column + self.step);
                    self.key(out, key, true);
                    out.push_str(": ");
                    self.json_pretty(out, value, column + self.step);
                }
                self.pad(out, column);
                out.push('}');
            }
            Value::Array(items) if !items.is_empty() => {
                out.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    self.pad(out, column + self.step);
                    self.json_pretty(out, item, column + self.step);
                }
                self.pad(out, column);
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
}

/// A string as a YAML scalar: plain when it reads back as the same string, else double-quoted
/// (JSON string syntax is valid YAML).
pub(crate) fn scalar_text(text: &str, flow: bool) -> std::borrow::Cow<'_, str> {
    if is_plain_safe(text, flow) {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(Value::String(text.to_owned()).to_string())
    }
}

fn is_plain_safe(text: &str, flow: bool) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    if !matches!(resolve_plain(text), Plain::Value(Value::String(_))) {
        return false;
    }
    // `-`, `?` and `:` may start a plain scalar when a non-space follows (`--quiet`).
    let second = text.chars().nth(1);
    let indicator_ok = "-?:".contains(first)
        && second.is_some_and(|c| !(c.is_whitespace() || (flow && ",[]{}".contains(c))));
    if ("-?:,[]{}#&*!|>'\"%@`".contains(first) && !indicator_ok) || first.is_whitespace() {
        return false;
    }
    if text.starts_with("---") {
        return false;
    }
    if text.ends_with([' ', '\t', ':'])
        || text.contains(": ")
        || text.contains(" #")
        || text.starts_with("...")
    {
        return false;
    }
    if flow && text.contains([',', '[', ']', '{', '}']) {
        return false;
    }
    text.chars().all(|c| {
        !c.is_control() && c != '\u{feff}' && c != '\u{2028}' && c != '\u{2029}' && c != '\u{85}'
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LAYOUT: Layout = Layout {
        step: 2,
        sequence_offset: 0,
        line_break: "\n",
        json: false,
        minified: false,
        json_lines: false,
        indent: ' ',
        quoted_keys: false,
    };

    #[test]
    fn strings_that_would_change_type_are_quoted() {
        for text in [
            "yes", "on", "n", "1", "0x1F", "1e3", "null", "~", "", " a", "a: b", "- a", "<<",
            ".inf", "#x",
        ] {
            assert!(scalar_text(text, false).starts_with('"'), "{text}");
        }
        for text in [
            "RuntimeDefault",
            "ALL",
            "a b",
            "a:b",
            "--quiet",
            "2001-12-14x",
            "日本",
        ] {
            assert_eq!(scalar_text(text, false), text);
        }
        assert_eq!(scalar_text("a,b", true), "\"a,b\"");
        assert_eq!(scalar_text("a\nb", false), "\"a\\nb\"");
    }

    #[test]
    fn block_rendering_nests_with_step_and_sequence_offset() {
        let mut out = String::new();
        LAYOUT.entry(
            &mut out,
            "capabilities",
            &json!({"add": [], "drop": ["ALL"]}),
            4,
        );
        assert_eq!(
            out,
            "capabilities:\n      add: []\n      drop:\n      - ALL"
        );
        let indented = Layout {
            step: 4,
            sequence_offset: 4,
            ..LAYOUT
        };
        let mut out = String::new();
        indented.item(&mut out, &json!({"a": 1, "b": [{"c": "d"}]}), 0);
        assert_eq!(out, "- a: 1\n  b:\n      - c: d");
    }

    #[test]
    fn flow_and_json_rendering() {
        let mut out = String::new();
        LAYOUT.inline(&mut out, &json!({"a": ["x", "y,z"], "b": null}));
        assert_eq!(out, "{a: [x, \"y,z\"], b: null}");
        let json = Layout {
            json: true,
            ..LAYOUT
        };
        let mut out = String::new();
        json.json_pretty(&mut out, &json!({"a": [1]}), 2);
        assert_eq!(out, "{\n    \"a\": [\n      1\n    ]\n  }");
    }
}
