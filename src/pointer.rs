//! RFC 6901 JSON pointers, shared by the YAML editor, the engine, the config and the KRM
//! output: how a key is escaped into a pointer and read back out, and lookups that allocate
//! nothing (`serde_json`'s own allocate two strings per token). Knows nothing of YAML or of
//! Kubernetes.

use serde_json::Value;
use std::borrow::Cow;

/// Appends `/` and `key` to `pointer`, escaped (`~` as `~0`, `/` as `~1`). The common key that
/// needs no escape is copied as it is.
pub fn push_token(pointer: &mut String, key: &str) {
    pointer.push('/');
    if key.bytes().any(|byte| byte == b'~' || byte == b'/') {
        pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
    } else {
        pointer.push_str(key);
    }
}

/// A reference token unescaped (`~1` as `/`, `~0` as `~`), borrowed when it holds no `~`
/// (almost always).
pub fn unescape(token: &str) -> Cow<'_, str> {
    if token.bytes().any(|byte| byte == b'~') {
        Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
    } else {
        Cow::Borrowed(token)
    }
}

/// The unescaped tokens of `pointer` (`""`, the whole document, has none).
pub fn tokens(pointer: &str) -> impl Iterator<Item = Cow<'_, str>> {
    pointer.split('/').skip(1).map(unescape)
}

/// An array index token as `serde_json`'s pointer reads it: no sign, no leading zero.
pub fn index_token(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}

/// What `value.pointer(pointer)` finds, without its allocation per token.
pub fn lookup<'v>(mut value: &'v Value, pointer: &str) -> Option<&'v Value> {
    if pointer.is_empty() {
        return Some(value);
    }
    for token in pointer.strip_prefix('/')?.split('/') {
        value = match value {
            Value::Object(map) => map.get(unescape(token).as_ref())?,
            Value::Array(items) => items.get(index_token(token)?)?,
            _ => return None,
        };
    }
    Some(value)
}

/// What `value.pointer_mut(pointer)` finds, without its allocation per token.
pub fn lookup_mut<'v>(mut value: &'v mut Value, pointer: &str) -> Option<&'v mut Value> {
    if pointer.is_empty() {
        return Some(value);
    }
    for token in pointer.strip_prefix('/')?.split('/') {
        value = match value {
            Value::Object(map) => map.get_mut(unescape(token).as_ref())?,
            Value::Array(items) => items.get_mut(index_token(token)?)?,
            _ => return None,
        };
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookup_finds_what_serde_json_pointer_finds() {
        let mut value = json!({"a": {"b/c": [1, {"d~e": 2}], "": 3}, "0": 4});
        for pointer in [
            "",
            "/",
            "/a",
            "/a/b~1c",
            "/a/b~1c/1/d~0e",
            "/a/b~1c/01",
            "/a/b~1c/+1",
            "/a/b~1c/2",
            "/a/",
            "/0",
            "a",
            "/a/b~1c/0/x",
            "/missing",
        ] {
            assert_eq!(lookup(&value, pointer), value.pointer(pointer), "{pointer}");
            let expected = value.clone().pointer_mut(pointer).map(|v| v.clone());
            assert_eq!(lookup_mut(&mut value, pointer).map(|v| v.clone()), expected);
        }
    }

    #[test]
    fn tokens_round_trip_through_escaping() {
        let mut pointer = String::new();
        for key in ["metadata", "annotations", "a/b~c", "0"] {
            push_token(&mut pointer, key);
        }
        assert_eq!(pointer, "/metadata/annotations/a~1b~0c/0");
        assert_eq!(
            tokens(&pointer).collect::<Vec<_>>(),
            ["metadata", "annotations", "a/b~c", "0"]
        );
        assert_eq!(tokens("").count(), 0);
        assert_eq!(unescape("~01"), "~1");
    }
}
