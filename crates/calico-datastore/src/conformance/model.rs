//! Conformance checks of the IPAM model operations (`Backend::*_model`): the four kinds stored
//! as Calico's IPAM stores them, with Calico's errors. Run by every driver ([`run_model_checks`]:
//! the embedded store, etcd, and the Kubernetes driver in both storage modes); the stored bytes
//! are checked where the harness has an etcd layout ([`Harness::raw_value`]), the Kubernetes
//! driver's stored objects by its own tests. Each check uses fresh keys, so a harness may share one
//! datastore across checks (the IPAM config is a singleton: only [`config_apply`] touches it).

use std::collections::BTreeMap;
use std::sync::Arc;

use calico_api::model::{
    AffinityState, AffinityType, AllocationAttribute, AllocationBlock, BlockAffinity,
    BlockAffinityKey, BlockKey, HandleKey, IPAMConfig, IPAMHandle, IpVersion, ModelKey,
    ModelListOptions, ModelValue,
};
use ipnet::IpNet;

use super::batch::{
    atomic_writers_race, atomic_writes_all_or_nothing, atomic_writes_together,
    read_batch_matches_single_reads,
};
use super::{unique, CheckResult, Harness};
use crate::backend::{ModelKv, ModelWatchEvent};
use crate::error::DatastoreError;

/// A /122 no other check uses (bits 64..96 from a fresh UUID).
fn unique_v6_cidr() -> IpNet {
    let bits = u128::from(uuid::Uuid::new_v4().as_u128() as u32) << 32;
    let address = std::net::Ipv6Addr::from((0xfd00_u128 << 112) | bits);
    IpNet::V6(ipnet::Ipv6Net::new(address, 122).unwrap_or_default())
}

/// An IPv4 /30 no other check uses (10.x.y.z from a fresh UUID).
pub(super) fn unique_v4_cidr() -> IpNet {
    let bits = (uuid::Uuid::new_v4().as_u128() as u32 & 0x00ff_fffc) | 0x0a00_0000;
    IpNet::V4(ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(bits), 30).unwrap_or_default())
}

/// A block as Calico's CNI plugin leaves it after one allocation (sequence numbers above 2^53,
/// HTML-escaped characters in an attribute).
pub(super) fn used_block(cidr: IpNet, host: &str) -> AllocationBlock {
    let size = 1usize << (cidr.max_prefix_len() - cidr.prefix_len());
    let mut allocations = vec![None; size];
    allocations[0] = Some(0);
    AllocationBlock {
        cidr,
        affinity: Some(format!("host:{host}")),
        affinity_claim_time: calico_api::Time::parse("2026-12-05T21:53:49Z").ok(),
        allocations: Some(allocations),
        unallocated: Some((1..size as i64).collect()),
        attributes: Some(vec![AllocationAttribute {
            handle_id: Some("k8s-pod-network.4f1c0d9e".into()),
            secondary: BTreeMap::from([
                ("namespace".to_string(), "default".to_string()),
                ("node".to_string(), host.to_string()),
                ("pod".to_string(), "web-<1>&".to_string()),
            ]),
            ..Default::default()
        }]),
        sequence_number: 1_796_507_629_334_448_043,
        sequence_number_for_allocation: Some(BTreeMap::from([(
            "0".to_string(),
            1_796_507_629_334_448_042,
        )])),
        deleted: false,
        host_affinity: None,
        unknown: Default::default(),
    }
}

pub(super) fn handle(counts: &[(&str, i64)]) -> ModelValue {
    IPAMHandle {
        block: Some(
            counts
                .iter()
                .map(|(cidr, n)| (cidr.to_string(), *n))
                .collect(),
        ),
        ..Default::default()
    }
    .into()
}

pub(super) fn affinity(state: AffinityState) -> ModelValue {
    BlockAffinity {
        state,
        ..Default::default()
    }
    .into()
}

