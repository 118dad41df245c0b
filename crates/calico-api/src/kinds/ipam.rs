//! The IPAM bookkeeping kinds: IPAMBlock, IPAMHandle, IPAMConfiguration and BlockAffinity.
//!
//! These are modelled in their `projectcalico.org/v3` API form (what the v3 CRDs hold). The
//! stored BlockAffinity differs in one field (`deleted` is a string there); see
//! [`block_affinity_to_storage_json`] and [`block_affinity_from_storage_json`].
//!
//! IPAMBlock fields without `omitempty` in Go are always written, and a nil Go slice or map is
//! written as `null`: those fields are `Option`s here so that both `null` and `[]` survive a
//! round trip.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::decode::{decode_resource, DecodeError};
use crate::meta::Time;
use crate::resource::{Kind, NoStatus, Resource, Scope};
use crate::serde_helpers::is_zero_i32;
use crate::validation::{checks, Validator};

/// `spec` of an IPAMBlock.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IPAMBlockSpec {
    /// The block's network.
    #[serde(default)]
    pub cidr: String,
    /// `host:<node>` or `virtual:<name>` when the block is affine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity_claim_time: Option<Time>,
    /// One entry per address of the block: the index into `attributes`, or `None` when free.
    #[serde(default)]
    pub allocations: Option<Vec<Option<i64>>>,
    /// Free ordinals, in allocation order.
    #[serde(default)]
    pub unallocated: Option<Vec<i64>>,
    #[serde(default)]
    pub attributes: Option<Vec<AllocationAttribute>>,
    /// Incremented on every write of the block.
    #[serde(default)]
    pub sequence_number: u64,
    /// Ordinal (as a string) → block sequence number when it was allocated.
    #[serde(default)]
    pub sequence_number_for_allocation: Option<BTreeMap<String, u64>>,
    #[serde(default)]
    pub deleted: bool,
    /// Deprecated and unused by Calico, but always written.
    #[serde(rename = "strictAffinity", default)]
    pub deprecated_strict_affinity: bool,
}

/// Metadata of one allocation in a block.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AllocationAttribute {
    #[serde(rename = "handle_id", default, skip_serializing_if = "Option::is_none")]
    pub handle_id: Option<String>,
    /// Owner attributes (`pod`, `namespace`, `node`, `type`, …).
    #[serde(
        rename = "secondary",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub secondary: BTreeMap<String, String>,
    /// Attributes of an alternate owner (KubeVirt live migration target).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub alternate_owner_attrs: BTreeMap<String, String>,
    /// When the address was released (it stays reserved during the cooldown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_at: Option<Time>,
}

/// `spec` of an IPAMHandle.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IPAMHandleSpec {
    /// The handle ID in its original case (the resource name is lower-cased).
    #[serde(rename = "handleID", default)]
    pub handle_id: String,
    /// Block CIDR → number of addresses this handle holds in it.
    #[serde(default)]
    pub block: Option<BTreeMap<String, i64>>,
    #[serde(default)]
    pub deleted: bool,
}

/// `spec` of the IPAMConfiguration singleton.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IPAMConfigurationSpec {
    #[serde(default)]
    pub strict_affinity: bool,
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub max_blocks_per_host: i32,
    #[serde(default)]
    pub auto_allocate_blocks: bool,
    /// `Enabled` or `Disabled`.
    #[serde(
        rename = "kubeVirtVMAddressPersistence",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub kube_virt_vm_address_persistence: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub ip_cooldown_seconds: i32,
}

/// `spec` of a BlockAffinity (v3 API form: `deleted` is a boolean).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlockAffinitySpec {
    /// `""`, `confirmed`, `pending` or `pendingDeletion`.
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub node: String,
    /// `host` or `virtual`.
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub affinity_type: String,
    #[serde(default)]
    pub cidr: String,
    #[serde(default)]
    pub deleted: bool,
}

/// A block of addresses carved from a pool, with its allocations.
pub type IPAMBlock = Resource<IPAMBlockSpec>;
/// The addresses one allocation handle holds, per block.
pub type IPAMHandle = Resource<IPAMHandleSpec>;
/// The IPAM settings singleton (`default`).
pub type IPAMConfiguration = Resource<IPAMConfigurationSpec>;
/// A node's (or virtual host's) claim on a block.
pub type BlockAffinity = Resource<BlockAffinitySpec>;

/// The only valid IPAMConfiguration name.
pub const IPAM_CONFIGURATION_NAME: &str = "default";
/// Values of `kubeVirtVMAddressPersistence`.
pub const KUBEVIRT_PERSISTENCE_VALUES: &[&str] = &["Enabled", "Disabled"];
/// Values of a BlockAffinity's `state`.
pub const BLOCK_AFFINITY_STATES: &[&str] = &["", "confirmed", "pending", "pendingDeletion"];

static BLOCK_AFFINITY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(host|virtual):[a-zA-Z0-9.\-_]+$").unwrap_or_else(|_| unreachable!())
});

