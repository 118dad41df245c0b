//! Releasing addresses and block affinities in the datastore, as libcalico-go's IPAM client
//! does: `ReleaseIPs` (by address, optionally only for a handle or sequence number),
//! `releaseBlockAffinity`, `ReleaseHostAffinities`, `RemoveIPAMHost` and
//! `ReleasePoolAffinities`, with Calico's compare-and-swap writes and retries. Also the
//! [`IpamCascade`] the client's Node and IPPool deletes run through.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use async_trait::async_trait;
use calico_api::model::{
    AffinityState, AffinityType, AllocationBlock, BlockAffinityKey, BlockKey, HandleKey,
    IPAMConfig, IPAMHandle, IpVersion,
};
use calico_api::{AnyResource, IPPool};
use calico_datastore::backend::{ModelKv, ModelWrite, Read, ReadResult};
use calico_datastore::client::Client;
use calico_datastore::rules::after_list;
use calico_datastore::{
    DatastoreError, IpamCascade, KindRef, ListOptions, ModelKey, ModelListOptions, ModelValue,
    ResourceKey,
};
use chrono::Utc;
use ipnet::IpNet;
use thiserror::Error;
use tracing::{debug, info, warn};

use crate::block::{self, Affinity, BlockError, ReleaseOption};
use crate::check::{CheckReport, HandleInfo};
use crate::query::{block_cidr_for, blocks, ipam_config, pool_for_ip, pools};

/// How many times Calico retries a compare-and-swap that lost a race (`datastoreRetries`).
pub const DATASTORE_RETRIES: usize = 100;

