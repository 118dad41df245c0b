//! An ordered JSON tree for v1 model values.
//!
//! Calico's v1 values are Go structs: `encoding/json` writes their fields in declaration order
//! (and map keys sorted). `serde_json::Value` sorts object keys, so the processors build this
//! tree instead, field by field in Go's order, and encode it with
//! [`calico_api::json::to_vec`] (Go's escaping) to get the bytes Calico writes.

use std::collections::BTreeMap;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// A JSON value whose objects keep their members in the order they were added.
#[derive(Clone, Debug, PartialEq)]
pub enum GoJson {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<GoJson>),
    Object(Vec<(String, GoJson)>),
}

impl GoJson {
    /// An empty object, to be filled with [`GoJson::field`].
    pub fn object() -> Self {
        GoJson::Object(Vec::new())
    }

    /// Appends a member (objects only; other values are returned unchanged).
    pub fn field(mut self, name: &str, value: GoJson) -> Self {
        if let GoJson::Object(members) = &mut self {
            members.push((name.to_string(), value));
        }
        self
    }

    /// Appends a member unless `omit` (Go's `omitempty`).
    pub fn field_unless(self, omit: bool, name: &str, value: GoJson) -> Self {
        if omit {
            self
        } else {
            self.field(name, value)
        }
    }

    pub fn str(text: impl Into<String>) -> Self {
        GoJson::String(text.into())
    }

    pub fn int(value: i64) -> Self {
        GoJson::Number(value.into())
    }

    /// A Go `[]string`: `null` when empty (a nil slice).
    pub fn strings<S: AsRef<str>>(items: &[S]) -> Self {
        if items.is_empty() {
            GoJson::Null
        } else {
            GoJson::Array(items.iter().map(|s| GoJson::str(s.as_ref())).collect())
        }
    }

    /// A Go `map[string]string` (keys sorted, as Go writes them).
    pub fn map(map: &BTreeMap<String, String>) -> Self {
        GoJson::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), GoJson::str(v.as_str())))
                .collect(),
        )
    }

    /// Converts a `serde_json::Value` (object members come out sorted).
    pub fn from_value(value: &serde_json::Value) -> Self {
        match value {
            serde_json::Value::Null => GoJson::Null,
            serde_json::Value::Bool(b) => GoJson::Bool(*b),
            serde_json::Value::Number(n) => GoJson::Number(n.clone()),
            serde_json::Value::String(s) => GoJson::String(s.clone()),
            serde_json::Value::Array(items) => {
                GoJson::Array(items.iter().map(GoJson::from_value).collect())
            }
            serde_json::Value::Object(members) => GoJson::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), GoJson::from_value(v)))
                    .collect(),
            ),
        }
    }

    /// The bytes Go's `encoding/json` writes for the value.
    pub fn to_go_bytes(&self) -> Vec<u8> {
        calico_api::json::to_vec(self).unwrap_or_else(|_| b"null".to_vec())
    }
}

impl Serialize for GoJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            GoJson::Null => serializer.serialize_unit(),
            GoJson::Bool(b) => serializer.serialize_bool(*b),
            GoJson::Number(n) => n.serialize(serializer),
            GoJson::String(s) => serializer.serialize_str(s),
            GoJson::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            GoJson::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}
