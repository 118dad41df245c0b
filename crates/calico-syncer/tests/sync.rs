//! The syncer on real datastores: the embedded store, a real etcd (stopped and restarted on its
//! data; cut off by the network while others change and compact it), the kube-emulator (cut
//! off, compacted, restarted) and a real kube-apiserver (restarted). After every recovery the
//! consumer's state equals a fresh listing, nothing that still exists was ever deleted, and the
//! statuses went the way Calico's go.

// Test helpers: a failure to set up is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use calico_api::decode_value;
use calico_datastore::apiconfig::ApiConfigSpec;
use calico_datastore::client::Client;
use calico_datastore::{Backend, EmbeddedStore, KindRef, KvBackend, ListOptions, ResourceKey};
use calico_etcd::{EtcdSettings, EtcdStore};
use calico_kube::KubeBackend;
use calico_syncer::{
    ResourceType, Source, SyncEvent, SyncHub, SyncKey, SyncState, SyncStatus, Syncer, Timings,
    UpdateType,
};
use calico_test_support::{emulator, EtcdCluster, EtcdServer, TcpProxy};
use futures::StreamExt;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

/// Calico's timings, shortened so a test's outage lasts seconds.
fn fast() -> Timings {
    Timings {
        min_resync_interval: Duration::from_millis(100),
        list_retry_interval: Duration::from_millis(200),
        watch_poll_interval: Duration::from_millis(300),
        watch_retry_timeout: Duration::from_secs(600),
        max_errors_per_revision: 5,
        missing_api_retry_time: Duration::from_secs(600),
    }
}

fn kind(name: &str) -> KindRef {
    KindRef::lookup(name).unwrap()
}

/// The types these tests follow: a cluster-scoped kind and a namespaced one.
fn types() -> Vec<ResourceType> {
    vec![
        ResourceType::new(Source::Resources(ListOptions::all(kind("IPPool")))),
        ResourceType::new(Source::Resources(ListOptions::all(kind("NetworkSet")))),
    ]
}

fn pool(name: &str, cidr: &str) -> calico_api::AnyResource {
    decode_value(json!({
        "apiVersion": "projectcalico.org/v3",
        "kind": "IPPool",
        "metadata": {"name": name},
        "spec": {"cidr": cidr, "ipipMode": "Never", "vxlanMode": "Never", "natOutgoing": true},
    }))
    .unwrap()
}

fn netset(namespace: &str, name: &str, nets: &[&str]) -> calico_api::AnyResource {
    decode_value(json!({
        "apiVersion": "projectcalico.org/v3",
        "kind": "NetworkSet",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"nets": nets},
    }))
    .unwrap()
}

fn pool_key(name: &str) -> SyncKey {
    SyncKey::Resource(ResourceKey::new(kind("IPPool"), "", name))
}

/// What a consumer saw.
struct Consumer {
    syncer: Syncer,
    state: SyncState,
    statuses: Vec<SyncStatus>,
    updates: Vec<(UpdateType, String)>,
}

impl Consumer {
    fn start(backend: Arc<dyn Backend>) -> Self {
        Consumer {
            syncer: Syncer::builder(backend, types()).timings(fast()).start(),
            state: SyncState::new(),
            statuses: Vec::new(),
            updates: Vec::new(),
        }
    }

    fn apply(&mut self, event: SyncEvent) {
        self.state.apply(&event);
        match event {
            SyncEvent::Status(status) => self.statuses.push(status),
            SyncEvent::Updates(updates) => {
                for update in updates {
                    self.updates
                        .push((update.update_type, update.kv.key.path()));
                }
            }
            SyncEvent::ParseFailed(failure) => panic!("parse failure: {failure:?}"),
            SyncEvent::Failed(error) => panic!("sync failed: {error}"),
        }
    }

    /// Consumes events until `done` holds (checked after each event).
    async fn until(&mut self, what: &str, done: impl Fn(&Consumer) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !done(self) {
            match tokio::time::timeout_at(deadline, self.syncer.next()).await {
                Ok(Some(event)) => self.apply(event),
                Ok(None) => panic!("the syncer stopped while waiting for {what}"),
                Err(_) => panic!(
                    "timed out waiting for {what}; statuses {:?}, updates {:?}",
                    self.statuses, self.updates
                ),
            }
        }
    }

    /// Consumes whatever arrives within `period`.
    async fn drain_for(&mut self, period: Duration) {
        let deadline = tokio::time::Instant::now() + period;
        while let Ok(Some(event)) = tokio::time::timeout_at(deadline, self.syncer.next()).await {
            self.apply(event);
        }
    }

