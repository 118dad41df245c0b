//! Checks of the raw [`KvStore`] contract (etcd's revision model), shared by the tests of every
//! store: the embedded one and etcd. Each check takes a fresh store.
//!
//! This is test-support code: it asserts, and panics on failure, like the tests that call it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures::StreamExt;

use crate::kv::{CreateOutcome, DeleteOutcome, KvError, KvStore, RawEvent, UpdateOutcome};

/// Create-if-absent, compare-and-swap updates and deletes, reads at past revisions.
pub async fn revisions_and_compare_and_swap<S: KvStore>(store: &S) {
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
    assert_eq!(
        store.update("/b", b"3".to_vec(), 0).await.unwrap(),
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
    let r4 = store.put("/a", b"4".to_vec()).await.unwrap();
    let again = store.get("/a", None).await.unwrap().unwrap();
    assert_eq!((again.create_revision, again.mod_revision), (r4, r4));
}

/// Prefix ranges now and at a past revision; a future revision is an error.
pub async fn ranges_by_prefix_at_revisions<S: KvStore>(store: &S) {
    store.put("/p/a", b"a1".to_vec()).await.unwrap();
    let mid = store.put("/p/b", b"b1".to_vec()).await.unwrap();
    store.put("/pq", b"sibling".to_vec()).await.unwrap();
    store.put("/p/a", b"a2".to_vec()).await.unwrap();
    let last = match store.delete("/p/b", None).await.unwrap() {
        DeleteOutcome::Deleted { revision, .. } => revision,
        other => panic!("{other:?}"),
    };

    let now = store.range("/p/", None).await.unwrap();
    let keys: Vec<_> = now
        .kvs
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.as_slice()))
        .collect();
    assert_eq!(keys, [("/p/a", b"a2".as_slice())]);
    assert_eq!(now.revision, last);

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
        store.range("/p/", Some(last + 50)).await,
        Err(KvError::FutureRevision { requested, current }) if requested == last + 50 && current == last
    ));
}

/// Compaction refuses older reads and watches but keeps the current state.
pub async fn compaction_forgets_history_but_keeps_state<S: KvStore>(store: &S) {
    store.put("/k/a", b"1".to_vec()).await.unwrap();
    let r2 = store.put("/k/a", b"2".to_vec()).await.unwrap();
    store.put("/k/gone", b"x".to_vec()).await.unwrap();
    store.delete("/k/gone", None).await.unwrap();
    let r5 = store.put("/k/b", b"3".to_vec()).await.unwrap();
    store.compact(r5).await.unwrap();
    // Compacting again at or below is harmless.
    store.compact(r2).await.unwrap();

    let got = store.get("/k/a", Some(r2)).await;
    assert!(
        matches!(got, Err(KvError::Compacted { requested, compacted }) if requested == r2 && compacted == r5),
        "{got:?}"
    );
    let at = store.range("/k/", Some(r5)).await.unwrap();
    assert_eq!(at.kvs.len(), 2);
    let mut watch = store.watch("/k/", r2).await.unwrap();
    let first = watch.next().await;
    assert!(
        matches!(first, Some(Err(KvError::Compacted { compacted, .. })) if compacted == r5),
        "{first:?}"
    );
    assert!(
        watch.next().await.is_none(),
        "the watch ends after the error"
    );
}

/// A watch reports puts and deletes in revision order, with the previous values.
pub async fn watch_reports_changes_in_order_with_previous_values<S: KvStore>(store: &S) {
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

/// Writers racing with compare-and-swap through separate handles lose no update.
pub async fn concurrent_compare_and_swap_loses_no_update<S: KvStore + 'static>(
    store: &S,
    handles: Vec<S>,
) {
    store.put("/counter", b"0".to_vec()).await.unwrap();
    let mut tasks = Vec::new();
    let writers = handles.len() as u64;
    for handle in handles {
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
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
    assert_eq!(last.value, (writers * 10).to_string().into_bytes());
}

/// What a newer Calico stored: a list leaves out values it cannot read (corrupt, or not of the
/// kind) and reads the rest; fields our types do not know are read without error and written
/// back by an update, after the known ones.
pub async fn newer_and_unreadable_values<S: KvStore + 'static>(store: S) {
    use crate::backend::Backend;
    use crate::key::{KindRef, ListOptions, ResourceKey};

    const PREFIX: &str = "/calico/resources/v3/projectcalico.org/globalnetworksets/";
    let newer = br#"{"kind":"GlobalNetworkSet","apiVersion":"projectcalico.org/v3","metadata":{"name":"b-newer","creationTimestamp":"2026-01-01T00:00:00Z"},"spec":{"nets":["10.0.0.0/8"],"future":{"z":1,"a":[true]}},"futureTop":"x"}"#;
    let values: [(&str, &[u8]); 4] = [
        ("a-corrupt", b"not json{"),
        ("b-newer", newer),
        ("c-wrong-type", br#"{"kind":"GlobalNetworkSet","apiVersion":"projectcalico.org/v3","metadata":{"name":"c-wrong-type"},"spec":{"nets":5}}"#),
        ("d-plain", br#"{"kind":"GlobalNetworkSet","apiVersion":"projectcalico.org/v3","metadata":{"name":"d-plain"},"spec":{}}"#),
    ];
    for (name, value) in values {
        store
            .put(&format!("{PREFIX}{name}"), value.to_vec())
            .await
            .unwrap();
    }
    let backend = crate::kvbackend::KvBackend::new(store);
    let kind = KindRef::lookup("GlobalNetworkSet").unwrap();
    let list = backend.list(&ListOptions::all(kind), None).await.unwrap();
    let names: Vec<&str> = list
        .items
        .iter()
        .map(|r| r.metadata().name.as_str())
        .collect();
    assert_eq!(names, ["b-newer", "d-plain"]);

    // Read-modify-write keeps what we do not know, byte for byte after the known fields.
    let key = ResourceKey::new(kind, "", "b-newer");
    let mut read = backend.get(&key, None).await.unwrap();
    assert_eq!(read.unknown().members().len(), 2);
    read.metadata_mut()
        .labels
        .insert("team".into(), "blue".into());
    backend.update(read).await.unwrap();
    let stored = backend
        .store()
        .get(&format!("{PREFIX}b-newer"), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        String::from_utf8(stored.value).unwrap(),
        r#"{"kind":"GlobalNetworkSet","apiVersion":"projectcalico.org/v3","metadata":{"name":"b-newer","creationTimestamp":"2026-01-01T00:00:00Z","labels":{"team":"blue"}},"spec":{"nets":["10.0.0.0/8"],"future":{"a":[true],"z":1}},"futureTop":"x"}"#
    );
    // A single unreadable value is still an error naming it.
    let bad = ResourceKey::new(kind, "", "a-corrupt");
    assert!(backend.get(&bad, None).await.is_err());
}
