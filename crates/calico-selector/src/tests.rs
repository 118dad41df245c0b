//! Table tests for the grammar, canonical form, error reporting and evaluation
//! rules of the reference (Part A of validation-and-selectors.md).

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};

use super::*;

fn canon(input: &str) -> String {
    match parse(input) {
        Ok(s) => s.canonical(),
        Err(e) => panic!("{input:?} should parse: {e}"),
    }
}

fn err(input: &str) -> ParseError {
    match parse(input) {
        Ok(s) => panic!("{input:?} should not parse, got {s}"),
        Err(e) => e,
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn trailing_comma_in_a_set_is_accepted_as_calico_does() {
    assert_eq!(canon("a in {'x',}"), r#"a in {"x"}"#);
    assert_eq!(canon("a not in {'y', 'x',}"), r#"a not in {"x", "y"}"#);
}

#[test]
fn canonical_forms_from_reference() {
    let cases = [
        ("", "all()"),
        ("   \t ", "all()"),
        (" all() ", "all()"),
        (" (all() )", "all()"),
        ("all( )", "all()"),
        ("global()", "global()"),
        (" global(\t) ", "global()"),
        ("has( b)", "has(b)"),
        ("! (has( b)||! has(a ))", "!(has(b) || !has(a))"),
        (r#"! (a == "b"&&! c != "d")"#, r#"!(a == "b" && !c != "d")"#),
        ("k == 'v' && x == 'y'", r#"(k == "v" && x == "y")"#),
        ("k == 'v' || has(x)", r#"(k == "v" || has(x))"#),
        ("!(k == 'v')", r#"!k == "v""#),
        (
            "!(!(k == 'v' && has(t) || all()) && (a in {'b', 'c'}))",
            r#"!(!((k == "v" && has(t)) || all()) && a in {"b", "c"})"#,
        ),
        (r#"a == "'""#, r#"a == "'""#),
        (r#"a == '"'"#, r#"a == '"'"#),
        (r#"a contains '"'"#, r#"a contains '"'"#),
        (r#"a contains "'""#, r#"a contains "'""#),
        (r#"a startswith '"'"#, r#"a starts with '"'"#),
        (r#"a endswith "'""#, r#"a ends with "'""#),
        (r#"a!='"'"#, r#"a != '"'"#),
        (r#"a in {"d"}"#, r#"a in {"d"}"#),
        (r#"a in {"a", "b"}"#, r#"a in {"a", "b"}"#),
        (r#"a in {"d", "a", "b"}"#, r#"a in {"a", "b", "d"}"#),
        (
            r#"a in {"z", "x", "y", "a"}"#,
            r#"a in {"a", "x", "y", "z"}"#,
        ),
        (
            r#"a in {"z", "z", "x", "y", "x", "a"}"#,
            r#"a in {"a", "x", "y", "z"}"#,
        ),
        ("a in {}", "a in {}"),
        ("a not in {}", "a not in {}"),
        ("a notin{'\"', \"'\"}", r#"a not in {'"', "'"}"#),
        // Byte order, not locale order: upper case sorts first.
        ("a in {'b', 'B', 'a', 'A'}", r#"a in {"A", "B", "a", "b"}"#),
        ("a starts  with ''", r#"a starts with """#),
        ("a ends\twith 'x'", r#"a ends with "x""#),
        // Chains are n-ary and left-to-right; explicit grouping is kept.
        ("has(a) && has(b) && has(c)", "(has(a) && has(b) && has(c))"),
        ("has(a) || has(b) || has(c)", "(has(a) || has(b) || has(c))"),
        (
            "(has(a) && has(b)) && has(c)",
            "((has(a) && has(b)) && has(c))",
        ),
        (
            "has(a) && (has(b) && has(c))",
            "(has(a) && (has(b) && has(c)))",
        ),
        (
            "has(a) && has(b) || has(c) && has(d)",
            "((has(a) && has(b)) || (has(c) && has(d)))",
        ),
        (
            "has(a) || has(b) && has(c)",
            "(has(a) || (has(b) && has(c)))",
        ),
        (
            "(has(a) || has(b)) && has(c)",
            "((has(a) || has(b)) && has(c))",
        ),
        // Runs of `!` collapse.
        ("!!has(a)", "has(a)"),
        ("! ! ! has(a)", "!has(a)"),
        ("!!!!(has(a) || has(b))", "(has(a) || has(b))"),
        ("! a == 'x' || ! b == 'y'", r#"(!a == "x" || !b == "y")"#),
        ("((((has(a)))))", "has(a)"),
        ("!(((has(a))))", "!has(a)"),
        // Keywords are ordinary label names where a label is expected.
        ("in in {'x'}", r#"in in {"x"}"#),
        ("not in {}", "not in {}"),
        (
            "contains contains 'contains'",
            r#"contains contains "contains""#,
        ),
        ("has == 'x'", r#"has == "x""#),
        ("all == 'x'", r#"all == "x""#),
        ("global != 'x'", r#"global != "x""#),
        (
            "calico/k8s_NS-.1/role == 'kube-system'",
            r#"calico/k8s_NS-.1/role == "kube-system""#,
        ),
        // Anything but a quote of the same kind is literal inside strings.
        (r#"a == "x && y || !z""#, r#"a == "x && y || !z""#),
        ("a == 'é ☃\n\t'", "a == \"é ☃\n\t\""),
        (r#"a == 'back\'"#, r#"a == "back\""#),
    ];
    for (input, expected) in cases {
        assert_eq!(canon(input), expected, "input {input:?}");
        // The canonical form is a fixpoint and parses to the same tree.
        assert_eq!(canon(expected), expected, "re-parsing {expected:?}");
        assert_eq!(parse(expected).unwrap(), parse(input).unwrap());
    }
}

#[test]
fn double_negation_of_a_group_cancels() {
    // Calico prints `!!a == "b"` here (and that then re-parses as `a == "b"`);
    // this crate gives the settled form straight away.
    assert_eq!(canon("!(!a == 'b')"), r#"a == "b""#);
    assert_eq!(canon("!(!(has(a) && has(b)))"), "(has(a) && has(b))");
    assert_eq!(canon("!(!(!has(a)))"), "!has(a)");
    assert_eq!(canon("!!(!has(a))"), "!has(a)");
}

#[test]
fn labels_up_to_512_bytes() {
    let ok = "l".repeat(512);
    assert_eq!(canon(&format!("has({ok})")), format!("has({ok})"));
    assert_eq!(canon(&format!("{ok} == 'x'")), format!("{ok} == \"x\""));
    let long = "l".repeat(513);
    for input in [
        format!("has({long})"),
        format!("{long} == 'x'"),
        format!("has(a) && {long} in {{}}"),
    ] {
        let e = err(&input);
        assert!(e.message.contains("label too long"), "{e}");
    }
}

/// Every error of the reference: input, byte position, Calico's wording.
#[test]
fn error_table() {
    let cases: &[(&str, usize, &str)] = &[
        // Tokenizer.
        ("a = 'b'", 2, "expected =="),
        ("a == 'b' & has(c)", 9, "expected &&"),
        ("a == 'b' | has(c)", 9, "expected ||"),
        (r#""FOO"#, 0, "unterminated string"),
        (r#""FOO'"#, 0, "unterminated string"),
        ("'FOO", 0, "unterminated string"),
        ("a == 'b' && c == \"d", 17, "unterminated string"),
        ("%", 0, "expected identifier"),
        ("a == \"b\" && %", 12, "expected identifier"),
        ("a == \"b\" || %", 12, "expected identifier"),
        ("has(a)\n", 6, "expected identifier"),
        ("has(a)\r", 6, "expected identifier"),
        ("ü == 'x'", 0, "expected identifier"),
        ("has()", 4, "expected identifier"),
        ("has(a", 5, "no closing ')' after has("),
        ("all(", 4, "no closing ')' after all("),
        ("global(", 7, "no closing ')' after global("),
        ("a squiggles 'x'", 2, "expected operator after label \"a\""),
        ("a inx {}", 2, "expected operator after label \"a\""),
        ("a  ", 3, "unexpected end of string looking for op"),
        // Grammar.
        ("b", 1, "unexpected end of string looking for op"),
        ("a ", 2, "unexpected end of string looking for op"),
        ("b == b", 5, "expected string"),
        ("b contains b", 11, "expected string"),
        (
            "b starts  with 'b' && b starts with b",
            24,
            "expected operator after label \"b\"",
        ),
        ("b ends with b", 2, "expected operator after label \"b\""),
        ("b ends with (", 12, "expected string"),
        ("a ==", 4, "expected string"),
        ("a != ||", 5, "expected string"),
        ("a in 'x'", 5, "expected set literal"),
        ("a not in b", 2, "expected operator after label \"a\""),
        ("a not in (b)", 9, "expected set literal"),
        ("a in", 4, "expected set literal"),
        ("a in {'x'", 9, "expected }"),
        ("a in {,}", 6, "expected }"),
        ("a in {'x' 'y'}", 10, "expected }"),
        ("a in {x}", 6, "expected }"),
        ("foo in {\"\", ||", 12, "expected }"),
        ("(", 1, "unexpected token: end of selector"),
        ("()", 1, "unexpected token: \")\""),
        (")", 0, "unexpected token: \")\""),
        ("(a == \"foo\"", 11, "expected )"),
        ("(has(a) has(b))", 8, "expected )"),
        ("!", 1, "unexpected token: end of selector"),
        ("has(foo) &&", 11, "unexpected token: end of selector"),
        ("has(foo) || && has(b)", 12, "unexpected token: \"&&\""),
        ("'b1' == b", 0, "unexpected token: string \"b1\""),
        ("== 'x'", 0, "unexpected token: \"==\""),
        ("a b", 2, "expected operator after label \"a\""),
        ("a (", 2, "expected == or != not: \"(\""),
        ("a 'x'", 2, "expected == or != not: string \"x\""),
        ("a && has(b)", 2, "expected == or != not: \"&&\""),
        ("a !in {}", 2, "expected == or != not: \"!\""),
        ("all ()", 4, "expected == or != not: \"(\""),
        ("has (a)", 4, "expected == or != not: \"(\""),
        (
            "has(a) has(b)",
            7,
            "unexpected content at end of selector: \"has(b)\"",
        ),
        (
            "a == 'b' c == 'd'",
            9,
            "unexpected content at end of selector: label \"c\"",
        ),
        ("all())", 5, "unexpected content at end of selector: \")\""),
    ];
    for &(input, position, reason) in cases {
        let e = err(input);
        assert_eq!(e.position, position, "input {input:?}: {e}");
        let expected = format!("invalid selector {input:?}: {reason} at position {position}");
        assert_eq!(e.message, expected, "input {input:?}");
        assert_eq!(e.to_string(), expected);
    }
}

#[test]
fn tokenizer_errors_win_over_earlier_grammar_errors() {
    // Calico tokenizes the whole input first.
    let e = err("a == && %");
    assert!(e.message.contains("expected identifier"), "{e}");
    assert_eq!(e.position, 8);
    let e = err(") 'unterminated");
    assert!(e.message.contains("unterminated string"), "{e}");
    // The first tokenizer error wins.
    let e = err("( = &");
    assert!(e.message.contains("expected =="), "{e}");
}

#[test]
fn error_display_example_and_long_input() {
    assert_eq!(
        err("a = 'b'").to_string(),
        r#"invalid selector "a = 'b'": expected == at position 2"#
    );
    let long = format!("{}has(a) &", "a == 'ä' && ".repeat(50));
    let e = err(&long);
    assert_eq!(e.position, long.len() - 1);
    assert!(e.message.contains("expected &&"), "{e}");
    assert!(e.message.contains("shortened"), "{e}");
    assert!(e.message.len() < 400, "{e}");
}

#[test]
fn nesting_depth_is_limited() {
    let ok = format!(
        "{}has(a){}",
        "(".repeat(MAX_NESTING_DEPTH),
        ")".repeat(MAX_NESTING_DEPTH)
    );
    assert_eq!(canon(&ok), "has(a)");
    let negated = format!(
        "{}has(a){}",
        "!(".repeat(MAX_NESTING_DEPTH),
        ")".repeat(MAX_NESTING_DEPTH)
    );
    assert_eq!(canon(&negated), "has(a)");
    let too_deep = format!("{}has(a)", "(".repeat(MAX_NESTING_DEPTH + 1));
    let e = err(&too_deep);
    assert!(e.message.contains("nested too deeply"), "{e}");
    assert_eq!(e.position, MAX_NESTING_DEPTH);
    // Way beyond: still an error, not a stack overflow.
    let e = err(&"(".repeat(1_000_000));
    assert!(e.message.contains("nested too deeply"), "{e}");
    // Long flat inputs are fine.
    let bangs = format!("{}has(a)", "!".repeat(1_000_001));
    assert_eq!(canon(&bangs), "!has(a)");
    let chain = vec!["has(a)"; 100_000].join(" && ");
    assert!(parse(&chain).unwrap().evaluate(&map(&[("a", "")])));
}

#[test]
fn evaluation_table() {
    // (selector, labels, expected) following the evaluation table.
    type Case = (&'static str, &'static [(&'static str, &'static str)], bool);
    let cases: &[Case] = &[
        ("k == 's'", &[("k", "s")], true),
        ("k == 's'", &[("k", "S")], false),
        ("k == 's'", &[("k", "s ")], false),
        ("k == 's'", &[], false),
        ("k == ''", &[("k", "")], true),
        ("k == ''", &[], false),
        ("k != 's'", &[("k", "s")], false),
        ("k != 's'", &[("k", "t")], true),
        ("k != 's'", &[], true),
        ("k contains 'b'", &[("k", "abc")], true),
        ("k contains 'd'", &[("k", "abc")], false),
        ("k contains ''", &[("k", "")], true),
        ("k contains ''", &[], false),
        ("k starts with 'ab'", &[("k", "abc")], true),
        ("k starts with 'bc'", &[("k", "abc")], false),
        ("k starts with ''", &[("k", "x")], true),
        ("k starts with ''", &[], false),
        ("k ends with 'bc'", &[("k", "abc")], true),
        ("k ends with 'ab'", &[("k", "abc")], false),
        ("k ends with ''", &[], false),
        ("k in {'a', 'b'}", &[("k", "b")], true),
        ("k in {'a', 'b'}", &[("k", "c")], false),
        ("k in {'a', 'b'}", &[], false),
        ("k in {}", &[("k", "")], false),
        ("k not in {'a', 'b'}", &[("k", "b")], false),
        ("k not in {'a', 'b'}", &[("k", "c")], true),
        ("k not in {'a', 'b'}", &[], true),
        ("k not in {}", &[], true),
        ("has(k)", &[("k", "")], true),
        ("has(k)", &[("kk", "")], false),
        ("all()", &[], true),
        ("global()", &[], true),
        ("global()", &[("a", "b")], true),
        ("", &[("a", "b")], true),
        ("!has(k)", &[], true),
        ("!!has(k)", &[], false),
        ("has(a) && has(b)", &[("a", "")], false),
        ("has(a) || has(b)", &[("a", "")], true),
        ("! a == 'x' || ! b == 'y'", &[("a", "x"), ("b", "y")], false),
        ("! a == 'x' || ! b == 'y'", &[("a", "x")], true),
        // Multibyte values compare by bytes.
        ("k contains 'é'", &[("k", "café")], true),
        ("k starts with 'caf'", &[("k", "café")], true),
        ("k ends with '\u{301}'", &[("k", "cafe\u{301}")], true),
        ("k == 'é'", &[("k", "e\u{301}")], false),
    ];
    for &(input, labels, expected) in cases {
        let sel = parse(input).unwrap();
        assert_eq!(
            sel.evaluate(&map(labels)),
            expected,
            "{input:?} on {labels:?}"
        );
        // Same answer through every Labels implementation.
        let hash: HashMap<&str, &str> = labels.iter().copied().collect();
        assert_eq!(sel.evaluate(&hash), expected);
        assert_eq!(sel.evaluate(labels), expected);
        let owned: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(sel.evaluate(&owned), expected);
        assert_eq!(sel.evaluate(&&owned), expected);
    }
}

#[test]
fn large_sets_use_binary_search_correctly() {
    let values: Vec<String> = (0..100).map(|i| format!("v{i:03}")).collect();
    let input = format!(
        "x in {{{}}}",
        values
            .iter()
            .rev()
            .map(|v| format!("'{v}'"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let sel = parse(&input).unwrap();
    for v in &values {
        assert!(sel.evaluate(&[("x", v.as_str())]), "{v}");
    }
    for v in ["", "v", "v0000", "v100", "w", "v05"] {
        assert!(!sel.evaluate(&[("x", v)]), "{v}");
    }
}

#[test]
fn unique_ids_match_calico() {
    let cases = [
        ("", "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug"),
        (" all() ", "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug"),
        (" (all() )", "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug"),
        (
            "! (has( b)||! has(a ))",
            "s:Iss0uCleLYv1GSv_pNm7hAO58kE9jAx1NKyG3Q",
        ),
        (
            r#"! (a == "b"&&! c != "d")"#,
            "s:lh3haoY1ikTRkd4UZu0nWSaIBknYLPJLX16d-w",
        ),
    ];
    for (input, id) in cases {
        assert_eq!(parse(input).unwrap().unique_id(), id, "input {input:?}");
    }
    assert_eq!(Selector::all().unique_id(), cases[0].1);
}

#[test]
fn accessors() {
    let sel = parse("b == 'x' && (has(a) || global()) && !b in {'y'}").unwrap();
    assert_eq!(sel.label_names(), vec!["a", "b"]);
    assert!(sel.contains_global());
    assert!(!sel.is_global());
    assert!(!sel.is_all());

    for input in ["global()", " global( ) ", "(global())", "!!global()"] {
        let sel = parse(input).unwrap();
        assert!(sel.is_global() && sel.contains_global(), "{input}");
        assert_eq!(sel.canonical(), "global()");
    }
    assert!(!parse("!global()").unwrap().is_global());
    assert!(is_bare_global("global()"));
    assert!(is_bare_global(" \tglobal( ) "));
    assert!(!is_bare_global("(global())"));
    assert!(!is_bare_global("!!global()"));
    assert!(!is_bare_global("global() && all()"));
    assert!(!is_bare_global("global() )"));
    assert!(!is_bare_global(""));

    for input in ["", "  ", "all()", "(all())", "!!all()"] {
        assert!(parse(input).unwrap().is_all(), "{input}");
    }
    assert!(!parse("!all()").unwrap().is_all());
    assert!(Selector::all().is_all());
    assert_eq!(Selector::default(), Selector::all());
    assert!(Selector::all().label_names().is_empty());
    assert!(!Selector::all().contains_global());
}

#[test]
fn traits() {
    let sel: Selector = "a in {'y', 'x'}".parse().unwrap();
    assert_eq!(sel.to_string(), sel.canonical());
    assert_eq!(format!("{sel:?}"), r#"Selector("a in {\"x\", \"y\"}")"#);
    assert_eq!(sel, parse("a in {'x', 'y', 'x'}").unwrap());
    assert_ne!(sel, parse("a in {'x'}").unwrap());
    let mut set = std::collections::HashSet::new();
    set.insert(sel.clone());
    assert!(set.contains(&parse(r#"a in {"x", "y"}"#).unwrap()));
    let e: Result<Selector, _> = "a =".parse();
    assert!(e.is_err());
}
