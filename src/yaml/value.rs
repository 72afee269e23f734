//! Resolution of the span tree to `serde_json::Value`, the way the API server reads YAML:
//! sigs.k8s.io/yaml's `YAMLToJSON` on go-yaml v2 (YAML 1.1 rules).
//!
//! Choices, each what go-yaml v2 + sigs.k8s.io/yaml do, so that what we check and edit is what
//! the cluster stores:
//! - Booleans: `y Y yes Yes YES true True TRUE on On ON` are `true`, the `n`/`no`/`false`/`off`
//!   spellings `false`. Even `y`/`n`: go-yaml v2's table has them, and `YAMLToJSON` keeps the
//!   bool (`kubectl` then rejects `y` in a string field, as the cluster would).
//! - Null: empty, `~`, `null`, `Null`, `NULL`.
//! - Integers: Go's `ParseInt(s, 0, 64)` after removing `_`: `0x1F`, `0o17`, `0b101`, and a
//!   leading `0` means octal (`0755` is 493); too big for i64 but fits u64 stays an integer.
//! - Floats: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` and `.inf`/`.nan` spellings.
//!   A float with an integral value below 1e21 becomes a JSON integer (Go's `json.Marshal`
//!   writes `8.0` as `8`, and the API server decodes that JSON). NaN and infinities cannot be
//!   JSON: an error, as `YAMLToJSON` fails on them.
//! - Timestamps stay strings (go-yaml v2 keeps them strings when decoding into `interface{}`).
//! - Tags: `!!str` forces a string; `!!int`, `!!bool`, `!!float`, `!!null`, `!!timestamp` resolve
//!   like plain scalars; other tags (`!foo`, `!!binary`) leave the text as a string.
//! - Merge keys `<<` (a mapping, an alias of one, or a sequence of them, earlier ones winning)
//!   and explicit keys are applied in document order, later writes winning: go-yaml v2 does so
//!   (an explicit key before `<<` is overwritten by the merge).
//! - Duplicate keys: the last one wins. That is what the API server's YAML-to-JSON conversion
//!   does (go-yaml v2 non-strict decoding); `kubectl apply --validate=strict` only warns or
//!   errors client-side, and the corpus holds real manifests with duplicates that clusters run.
//! - Non-string keys become strings as sigs.k8s.io/yaml makes them (`1: a` is `{"1": "a"}`,
//!   `true: a` is `{"true": "a"}`).

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use std::borrow::Cow;

use super::error::Error;
use super::events::{ScalarTag, Style};
use super::tree::{Kind, Node, Tree};

/// At most this many values may be produced by alias expansion in one document, against
/// "billion laughs" inputs.
const MAX_ALIAS_EXPANSION: usize = 1_000_000;

/// The resolution of a plain scalar.
#[derive(Debug, PartialEq)]
pub(crate) enum Plain {
    Value(Value),
    Merge,
    /// `.nan` or an infinity: valid YAML, not representable in JSON.
    NotJson,
}

/// Resolves a plain (unquoted, untagged) scalar per go-yaml v2.
pub(crate) fn resolve_plain(text: &str) -> Plain {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Plain::Value(Value::Null),
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Plain::Value(Value::Bool(true))
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Plain::Value(Value::Bool(false))
        }
        ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF"
        | "-.inf" | "-.Inf" | "-.INF" => return Plain::NotJson,
        "<<" => return Plain::Merge,
        _ => {}
    }
    let first = text.as_bytes()[0];
    if first.is_ascii_digit() || first == b'+' || first == b'-' {
        let digits: String = text.chars().filter(|&c| c != '_').collect();
        if let Some(number) = parse_go_int(&digits) {
            return Plain::Value(Value::Number(number));
        }
        if is_yaml_float(&digits) {
            if let Ok(float) = digits.parse::<f64>() {
                return float_value(float);
            }
        }
    } else if first == b'.' {
        if let Ok(float) = text.parse::<f64>() {
            if is_yaml_float(text) {
                return float_value(float);
            }
        }
    }
    Plain::Value(Value::String(text.to_owned()))
}

fn float_value(float: f64) -> Plain {
    if !float.is_finite() {
        return Plain::NotJson;
    }
    Plain::Value(Value::Number(json_number(float)))
}

/// A float as the API server sees it after Go's `json.Marshal`: integral values under 1e21 are
/// integers.
fn json_number(float: f64) -> Number {
    if float.fract() == 0.0 && float.abs() < 1e21 {
        if float >= i64::MIN as f64 && float < i64::MAX as f64 {
            return Number::from(float as i64);
        }
        if float >= 0.0 && float < u64::MAX as f64 {
            return Number::from(float as u64);
        }
    }
    Number::from_f64(float).expect("finite floats should be JSON numbers")
}

