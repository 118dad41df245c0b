//! `EtcdStore` on a real 3-member cluster with faults: a dead member at each position of the
//! endpoint list, the leader killed mid-write, a member stopped with SIGSTOP, a member
//! restarted, and answers lost to deadlines. Nothing may fail while the cluster has quorum, and
//! every write must be stored exactly once (a create at version 1, an update at version 2).
//!
//! The outer `tokio::time::timeout`s only turn a hang into a failure; they assert no speed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use calico_datastore::kv::{
    CreateOutcome, KvStore, RawWrite, RawWritten, UpdateOutcome, WriteManyOutcome,
};
use calico_etcd::{EtcdSettings, EtcdStore, Timeouts};
use calico_test_support::EtcdCluster;
use futures::StreamExt;

/// A hang is a failure, not a slow pass.
const SAFETY_NET: Duration = Duration::from_secs(300);

fn settings(endpoints: &[String]) -> EtcdSettings {
    EtcdSettings::new(endpoints.iter().map(String::as_str))
}

async fn connect(endpoints: &[String]) -> EtcdStore {
    EtcdStore::connect(&settings(endpoints))
        .await
        .expect("connect while the cluster has quorum")
}

fn value(prefix: &str, i: usize) -> Vec<u8> {
    format!("{{\"value\":\"{prefix}-{i}\",\"uid\":\"{i:08}\"}}").into_bytes()
}

