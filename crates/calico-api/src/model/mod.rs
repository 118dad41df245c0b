//! libcalico-go's backend *model* for IPAM: the values Calico's IPAM keeps in etcd under
//! `/calico/ipam/v2/…` and their keys (not `projectcalico.org/v3` resources: no envelope, no
//! metadata; the Kubernetes driver stores the same objects as the v3 `IPAMBlock`,
//! `BlockAffinity`, `IPAMHandle` and `IPAMConfig(uration)` custom resources in [`crate::kinds`]).
//!
//! - [`ModelKey`]: which object, and its etcd path (format and parse).
//! - [`ModelValue`]: the object, with [`ModelValue::encode`] writing exactly the bytes Go's
//!   `encoding/json` writes for Calico's struct and [`ModelValue::decode`] reading what Go's
//!   `json.Unmarshal` reads. Members a newer Calico stored that these types do not know are
//!   kept on the value and written back after the known ones ([`crate::unknown`]).
//!
//! No IO: the datastore crate stores these through its backends.

mod ipam;
mod key;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::decode::go::{self, DecodeOptions};
use crate::decode::DecodeError;
use crate::unknown::Unknown;

pub use ipam::{
    AffinityState, AllocationAttribute, AllocationBlock, BlockAffinity, IPAMConfig, IPAMHandle,
};
pub use key::{
    cidr_segment, parse_cidr_segment, parse_prefix, AffinityType, BlockAffinityKey, BlockKey,
    HandleKey, IpVersion, ModelKey, ModelKind, ModelListOptions, IPAM_CONFIG_PATH, IPAM_ROOT,
};

/// A stored value could not be read or written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// Not JSON at all.
    #[error("{0}")]
    Syntax(String),
    /// JSON that Go would not decode into the type (its text where Go has one).
    #[error("{0}")]
    Decode(#[from] DecodeError),
    /// The value could not be encoded.
    #[error("{0}")]
    Encode(String),
}

/// One IPAM object's value.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelValue {
    Block(AllocationBlock),
    BlockAffinity(BlockAffinity),
    Handle(IPAMHandle),
    Config(IPAMConfig),
}

impl ModelValue {
    pub fn kind(&self) -> ModelKind {
        match self {
            ModelValue::Block(_) => ModelKind::Block,
            ModelValue::BlockAffinity(_) => ModelKind::BlockAffinity,
            ModelValue::Handle(_) => ModelKind::Handle,
            ModelValue::Config(_) => ModelKind::Config,
        }
    }

    /// The bytes Calico stores for this value.
    pub fn encode(&self) -> Result<Vec<u8>, ModelError> {
        match self {
            ModelValue::Block(v) => encode_kept(v, &v.unknown),
            ModelValue::BlockAffinity(v) => encode_kept(v, &v.unknown),
            ModelValue::Handle(v) => encode_kept(v, &v.unknown),
            ModelValue::Config(v) => encode_kept(v, &v.unknown),
        }
    }

    /// Reads stored bytes of an object of kind `kind`. An empty block affinity value (what
    /// releases before Calico 3 stored) reads as `{}`, as in Calico.
    pub fn decode(kind: ModelKind, bytes: &[u8]) -> Result<ModelValue, ModelError> {
        Ok(match kind {
            ModelKind::Block => {
                let (mut v, unknown) = decode_kept::<AllocationBlock>(bytes)?;
                v.unknown = unknown;
                ModelValue::Block(v)
            }
            ModelKind::BlockAffinity => {
                let bytes: &[u8] = if bytes.is_empty() { b"{}" } else { bytes };
                let (mut v, unknown) = decode_kept::<BlockAffinity>(bytes)?;
                v.unknown = unknown;
                ModelValue::BlockAffinity(v)
            }
            ModelKind::Handle => {
                let (mut v, unknown) = decode_kept::<IPAMHandle>(bytes)?;
                v.unknown = unknown;
                ModelValue::Handle(v)
            }
            ModelKind::Config => {
                let (mut v, unknown) = decode_kept::<IPAMConfig>(bytes)?;
                v.unknown = unknown;
                ModelValue::Config(v)
            }
        })
    }
}

impl From<AllocationBlock> for ModelValue {
    fn from(value: AllocationBlock) -> Self {
        ModelValue::Block(value)
    }
}

impl From<BlockAffinity> for ModelValue {
    fn from(value: BlockAffinity) -> Self {
        ModelValue::BlockAffinity(value)
    }
}

impl From<IPAMHandle> for ModelValue {
    fn from(value: IPAMHandle) -> Self {
        ModelValue::Handle(value)
    }
}

impl From<IPAMConfig> for ModelValue {
    fn from(value: IPAMConfig) -> Self {
        ModelValue::Config(value)
    }
}

fn encode_kept<T: Serialize>(value: &T, unknown: &Unknown) -> Result<Vec<u8>, ModelError> {
    let known = crate::json::to_vec(value).map_err(|e| ModelError::Encode(e.to_string()))?;
    unknown
        .merge_into(&known, |member| crate::json::to_vec(member).ok())
        .ok_or_else(|| ModelError::Encode("cannot write back unknown fields".into()))
}

fn decode_kept<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, Unknown), ModelError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| ModelError::Syntax(e.to_string()))?;
    let (decoded, unknown) = go::from_value::<T>(&value, DecodeOptions::STORED)
        .map_err(|e| ModelError::Decode(e.into()))?;
    Ok((decoded, Unknown::from_members(unknown)))
}

#[cfg(test)]
mod tests;