/// Go's `strconv.ParseInt(s, 0, 64)`, falling back to `ParseUint`.
fn parse_go_int(text: &str) -> Option<Number> {
    let (negative, unsigned) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) =
        if let Some(rest) = unsigned.strip_prefix("0x").or(unsigned.strip_prefix("0X")) {
            (16, rest)
        } else if let Some(rest) = unsigned.strip_prefix("0o").or(unsigned.strip_prefix("0O")) {
            (8, rest)
        } else if let Some(rest) = unsigned.strip_prefix("0b").or(unsigned.strip_prefix("0B")) {
            (2, rest)
        } else if unsigned.len() > 1 && unsigned.starts_with('0') {
            (8, &unsigned[1..])
        } else {
            (10, unsigned)
        };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        if magnitude <= i64::MAX as u64 {
            Some(Number::from(-(magnitude as i64)))
        } else if magnitude == i64::MAX as u64 + 1 {
            Some(Number::from(i64::MIN))
        } else {
            None
        }
    } else {
        Some(Number::from(magnitude))
    }
}

/// go-yaml v2's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut at = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
    let digits = |at: &mut usize| {
        let from = *at;
        while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
            *at += 1;
        }
        *at - from
    };
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        if digits(&mut at) == 0 {
            return false;
        }
    } else {
        if digits(&mut at) == 0 {
            return false;
        }
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            digits(&mut at);
        }
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'-' | b'+')) {
            at += 1;
        }
        if digits(&mut at) == 0 {
            return false;
        }
    }
    at == bytes.len()
}

/// The value of a scalar node as written.
pub(crate) fn scalar(text: &str, style: Style, tag: Option<ScalarTag>) -> Plain {
    match (style, tag) {
        (_, Some(ScalarTag::Str | ScalarTag::Other)) => {
            Plain::Value(Value::String(text.to_owned()))
        }
        (Style::Plain, None) | (_, Some(ScalarTag::Resolvable)) => resolve_plain(text),
        _ => Plain::Value(Value::String(text.to_owned())),
    }
}

