//! Upstream message wording helpers: pluralisation, quoted lists, Go `%q` quoting.

/// `singular` for one, `plural` otherwise.
pub fn pluralize<'a>(singular: &'a str, plural: &'a str, count: usize) -> &'a str {
    if count == 1 {
        singular
    } else {
        plural
    }
}

/// `"a", "b"`: items in double quotes, unescaped, as upstream's `joinQuote`.
pub fn join_quote<S: AsRef<str>>(items: &[S]) -> String {
    let mut joined = String::new();
    push_quoted(&mut joined, items);
    joined
}

/// Appends `items` as [`join_quote`] words them (by hand: every violation message has one).
fn push_quoted<S: AsRef<str>>(out: &mut String, items: &[S]) {
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        out.push('"');
        out.push_str(item.as_ref());
        out.push('"');
    }
}

/// `container "a"` or `containers "a", "b"`.
pub fn containers_phrase<S: AsRef<str>>(names: &[S]) -> String {
    let mut phrase = String::from(pluralize("container ", "containers ", names.len()));
    push_quoted(&mut phrase, names);
    phrase
}

/// Who sets a forbidden value, as upstream words it: `pod`, `container "a"`, or
/// `pod and containers "a", "b"`. `None` stands for the pod, `Some(name)` for a container.
pub fn setters_phrase<'a>(owners: impl IntoIterator<Item = Option<&'a str>> + Clone) -> String {
    let mut setters = Vec::new();
    if owners.clone().into_iter().any(|owner| owner.is_none()) {
        setters.push("pod".to_string());
    }
    let names: Vec<&str> = owners.into_iter().flatten().collect();
    if !names.is_empty() {
        setters.push(containers_phrase(&names));
    }
    setters.join(" and ")
}

/// A string literal as Go's `%q` prints it.
pub fn go_quote(text: &str) -> String {
    let mut out = String::from("\"");
    for ch in text.chars() {
        match ch {
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            ' ' => out.push(' '),
            c if !c.is_control() && !c.is_whitespace() => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Sorts and removes duplicates, as upstream's sorted sets do.
pub fn sorted_set(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items.dedup();
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setters_name_the_pod_before_the_containers() {
        assert_eq!(setters_phrase([None]), "pod");
        assert_eq!(setters_phrase([Some("a")]), "container \"a\"");
        assert_eq!(
            setters_phrase([Some("a"), None, Some("b")]),
            "pod and containers \"a\", \"b\""
        );
        assert_eq!(setters_phrase(std::iter::empty()), "");
    }

    #[test]
    fn wording_helpers() {
        assert_eq!(containers_phrase(&["a"]), "container \"a\"");
        assert_eq!(containers_phrase(&["a", "b"]), "containers \"a\", \"b\"");
        assert_eq!(go_quote("un\"conf\tined"), "\"un\\\"conf\\tined\"");
        assert_eq!(
            sorted_set(vec!["b".into(), "a".into(), "b".into()]),
            ["a", "b"]
        );
    }
}
