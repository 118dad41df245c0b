//! The raw-store behaviour of `EtcdStore` against a real (throw-away) etcd, mirroring the
//! embedded store's tests.

use calico_datastore::conformance::raw;
use calico_datastore::kv::{KvStore, UpdateOutcome};
use calico_etcd::{EtcdSettings, EtcdStore};
use calico_test_support::EtcdServer;

#[allow(clippy::unwrap_used, clippy::expect_used)]
async fn store_with_page(server: &EtcdServer, page_size: i64) -> EtcdStore {
    let mut settings = EtcdSettings::new([server.endpoint()]);
    settings.page_size = page_size;
    EtcdStore::connect(&settings).await.expect("connect")
}

#[tokio::test]
async fn ranges_are_read_in_pages_at_one_revision() {
    let server = EtcdServer::start();
    let store = store_with_page(&server, 3).await;
    for i in 0..10 {
        store
            .put(&format!("/pg/{i:02}"), format!("v{i}").into_bytes())
            .await
            .unwrap();
    }
    store.put("/pg0", b"outside".to_vec()).await.unwrap();
    let at = store.put("/pg/05", b"changed".to_vec()).await.unwrap();
    let all = store.range("/pg/", None).await.unwrap();
    let keys: Vec<_> = all.kvs.iter().map(|kv| kv.key.clone()).collect();
    let expected: Vec<_> = (0..10).map(|i| format!("/pg/{i:02}")).collect();
    assert_eq!(keys, expected);
    assert_eq!(all.kvs[5].value, b"changed");
    assert_eq!(all.revision, at);
    // Pages after the first are read at the first page's revision.
    let before = store.range("/pg/", Some(at - 1)).await.unwrap();
    assert_eq!(before.kvs.len(), 10);
    assert_eq!(before.kvs[5].value, b"v5");
    // A page boundary exactly at the end.
    let store9 = store_with_page(&server, 5).await;
    assert_eq!(store9.range("/pg/", None).await.unwrap().kvs.len(), 10);
}

#[tokio::test]
async fn revisions_and_compare_and_swap() {
    let server = EtcdServer::start();
    let store = store_with_page(&server, 500).await;
    raw::revisions_and_compare_and_swap(&store).await;
    // etcd also refuses an update of a missing key at revision 0.
    assert_eq!(
        store.update("/missing", b"3".to_vec(), 0).await.unwrap(),
        UpdateOutcome::Missing
    );
    assert_eq!(store.datastore_type(), "etcdv3");
    assert_eq!(store.location(), server.endpoint());
}

#[tokio::test]
async fn ranges_by_prefix_at_revisions() {
    let server = EtcdServer::start();
    raw::ranges_by_prefix_at_revisions(&store_with_page(&server, 500).await).await;
}

#[tokio::test]
async fn compaction_forgets_history_but_keeps_state() {
    let server = EtcdServer::start();
    raw::compaction_forgets_history_but_keeps_state(&store_with_page(&server, 500).await).await;
}

