//! The syncer against a throw-away etcd (run through `bench/syncer.sh`):
//! - initial sync of ENDPOINTS (default 100,000) workload endpoints: wall time until in sync
//!   (the syncer's own caches, and a consumer holding every value in a `SyncState`), as a
//!   ratio to a raw paged range of the same keys in the same run, and the peak resident memory
//!   the sync added, as a ratio to the bytes etcd returned;
//! - change-to-delivery latency (p50, p99) of updates written at RATE (default 1,000) a second
//!   for SECONDS (default 5) while the syncer follows;
//! - one syncer shared by CONSUMERS (default 100) in-process consumers through a `SyncHub`:
//!   time until every consumer has received the whole state, and how many times the
//!   datastore was listed.
//!
//! Best of RUNS (default 3) for the initial sync.

// A benchmark: a failure to set up is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use calico_datastore::kv::KvStore;
use calico_datastore::{Backend, CountingBackend, KindRef, KvBackend, ListOptions};
use calico_etcd::{EtcdSettings, EtcdStore};
use calico_syncer::{
    ResourceType, Source, SyncEvent, SyncHub, SyncKey, SyncState, SyncStatus, SyncValue, Syncer,
};
use calico_test_support::EtcdServer;
use futures::StreamExt;

/// A field of `/proc/self/status` in bytes (`VmRSS`, `VmHWM`).
fn status_bytes(field: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<usize>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// Resets the peak resident size to the current one (Linux's `clear_refs` 5); returns it.
fn reset_peak() -> usize {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    status_bytes("VmRSS")
}

/// The peak resident size since the last [`reset_peak`].
fn peak() -> usize {
    status_bytes("VmHWM")
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const PREFIX: &str = "/calico/resources/v3/projectcalico.org/workloadendpoints/";

/// A workload endpoint as Calico's CNI plugin stores it (about 900 bytes).
fn endpoint(i: usize, marker: &str) -> (String, String) {
    let (node, pod) = (i % 500, i);
    let name = format!("node--{node}-k8s-pod--{pod}-eth0");
    let ip = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
    let value = format!(
        concat!(
            r#"{{"kind":"WorkloadEndpoint","apiVersion":"projectcalico.org/v3","metadata":{{"name":"{name}","namespace":"ns-{ns}","#,
            r#""uid":"6f2c1c0e-1d5b-4c7e-9f3a-{i:012}","creationTimestamp":"2026-12-06T20:18:37Z","labels":{{"app":"app-{app}","#,
            r#""projectcalico.org/namespace":"ns-{ns}","projectcalico.org/orchestrator":"k8s","projectcalico.org/serviceaccount":"default","marker":"{marker}"}}}},"#,
            r#""spec":{{"orchestrator":"k8s","node":"node-{node}","pod":"pod-{pod}","endpoint":"eth0","serviceAccountName":"default","#,
            r#""ipNetworks":["{ip}/32"],"profiles":["kns.ns-{ns}","ksa.ns-{ns}.default"],"interfaceName":"cali{i:011x}","#,
            r#""mac":"0e:8a:2c:41:7f:03","ports":[{{"name":"http","protocol":"TCP","port":8080,"hostPort":0,"hostIP":""}}]}}}}"#
        ),
        name = name,
        ns = i % 50,
        i = i,
        app = i % 100,
        marker = marker,
        node = node,
        pod = pod,
        ip = ip,
    );
    (format!("{PREFIX}ns-{}/{name}", i % 50), value)
}

async fn fill(store: &EtcdStore, count: usize) {
    let started = Instant::now();
    let mut writes = futures::stream::iter(0..count)
        .map(|i| {
            let store = store.clone();
            async move {
                let (key, value) = endpoint(i, "0");
                store.put(&key, value.into_bytes()).await.unwrap();
            }
        })
        .buffer_unordered(64);
    while writes.next().await.is_some() {}
    eprintln!(
        "  (wrote {count} endpoints in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
}

/// A raw paged range over every endpoint: the floor a sync cannot beat. Returns the time and
/// the bytes of the values.
async fn raw_range(store: &EtcdStore) -> (Duration, usize) {
    let started = Instant::now();
    let first = store.range_page(PREFIX, None, None, 1000).await.unwrap();
    let at = first.revision;
    let kvs = calico_datastore::kv::rest_of_range(store, PREFIX, first, at, 1000)
        .await
        .unwrap();
    let bytes = kvs.iter().map(|kv| kv.key.len() + kv.value.len()).sum();
    (started.elapsed(), bytes)
}

fn endpoints_type() -> Vec<ResourceType> {
    let kind = KindRef::lookup("WorkloadEndpoint").unwrap();
    vec![ResourceType::new(Source::Resources(ListOptions::all(kind)))]
}

/// Time until in sync; with `hold`, every update is applied to a consumer's state (else only
/// counted, as a consumer that keeps its own form of the values would); the peak resident
/// memory above what was in use before.
async fn initial_sync(backend: Arc<dyn Backend>, expected: usize, hold: bool) -> (Duration, usize) {
    let baseline = reset_peak();
    let started = Instant::now();
    let mut syncer = Syncer::builder(backend, endpoints_type()).start();
    let mut state = SyncState::new();
    let mut count = 0;
    while let Some(event) = syncer.next().await {
        if let SyncEvent::Updates(updates) = &event {
            count += updates.len();
        }
        if hold {
            state.apply(&event);
        }
        if event == SyncEvent::Status(SyncStatus::InSync) {
            break;
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(count, expected);
    let peak = peak().saturating_sub(baseline);
    drop(syncer);
    drop(state);
    (elapsed, peak)
}

async fn latency(backend: Arc<dyn Backend>, store: &EtcdStore, rate: usize, seconds: usize) {
    let mut syncer = Syncer::builder(backend, endpoints_type()).start();
    while let Some(event) = syncer.next().await {
        if event == SyncEvent::Status(SyncStatus::InSync) {
            break;
        }
    }
    let total = rate * seconds;
    let writer_store = store.clone();
    let sent: Arc<std::sync::Mutex<HashMap<String, Instant>>> = Arc::default();
    let sent_by_writer = sent.clone();
    let writer = tokio::spawn(async move {
        // Ten writes every 10 ms.
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        let per_tick = (rate / 100).max(1);
        let mut i = 0;
        while i < total {
            tick.tick().await;
            for _ in 0..per_tick {
                let marker = format!("m{i}");
                let (key, value) = endpoint(i, &marker);
                sent_by_writer
                    .lock()
                    .unwrap()
                    .insert(marker, Instant::now());
                let store = writer_store.clone();
                tokio::spawn(async move { store.put(&key, value.into_bytes()).await.unwrap() });
                i += 1;
            }
        }
    });
    let mut delays = Vec::with_capacity(total);
    while delays.len() < total {
        let Ok(Some(event)) = tokio::time::timeout(Duration::from_secs(30), syncer.next()).await
        else {
            panic!("updates stopped after {}", delays.len());
        };
        let SyncEvent::Updates(updates) = event else {
            continue;
        };
        let now = Instant::now();
        for update in updates {
            if let (SyncKey::Resource(_), Some(SyncValue::Resource(resource))) =
                (&update.kv.key, &update.kv.value)
            {
                if let Some(marker) = resource.metadata().labels.get("marker") {
                    if let Some(at) = sent.lock().unwrap().remove(marker) {
                        delays.push(now - at);
                    }
                }
            }
        }
    }
    writer.await.unwrap();
    delays.sort();
    let percentile = |p: f64| delays[((delays.len() as f64 * p) as usize).min(delays.len() - 1)];
    println!(
        "change-to-delivery at {rate}/s for {seconds} s ({total} updates): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(0.50).as_secs_f64() * 1e3,
        percentile(0.99).as_secs_f64() * 1e3,
        delays[delays.len() - 1].as_secs_f64() * 1e3,
    );
}

async fn fan_out(backend: Arc<dyn Backend>, consumers: usize, expected: usize) {
    let counting = Arc::new(CountingBackend::new(backend));
    let started = Instant::now();
    let hub = SyncHub::new(
        Syncer::builder(counting.clone(), endpoints_type()).start(),
        4096,
    );
    let mut tasks = Vec::new();
    for _ in 0..consumers {
        let mut subscription = hub.subscribe();
        // Each consumer sees the shared events (not copies of them) and counts the updates.
        tasks.push(tokio::spawn(async move {
            let mut count = 0;
            loop {
                let event = subscription.next().await.expect("the hub runs");
                match &*event {
                    SyncEvent::Updates(updates) => count += updates.len(),
                    SyncEvent::Status(SyncStatus::InSync) => break count,
                    _ => {}
                }
            }
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), expected);
    }
    let elapsed = started.elapsed();
    let lists = counting.counts().of(&[
        calico_datastore::counting::Method::List,
        calico_datastore::counting::Method::ListPages,
    ]);
    println!(
        "one syncer, {consumers} consumers each receiving all {expected} endpoints: {:.2} s; {lists} page(s) listed ({} for one listing)",
        elapsed.as_secs_f64(),
        expected.div_ceil(1000).max(1)
    );
}

fn main() {
    let endpoints = env_usize("ENDPOINTS", 100_000);
    let runs = env_usize("RUNS", 3);
    let rate = env_usize("RATE", 1000);
    let seconds = env_usize("SECONDS", 5);
    let consumers = env_usize("CONSUMERS", 100);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = EtcdServer::start_with_flags(&["--quota-backend-bytes=8589934592"]);
        let store = EtcdStore::connect(&EtcdSettings::new([server.endpoint()]))
            .await
            .unwrap();
        fill(&store, endpoints).await;
        let backend: Arc<dyn Backend> = Arc::new(KvBackend::new(store.clone()));

        for hold in [false, true] {
            let mut best: Option<(Duration, Duration, usize, usize)> = None;
            for _ in 0..runs {
                let (raw, bytes) = raw_range(&store).await;
                let (sync, peak) = initial_sync(backend.clone(), endpoints, hold).await;
                let ratio = sync.as_secs_f64() / raw.as_secs_f64();
                let better = best
                    .as_ref()
                    .is_none_or(|(r, s, _, _)| ratio < s.as_secs_f64() / r.as_secs_f64());
                if better {
                    best = Some((raw, sync, bytes, peak));
                }
            }
            if let Some((raw, sync, bytes, peak)) = best {
                let consumer = if hold {
                    "a consumer holding every value in a SyncState"
                } else {
                    "a consumer counting the updates"
                };
                println!(
                    "initial sync of {endpoints} endpoints, {consumer}: raw paged range {:.2} s ({:.1} MB), sync {:.2} s = {:.2}x; peak memory added {:.1} MB = {:.2}x the payload",
                    raw.as_secs_f64(),
                    bytes as f64 / 1e6,
                    sync.as_secs_f64(),
                    sync.as_secs_f64() / raw.as_secs_f64(),
                    peak as f64 / 1e6,
                    peak as f64 / bytes as f64,
                );
            }
        }
        latency(backend.clone(), &store, rate, seconds).await;
        fan_out(backend, consumers, endpoints).await;
    });
}
