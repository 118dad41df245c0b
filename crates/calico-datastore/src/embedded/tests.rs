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

/// The embedded store with only the required `KvStore` methods: the trait's default
/// `read_many` and `write_many`.
struct Plain(EmbeddedStore);

#[async_trait]
impl KvStore for Plain {
    async fn get(&self, key: &str, at: Option<i64>) -> Result<Option<RawKv>, KvError> {
        self.0.get(key, at).await
    }
    async fn range(&self, prefix: &str, at: Option<i64>) -> Result<RawRange, KvError> {
        self.0.range(prefix, at).await
    }
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<CreateOutcome, KvError> {
        self.0.create(key, value).await
    }
    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: i64,
    ) -> Result<UpdateOutcome, KvError> {
        self.0.update(key, value, expected).await
    }
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<i64, KvError> {
        self.0.put(key, value).await
    }
    async fn delete(&self, key: &str, expected: Option<i64>) -> Result<DeleteOutcome, KvError> {
        self.0.delete(key, expected).await
    }
    async fn watch(&self, prefix: &str, after: i64) -> Result<RawWatch, KvError> {
        self.0.watch(prefix, after).await
    }
    async fn compact(&self, revision: i64) -> Result<(), KvError> {
        self.0.compact(revision).await
    }
    fn location(&self) -> String {
        self.0.location()
    }
    fn datastore_type(&self) -> &'static str {
        self.0.datastore_type()
    }
}

#[tokio::test]
async fn the_default_read_many_reads_what_one_transaction_reads() {
    let (_dir, store) = store();
    for key in ["/r/a", "/r/a/x", "/r/b", "/s"] {
        store.put(key, key.as_bytes().to_vec()).await.unwrap();
    }
    let reads = [
        RawRead::Key("/r/a".into()),
        RawRead::Prefix("/r/".into()),
        RawRead::Key("/r/missing".into()),
        RawRead::Key("/r".into()),
        RawRead::Prefix("/none/".into()),
    ];
    let batched = store.read_many(&reads).await.unwrap();
    let plain = Plain(store.clone());
    let default = plain.read_many(&reads).await.unwrap();
    assert_eq!(default, batched);
    assert_eq!(batched.revision, 4);
    assert!(matches!(&batched.results[0], RawReadResult::Key(Some(kv)) if kv.key == "/r/a"));
    assert!(matches!(&batched.results[1], RawReadResult::Prefix(page) if page.kvs.len() == 3));
    assert!(matches!(
        &batched.results[2..4],
        [RawReadResult::Key(None), RawReadResult::Key(None)]
    ));
    assert!(!plain.atomic_writes());
    let refused = plain
        .write_many(vec![RawWrite::Delete {
            key: "/s".into(),
            expected: None,
        }])
        .await;
    assert!(matches!(refused, Err(KvError::Store(_))), "{refused:?}");
    assert_eq!(
        store.read_many(&[]).await.unwrap(),
        plain.read_many(&[]).await.unwrap()
    );
}

#[tokio::test]
async fn write_many_applies_all_or_nothing_each_at_its_own_revision() {
    let (_dir, store) = store();
    let a = store.put("/w/a", b"1".to_vec()).await.unwrap();
    let refused = store
        .write_many(vec![
            RawWrite::Create {
                key: "/w/new".into(),
                value: b"n".to_vec(),
            },
            RawWrite::Update {
                key: "/w/a".into(),
                value: b"2".to_vec(),
                expected: a - 1,
            },
        ])
        .await
        .unwrap();
    assert!(
        matches!(&refused, WriteManyOutcome::Refused { index: 1, current: Some(kv) } if kv.mod_revision == a),
        "{refused:?}"
    );
    assert_eq!(store.get("/w/new", None).await.unwrap(), None);
    let written = store
        .write_many(vec![
            RawWrite::Create {
                key: "/w/new".into(),
                value: b"n".to_vec(),
            },
            RawWrite::Delete {
                key: "/w/a".into(),
                expected: Some(a),
            },
        ])
        .await
        .unwrap();
    let WriteManyOutcome::Written(written) = written else {
        panic!("{written:?}")
    };
    assert_eq!(written[0], RawWritten::Put { revision: a + 1 });
    assert!(
        matches!(&written[1], RawWritten::Deleted { previous, revision } if previous.value == b"1" && *revision == a + 2)
    );
}