pub(super) fn handle_count(kv: &ModelKv, cidr: &str) -> i64 {
    match &kv.value {
        ModelValue::Handle(handle) => handle
            .block
            .as_ref()
            .and_then(|block| block.get(cidr).copied())
            .unwrap_or(0),
        _ => -1,
    }
}

/// Create, get (value, revision, stored bytes), and Calico's errors around them.
pub async fn create_and_get(h: &dyn Harness) -> CheckResult {
    let backend = h.backend().await;
    let host = unique("node");
    let key = ModelKey::Block(BlockKey::new(unique_v6_cidr()));
    let value = ModelValue::Block(used_block(key_cidr(&key), &host));
    let created = backend
        .create_model(key.clone(), value.clone())
        .await
        .map_err(|e| format!("create failed: {e}"))?;
    ensure!(!created.revision.is_empty(), "create returned no revision");
    let fetched = backend
        .get_model(&key)
        .await
        .map_err(|e| format!("get failed: {e}"))?;
    ensure!(
        fetched.revision == created.revision,
        "get returned another revision"
    );
    ensure!(fetched.value == value, "the block did not round-trip");
    if let Some(bytes) = h.raw_value(&key.default_path()).await {
        let expected = value.encode().map_err(|e| e.to_string())?;
        ensure!(
            bytes == expected,
            "stored bytes {:?}, expected {:?}",
            String::from_utf8_lossy(&bytes),
            String::from_utf8_lossy(&expected)
        );
        ensure!(
            String::from_utf8_lossy(&bytes).contains(r#""affinity":"host:"#)
                && String::from_utf8_lossy(&bytes).contains(r#"web-\u003c1\u003e\u0026"#),
            "stored bytes are not Go's"
        );
    }

    match backend.create_model(key.clone(), value).await {
        Err(err @ DatastoreError::ModelAlreadyExists { .. }) => ensure!(
            err.to_string() == format!("resource already exists: {key} with error: <nil>"),
            "wrong already-exists text: {err}"
        ),
        other => {
            return Err(format!(
                "second create: expected ModelAlreadyExists, got {other:?}"
            ))
        }
    }
    let missing = ModelKey::Handle(HandleKey::new(unique("missing")));
    match backend.get_model(&missing).await {
        Err(err @ DatastoreError::ModelDoesNotExist { .. }) => ensure!(
            err.to_string()
                .starts_with(&format!("resource does not exist: {missing} with error: ")),
            "wrong does-not-exist text: {err}"
        ),
        other => return Err(format!("get of a missing handle: got {other:?}")),
    }
    match backend
        .create_model(key.clone(), affinity(AffinityState::Confirmed))
        .await
    {
        Err(DatastoreError::Validation(_)) => {}
        other => return Err(format!("an affinity value at a block key: got {other:?}")),
    }
    let slashed = ModelKey::Handle(HandleKey::new("a/b"));
    match backend.create_model(slashed, handle(&[])).await {
        Err(DatastoreError::Validation(_)) => {}
        other => return Err(format!("a handle ID with a '/': got {other:?}")),
    }
    Ok(())
}

fn key_cidr(key: &ModelKey) -> IpNet {
    match key {
        ModelKey::Block(block) => block.cidr(),
        ModelKey::BlockAffinity(affinity) => affinity.cidr(),
        _ => IpNet::default(),
    }
}

/// Update compares the revision; delete with a stale revision is a conflict.
pub async fn update_and_delete(h: &dyn Harness) -> CheckResult {
    let backend = h.backend().await;
    let key = ModelKey::Handle(HandleKey::new(unique("k8s-pod-network")));
    let created = backend
        .create_model(key.clone(), handle(&[("10.0.0.0/26", 1)]))
        .await
        .map_err(|e| format!("create failed: {e}"))?;
    let updated = backend
        .update_model(
            key.clone(),
            handle(&[("10.0.0.0/26", 2)]),
            &created.revision,
        )
        .await
        .map_err(|e| format!("update failed: {e}"))?;
    ensure!(
        updated.revision != created.revision,
        "update kept the old revision"
    );
    let fetched = backend.get_model(&key).await.map_err(|e| e.to_string())?;
    ensure!(
        handle_count(&fetched, "10.0.0.0/26") == 2,
        "update lost the new value"
    );

    match backend
        .update_model(
            key.clone(),
            handle(&[("10.0.0.0/26", 3)]),
            &created.revision,
        )
        .await
    {
        Err(err @ DatastoreError::ModelUpdateConflict { .. }) => ensure!(
            err.to_string() == format!("update conflict: {key}"),
            "wrong conflict text: {err}"
        ),
        other => {
            return Err(format!(
                "stale update: expected ModelUpdateConflict, got {other:?}"
            ))
        }
    }
    let ghost = ModelKey::Handle(HandleKey::new(unique("ghost")));
    match backend
        .update_model(ghost, handle(&[("10.0.0.0/26", 1)]), &updated.revision)
        .await
    {
        Err(DatastoreError::ModelDoesNotExist { .. }) => {}
        other => return Err(format!("update of a missing handle: got {other:?}")),
    }

    match backend.delete_model(&key, Some(&created.revision)).await {
        Err(DatastoreError::ModelUpdateConflict { .. }) => {}
        other => return Err(format!("delete with a stale revision: got {other:?}")),
    }
    let deleted = backend
        .delete_model(&key, Some(&updated.revision))
        .await
        .map_err(|e| format!("delete failed: {e}"))?;
    ensure!(
        handle_count(&deleted, "10.0.0.0/26") == 2,
        "delete returned another value"
    );
    match backend.get_model(&key).await {
        Err(DatastoreError::ModelDoesNotExist { .. }) => {}
        other => return Err(format!("get after delete: got {other:?}")),
    }
    match backend.delete_model(&key, None).await {
        Err(DatastoreError::ModelDoesNotExist { .. }) => {}
        other => return Err(format!("second delete: got {other:?}")),
    }
    Ok(())
}

/// The IPAM config is written unconditionally (Calico's `SetIPAMConfig` applies it).
pub async fn config_apply(h: &dyn Harness) -> CheckResult {
    let backend = h.backend().await;
    let config = |strict: bool| -> ModelValue {
        IPAMConfig {
            strict_affinity: strict,
            auto_allocate_blocks: true,
            kube_virt_vm_address_persistence: Some("Enabled".into()),
            ..Default::default()
        }
        .into()
    };
    backend
        .apply_model(ModelKey::Config, config(false))
        .await
        .map_err(|e| format!("first apply failed: {e}"))?;
    let applied = backend
        .apply_model(ModelKey::Config, config(true))
        .await
        .map_err(|e| format!("apply over an existing config failed: {e}"))?;
    let fetched = backend
        .get_model(&ModelKey::Config)
        .await
        .map_err(|e| format!("get failed: {e}"))?;
    ensure!(
        fetched.revision == applied.revision,
        "get returned another revision"
    );
    ensure!(
        fetched.value == config(true),
        "the config did not round-trip"
    );
    if let Some(bytes) = h.raw_value(&ModelKey::Config.default_path()).await {
        // What `calicoctl ipam configure --strictaffinity=true` stores.
        ensure!(
            bytes
                == br#"{"strict_affinity":true,"auto_allocate_blocks":true,"kubeVirtVMAddressPersistence":"Enabled"}"#,
            "stored config {:?}",
            String::from_utf8_lossy(&bytes)
        );
    }
    backend
        .delete_model(&ModelKey::Config, None)
        .await
        .map_err(|e| format!("delete failed: {e}"))?;
    Ok(())
}

/// Lists by kind, host and family; a value that cannot be read is reported, not listed.
pub async fn list(h: &dyn Harness) -> CheckResult {
    let backend = h.backend().await;
    let host = unique("node");
    // Shares `host` as a key prefix: a host's list must not include it.
    let neighbour = format!("{host}b");
    let v4 = unique_v4_cidr();
    let v6 = unique_v6_cidr();
    // Another block for the virtual affinity: Kubernetes names an affinity by host and CIDR
    // alone, so a host and a virtual affinity of one block collide there (as in Calico).
    let virtual_v4 = unique_v4_cidr();
    let keys = [
        BlockAffinityKey::new(v4, host.as_str(), AffinityType::Host),
        BlockAffinityKey::new(v6, host.as_str(), AffinityType::Host),
        BlockAffinityKey::new(v4, neighbour.as_str(), AffinityType::Host),
        BlockAffinityKey::new(virtual_v4, host.as_str(), AffinityType::Virtual),
    ];
    for key in &keys {
        backend
            .create_model(key.clone().into(), affinity(AffinityState::Pending))
            .await
            .map_err(|e| format!("create failed: {e}"))?;
    }
    for cidr in [v4, v6] {
        backend
            .create_model(BlockKey::new(cidr).into(), used_block(cidr, &host).into())
            .await
            .map_err(|e| format!("create failed: {e}"))?;
    }
    let handle_key = HandleKey::new(unique("ipip-tunnel-addr"));
    backend
        .create_model(handle_key.clone().into(), handle(&[("10.0.0.0/26", 1)]))
        .await
        .map_err(|e| format!("create failed: {e}"))?;

    let listed = |options: ModelListOptions| {
        let backend = Arc::clone(&backend);
        async move {
            backend
                .list_model(&options)
                .await
                .map_err(|e| format!("list {options:?} failed: {e}"))
        }
    };
    let mine = listed(ModelListOptions::affinities_of(host.clone(), None)).await?;
    let mine_keys: Vec<ModelKey> = mine.items.iter().map(|kv| kv.key.clone()).collect();
    let expected: Vec<ModelKey> = {
        let mut expected = vec![keys[0].clone().into(), keys[1].clone().into()];
        expected.sort_by_key(ModelKey::default_path);
        expected
    };
    ensure!(mine_keys == expected, "host list returned {mine_keys:?}");
    ensure!(!mine.revision.is_empty(), "list returned no revision");
    ensure!(
        mine.items
            .iter()
            .all(|kv| kv.value == affinity(AffinityState::Pending) && !kv.revision.is_empty()),
        "host list values or revisions are wrong"
    );
    let mine_v6 = listed(ModelListOptions::affinities_of(
        host.clone(),
        Some(IpVersion::V6),
    ))
    .await?;
    ensure!(
        mine_v6.items.len() == 1 && mine_v6.items[0].key == keys[1].clone().into(),
        "IPv6 host list returned {:?}",
        mine_v6.items.iter().map(|kv| &kv.key).collect::<Vec<_>>()
    );
    let all = listed(ModelListOptions::all_affinities()).await?;
    let ours = all
        .items
        .iter()
        .filter(|kv| keys[..3].iter().any(|k| kv.key == k.clone().into()))
        .count();
    ensure!(ours == 3, "all host affinities listed {ours} of our 3");
    ensure!(
        all.items.iter().all(|kv| matches!(
            &kv.key,
            ModelKey::BlockAffinity(k) if k.affinity_type == AffinityType::Host
        )),
        "a host list returned another affinity type"
    );
    let virtual_list = listed(ModelListOptions::BlockAffinities {
        affinity_type: AffinityType::Virtual,
        host: Some(host.clone()),
        ip_version: None,
    })
    .await?;
    ensure!(
        virtual_list.items.len() == 1,
        "virtual list returned {} items",
        virtual_list.items.len()
    );

    let blocks = listed(ModelListOptions::all_blocks()).await?;
    for cidr in [v4, v6] {
        let key: ModelKey = BlockKey::new(cidr).into();
        ensure!(
            blocks
                .items
                .iter()
                .any(|kv| kv.key == key && kv.value == used_block(cidr, &host).into()),
            "block list lacks {key}"
        );
    }
    let v4_blocks = listed(ModelListOptions::Blocks {
        ip_version: Some(IpVersion::V4),
    })
    .await?;
    ensure!(
        v4_blocks.items.iter().all(
            |kv| matches!(&kv.key, ModelKey::Block(b) if IpVersion::of(&b.cidr()) == IpVersion::V4)
        ),
        "IPv4 block list returned an IPv6 block"
    );
    let handles = listed(ModelListOptions::Handles).await?;
    ensure!(
        handles
            .items
            .iter()
            .any(|kv| kv.key == handle_key.clone().into() && handle_count(kv, "10.0.0.0/26") == 1),
        "handle list lacks {handle_key:?}"
    );

    // A value Calico could not read either: left out of the list, reported with its key.
    let broken = HandleKey::new(unique("broken"));
    let broken_path = ModelKey::from(broken.clone()).default_path();
    if h.put_raw(&broken_path, br#"{"block":{"10.0.0.0/26":"one"}}"#)
        .await
        .is_some()
    {
        let handles = listed(ModelListOptions::Handles).await?;
        ensure!(
            !handles
                .items
                .iter()
                .any(|kv| kv.key == broken.clone().into()),
            "an unreadable handle was listed"
        );
        ensure!(
            handles.unreadable.iter().any(|err| matches!(
                err,
                DatastoreError::ParsingEntry { key, .. } if *key == broken_path
            )),
            "the unreadable handle was not reported: {:?}",
            handles.unreadable
        );
        match backend.get_model(&broken.into()).await {
            Err(DatastoreError::ParsingEntry { key, .. }) if key == broken_path => {}
            other => return Err(format!("get of an unreadable handle: got {other:?}")),
        }
    }
    Ok(())
}

/// Writers racing with get-then-update on one handle lose no update.
pub async fn concurrent_writers(h: &dyn Harness) -> CheckResult {
    const WRITERS: i64 = 4;
    const INCREMENTS: i64 = 8;
    let backend = h.backend().await;
    let key: ModelKey = HandleKey::new(unique("race")).into();
    backend
        .create_model(key.clone(), handle(&[("10.0.0.0/26", 0)]))
        .await
        .map_err(|e| format!("create failed: {e}"))?;
    let (racing, racing_key) = (Arc::clone(&backend), key.clone());
    race(WRITERS, INCREMENTS, move || {
        let backend = Arc::clone(&racing);
        let key = racing_key.clone();
        async move {
            let current = backend.get_model(&key).await?;
            let next = handle(&[("10.0.0.0/26", handle_count(&current, "10.0.0.0/26") + 1)]);
            backend.update_model(key, next, &current.revision).await?;
            Ok(())
        }
    })
    .await?;
    let last = backend.get_model(&key).await.map_err(|e| e.to_string())?;
    let count = handle_count(&last, "10.0.0.0/26");
    ensure!(
        count == WRITERS * INCREMENTS,
        "{count} of {} updates survived",
        WRITERS * INCREMENTS
    );
    Ok(())
}

/// Runs `writers` tasks at once, each until `attempt` has succeeded `increments` times; an
/// attempt that fails with a conflict is tried again, any other failure ends the check.
pub(super) async fn race<F, Fut>(writers: i64, increments: i64, attempt: F) -> CheckResult
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), DatastoreError>> + Send,
{
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let attempt = attempt.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..increments {
                loop {
                    match attempt().await {
                        Ok(()) => break,
                        Err(err) if err.is_conflict() => continue,
                        Err(other) => return Err(other.to_string()),
                    }
                }
            }
            Ok::<(), String>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| format!("writer panicked: {e}"))??;
    }
    Ok(())
}