#[tokio::test]
async fn watch_reports_changes_in_order_with_previous_values() {
    let server = EtcdServer::start();
    raw::watch_reports_changes_in_order_with_previous_values(&store_with_page(&server, 500).await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_compare_and_swap_loses_no_update() {
    let server = EtcdServer::start();
    let store = store_with_page(&server, 500).await;
    let mut handles = Vec::new();
    for _ in 0..4 {
        handles.push(store_with_page(&server, 500).await);
    }
    raw::concurrent_compare_and_swap_loses_no_update(&store, handles).await;
}

/// Creates of keys 0..200 (0..10 already exist), updates of the existing ten (half with a stale
/// revision) and reads, all in flight at once; returns how many distinct revisions the new keys
/// got.
#[allow(clippy::unwrap_used)]
async fn concurrent_mixed_operations(store: &EtcdStore) -> usize {
    let mut existing = Vec::new();
    for i in 0..10 {
        existing.push(
            store
                .put(&format!("/b/{i:03}"), b"old".to_vec())
                .await
                .unwrap(),
        );
    }
    let creates = (0..200).map(|i| {
        let store = store.clone();
        async move {
            store
                .create(&format!("/b/{i:03}"), format!("new{i}").into_bytes())
                .await
                .unwrap()
        }
    });
    let updates = existing.iter().enumerate().map(|(i, revision)| {
        let store = store.clone();
        let expected = if i % 2 == 0 { *revision } else { revision - 1 };
        async move {
            store
                .update(&format!("/c/{i:03}"), b"x".to_vec(), expected)
                .await
                .unwrap()
        }
    });
    let reads = (0..20).map(|i| {
        let store = store.clone();
        async move { store.get(&format!("/b/{i:03}"), None).await.unwrap() }
    });
    let (created, updated, read) = tokio::join!(
        futures::future::join_all(creates),
        futures::future::join_all(updates),
        futures::future::join_all(reads)
    );
    let mut revisions = std::collections::BTreeSet::new();
    for (i, outcome) in created.iter().enumerate() {
        match outcome {
            calico_datastore::kv::CreateOutcome::Exists(kv) => {
                assert!(i < 10, "key {i} should have been created");
                assert_eq!(kv.value, b"old");
            }
            calico_datastore::kv::CreateOutcome::Created { revision } => {
                assert!(i >= 10, "key {i} existed");
                revisions.insert(*revision);
            }
        }
    }
    // Updates of keys that do not exist are reported missing, each on its own.
    assert!(updated.iter().all(|u| *u == UpdateOutcome::Missing));
    for (i, kv) in read.iter().enumerate() {
        if i < 10 {
            assert_eq!(
                kv.as_ref().map(|kv| kv.value.clone()),
                Some(b"old".to_vec())
            );
        }
    }
    let all = store.range("/b/", None).await.unwrap();
    assert_eq!(all.kvs.len(), 200);
    for kv in &all.kvs[10..] {
        let i: usize = kv.key["/b/".len()..].parse().unwrap();
        assert_eq!(kv.value, format!("new{i}").into_bytes());
        assert!(revisions.contains(&kv.mod_revision));
    }
    // Compare-and-swap inside a batch: the current revision wins, a stale one conflicts.
    let current = store.get("/b/000", None).await.unwrap().unwrap();
    let (fresh, stale) = tokio::join!(
        store.update("/b/000", b"cas".to_vec(), current.mod_revision),
        store.update("/b/001", b"cas".to_vec(), current.mod_revision - 1000)
    );
    assert!(matches!(fresh.unwrap(), UpdateOutcome::Updated { .. }));
    assert!(matches!(stale.unwrap(), UpdateOutcome::Conflict(_)));
    revisions.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_operations_share_transactions_and_keep_their_outcomes() {
    let server = EtcdServer::start();
    let store = store_with_page(&server, 500).await;
    let revisions = concurrent_mixed_operations(&store).await;
    // 190 creates in flight together cannot all have gone one transaction each.
    assert!(revisions < 190, "no batching: {revisions} revisions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_refused_by_etcd_fall_back_to_one_transaction_each() {
    let server = EtcdServer::start_with_flags(&["--max-txn-ops", "4"]);
    let store = store_with_page(&server, 500).await;
    // Every write lands with its outcome (checked inside). A batch etcd refuses falls back to
    // one transaction per write; a batch that happened to hold no more than 4 writes is
    // accepted whole, so the count depends on timing: at most 190, and never more than 4
    // writes per transaction.
    let revisions = concurrent_mixed_operations(&store).await;
    assert!(
        (190_usize.div_ceil(4)..=190).contains(&revisions),
        "{revisions} revisions"
    );
}

#[tokio::test]
async fn newer_and_unreadable_values() {
    let server = EtcdServer::start();
    raw::newer_and_unreadable_values(store_with_page(&server, 500).await).await;
}
