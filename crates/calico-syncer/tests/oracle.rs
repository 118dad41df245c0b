//! The syncers end to end against what Calico's own syncers delivered (`goldens/`): the
//! datastore Calico's calicoctl wrote is put into a real etcd and into the embedded store key
//! by key, each syncer runs on it, and its statuses and JSON lines must equal the goldens; then
//! the same changes are replayed and the updates must equal Calico's.

// Test helpers: a failure to set up is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use calico_datastore::kv::KvStore;
use calico_datastore::{Backend, EmbeddedStore, KvBackend};
use calico_etcd::{EtcdSettings, EtcdStore};
use calico_syncer::{json_lines, SyncEvent, SyncStatus, Syncer, SyncerKind, SyncerOptions};
use calico_test_support::EtcdServer;
use futures::StreamExt;

const GOLDENS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/goldens");

fn golden(name: &str) -> Vec<String> {
    std::fs::read_to_string(format!("{GOLDENS}/{name}"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The goldens' normalisation of v3 objects' metadata (see `goldens/README.md`).
fn normalise(line: &str) -> String {
    let uid = regex::Regex::new(r#""uid":"[^"]*""#).unwrap();
    let version = regex::Regex::new(r#""resourceVersion":"[^"]*""#).unwrap();
    let created = regex::Regex::new(r#""creationTimestamp":"[^"]*""#).unwrap();
    let line = uid.replace_all(line, r#""uid":"UID""#);
    let line = version.replace_all(&line, r#""resourceVersion":"RV""#);
    let line = created.replace_all(&line, r#""creationTimestamp":"2024-01-01T00:00:00Z""#);
    // The goldens set both fields even where the object had none (the virtual
    // `projectcalico-default-allow` profile).
    let bare = regex::Regex::new(
        r#""metadata":\{("name":"[^"]*",)("namespace":"[^"]*",)?"resourceVersion":"RV"\}"#,
    )
    .unwrap();
    bare.replace_all(
        &line,
        r#""metadata":{$1$2"uid":"UID","resourceVersion":"RV","creationTimestamp":"2024-01-01T00:00:00Z"}"#,
    )
    .into_owned()
}

/// `{"key": …, "value": "<raw>"}` lines → (key, raw value); `op` `delete` has no value.
fn records(name: &str) -> Vec<(String, Option<String>)> {
    golden(name)
        .iter()
        .map(|line| {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            let key = record["key"].as_str().unwrap().to_string();
            let value = (record.get("op").and_then(|op| op.as_str()) != Some("delete"))
                .then(|| record["value"].as_str().unwrap().to_string());
            (key, value)
        })
        .collect()
}

async fn write_raw<S: KvStore>(store: &S, records: &[(String, Option<String>)]) {
    for (key, value) in records {
        match value {
            Some(value) => {
                store.put(key, value.as_bytes().to_vec()).await.unwrap();
            }
            None => {
                store.delete(key, None).await.unwrap();
            }
        }
    }
}

struct Run {
    statuses: Vec<String>,
    initial: Vec<String>,
    changes: Vec<String>,
}

/// Runs `syncer` until in sync, then applies the recorded changes with `apply` and collects
/// what follows until nothing more comes for a while.
async fn run<F, Fut>(backend: Arc<dyn Backend>, syncer: SyncerKind, apply: F) -> Run
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let options = SyncerOptions {
        node: (syncer == SyncerKind::TunnelIpAllocation).then(|| "worker-1".to_string()),
        ..SyncerOptions::default()
    };
    let mut stream = Syncer::start(backend, syncer, &options);
    let mut run = Run {
        statuses: Vec::new(),
        initial: Vec::new(),
        changes: Vec::new(),
    };
    let mut in_sync = false;
    while !in_sync {
        let event = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("in sync within 30 s")
            .expect("the syncer runs");
        in_sync = event == SyncEvent::Status(SyncStatus::InSync);
        for line in json_lines(&event) {
            if matches!(event, SyncEvent::Status(_)) {
                run.statuses.push(line);
            } else {
                run.initial.push(normalise(&line));
            }
        }
    }
    apply().await;
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_secs(2), stream.next()).await {
        for line in json_lines(&event) {
            if matches!(event, SyncEvent::Status(_)) {
                run.statuses.push(line);
            } else {
                run.changes.push(normalise(&line));
            }
        }
    }
    run
}

fn compare(syncer: &str, run: &Run) {
    assert_eq!(run.statuses, golden(&format!("{syncer}-statuses.jsonl")));
    let mut ours: Vec<String> = run.initial.clone();
    ours.sort();
    let theirs = golden(&format!("{syncer}-initial.jsonl"));
    assert_eq!(ours, theirs, "{syncer}: the initial sync");
    // The caches run concurrently: within one resource type the order is Calico's, across
    // types it varies, so the changes are compared as sets of lines.
    let mut ours: Vec<String> = run.changes.clone();
    let mut theirs = golden(&format!("{syncer}-changes.jsonl"));
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs, "{syncer}: the changes");
}

const SYNCERS: [(SyncerKind, &str); 4] = [
    (SyncerKind::Felix, "felix"),
    (SyncerKind::Bgp, "bgp"),
    (SyncerKind::TunnelIpAllocation, "tunnel"),
    (SyncerKind::NodeStatus, "nodestatus"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_syncers_deliver_what_calicos_deliver_on_etcd() {
    for (syncer, name) in SYNCERS {
        let server = EtcdServer::start();
        let store = EtcdStore::connect(&EtcdSettings::new([server.endpoint()]))
            .await
            .unwrap();
        write_raw(&store, &records("datastore-initial.jsonl")).await;
        let writer = store.clone();
        let backend: Arc<dyn Backend> = Arc::new(KvBackend::new(store));
        let run = run(backend, syncer, || async move {
            write_raw(&writer, &records("datastore-changes.jsonl")).await;
        })
        .await;
        compare(name, &run);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_syncers_deliver_what_calicos_deliver_on_the_embedded_store() {
    for (syncer, name) in SYNCERS {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calico.db");
        let store = EmbeddedStore::open(&path).unwrap();
        write_raw(&store, &records("datastore-initial.jsonl")).await;
        let backend: Arc<dyn Backend> = Arc::new(KvBackend::new(store));
        let run = run(backend, syncer, || async {
            let writer = EmbeddedStore::open(&path).unwrap();
            write_raw(&writer, &records("datastore-changes.jsonl")).await;
        })
        .await;
        compare(name, &run);
    }
}