/// Every IPAM model check, by name.
pub async fn run_model_checks(h: &dyn Harness) -> Result<(), String> {
    run_checks!(h;
        create_and_get,
        update_and_delete,
        config_apply,
        list,
        concurrent_writers,
        list_in_pages,
        read_batch_matches_single_reads,
        atomic_writes_together,
        atomic_writes_all_or_nothing,
        atomic_writers_race,
        // Last: it compacts the datastore where the harness can.
        watch_events,
    )
}

/// The next model watch event about `key` (others' objects and bookmarks passed over).
async fn next_about(
    watch: &mut crate::backend::ModelWatchStream,
    key: &ModelKey,
) -> Result<ModelWatchEvent, String> {
    use futures::StreamExt;
    loop {
        let event = match tokio::time::timeout(super::EVENT_TIMEOUT, watch.next()).await {
            Ok(Some(event)) => event,
            Ok(None) => return Err("the watch ended early".into()),
            Err(_) => return Err("no watch event within 10 s".into()),
        };
        match &event {
            ModelWatchEvent::Added(kv)
            | ModelWatchEvent::Modified(kv)
            | ModelWatchEvent::Deleted(kv)
                if kv.key != *key => {}
            ModelWatchEvent::Bookmark { .. } => {}
            _ => return Ok(event),
        }
    }
}

