//! The kinds that have a CRD, with what the CRDs say about them beyond the schema.

use calico_api::*;
use schemars::JsonSchema;
use serde_json::Value;

use crate::columns::*;
use crate::schema::{schema_of, KindSchema};
use crate::CrdError;

/// One `additionalPrinterColumns` entry.
#[derive(Debug)]
pub struct PrinterColumn {
    pub name: &'static str,
    pub type_: &'static str,
    pub json_path: &'static str,
    pub description: &'static str,
}

/// A kind that has a CRD in both groups.
pub struct CrdKind {
    /// The v3 kind; its plural and scope come from calico-api.
    pub kind: &'static str,
    pub plural: &'static str,
    pub scope: Scope,
    /// The kind and plural in `crd.projectcalico.org/v1` (only IPAMConfiguration differs).
    pub v1_kind: &'static str,
    pub v1_plural: &'static str,
    /// Short names; only the v3 CRDs have them.
    pub short_names: &'static [&'static str],
    /// Whether `status` is a subresource (the CRD then serves `/status`).
    pub status_subresource: bool,
    /// v3 only.
    pub printer_columns: &'static [PrinterColumn],
    /// v3 only: field selectors the API server accepts for this kind.
    pub selectable_fields: &'static [&'static str],
    /// The spec and status schemas, straight from the Rust types.
    pub schema: fn() -> Result<KindSchema, CrdError>,
}

impl std::fmt::Debug for CrdKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrdKind").field("kind", &self.kind).finish()
    }
}

fn kind_schema<K>() -> Result<KindSchema, CrdError>
where
    K: Kind + JsonSchema,
    <K::Status as StatusSlot>::Wire: JsonSchema,
{
    let spec = schema_of::<K>(K::KIND)?;
    let status = if <K::Status as StatusSlot>::PRESENT {
        Some(schema_of::<<K::Status as StatusSlot>::Wire>(K::KIND)?)
    } else {
        None
    };
    Ok(KindSchema { spec, status })
}

const NONE: &[PrinterColumn] = &[];
const TIER_FIELD: &[&str] = &[".spec.tier"];

macro_rules! crd_kinds {
    ($($spec:ty { $($field:ident: $value:expr),* $(,)? }),* $(,)?) => {
        /// Every kind with a CRD, sorted by kind. Node, WorkloadEndpoint and Profile have none:
        /// in KDD they are views of core Nodes, Pods, Namespaces and ServiceAccounts.
        pub static CRD_KINDS: &[CrdKind] = &[
            $(CrdKind {
                kind: <$spec as Kind>::KIND,
                plural: <$spec as Kind>::PLURAL,
                scope: <$spec as Kind>::SCOPE,
                schema: kind_schema::<$spec>,
                $($field: $value,)*
                ..DEFAULTS
            },)*
        ];
    };
}

// Struct update syntax needs a complete value; the per-kind lines override these.
const DEFAULTS: CrdKind = CrdKind {
    kind: "",
    plural: "",
    scope: Scope::Cluster,
    v1_kind: "",
    v1_plural: "",
    short_names: &[],
    status_subresource: false,
    printer_columns: NONE,
    selectable_fields: &[],
    schema: || Err(CrdError::NoSchema),
};

crd_kinds! {
    BGPConfigurationSpec { short_names: &["bgpconfig", "bgpconfigs"] },
    BGPFilterSpec {},
    BGPPeerSpec { printer_columns: BGPPEER_COLUMNS },
    BlockAffinitySpec { short_names: &["affinity", "affinities"], printer_columns: BLOCKAFFINITY_COLUMNS },
    CalicoNodeStatusSpec { status_subresource: true, printer_columns: CALICONODESTATUS_COLUMNS },
    ClusterInformationSpec { short_names: &["clusterinfo", "clusterinfos"], printer_columns: CLUSTERINFORMATION_COLUMNS },
    FelixConfigurationSpec {},
    GlobalNetworkPolicySpec {
        short_names: &["gnp", "cgnp"],
        printer_columns: GLOBALNETWORKPOLICY_COLUMNS,
        selectable_fields: TIER_FIELD,
    },
    GlobalNetworkSetSpec { short_names: &["gns"], printer_columns: GLOBALNETWORKSET_COLUMNS },
    HostEndpointSpec { short_names: &["hep", "heps"], printer_columns: HOSTENDPOINT_COLUMNS },
    IPAMBlockSpec { printer_columns: IPAMBLOCK_COLUMNS },
    IPAMConfigurationSpec {
        v1_kind: "IPAMConfig",
        v1_plural: "ipamconfigs",
        short_names: &["ipamconfig", "ipamconfigs"],
        printer_columns: IPAMCONFIGURATION_COLUMNS,
    },
    IPAMHandleSpec { printer_columns: IPAMHANDLE_COLUMNS },
    IPPoolSpec { status_subresource: true, printer_columns: IPPOOL_COLUMNS },
    IPReservationSpec {},
    KubeControllersConfigurationSpec { short_names: &["kcc", "kccs"], status_subresource: true },
    NetworkPolicySpec {
        short_names: &["cnp", "caliconetworkpolicy"],
        printer_columns: NETWORKPOLICY_COLUMNS,
        selectable_fields: TIER_FIELD,
    },
    NetworkSetSpec {},
    StagedGlobalNetworkPolicySpec {
        short_names: &["sgnp"],
        printer_columns: STAGEDGLOBALNETWORKPOLICY_COLUMNS,
        selectable_fields: TIER_FIELD,
    },
    StagedKubernetesNetworkPolicySpec { short_names: &["sknp"] },
    StagedNetworkPolicySpec {
        short_names: &["scnp", "snp"],
        printer_columns: STAGEDNETWORKPOLICY_COLUMNS,
        selectable_fields: TIER_FIELD,
    },
    TierSpec { status_subresource: true, printer_columns: TIER_COLUMNS },
}

impl CrdKind {
    /// The kind in `crd.projectcalico.org/v1`.
    pub fn v1_kind(&self) -> &'static str {
        if self.v1_kind.is_empty() {
            self.kind
        } else {
            self.v1_kind
        }
    }

    /// The plural in `crd.projectcalico.org/v1`.
    pub fn v1_plural(&self) -> &'static str {
        if self.v1_plural.is_empty() {
            self.plural
        } else {
            self.v1_plural
        }
    }

    pub(crate) fn printer_columns_json(&self) -> Vec<Value> {
        self.printer_columns
            .iter()
            .map(|c| {
                let mut column = serde_json::Map::new();
                if !c.description.is_empty() {
                    column.insert("description".into(), c.description.into());
                }
                column.insert("jsonPath".into(), c.json_path.into());
                column.insert("name".into(), c.name.into());
                column.insert("type".into(), c.type_.into());
                Value::Object(column)
            })
            .collect()
    }
}
