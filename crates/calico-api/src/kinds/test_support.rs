//! Helpers shared by the kinds' unit tests.

use serde_json::Value;

use crate::decode::decode_value;
use crate::kinds::AnyResource;
use crate::validation::ValidationError;

/// Decodes `doc`, checks it serializes back to the same JSON value, and returns the resource.
pub fn round_trip(doc: &Value) -> AnyResource {
    let decoded = decode_value(doc.clone()).unwrap_or_else(|e| panic!("decode failed: {e}"));
    let written = serde_json::to_value(&decoded).unwrap();
    assert_eq!(&written, doc, "round trip changed the document");
    decoded
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

/// Asserts that the errors include `field` with exactly `reason`.
pub fn assert_has(errors: &[(String, String)], field: &str, reason: &str) {
    assert!(
        errors.iter().any(|(f, r)| f == field && r == reason),
        "missing error {field}: {reason}\ngot: {errors:#?}"
    );
}

/// Asserts that decoding fails with an error naming `path`.
pub fn assert_unknown_field(doc: Value, path: &str) {
    match decode_value(doc) {
        Err(crate::decode::DecodeError::Field { path: got, message }) => {
            assert_eq!(got, path);
            assert!(message.contains("unknown field"), "{message}");
        }
        other => panic!("expected a field error at {path}, got {other:?}"),
    }
}
