//! Go's `%q` of strings and of string slices, which the CNI library's messages use.

pub use calico_api::validation::checks::go_quote as quote;

/// `fmt.Sprintf("%q", []string{...})`: `["a" "b"]`.
pub fn quote_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = items.into_iter().map(quote).collect();
    format!("[{}]", quoted.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_as_go_does() {
        assert_eq!(quote("a\"b\\c\n\x01é"), "\"a\\\"b\\\\c\\n\\x01é\"");
        assert_eq!(quote_list(["0.1.0", "1.0.0"]), "[\"0.1.0\" \"1.0.0\"]");
    }
}
