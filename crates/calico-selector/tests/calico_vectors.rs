//! Test vectors harvested from Calico's own selector tests
//! (libcalico-go/lib/selector/parser/parser_test.go): match / no-match label
//! sets, rejected selectors, canonical forms and unique IDs.

use std::collections::BTreeMap;

use calico_selector::{parse, ParseError};

type Labels = &'static [(&'static str, &'static str)];

fn map(pairs: Labels) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// (selector, labels that match, labels that don't)
const MATCH_TESTS: &[(&str, &[Labels], &[Labels])] = &[
    (
        r#"a == "b""#,
        &[&[("a", "b")], &[("a", "b"), ("c", "d")]],
        &[&[], &[("a", "c")], &[("c", "d")]],
    ),
    (
        r#"a == "b" && c == "d""#,
        &[&[("a", "b"), ("c", "d")]],
        &[
            &[],
            &[("a", "b"), ("c", "e")],
            &[("a", "c"), ("c", "d")],
            &[("c", "d")],
            &[("a", "b")],
        ],
    ),
    (
        r#"a == "b" || c == "d""#,
        &[&[("a", "b"), ("c", "d")], &[("a", "b")], &[("c", "d")]],
        &[&[], &[("a", "e"), ("c", "e")], &[("c", "e")], &[("a", "e")]],
    ),
    (
        r#"a in {"'", '"', "c"}"#,
        &[&[("a", "c")], &[("a", "\"")], &[("a", "'")]],
        &[&[], &[("a", "e")]],
    ),
    (
        r#"a not in {"'", '"', "c"}"#,
        &[&[], &[("a", "e")]],
        &[&[("a", "c")], &[("a", "\"")], &[("a", "'")]],
    ),
    (r#"a == 'a'"#, &[&[("a", "a")]], &[]),
    (r#"a == "a""#, &[&[("a", "a")]], &[]),
    (r#"a != "b""#, &[&[("a", "a")]], &[]),
    (r#"a != "a""#, &[&[]], &[]),
    (
        r#"a contains "a""#,
        &[&[("a", "a")], &[("a", "bab")], &[("a", "aaa"), ("b", "c")]],
        &[&[], &[("a", "b")], &[("b", "aaa")]],
    ),
    (
        r#"a starts with "a""#,
        &[&[("a", "a")], &[("a", "abb")], &[("a", "aaa"), ("b", "c")]],
        &[&[], &[("a", "b")], &[("a", "baa")], &[("b", "aaa")]],
    ),
    (
        r#"a ends with "a""#,
        &[&[("a", "a")], &[("a", "bba")], &[("a", "aaa"), ("b", "c")]],
        &[&[], &[("a", "b")], &[("a", "aab")], &[("b", "aaa")]],
    ),
    (r#"a in {"a"}"#, &[&[("a", "a")]], &[]),
    (r#"!a in {"a"}"#, &[&[("a", "b")]], &[]),
    (r#"a in {"a", "b"}"#, &[&[("a", "a")]], &[]),
    (r#"a in {"a", "b"}"#, &[&[("a", "b")]], &[]),
    (r#"a not in {"d", "e"}"#, &[&[("a", "a")]], &[]),
    ("has(a)", &[&[("a", "b")]], &[]),
    ("!has(a)", &[&[("b", "b")]], &[]),
    ("", &[&[]], &[]),
    (" ", &[&[]], &[]),
    ("", &[&[("a", "b")]], &[]),
    ("all()", &[&[]], &[]),
    (" all()", &[&[]], &[]),
    (" all()", &[&[("a", "b")]], &[]),
    ("global()", &[&[]], &[]),
    (" global()", &[&[]], &[]),
    (" global()", &[&[("a", "b")]], &[]),
    ("a == 'a'", &[], &[&[("a", "b")]]),
    ("a == 'a'", &[], &[&[]]),
    (r#"a != "a""#, &[], &[&[("a", "a")]]),
    ("a != 'a'", &[], &[&[("a", "a")]]),
    (r#"a in {"a"}"#, &[], &[&[("a", "b")]]),
    (r#"a not in {"a"}"#, &[], &[&[("a", "a")]]),
    (r#"a in {"a", "b"}"#, &[], &[&[("a", "c")]]),
    ("has(b)", &[], &[&[("a", "b")]]),
    ("!!has(b)", &[], &[&[("a", "b")]]),
    ("! has(a)", &[], &[&[("a", "b")]]),
    ("!has(a)", &[], &[&[("a", "b")]]),
    ("!!! has(a)", &[], &[&[("a", "b")]]),
    ("!!!has(a)", &[], &[&[("a", "b")]]),
    ("!! ! has(a)", &[], &[&[("a", "b")]]),
    ("! !!has(a)", &[], &[&[("a", "b")]]),
    // Boolean expressions.
    (
        "a == 'a1' && b == 'b1'",
        &[&[("a", "a1"), ("b", "b1")]],
        &[],
    ),
    (
        "a == 'a1' && b != 'b1'",
        &[],
        &[&[("a", "a1"), ("b", "b1")]],
    ),
    (
        "a != 'a1' && b == 'b1'",
        &[],
        &[&[("a", "a1"), ("b", "b1")]],
    ),
    (
        "a != 'a1' && b != 'b1'",
        &[],
        &[&[("a", "a1"), ("b", "b1")]],
    ),
    (
        "a != 'a1' && !b == 'b1'",
        &[],
        &[&[("a", "a1"), ("b", "b1")]],
    ),
    (
        "!a == 'a1' && b == 'b1'",
        &[],
        &[&[("a", "a1"), ("b", "b1")]],
    ),
    ("has(a) && !has(b)", &[&[("a", "a")]], &[]),
    ("!has(b) && has(a)", &[&[("a", "a")]], &[]),
    ("!(!has(a) || has(b))", &[&[("a", "a")]], &[]),
    ("!(has(b) || !has(a))", &[&[("a", "a")]], &[]),
    (
        "a == 'a1' || b == 'b1'",
        &[&[("a", "a1"), ("b", "b1")]],
        &[],
    ),
    (
        "a == 'a1' || b != 'b1'",
        &[&[("a", "a1"), ("b", "b1")]],
        &[],
    ),
    (
        "a != 'a1' || b == 'b1'",
        &[&[("a", "a1"), ("b", "b1")]],
        &[],
    ),
    (
        "a != 'a1' || b != 'b1'",
        &[],
        &[&[("a", "a1"), ("b", "b1")]],
    ),
    (
        "! a == 'a1' || ! b == 'b1'",
        &[],
        &[&[("a", "a1"), ("b", "b1")]],
    ),
];

#[test]
fn calico_match_vectors() -> Result<(), ParseError> {
    for &(input, matches, non_matches) in MATCH_TESTS {
        let sel = parse(input)?;
        // Calico also checks that the canonical form behaves identically.
        let canonical = parse(&sel.canonical())?;
        assert_eq!(canonical, sel, "{input:?}");
        for labels in matches {
            assert!(
                sel.evaluate(&map(labels)),
                "{input:?} should match {labels:?}"
            );
            assert!(canonical.evaluate(&map(labels)));
        }
        for labels in non_matches {
            assert!(
                !sel.evaluate(&map(labels)),
                "{input:?} should not match {labels:?}"
            );
            assert!(!canonical.evaluate(&map(labels)));
        }
        assert_eq!(sel.unique_id(), canonical.unique_id());
    }
    Ok(())
}

#[test]
fn calico_bad_selectors() {
    let bad = [
        "b == b",
        "b contains b",
        "b starts with b",
        "b ends with b",
        "'b1' == b",
        "b",
        "a b",
        "!",
        r#"foo == "bar" &"#,
        r#"foo == "bar" |"#,
        "foo != ||",
        r#"foo in {"", ||"#,
        r#"foo in """#,
        r#""FOO"#,
        r#""FOO'"#,
        "'FOO",
        "(",
        r#"(a == "foo""#,
        ")",
        "()",
        "%",
        r#"a == "b" && %"#,
        r#"a == "b" || %"#,
        "a ",
        "has(foo) &&",
        // Tokenizer-level rejections from tokenizer_test.go.
        r#"label starts foo "value""#,
        r#"label ends foo "value""#,
        r#"label squiggles "value""#,
    ];
    for input in bad {
        assert!(parse(input).is_err(), "{input:?} should be rejected");
    }
}

#[test]
fn calico_canonical_vectors() -> Result<(), ParseError> {
    // (input, canonical, unique id or "" when Calico's test gives none)
    let cases = [
        ("", "all()", "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug"),
        (
            " all() ",
            "all()",
            "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug",
        ),
        (
            " (all() )",
            "all()",
            "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug",
        ),
        (
            "! (has( b)||! has(a ))",
            "!(has(b) || !has(a))",
            "s:Iss0uCleLYv1GSv_pNm7hAO58kE9jAx1NKyG3Q",
        ),
        (
            r#"! (a == "b"&&! c != "d")"#,
            r#"!(a == "b" && !c != "d")"#,
            "s:lh3haoY1ikTRkd4UZu0nWSaIBknYLPJLX16d-w",
        ),
        (r#"a == "'""#, r#"a == "'""#, ""),
        (r#"a == '"'"#, r#"a == '"'"#, ""),
        (r#"a contains '"'"#, r#"a contains '"'"#, ""),
        (r#"a contains "'""#, r#"a contains "'""#, ""),
        (r#"a startswith '"'"#, r#"a starts with '"'"#, ""),
        (r#"a endswith "'""#, r#"a ends with "'""#, ""),
        (r#"a!='"'"#, r#"a != '"'"#, ""),
        (r#"a in {"d"}"#, r#"a in {"d"}"#, ""),
        (r#"a in {"a", "b"}"#, r#"a in {"a", "b"}"#, ""),
        (r#"a in {"d", "a", "b"}"#, r#"a in {"a", "b", "d"}"#, ""),
        (
            r#"a in {"z", "x", "y", "a"}"#,
            r#"a in {"a", "x", "y", "z"}"#,
            "",
        ),
        (
            r#"a in {"z", "z", "x", "y", "x", "a"}"#,
            r#"a in {"a", "x", "y", "z"}"#,
            "",
        ),
        // From the visitor tests (without the label prefixing).
        ("k == 'v'", r#"k == "v""#, ""),
        ("k != 'v'", r#"k != "v""#, ""),
        ("k contains 'v'", r#"k contains "v""#, ""),
        ("k starts with 'v'", r#"k starts with "v""#, ""),
        ("k ends with 'v'", r#"k ends with "v""#, ""),
        ("k == 'v' && x == 'y'", r#"(k == "v" && x == "y")"#, ""),
        ("k == 'v' || has(x)", r#"(k == "v" || has(x))"#, ""),
        ("!(k == 'v')", r#"!k == "v""#, ""),
        ("k in {'v'}", r#"k in {"v"}"#, ""),
        ("k not in {'v'}", r#"k not in {"v"}"#, ""),
        (
            "!(!(k == 'v' && has(t) || all()) && (a in {'b', 'c'}))",
            r#"!(!((k == "v" && has(t)) || all()) && a in {"b", "c"})"#,
            "",
        ),
    ];
    for (input, expected, uid) in cases {
        let sel = parse(input)?;
        let canon = sel.canonical();
        assert_eq!(canon, expected, "{input:?}");
        assert_eq!(sel.to_string(), expected);
        let round_tripped = parse(&canon)?;
        assert_eq!(round_tripped.canonical(), canon);
        assert_eq!(round_tripped.unique_id(), sel.unique_id());
        if !uid.is_empty() {
            assert_eq!(sel.unique_id(), uid, "{input:?}");
        }
    }
    Ok(())
}
