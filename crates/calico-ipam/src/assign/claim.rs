//! Claiming a block for a host in the datastore, as Calico's block reader-writer does
//! (`getPendingAffinity`, `claimAffineBlock`, `confirmAffinity`): a pending block affinity first,
//! then the block, created affine to the host, then the affinity confirmed. Neither retries nor
//! chooses the block; that is the caller's (Calico's `findOrClaimBlock`, not here yet).

use calico_api::model::{
    AffinityState, AllocationBlock, BlockAffinity, BlockAffinityKey, BlockKey,
};
use calico_api::Time;
use calico_datastore::backend::ModelKv;
use calico_datastore::client::Client;
use calico_datastore::{DatastoreError, ModelKey, ModelValue};
use chrono::Utc;
use ipnet::IpNet;
use thiserror::Error;
use tracing::{info, warn};

use crate::block::{new_block, Affinity, HostReserved};

/// Why a claim failed; the texts are Calico's.
#[derive(Debug, Error)]
pub enum ClaimError {
    #[error("{0}")]
    Datastore(#[from] DatastoreError),
    /// The block exists and is affine to someone else (or to no one).
    #[error("{cidr} already claimed{}", .affinity.as_ref().map(|a| format!(" by {a}")).unwrap_or_default())]
    Conflict {
        cidr: IpNet,
        affinity: Option<String>,
    },
}

fn affinity_key(kv: &ModelKv) -> Result<BlockAffinityKey, ClaimError> {
    match &kv.key {
        ModelKey::BlockAffinity(key) => Ok(key.clone()),
        other => Err(unexpected(other, &kv.value)),
    }
}

fn affinity_value(kv: &ModelKv) -> Result<BlockAffinity, ClaimError> {
    match &kv.value {
        ModelValue::BlockAffinity(value) => Ok(value.clone()),
        other => Err(unexpected(&kv.key, other)),
    }
}

fn unexpected(key: &ModelKey, value: &ModelValue) -> ClaimError {
    ClaimError::Datastore(DatastoreError::Store(format!(
        "unexpected value type {} for {key}",
        value.kind().go_name()
    )))
}

/// Creates the affinity `key` in the `pending` state (Calico's `getPendingAffinity`). If it
/// already exists it is returned as it is when confirmed, else it is updated to pending (an
/// affinity stored without a state counts as not confirmed here, as in Calico).
pub async fn pending_affinity(
    client: &Client,
    key: BlockAffinityKey,
) -> Result<ModelKv, ClaimError> {
    let model_key = ModelKey::BlockAffinity(key);
    let pending = BlockAffinity {
        state: AffinityState::Pending,
        ..BlockAffinity::default()
    };
    let backend = client.backend();
    match backend
        .create_model(model_key.clone(), ModelValue::BlockAffinity(pending))
        .await
    {
        Ok(created) => Ok(created),
        Err(err) if err.is_already_exists() => {
            info!(key = %model_key, "block affinity already exists");
            let existing = backend.get_model(&model_key).await?;
            let mut value = affinity_value(&existing)?;
            if value.state == AffinityState::Confirmed {
                return Ok(existing);
            }
            value.state = AffinityState::Pending;
            Ok(backend
                .update_model(
                    model_key,
                    ModelValue::BlockAffinity(value),
                    &existing.revision,
                )
                .await?)
        }
        Err(err) => Err(err.into()),
    }
}

/// Confirms the affinity `pending` (read with [`pending_affinity`]) by a compare-and-swap
/// update (Calico's `confirmAffinity`). If the update fails but the stored affinity is
/// confirmed (by another process), that one is returned; otherwise the update's error.
pub async fn confirm_affinity(client: &Client, pending: &ModelKv) -> Result<ModelKv, ClaimError> {
    let mut value = affinity_value(pending)?;
    value.state = AffinityState::Confirmed;
    let backend = client.backend();
    match backend
        .update_model(
            pending.key.clone(),
            ModelValue::BlockAffinity(value),
            &pending.revision,
        )
        .await
    {
        Ok(confirmed) => Ok(confirmed),
        Err(err) => {
            if let Ok(stored) = backend.get_model(&pending.key).await {
                if affinity_value(&stored).is_ok_and(|v| v.state == AffinityState::Confirmed) {
                    info!(key = %pending.key, "affinity is already confirmed");
                    return Ok(stored);
                }
            }
            Err(err.into())
        }
    }
}

fn owner_of(key: &BlockAffinityKey) -> Affinity {
    Affinity {
        affinity_type: key.affinity_type.as_str().to_string(),
        host: key.host.clone(),
    }
}

/// The block Calico creates when a host claims it: affine to the affinity's host, claimed now,
/// its sequence number the claim time in nanoseconds, the host-reserved addresses allocated.
pub fn claimed_block(key: &BlockAffinityKey, reserved: Option<&HostReserved>) -> AllocationBlock {
    let now = Utc::now();
    let sequence_number = now.timestamp_nanos_opt().unwrap_or(i64::MAX) as u64;
    let claim_time = Some(Time::from_datetime(now));
    new_block(
        key.cidr(),
        Some(&owner_of(key)),
        claim_time,
        sequence_number,
        reserved,
    )
}

/// Creates the block of the pending affinity `pending` affine to its host, claimed now, with
/// the host-reserved addresses allocated (Calico's `claimAffineBlock`), then confirms the
/// affinity; returns the stored block. If the block already exists and is affine to the same
/// host, the affinity is confirmed and the existing block returned; if it belongs to someone
/// else, the pending affinity is deleted and the claim fails with [`ClaimError::Conflict`].
pub async fn claim_affine_block(
    client: &Client,
    pending: &ModelKv,
    reserved: Option<&HostReserved>,
) -> Result<ModelKv, ClaimError> {
    let key = affinity_key(pending)?;
    let cidr = key.cidr();
    let affinity = owner_of(&key).block_text();
    let block = claimed_block(&key, reserved);
    let block_key = ModelKey::Block(BlockKey::new(cidr));
    let backend = client.backend();
    match backend
        .create_model(block_key.clone(), ModelValue::Block(block))
        .await
    {
        Ok(created) => {
            confirm_affinity(client, pending).await?;
            Ok(created)
        }
        Err(err) if err.is_already_exists() => {
            info!(%cidr, "the block already exists");
            let existing = backend.get_model(&block_key).await?;
            let stored: AllocationBlock = match &existing.value {
                ModelValue::Block(block) => block.clone(),
                other => return Err(unexpected(&existing.key, other)),
            };
            if stored.affinity.as_deref() == Some(affinity.as_str()) {
                confirm_affinity(client, pending).await?;
                return Ok(existing);
            }
            info!(%cidr, "the block is another host's: deleting the pending affinity");
            if let Err(err) = backend
                .delete_model(&pending.key, Some(&pending.revision))
                .await
            {
                warn!(error = %err, %cidr, "failed to delete the pending affinity");
            }
            Err(ClaimError::Conflict {
                cidr: stored.cidr,
                affinity: stored.affinity,
            })
        }
        Err(err) => Err(err.into()),
    }
}
