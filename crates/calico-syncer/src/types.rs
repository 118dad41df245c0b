//! What a syncer delivers: keys, values, updates and statuses, in Calico's terms
//! (libcalico-go's `api.Update`, `api.SyncStatus` and `model` keys).

use std::fmt;

use calico_api::model::{ModelKey, ModelValue};
use calico_api::AnyResource;
use calico_datastore::ResourceKey;
use serde::Serialize;

/// The aggregated (or one resource type's) sync status, printed as Calico prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum SyncStatus {
    /// Not connected yet, or the datastore has been unreachable for longer than the watch
    /// retry timeout (`wait-for-ready`).
    #[serde(rename = "wait-for-ready")]
    WaitForDatastore,
    /// A full listing is under way (`resync`).
    #[serde(rename = "resync")]
    ResyncInProgress,
    /// Every resource type has been listed and is being watched (`in-sync`).
    #[serde(rename = "in-sync")]
    InSync,
}

impl SyncStatus {
    /// Calico's text for the status.
    pub fn as_str(&self) -> &'static str {
        match self {
            SyncStatus::WaitForDatastore => "wait-for-ready",
            SyncStatus::ResyncInProgress => "resync",
            SyncStatus::InSync => "in-sync",
        }
    }
}

impl fmt::Display for SyncStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Calico's `api.UpdateType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UpdateType {
    New,
    Updated,
    Deleted,
}

impl UpdateType {
    pub fn as_str(&self) -> &'static str {
        match self {
            UpdateType::New => "new",
            UpdateType::Updated => "updated",
            UpdateType::Deleted => "deleted",
        }
    }
}

/// A key a syncer delivers: a v3 resource's, an IPAM model object's, or one of libcalico-go's
/// v1 model keys an update processor made, by its default path (what Typha puts on the wire,
/// e.g. `/calico/v1/policy/...`, `/calico/v1/config/LogSeverityScreen`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SyncKey {
    Resource(ResourceKey),
    Model(ModelKey),
    V1(String),
}

impl SyncKey {
    /// Calico's default path of the key: unique, and what Typha sends.
    pub fn path(&self) -> String {
        match self {
            SyncKey::Resource(key) => key.default_path(),
            SyncKey::Model(key) => key.default_path(),
            SyncKey::V1(path) => path.clone(),
        }
    }
}

impl fmt::Display for SyncKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// A value a syncer delivers, typed where Rust has the type.
#[derive(Clone, Debug, PartialEq)]
// Values are moved, rarely copied; boxing the resource would only make matching clumsier.
#[allow(clippy::large_enum_variant)]
pub enum SyncValue {
    Resource(AnyResource),
    Model(ModelValue),
    /// A v1 model value exactly as Calico serializes it for Typha (`model.SerializeValue`):
    /// Go's JSON text, members in Go's order (configuration values are JSON strings, the
    /// ready flag a boolean).
    V1(String),
}

impl SyncValue {
    /// The value as JSON, as Calico's Typha serializes it.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            SyncValue::Resource(resource) => {
                serde_json::to_value(resource).unwrap_or(serde_json::Value::Null)
            }
            SyncValue::Model(value) => model_json(value),
            SyncValue::V1(text) => serde_json::from_str(text).unwrap_or(serde_json::Value::Null),
        }
    }
}

fn model_json(value: &ModelValue) -> serde_json::Value {
    // The bytes Calico stores (unknown fields kept), read back as JSON.
    value
        .encode()
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// A key, its value (`None`: deleted) and the revision it was read at (libcalico-go's
/// `KVPair`).
#[derive(Clone, Debug, PartialEq)]
pub struct SyncKv {
    pub key: SyncKey,
    pub value: Option<SyncValue>,
    pub revision: String,
}

/// One update a syncer delivers (libcalico-go's `api.Update`). Deletions carry the key only.
#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    pub kv: SyncKv,
    pub update_type: UpdateType,
}

/// What the datastore holds, as a syncer's resource type reads it: a v3 resource or an IPAM
/// model object (`value` `None`: deleted).
#[derive(Clone, Debug, PartialEq)]
pub struct SourceKv {
    pub key: SourceKey,
    pub value: Option<SourceValue>,
    pub revision: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SourceKey {
    Resource(ResourceKey),
    Model(ModelKey),
}

#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum SourceValue {
    Resource(AnyResource),
    Model(ModelValue),
}

impl SourceKv {
    /// The same key and value as the syncer delivers them when a resource type has no update
    /// processor.
    pub fn passthrough(&self) -> SyncKv {
        SyncKv {
            key: match &self.key {
                SourceKey::Resource(key) => SyncKey::Resource(key.clone()),
                SourceKey::Model(key) => SyncKey::Model(key.clone()),
            },
            value: self.value.as_ref().map(|value| match value {
                SourceValue::Resource(resource) => SyncValue::Resource(resource.clone()),
                SourceValue::Model(value) => SyncValue::Model(value.clone()),
            }),
            revision: self.revision.clone(),
        }
    }
}
