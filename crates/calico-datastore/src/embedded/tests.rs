use super::*;
use crate::conformance::raw;
use futures::StreamExt;

fn store() -> (tempfile::TempDir, EmbeddedStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path().join("sub").join("calico.db")).unwrap();
    (dir, store)
}

#[tokio::test]
async fn file_is_private() {
    let (_dir, store) = store();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(store.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = fs::metadata(store.path().parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
    }
}

#[tokio::test]
async fn revisions_and_compare_and_swap() {
    let (_dir, store) = store();
    raw::revisions_and_compare_and_swap(&store).await;
}

#[tokio::test]
async fn ranges_by_prefix_at_revisions() {
    let (_dir, store) = store();
    raw::ranges_by_prefix_at_revisions(&store).await;
}

#[tokio::test]
async fn compaction_forgets_history_but_keeps_state() {
    let (_dir, store) = store();
    raw::compaction_forgets_history_but_keeps_state(&store).await;
}

#[tokio::test]
async fn watch_reports_changes_in_order_with_previous_values() {
    let (_dir, store) = store();
    raw::watch_reports_changes_in_order_with_previous_values(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_compare_and_swap_loses_no_update() {
    let (_dir, store) = store();
    // Separate handles behave like separate processes sharing the file.
    let handles = (0..4)
        .map(|_| EmbeddedStore::open(store.path()).unwrap())
        .collect();
    raw::concurrent_compare_and_swap_loses_no_update(&store, handles).await;
}

#[tokio::test]
async fn a_second_handle_on_the_same_file_sees_writes() {
    let (dir, store) = store();
    let other = EmbeddedStore::open(dir.path().join("sub").join("calico.db")).unwrap();
    let start = store.put("/s/x", b"1".to_vec()).await.unwrap();
    let mut watch = other.watch("/s/", start).await.unwrap();
    store.put("/s/y", b"2".to_vec()).await.unwrap();
    assert_eq!(other.get("/s/y", None).await.unwrap().unwrap().value, b"2");
    assert!(matches!(watch.next().await, Some(Ok(RawEvent::Put { kv, .. })) if kv.key == "/s/y"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path().join("calico.db")).unwrap();
    let harness = crate::conformance::KvHarness::new(store, dir);
    if let Err(failures) = crate::conformance::run_all(&harness).await {
        panic!("conformance failures:\n{failures}");
    }
    if let Err(failures) = crate::conformance::run_model_checks(&harness).await {
        panic!("IPAM model conformance failures:\n{failures}");
    }
}

#[tokio::test]
async fn newer_and_unreadable_values() {
    let (_dir, store) = store();
    raw::newer_and_unreadable_values(store).await;
}
