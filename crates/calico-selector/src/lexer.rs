//! Tokenizer for the selector language.
//!
//! The lexer is pulled one token at a time by the parser so that parsing never
//! materialises a token vector (a pathological input such as a megabyte of `!`
//! would otherwise cost tens of bytes of memory per input byte).  Calico
//! tokenizes the whole input before parsing, so a tokenizer error anywhere in
//! the input wins over a grammar error earlier in it; the parser reproduces that
//! by draining the lexer when it hits a grammar error (see `parser.rs`).
//!
//! All slicing happens at byte offsets of ASCII characters (quotes, identifier
//! characters, whitespace), which are always UTF-8 character boundaries, so
//! multibyte characters in string literals or in garbage input cannot cause a
//! slicing panic.

use crate::MAX_LABEL_LENGTH;

/// What a token is, borrowing label names and string bodies from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    Label(&'a str),
    Str(&'a str),
    LBrace,
    RBrace,
    Comma,
    Eq,
    Ne,
    In,
    NotIn,
    Contains,
    StartsWith,
    EndsWith,
    Not,
    All,
    Global,
    Has(&'a str),
    LParen,
    RParen,
    And,
    Or,
    Eof,
}

impl Tok<'_> {
    /// Human-readable description for error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Label(l) => format!("label {l:?}"),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Has(l) => format!("\"has({l})\""),
            Tok::Eof => "end of selector".to_owned(),
            other => format!("{:?}", other.punctuation()),
        }
    }

    fn punctuation(&self) -> &'static str {
        match self {
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::Comma => ",",
            Tok::Eq => "==",
            Tok::Ne => "!=",
            Tok::In => "in",
            Tok::NotIn => "not in",
            Tok::Contains => "contains",
            Tok::StartsWith => "starts with",
            Tok::EndsWith => "ends with",
            Tok::Not => "!",
            Tok::All => "all()",
            Tok::Global => "global()",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::And => "&&",
            Tok::Or => "||",
            Tok::Label(_) | Tok::Str(_) | Tok::Has(_) | Tok::Eof => "",
        }
    }
}

/// A token and the byte offset at which it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub(crate) tok: Tok<'a>,
    pub(crate) pos: usize,
}

/// A tokenizer error: byte offset and reason (without the input echo).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LexError {
    pub(crate) pos: usize,
    pub(crate) reason: String,
}

impl LexError {
    fn new(pos: usize, reason: impl Into<String>) -> Self {
        LexError {
            pos,
            reason: reason.into(),
        }
    }
}

pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    /// Operators are only recognised directly after a label, and labels are
    /// never recognised there: this is the only context the tokenizer keeps.
    /// Holds that label (for the error message) when the last token was one.
    after_label: Option<&'a str>,
}

