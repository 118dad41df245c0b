//! The allocator on every datastore: the embedded store, a real etcd and the Kubernetes
//! datastore (kube-emulator, both CRD groups). Several independent clients (each with its own
//! connection, as separate processes have) allocate at once on two nodes: no address is handed
//! out twice, every handle's counts match its blocks, and nothing is left after the releases.

// Test helpers: a failure to set up is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;

use calico_api::decode_value;
use calico_datastore::apiconfig::ApiConfigSpec;
use calico_datastore::client::Client;
use calico_datastore::{EmbeddedStore, KvBackend};
use calico_etcd::{EtcdSettings, EtcdStore};
use calico_ipam::assign::AllowedUse;
use calico_ipam::block::ReleaseOption;
use calico_ipam::query::handle_tally;
use calico_ipam::{AssignIpArgs, AutoAssignArgs, Ipam};
use calico_kube::KubeBackend;
use calico_test_support::{emulator, EtcdCluster, EtcdServer};
use serde_json::json;

const CLIENTS: usize = 4;
const TASKS_PER_CLIENT: usize = 20;

async fn setup(client: &Client, kdd: bool) {
    client
        .create(
            decode_value(json!({
                "apiVersion": "projectcalico.org/v3",
                "kind": "IPPool",
                "metadata": {"name": "pool-1"},
                "spec": {"cidr": "10.1.0.0/22", "blockSize": 28, "ipipMode": "Never", "vxlanMode": "Never", "natOutgoing": true},
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    if !kdd {
        for name in ["node-a", "node-b"] {
            client
                .create(
                    decode_value(json!({
                        "apiVersion": "projectcalico.org/v3",
                        "kind": "Node",
                        "metadata": {"name": name},
                        "spec": {},
                    }))
                    .unwrap(),
                )
                .await
                .unwrap();
        }
    }
}

async fn handles(client: &Client) -> BTreeMap<String, BTreeMap<String, i64>> {
    handle_tally(client).await.unwrap().stored
}

/// Every handle's per-block counts equal the allocations the blocks hold for it; returns how
/// many addresses are allocated.
async fn assert_consistent(client: &Client) -> usize {
    let tally = handle_tally(client).await.unwrap();
    assert_eq!(tally.stored, tally.counted);
    tally.allocated
}

type Allocation = tokio::task::JoinHandle<calico_ipam::AutoAssignResult>;

/// Every allocation's addresses, none twice and all succeeded, one per task.
async fn distinct_addresses(tasks: Vec<Allocation>) -> BTreeSet<IpAddr> {
    let mut all = BTreeSet::new();
    for task in tasks {
        let outcome = task.await.unwrap().unwrap();
        for ip in outcome.ips() {
            assert!(all.insert(ip.addr()), "{ip} handed out twice");
        }
    }
    assert_eq!(all.len(), CLIENTS * TASKS_PER_CLIENT);
    all
}

/// One allocation task per client and task number, on node-a or node-b, each with its own
/// handle; task `t` starts after `stagger_ms * t` milliseconds.
fn spawn_allocations(clients: &[Client], stagger_ms: u64) -> Vec<Allocation> {
    let mut tasks = Vec::new();
    for (c, client) in clients.iter().enumerate() {
        let ipam = Ipam::new(client.clone());
        for t in 0..TASKS_PER_CLIENT {
            let ipam = ipam.clone();
            let host = if t % 3 == 0 { "node-b" } else { "node-a" };
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(stagger_ms * t as u64)).await;
                let mut args =
                    AutoAssignArgs::workload(host, Some(format!("k8s-pod-network.c{c}t{t}")));
                args.attrs.insert("node".into(), host.into());
                ipam.auto_assign(args).await
            }));
        }
    }
    tasks
}