    async fn until_in_sync(&mut self) {
        self.until("in-sync", |c| {
            c.statuses.last() == Some(&SyncStatus::InSync)
        })
        .await;
    }

    /// The state as path -> the object's spec, to compare with a listing.
    fn specs(&self) -> BTreeMap<String, serde_json::Value> {
        self.state
            .iter()
            .map(|kv| {
                let value = kv.value.as_ref().unwrap().to_json();
                (kv.key.path(), value["spec"].clone())
            })
            .collect()
    }

    fn deleted(&self) -> Vec<String> {
        self.updates
            .iter()
            .filter(|(kind, _)| *kind == UpdateType::Deleted)
            .map(|(_, path)| path.clone())
            .collect()
    }
}

/// A fresh listing of the followed types, as path -> spec.
async fn listing(client: &Client) -> BTreeMap<String, serde_json::Value> {
    let mut all = BTreeMap::new();
    for name in ["IPPool", "NetworkSet"] {
        for item in client
            .list(&ListOptions::all(kind(name)))
            .await
            .unwrap()
            .items
        {
            let path = ResourceKey::of(&item).default_path();
            let value = serde_json::to_value(&item).unwrap();
            all.insert(path, value["spec"].clone());
        }
    }
    all
}

async fn seed(client: &Client) {
    client.create(pool("pool-1", "10.1.0.0/16")).await.unwrap();
    client.create(pool("pool-2", "10.2.0.0/16")).await.unwrap();
    client
        .create(netset("default", "set-1", &["192.168.0.0/24"]))
        .await
        .unwrap();
}

async fn change_pool_1(client: &Client, zone: &str) {
    let key = ResourceKey::new(kind("IPPool"), "", "pool-1");
    let mut current = client.get(&key).await.unwrap();
    let mut value = serde_json::to_value(&current).unwrap();
    value["spec"]["nodeSelector"] = json!(format!("zone == '{zone}'"));
    current = decode_value(value).unwrap();
    client.update(current).await.unwrap();
}

/// The first sync, then a create, an update and a delete, each delivered as Calico types them.
async fn initial_sync_and_changes(syncer_backend: Arc<dyn Backend>, writer: &Client) {
    seed(writer).await;
    let mut consumer = Consumer::start(syncer_backend);
    consumer.until_in_sync().await;
    assert_eq!(
        consumer.statuses,
        [
            SyncStatus::WaitForDatastore,
            SyncStatus::ResyncInProgress,
            SyncStatus::InSync
        ]
    );
    assert_eq!(consumer.specs(), listing(writer).await);
    assert!(consumer.updates.iter().all(|(t, _)| *t == UpdateType::New));

    writer.create(pool("pool-3", "10.3.0.0/16")).await.unwrap();
    change_pool_1(writer, "a").await;
    writer
        .delete(
            &ResourceKey::new(kind("NetworkSet"), "default", "set-1"),
            None,
        )
        .await
        .unwrap();
    let set_path = ResourceKey::new(kind("NetworkSet"), "default", "set-1").default_path();
    // Each resource type has its own cache: their updates may interleave.
    consumer
        .until("the three changes", |c| c.updates.len() >= 6)
        .await;
    let mut tail: Vec<(UpdateType, String)> = consumer.updates[3..].to_vec();
    tail.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        tail,
        [
            (UpdateType::Updated, pool_key("pool-1").path()),
            (UpdateType::New, pool_key("pool-3").path()),
            (UpdateType::Deleted, set_path),
        ]
    );
    assert_eq!(consumer.specs(), listing(writer).await);
    assert_eq!(consumer.statuses.last(), Some(&SyncStatus::InSync));
    // A stopped syncer reports everything it delivered as deleted, then ends.
    consumer.syncer.stop();
    while let Some(event) = consumer.syncer.next().await {
        consumer.apply(event);
    }
    assert!(consumer.state.is_empty(), "left: {:?}", consumer.specs());
}

/// While the consumer is cut off: pool-2 deleted, pool-4 created, pool-1 changed.
async fn change_during_outage(writer: &Client) {
    writer
        .delete(&ResourceKey::new(kind("IPPool"), "", "pool-2"), None)
        .await
        .unwrap();
    writer.create(pool("pool-4", "10.4.0.0/16")).await.unwrap();
    change_pool_1(writer, "b").await;
}

