//! Printing `get` results: YAML, JSON, and (through [`crate::table`]) tables.

use calico_api::AnyResource;
use serde::{Serialize, Serializer};

pub use calico_manifest::list::{render_items, ListMeta, ListWriter};

/// One thing `get` found: a resource, or a `<Kind>List` for a list query.
#[derive(Clone, Debug, PartialEq)]
pub enum GetResult {
    Object(AnyResource),
    List {
        kind: &'static str,
        metadata: ListMeta,
        items: Vec<AnyResource>,
    },
}

impl Serialize for GetResult {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            GetResult::Object(resource) => resource.serialize(serializer),
            GetResult::List {
                kind,
                metadata,
                items,
            } => calico_manifest::list::List {
                kind,
                metadata,
                items,
            }
            .serialize(serializer),
        }
    }
}

/// Why output could not be produced.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OutputError(pub String);

fn encode_error(err: serde_json::Error) -> OutputError {
    OutputError(format!("failed to encode the output: {err}"))
}

/// One result alone, several as a sequence, none as `null` — as calicoctl prints them.
fn shaped(results: &[GetResult]) -> Result<serde_json::Value, OutputError> {
    match results {
        [] => Ok(serde_json::Value::Null),
        [only] => serde_json::to_value(only).map_err(encode_error),
        many => serde_json::to_value(many).map_err(encode_error),
    }
}

/// `-o yaml`.
pub fn yaml(results: &[GetResult]) -> Result<String, OutputError> {
    Ok(calico_manifest::yaml::to_yaml_string(&shaped(results)?))
}

/// `-o json`: Go's `MarshalIndent` with two spaces, field order kept, no trailing newline
/// (current calicoctl writes the bytes as they are; releases before the cobra rewrite added one).
pub fn json(results: &[GetResult]) -> Result<String, OutputError> {
    let bytes = match results {
        [] => b"null".to_vec(),
        [only] => calico_api::json::to_vec_pretty(only).map_err(encode_error)?,
        many => calico_api::json::to_vec_pretty(many).map_err(encode_error)?,
    };
    String::from_utf8(bytes).map_err(|e| OutputError(e.to_string()))
}
