//! Calico's update processors (libcalico-go's `syncersv1/updateprocessors`): each turns a v3
//! resource (or its deletion) into the v1 model keys and values Felix and confd consume.
//!
//! Keys are v1 default paths ([`SyncKey::V1`]); values are built as [`GoJson`] trees in the
//! field order of Calico's Go structs, so that [`Emitted::go_bytes`] is byte-identical to what
//! libcalico-go's `model.SerializeValue` writes (checked against goldens captured from Calico
//! in `tests/goldens/`). Through the [`UpdateProcessor`] trait the values become
//! [`SyncValue::V1`] JSON text (Go's bytes, member order kept).

mod config;
mod endpoints;
mod felix_fields;
pub mod json;
mod keys;
mod node;
mod policy;
mod rules;
mod sets;

#[cfg(test)]
mod tests;

pub use config::ConfigProcessor;
pub use endpoints::{HostEndpointProcessor, WorkloadEndpointProcessor};
pub use json::GoJson;
pub use node::FelixNodeProcessor;
pub use policy::{PolicyProcessor, ProfileProcessor};
pub use sets::{GlobalNetworkSetProcessor, IpPoolProcessor, NetworkSetProcessor, TierProcessor};

use calico_api::model::ModelValue;
use calico_api::AnyResource;

use crate::resource_type::{ProcessError, UpdateProcessor};
use crate::types::{SourceKey, SourceKv, SourceValue, SyncKey, SyncKv, SyncValue};

/// One output of a processor: a key and its value (`None`: delete).
#[derive(Clone, Debug, PartialEq)]
pub struct Emitted {
    pub key: SyncKey,
    pub value: Option<EmittedValue>,
}

/// A processor's output value.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum EmittedValue {
    /// A v1 model value.
    V1(GoJson),
    /// A v3 resource passed on as it is (the Node from the Felix node processor, a Profile, a
    /// selector-scoped FelixConfiguration).
    Resource(AnyResource),
    /// A model value (the blocks the Felix node processor makes of pod CIDRs).
    Model(ModelValue),
}

impl Emitted {
    fn v1(path: String, value: Option<GoJson>) -> Self {
        Emitted {
            key: SyncKey::V1(path),
            value: value.map(EmittedValue::V1),
        }
    }

    /// The value's bytes as Calico's `model.SerializeValue` writes them (v1 config strings are
    /// given as JSON strings); `None` for a delete.
    pub fn go_bytes(&self) -> Option<Vec<u8>> {
        self.value.as_ref().map(|value| match value {
            EmittedValue::V1(json) => json.to_go_bytes(),
            EmittedValue::Resource(resource) => {
                calico_api::json::to_vec(resource).unwrap_or_else(|_| b"null".to_vec())
            }
            EmittedValue::Model(value) => value.encode().unwrap_or_else(|_| b"null".to_vec()),
        })
    }

    fn into_sync(self, revision: &str) -> SyncKv {
        let value = self.value.map(|value| match value {
            EmittedValue::V1(json) => SyncValue::V1(
                String::from_utf8(json.to_go_bytes()).unwrap_or_else(|_| "null".to_string()),
            ),
            EmittedValue::Resource(resource) => SyncValue::Resource(resource),
            EmittedValue::Model(value) => SyncValue::Model(value),
        });
        SyncKv {
            key: self.key,
            revision: if value.is_some() {
                revision.to_string()
            } else {
                String::new()
            },
            value,
        }
    }
}

/// A processor written against [`Emitted`] outputs; every one is an [`UpdateProcessor`].
pub trait V1Processor: Send {
    fn process_v1(&mut self, kv: &SourceKv) -> Result<Vec<Emitted>, ProcessError>;

    fn on_start(&mut self) {}
}

impl<T: V1Processor> UpdateProcessor for T {
    fn process(&mut self, kv: &SourceKv) -> Result<Vec<SyncKv>, ProcessError> {
        Ok(self
            .process_v1(kv)?
            .into_iter()
            .map(|emitted| emitted.into_sync(&kv.revision))
            .collect())
    }

    fn on_syncer_starting(&mut self) {
        self.on_start();
    }
}

/// The v3 resource key and value of a source object, or an error naming the key.
pub(crate) fn resource_of(
    kv: &SourceKv,
) -> Result<(&calico_datastore::ResourceKey, Option<&AnyResource>), ProcessError> {
    let key = match &kv.key {
        SourceKey::Resource(key) => key,
        SourceKey::Model(key) => {
            return Err(ProcessError {
                key: key.default_path(),
                message: "Incorrect key type - expecting a v3 resource".into(),
            })
        }
    };
    let value = match &kv.value {
        None => None,
        Some(SourceValue::Resource(resource)) => Some(resource),
        Some(SourceValue::Model(_)) => {
            return Err(error(kv, "Incorrect value type - expecting a v3 resource"))
        }
    };
    Ok((key, value))
}

pub(crate) fn error(kv: &SourceKv, message: impl Into<String>) -> ProcessError {
    let key = match &kv.key {
        SourceKey::Resource(key) => key.default_path(),
        SourceKey::Model(key) => key.default_path(),
    };
    ProcessError {
        key,
        message: message.into(),
    }
}

/// The source object passed on unchanged.
pub(crate) fn passthrough(kv: &SourceKv) -> Emitted {
    let sync = kv.passthrough();
    Emitted {
        key: sync.key,
        value: sync.value.and_then(|value| match value {
            SyncValue::Resource(resource) => Some(EmittedValue::Resource(resource)),
            _ => None,
        }),
    }
}
