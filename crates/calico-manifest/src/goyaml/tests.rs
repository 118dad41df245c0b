use super::*;
use proptest::prelude::*;
use serde_json::json;

fn json_of(text: &str) -> Value {
    yaml_to_json(text).unwrap().value
}

#[test]
fn resolves_yaml_11_scalars_as_go_yaml_v2() {
    let value = json_of(
        "a: yes\nb: n\nc: on\nd: Off\ne: 0x10\nf: 017\ng: 0o17\nh: 0b101\ni: 1_000\nj: .5\nk: 1e3\n\
         l: ~\nm: '5'\nnn: \"yes\"\no: 08\np: 2024-01-02\nq: 18446744073709551615\nr: -0b11\ns: +5\n",
    );
    assert_eq!(
        value,
        json!({"a": true, "b": false, "c": true, "d": false, "e": 16, "f": 15, "g": 15, "h": 5,
            "i": 1000, "j": 0.5, "k": 1000.0, "l": null, "m": "5", "nn": "yes", "o": 8.0,
            "p": "2024-01-02", "q": 18446744073709551615u64, "r": -3, "s": 5})
    );
}

#[test]
fn keys_become_strings_as_sigs_yaml_writes_them() {
    assert_eq!(
        json_of("on: off\n1.5: x\n0x10: y\nn: z\n"),
        json!({"true": false, "1.5": "x", "16": true, "false": "z"})
    );
}

#[test]
fn duplicate_keys_are_strict_errors_with_the_value_line() {
    let converted =
        yaml_to_json("spec:\n  order: 1\n  order: 2\nmeta:\n  name: a\n  name: b\n  labels: {a: 1}\n  labels: {b: 2}\n")
            .unwrap();
    assert_eq!(
        converted.strict_errors,
        [
            "line 3: key \"order\" already set in map",
            "line 6: key \"name\" already set in map",
            "line 8: key \"labels\" already set in map",
        ]
    );
    // The non-strict reading keeps the last value.
    assert_eq!(converted.value["spec"]["order"], json!(2));
    // JSON is YAML: the same check.
    let converted = yaml_to_json(r#"{"a": 1, "a": 2}"#).unwrap();
    assert_eq!(
        converted.strict_errors,
        ["line 1: key \"a\" already set in map"]
    );
    // `yes` and `true` are the same key once resolved.
    assert_eq!(
        yaml_to_json("yes: 1\ntrue: 2\n")
            .unwrap()
            .strict_errors
            .len(),
        1
    );
}

#[test]
fn anchors_and_aliases_copy_the_node() {
    assert_eq!(
        json_of("a: &x {b: 1}\nc: *x\n"),
        json!({"a": {"b": 1}, "c": {"b": 1}})
    );
}

#[test]
fn empty_documents_are_null_and_bad_ones_say_where() {
    assert_eq!(json_of(""), Value::Null);
    assert_eq!(json_of("# only a comment\n"), Value::Null);
    let err = yaml_to_json("a:\n  b: [x\n").unwrap_err();
    assert!(
        matches!(err, YamlError::Syntax(ref m) if m.starts_with("yaml: line ")),
        "{err:?}"
    );
    assert!(matches!(
        yaml_to_json("a: .nan\n"),
        Err(YamlError::Convert(_))
    ));
}

proptest! {
    #[test]
    fn never_panics(text in "[a-z0-9:{}\\[\\], \\n\\-#'\"&*!.~_+]{0,120}") {
        let _ = yaml_to_json(&text);
    }

    #[test]
    fn never_panics_on_any_text(text in "\\PC{0,80}") {
        let _ = yaml_to_json(&text);
    }
}
