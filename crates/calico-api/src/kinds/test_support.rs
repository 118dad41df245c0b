//! Helpers shared by the kinds' unit tests.

use serde_json::{json, Value};

use crate::decode::{decode_resource, decode_value, DecodeError};
use crate::kinds::AnyResource;
use crate::resource::{Kind, Resource};
use crate::validation::ValidationError;

/// A document of `kind` with only `metadata.name` and `spec` set.
pub fn named_doc(kind: &str, name: &str, spec: Value) -> Value {
    json!({
        "kind": kind,
        "apiVersion": "projectcalico.org/v3",
        "metadata": {"name": name},
        "spec": spec,
    })
}

/// Decodes `doc` as a `K`, panicking if it is not a valid `K` document.
///
/// As [`decode_value`] does, it requires `kind` to name `K`, then decodes with `K`'s decoder.
pub fn decode_as<K: Kind>(doc: Value) -> Resource<K> {
    assert_eq!(
        doc.get("kind").and_then(Value::as_str),
        Some(K::KIND),
        "expected a {} document",
        K::KIND
    );
    decode_resource::<K>(doc).unwrap_or_else(|e| panic!("expected a {}, got {e:?}", K::KIND))
}

/// Decodes `doc`, checks it serializes back to the same JSON value, and returns the resource.
pub fn round_trip(doc: &Value) -> AnyResource {
    let decoded = decode_value(doc.clone()).unwrap_or_else(|e| panic!("decode failed: {e}"));
    let written = serde_json::to_value(&decoded).unwrap();
    assert_eq!(&written, doc, "round trip changed the document");
    decoded
}

/// [`round_trip`], returning the resource as a `K`.
pub fn round_trip_as<K: Kind>(doc: &Value) -> Resource<K> {
    round_trip(doc);
    decode_as(doc.clone())
}

/// Decodes the JSON `text` as a `K`, checks it serializes back to exactly the same bytes, and
/// returns the resource.
pub fn round_trip_bytes<K: Kind>(text: &str) -> Resource<K> {
    let resource = decode_as::<K>(serde_json::from_str(text).unwrap());
    assert_eq!(serde_json::to_string(&resource).unwrap(), text);
    resource
}

/// `(field, reason)` of every error, in order.
pub fn field_reasons(result: Result<(), ValidationError>) -> Vec<(String, String)> {
    match result {
        Ok(()) => Vec::new(),
        Err(err) => err
            .fields
            .into_iter()
            .map(|f| (f.field, f.reason))
            .collect(),
    }
}

/// `(field, reason)` of every error `resource` fails validation with, in order.
pub fn problems<K: Kind>(resource: &Resource<K>) -> Vec<(String, String)> {
    field_reasons(resource.validate())
}

/// An expected `(field, reason)`.
pub fn pair(field: &str, reason: &str) -> (String, String) {
    (field.to_string(), reason.to_string())
}

/// Expected `(field, reason)`s.
pub fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(f, r)| pair(f, r)).collect()
}

/// Asserts that the errors include `field` with exactly `reason`.
pub fn assert_has(errors: &[(String, String)], field: &str, reason: &str) {
    assert!(
        errors.iter().any(|(f, r)| f == field && r == reason),
        "missing error {field}: {reason}\ngot: {errors:#?}"
    );
}

/// Asserts that decoding fails with an unknown-field error at `path`, naming the field (the last
/// segment of `path`).
pub fn assert_unknown_field(doc: Value, path: &str) {
    let field = path.rsplit('.').next().unwrap_or(path);
    match decode_value(doc) {
        Err(DecodeError::UnknownField {
            path: got,
            field: name,
        }) => {
            assert_eq!(got, path);
            assert_eq!(name, field);
        }
        other => panic!("expected an unknown-field error at {path}, got {other:?}"),
    }
}

/// Asserts that decoding fails with a field error at `path`.
pub fn assert_field_error(doc: Value, path: &str) {
    match decode_value(doc) {
        Err(DecodeError::Field { path: got, .. } | DecodeError::Go { path: got, .. }) => {
            assert_eq!(got, path)
        }
        other => panic!("expected a field error at {path}, got {other:?}"),
    }
}