fn model_event_name(event: &ModelWatchEvent) -> String {
    match event {
        ModelWatchEvent::Added(kv) => format!("ADDED {}", kv.key),
        ModelWatchEvent::Modified(kv) => format!("MODIFIED {}", kv.key),
        ModelWatchEvent::Deleted(kv) => format!("DELETED {}", kv.key),
        ModelWatchEvent::InitDone { .. } => "INIT-DONE".to_string(),
        ModelWatchEvent::Bookmark { .. } => "BOOKMARK".to_string(),
        ModelWatchEvent::Error(e) => format!("ERROR {e}"),
    }
}

fn marked_deleted(value: &ModelValue) -> bool {
    matches!(value, ModelValue::Block(block) if block.deleted)
}

/// `watch_model` of blocks: without a revision every block as ADDED, then one INIT-DONE, then
/// a block's update and delete as MODIFIED and DELETED (Kubernetes' two-step delete may show
/// the block marked deleted as a MODIFIED first); from INIT-DONE's revision the same changes;
/// from a compacted revision a compaction error and the end of the stream. Skipped by drivers
/// that refuse `watch_model` (`OperationNotSupported`: the syncer polls them).
pub async fn watch_events(h: &dyn Harness) -> CheckResult {
    let backend = h.backend().await;
    let cidr = unique_v4_cidr();
    let key = ModelKey::Block(BlockKey::new(cidr));
    let options = ModelListOptions::all_blocks();
    let created = backend
        .create_model(key.clone(), ModelValue::Block(used_block(cidr, "host-a")))
        .await
        .map_err(|e| format!("create failed: {e}"))?;
    let mut watch = match backend.watch_model(&options, None).await {
        Ok(watch) => watch,
        Err(DatastoreError::OperationNotSupported { .. }) => return Ok(()),
        Err(e) => return Err(format!("watch_model failed: {e}")),
    };
    let mut found = false;
    let init_revision = loop {
        // Every event until INIT-DONE, whichever block it is about.
        let event =
            match tokio::time::timeout(super::EVENT_TIMEOUT, futures::StreamExt::next(&mut watch))
                .await
            {
                Ok(Some(event)) => event,
                Ok(None) => return Err("the watch ended before INIT-DONE".into()),
                Err(_) => return Err("no INIT-DONE within 10 s".into()),
            };
        match event {
            ModelWatchEvent::Added(kv) if kv.key == key => {
                ensure!(!found, "the block was listed twice");
                ensure!(
                    kv.value == created.value && kv.revision == created.revision,
                    "the block was listed as {kv:?}"
                );
                found = true;
            }
            ModelWatchEvent::Added(_) | ModelWatchEvent::Bookmark { .. } => {}
            ModelWatchEvent::InitDone { revision } => break revision,
            other => return Err(format!("{} before INIT-DONE", model_event_name(&other))),
        }
    };
    ensure!(found, "the block was not listed before INIT-DONE");
    ensure!(
        !init_revision.is_empty() && init_revision != "0",
        "INIT-DONE without a revision"
    );

    let mut value = created.value.clone();
    if let ModelValue::Block(block) = &mut value {
        block.affinity = Some("host:host-b".into());
    }
    let updated = backend
        .update_model(key.clone(), value.clone(), &created.revision)
        .await
        .map_err(|e| format!("update failed: {e}"))?;
    let deleted = backend
        .delete_model(&key, Some(&updated.revision))
        .await
        .map_err(|e| format!("delete failed: {e}"))?;
    let mut resumed = backend
        .watch_model(&options, Some(&init_revision))
        .await
        .map_err(|e| format!("watch_model from INIT-DONE's revision failed: {e}"))?;
    for (which, stream) in [("first", &mut watch), ("resumed", &mut resumed)] {
        match next_about(stream, &key).await? {
            ModelWatchEvent::Modified(kv) => ensure!(
                kv.value == value && kv.revision == updated.revision,
                "the {which} watch's MODIFIED carried {kv:?}"
            ),
            other => {
                return Err(format!(
                    "the {which} watch's first change was {}",
                    model_event_name(&other)
                ))
            }
        }
        let mut next = next_about(stream, &key).await?;
        if matches!(&next, ModelWatchEvent::Modified(kv) if marked_deleted(&kv.value)) {
            next = next_about(stream, &key).await?;
        }
        match next {
            // The deletion's revision; not compared with what `delete_model` returned: a
            // real kube-apiserver answers a DELETE with the object's last revision.
            ModelWatchEvent::Deleted(kv) => ensure!(
                !kv.revision.is_empty(),
                "the {which} watch's DELETED without a revision"
            ),
            other => {
                return Err(format!(
                    "the {which} watch's second change was {}",
                    model_event_name(&other)
                ))
            }
        }
    }

    // Drivers that cannot be compacted on demand skip the rest.
    if h.compact(&deleted.revision).await.is_none() {
        return Ok(());
    }
    let mut old = match backend.watch_model(&options, Some(&created.revision)).await {
        Err(DatastoreError::Compacted { .. }) => return Ok(()),
        Err(other) => return Err(format!("watch_model from a compacted revision: {other}")),
        Ok(watch) => watch,
    };
    match next_about(&mut old, &key).await? {
        ModelWatchEvent::Error(DatastoreError::Compacted { .. }) => {}
        other => {
            return Err(format!(
                "from a compacted revision: {}",
                model_event_name(&other)
            ))
        }
    }
    match tokio::time::timeout(super::EVENT_TIMEOUT, futures::StreamExt::next(&mut old)).await {
        Ok(None) => Ok(()),
        Ok(Some(event)) => Err(format!(
            "the watch went on after the compaction error: {}",
            model_event_name(&event)
        )),
        Err(_) => Err("the watch did not end after the compaction error".into()),
    }
}

