//! Strict decoding of JSON documents into typed resources.
//!
//! Go treats a JSON `null` object member as "absent"; serde would reject it for a plain
//! `String` or `Vec`, so nulls are dropped before typed decoding. Errors carry the JSON path of
//! the offending field (`spec.ingress[0].destination.ports[1]`).

use serde_json::Value;

use crate::kinds::{AnyResource, KindInfo};
use crate::resource::{Kind, Resource};

/// Why a document could not be turned into a resource.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the document is not a JSON/YAML object")]
    NotAnObject,
    #[error("the document has no 'kind' field")]
    MissingKind,
    #[error("resource type '{0}' is not supported")]
    UnknownKind(String),
    /// A field failed to decode; `path` is empty for the document itself.
    #[error("{}", render_field(path, message))]
    Field { path: String, message: String },
}

fn render_field(path: &str, message: &str) -> String {
    if path.is_empty() || path == "." {
        message.to_string()
    } else {
        format!("field {path}: {message}")
    }
}

/// Removes object members whose value is `null`, recursively (array elements are kept, since
/// Go keeps them too, e.g. IPAM block `allocations`).
pub fn strip_null_members(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, member| !member.is_null());
            map.values_mut().for_each(strip_null_members);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_null_members),
        _ => {}
    }
}

/// Decodes one resource of a known kind.
pub fn decode_resource<K: Kind>(mut value: Value) -> Result<Resource<K>, DecodeError> {
    strip_null_members(&mut value);
    serde_path_to_error::deserialize(value).map_err(|err| DecodeError::Field {
        path: err.path().to_string(),
        message: err.inner().to_string(),
    })
}

/// Decodes a document of any kind, dispatching on its `kind` field.
pub fn decode_value(value: Value) -> Result<AnyResource, DecodeError> {
    let kind = match &value {
        Value::Object(map) => match map.get("kind") {
            Some(Value::String(kind)) if !kind.is_empty() => kind.clone(),
            Some(Value::Null) | None => return Err(DecodeError::MissingKind),
            Some(Value::String(_)) => return Err(DecodeError::MissingKind),
            Some(other) => {
                return Err(DecodeError::Field {
                    path: "kind".into(),
                    message: format!("expected a string, found {other}"),
                })
            }
        },
        _ => return Err(DecodeError::NotAnObject),
    };
    let info = KindInfo::lookup(&kind).ok_or_else(|| DecodeError::UnknownKind(kind.clone()))?;
    (info.decode)(value)
}
