//! RFC 6901 reference tokens, shared by the YAML editor, the engine and the KRM output: how a
//! key is escaped into a JSON pointer and read back out. Knows nothing of YAML or of Kubernetes.

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

#[cfg(test)]
mod tests {
    use super::*;

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
