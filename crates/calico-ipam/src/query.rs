//! Reading the IPAM state the way `calicoctl ipam show` does: the IPAM configuration with
//! Calico's defaults, the pools and blocks, how full they are, which addresses are borrowed,
//! and what one address is assigned to (libcalico-go's `GetIPAMConfig`, `GetUtilization`,
//! `GetAssignmentAttributes` and calicoctl's `getBorrowedIPs`). Reads only: nothing here
//! writes to the datastore.

use std::collections::BTreeMap;
use std::net::IpAddr;

use calico_api::model::{AllocationBlock, BlockKey, IPAMConfig};
use calico_api::{AllocationAttribute, AnyResource, IPPool, IPReservation};
use calico_datastore::backend::ModelKv;
use calico_datastore::client::Client;
use calico_datastore::{
    DatastoreError, KindRef, ListOptions, ModelKey, ModelListOptions, ModelValue,
};
use chrono::Utc;
use futures::StreamExt;
use ipnet::IpNet;

use crate::block::{garbage_collect, ip_to_ordinal, ordinal_to_ip, sanitize_handle};
use crate::usage::{reserved_cidrs, PoolUsage, UsageCounter};

/// `Enabled`: the KubeVirt address persistence Calico assumes when no configuration is stored.
pub const VM_ADDRESS_PERSISTENCE_ENABLED: &str = "Enabled";

/// The IPAM configuration in force: the stored one, or Calico's defaults when none is stored
/// (automatic block allocation on, no strict affinity, no block limit, KubeVirt address
/// persistence `Enabled`, no cooldown).
pub async fn ipam_config(client: &Client) -> Result<IPAMConfig, DatastoreError> {
    match client.backend().get_model(&ModelKey::Config).await {
        Ok(kv) => config_from(Some(kv)),
        Err(err) if err.is_not_found() => config_from(None),
        Err(err) => Err(err),
    }
}

/// The IPAM configuration from what is stored (`None`: nothing, so Calico's defaults).
pub(crate) fn config_from(stored: Option<ModelKv>) -> Result<IPAMConfig, DatastoreError> {
    match stored.map(|kv| kv.value) {
        Some(ModelValue::Config(config)) => Ok(config),
        Some(other) => Err(DatastoreError::Store(format!(
            "unexpected value type {} for IPAM config",
            other.kind().go_name()
        ))),
        None => Ok(IPAMConfig {
            auto_allocate_blocks: true,
            kube_virt_vm_address_persistence: Some(VM_ADDRESS_PERSISTENCE_ENABLED.into()),
            ..IPAMConfig::default()
        }),
    }
}

fn kind(name: &str) -> Result<KindRef, DatastoreError> {
    KindRef::lookup(name)
        .ok_or_else(|| DatastoreError::Store(format!("kind {name} is not registered")))
}

/// Every resource of the kind named `kind_name` that `pick` keeps, in list order.
pub(crate) async fn list_of<T>(
    client: &Client,
    kind_name: &str,
    pick: fn(AnyResource) -> Option<T>,
) -> Result<Vec<T>, DatastoreError> {
    let list = client.list(&ListOptions::all(kind(kind_name)?)).await?;
    Ok(list.items.into_iter().filter_map(pick).collect())
}

/// Every IP pool, disabled ones included, in list order.
pub async fn pools(client: &Client) -> Result<Vec<IPPool>, DatastoreError> {
    list_of(client, "IPPool", |item| match item {
        AnyResource::IPPool(pool) => Some(*pool),
        _ => None,
    })
    .await
}

/// Every IP reservation.
pub async fn reservations(client: &Client) -> Result<Vec<IPReservation>, DatastoreError> {
    list_of(client, "IPReservation", |item| match item {
        AnyResource::IPReservation(reservation) => Some(*reservation),
        _ => None,
    })
    .await
}

/// Every allocation block, in key order (blocks that cannot be read are skipped, as Calico's
/// list does).
pub async fn blocks(client: &Client) -> Result<Vec<AllocationBlock>, DatastoreError> {
    let list = client
        .backend()
        .list_model(&ModelListOptions::all_blocks())
        .await?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|kv| match kv.value {
            ModelValue::Block(block) => Some(block),
            _ => None,
        })
        .collect())
}

/// The CIDR Calico reads a pool as (`net.ParseCIDR`: host bits dropped); `None` for a CIDR
/// that does not parse.
pub(crate) fn pool_cidr(pool: &IPPool) -> Option<IpNet> {
    pool.spec.cidr.parse::<IpNet>().ok().map(|net| net.trunc())
}