/// Creates `count` keys under `prefix`, 64 at a time as calicoctl does; every one must be
/// created (not "already exists", not an error).
async fn create_all(store: &EtcdStore, prefix: &str, count: usize) -> Vec<i64> {
    let results: Vec<_> = futures::stream::iter(0..count)
        .map(|i| async move {
            let key = format!("{prefix}/{i:05}");
            (i, store.create(&key, value(prefix, i)).await)
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let mut revisions = vec![0; count];
    for (i, result) in results {
        match result {
            Ok(CreateOutcome::Created { revision }) => revisions[i] = revision,
            other => panic!("create {prefix}/{i:05}: {other:?}"),
        }
    }
    revisions
}

/// Every key under `prefix` holds our value, at version `version` (etcdctl's view).
fn assert_stored_once(cluster: &EtcdCluster, prefix: &str, count: usize, version: u64) {
    let out = cluster.etcdctl(&["get", "--prefix", &format!("{prefix}/"), "-w", "json"]);
    let versions = out.matches(&format!("\"version\":{version},")).count();
    let total = out.matches("\"version\":").count();
    assert_eq!(total, count, "keys under {prefix}");
    assert_eq!(versions, count, "keys under {prefix} at version {version}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_member_at_any_position_fails_no_request() {
    tokio::time::timeout(SAFETY_NET, async {
        let mut cluster = EtcdCluster::start(3);
        let endpoints = cluster.endpoints();
        for dead in 0..3 {
            cluster.kill(dead);
            let store = connect(&endpoints).await;
            let prefix = format!("/dead{dead}");
            create_all(&store, &prefix, 2000).await;
            // Lone reads, at the current and at a past revision, and a paged range.
            for i in (0..2000).step_by(97) {
                let key = format!("{prefix}/{i:05}");
                let kv = store.get(&key, None).await.unwrap().expect("stored");
                assert_eq!(kv.value, value(&prefix, i));
                assert!(store
                    .get(&key, Some(kv.mod_revision))
                    .await
                    .unwrap()
                    .is_some());
            }
            assert_eq!(store.range(&prefix, None).await.unwrap().kvs.len(), 2000);
            assert_stored_once(&cluster, &prefix, 2000, 1);
            // The member comes back (restarted on its data) before the next position dies.
            cluster.restart(dead);
        }
    })
    .await
    .expect("no request hangs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_killed_mid_write_fails_no_request_and_stores_each_once() {
    tokio::time::timeout(SAFETY_NET, async {
        let mut cluster = EtcdCluster::start(3);
        let store = connect(&cluster.endpoints()).await;
        let leader = cluster.leader().expect("a leader");
        let writes = tokio::spawn({
            let store = store.clone();
            async move { create_all(&store, "/leader", 4000).await }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        cluster.kill(leader);
        let revisions = writes.await.unwrap();
        // Updates from the created revisions while a member is down: each applied once.
        let results: Vec<_> = futures::stream::iter(revisions.into_iter().enumerate())
            .map(|(i, revision)| {
                let store = &store;
                async move {
                    let key = format!("/leader/{i:05}");
                    (i, store.update(&key, value("/leader2", i), revision).await)
                }
            })
            .buffer_unordered(64)
            .collect()
            .await;
        for (i, result) in results {
            assert!(
                matches!(result, Ok(UpdateOutcome::Updated { .. })),
                "update {i}: {result:?}"
            );
        }
        assert_stored_once(&cluster, "/leader", 4000, 2);
    })
    .await
    .expect("no request hangs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_member_is_routed_around() {
    tokio::time::timeout(SAFETY_NET, async {
        let mut cluster = EtcdCluster::start(3);
        let mut settings = settings(&cluster.endpoints());
        settings.timeouts = Timeouts::for_request(Duration::from_secs(15));
        let store = EtcdStore::connect(&settings).await.unwrap();
        // The first member is the one requests go to: stop it mid-write.
        let writes = tokio::spawn({
            let store = store.clone();
            async move { create_all(&store, "/stopped", 3000).await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        cluster.pause(0);
        writes.await.unwrap();
        assert_eq!(store.range("/stopped", None).await.unwrap().kvs.len(), 3000);
        // A new connection while the first listed member is stopped.
        let fresh = EtcdStore::connect(&settings).await.unwrap();
        assert!(fresh.get("/stopped/00001", None).await.unwrap().is_some());
        cluster.resume(0);
        assert_stored_once(&cluster, "/stopped", 3000, 1);
    })
    .await
    .expect("no request hangs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_that_never_answers_is_a_clear_error_within_the_deadline() {
    tokio::time::timeout(SAFETY_NET, async {
        let mut cluster = EtcdCluster::start(3);
        let mut settings = settings(&cluster.endpoints());
        settings.timeouts = Timeouts::for_request(Duration::from_secs(3));
        let store = EtcdStore::connect(&settings).await.unwrap();
        store.put("/hung", b"x".to_vec()).await.unwrap();
        for member in 0..3 {
            cluster.pause(member);
        }
        let err = store.get("/hung", None).await.unwrap_err().to_string();
        assert!(
            err.starts_with("etcd at http://127.0.0.1:") && err.contains("did not answer within"),
            "{err}"
        );
        let err = store.create("/hung2", b"y".to_vec()).await.unwrap_err();
        assert!(err.to_string().contains("did not answer within"), "{err}");
        for member in 0..3 {
            cluster.resume(member);
        }
        // Once the members answer again, so does the store.
        assert!(store.get("/hung", None).await.unwrap().is_some());
    })
    .await
    .expect("no request hangs");
}

/// A store on `cluster` whose attempt deadlines are far shorter than a batch takes.
async fn losing_answers(cluster: &EtcdCluster) -> EtcdStore {
    let mut settings = settings(&cluster.endpoints());
    settings.timeouts = Timeouts {
        request: Duration::from_secs(120),
        attempt: Duration::from_millis(15),
    };
    EtcdStore::connect(&settings).await.unwrap()
}

/// Attempt deadlines far shorter than a batch takes: answers are lost after etcd applied the
/// writes, and the retries must recognise them as ours instead of reporting "already exists"
/// or a conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_whose_answers_are_lost_are_resolved_not_repeated() {
    tokio::time::timeout(SAFETY_NET, async {
        let cluster = EtcdCluster::start(3);
        let store = losing_answers(&cluster).await;
        let revisions = create_all(&store, "/lost", 1500).await;
        let results: Vec<_> = futures::stream::iter(revisions.into_iter().enumerate())
            .map(|(i, revision)| {
                let store = &store;
                async move {
                    let key = format!("/lost/{i:05}");
                    (i, store.update(&key, value("/lost2", i), revision).await)
                }
            })
            .buffer_unordered(64)
            .collect()
            .await;
        for (i, result) in results {
            assert!(
                matches!(result, Ok(UpdateOutcome::Updated { .. })),
                "update {i}: {result:?}"
            );
        }
        assert_stored_once(&cluster, "/lost", 1500, 2);
        // A create of an existing key is still "already exists".
        let existing = store
            .create("/lost/00000", b"other".to_vec())
            .await
            .unwrap();
        assert!(matches!(existing, CreateOutcome::Exists(_)), "{existing:?}");
    })
    .await
    .expect("no request hangs");
}

/// The same for transactions of several writes (`write_many`): a retried transaction whose
/// first attempt was applied is recognised as ours, whole, not reported as refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_whose_answers_are_lost_are_resolved_not_repeated() {
    const GROUPS: usize = 400;
    tokio::time::timeout(SAFETY_NET, async {
        let cluster = EtcdCluster::start(3);
        let store = losing_answers(&cluster).await;
        let keys = |i: usize| [format!("/lostm/{i:05}/a"), format!("/lostm/{i:05}/b")];
        let created: Vec<_> = futures::stream::iter(0..GROUPS)
            .map(|i| {
                let store = &store;
                async move {
                    let writes = keys(i)
                        .into_iter()
                        .map(|key| RawWrite::Create {
                            value: value(&key, i),
                            key,
                        })
                        .collect();
                    (i, store.write_many(writes).await)
                }
            })
            .buffer_unordered(32)
            .collect()
            .await;
        let mut revisions = vec![0; GROUPS];
        for (i, result) in created {
            match result {
                Ok(WriteManyOutcome::Written(written)) => match written.as_slice() {
                    [RawWritten::Put { revision }, RawWritten::Put { revision: other }]
                        if revision == other =>
                    {
                        revisions[i] = *revision
                    }
                    other => panic!("creates {i}: {other:?}"),
                },
                other => panic!("creates {i}: {other:?}"),
            }
        }
        let updated: Vec<_> = futures::stream::iter(revisions.into_iter().enumerate())
            .map(|(i, revision)| {
                let store = &store;
                async move {
                    let writes = keys(i)
                        .into_iter()
                        .map(|key| RawWrite::Update {
                            value: value(&format!("{key}2"), i),
                            key,
                            expected: revision,
                        })
                        .collect();
                    (i, store.write_many(writes).await)
                }
            })
            .buffer_unordered(32)
            .collect()
            .await;
        for (i, result) in updated {
            assert!(
                matches!(&result, Ok(WriteManyOutcome::Written(written)) if written.len() == 2),
                "updates {i}: {result:?}"
            );
        }
        assert_stored_once(&cluster, "/lostm", 2 * GROUPS, 2);
        // A refused transaction is still refused, naming the write.
        let refused = store
            .write_many(vec![RawWrite::Create {
                key: "/lostm/00000/a".into(),
                value: b"other".to_vec(),
            }])
            .await
            .unwrap();
        assert!(
            matches!(
                refused,
                WriteManyOutcome::Refused {
                    index: 0,
                    current: Some(_)
                }
            ),
            "{refused:?}"
        );
    })
    .await
    .expect("no request hangs");
}

/// Deletes whose answers are lost: a delete at a revision is retried and, when the retry finds
/// the key gone, reported deleted with the value it deleted (never "does not exist"); a delete
/// of whatever the key holds is retried only if the key is still there, else it fails and the
/// key is gone. Either way every key ends up deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_whose_answers_are_lost_are_resolved() {
    use calico_datastore::kv::DeleteOutcome;
    const COUNT: usize = 1200;
    tokio::time::timeout(SAFETY_NET, async {
        let cluster = EtcdCluster::start(3);
        let store = losing_answers(&cluster).await;
        let revisions = create_all(&store, "/lostd", COUNT).await;
        let results: Vec<_> = futures::stream::iter(revisions.into_iter().enumerate())
            .map(|(i, revision)| {
                let store = &store;
                async move {
                    let key = format!("/lostd/{i:05}");
                    // Even keys at their revision, odd ones whatever they hold.
                    let expected = (i % 2 == 0).then_some(revision);
                    (i, store.delete(&key, expected).await)
                }
            })
            .buffer_unordered(64)
            .collect()
            .await;
        let mut unknown = 0;
        for (i, result) in results {
            match result {
                Ok(DeleteOutcome::Deleted { previous, .. }) => {
                    assert_eq!(previous.value, value("/lostd", i), "delete {i}")
                }
                Err(err) if i % 2 == 1 => {
                    unknown += 1;
                    let key = format!("/lostd/{i:05}");
                    assert!(
                        store.get(&key, None).await.unwrap().is_none(),
                        "delete {i} failed ({err}) and the key is still there"
                    );
                }
                other => panic!("delete {i}: {other:?}"),
            }
        }
        eprintln!("{unknown} unconditional deletes applied with their answers lost");
        let left = cluster.etcdctl(&["get", "--prefix", "/lostd/", "--keys-only"]);
        assert_eq!(left.trim(), "", "keys left");
    })
    .await
    .expect("no request hangs");
}

/// A watch outlives the member serving it: killed, the watch is opened again on another member
/// from the last delivered revision, and every change arrives once, in order; if the history it
/// needs was compacted meanwhile, the watch ends with the compaction error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_resumes_on_another_member_or_reports_compaction() {
    use calico_datastore::kv::{KvError, RawEvent};
    const WRITES: usize = 40;
    tokio::time::timeout(SAFETY_NET, async {
        let mut cluster = EtcdCluster::start(3);
        let store = connect(&cluster.endpoints()).await;
        let CreateOutcome::Created { revision: start } =
            store.create("/w/start", b"0".to_vec()).await.unwrap()
        else {
            panic!("create /w/start")
        };
        let mut watch = store.watch("/w/", start).await.unwrap();
        // The connection check made the first member the one serving the watch.
        let mut expected = Vec::new();
        for i in 0..WRITES {
            if i == WRITES / 2 {
                cluster.kill(0);
            }
            let key = format!("/w/{i:03}");
            let outcome = store.create(&key, value("/w", i)).await.unwrap();
            assert!(
                matches!(outcome, CreateOutcome::Created { .. }),
                "{outcome:?}"
            );
            expected.push(key);
        }
        let mut seen = Vec::new();
        let mut last = start;
        while seen.len() < WRITES {
            match watch.next().await {
                Some(Ok(RawEvent::Put { kv, .. })) => {
                    assert!(
                        kv.mod_revision > last,
                        "out of order: {} after {last}",
                        kv.mod_revision
                    );
                    last = kv.mod_revision;
                    seen.push(kv.key);
                }
                other => panic!("after {} events: {other:?}", seen.len()),
            }
        }
        assert_eq!(seen, expected);
        cluster.restart(0);

        // Compacted while the watch's member was down: the resumed watch says so. A new store
        // prefers the first member again.
        let store = connect(&cluster.endpoints()).await;
        let mut watch = store.watch("/c/", last).await.unwrap();
        let CreateOutcome::Created { revision: first } =
            store.create("/c/0", b"0".to_vec()).await.unwrap()
        else {
            panic!("create /c/0")
        };
        match watch.next().await {
            Some(Ok(event)) => assert_eq!(event.revision(), first),
            other => panic!("first event: {other:?}"),
        }
        let serving = 0;
        cluster.kill(serving);
        let mut latest = first;
        for i in 1..5 {
            if let CreateOutcome::Created { revision } = store
                .create(&format!("/c/{i}"), b"1".to_vec())
                .await
                .unwrap()
            {
                latest = revision;
            }
        }
        store.compact(latest).await.unwrap();
        match watch.next().await {
            Some(Err(KvError::Compacted {
                requested,
                compacted,
            })) => {
                assert_eq!(requested, first);
                assert!(compacted >= latest, "{compacted} < {latest}");
            }
            other => panic!("expected the compaction error, got {other:?}"),
        }
        assert!(
            watch.next().await.is_none(),
            "the watch ends after the compaction error"
        );
        cluster.restart(serving);
    })
    .await
    .expect("no request hangs");
}
