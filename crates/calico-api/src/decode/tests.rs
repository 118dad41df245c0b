use super::*;
use serde_json::json;

fn pool(spec: Value) -> Value {
    json!({"kind": "IPPool", "apiVersion": "projectcalico.org/v3", "metadata": {"name": "p"}, "spec": spec})
}

#[test]
fn go_field_names_are_case_insensitive() {
    let doc = json!({"Kind": "IPPool", "APIVersion": "projectcalico.org/v3",
        "Metadata": {"Name": "p"}, "Spec": {"CIDR": "10.0.0.0/16", "NATOutgoing": true}});
    let decoded = decode_resource_with::<crate::IPPoolSpec>(&doc, DecodeOptions::MANIFEST).unwrap();
    assert_eq!(decoded.metadata.name, "p");
    assert_eq!(decoded.spec.cidr, "10.0.0.0/16");
    assert!(decoded.spec.nat_outgoing);
}

#[test]
fn errors_name_go_types_and_paths() {
    let err =
        decode_value_with(&pool(json!({"blockSize": "26"})), DecodeOptions::MANIFEST).unwrap_err();
    assert_eq!(
        err.to_string(),
        "json: cannot unmarshal string into Go struct field IPPoolSpec.spec.blockSize of type int"
    );
    assert_eq!(err.path(), "spec.blockSize");
    let err = decode_value_with(
        &json!({"kind": "IPPool", "apiVersion": "projectcalico.org/v3", "metadata": 5}),
        DecodeOptions::MANIFEST,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "json: cannot unmarshal number into Go struct field IPPool.metadata of type v1.ObjectMeta"
    );
    let err = decode_value_with(
        &json!({"kind": "GlobalNetworkSet", "apiVersion": "projectcalico.org/v3",
            "metadata": {"name": "s", "labels": 5}}),
        DecodeOptions::MANIFEST,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type map[string]string"
    );
}

#[test]
fn stored_values_keep_unknown_members() {
    let doc = json!({"kind": "GlobalNetworkSet", "apiVersion": "projectcalico.org/v3",
        "metadata": {"name": "s"}, "spec": {"nets": ["10.0.0.0/8"], "future": {"a": 1}},
        "futureTop": true});
    assert!(matches!(
        decode_value(doc.clone()),
        Err(DecodeError::UnknownField { ref field, .. }) if field == "futureTop"
    ));
    let decoded = decode_value_with(&doc, DecodeOptions::STORED).unwrap();
    assert_eq!(decoded.unknown().members().len(), 2);
    let known = crate::json::to_vec(&decoded).unwrap();
    let merged = decoded
        .unknown()
        .merge_into(&known, |v| crate::json::to_vec(v).ok())
        .unwrap();
    let merged = String::from_utf8(merged).unwrap();
    assert!(
        merged.ends_with(r#""spec":{"nets":["10.0.0.0/8"],"future":{"a":1}},"futureTop":true}"#),
        "{merged}"
    );
}