/// How many blocks a page of `ipam show`'s block reads holds (a /26 block is 3–5 KB stored).
const BLOCK_PAGE: usize = 500;

/// How full every pool is, and its blocks (`wanted` names pools by name or CIDR; empty for
/// all, and then the blocks of no pool are listed last as the orphaned blocks). The blocks are
/// read a page at a time and only their figures kept.
pub async fn utilization(
    client: &Client,
    wanted: &[String],
) -> Result<Vec<PoolUsage>, DatastoreError> {
    let pools: Vec<(String, IpNet)> = pools(client)
        .await?
        .iter()
        .filter_map(|pool| Some((pool.metadata.name.clone(), pool_cidr(pool)?)))
        .collect();
    let reservations = reserved_cidrs(&reservations(client).await?);
    let mut counter = UsageCounter::new(&pools, wanted, &reservations);
    let mut pages = client
        .backend()
        .list_model_pages(&ModelListOptions::all_blocks(), BLOCK_PAGE)
        .await?;
    while let Some(page) = pages.next().await {
        for kv in page?.items {
            if let ModelValue::Block(block) = kv.value {
                counter.add_block(&block);
            }
        }
    }
    Ok(counter.finish())
}

/// [`borrowed`] over every stored block, read a page at a time.
pub async fn borrowed_in_datastore(
    client: &Client,
) -> Result<(Vec<BorrowedIp>, usize), DatastoreError> {
    let mut all = Vec::new();
    let mut unclassified = 0;
    let mut pages = client
        .backend()
        .list_model_pages(&ModelListOptions::all_blocks(), BLOCK_PAGE)
        .await?;
    while let Some(page) = pages.next().await {
        let blocks: Vec<AllocationBlock> = page?
            .items
            .into_iter()
            .filter_map(|kv| match kv.value {
                ModelValue::Block(block) => Some(block),
                _ => None,
            })
            .collect();
        let (found, without_node) = borrowed(&blocks);
        all.extend(found);
        unclassified += without_node;
    }
    Ok((all, unclassified))
}

/// An address allocated from a block another node (or no node) is affine to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BorrowedIp {
    pub address: IpAddr,
    /// The node the allocation was made for.
    pub borrowing_node: String,
    /// The block's CIDR as stored.
    pub block: IpNet,
    /// The block's affine node (`host:` cut off), empty when the block is not affine.
    pub block_owner: String,
    /// `vmi`, `pod`, the allocation's `type` attribute, or empty.
    pub allocation_type: String,
    /// `<namespace>/<pod or VMI>` for pods and VMIs, empty otherwise.
    pub allocated_to: String,
}

/// The borrowed addresses of `blocks`, in block and ordinal order, and how many allocations
/// have no `node` attribute (so cannot be classified), as `calicoctl ipam show
/// --show-borrowed` lists them. An allocation whose attribute index points past the block's
/// attributes (Calico's calicoctl crashes on one) counts as unclassified.
pub fn borrowed(blocks: &[AllocationBlock]) -> (Vec<BorrowedIp>, usize) {
    let mut details = Vec::new();
    let mut unclassified = 0;
    for block in blocks {
        let attributes = block.attributes.as_deref().unwrap_or(&[]);
        let block_owner = block
            .affinity
            .as_deref()
            .map(|affinity| {
                let parts: Vec<&str> = affinity.split(':').collect();
                if parts.len() == 2 {
                    parts[1].to_string()
                } else {
                    parts[0].to_string()
                }
            })
            .unwrap_or_default();
        for (ordinal, slot) in block
            .allocations
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let Some(index) = *slot else { continue };
            let attrs = usize::try_from(index)
                .ok()
                .and_then(|i| attributes.get(i))
                .map(|a| &a.secondary);
            let Some(borrowing_node) = attrs.and_then(|a| a.get("node")) else {
                unclassified += 1;
                continue;
            };
            let Some(attrs) = attrs else { continue };
            if *borrowing_node == block_owner {
                continue;
            }
            let namespace = attrs.get("namespace").map(String::as_str).unwrap_or("");
            let (allocation_type, allocated_to) = if let Some(vmi) = attrs.get("vmi") {
                ("vmi".to_string(), format!("{namespace}/{vmi}"))
            } else if let Some(pod) = attrs.get("pod") {
                ("pod".to_string(), format!("{namespace}/{pod}"))
            } else {
                (
                    attrs.get("type").cloned().unwrap_or_default(),
                    String::new(),
                )
            };
            details.push(BorrowedIp {
                address: ordinal_to_ip(block, ordinal),
                borrowing_node: borrowing_node.clone(),
                block: block.cidr,
                block_owner: block_owner.clone(),
                allocation_type,
                allocated_to,
            });
        }
    }
    (details, unclassified)
}

