//! Conformance checks of the batched operations: [`Backend::read_batch`] (what the single
//! reads give, missing things `None`, one revision where the driver batches) and
//! [`Backend::write_models`] (all or nothing, the single writes' errors, or refused by drivers
//! without [`Backend::atomic_model_writes`]). Run by every driver within [`run_model_checks`].
//!
//! [`run_model_checks`]: super::run_model_checks

use std::sync::Arc;

use calico_api::model::{
    AffinityState, AffinityType, BlockAffinityKey, BlockKey, HandleKey, ModelKey, ModelListOptions,
    ModelValue,
};

use super::model::{affinity, handle, handle_count, race, unique_v4_cidr, used_block};
use super::{global_set, kind, unique, CheckResult, Harness};
use crate::backend::{Backend, ModelKv, ModelWrite, Read, ReadResult};
use crate::error::DatastoreError;
use crate::key::{ListOptions, ResourceKey};

/// The answer the single read gives, as a batch gives it.
async fn single_read(backend: &dyn Backend, read: &Read) -> Result<ReadResult, String> {
    let found = |result: Result<_, DatastoreError>| match result {
        Ok(found) => Ok(Some(found)),
        Err(err) if err.is_not_found() => Ok(None),
        Err(err) => Err(format!("single read {read:?} failed: {err}")),
    };
    Ok(match read {
        Read::Resource(key) => ReadResult::Resource(found(backend.get(key, None).await)?),
        Read::Resources(options) => ReadResult::Resources(
            backend
                .list(options, None)
                .await
                .map_err(|e| format!("list {options:?} failed: {e}"))?,
        ),
        Read::Model(key) => ReadResult::Model(match backend.get_model(key).await {
            Ok(found) => Some(found),
            Err(err) if err.is_not_found() => None,
            Err(err) => return Err(format!("get_model {key} failed: {err}")),
        }),
        Read::Models(options) => ReadResult::Models(
            backend
                .list_model(options)
                .await
                .map_err(|e| format!("list_model {options:?} failed: {e}"))?,
        ),
    })
}

/// Whether two answers agree (lists: in their items and unreadable entries, not in the
/// revision the list was read at, which moves on Kubernetes without any Calico write).
fn same_answer(batch: &ReadResult, single: &ReadResult) -> bool {
    match (batch, single) {
        (ReadResult::Resources(a), ReadResult::Resources(b)) => a.items == b.items,
        (ReadResult::Models(a), ReadResult::Models(b)) => {
            a.items == b.items && a.unreadable == b.unreadable
        }
        (a, b) => a == b,
    }
}

fn list_revision(result: &ReadResult) -> Option<&str> {
    match result {
        ReadResult::Resources(list) => Some(&list.revision),
        ReadResult::Models(list) => Some(&list.revision),
        _ => None,
    }
}

