use super::*;

fn syntax(input: &[u8]) -> String {
    match parse(input) {
        Err(e) => e.0,
        Ok(value) => format!("parsed: {value:?}"),
    }
}

#[test]
fn syntax_errors_read_as_go_writes_them() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "unexpected end of JSON input"),
        (b"{", "unexpected end of JSON input"),
        (b"  ", "unexpected end of JSON input"),
        (b"x", "invalid character 'x' looking for beginning of value"),
        (
            b"{\"name\":\"n\"} x",
            "invalid character 'x' after top-level value",
        ),
        (b"{\"a\" 1}", "invalid character '1' after object key"),
        (
            b"{\"a\":1 \"b\"}",
            "invalid character '\"' after object key:value pair",
        ),
        (b"[1 2]", "invalid character '2' after array element"),
        (
            b"{1:2}",
            "invalid character '1' looking for beginning of object key string",
        ),
        (b"\"a\x01\"", "invalid character '\\x01' in string literal"),
        (b"\"\\x\"", "invalid character 'x' in string escape code"),
        (
            b"\"\\u12g4\"",
            "invalid character 'g' in \\u hexadecimal character escape",
        ),
        (b"-x", "invalid character 'x' in numeric literal"),
        (
            b"1.x",
            "invalid character 'x' after decimal point in numeric literal",
        ),
        (
            b"1ex",
            "invalid character 'x' in exponent of numeric literal",
        ),
        (
            b"tru ",
            "invalid character ' ' in literal true (expecting 'e')",
        ),
        (b"nul", "unexpected end of JSON input"),
        (
            b"'a'",
            "invalid character '\\'' looking for beginning of value",
        ),
        (
            b"\xc3",
            "invalid character 'Ã' looking for beginning of value",
        ),
        (
            b"{\"a\":\n}",
            "invalid character '}' looking for beginning of value",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(
            syntax(input),
            *expected,
            "{}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn values_keep_document_order_and_number_text() {
    let value = parse(br#" {"b": [1.50, -0, 2e3], "a": {"x": null, "y": true}, "s": "\u00e9\ud83d\ude00\ud800"} "#);
    assert_eq!(
        value,
        Ok(Value::Object(vec![
            (
                "b".into(),
                Value::Array(vec![
                    Value::Number("1.50".into()),
                    Value::Number("-0".into()),
                    Value::Number("2e3".into())
                ])
            ),
            (
                "a".into(),
                Value::Object(vec![
                    ("x".into(), Value::Null),
                    ("y".into(), Value::Bool(true))
                ])
            ),
            ("s".into(), Value::String("é😀\u{fffd}".into())),
        ]))
    );
}

#[test]
fn invalid_utf8_in_strings_reads_as_replacement_characters() {
    assert_eq!(
        parse(b"\"a\xff\xfeb\""),
        Ok(Value::String("a\u{fffd}\u{fffd}b".into()))
    );
}

#[test]
fn deep_nesting_is_no_problem() {
    let mut input = "[".repeat(9_000);
    input.push_str(&"]".repeat(9_000));
    assert!(parse(input.as_bytes()).is_ok());
    let too_deep = "[".repeat(10_001);
    assert_eq!(syntax(too_deep.as_bytes()), "exceeded max depth");
}

proptest::proptest! {
    #[test]
    fn never_panics(input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
        let _ = parse(&input);
    }

    #[test]
    fn never_panics_on_near_json(input in r#"[\[\]{}":,0-9a-z.eE+\- \\]{0,40}"#) {
        if let Ok(value) = parse(input.as_bytes()) {
            let _ = check_struct(&value, &crate::netconf::NET_CONF);
        }
    }

    #[test]
    fn agrees_with_serde_json_on_validity(input in r#"[\[\]{}":,0-9a-c.eE+\- ]{0,30}"#) {
        let ours = parse(input.as_bytes()).is_ok();
        let theirs = serde_json::from_str::<serde_json::Value>(&input).is_ok();
        proptest::prop_assert_eq!(ours, theirs, "{}", input);
    }
}