/// Why a release failed; the texts are Calico's.
#[derive(Debug, Error)]
pub enum ReleaseError {
    #[error("{0}")]
    Datastore(#[from] DatastoreError),
    #[error("{0}")]
    Block(#[from] BlockError),
    #[error("Max retries hit - excessive concurrent IPAM requests")]
    MaxRetries,
    #[error("Hostname must be specified to release block affinity")]
    NoHost,
    /// The block is affine to another host (its stale affinity was deleted).
    #[error("block '{0}' is owned by a different host")]
    ClaimConflict(IpNet),
    #[error("block '{0}' is not empty")]
    NotEmpty(IpNet),
    #[error("IPAM block updated since we last read it")]
    BlockChanged,
    #[error("Hit max retries")]
    HitMaxRetries,
    /// An error met releasing for several callers at once (or by another process), as text.
    #[error("{message}")]
    Queued { message: String, not_found: bool },
}

impl ReleaseError {
    /// The handle, block or affinity did not exist.
    pub fn is_not_found(&self) -> bool {
        if let ReleaseError::Queued { not_found, .. } = self {
            return *not_found;
        }
        matches!(self, ReleaseError::Datastore(err) if err.is_not_found())
    }

    fn is_update_conflict(&self) -> bool {
        matches!(
            self,
            ReleaseError::Datastore(
                DatastoreError::UpdateConflict { .. } | DatastoreError::ModelUpdateConflict { .. }
            )
        )
    }
}

/// What [`release_ips`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReleaseOutcome {
    /// Addresses that were not allocated (in no block, free, or already cooling down).
    pub unallocated: Vec<IpAddr>,
    /// The options of the blocks whose release went through.
    pub released: Vec<ReleaseOption>,
}

fn block_of(kv: ModelKv) -> Result<(AllocationBlock, String), ReleaseError> {
    match kv.value {
        ModelValue::Block(block) => Ok((block, kv.revision)),
        other => Err(unexpected(&kv.key, &other)),
    }
}

fn unexpected(key: &ModelKey, value: &ModelValue) -> ReleaseError {
    ReleaseError::Datastore(DatastoreError::Store(format!(
        "unexpected value type {} for {key}",
        value.kind().go_name()
    )))
}

/// Releases addresses wherever they are allocated (Calico's `ReleaseIPs`): each address is
/// found in its pool's block (any pool, disabled ones too; by a scan of the blocks for an
/// address in no pool), the addresses are released block by block with one compare-and-swap
/// write each (a block left empty and without affinity is deleted), the handles are
/// decremented, and a block whose pool no longer selects its node loses its affinity once
/// empty. An error in one block does not stop the others; the first is returned.
pub async fn release_ips(
    client: &Client,
    options: &[ReleaseOption],
) -> Result<ReleaseOutcome, ReleaseError> {
    let options: Vec<ReleaseOption> = options
        .iter()
        .map(|o| ReleaseOption {
            address: o.address.to_canonical(),
            handle: o
                .handle
                .as_deref()
                .map(|h| block::sanitize_handle(h).to_string()),
            sequence_number: o.sequence_number,
        })
        .collect();
    let mut outcome = ReleaseOutcome::default();
    let all_pools = pools(client).await?;
    let mut scanned: Option<Vec<AllocationBlock>> = None;
    let mut by_block: Vec<(IpNet, Vec<ReleaseOption>)> = Vec::new();
    for option in options {
        let ip = option.address;
        // Any pool, disabled ones too (Calico passes all pools here).
        let pool = pool_for_ip(&all_pools, ip, false);
        let cidr = match pool.and_then(|pool| block_cidr_for(ip, pool.spec.block_size)) {
            Some(cidr) => cidr,
            None => {
                warn!(%ip, "the address is in no configured pool, looking for its block by a full scan");
                if scanned.is_none() {
                    scanned = Some(blocks(client).await?);
                }
                let found = scanned
                    .iter()
                    .flatten()
                    .find(|b| b.cidr.contains(&ip))
                    .map(|b| b.cidr.trunc());
                match found {
                    Some(cidr) => cidr,
                    None => {
                        outcome.unallocated.push(ip);
                        continue;
                    }
                }
            }
        };
        match by_block.iter_mut().find(|(c, _)| *c == cidr) {
            Some((_, list)) => list.push(option),
            None => by_block.push((cidr, vec![option])),
        }
    }
    // With more than a couple of addresses, one list of all handles costs less than a read
    // of each.
    let mut handles: HashMap<String, ModelKv> = HashMap::new();
    if by_block.iter().map(|(_, list)| list.len()).sum::<usize>() > 2 {
        let list = client
            .backend()
            .list_model(&ModelListOptions::Handles)
            .await?;
        for kv in list.items {
            if let ModelKey::Handle(key) = &kv.key {
                handles.insert(block::sanitize_handle(&key.handle_id).to_string(), kv);
            }
        }
    }
    let config = ipam_config(client).await?;
    let mut first_error = None;
    for (cidr, list) in by_block {
        match release_from_block(client, &config, &handles, &list, cidr).await {
            Ok(unallocated) => {
                outcome.unallocated.extend(unallocated);
                outcome.released.extend(list);
            }
            Err(err) => {
                warn!(%cidr, error = %err, "error releasing addresses");
                first_error.get_or_insert(err);
            }
        }
    }
    match first_error {
        Some(err) => Err(err),
        None => Ok(outcome),
    }
}

/// Releases `options` (all in the block `cidr`); returns the addresses that were not allocated.
async fn release_from_block(
    client: &Client,
    config: &IPAMConfig,
    handles: &HashMap<String, ModelKv>,
    options: &[ReleaseOption],
    cidr: IpNet,
) -> Result<Vec<IpAddr>, ReleaseError> {
    let key = ModelKey::Block(BlockKey::new(cidr));
    for attempt in 0..DATASTORE_RETRIES {
        let (mut block, revision) = match client.backend().get_model(&key).await {
            Ok(kv) => block_of(kv)?,
            Err(err) if err.is_not_found() => {
                // No block: none of them is allocated.
                return Ok(options.iter().map(|o| o.address).collect());
            }
            Err(err) => return Err(err.into()),
        };
        let now = Utc::now();
        block::garbage_collect(&mut block, config.ip_cooldown_seconds, now);
        let released = block::release(&mut block, options, config.ip_cooldown_seconds, now)?;
        if released.unallocated.len() == options.len() {
            debug!(%cidr, "no addresses to release");
            return Ok(released.unallocated);
        }
        match write_released(client, &key, &mut block, &revision).await {
            Ok(()) => {}
            Err(err) if err.is_update_conflict() => {
                warn!(%cidr, attempt, "block changed under us, retrying");
                continue;
            }
            Err(err) => return Err(err),
        }
        for (handle, count) in &released.count_by_handle {
            if let Err(err) =
                decrement_handle(client, handle, cidr, *count as i64, handles.get(handle)).await
            {
                warn!(%handle, error = %err, "failed to decrement handle");
            }
        }
        if let Err(err) = ensure_consistent_affinity(client, config, &block).await {
            warn!(%cidr, error = %err, "error ensuring consistent affinity (the addresses are released)");
        }
        return Ok(released.unallocated);
    }
    Err(ReleaseError::MaxRetries)
}

/// The writes of a release by handle in one transaction: the block (deleted when left empty
/// without affinity, else updated with its sequence number one up) and each handle counted
/// down (deleted when it has no addresses left), the handles read first when `stored` does not
/// have them. `None` when a handle is gone or does not count its addresses in this block
/// (Calico's `decrementHandle` error).
async fn released_writes(
    client: &Client,
    key: &ModelKey,
    block: &AllocationBlock,
    revision: &str,
    counts: &[(&str, usize)],
    cidr: IpNet,
    stored: &mut HashMap<String, ModelKv>,
) -> Result<Option<Vec<ModelWrite>>, ReleaseError> {
    let missing: Vec<&str> = counts
        .iter()
        .map(|(handle, _)| *handle)
        .filter(|handle| !stored.contains_key(*handle))
        .collect();
    if !missing.is_empty() {
        let reads = missing
            .iter()
            .map(|h| Read::Model(ModelKey::Handle(HandleKey::new(*h))))
            .collect();
        let results = client.backend().read_batch(reads).await?;
        for (handle, result) in missing.iter().zip(results) {
            match result {
                ReadResult::Model(Some(kv)) => {
                    stored.insert((*handle).to_string(), kv);
                }
                _ => return Ok(None),
            }
        }
    }
    let mut writes = Vec::with_capacity(counts.len() + 1);
    writes.push(if block::is_empty(block) && block.affinity.is_none() {
        ModelWrite::Delete(key.clone(), Some(revision.to_string()))
    } else {
        let mut updated = block.clone();
        updated.sequence_number = updated.sequence_number.wrapping_add(1);
        ModelWrite::Update(
            key.clone(),
            ModelValue::Block(updated),
            revision.to_string(),
        )
    });
    for (handle, released) in counts {
        let Some(handle_kv) = stored.get(*handle) else {
            return Ok(None);
        };
        let ModelValue::Handle(mut value) = handle_kv.value.clone() else {
            return Ok(None);
        };
        if decrement_block(&mut value, handle, cidr, *released as i64).is_err() {
            return Ok(None);
        }
        writes.push(if value.block.as_ref().is_none_or(BTreeMap::is_empty) {
            ModelWrite::Delete(handle_kv.key.clone(), Some(handle_kv.revision.clone()))
        } else {
            ModelWrite::Update(
                handle_kv.key.clone(),
                ModelValue::Handle(value),
                handle_kv.revision.clone(),
            )
        });
    }
    Ok(Some(writes))
}

/// Writes a block after a release with a compare-and-swap at `revision`: deleted when it is
/// left empty without affinity, else updated with its sequence number
/// one up.
async fn write_released(
    client: &Client,
    key: &ModelKey,
    block: &mut AllocationBlock,
    revision: &str,
) -> Result<(), ReleaseError> {
    let written = if block::is_empty(block) && block.affinity.is_none() {
        info!(cidr = %block.cidr, "deleting block: it is empty and has no affinity");
        client
            .backend()
            .delete_model(key, Some(revision))
            .await
            .map(|_| ())
    } else {
        block.sequence_number = block.sequence_number.wrapping_add(1);
        client
            .backend()
            .update_model(key.clone(), ModelValue::Block(block.clone()), revision)
            .await
            .map(|_| ())
    };
    written.map_err(ReleaseError::from)
}

/// Releases the addresses of `handles` in the block `cidr` (Calico's `releaseByHandle`, for
/// several handles at once): the block written (or deleted when left empty without affinity)
/// with a compare-and-swap, then each handle counted down and the block's affinity checked
/// against its pool.
///
/// `stored` holds the handles as last read (or written): where the driver writes several
/// objects at once, the block and the handles are written in one transaction, and the handles
/// as written are left there for their next block.
pub(crate) async fn release_handles_from_block(
    client: &Client,
    config: &IPAMConfig,
    handles: &[String],
    cidr: IpNet,
    stored: &mut HashMap<String, ModelKv>,
) -> Result<(), ReleaseError> {
    let key = ModelKey::Block(BlockKey::new(cidr));
    for attempt in 0..DATASTORE_RETRIES {
        let (mut block, revision) = match client.backend().get_model(&key).await {
            Ok(kv) => block_of(kv)?,
            // No block: the handles over-counted; nothing to release here.
            Err(err) if err.is_not_found() => return Ok(()),
            Err(err) => return Err(err.into()),
        };
        let now = Utc::now();
        block::garbage_collect(&mut block, config.ip_cooldown_seconds, now);
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for handle in handles {
            let released = block::release_by_handle(
                &mut block,
                handle,
                None,
                config.ip_cooldown_seconds,
                now,
            )?;
            if released > 0 {
                counts.push((handle.as_str(), released));
            }
        }
        if counts.is_empty() {
            debug!(%cidr, "the block has no addresses of the handles");
            return Ok(());
        }
        if client.backend().atomic_model_writes() {
            if let Some(writes) =
                released_writes(client, &key, &block, &revision, &counts, cidr, stored).await?
            {
                match client.backend().write_models(writes).await {
                    Ok(written) => {
                        for kv in written.into_iter().skip(1) {
                            if let ModelKey::Handle(handle_key) = &kv.key {
                                let id = handle_key.handle_id.clone();
                                let left = matches!(&kv.value, ModelValue::Handle(h)
                                    if h.block.as_ref().is_some_and(|b| !b.is_empty()));
                                if left {
                                    stored.insert(id, kv);
                                } else {
                                    stored.remove(&id);
                                }
                            }
                        }
                        if let Err(err) = ensure_consistent_affinity(client, config, &block).await {
                            warn!(%cidr, error = %err, "error ensuring consistent affinity (the addresses are released)");
                        }
                        return Ok(());
                    }
                    Err(err) if err.is_conflict() || err.is_not_found() => {
                        warn!(%cidr, attempt, "block or handle changed under us, retrying");
                        for (handle, _) in &counts {
                            stored.remove(*handle);
                        }
                        continue;
                    }
                    Err(err) => return Err(err.into()),
                }
            }
            // A handle that does not count this block (or is gone): Calico's steps, which log
            // the handle's error and release the addresses all the same.
        }
        match write_released(client, &key, &mut block, &revision).await {
            Ok(()) => {}
            // Deleted meanwhile (Calico's releaseByHandle ignores that too).
            Err(err) if err.is_not_found() => {}
            Err(err) if err.is_update_conflict() => {
                warn!(%cidr, attempt, "block changed under us, retrying");
                continue;
            }
            Err(err) => return Err(err),
        }
        for (handle, released) in &counts {
            stored.remove(*handle);
            if let Err(err) = decrement_handle(client, handle, cidr, *released as i64, None).await {
                warn!(handle, error = %err, "failed to decrement handle");
            }
        }
        if let Err(err) = ensure_consistent_affinity(client, config, &block).await {
            warn!(%cidr, error = %err, "error ensuring consistent affinity (the addresses are released)");
        }
        return Ok(());
    }
    // Calico then deletes the block if it is an empty load-balancer block (and dereferences
    // a missing affinity); the error is the same.
    Err(ReleaseError::HitMaxRetries)
}

/// Takes `count` addresses in `cidr` off a handle (Calico's `decrementHandle`), deleting the
/// handle when it has none left.
pub(crate) async fn decrement_handle(
    client: &Client,
    handle_id: &str,
    cidr: IpNet,
    count: i64,
    cached: Option<&ModelKv>,
) -> Result<(), ReleaseError> {
    let key = ModelKey::Handle(HandleKey::new(handle_id));
    let mut cached = cached.cloned();
    for _ in 0..DATASTORE_RETRIES {
        let kv = match cached.take() {
            Some(kv) => kv,
            None => client.backend().get_model(&key).await?,
        };
        let ModelValue::Handle(mut handle) = kv.value else {
            return Err(unexpected(&kv.key, &kv.value));
        };
        decrement_block(&mut handle, handle_id, cidr, count)?;
        let written = if handle.block.as_ref().is_none_or(BTreeMap::is_empty) {
            debug!(handle_id, "deleting handle");
            match client
                .backend()
                .delete_model(&key, Some(&kv.revision))
                .await
            {
                Err(err) if err.is_not_found() => Ok(()),
                other => other.map(|_| ()),
            }
        } else {
            client
                .backend()
                .update_model(key.clone(), ModelValue::Handle(handle), &kv.revision)
                .await
                .map(|_| ())
        };
        match written.map_err(ReleaseError::from) {
            Ok(()) => return Ok(()),
            Err(err) if err.is_update_conflict() => continue,
            Err(err) => return Err(err),
        }
    }
    Err(ReleaseError::MaxRetries)
}

/// Calico's `decrementBlock` on a handle.
fn decrement_block(
    handle: &mut IPAMHandle,
    handle_id: &str,
    cidr: IpNet,
    count: i64,
) -> Result<(), ReleaseError> {
    let block = cidr.to_string();
    let blocks = handle.block.get_or_insert_with(BTreeMap::new);
    let Some(current) = blocks.get(&block).copied() else {
        return Err(ReleaseError::Datastore(DatastoreError::Store(format!(
            "Tried to decrement block {block} by {count} but it isn't linked to handle {handle_id}"
        ))));
    };
    let left = current - count;
    if left < 0 {
        return Err(ReleaseError::Datastore(DatastoreError::Store(format!(
            "Tried to decrement block {block} by {count} but it only has {current} addresses on handle {handle_id}"
        ))));
    }
    if left == 0 {
        blocks.remove(&block);
    } else {
        blocks.insert(block, left);
    }
    Ok(())
}

fn affinity_type(affinity: &Affinity) -> AffinityType {
    if affinity.affinity_type == "virtual" {
        AffinityType::Virtual
    } else {
        AffinityType::Host
    }
}

/// Releases a block's affinity once the block's pool no longer selects its node (Calico's
/// `ensureConsistentAffinity`, run after a release); only an empty block loses it.
async fn ensure_consistent_affinity(
    client: &Client,
    config: &IPAMConfig,
    stored: &AllocationBlock,
) -> Result<(), ReleaseError> {
    let Some(affinity) = Affinity::of_block(stored) else {
        return Ok(());
    };
    if affinity.host.is_empty() {
        return Ok(());
    }
    let (Some(node_kind), Some(pool_kind)) = (KindRef::lookup("Node"), KindRef::lookup("IPPool"))
    else {
        return Ok(());
    };
    // The node and the pools in one batch (Calico reads them one after the other).
    let reads = vec![
        Read::Resource(ResourceKey::new(node_kind, "", affinity.host.as_str())),
        Read::Resources(ListOptions::all(pool_kind)),
    ];
    let mut results = client.backend().read_batch(reads).await?.into_iter();
    let node = match results.next() {
        Some(ReadResult::Resource(Some(AnyResource::Node(node)))) => node,
        _ => return Ok(()),
    };
    let pools: Vec<IPPool> = match results.next() {
        Some(ReadResult::Resources(list)) => list
            .items
            .into_iter()
            .filter_map(|item| match after_list(item) {
                AnyResource::IPPool(pool) => Some(*pool),
                _ => None,
            })
            .collect(),
        _ => return Ok(()),
    };
    let Some(pool) = pool_for_ip(&pools, stored.cidr.network(), true) else {
        return Ok(());
    };
    if pool.spec.node_selector.is_empty() {
        return Ok(());
    }
    let selector = calico_selector::parse(&pool.spec.node_selector).map_err(|err| {
        ReleaseError::Datastore(DatastoreError::Store(format!(
            "invalid node selector {:?} on pool {}: {err}",
            pool.spec.node_selector, pool.metadata.name
        )))
    })?;
    if selector.evaluate(&node.metadata.labels) {
        return Ok(());
    }
    match release_block_affinity(client, config, &affinity, stored.cidr, true).await {
        Ok(()) | Err(ReleaseError::ClaimConflict(_)) | Err(ReleaseError::NotEmpty(_)) => Ok(()),
        Err(err) if err.is_not_found() => Ok(()),
        Err(err) => Err(err),
    }
}

/// Releases `affinity`'s claim on the block `cidr` (Calico's `releaseBlockAffinity`): the
/// affinity is marked pending deletion, the block deleted when empty or else stripped of its
/// affinity, then the affinity deleted. A block affine to someone else makes this a
/// [`ReleaseError::ClaimConflict`] (after deleting the stale affinity).
pub async fn release_block_affinity(
    client: &Client,
    config: &IPAMConfig,
    affinity: &Affinity,
    cidr: IpNet,
    require_empty: bool,
) -> Result<(), ReleaseError> {
    release_block_affinity_at(client, config, affinity, cidr, require_empty, None).await
}

/// [`release_block_affinity`], only while the block's sequence number is `required_sequence`
/// when one is given (Calico's `RequiredBlockSequenceNumber`: reclaiming an empty block must
/// not free a block another host has just claimed again).
pub async fn release_block_affinity_at(
    client: &Client,
    config: &IPAMConfig,
    affinity: &Affinity,
    cidr: IpNet,
    require_empty: bool,
    required_sequence: Option<u64>,
) -> Result<(), ReleaseError> {
    if affinity.host.is_empty() {
        return Err(ReleaseError::NoHost);
    }
    let affinity_key = ModelKey::BlockAffinity(BlockAffinityKey::new(
        cidr,
        affinity.host.as_str(),
        affinity_type(affinity),
    ));
    let affinity_kv = client.backend().get_model(&affinity_key).await?;
    let ModelValue::BlockAffinity(mut affinity_value) = affinity_kv.value.clone() else {
        return Err(unexpected(&affinity_kv.key, &affinity_kv.value));
    };
    let block_key = ModelKey::Block(BlockKey::new(cidr));
    let (mut stored, block_revision) = block_of(client.backend().get_model(&block_key).await?)?;
    block::garbage_collect(&mut stored, config.ip_cooldown_seconds, Utc::now());
    if required_sequence.is_some_and(|seq| seq != stored.sequence_number) {
        return Err(ReleaseError::BlockChanged);
    }
    if let Some(text) = &stored.affinity {
        if *text != affinity.block_text() {
            warn!(%cidr, affinity = %text, wanted = %affinity.block_text(), "mismatched affinity: deleting the stale one");
            if let Err(err) = client
                .backend()
                .delete_model(&affinity_key, Some(&affinity_kv.revision))
                .await
            {
                warn!(error = %err, "failed to delete stale affinity");
            }
            return Err(ReleaseError::ClaimConflict(cidr));
        }
    }
    let empty = block::is_empty(&stored);
    if require_empty && !empty {
        info!(%cidr, "the block must be empty but is not: its affinity stays");
        return Err(ReleaseError::NotEmpty(cidr));
    }
    affinity_value.state = AffinityState::PendingDeletion;
    let pending = client
        .backend()
        .update_model(
            affinity_key.clone(),
            ModelValue::BlockAffinity(affinity_value),
            &affinity_kv.revision,
        )
        .await?;
    if empty {
        match client
            .backend()
            .delete_model(&block_key, Some(&block_revision))
            .await
        {
            Err(err) if !err.is_not_found() => return Err(err.into()),
            _ => {}
        }
    } else {
        stored.affinity = None;
        stored.affinity_claim_time = None;
        stored.sequence_number = stored.sequence_number.wrapping_add(1);
        client
            .backend()
            .update_model(block_key, ModelValue::Block(stored), &block_revision)
            .await?;
    }
    match client
        .backend()
        .delete_model(&affinity_key, Some(&pending.revision))
        .await
    {
        Err(err) if !err.is_not_found() => Err(err.into()),
        _ => Ok(()),
    }
}

/// Releases every block affinity of `host` (Calico's `ReleaseHostAffinities` for the `host`
/// type), IPv4 then IPv6; with `require_empty`, only those of empty blocks. Keeps going past a
/// failure and returns the last one.
pub async fn release_host_affinities(
    client: &Client,
    host: &str,
    require_empty: bool,
) -> Result<(), ReleaseError> {
    let config = ipam_config(client).await?;
    let affinity = Affinity::host(host);
    let mut stored_error = None;
    for version in [IpVersion::V4, IpVersion::V6] {
        let list = client
            .backend()
            .list_model(&ModelListOptions::affinities_of(host, Some(version)))
            .await?;
        for kv in list.items {
            let ModelKey::BlockAffinity(key) = &kv.key else {
                continue;
            };
            for _ in 0..DATASTORE_RETRIES {
                match release_block_affinity(client, &config, &affinity, key.cidr(), require_empty)
                    .await
                {
                    Ok(()) | Err(ReleaseError::ClaimConflict(_)) => {}
                    Err(err) if err.is_not_found() => {}
                    Err(err) if err.is_update_conflict() => continue,
                    Err(err) => stored_error = Some(err),
                }
                break;
            }
        }
    }
    match stored_error {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Removes a host's IPAM data (Calico's `RemoveIPAMHost`): releases all its block
/// affinities. (Calico then deletes the host's own key, `/calico/ipam/v2/host/<host>`, which
/// holds no value in a datastore Calico's current components wrote, so there is nothing
/// more to remove.)
pub async fn remove_host(client: &Client, host: &str) -> Result<(), ReleaseError> {
    release_host_affinities(client, host, false).await
}

/// Releases every host affinity of the blocks inside `pool` (Calico's
/// `ReleasePoolAffinities`), as deleting a pool does.
pub async fn release_pool_affinities(client: &Client, pool: IpNet) -> Result<(), ReleaseError> {
    info!(%pool, "releasing block affinities within the pool");
    let config = ipam_config(client).await?;
    let pool = pool.trunc();
    for _ in 0..DATASTORE_RETRIES {
        let list = client
            .backend()
            .list_model(&ModelListOptions::all_affinities())
            .await?;
        // Block → whom it is affine to (the last affinity listed for a block wins).
        let mut pairs: BTreeMap<IpNet, Affinity> = BTreeMap::new();
        for kv in &list.items {
            if let ModelKey::BlockAffinity(key) = &kv.key {
                if pool.contains(&key.cidr().network()) {
                    pairs.insert(
                        key.cidr(),
                        Affinity {
                            affinity_type: key.affinity_type.as_str().to_string(),
                            host: key.host.clone(),
                        },
                    );
                }
            }
        }
        if pairs.is_empty() {
            return Ok(());
        }
        let mut retry = false;
        for (cidr, affinity) in pairs {
            for _ in 0..DATASTORE_RETRIES {
                match release_block_affinity(client, &config, &affinity, cidr, false).await {
                    Ok(()) => {}
                    Err(ReleaseError::ClaimConflict(_)) => retry = true,
                    Err(err) if err.is_not_found() => {}
                    Err(err) if err.is_update_conflict() => continue,
                    Err(err) => return Err(err),
                }
                break;
            }
        }
        if !retry {
            return Ok(());
        }
    }
    Err(ReleaseError::MaxRetries)
}

/// What the reports of `ipam check -o` agree is leaked (Calico's `mergeReports`): the
/// addresses allocated but in use nowhere (nor cooling down) in every report, each to be
/// released only if it still has the report's handle and sequence number; and the leaked
/// handles every report lists at the same revision. In address and handle order.
pub fn merge_reports(reports: &[CheckReport]) -> (Vec<ReleaseOption>, Vec<HandleInfo>) {
    let mut ips: Option<BTreeMap<String, ReleaseOption>> = None;
    let mut handles: Option<BTreeMap<String, HandleInfo>> = None;
    for report in reports {
        let mut merged_ips = BTreeMap::new();
        for allocation in report.allocations.values().flatten() {
            if allocation.in_use || allocation.cooling_down {
                continue;
            }
            if ips
                .as_ref()
                .is_some_and(|ips| !ips.contains_key(&allocation.ip))
            {
                continue;
            }
            let Ok(address) = allocation.ip.parse::<IpAddr>() else {
                continue;
            };
            merged_ips.insert(
                allocation.ip.clone(),
                ReleaseOption {
                    address,
                    handle: Some(allocation.handle.clone()).filter(|h| !h.is_empty()),
                    sequence_number: allocation.sequence_number,
                },
            );
        }
        ips = Some(merged_ips);
        let mut merged_handles = BTreeMap::new();
        for handle in &report.leaked_handles {
            let keep = match &handles {
                None => true,
                Some(before) => before
                    .get(&handle.id)
                    .is_some_and(|old| old.revision == handle.revision),
            };
            if keep {
                merged_handles.insert(handle.id.clone(), handle.clone());
            }
        }
        handles = Some(merged_handles);
    }
    (
        ips.unwrap_or_default().into_values().collect(),
        handles.unwrap_or_default().into_values().collect(),
    )
}

/// How deleting a leaked handle went.
#[derive(Debug)]
pub enum HandleDeletion {
    Deleted,
    /// Gone already, or changed since the report (another revision or UID): left alone.
    Skipped,
    Failed(ReleaseError),
}

/// Deletes a handle a report found leaked, only while it is at the report's revision (and,
/// where the datastore has UIDs, the report's UID).
pub async fn delete_leaked_handle(client: &Client, leaked: &HandleInfo) -> HandleDeletion {
    let key = ModelKey::Handle(HandleKey::new(leaked.id.as_str()));
    let current = match client.backend().get_model(&key).await {
        Ok(kv) => kv,
        Err(err) if err.is_not_found() => return HandleDeletion::Skipped,
        Err(err) => return HandleDeletion::Failed(err.into()),
    };
    // Calico's uidsEqual: both absent (etcd) or both the same (Kubernetes).
    if current.revision != leaked.revision || current.uid != leaked.uid {
        return HandleDeletion::Skipped;
    }
    match client
        .backend()
        .delete_model(&key, Some(&current.revision))
        .await
        .map_err(ReleaseError::from)
    {
        Ok(_) => HandleDeletion::Deleted,
        Err(err) if err.is_not_found() || err.is_update_conflict() => HandleDeletion::Skipped,
        Err(err) => HandleDeletion::Failed(err),
    }
}

/// The IPAM layer's part in the client's delete cascades; attach it with
/// [`Client::with_ipam`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Cascade;

fn to_datastore(err: ReleaseError) -> DatastoreError {
    match err {
        ReleaseError::Datastore(err) => err,
        other => DatastoreError::Store(other.to_string()),
    }
}

#[async_trait]
impl IpamCascade for Cascade {
    async fn release_ips(&self, client: &Client, ips: &[IpAddr]) -> calico_datastore::Result<()> {
        let options: Vec<ReleaseOption> =
            ips.iter().map(|ip| ReleaseOption::address(*ip)).collect();
        release_ips(client, &options)
            .await
            .map(|_| ())
            .map_err(to_datastore)
    }

    async fn remove_host(&self, client: &Client, host: &str) -> calico_datastore::Result<()> {
        remove_host(client, host).await.map_err(to_datastore)
    }

    async fn release_pool_affinities(
        &self,
        client: &Client,
        cidr: &str,
    ) -> calico_datastore::Result<()> {
        let Ok(pool) = cidr.parse::<IpNet>() else {
            return Ok(());
        };
        release_pool_affinities(client, pool)
            .await
            .map_err(to_datastore)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use calico_api::model::BlockAffinity;
    use calico_datastore::{EmbeddedStore, KvBackend};

    use super::*;

    fn client(dir: &tempfile::TempDir) -> Client {
        let store = EmbeddedStore::open(dir.path().join("calico.db")).unwrap();
        Client::new(Arc::new(KvBackend::new(store)))
    }

    fn net(text: &str) -> IpNet {
        text.parse().unwrap()
    }

    /// A block of node-a's holding `count` addresses of handle `h1`, its handle and affinity.
    async fn seed(client: &Client, cidr: &str, count: usize) {
        let node = Affinity::host("node-a");
        let mut b = block::new_block(net(cidr), Some(&node), None, 1, None);
        block::auto_assign(&mut b, count, Some("h1"), &BTreeMap::new(), None, &|_| {
            false
        })
        .unwrap();
        let backend = client.backend();
        backend
            .create_model(
                ModelKey::Block(BlockKey::new(net(cidr))),
                ModelValue::Block(b),
            )
            .await
            .unwrap();
        let handle = IPAMHandle {
            block: Some(
                [(net(cidr).to_string(), count as i64)]
                    .into_iter()
                    .collect(),
            ),
            ..IPAMHandle::default()
        };
        backend
            .create_model(
                ModelKey::Handle(HandleKey::new("h1")),
                ModelValue::Handle(handle),
            )
            .await
            .unwrap();
        let affinity = BlockAffinity {
            state: AffinityState::Confirmed,
            ..BlockAffinity::default()
        };
        backend
            .create_model(
                ModelKey::BlockAffinity(BlockAffinityKey::new(
                    net(cidr),
                    "node-a",
                    AffinityType::Host,
                )),
                ModelValue::BlockAffinity(affinity),
            )
            .await
            .unwrap();
    }

    async fn get(client: &Client, key: ModelKey) -> Option<ModelValue> {
        match client.backend().get_model(&key).await {
            Ok(kv) => Some(kv.value),
            Err(err) if err.is_not_found() => None,
            Err(err) => panic!("{err}"),
        }
    }

    fn handle_count(value: Option<ModelValue>) -> Option<i64> {
        match value {
            Some(ModelValue::Handle(h)) => h
                .block
                .unwrap_or_default()
                .values()
                .copied()
                .sum::<i64>()
                .into(),
            _ => None,
        }
    }

    #[tokio::test]
    async fn releasing_addresses_frees_them_and_counts_down_their_handle() {
        let dir = tempfile::tempdir().unwrap();
        let client = client(&dir);
        seed(&client, "10.0.0.0/30", 3).await;
        let one = [ReleaseOption::address("10.0.0.0".parse().unwrap())];
        let outcome = release_ips(&client, &one).await.unwrap();
        assert!(outcome.unallocated.is_empty());
        let handle_key = ModelKey::Handle(HandleKey::new("h1"));
        assert_eq!(
            handle_count(get(&client, handle_key.clone()).await),
            Some(2)
        );
        // Again: no longer allocated. An address in no block at all: the same.
        let outcome = release_ips(&client, &one).await.unwrap();
        assert_eq!(
            outcome.unallocated,
            vec!["10.0.0.0".parse::<IpAddr>().unwrap()]
        );
        let nowhere = [ReleaseOption::address("192.168.9.9".parse().unwrap())];
        let outcome = release_ips(&client, &nowhere).await.unwrap();
        assert_eq!(outcome.unallocated.len(), 1);
        // The rest: the handle goes; the block stays, affine to node-a.
        let rest: Vec<ReleaseOption> = ["10.0.0.1", "10.0.0.2"]
            .iter()
            .map(|ip| ReleaseOption::address(ip.parse().unwrap()))
            .collect();
        release_ips(&client, &rest).await.unwrap();
        assert_eq!(get(&client, handle_key).await, None);
        let block_key = ModelKey::Block(BlockKey::new(net("10.0.0.0/30")));
        let Some(ModelValue::Block(b)) = get(&client, block_key.clone()).await else {
            panic!("the affine block stays");
        };
        assert!(block::is_empty(&b));
        // Removing the host releases the affinity and deletes the empty block.
        remove_host(&client, "node-a").await.unwrap();
        assert_eq!(get(&client, block_key).await, None);
        let affinity_key = ModelKey::BlockAffinity(BlockAffinityKey::new(
            net("10.0.0.0/30"),
            "node-a",
            AffinityType::Host,
        ));
        assert_eq!(get(&client, affinity_key).await, None);
    }

    #[tokio::test]
    async fn releasing_a_pools_affinities_keeps_blocks_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let client = client(&dir);
        seed(&client, "10.0.0.0/30", 1).await;
        release_pool_affinities(&client, net("10.0.0.0/16"))
            .await
            .unwrap();
        let Some(ModelValue::Block(b)) =
            get(&client, ModelKey::Block(BlockKey::new(net("10.0.0.0/30")))).await
        else {
            panic!("a block in use stays");
        };
        assert_eq!(b.affinity, None);
        assert_eq!(b.affinity_claim_time, None);
        assert_eq!(b.sequence_number, 2);
        let affinity_key = ModelKey::BlockAffinity(BlockAffinityKey::new(
            net("10.0.0.0/30"),
            "node-a",
            AffinityType::Host,
        ));
        assert_eq!(get(&client, affinity_key).await, None);
        // Releasing its last address now deletes the block (no affinity left).
        release_ips(
            &client,
            &[ReleaseOption::address("10.0.0.0".parse().unwrap())],
        )
        .await
        .unwrap();
        assert_eq!(
            get(&client, ModelKey::Block(BlockKey::new(net("10.0.0.0/30")))).await,
            None
        );
    }

    #[test]
    fn a_handle_counts_down_as_calico_does() {
        let mut handle = IPAMHandle {
            block: Some([("10.0.0.0/30".to_string(), 2)].into_iter().collect()),
            ..IPAMHandle::default()
        };
        decrement_block(&mut handle, "h", net("10.0.0.0/30"), 1).unwrap();
        assert_eq!(handle.block.as_ref().unwrap()["10.0.0.0/30"], 1);
        let err = decrement_block(&mut handle, "h", net("10.0.0.0/30"), 2).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Tried to decrement block 10.0.0.0/30 by 2 but it only has 1 addresses on handle h"
        );
        let err = decrement_block(&mut handle, "h", net("10.9.0.0/30"), 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Tried to decrement block 10.9.0.0/30 by 1 but it isn't linked to handle h"
        );
        decrement_block(&mut handle, "h", net("10.0.0.0/30"), 1).unwrap();
        assert!(handle.block.unwrap().is_empty());
    }
}