/// What one address is, as `calicoctl ipam show --ip` reports it.
#[derive(Clone, Debug, PartialEq)]
pub enum Assignment {
    /// In no enabled pool, in a block that does not exist, or free in its block.
    NotAssigned,
    /// Released but still cooling down (Calico's `address … is in cooldown` error).
    CoolingDown,
    /// Allocated: its handle (sanitized as Calico does) and owner attributes.
    Assigned(AllocationAttribute),
}

/// The first pool in `pools` (list order) whose CIDR holds `ip`, among the enabled ones when
/// `enabled_only` (Calico's `getPoolForIP`, given the enabled pools or all of them).
pub(crate) fn pool_for_ip(pools: &[IPPool], ip: IpAddr, enabled_only: bool) -> Option<&IPPool> {
    pools.iter().find(|pool| {
        !(enabled_only && pool.spec.disabled)
            && pool_cidr(pool).is_some_and(|cidr| cidr.contains(&ip))
    })
}

/// The block CIDR an address falls in under a pool's block size (`getBlockCIDRForAddress`).
pub(crate) fn block_cidr_for(ip: IpAddr, block_size: i64) -> Option<IpNet> {
    let prefix = u8::try_from(block_size).ok()?;
    IpNet::new(ip, prefix).ok().map(|net| net.trunc())
}

/// Whether `ip` is allocated (libcalico-go's `GetAssignmentAttributes`): the first enabled
/// pool of its IP version that contains it gives the block size, the block is read and
/// garbage-collected with the configured cooldown, and the address's attribute is returned.
pub async fn assignment(client: &Client, ip: IpAddr) -> Result<Assignment, DatastoreError> {
    let ip = ip.to_canonical();
    let pools = pools(client).await?;
    let Some(pool) = pool_for_ip(&pools, ip, true) else {
        return Ok(Assignment::NotAssigned);
    };
    let config = ipam_config(client).await?;
    let Some(cidr) = block_cidr_for(ip, pool.spec.block_size) else {
        return Ok(Assignment::NotAssigned);
    };
    let key = ModelKey::Block(BlockKey::new(cidr));
    let mut block = match client.backend().get_model(&key).await {
        Ok(kv) => match kv.value {
            ModelValue::Block(block) => block,
            other => {
                return Err(DatastoreError::Store(format!(
                    "unexpected value type {} for {key}",
                    other.kind().go_name()
                )))
            }
        },
        Err(err) if err.is_not_found() => return Ok(Assignment::NotAssigned),
        Err(err) => return Err(err),
    };
    garbage_collect(&mut block, config.ip_cooldown_seconds, Utc::now());
    let Some(ordinal) = ip_to_ordinal(&block, ip) else {
        return Err(DatastoreError::Store(format!(
            "IP {ip} not in block {}",
            block.cidr
        )));
    };
    let index = block
        .allocations
        .as_deref()
        .and_then(|allocations| allocations.get(ordinal).copied().flatten());
    let Some(index) = index else {
        return Ok(Assignment::NotAssigned);
    };
    let attribute = usize::try_from(index)
        .ok()
        .and_then(|i| block.attributes.as_deref()?.get(i).cloned());
    let Some(attribute) = attribute else {
        return Err(DatastoreError::Store(format!(
            "block {} allocates {ip} to attribute {index}, which it does not have",
            block.cidr
        )));
    };
    if attribute.released_at.is_some() {
        return Ok(Assignment::CoolingDown);
    }
    Ok(Assignment::Assigned(AllocationAttribute {
        handle_id: attribute
            .handle_id
            .as_deref()
            .map(|handle| sanitize_handle(handle).to_string()),
        ..attribute
    }))
}

