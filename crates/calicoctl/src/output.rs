//! Printing `get` results: YAML, JSON, and (through [`crate::table`]) tables.

use calico_api::AnyResource;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

/// `metadata` of a list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListMeta {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
}

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
            } => {
                // Go's List types: kind, apiVersion, metadata, items.
                let mut list = serializer.serialize_struct("List", 4)?;
                list.serialize_field("kind", &format!("{kind}List"))?;
                list.serialize_field("apiVersion", calico_api::API_VERSION)?;
                list.serialize_field("metadata", metadata)?;
                list.serialize_field("items", items)?;
                list.end()
            }
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
