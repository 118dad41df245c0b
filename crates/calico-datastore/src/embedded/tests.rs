use super::*;
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
    let CreateOutcome::Created { revision: r1 } = store.create("/a", b"1".to_vec()).await.unwrap()
    else {
        panic!("create failed")
    };
    assert!(matches!(
        store.create("/a", b"x".to_vec()).await.unwrap(),
        CreateOutcome::Exists(kv) if kv.value == b"1" && kv.mod_revision == r1
    ));
    let UpdateOutcome::Updated { revision: r2 } =
        store.update("/a", b"2".to_vec(), r1).await.unwrap()
    else {
        panic!("update failed")
    };
    assert!(r2 > r1);
    assert!(matches!(
        store.update("/a", b"3".to_vec(), r1).await.unwrap(),
        UpdateOutcome::Conflict(kv) if kv.mod_revision == r2
    ));
    assert_eq!(
        store.update("/b", b"3".to_vec(), r1).await.unwrap(),
        UpdateOutcome::Missing
    );
    let now = store.get("/a", None).await.unwrap().unwrap();
    assert_eq!((now.create_revision, now.mod_revision), (r1, r2));
    let then = store.get("/a", Some(r1)).await.unwrap().unwrap();
    assert_eq!(then.value, b"1");

    assert!(matches!(
        store.delete("/a", Some(r1)).await.unwrap(),
        DeleteOutcome::Conflict(_)
    ));
    let DeleteOutcome::Deleted {
        previous,
        revision: r3,
    } = store.delete("/a", Some(r2)).await.unwrap()
    else {
        panic!("delete failed")
    };
    assert_eq!(previous.value, b"2");
    assert!(store.get("/a", None).await.unwrap().is_none());
    assert_eq!(
        store.get("/a", Some(r2)).await.unwrap().unwrap().value,
        b"2"
    );
    assert!(store.get("/a", Some(r3)).await.unwrap().is_none());
    assert_eq!(
        store.delete("/a", None).await.unwrap(),
        DeleteOutcome::Missing
    );
    // A re-created key starts a new life.
    let r4 = store.put("/a", b"4".to_vec()).await.unwrap();
    let again = store.get("/a", None).await.unwrap().unwrap();
    assert_eq!((again.create_revision, again.mod_revision), (r4, r4));
}

#[tokio::test]
async fn ranges_by_prefix_at_revisions() {
    let (_dir, store) = store();
    store.put("/p/a", b"a1".to_vec()).await.unwrap();
    let mid = store.put("/p/b", b"b1".to_vec()).await.unwrap();
    store.put("/pq", b"sibling".to_vec()).await.unwrap();
    store.put("/p/a", b"a2".to_vec()).await.unwrap();
    store.delete("/p/b", None).await.unwrap();

    let now = store.range("/p/", None).await.unwrap();
    let keys: Vec<_> = now
        .kvs
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.as_slice()))
        .collect();
    assert_eq!(keys, [("/p/a", b"a2".as_slice())]);
    assert_eq!(now.revision, 5);

    let then = store.range("/p/", Some(mid)).await.unwrap();
    let keys: Vec<_> = then
        .kvs
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.as_slice()))
        .collect();
    assert_eq!(
        keys,
        [("/p/a", b"a1".as_slice()), ("/p/b", b"b1".as_slice())]
    );

    assert!(matches!(
        store.range("/p/", Some(99)).await,
        Err(KvError::FutureRevision {
            requested: 99,
            current: 5
        })
    ));
}

#[tokio::test]
async fn compaction_forgets_history_but_keeps_state() {
    let (_dir, store) = store();
    store.put("/k/a", b"1".to_vec()).await.unwrap();
    let r2 = store.put("/k/a", b"2".to_vec()).await.unwrap();
    store.put("/k/gone", b"x".to_vec()).await.unwrap();
    store.delete("/k/gone", None).await.unwrap();
    let r5 = store.put("/k/b", b"3".to_vec()).await.unwrap();
    store.compact(r5).await.unwrap();

    assert!(matches!(
        store.get("/k/a", Some(r2)).await,
        Err(KvError::Compacted { requested, compacted }) if requested == r2 && compacted == r5
    ));
    let at = store.range("/k/", Some(r5)).await.unwrap();
    assert_eq!(at.kvs.len(), 2);
    let mut watch = store.watch("/k/", r2).await.unwrap();
    assert!(matches!(
        watch.next().await,
        Some(Err(KvError::Compacted { .. }))
    ));
}

#[tokio::test]
async fn watch_reports_changes_in_order_with_previous_values() {
    let (_dir, store) = store();
    let start = store.put("/w/a", b"0".to_vec()).await.unwrap();
    let mut watch = store.watch("/w/", start).await.unwrap();
    store.put("/w/a", b"1".to_vec()).await.unwrap();
    store.put("/other", b"ignored".to_vec()).await.unwrap();
    store.create("/w/b", b"2".to_vec()).await.unwrap();
    store.delete("/w/a", None).await.unwrap();

    let first = watch.next().await.unwrap().unwrap();
    assert!(matches!(&first, RawEvent::Put { kv, previous: Some(prev) }
        if kv.value == b"1" && prev.value == b"0"));
    let second = watch.next().await.unwrap().unwrap();
    assert!(matches!(&second, RawEvent::Put { kv, previous: None } if kv.key == "/w/b"));
    let third = watch.next().await.unwrap().unwrap();
    assert!(
        matches!(&third, RawEvent::Delete { key, previous: Some(prev), .. }
        if key == "/w/a" && prev.value == b"1")
    );
    assert!(first.revision() < second.revision() && second.revision() < third.revision());
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_compare_and_swap_loses_no_update() {
    let (dir, store) = store();
    store.put("/counter", b"0".to_vec()).await.unwrap();
    let path = dir.path().join("sub").join("calico.db");
    let mut tasks = Vec::new();
    for _ in 0..4 {
        // Separate handles behave like separate processes sharing the file.
        let handle = EmbeddedStore::open(&path).unwrap();
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                loop {
                    let current = handle.get("/counter", None).await.unwrap().unwrap();
                    let n: u64 = std::str::from_utf8(&current.value)
                        .unwrap()
                        .parse()
                        .unwrap();
                    let next = (n + 1).to_string().into_bytes();
                    match handle
                        .update("/counter", next, current.mod_revision)
                        .await
                        .unwrap()
                    {
                        UpdateOutcome::Updated { .. } => break,
                        UpdateOutcome::Conflict(_) => continue,
                        UpdateOutcome::Missing => panic!("counter vanished"),
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let last = store.get("/counter", None).await.unwrap().unwrap();
    assert_eq!(last.value, b"100");
}

struct EmbeddedHarness {
    _dir: tempfile::TempDir,
    backend: Arc<crate::KvBackend<EmbeddedStore>>,
}

#[async_trait]
impl crate::conformance::Harness for EmbeddedHarness {
    async fn backend(&self) -> Arc<dyn crate::Backend> {
        self.backend.clone()
    }

    async fn compact(&self, revision: &str) -> Option<()> {
        let revision = revision.parse().ok()?;
        self.backend.store().compact(revision).await.ok()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path().join("calico.db")).unwrap();
    let harness = EmbeddedHarness {
        _dir: dir,
        backend: Arc::new(crate::KvBackend::new(store)),
    };
    if let Err(failures) = crate::conformance::run_all(&harness).await {
        panic!("conformance failures:\n{failures}");
    }
}