#[inline]
pub(crate) fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'/' | b'-')
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Lexer {
            src,
            pos: 0,
            after_label: None,
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    fn skip_ws_from(&self, mut i: usize) -> usize {
        let b = self.bytes();
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        i
    }

    fn starts_with_at(&self, i: usize, word: &str) -> bool {
        self.bytes()
            .get(i..)
            .is_some_and(|rest| rest.starts_with(word.as_bytes()))
    }

    /// End of input or a byte that cannot continue an identifier.
    fn word_boundary_at(&self, i: usize) -> bool {
        self.bytes().get(i).is_none_or(|&c| !is_ident_byte(c))
    }

    /// Matches `words` separated (and followed) by optional whitespace, with a
    /// word boundary after the last one; returns the offset after the match.
    fn match_words(&self, start: usize, words: &[&str]) -> Option<usize> {
        let mut i = start;
        for word in words {
            if !self.starts_with_at(i, word) {
                return None;
            }
            i += word.len();
            // Single-word operators must be followed directly by the boundary
            // (`a contains"x"` is fine, `a containsx` is not); multi-word ones
            // skip whitespace after every word, trailing included, as Calico does.
            if words.len() > 1 {
                i = self.skip_ws_from(i);
            }
        }
        self.word_boundary_at(i).then_some(i)
    }

    /// Scans an identifier at `start`: returns its end offset.
    fn identifier(&self, start: usize) -> Result<usize, LexError> {
        let b = self.bytes();
        let mut end = start;
        while end < b.len() && is_ident_byte(b[end]) {
            end += 1;
        }
        let len = end - start;
        if len == 0 {
            return Err(LexError::new(start, "expected identifier"));
        }
        if len > MAX_LABEL_LENGTH {
            let shown = &self.src[start..start + 32];
            return Err(LexError::new(
                start,
                format!(
                    "label too long: {shown}... is {len} bytes, the maximum is {MAX_LABEL_LENGTH}"
                ),
            ));
        }
        Ok(end)
    }

    /// `name(` ws* `)` for the argument-less functions `all()` / `global()`.
    fn empty_call(&mut self, start: usize, name: &str, tok: Tok<'a>) -> Result<Tok<'a>, LexError> {
        let i = self.skip_ws_from(start + name.len() + 1);
        if self.bytes().get(i) == Some(&b')') {
            self.pos = i + 1;
            Ok(tok)
        } else {
            Err(LexError::new(i, format!("no closing ')' after {name}(")))
        }
    }

    fn operator(&mut self, start: usize, label: &str) -> Result<Tok<'a>, LexError> {
        const OPS: [(&[&str], Tok<'static>); 5] = [
            (&["contains"], Tok::Contains),
            (&["starts", "with"], Tok::StartsWith),
            (&["ends", "with"], Tok::EndsWith),
            (&["not", "in"], Tok::NotIn),
            (&["in"], Tok::In),
        ];
        for (words, tok) in OPS {
            if let Some(end) = self.match_words(start, words) {
                self.pos = end;
                return Ok(tok);
            }
        }
        Err(LexError::new(
            start,
            format!("expected operator after label {label:?}"),
        ))
    }

    /// A function token or a label (anything else is an error).
    fn word(&mut self, start: usize) -> Result<Tok<'a>, LexError> {
        if self.starts_with_at(start, "has(") {
            let ident_start = self.skip_ws_from(start + 4);
            let ident_end = self.identifier(ident_start)?;
            let close = self.skip_ws_from(ident_end);
            if self.bytes().get(close) != Some(&b')') {
                return Err(LexError::new(close, "no closing ')' after has("));
            }
            self.pos = close + 1;
            Ok(Tok::Has(&self.src[ident_start..ident_end]))
        } else if self.starts_with_at(start, "all(") {
            self.empty_call(start, "all", Tok::All)
        } else if self.starts_with_at(start, "global(") {
            self.empty_call(start, "global", Tok::Global)
        } else {
            let end = self.identifier(start)?;
            self.pos = end;
            Ok(Tok::Label(&self.src[start..end]))
        }
    }

    pub(crate) fn next_token(&mut self) -> Result<Token<'a>, LexError> {
        let start = self.skip_ws_from(self.pos);
        let b = self.bytes();
        let Some(&c) = b.get(start) else {
            self.pos = start;
            return Ok(Token {
                tok: Tok::Eof,
                pos: start,
            });
        };
        let next = b.get(start + 1).copied();
        self.pos = start + 1;
        let tok = match c {
            b'(' => Tok::LParen,
            b')' => Tok::RParen,
            b'{' => Tok::LBrace,
            b'}' => Tok::RBrace,
            b',' => Tok::Comma,
            b'"' | b'\'' => {
                let body_start = start + 1;
                let Some(len) = b[body_start..].iter().position(|&x| x == c) else {
                    return Err(LexError::new(start, "unterminated string"));
                };
                self.pos = body_start + len + 1;
                Tok::Str(&self.src[body_start..body_start + len])
            }
            b'=' if next == Some(b'=') => {
                self.pos = start + 2;
                Tok::Eq
            }
            b'=' => return Err(LexError::new(start, "expected ==")),
            b'!' if next == Some(b'=') => {
                self.pos = start + 2;
                Tok::Ne
            }
            b'!' => Tok::Not,
            b'&' if next == Some(b'&') => {
                self.pos = start + 2;
                Tok::And
            }
            b'&' => return Err(LexError::new(start, "expected &&")),
            b'|' if next == Some(b'|') => {
                self.pos = start + 2;
                Tok::Or
            }
            b'|' => return Err(LexError::new(start, "expected ||")),
            _ => match self.after_label {
                Some(label) => self.operator(start, label)?,
                None => self.word(start)?,
            },
        };
        self.after_label = match tok {
            Tok::Label(l) => Some(l),
            _ => None,
        };
        Ok(Token { tok, pos: start })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Tokenizes the whole input, for table tests.
    fn tokenize(input: &str) -> Result<Vec<Tok<'_>>, LexError> {
        let mut lexer = Lexer::new(input);
        let mut out = Vec::new();
        loop {
            let t = lexer.next_token()?;
            out.push(t.tok);
            if t.tok == Tok::Eof {
                return Ok(out);
            }
        }
    }

    use Tok::*;

    #[test]
    fn calico_tokenizer_vectors() {
        let cases: Vec<(&str, Vec<Tok>)> = vec![
            (r#"a=="b""#, vec![Label("a"), Eq, Str("b"), Eof]),
            (
                r#"label == "value""#,
                vec![Label("label"), Eq, Str("value"), Eof],
            ),
            (
                r#"label contains "value""#,
                vec![Label("label"), Contains, Str("value"), Eof],
            ),
            (
                r#"contains contains "contains""#,
                vec![Label("contains"), Contains, Str("contains"), Eof],
            ),
            (
                "contains contains 'contains'",
                vec![Label("contains"), Contains, Str("contains"), Eof],
            ),
            (
                r#"label contains"value""#,
                vec![Label("label"), Contains, Str("value"), Eof],
            ),
            (
                r#"label startswith "value""#,
                vec![Label("label"), StartsWith, Str("value"), Eof],
            ),
            (
                r#"label endswith "value""#,
                vec![Label("label"), EndsWith, Str("value"), Eof],
            ),
            (
                r#"label starts with "value""#,
                vec![Label("label"), StartsWith, Str("value"), Eof],
            ),
            (
                r#"startswith starts with "value""#,
                vec![Label("startswith"), StartsWith, Str("value"), Eof],
            ),
            (
                r#"label ends with "value""#,
                vec![Label("label"), EndsWith, Str("value"), Eof],
            ),
            (
                r#"endswith ends with "value""#,
                vec![Label("endswith"), EndsWith, Str("value"), Eof],
            ),
            (
                r#"label starts  with "value""#,
                vec![Label("label"), StartsWith, Str("value"), Eof],
            ),
            (
                "label ends \t with \"value\"",
                vec![Label("label"), EndsWith, Str("value"), Eof],
            ),
            (
                r#"a not in "bar" && !has(foo) || b in c"#,
                vec![
                    Label("a"),
                    NotIn,
                    Str("bar"),
                    And,
                    Not,
                    Has("foo"),
                    Or,
                    Label("b"),
                    In,
                    Label("c"),
                    Eof,
                ],
            ),
            ("has(calico/k8s_ns)", vec![Has("calico/k8s_ns"), Eof]),
            (
                "has(calico/k8s_ns/role)",
                vec![Has("calico/k8s_ns/role"), Eof],
            ),
            (
                "has(calico/k8s_NS-.1/role)",
                vec![Has("calico/k8s_NS-.1/role"), Eof],
            ),
            (
                r#"calico/k8s_ns == "kube-system" && k8s-app == "kube-dns""#,
                vec![
                    Label("calico/k8s_ns"),
                    Eq,
                    Str("kube-system"),
                    And,
                    Label("k8s-app"),
                    Eq,
                    Str("kube-dns"),
                    Eof,
                ],
            ),
            (
                r#"a  not  in  "bar"  &&  ! has( foo )  ||  b  in  c "#,
                vec![
                    Label("a"),
                    NotIn,
                    Str("bar"),
                    And,
                    Not,
                    Has("foo"),
                    Or,
                    Label("b"),
                    In,
                    Label("c"),
                    Eof,
                ],
            ),
            (
                r#"a notin"bar"&&!has(foo)||b in"c""#,
                vec![
                    Label("a"),
                    NotIn,
                    Str("bar"),
                    And,
                    Not,
                    Has("foo"),
                    Or,
                    Label("b"),
                    In,
                    Str("c"),
                    Eof,
                ],
            ),
            ("a not in {}", vec![Label("a"), NotIn, LBrace, RBrace, Eof]),
            (
                r#"a not in {"a"}"#,
                vec![Label("a"), NotIn, LBrace, Str("a"), RBrace, Eof],
            ),
            (
                r#"a not in {"a","B"}"#,
                vec![
                    Label("a"),
                    NotIn,
                    LBrace,
                    Str("a"),
                    Comma,
                    Str("B"),
                    RBrace,
                    Eof,
                ],
            ),
            ("global()", vec![Global, Eof]),
            ("all()", vec![All, Eof]),
            ("all( \t)", vec![All, Eof]),
            ("global(  )", vec![Global, Eof]),
            // `all ()` is the label `all` followed by a parenthesis.
            ("all ()", vec![Label("all"), LParen, RParen, Eof]),
            ("", vec![Eof]),
            (" \t ", vec![Eof]),
            ("!=", vec![Ne, Eof]),
            ("! !", vec![Not, Not, Eof]),
        ];
        for (input, expected) in cases {
            assert_eq!(tokenize(input).unwrap(), expected, "input {input:?}");
        }
    }

    #[test]
    fn strings_have_no_escapes() {
        assert_eq!(
            tokenize(r#"a == "it's""#).unwrap(),
            vec![Label("a"), Eq, Str("it's"), Eof]
        );
        assert_eq!(
            tokenize(r#"a == 'say "hi"'"#).unwrap(),
            vec![Label("a"), Eq, Str(r#"say "hi""#), Eof]
        );
        assert_eq!(
            tokenize(r#"a == "back\slash""#).unwrap(),
            vec![Label("a"), Eq, Str(r"back\slash"), Eof]
        );
        // Multibyte characters and newlines are fine inside strings.
        assert_eq!(
            tokenize("a == \"é\n☃\"").unwrap(),
            vec![Label("a"), Eq, Str("é\n☃"), Eof]
        );
    }

    #[test]
    fn label_length_limit() {
        let ok = "x".repeat(512);
        assert_eq!(tokenize(&ok).unwrap(), vec![Label(&ok), Eof]);
        let too_long = "x".repeat(513);
        let err = tokenize(&too_long).unwrap_err();
        assert!(err.reason.starts_with("label too long"), "{err:?}");
        assert_eq!(err.pos, 0);
        let err = tokenize(&format!("has({too_long})")).unwrap_err();
        assert!(err.reason.starts_with("label too long"), "{err:?}");
        assert_eq!(err.pos, 4);
    }

    #[test]
    fn word_boundaries_after_operators() {
        assert!(tokenize("a inx {}").is_err());
        assert!(tokenize("a containsx 'a'").is_err());
        assert!(tokenize("a startswithx 'a'").is_err());
        assert!(tokenize("a not inx {}").is_err());
        assert_eq!(
            tokenize("a in{}").unwrap(),
            vec![Label("a"), In, LBrace, RBrace, Eof]
        );
        assert_eq!(tokenize("a in").unwrap(), vec![Label("a"), In, Eof]);
        assert_eq!(
            tokenize("in in {}").unwrap(),
            vec![Label("in"), In, LBrace, RBrace, Eof]
        );
        assert_eq!(
            tokenize("not in {}").unwrap(),
            vec![Label("not"), In, LBrace, RBrace, Eof]
        );
        // Punctuation is recognised before operators, so this tokenizes (the
        // parser rejects it).
        assert_eq!(
            tokenize("has (a)").unwrap(),
            vec![Label("has"), LParen, Label("a"), RParen, Eof]
        );
    }

    #[test]
    fn error_table() {
        let cases: &[(&str, usize, &str)] = &[
            ("a = 'b'", 2, "expected =="),
            ("=", 0, "expected =="),
            ("a == 'b' & c", 9, "expected &&"),
            ("a == 'b' | c", 9, "expected ||"),
            ("! =", 2, "expected =="),
            (r#""FOO"#, 0, "unterminated string"),
            (r#""FOO'"#, 0, "unterminated string"),
            ("a == 'FOO", 5, "unterminated string"),
            ("%", 0, "expected identifier"),
            ("a == 'b' && %", 12, "expected identifier"),
            ("\n", 0, "expected identifier"),
            ("é", 0, "expected identifier"),
            ("has()", 4, "expected identifier"),
            ("has( )", 5, "expected identifier"),
            ("has(a", 5, "no closing ')' after has("),
            ("has(a b)", 6, "no closing ')' after has("),
            ("all(", 4, "no closing ')' after all("),
            ("all(x)", 4, "no closing ')' after all("),
            ("global( x", 8, "no closing ')' after global("),
            ("a squiggles 'b'", 2, r#"expected operator after label "a""#),
            (
                "label starts foo 'v'",
                6,
                r#"expected operator after label "label""#,
            ),
            (
                "label ends foo 'v'",
                6,
                r#"expected operator after label "label""#,
            ),
            ("a %", 2, r#"expected operator after label "a""#),
            ("a\n== 'b'", 1, r#"expected operator after label "a""#),
            ("a has(b)", 2, r#"expected operator after label "a""#),
        ];
        for &(input, pos, reason) in cases {
            let err = tokenize(input).unwrap_err();
            assert_eq!(err.reason, reason, "input {input:?}");
            assert_eq!(err.pos, pos, "input {input:?}");
        }
    }
}