/// Listing in pages gives what one list gives, in the same order, each page at most about the
/// page size, all at one revision.
pub async fn list_in_pages(h: &dyn Harness) -> CheckResult {
    use futures::StreamExt;
    let backend = h.backend().await;
    let host = unique("node");
    for _ in 0..5 {
        let cidr = unique_v4_cidr();
        backend
            .create_model(BlockKey::new(cidr).into(), used_block(cidr, &host).into())
            .await
            .map_err(|e| format!("create failed: {e}"))?;
    }
    let options = ModelListOptions::all_blocks();
    let whole = backend
        .list_model(&options)
        .await
        .map_err(|e| format!("list failed: {e}"))?;
    let mut pages = backend
        .list_model_pages(&options, 2)
        .await
        .map_err(|e| format!("paged list failed: {e}"))?;
    let mut keys = Vec::new();
    let mut revisions = Vec::new();
    let mut count = 0;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("a page failed: {e}"))?;
        count += 1;
        revisions.push(page.revision.clone());
        keys.extend(page.items.into_iter().map(|kv| kv.key));
    }
    let whole_keys: Vec<ModelKey> = whole.items.into_iter().map(|kv| kv.key).collect();
    if keys != whole_keys {
        return Err(format!(
            "pages listed {} blocks, one list {}",
            keys.len(),
            whole_keys.len()
        ));
    }
    if count == 0 || revisions.windows(2).any(|w| w[0] != w[1]) {
        return Err(format!("{count} pages at revisions {revisions:?}"));
    }
    Ok(())
}