/// After recovery: the state equals a fresh listing, the one delete is pool-2's, and nothing
/// still there was ever deleted.
async fn recovered(consumer: &mut Consumer, writer: &Client) {
    let expected = listing(writer).await;
    consumer
        .until("the state to equal a fresh listing", |c| {
            c.specs() == expected && c.statuses.last() == Some(&SyncStatus::InSync)
        })
        .await;
    consumer.drain_for(Duration::from_millis(500)).await;
    assert_eq!(consumer.specs(), expected);
    assert_eq!(consumer.deleted(), [pool_key("pool-2").path()]);
}

fn embedded() -> (tempfile::TempDir, Arc<dyn Backend>, Client) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calico.db");
    let syncer_side: Arc<dyn Backend> =
        Arc::new(KvBackend::new(EmbeddedStore::open(&path).unwrap()));
    let writer = Client::new(Arc::new(KvBackend::new(
        EmbeddedStore::open(&path).unwrap(),
    )));
    (dir, syncer_side, writer)
}

async fn etcd_backend(endpoint: &str) -> Arc<dyn Backend> {
    let store = EtcdStore::connect(&EtcdSettings::new([endpoint]))
        .await
        .unwrap();
    Arc::new(KvBackend::new(store))
}

async fn kube_backend(kubeconfig: &std::path::Path) -> Arc<dyn Backend> {
    let spec = ApiConfigSpec {
        datastore_type: "kubernetes".into(),
        kubeconfig: kubeconfig.display().to_string(),
        ..ApiConfigSpec::default()
    };
    Arc::new(KubeBackend::connect(&spec).await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_and_follows_changes_on_the_embedded_store() {
    let (_dir, syncer_side, writer) = embedded();
    initial_sync_and_changes(syncer_side, &writer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_and_follows_changes_on_etcd() {
    let server = EtcdServer::start();
    let writer = Client::new(etcd_backend(server.endpoint()).await);
    initial_sync_and_changes(etcd_backend(server.endpoint()).await, &writer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_and_follows_changes_on_the_kube_emulator() {
    let emu = emulator::with_crds_and_nodes(emulator::V3_CRDS, &[]).await;
    let writer = Client::new(kube_backend(emu.kubeconfig_path()).await);
    initial_sync_and_changes(kube_backend(emu.kubeconfig_path()).await, &writer).await;
}

/// etcd killed, then started again on its data; a change after the restart arrives; the
/// status never left in-sync and nothing was deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rides_out_an_etcd_restart() {
    let mut cluster = EtcdCluster::start(1);
    let writer = Client::new(etcd_backend(cluster.endpoint(0)).await);
    seed(&writer).await;
    let mut consumer = Consumer::start(etcd_backend(cluster.endpoint(0)).await);
    consumer.until_in_sync().await;
    let synced = consumer.statuses.len();

    cluster.kill(0);
    consumer.drain_for(Duration::from_secs(3)).await;
    assert_eq!(
        consumer.specs().len(),
        3,
        "the state is kept while etcd is away"
    );
    tokio::task::spawn_blocking(move || {
        cluster.restart(0);
        cluster
    })
    .await
    .map(|cluster| async move {
        let writer = Client::new(etcd_backend(cluster.endpoint(0)).await);
        change_during_outage(&writer).await;
        recovered(&mut consumer, &writer).await;
        assert!(
            consumer.statuses[synced..]
                .iter()
                .all(|s| *s != SyncStatus::WaitForDatastore),
            "statuses {:?}",
            consumer.statuses
        );
        drop(cluster);
    })
    .unwrap()
    .await;
}

/// etcd seeded, a consumer in sync through a proxy, then the proxy cut and the data changed;
/// returns how many statuses the consumer had seen when in sync.
async fn etcd_outage() -> (EtcdServer, TcpProxy, Client, Consumer, usize) {
    let server = EtcdServer::start();
    let target = server.endpoint().trim_start_matches("http://").to_string();
    let proxy = TcpProxy::start(&target);
    let writer = Client::new(etcd_backend(server.endpoint()).await);
    seed(&writer).await;
    let mut consumer = Consumer::start(etcd_backend(&proxy.http_url()).await);
    consumer.until_in_sync().await;
    let synced = consumer.statuses.len();

    proxy.cut();
    change_during_outage(&writer).await;
    (server, proxy, writer, consumer, synced)
}

/// The network to etcd cut while others change etcd and compact it past the consumer's
/// revision: after the cut is restored the consumer lists again (resync, then in-sync),
/// deletes only what is gone, and ends equal to a fresh listing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_after_etcd_was_compacted_during_a_network_outage() {
    let (server, proxy, writer, mut consumer, synced) = etcd_outage().await;
    let status = server.etcdctl(&["endpoint", "status", "-w", "json"]);
    let revision = serde_json::from_str::<serde_json::Value>(&status).unwrap()[0]["Status"]
        ["header"]["revision"]
        .as_i64()
        .unwrap();
    server.etcdctl(&["compact", &revision.to_string()]);
    after_a_compacted_outage(&mut consumer, &proxy, &writer, synced).await;
}

/// Nothing deleted while cut off; once restored, a re-list (resync, then in-sync, never
/// wait-for-ready) and the state of a fresh listing.
async fn after_a_compacted_outage(
    consumer: &mut Consumer,
    proxy: &TcpProxy,
    writer: &Client,
    synced: usize,
) {
    consumer.drain_for(Duration::from_secs(2)).await;
    assert!(
        consumer.deleted().is_empty(),
        "nothing is deleted during an outage"
    );
    proxy.restore();

    recovered(consumer, writer).await;
    let after = &consumer.statuses[synced..];
    assert!(
        after.ends_with(&[SyncStatus::ResyncInProgress, SyncStatus::InSync]),
        "statuses after the outage: {after:?}"
    );
    assert!(!after.contains(&SyncStatus::WaitForDatastore));
}

/// The same without compaction: the watch resumes at its revision, with no re-list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_at_its_revision_after_a_short_network_outage_to_etcd() {
    let (_server, proxy, writer, mut consumer, synced) = etcd_outage().await;
    consumer.drain_for(Duration::from_secs(2)).await;
    proxy.restore();
    recovered(&mut consumer, &writer).await;
    assert_eq!(
        consumer.statuses[synced..],
        [],
        "a resumed watch needs no resync"
    );
}

/// The network to the kube-emulator cut while others change it and it forgets its watch
/// history (410 Gone on the next watch): the consumer lists again and recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_after_the_kube_emulator_expired_its_history_during_an_outage() {
    let emu = emulator::with_crds_and_nodes(emulator::V3_CRDS, &[]).await;
    let writer = Client::new(kube_backend(emu.kubeconfig_path()).await);
    seed(&writer).await;
    let target = emu.url().trim_start_matches("http://").to_string();
    let proxy = TcpProxy::start(&target);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let original = std::fs::read_to_string(emu.kubeconfig_path()).unwrap();
    std::fs::write(&kubeconfig, original.replace(emu.url(), &proxy.http_url())).unwrap();
    let mut consumer = Consumer::start(kube_backend(&kubeconfig).await);
    consumer.until_in_sync().await;
    let synced = consumer.statuses.len();

    proxy.cut();
    change_during_outage(&writer).await;
    emu.compact();
    after_a_compacted_outage(&mut consumer, &proxy, &writer, synced).await;
}

/// The kube-emulator shut down and started again on the same address and objects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rides_out_a_kube_emulator_restart() {
    let emu = emulator::with_crds_and_nodes(emulator::V3_CRDS, &[]).await;
    let kubeconfig = emu.kubeconfig_path().to_path_buf();
    let kept = tempfile::tempdir().unwrap();
    let kubeconfig_copy = kept.path().join("kubeconfig");
    std::fs::copy(&kubeconfig, &kubeconfig_copy).unwrap();
    let writer = Client::new(kube_backend(&kubeconfig_copy).await);
    seed(&writer).await;
    let mut consumer = Consumer::start(kube_backend(&kubeconfig_copy).await);
    consumer.until_in_sync().await;

    let address: std::net::SocketAddr = emu.url().trim_start_matches("http://").parse().unwrap();
    let store = emu.store().clone();
    emu.shutdown().await;
    consumer.drain_for(Duration::from_secs(2)).await;
    assert_eq!(
        consumer.specs().len(),
        3,
        "the state is kept while the API is away"
    );
    let config = kube_emulator::Config {
        listen: address,
        kubeconfig: Some(kept.path().join("kubeconfig-restarted")),
        ..kube_emulator::Config::default()
    };
    let _restarted = kube_emulator::Emulator::start_with_store(config, store)
        .await
        .unwrap();
    change_during_outage(&writer).await;
    recovered(&mut consumer, &writer).await;
}

/// A real kube-apiserver killed and started again on its etcd.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rides_out_a_kube_apiserver_restart() {
    use calico_test_support::kube_apiserver::{KubeApiServer, ADMIN_TOKEN};
    let mut server = tokio::task::spawn_blocking(KubeApiServer::start)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig, ADMIN_TOKEN);
    server.install_crds(emulator::V3_CRDS);
    let writer = Client::new(kube_backend(&kubeconfig).await);
    seed(&writer).await;
    let mut consumer = Consumer::start(kube_backend(&kubeconfig).await);
    consumer.until_in_sync().await;

    let server = tokio::task::spawn_blocking(move || {
        server.restart();
        server
    })
    .await
    .unwrap();
    change_during_outage(&writer).await;
    recovered(&mut consumer, &writer).await;
    drop(server);
}

