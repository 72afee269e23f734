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

/// Appends `/` and the decimal digits of array index `index` to `pointer` (without the
/// formatting machinery: pointers are made for every finding and every patch operation).
pub fn push_index(pointer: &mut String, index: usize) {
    pointer.push('/');
    push_digits(pointer, index);
}

fn push_digits(pointer: &mut String, index: usize) {
    if index >= 10 {
        push_digits(pointer, index / 10);
    }
    pointer.push(char::from(b'0' + (index % 10) as u8));
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
    raw_tokens(pointer).map(unescape)
}

/// The tokens of `pointer`, still escaped; none when it does not start with `/` (`""`, the
/// whole document). Every lookup splits pointers, and a byte loop finds the ends of tokens
/// this short sooner than `str::split`, which sets up a search for each.
pub fn raw_tokens(pointer: &str) -> RawTokens<'_> {
    RawTokens {
        rest: pointer.strip_prefix('/'),
    }
}

/// See [`raw_tokens`].
pub struct RawTokens<'p> {
    rest: Option<&'p str>,
}

impl<'p> Iterator for RawTokens<'p> {
    type Item = &'p str;

    fn next(&mut self) -> Option<&'p str> {
        let rest = self.rest?;
        match rest.bytes().position(|byte| byte == b'/') {
            Some(end) => {
                self.rest = Some(&rest[end + 1..]);
                Some(&rest[..end])
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// [`raw_tokens`] of a pointer that is `""` or starts with `/`; `None` for any other.
fn checked_tokens(pointer: &str) -> Option<RawTokens<'_>> {
    (pointer.is_empty() || pointer.starts_with('/')).then(|| raw_tokens(pointer))
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
    for token in checked_tokens(pointer)? {
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
    for token in checked_tokens(pointer)? {
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
        push_index(&mut pointer, 120);
        assert_eq!(pointer, "/metadata/annotations/a~1b~0c/0/120");
        assert_eq!(
            tokens(&pointer).collect::<Vec<_>>(),
            ["metadata", "annotations", "a/b~c", "0", "120"]
        );
        assert_eq!(tokens("").count(), 0);
        assert_eq!(raw_tokens("a/b").count(), 0);
        assert_eq!(raw_tokens("/").collect::<Vec<_>>(), [""]);
        assert_eq!(raw_tokens("/a//b~1").collect::<Vec<_>>(), ["a", "", "b~1"]);
        assert_eq!(unescape("~01"), "~1");
    }
}