/// A batch of mixed reads gives what the single reads give; missing things are `None`; a
/// driver that batches reads every list at one revision.
pub async fn read_batch_matches_single_reads(h: &dyn Harness) -> CheckResult {
    let backend = h.backend().await;
    let prefix = unique("batch");
    let gns = kind("GlobalNetworkSet")?;
    for (n, nets) in [["10.1.0.0/16"], ["10.2.0.0/16"]].iter().enumerate() {
        backend
            .create(global_set(&format!("{prefix}-{n}"), nets))
            .await
            .map_err(|e| format!("create failed: {e}"))?;
    }
    let host = unique("node");
    let cidr = unique_v4_cidr();
    let affinity_key: ModelKey =
        BlockAffinityKey::new(cidr, host.as_str(), AffinityType::Host).into();
    let block_key: ModelKey = BlockKey::new(cidr).into();
    let handle_key: ModelKey = HandleKey::new(unique("batch-handle")).into();
    for (key, value) in [
        (affinity_key.clone(), affinity(AffinityState::Confirmed)),
        (block_key.clone(), used_block(cidr, &host).into()),
        (handle_key.clone(), handle(&[(&cidr.to_string(), 1)])),
    ] {
        backend
            .create_model(key, value)
            .await
            .map_err(|e| format!("create_model failed: {e}"))?;
    }
    // A value Calico could not read: reported by the handle list as the single list does.
    let broken = ModelKey::from(HandleKey::new(unique("batch-broken")));
    let _ = h
        .put_raw(
            &broken.default_path(),
            br#"{"block":{"10.0.0.0/26":"one"}}"#,
        )
        .await;

    let mut names = ListOptions::all(gns);
    names.name = Some(prefix.clone());
    names.name_is_prefix = true;
    let profile = kind("Profile")?;
    let reads = vec![
        Read::Model(ModelKey::Config),
        Read::Resource(ResourceKey::new(gns, "", format!("{prefix}-0"))),
        Read::Models(ModelListOptions::affinities_of(host.clone(), None)),
        Read::Resource(ResourceKey::new(gns, "", format!("{prefix}-missing"))),
        Read::Model(block_key.clone()),
        Read::Resources(names),
        Read::Model(HandleKey::new(unique("batch-missing")).into()),
        Read::Models(ModelListOptions::Handles),
        Read::Model(handle_key.clone()),
        Read::Resources(ListOptions::all(profile)),
        Read::Models(ModelListOptions::all_blocks()),
    ];
    let batch = backend
        .read_batch(reads.clone())
        .await
        .map_err(|e| format!("read_batch failed: {e}"))?;
    ensure!(
        batch.len() == reads.len(),
        "{} answers to {} reads",
        batch.len(),
        reads.len()
    );
    for (read, answer) in reads.iter().zip(&batch) {
        let single = single_read(backend.as_ref(), read).await?;
        ensure!(
            same_answer(answer, &single),
            "{read:?}: the batch gave {answer:?}, the single read {single:?}"
        );
    }
    ensure!(
        matches!(&batch[3], ReadResult::Resource(None))
            && matches!(&batch[6], ReadResult::Model(None)),
        "missing keys were not None"
    );
    ensure!(
        matches!(&batch[5], ReadResult::Resources(list) if list.items.len() == 2),
        "the name-prefix list did not give our 2 sets"
    );
    ensure!(
        matches!(&batch[8], ReadResult::Model(Some(kv)) if handle_count(kv, &cidr.to_string()) == 1),
        "the handle was not read"
    );
    if backend.batched_reads() {
        let revisions: Vec<&str> = batch.iter().filter_map(list_revision).collect();
        ensure!(
            revisions.windows(2).all(|w| w[0] == w[1]) && !revisions.is_empty(),
            "a batch read lists at revisions {revisions:?}"
        );
    }
    let empty = backend
        .read_batch(Vec::new())
        .await
        .map_err(|e| format!("an empty batch failed: {e}"))?;
    ensure!(empty.is_empty(), "an empty batch gave answers");
    Ok(())
}

/// What is stored at `key` now (`None`: nothing).
async fn stored(backend: &dyn Backend, key: &ModelKey) -> Result<Option<ModelKv>, String> {
    match backend.get_model(key).await {
        Ok(kv) => Ok(Some(kv)),
        Err(err) if err.is_not_found() => Ok(None),
        Err(err) => Err(format!("get_model {key} failed: {err}")),
    }
}