/// The JSON object key a resolved key value becomes.
pub(crate) fn key_string(key: &Value) -> Option<String> {
    match key {
        Value::String(text) => Some(text.clone()),
        Value::Null => Some("null".to_owned()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Number(number) => Some(number.to_string()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// Whether a key node is the merge key `<<` (plain, untagged).
pub(crate) fn is_merge_key(key: &Node, source: &str) -> bool {
    matches!(&key.kind, Kind::Scalar { text, style: Style::Plain, tag: None } if text.get(source) == "<<")
}

/// The JSON key of a scalar key node, `None` for aliases and collections used as keys. Borrowed
/// when the text is the key as written (quoted, or a plain word that resolves to a string), as
/// almost every Kubernetes key is.
pub(crate) fn scalar_key<'a>(key: &'a Node, source: &'a str) -> Option<Cow<'a, str>> {
    match &key.kind {
        Kind::Scalar { text, style, tag } => {
            let written = text.get(source);
            let verbatim = match (style, tag) {
                (Style::Plain, None) => written.as_bytes().first().is_some_and(|first| {
                    // Every special plain word (`yes`, `null`, ...) is five letters at most.
                    first.is_ascii_alphabetic()
                        && (written.len() > 5
                            || matches!(resolve_plain(written), Plain::Value(Value::String(_))))
                }),
                (_, None) => true,
                _ => false,
            };
            if verbatim {
                return Some(Cow::Borrowed(written));
            }
            match scalar(written, *style, *tag) {
                Plain::Value(value) => key_string(&value).map(Cow::Owned),
                Plain::Merge => Some(Cow::Borrowed("<<")),
                Plain::NotJson => Some(Cow::Borrowed(written)),
            }
        }
        _ => None,
    }
}

/// Converts one document's tree to its value.
pub(crate) fn to_value(source: &str, tree: &Tree) -> Result<Value, Error> {
    let mut converter = Converter {
        source,
        tree,
        anchors: HashMap::new(),
        expanded: 0,
    };
    converter.value(&tree.root)
}

struct Converter<'a> {
    source: &'a str,
    tree: &'a Tree,
    anchors: HashMap<usize, (Value, usize)>,
    expanded: usize,
}

impl Converter<'_> {
    fn error(&self, node: &Node, message: impl Into<String>) -> Error {
        Error::at(self.source, node.start, message)
    }

    fn value(&mut self, node: &Node) -> Result<Value, Error> {
        let before = self.expanded;
        let value = match &node.kind {
            Kind::Scalar { text, style, tag } => {
                match scalar(text.get(self.source), *style, *tag) {
                    Plain::Value(value) => value,
                    Plain::Merge => Value::String("<<".to_owned()),
                    Plain::NotJson => {
                        return Err(self.error(
                            node,
                            format!(
                                "`{}` (NaN or infinity) cannot be represented in JSON",
                                text.get(self.source)
                            ),
                        ))
                    }
                }
            }
            Kind::Alias { anchor } => {
                let (value, size) = self.anchors.get(anchor).ok_or_else(|| {
                    self.error(node, "alias to an anchor that is not yet complete")
                })?;
                let value = value.clone();
                self.expanded += size;
                if self.expanded > MAX_ALIAS_EXPANSION {
                    return Err(self.error(node, "aliases expand to more than 1000000 values"));
                }
                value
            }
            Kind::Seq { items, .. } => Value::Array(
                items
                    .iter()
                    .map(|item| self.value(&item.node))
                    .collect::<Result<_, _>>()?,
            ),
            Kind::Map { entries, .. } => {
                let mut object = Map::new();
                for entry in entries {
                    if is_merge_key(&entry.key, self.source) {
                        self.merge(&entry.value, &mut object)?;
                        continue;
                    }
                    let key = match self.value(&entry.key)? {
                        Value::String(text) => Some(text),
                        other => key_string(&other),
                    };
                    let key = key.ok_or_else(|| {
                        self.error(&entry.key, "a mapping or sequence cannot be a key in JSON")
                    })?;
                    let value = self.value(&entry.value)?;
                    object.insert(key, value);
                }
                Value::Object(object)
            }
        };
        self.expanded += 1;
        if node.anchor != 0 && self.tree.aliased.contains(&node.anchor) {
            let size = self.expanded - before;
            self.anchors.insert(node.anchor, (value.clone(), size));
        }
        Ok(value)
    }

    /// Applies a merge key's value (a mapping, or a sequence of mappings where earlier ones win).
    fn merge(&mut self, source: &Node, into: &mut Map<String, Value>) -> Result<(), Error> {
        let sources: Vec<&Node> = match &source.kind {
            Kind::Seq { items, .. } => items.iter().rev().map(|item| &item.node).collect(),
            _ => vec![source],
        };
        for node in sources {
            match self.value(node)? {
                Value::Object(merged) => {
                    for (key, value) in merged {
                        into.insert(key, value);
                    }
                }
                _ => {
                    return Err(self.error(
                        node,
                        "a merge key `<<` needs a mapping or a sequence of mappings",
                    ))
                }
            }
        }
        Ok(())
    }
}

/// Equality of JSON values where numbers compare by value (`1` equals `1.0`): the API server
/// reads both the same.
pub(crate) fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || matches!((x.as_f64(), y.as_f64()), (Some(x), Some(y)) if x == y)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, x)| y.get(key).is_some_and(|y| same(x, y)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plain(text: &str) -> Value {
        match resolve_plain(text) {
            Plain::Value(value) => value,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn yaml_1_1_booleans_and_nulls() {
        for text in ["y", "Yes", "on", "ON", "true"] {
            assert_eq!(plain(text), json!(true), "{text}");
        }
        for text in ["n", "NO", "off", "False"] {
            assert_eq!(plain(text), json!(false), "{text}");
        }
        for text in ["", "~", "null", "NULL"] {
            assert_eq!(plain(text), Value::Null, "{text}");
        }
        assert_eq!(plain("yEs"), json!("yEs"));
    }

    #[test]
    fn go_integers_and_floats() {
        assert_eq!(plain("0755"), json!(493));
        assert_eq!(plain("0x1F"), json!(31));
        assert_eq!(plain("0o17"), json!(15));
        assert_eq!(plain("0b101"), json!(5));
        assert_eq!(plain("-12"), json!(-12));
        assert_eq!(plain("+12"), json!(12));
        assert_eq!(plain("1_000"), json!(1000));
        assert_eq!(
            plain("18446744073709551615"),
            json!(18446744073709551615u64)
        );
        assert_eq!(plain("08"), json!(8));
        assert_eq!(plain("1e3"), json!(1000));
        assert_eq!(plain("1.5"), json!(1.5));
        assert_eq!(plain(".5"), json!(0.5));
        assert_eq!(plain("1.2.3"), json!("1.2.3"));
        assert_eq!(plain("0x"), json!("0x"));
        assert_eq!(plain("-"), json!("-"));
        assert_eq!(plain("2001-12-14"), json!("2001-12-14"));
        assert_eq!(resolve_plain(".nan"), Plain::NotJson);
        assert_eq!(resolve_plain("-.Inf"), Plain::NotJson);
        assert_eq!(resolve_plain("<<"), Plain::Merge);
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(same(&json!({"a": [1]}), &json!({"a": [1.0]})));
        assert!(!same(&json!({"a": 1}), &json!({"a": "1"})));
    }
}
