//! The allocator against a throw-away etcd (run through `bench/ipam-allocate.sh`):
//! - datastore round trips of a node's first allocation, a steady-state one and a release by
//!   handle (counted by `CountingBackend`; Calico's take 15, 10 and 8);
//! - a burst of BURST (default 200) concurrent allocations for one node, each with its own
//!   handle: wall time with concurrent allocations combined (the default) and without, and the
//!   ratio to the same number of raw etcd transactions (one model create each, all at once);
//! - BURST allocations one after another.
//!
//! Best of RUNS (default 3) for each wall time.

// A benchmark: a failure to set up is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use calico_api::decode_value;
use calico_api::model::{HandleKey, IPAMHandle, ModelKey, ModelValue};
use calico_datastore::client::Client;
use calico_datastore::{Backend, CountingBackend, KvBackend};
use calico_etcd::{EtcdSettings, EtcdStore};
use calico_ipam::{AutoAssignArgs, Ipam};
use calico_test_support::EtcdServer;
use serde_json::json;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn backend(server: &EtcdServer) -> Arc<dyn Backend> {
    let store = EtcdStore::connect(&EtcdSettings::new([server.endpoint()]))
        .await
        .unwrap();
    Arc::new(KvBackend::new(store))
}

/// A pool and `nodes` nodes.
async fn setup(client: &Client, round: usize) {
    client
        .create(
            decode_value(json!({
                "apiVersion": "projectcalico.org/v3",
                "kind": "IPPool",
                "metadata": {"name": format!("pool-{round}")},
                "spec": {"cidr": format!("10.{round}.0.0/16"), "blockSize": 26, "ipipMode": "Never", "vxlanMode": "Never"},
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    client
        .create(
            decode_value(json!({
                "apiVersion": "projectcalico.org/v3",
                "kind": "Node",
                "metadata": {"name": format!("node-{round}")},
                "spec": {},
            }))
            .unwrap(),
        )
        .await
        .unwrap();
}

fn request(round: usize, i: usize) -> AutoAssignArgs {
    let host = format!("node-{round}");
    let mut args =
        AutoAssignArgs::workload(host.clone(), Some(format!("k8s-pod-network.r{round}-{i}")));
    args.attrs.insert("node".into(), host);
    args.attrs.insert("namespace".into(), "default".into());
    args.attrs.insert("pod".into(), format!("pod-{i}"));
    args.ipv4_pools = vec![format!("10.{round}.0.0/16").parse().unwrap()];
    args
}

async fn burst(ipam: &Ipam, round: usize, n: usize) -> Duration {
    let start = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let ipam = ipam.clone();
            tokio::spawn(async move { ipam.auto_assign(request(round, i)).await })
        })
        .collect();
    let mut all = BTreeSet::new();
    for task in tasks {
        for ip in task.await.unwrap().unwrap().ips() {
            assert!(all.insert(ip.addr()), "{ip} handed out twice");
        }
    }
    let took = start.elapsed();
    assert_eq!(all.len(), n);
    took
}

async fn raw_transactions(backend: &Arc<dyn Backend>, round: usize, n: usize) -> Duration {
    let start = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let backend = backend.clone();
            tokio::spawn(async move {
                let mut blocks = std::collections::BTreeMap::new();
                blocks.insert("10.250.0.0/26".to_string(), 1);
                backend
                    .create_model(
                        ModelKey::Handle(HandleKey::new(format!("raw-{round}-{i}"))),
                        ModelValue::Handle(IPAMHandle {
                            block: Some(blocks),
                            ..IPAMHandle::default()
                        }),
                    )
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    start.elapsed()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n = env_usize("BURST", 200);
    let runs = env_usize("RUNS", 3);
    let server = EtcdServer::start();
    let inner = backend(&server).await;

    let counting = Arc::new(CountingBackend::new(inner.clone()));
    let client = Client::new(counting.clone());
    setup(&client, 0).await;
    let ipam = Ipam::new(client);
    counting.take();
    ipam.auto_assign(request(0, 0)).await.unwrap();
    let first = counting.take();
    ipam.auto_assign(request(0, 1)).await.unwrap();
    let steady = counting.take();
    ipam.release_by_handle("k8s-pod-network.r0-1")
        .await
        .unwrap();
    let release = counting.take();
    println!("round trips (etcd; Calico's in brackets):");
    println!("  first allocation on a node   {:>3}  (15)", first.total);
    println!("  steady-state allocation      {:>3}  (10)", steady.total);
    println!("  release by handle            {:>3}   (8)", release.total);

    let mut combined = Duration::MAX;
    let mut uncombined = Duration::MAX;
    let mut raw = Duration::MAX;
    let mut sequential = Duration::MAX;
    let client = Client::new(inner.clone());
    for run in 0..runs {
        // Fresh nodes each run: the first allocations claim blocks, as a new node's pods do.
        let round = 1 + run * 3;
        for r in round..round + 3 {
            setup(&client, r).await;
        }
        // A node that already has a block, as in steady state.
        let ipam = Ipam::new(client.clone());
        ipam.auto_assign(request(round, n)).await.unwrap();
        combined = combined.min(burst(&ipam, round, n).await);
        let plain = Ipam::new(client.clone()).with_combining(false);
        plain.auto_assign(request(round + 1, n)).await.unwrap();
        uncombined = uncombined.min(burst(&plain, round + 1, n).await);
        raw = raw.min(raw_transactions(&inner, run, n).await);
        let start = Instant::now();
        for i in 0..n {
            ipam.auto_assign(request(round + 2, i)).await.unwrap();
        }
        sequential = sequential.min(start.elapsed());
    }
    println!("{n} allocations for one node on etcd, best of {runs}:");
    println!(
        "  concurrent, combined         {:>10}  ({:.2}x {n} raw etcd transactions at once: {})",
        ms(combined),
        combined.as_secs_f64() / raw.as_secs_f64(),
        ms(raw)
    );
    println!(
        "  concurrent, not combined     {:>10}  ({:.2}x)",
        ms(uncombined),
        uncombined.as_secs_f64() / raw.as_secs_f64()
    );
    println!(
        "  one after another            {:>10}  ({:.2} ms each)",
        ms(sequential),
        sequential.as_secs_f64() * 1000.0 / n as f64
    );
}