/// Several objects written in one transaction: each as the single write stores it, with the
/// revisions returned; a driver without atomic writes refuses and writes nothing.
pub async fn atomic_writes_together(h: &dyn Harness) -> CheckResult {
    let backend = h.backend().await;
    ensure!(
        backend.atomic_model_writes() == h.atomic_model_writes(),
        "atomic_model_writes() is {}, the harness expects {}",
        backend.atomic_model_writes(),
        h.atomic_model_writes()
    );
    let host = unique("node");
    let cidr = unique_v4_cidr();
    let cidr_text = cidr.to_string();
    let existing: ModelKey = HandleKey::new(unique("txn-existing")).into();
    let doomed: ModelKey = HandleKey::new(unique("txn-doomed")).into();
    let before = backend
        .create_model(existing.clone(), handle(&[(&cidr_text, 1)]))
        .await
        .map_err(|e| format!("create failed: {e}"))?;
    let doomed_before = backend
        .create_model(doomed.clone(), handle(&[(&cidr_text, 7)]))
        .await
        .map_err(|e| format!("create failed: {e}"))?;
    let fresh: ModelKey = HandleKey::new(unique("txn-fresh")).into();
    let block_key: ModelKey = BlockKey::new(cidr).into();
    let block: ModelValue = used_block(cidr, &host).into();
    let writes = vec![
        ModelWrite::Create(fresh.clone(), handle(&[(&cidr_text, 3)])),
        ModelWrite::Update(
            existing.clone(),
            handle(&[(&cidr_text, 2)]),
            before.revision.clone(),
        ),
        ModelWrite::Create(block_key.clone(), block.clone()),
        ModelWrite::Delete(doomed.clone(), Some(doomed_before.revision.clone())),
    ];
    if !backend.atomic_model_writes() {
        match backend.write_models(writes).await {
            Err(DatastoreError::OperationNotSupported { .. }) => {}
            other => return Err(format!("write_models without support: got {other:?}")),
        }
        ensure!(
            stored(backend.as_ref(), &fresh).await?.is_none()
                && stored(backend.as_ref(), &doomed).await?.is_some(),
            "a refused write_models wrote something"
        );
        return Ok(());
    }
    let written = backend
        .write_models(writes)
        .await
        .map_err(|e| format!("write_models failed: {e}"))?;
    ensure!(written.len() == 4, "{} answers to 4 writes", written.len());
    ensure!(
        written[0].key == fresh && handle_count(&written[0], &cidr_text) == 3,
        "the create's answer is {:?}",
        written[0]
    );
    ensure!(
        written[1].revision != before.revision && handle_count(&written[1], &cidr_text) == 2,
        "the update's answer is {:?}",
        written[1]
    );
    ensure!(
        written[3].key == doomed && handle_count(&written[3], &cidr_text) == 7,
        "the delete's answer is {:?}",
        written[3]
    );
    for kv in &written[..3] {
        let now = stored(backend.as_ref(), &kv.key)
            .await?
            .ok_or_else(|| format!("{} was not written", kv.key))?;
        ensure!(
            now.value == kv.value && now.revision == kv.revision,
            "{} is stored as {now:?}, written as {kv:?}",
            kv.key
        );
        if let Some(bytes) = h.raw_value(&kv.key.default_path()).await {
            let expected = kv.value.encode().map_err(|e| e.to_string())?;
            ensure!(
                bytes == expected,
                "{} stored {:?}, expected {:?}",
                kv.key,
                String::from_utf8_lossy(&bytes),
                String::from_utf8_lossy(&expected)
            );
        }
    }
    ensure!(
        stored(backend.as_ref(), &doomed).await?.is_none(),
        "the deleted handle is still there"
    );
    let nothing = backend
        .write_models(Vec::new())
        .await
        .map_err(|e| format!("an empty write_models failed: {e}"))?;
    ensure!(nothing.is_empty(), "an empty write_models gave answers");
    Ok(())
}

/// A write_models with a failing compare (after writes that would succeed) writes nothing and
/// fails with the single write's error, for the first failing write; invalid values and a key
/// written twice are refused before anything is written.
pub async fn atomic_writes_all_or_nothing(h: &dyn Harness) -> CheckResult {
    let backend = h.backend().await;
    if !backend.atomic_model_writes() {
        return Ok(());
    }
    let cidr = unique_v4_cidr().to_string();
    let existing: ModelKey = HandleKey::new(unique("aon-existing")).into();
    let created = backend
        .create_model(existing.clone(), handle(&[(&cidr, 1)]))
        .await
        .map_err(|e| format!("create failed: {e}"))?;
    let current = backend
        .update_model(existing.clone(), handle(&[(&cidr, 2)]), &created.revision)
        .await
        .map_err(|e| format!("update failed: {e}"))?;
    let stale = created.revision.clone();
    let ghost: ModelKey = HandleKey::new(unique("aon-ghost")).into();
    let fresh: ModelKey = HandleKey::new(unique("aon-fresh")).into();
    let other: ModelKey = HandleKey::new(unique("aon-other")).into();
    let value = |n| handle(&[(&cidr, n)]);
    // The single write that fails, and what it fails with on its own.
    let failing: Vec<(ModelWrite, DatastoreError)> = vec![
        (
            ModelWrite::Create(existing.clone(), value(9)),
            backend
                .create_model(existing.clone(), value(9))
                .await
                .err()
                .ok_or("create of an existing key succeeded")?,
        ),
        (
            ModelWrite::Update(existing.clone(), value(9), stale.clone()),
            backend
                .update_model(existing.clone(), value(9), &stale)
                .await
                .err()
                .ok_or("a stale update succeeded")?,
        ),
        (
            ModelWrite::Update(ghost.clone(), value(9), current.revision.clone()),
            backend
                .update_model(ghost.clone(), value(9), &current.revision)
                .await
                .err()
                .ok_or("an update of a missing key succeeded")?,
        ),
        (
            ModelWrite::Delete(existing.clone(), Some(stale.clone())),
            backend
                .delete_model(&existing, Some(&stale))
                .await
                .err()
                .ok_or("a stale delete succeeded")?,
        ),
        (
            ModelWrite::Delete(ghost.clone(), None),
            backend
                .delete_model(&ghost, None)
                .await
                .err()
                .ok_or("a delete of a missing key succeeded")?,
        ),
    ];
    // Each failing write after one that would succeed and before another failing one (the
    // error names the first), and alone at the front.
    let arrangements = failing.into_iter().flat_map(|(write, expected)| {
        let behind = vec![
            ModelWrite::Create(fresh.clone(), value(1)),
            write.clone(),
            ModelWrite::Update(other.clone(), value(1), "1".into()),
        ];
        let first = vec![write.clone(), ModelWrite::Create(fresh.clone(), value(1))];
        [
            (write.clone(), behind, expected.clone()),
            (write, first, expected),
        ]
    });
    for (write, writes, expected) in arrangements {
        match backend.write_models(writes).await {
            Err(err) => ensure!(
                err == expected && err.to_string() == expected.to_string(),
                "{write:?} in a transaction failed with {err:?}, on its own with {expected:?}"
            ),
            Ok(written) => {
                return Err(format!("{write:?} in a transaction succeeded: {written:?}"))
            }
        }
        ensure!(
            stored(backend.as_ref(), &fresh).await?.is_none(),
            "{write:?} failed, but the create before it was written"
        );
        let now = stored(backend.as_ref(), &existing).await?;
        ensure!(
            now.as_ref().map(|kv| &kv.revision) == Some(&current.revision),
            "{write:?} failed, but {existing} changed: {now:?}"
        );
    }

    let block_key: ModelKey = BlockKey::new(unique_v4_cidr()).into();
    match backend
        .write_models(vec![
            ModelWrite::Create(fresh.clone(), value(1)),
            ModelWrite::Create(block_key, value(1)),
        ])
        .await
    {
        Err(DatastoreError::Validation(_)) => {}
        other => return Err(format!("a handle value at a block key: got {other:?}")),
    }
    match backend
        .write_models(vec![
            ModelWrite::Create(fresh.clone(), value(1)),
            ModelWrite::Update(fresh.clone(), value(2), current.revision.clone()),
        ])
        .await
    {
        Err(DatastoreError::Validation(_)) => {}
        other => return Err(format!("a key written twice: got {other:?}")),
    }
    ensure!(
        stored(backend.as_ref(), &fresh).await?.is_none(),
        "a refused transaction wrote its create"
    );
    Ok(())
}

