//! Values as Go's `fmt` `%v` verb prints them, for the value part of Calico's validation errors.
//! Hand-written to match Go's output byte for byte: a slice is `[a b]`, a map is `map[k:v]` with
//! its keys sorted, a nil pointer is `<nil>`, a pointer to a struct is `&{…}`.

use std::collections::BTreeMap;
use std::fmt::Display;

/// A slice: `[a b c]`.
pub fn slice<T: Display>(items: &[T]) -> String {
    let parts: Vec<String> = items.iter().map(|i| i.to_string()).collect();
    format!("[{}]", parts.join(" "))
}

/// A map of strings: `map[k1:v1 k2:v2]` (Go prints map keys in sorted order).
pub fn string_map(map: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    format!("map[{}]", parts.join(" "))
}

/// An optional value behind a pointer: the value, or `<nil>`.
pub fn opt<T: Display>(value: Option<&T>) -> String {
    value.map_or_else(|| "<nil>".to_string(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(
            slice(&["10.0.0.0/8", "fd00::/64"]),
            "[10.0.0.0/8 fd00::/64]"
        );
        assert_eq!(slice::<String>(&[]), "[]");
        let map: BTreeMap<String, String> = [
            ("b".to_string(), "2".to_string()),
            ("a".to_string(), "1".to_string()),
        ]
        .into();
        assert_eq!(string_map(&map), "map[a:1 b:2]");
        assert_eq!(opt::<u8>(None), "<nil>");
        assert_eq!(opt(Some(&3)), "3");
    }
}
