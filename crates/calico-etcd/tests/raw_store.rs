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