/// One syncer shared by many consumers: each starts from the snapshot, all see the same
/// change, and the datastore is listed once per resource type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_syncer_feeds_many_consumers_from_one_listing() {
    let (_dir, _unused, writer) = embedded();
    seed(&writer).await;
    let counting = Arc::new(calico_datastore::CountingBackend::new(
        writer.backend().clone(),
    ));
    let syncer = Syncer::builder(counting.clone(), types())
        .timings(fast())
        .start();
    let hub = SyncHub::new(syncer, 1024);
    let mut subscribers: Vec<_> = (0..100).map(|_| hub.subscribe()).collect();
    writer.create(pool("pool-9", "10.9.0.0/16")).await.unwrap();
    for subscriber in &mut subscribers {
        let mut state = SyncState::new();
        tokio::time::timeout(WAIT, async {
            while state.get(&pool_key("pool-9")).is_none()
                || state.status() != Some(SyncStatus::InSync)
            {
                let event = subscriber.next().await.expect("the hub ended");
                state.apply(&event);
            }
        })
        .await
        .expect("every subscriber sees the change");
        assert_eq!(state.len(), 4);
    }
    let late = hub.subscribe();
    let late_state = late
        .take(2)
        .fold(SyncState::new(), |mut state, event| async move {
            state.apply(&event);
            state
        })
        .await;
    assert_eq!(late_state.len(), 4);
    assert_eq!(late_state.status(), Some(SyncStatus::InSync));
    let lists = counting.counts().of(&[
        calico_datastore::counting::Method::List,
        calico_datastore::counting::Method::ListPages,
    ]);
    assert_eq!(lists, 2, "one listing per resource type");
}