/// CRD `format: cidr`: `address/length` (host bits allowed).
fn cidr_notation(v: &mut Validator, value: &str) {
    if !value.contains('/') || value.parse::<ipnet::IpNet>().is_err() {
        v.error(value, "must be of type cidr");
    }
}

impl Kind for IPAMBlockSpec {
    const KIND: &'static str = "IPAMBlock";
    const PLURAL: &'static str = "ipamblocks";
    const SCOPE: Scope = Scope::Cluster;
    type Status = NoStatus;

    fn validate(resource: &Resource<Self>, v: &mut Validator) {
        let spec = &resource.spec;
        v.field("spec", |v| {
            v.field("cidr", |v| cidr_notation(v, &spec.cidr));
            if let Some(affinity) = &spec.affinity {
                if !BLOCK_AFFINITY.is_match(affinity) {
                    v.error_at(
                        "affinity",
                        affinity,
                        "must match '^(host|virtual):[a-zA-Z0-9\\.\\-_]+$'",
                    );
                }
            }
        });
    }
}

impl Kind for IPAMHandleSpec {
    const KIND: &'static str = "IPAMHandle";
    const PLURAL: &'static str = "ipamhandles";
    const SCOPE: Scope = Scope::Cluster;
    type Status = NoStatus;

    fn validate(_resource: &Resource<Self>, _v: &mut Validator) {}
}

impl Kind for IPAMConfigurationSpec {
    const KIND: &'static str = "IPAMConfiguration";
    const PLURAL: &'static str = "ipamconfigurations";
    const SCOPE: Scope = Scope::Cluster;
    type Status = NoStatus;

    fn validate(resource: &Resource<Self>, v: &mut Validator) {
        let spec = &resource.spec;
        if spec.max_blocks_per_host < 0 {
            v.go(
                "MaxBlocksPerHost",
                spec.max_blocks_per_host,
                "must be greater than or equal to 0",
            );
        }
        v.field("spec", |v| {
            v.field("maxBlocksPerHost", |v| {
                checks::in_range(v, spec.max_blocks_per_host.into(), 0, 1_000_000);
            });
            if !(0..=1200).contains(&spec.ip_cooldown_seconds) {
                v.field("ipCooldownSeconds", |v| {
                    checks::in_range(v, spec.ip_cooldown_seconds.into(), 0, 1200)
                });
            }
            if let Some(mode) = &spec.kube_virt_vm_address_persistence {
                v.field("kubeVirtVMAddressPersistence", |v| {
                    checks::one_of(v, mode, KUBEVIRT_PERSISTENCE_VALUES)
                });
            }
        });
    }
}

impl Kind for BlockAffinitySpec {
    const KIND: &'static str = "BlockAffinity";
    const PLURAL: &'static str = "blockaffinities";
    const SCOPE: Scope = Scope::Cluster;
    type Status = NoStatus;

    fn validate(resource: &Resource<Self>, v: &mut Validator) {
        let spec = &resource.spec;
        v.field("spec", |v| {
            v.field("state", |v| {
                checks::one_of(v, &spec.state, BLOCK_AFFINITY_STATES)
            });
            v.field("cidr", |v| cidr_notation(v, &spec.cidr));
            if spec.deleted {
                v.error_at(
                    "deleted",
                    spec.deleted,
                    "spec.Deleted cannot be set to \"true\"",
                );
            }
        });
    }
}

/// Go's `strconv.FormatBool`.
fn storage_bool(deleted: bool) -> &'static str {
    if deleted {
        "true"
    } else {
        "false"
    }
}

/// Go's `strconv.ParseBool`, with the empty string (written by old releases) as false.
fn parse_storage_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "" | "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The stored (internal API) form of a BlockAffinity document: as the v3 document, but with
/// `spec.deleted` as the string `"true"` or `"false"`, which is what libcalico-go writes to
/// etcd for compatibility with older releases.
pub fn block_affinity_to_storage_json(
    affinity: &BlockAffinity,
) -> Result<Value, serde_json::Error> {
    let mut value = serde_json::to_value(affinity)?;
    if let Some(spec) = value.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert(
            "deleted".into(),
            Value::String(storage_bool(affinity.spec.deleted).into()),
        );
    }
    Ok(value)
}

/// Reads a stored BlockAffinity document (string `deleted`; a boolean is accepted too) into the
/// v3 form.
pub fn block_affinity_from_storage_json(mut value: Value) -> Result<BlockAffinity, DecodeError> {
    let stored = value.pointer_mut("/spec/deleted");
    if let Some(deleted) = stored {
        if let Value::String(text) = deleted {
            let parsed = parse_storage_bool(text).ok_or_else(|| DecodeError::Field {
                path: "spec.deleted".into(),
                message: format!("invalid boolean string {text:?}"),
            })?;
            *deleted = Value::Bool(parsed);
        }
    }
    decode_resource::<BlockAffinitySpec>(value)
}

#[cfg(test)]
#[path = "ipam_tests.rs"]
mod tests;
