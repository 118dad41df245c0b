use super::*;
use proptest::prelude::*;
use serde_json::json;

#[test]
fn formats_floats_as_go() {
    // strconv.FormatFloat(f, 'g', -1, 32), as sigs.k8s.io/yaml turns a float into a string.
    assert_eq!(go_format_float32_g(123456789.0), "1.2345679e+08");
    assert_eq!(go_format_float32_g(26.0), "26");
    assert_eq!(go_format_float32_g(1.5), "1.5");
    assert_eq!(go_format_float32_g(1000.0), "1000");
    assert_eq!(go_format_float32_g(1e6), "1e+06");
    assert_eq!(go_format_float32_g(0.0001), "0.0001");
    assert_eq!(go_format_float32_g(0.00001), "1e-05");
    assert_eq!(go_format_float32_g(-2.5), "-2.5");
    assert_eq!(go_format_float32_g(0.1), "0.1");
    // json.Marshal of a float64.
    assert_eq!(go_json_float(26.0), "26");
    assert_eq!(go_json_float(26.5), "26.5");
    assert_eq!(go_json_float(1e21), "1e+21");
    assert_eq!(go_json_float(1e20), "100000000000000000000");
    assert_eq!(go_json_float(1e-7), "1e-7");
    assert_eq!(go_json_float(1.5e-10), "1.5e-10");
    assert_eq!(go_json_float(0.000001), "0.000001");
}

#[test]
fn folds_keys_as_go() {
    assert!(fold_equal("cidr", "CIDR"));
    assert!(fold_equal("order", "Order"));
    assert!(fold_equal("kind", "\u{212A}ind"));
    assert!(fold_equal("selector", "\u{017F}elector"));
    assert!(!fold_equal("order", "orders"));
    assert!(!fold_equal("order", "ord"));
}

#[derive(Debug, serde::Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Spec {
    #[serde(default)]
    block_size: i64,
    #[serde(default)]
    name: String,
    #[serde(default)]
    order: Option<f64>,
    #[serde(default)]
    port: u8,
    #[serde(default)]
    nets: Vec<String>,
    #[serde(default)]
    inner: Option<Inner>,
}

#[derive(Debug, serde::Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Inner {
    #[serde(default)]
    flag: bool,
}

fn decode(value: Value, options: DecodeOptions) -> Result<(Spec, Vec<UnknownMember>), GoError> {
    from_value::<Spec>(&value, options)
}

#[test]
fn matches_fields_exactly_then_case_insensitively_last_wins() {
    let (spec, _) = decode(
        json!({"BlockSize": 26, "NAME": "a", "Order": 1.0, "order": 2.0}),
        DecodeOptions::STRICT,
    )
    .unwrap();
    assert_eq!(spec.block_size, 26);
    assert_eq!(spec.name, "a");
    // Keys come in sorted order ("Order" < "order"); Go keeps the last.
    assert_eq!(spec.order, Some(2.0));
}

#[test]
fn unknown_fields_are_refused_or_kept() {
    let err = decode(
        json!({"inner": {"flag": true, "flagz": 1}}),
        DecodeOptions::STRICT,
    )
    .unwrap_err();
    assert_eq!(err.kind, GoErrorKind::UnknownField("flagz".into()));
    assert_eq!(err.message, "json: unknown field \"flagz\"");
    assert_eq!(err.path.as_deref(), Some("inner.flagz"));

    let (spec, unknown) = decode(
        json!({"inner": {"flag": true, "flagz": [1]}, "top": "x"}),
        DecodeOptions::STORED,
    )
    .unwrap();
    assert_eq!(spec.inner, Some(Inner { flag: true }));
    assert_eq!(
        unknown,
        vec![
            UnknownMember {
                parent: vec![PathSegment::Key("inner".into())],
                key: "flagz".into(),
                value: json!([1]),
            },
            UnknownMember {
                parent: vec![],
                key: "top".into(),
                value: json!("x"),
            },
        ]
    );
}

#[test]
fn type_errors_read_as_go() {
    let err = |value: Value, options| decode(value, options).unwrap_err().message;
    let s = DecodeOptions::STRICT;
    assert_eq!(
        err(json!({"blockSize": "26"}), s),
        "json: cannot unmarshal string into Go struct field Spec.blockSize of type int"
    );
    assert_eq!(
        err(json!({"port": 300}), s),
        "json: cannot unmarshal number 300 into Go struct field Spec.port of type uint8"
    );
    assert_eq!(
        err(json!({"nets": 5}), s),
        "json: cannot unmarshal number into Go struct field Spec.nets of type []string"
    );
    assert_eq!(
        err(json!({"inner": {"flag": "yes"}}), s),
        "json: cannot unmarshal string into Go struct field Inner.inner.flag of type bool"
    );
    assert_eq!(
        err(json!({"blockSize": 26.5}), DecodeOptions::MANIFEST),
        "json: cannot unmarshal number 26.5 into Go struct field Spec.blockSize of type int"
    );
    assert_eq!(
        err(json!({"blockSize": 1e21}), DecodeOptions::MANIFEST),
        "json: cannot unmarshal number 1e+21 into Go struct field Spec.blockSize of type int"
    );
    assert_eq!(
        err(json!({"name": 5}), DecodeOptions::MANIFEST_SEQUENCE_ITEM),
        "json: cannot unmarshal number into Go struct field Spec.name of type string"
    );
    assert_eq!(
        err(json!(5), s),
        "json: cannot unmarshal number into Go value of type v3.Spec"
    );
}

#[test]
fn manifests_turn_scalars_into_strings_and_take_integral_floats() {
    let (spec, _) = decode(
        json!({"blockSize": 26.0, "name": 123456789.0, "nets": [true, 5, 1.5]}),
        DecodeOptions::MANIFEST,
    )
    .unwrap();
    assert_eq!(spec.block_size, 26);
    assert_eq!(spec.name, "1.2345679e+08");
    assert_eq!(spec.nets, ["true", "5", "1.5"]);
    // A stored value is Go's json.Unmarshal: no conversion.
    assert!(decode(json!({"blockSize": 26.0}), DecodeOptions::STORED).is_err());
}

#[test]
fn null_is_the_zero_value() {
    let (spec, _) = decode(
        json!({"blockSize": null, "name": null, "nets": null, "inner": null}),
        DecodeOptions::STRICT,
    )
    .unwrap();
    assert_eq!(spec, Spec::default());
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<u64>().prop_map(|u| json!(u)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-zA-Z0-9 .:/-]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("kind".to_string()),
                    Just("apiVersion".to_string()),
                    Just("metadata".to_string()),
                    Just("spec".to_string()),
                    Just("name".to_string()),
                    Just("Selector".to_string()),
                    "[a-zA-Z]{1,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    /// Whatever the document, decoding any kind returns, never panics.
    #[test]
    fn never_panics(value in arbitrary_json()) {
        for info in crate::kinds::KINDS {
            for options in [DecodeOptions::STORED, DecodeOptions::MANIFEST, DecodeOptions::STRICT] {
                let _ = (info.decode)(&value, options);
            }
        }
        let _ = decode(value, DecodeOptions::MANIFEST);
    }
}