/// `title:` and one `  key: value` line per attribute in key order, or nothing when there are
/// none (calicoctl's `formatOwnerAttrs`).
pub fn format_owner_attrs(title: &str, attrs: &BTreeMap<String, String>) -> String {
    if attrs.is_empty() {
        return String::new();
    }
    let mut out = format!("{title}:\n");
    for (key, value) in attrs {
        out.push_str(&format!("  {key}: {value}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(json: serde_json::Value) -> AllocationBlock {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn borrowed_addresses_are_those_of_another_nodes_block() {
        let b = block(serde_json::json!({
            "cidr": "10.0.0.0/30",
            "affinity": "host:node-a",
            "allocations": [0, 1, null, 2],
            "unallocated": [2],
            "attributes": [
                {"handle_id": "h0", "secondary": {"node": "node-a", "pod": "p0", "namespace": "ns"}},
                {"handle_id": "h1", "secondary": {"node": "node-b", "pod": "p1", "namespace": "ns"}},
                {"handle_id": "h2", "secondary": {"type": "ipipTunnelAddress"}}
            ],
            "sequenceNumber": 1,
            "sequenceNumberForAllocation": null,
            "deleted": false
        }));
        let (borrowed, unclassified) = borrowed(&[b]);
        assert_eq!(unclassified, 1);
        assert_eq!(
            borrowed,
            vec![BorrowedIp {
                address: "10.0.0.1".parse().unwrap(),
                borrowing_node: "node-b".into(),
                block: "10.0.0.0/30".parse().unwrap(),
                block_owner: "node-a".into(),
                allocation_type: "pod".into(),
                allocated_to: "ns/p1".into(),
            }]
        );
    }

    #[test]
    fn an_attribute_index_past_the_attributes_is_unclassified() {
        let b = block(serde_json::json!({
            "cidr": "10.0.0.0/31",
            "affinity": null,
            "allocations": [5, null],
            "unallocated": [1],
            "attributes": [],
            "sequenceNumber": 1,
            "sequenceNumberForAllocation": null,
            "deleted": false
        }));
        assert_eq!(borrowed(&[b]), (vec![], 1));
    }

    #[test]
    fn owner_attributes_print_in_key_order() {
        let attrs: BTreeMap<String, String> = [("pod", "p"), ("namespace", "ns")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            format_owner_attrs("Active Owner Attributes", &attrs),
            "Active Owner Attributes:\n  namespace: ns\n  pod: p\n"
        );
        assert_eq!(format_owner_attrs("x", &BTreeMap::new()), "");
    }

    #[test]
    fn block_cidr_for_an_address_uses_the_pool_block_size() {
        assert_eq!(
            block_cidr_for("10.1.2.77".parse().unwrap(), 26),
            Some("10.1.2.64/26".parse().unwrap())
        );
        assert_eq!(
            block_cidr_for("fd00::1:2".parse().unwrap(), 122),
            Some("fd00::1:0/122".parse().unwrap())
        );
        assert_eq!(block_cidr_for("10.0.0.1".parse().unwrap(), 40), None);
    }
}

/// Every handle's per-block address counts as stored, and as the blocks' allocations count
/// them (handle IDs lower-cased, as the Kubernetes datastore names them; soft-deleted handles
/// left out). The two agree in a consistent datastore: the invariant concurrency tests and
/// `ipam check`-like tools compare.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HandleTally {
    pub stored: BTreeMap<String, BTreeMap<String, i64>>,
    pub counted: BTreeMap<String, BTreeMap<String, i64>>,
    /// Addresses allocated, with or without a handle.
    pub allocated: usize,
}

/// Reads every handle and block and tallies them ([`HandleTally`]).
pub async fn handle_tally(client: &Client) -> Result<HandleTally, DatastoreError> {
    let mut tally = HandleTally::default();
    let handles = client
        .backend()
        .list_model(&ModelListOptions::Handles)
        .await?;
    for kv in handles.items {
        if let (ModelKey::Handle(key), ModelValue::Handle(handle)) = (kv.key, kv.value) {
            if !handle.deleted {
                tally.stored.insert(
                    key.handle_id.to_lowercase(),
                    handle.block.unwrap_or_default(),
                );
            }
        }
    }
    let blocks = client
        .backend()
        .list_model(&ModelListOptions::all_blocks())
        .await?;
    for kv in blocks.items {
        let ModelValue::Block(block) = kv.value else {
            continue;
        };
        let attributes = block.attributes.as_deref().unwrap_or_default();
        for index in block.allocations.iter().flatten().flatten() {
            tally.allocated += 1;
            let handle = usize::try_from(*index)
                .ok()
                .and_then(|i| attributes.get(i))
                .and_then(|a| a.handle_id.as_ref());
            if let Some(handle) = handle {
                *tally
                    .counted
                    .entry(handle.to_lowercase())
                    .or_default()
                    .entry(block.cidr.to_string())
                    .or_default() += 1;
            }
        }
    }
    Ok(tally)
}
