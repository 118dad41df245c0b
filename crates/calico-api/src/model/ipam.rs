//! The values Calico's IPAM stores in etcd (`libcalico-go/lib/backend/model`: `block.go`,
//! `block_affinity.go`, `ipam_handle.go`, `ipam_config.go`), with Go's encoding: fields in
//! struct order, `null` where Go writes a nil pointer, slice or map, `omitempty` as Go applies
//! it, map keys in byte order. Where Go writes `null` for a nil slice or map and `[]`/`{}` for an
//! empty one, the field is an `Option` so that both survive a read-modify-write.

use std::collections::BTreeMap;
use std::fmt;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::kinds::AllocationAttribute;
use crate::meta::Time;
use crate::unknown::Unknown;

/// An allocation block (`model.AllocationBlock`), stored at
/// `/calico/ipam/v2/assignment/ipv<4|6>/block/<cidr>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AllocationBlock {
    /// The block's network, as stored (Calico keeps host bits it was given).
    #[serde(with = "go_ipnet")]
    pub cidr: IpNet,
    /// `host:<node>` or `virtual:<name>`; `null` (not omitted) when the block is not affine.
    #[serde(default)]
    pub affinity: Option<String>,
    /// When the affinity was claimed; absent on blocks older than the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity_claim_time: Option<Time>,
    /// One entry per address: the index into `attributes`, or `None` when free. Go's `int`:
    /// a stored index is not checked against `attributes` here.
    #[serde(default)]
    pub allocations: Option<Vec<Option<i64>>>,
    /// Free ordinals, a FIFO.
    #[serde(default)]
    pub unallocated: Option<Vec<i64>>,
    /// `null` on a block that never had an allocation.
    #[serde(default)]
    pub attributes: Option<Vec<AllocationAttribute>>,
    /// Goes up by one on every write; starts at the creation time in nanoseconds (above 2^53).
    #[serde(rename = "sequenceNumber", default)]
    pub sequence_number: u64,
    /// Ordinal (decimal) → the block's sequence number when it was allocated.
    #[serde(rename = "sequenceNumberForAllocation", default)]
    pub sequence_number_for_allocation: Option<BTreeMap<String, u64>>,
    /// The Kubernetes driver's soft-delete marker; `false` in etcd.
    #[serde(default)]
    pub deleted: bool,
    /// Deprecated host affinity (`<node>`), read from old blocks, never written by Calico.
    #[serde(
        rename = "hostAffinity",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub host_affinity: Option<String>,
    /// Members a newer Calico stored that this type does not know; written back.
    #[serde(skip)]
    pub unknown: Unknown,
}

/// The state of a block affinity (`model.BlockAffinityState`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum AffinityState {
    /// `""`: written by old releases (or an empty value); Calico treats it as confirmed.
    #[default]
    Unset,
    Pending,
    Confirmed,
    PendingDeletion,
    /// Any other text, kept as stored.
    Other(String),
}

impl AffinityState {
    pub fn as_str(&self) -> &str {
        match self {
            AffinityState::Unset => "",
            AffinityState::Pending => "pending",
            AffinityState::Confirmed => "confirmed",
            AffinityState::PendingDeletion => "pendingDeletion",
            AffinityState::Other(text) => text,
        }
    }

    pub fn from_text(text: &str) -> Self {
        match text {
            "" => AffinityState::Unset,
            "pending" => AffinityState::Pending,
            "confirmed" => AffinityState::Confirmed,
            "pendingDeletion" => AffinityState::PendingDeletion,
            other => AffinityState::Other(other.to_string()),
        }
    }
}

impl fmt::Display for AffinityState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AffinityState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AffinityState {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(AffinityState::from_text(&text))
    }
}

/// A block affinity's value (`model.BlockAffinity`), stored at
/// `/calico/ipam/v2/<type>/<host>/ipv<4|6>/block/<cidr>`; host and CIDR are only in the key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockAffinity {
    #[serde(default)]
    pub state: AffinityState,
    #[serde(default)]
    pub deleted: bool,
    #[serde(skip)]
    pub unknown: Unknown,
}

/// An allocation handle (`model.IPAMHandle`), stored at `/calico/ipam/v2/handle/<id>`; the ID is
/// only in the key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename = "IPAMHandle")]
pub struct IPAMHandle {
    /// Block CIDR → how many of the handle's addresses are in that block.
    #[serde(default)]
    pub block: Option<BTreeMap<String, i64>>,
    #[serde(default)]
    pub deleted: bool,
    #[serde(skip)]
    pub unknown: Unknown,
}

/// The IPAM settings (`model.IPAMConfig`), stored at `/calico/ipam/v2/config`. Every field is
/// `omitempty`: `false`, `0` and a missing persistence setting are left out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename = "IPAMConfig")]
pub struct IPAMConfig {
    #[serde(default, skip_serializing_if = "is_false")]
    pub strict_affinity: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub auto_allocate_blocks: bool,
    #[serde(rename = "maxBlocksPerHost", default, skip_serializing_if = "is_zero")]
    pub max_blocks_per_host: i64,
    /// `Enabled` or `Disabled`; `None` means Enabled.
    #[serde(
        rename = "kubeVirtVMAddressPersistence",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub kube_virt_vm_address_persistence: Option<String>,
    #[serde(rename = "ipCooldownSeconds", default, skip_serializing_if = "is_zero")]
    pub ip_cooldown_seconds: i64,
    #[serde(skip)]
    pub unknown: Unknown,
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// Calico's `net.IPNet` in JSON: the network as text, host bits kept; a bare address reads as
/// a /32 or /128 (`ParseCIDROrIP`).
mod go_ipnet {
    use std::net::IpAddr;

    use ipnet::IpNet;
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(cidr: &IpNet, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(cidr)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<IpNet, D::Error> {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = IpNet;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a CIDR")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<IpNet, E> {
                let parsed = if text.contains('/') {
                    text.parse::<IpNet>().ok()
                } else {
                    text.parse::<IpAddr>().ok().map(IpNet::from)
                };
                parsed.ok_or_else(|| E::custom(format!("invalid CIDR address: {text}")))
            }
        }
        deserializer.deserialize_any(Text)
    }
}
