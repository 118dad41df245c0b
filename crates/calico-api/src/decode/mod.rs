//! Decoding JSON documents into typed resources the way Calico's Go code does.
//!
//! Everything goes through one Go-style deserializer ([`go`]): field names match exactly, then
//! case-insensitively; `null` leaves a field at its zero value; unknown members are an error
//! (manifests, [`DecodeOptions::MANIFEST`]) or kept aside with their path
//! ([`DecodeOptions::STORED`]: what a newer Calico stored survives our read-modify-write, see
//! [`crate::unknown`]); type errors read as Go's `encoding/json` prints them.

pub mod go;

use serde_json::Value;

pub use go::{
    go_format_float32_g, go_format_float64_g, go_json_float, DecodeOptions, GoError, GoErrorKind,
    PathSegment, UnknownMember, UnknownPolicy,
};

use crate::kinds::{AnyResource, KindInfo};
use crate::resource::{Kind, Resource};
use crate::unknown::Unknown;

/// Why a document could not be turned into a resource.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the document is not a JSON/YAML object")]
    NotAnObject,
    #[error("the document has no 'kind' field")]
    MissingKind,
    #[error("resource type '{0}' is not supported")]
    UnknownKind(String),
    /// A check of ours failed on a field; `path` is empty for the document itself.
    #[error("{}", render_field(path, message))]
    Field { path: String, message: String },
    /// Go's decoder would fail with exactly `message` (`json: cannot unmarshal ...`); `path`
    /// says where, with array indices.
    #[error("{message}")]
    Go { path: String, message: String },
    /// A member no field takes (`json: unknown field "x"` in Go).
    #[error("json: unknown field \"{field}\"")]
    UnknownField { path: String, field: String },
}

impl DecodeError {
    /// Where in the document the problem is (empty when it is the document itself).
    pub fn path(&self) -> &str {
        match self {
            DecodeError::Field { path, .. }
            | DecodeError::Go { path, .. }
            | DecodeError::UnknownField { path, .. } => path,
            _ => "",
        }
    }
}

impl From<GoError> for DecodeError {
    fn from(err: GoError) -> Self {
        let path = err.path.unwrap_or_default();
        match err.kind {
            GoErrorKind::UnknownField(field) => DecodeError::UnknownField { path, field },
            GoErrorKind::Go | GoErrorKind::PendingType { .. } => DecodeError::Go {
                path,
                message: err.message,
            },
            GoErrorKind::Other => DecodeError::Field {
                path,
                message: err.message,
            },
        }
    }
}

fn render_field(path: &str, message: &str) -> String {
    if path.is_empty() || path == "." {
        message.to_string()
    } else {
        format!("field {path}: {message}")
    }
}

/// Removes object members whose value is `null`, recursively (array elements are kept, since
/// Go keeps them too, e.g. IPAM block `allocations`). Decoding treats a `null` member as absent
/// already; this is for callers that compare or re-encode documents.
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

/// Decodes one resource of a known kind strictly (unknown members are an error).
pub fn decode_resource<K: Kind>(value: Value) -> Result<Resource<K>, DecodeError> {
    decode_resource_with::<K>(&value, DecodeOptions::STRICT)
}

/// Decodes one resource of a known kind with the given options; members kept by
/// [`UnknownPolicy::Keep`] ride along on the resource.
pub fn decode_resource_with<K: Kind>(
    value: &Value,
    options: DecodeOptions,
) -> Result<Resource<K>, DecodeError> {
    let (mut resource, unknown): (Resource<K>, _) = go::from_value(value, options)?;
    resource.unknown = Unknown::from_members(unknown);
    Ok(resource)
}

/// The `kind` a document names.
fn kind_of(value: &Value) -> Result<&str, DecodeError> {
    match value {
        Value::Object(map) => match map.get("kind") {
            Some(Value::String(kind)) if !kind.is_empty() => Ok(kind),
            Some(Value::Null) | None => Err(DecodeError::MissingKind),
            Some(Value::String(_)) => Err(DecodeError::MissingKind),
            Some(other) => Err(DecodeError::Field {
                path: "kind".into(),
                message: format!("expected a string, found {other}"),
            }),
        },
        _ => Err(DecodeError::NotAnObject),
    }
}

/// Decodes a document of any kind strictly, dispatching on its `kind` field.
pub fn decode_value(value: Value) -> Result<AnyResource, DecodeError> {
    decode_value_with(&value, DecodeOptions::STRICT)
}

/// Decodes a document of any kind with the given options.
pub fn decode_value_with(
    value: &Value,
    options: DecodeOptions,
) -> Result<AnyResource, DecodeError> {
    let kind = kind_of(value)?;
    let info = KindInfo::lookup(kind).ok_or_else(|| DecodeError::UnknownKind(kind.to_string()))?;
    (info.decode)(value, options)
}

#[cfg(test)]
mod tests;