async fn run(clients: Vec<Client>, kdd: bool) {
    setup(&clients[0], kdd).await;
    let tasks = spawn_allocations(&clients, 0);
    let all = distinct_addresses(tasks).await;
    assert_eq!(assert_consistent(&clients[0]).await, all.len());

    // A given address, then released by address with its handle.
    let ipam = Ipam::new(clients[1].clone());
    let given: IpAddr = "10.1.3.250".parse().unwrap();
    ipam.assign_ip(AssignIpArgs {
        ip: given,
        handle: Some("given".into()),
        attrs: BTreeMap::new(),
        hostname: "node-b".into(),
        intended_use: Some(AllowedUse::Workload),
        host_reserved: None,
    })
    .await
    .unwrap();
    assert_eq!(ipam.ips_by_handle("given").await.unwrap(), [given]);
    let outcome = ipam
        .release_ips(&[ReleaseOption {
            address: given,
            handle: Some("given".into()),
            sequence_number: None,
        }])
        .await
        .unwrap();
    assert!(outcome.unallocated.is_empty());

    // Everything released at once, from every client.
    let mut tasks = Vec::new();
    for (c, client) in clients.iter().enumerate() {
        let ipam = Ipam::new(client.clone());
        for t in 0..TASKS_PER_CLIENT {
            let ipam = ipam.clone();
            tasks.push(tokio::spawn(async move {
                ipam.release_by_handle(&format!("k8s-pod-network.c{c}t{t}"))
                    .await
            }));
        }
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert!(handles(&clients[0]).await.is_empty());
    assert_eq!(assert_consistent(&clients[0]).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocates_concurrently_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calico.db");
    let clients = (0..CLIENTS)
        .map(|_| {
            let store = EmbeddedStore::open(&path).unwrap();
            Client::new(Arc::new(KvBackend::new(store)))
        })
        .collect();
    run(clients, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocates_concurrently_on_etcd() {
    let server = EtcdServer::start();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let store = EtcdStore::connect(&EtcdSettings::new([server.endpoint()]))
            .await
            .unwrap();
        clients.push(Client::new(Arc::new(KvBackend::new(store))));
    }
    run(clients, false).await;
}

async fn kdd(crds: &str) {
    let emu = emulator::with_crds_and_nodes(crds, &["node-a", "node-b"]).await;
    let spec = ApiConfigSpec {
        datastore_type: "kubernetes".into(),
        kubeconfig: emu.kubeconfig_path().display().to_string(),
        ..ApiConfigSpec::default()
    };
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let backend = KubeBackend::connect(&spec).await.unwrap();
        clients.push(Client::new(Arc::new(backend)));
    }
    run(clients, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocates_concurrently_on_kubernetes_with_the_v1_crds() {
    kdd(emulator::V1_CRDS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocates_concurrently_on_kubernetes_with_the_v3_crds() {
    kdd(emulator::V3_CRDS).await;
}

/// Round trips of one allocation, counted on a client over `backend`: a node's first, then the
/// steady state, then a release by handle.
async fn round_trips(backend: Arc<dyn calico_datastore::Backend>) -> (u64, u64, u64) {
    let counting = Arc::new(calico_datastore::CountingBackend::new(backend));
    let client = Client::new(counting.clone());
    setup(&client, false).await;
    let ipam = Ipam::new(client);
    counting.take();
    ipam.auto_assign(AutoAssignArgs::workload("node-a", Some("first".into())))
        .await
        .unwrap();
    let first = counting.take();
    ipam.auto_assign(AutoAssignArgs::workload("node-a", Some("second".into())))
        .await
        .unwrap();
    let steady = counting.take();
    ipam.release_by_handle("second").await.unwrap();
    let release = counting.take();
    eprintln!("first: {first:?}\nsteady: {steady:?}\nrelease: {release:?}");
    (first.total, steady.total, release.total)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allocation_takes_few_round_trips_on_etcd_and_the_embedded_store() {
    let server = EtcdServer::start();
    let store = EtcdStore::connect(&EtcdSettings::new([server.endpoint()]))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let embedded = EmbeddedStore::open(dir.path().join("calico.db")).unwrap();
    let backends: [Arc<dyn calico_datastore::Backend>; 2] = [
        Arc::new(KvBackend::new(store)),
        Arc::new(KvBackend::new(embedded)),
    ];
    for backend in backends {
        let (first, steady, release) = round_trips(backend).await;
        // Calico's take 15, 10 and 8.
        assert!(
            first <= 4,
            "a node's first allocation took {first} round trips"
        );
        assert!(
            steady <= 2,
            "a steady-state allocation took {steady} round trips"
        );
        assert!(
            release <= 4,
            "a release by handle took {release} round trips"
        );
    }
}

/// Clients of a 3-member etcd cluster listing every member.
async fn cluster_clients(cluster: &EtcdCluster) -> Vec<Client> {
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let store = EtcdStore::connect(&EtcdSettings::new(cluster.endpoints()))
            .await
            .unwrap();
        clients.push(Client::new(Arc::new(KvBackend::new(store))));
    }
    clients
}

/// The same allocations with the first listed member of a 3-member cluster dead (it still has
/// quorum): none fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocates_with_an_etcd_member_dead() {
    let mut cluster = EtcdCluster::start(3);
    cluster.kill(0);
    let clients = cluster_clients(&cluster).await;
    run(clients, false).await;
}

/// A burst of allocations while the cluster's leader is killed: every allocation succeeds, no
/// address twice, handles consistent with blocks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocates_while_the_etcd_leader_is_killed() {
    let mut cluster = EtcdCluster::start(3);
    let clients = cluster_clients(&cluster).await;
    setup(&clients[0], false).await;
    // Spread over the kill.
    let tasks = spawn_allocations(&clients, 15);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let leader = cluster.leader().unwrap();
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.kill(leader);
        cluster
    })
    .await
    .unwrap();
    let all = distinct_addresses(tasks).await;
    let clients = cluster_clients(&cluster).await;
    assert_eq!(assert_consistent(&clients[0]).await, all.len());
}