/// Writers racing with a batch read then an atomic update of two handles lose no update and
/// never leave the two apart.
pub async fn atomic_writers_race(h: &dyn Harness) -> CheckResult {
    const WRITERS: i64 = 4;
    const INCREMENTS: i64 = 5;
    let backend = h.backend().await;
    if !backend.atomic_model_writes() {
        return Ok(());
    }
    let cidr = unique_v4_cidr().to_string();
    let keys: [ModelKey; 2] = [
        HandleKey::new(unique("race-a")).into(),
        HandleKey::new(unique("race-b")).into(),
    ];
    for key in &keys {
        backend
            .create_model(key.clone(), handle(&[(&cidr, 0)]))
            .await
            .map_err(|e| format!("create failed: {e}"))?;
    }
    let (racing, race_keys, race_cidr) = (Arc::clone(&backend), keys.clone(), cidr.clone());
    race(WRITERS, INCREMENTS, move || {
        let backend = Arc::clone(&racing);
        let keys = race_keys.clone();
        let cidr = race_cidr.clone();
        async move {
            let reads = keys.into_iter().map(Read::Model).collect();
            let mut writes = Vec::new();
            let mut counts = Vec::new();
            for answer in backend.read_batch(reads).await? {
                let ReadResult::Model(Some(kv)) = answer else {
                    return Err(DatastoreError::Store(format!(
                        "a handle vanished: {answer:?}"
                    )));
                };
                let count = handle_count(&kv, &cidr);
                counts.push(count);
                let next = handle(&[(&cidr, count + 1)]);
                writes.push(ModelWrite::Update(kv.key, next, kv.revision));
            }
            if counts.windows(2).any(|w| w[0] != w[1]) {
                let apart = format!("the two handles came apart: {counts:?}");
                return Err(DatastoreError::Store(apart));
            }
            backend.write_models(writes).await.map(drop)
        }
    })
    .await?;
    for key in &keys {
        let last = stored(backend.as_ref(), key)
            .await?
            .ok_or_else(|| format!("{key} vanished"))?;
        let count = handle_count(&last, &cidr);
        ensure!(
            count == WRITERS * INCREMENTS,
            "{key}: {count} of {} updates survived",
            WRITERS * INCREMENTS
        );
    }
    Ok(())
}