async fn next_event(syncer: &mut Syncer) -> SyncEvent {
    tokio::time::timeout(WAIT, syncer.next())
        .await
        .expect("an event")
        .expect("the syncer runs")
}

/// A corrupt stored value is skipped (left out of the listing; reported as a parse failure when
/// a watch sees it) and everything else keeps flowing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_entry_is_reported_and_skipped() {
    use calico_datastore::kv::KvStore;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calico.db");
    let raw = EmbeddedStore::open(&path).unwrap();
    let writer = Client::new(Arc::new(KvBackend::new(
        EmbeddedStore::open(&path).unwrap(),
    )));
    seed(&writer).await;
    let bad = "/calico/resources/v3/projectcalico.org/ippools/bad-1";
    raw.put(bad, b"{not json".to_vec()).await.unwrap();
    let mut syncer = Syncer::builder(
        Arc::new(KvBackend::new(EmbeddedStore::open(&path).unwrap())),
        types(),
    )
    .timings(fast())
    .start();
    let mut state = SyncState::new();
    let mut failures = Vec::new();
    loop {
        let event = next_event(&mut syncer).await;
        state.apply(&event);
        if event == SyncEvent::Status(SyncStatus::InSync) {
            break;
        }
    }
    assert_eq!(
        state.len(),
        3,
        "the corrupt pool is left out of the listing"
    );
    raw.put(
        "/calico/resources/v3/projectcalico.org/ippools/bad-2",
        b"\x00\x01".to_vec(),
    )
    .await
    .unwrap();
    writer.create(pool("pool-5", "10.5.0.0/16")).await.unwrap();
    while state.get(&pool_key("pool-5")).is_none() {
        let event = next_event(&mut syncer).await;
        if let SyncEvent::ParseFailed(failure) = &event {
            failures.push(failure.key.clone());
        }
        state.apply(&event);
    }
    assert_eq!(
        failures,
        ["/calico/resources/v3/projectcalico.org/ippools/bad-2"]
    );
    assert_eq!(state.len(), 4);
}
