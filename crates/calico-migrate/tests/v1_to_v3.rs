//! The `crd.projectcalico.org/v1` → `projectcalico.org/v3` migration on a cluster serving both
//! CRD groups: the kube-emulator, and once the real kube-apiserver.

// Test set-up failures panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use calico_api::decode::go::DecodeOptions;
use calico_api::model::{
    AffinityState, AffinityType, BlockAffinity, BlockAffinityKey, BlockKey, HandleKey, IPAMConfig,
    IPAMHandle, ModelKey, ModelListOptions, ModelValue,
};
use calico_api::AnyResource;
use calico_datastore::apiconfig::ApiConfigSpec;
use calico_datastore::client::Client;
use calico_datastore::{Backend, DatastoreError, KindRef, ListOptions, ResourceKey};
use calico_kube::{KubeBackend, Mode};
use calico_migrate::v1_to_v3::{
    self, Conflict, Options, Outcome, Phase, Progress, Report, MIGRATED_BY_ANNOTATION, ORDER,
};
use calico_test_support::emulator;
use ipnet::IpNet;
use kube_emulator::{Config, Emulator, RunningEmulator};
use serde_json::{json, Value};

fn options() -> Options {
    Options {
        drain: Duration::ZERO,
        ..Options::default()
    }
}

fn spec_for(kubeconfig: &std::path::Path) -> ApiConfigSpec {
    ApiConfigSpec {
        datastore_type: "kubernetes".into(),
        kubeconfig: kubeconfig.display().to_string(),
        ..ApiConfigSpec::default()
    }
}

/// An emulator serving both CRD groups (and the namespace the policies live in).
async fn emulator_with(
    config: Config,
    store: Option<Arc<kube_emulator::Store>>,
) -> RunningEmulator {
    let fresh = store.is_none();
    let emu = match store {
        Some(store) => Emulator::start_with_store(config, store).await,
        None => Emulator::start(config).await,
    }
    .unwrap_or_else(|e| panic!("start the kube-emulator: {e}"));
    if fresh {
        emulator::install_crds(emu.store(), emulator::V1_CRDS);
        emulator::install_crds(emu.store(), emulator::V3_CRDS);
        let namespaces = emu.store().lookup("", "v1", "namespaces").unwrap();
        emu.store()
            .create(
                &namespaces,
                None,
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns1"}}),
            )
            .unwrap();
    }
    emu
}

fn kind(name: &str) -> KindRef {
    KindRef::lookup(name).unwrap()
}

fn resource(doc: Value) -> AnyResource {
    let kind_name = doc["kind"].as_str().unwrap().to_string();
    (kind(&kind_name).0.decode)(&doc, DecodeOptions::STRICT).unwrap()
}

fn cidr(text: &str) -> IpNet {
    text.parse().unwrap()
}

/// Several kinds, tiers and tiered policies, an owner reference, and IPAM objects, written
/// through the driver in v1 mode.
async fn seed(v1: &KubeBackend) {
    let client = Client::new(Arc::new(v1.clone()));
    client.ensure_initialized("v3.31.0", "k8s").await.unwrap();
    let tier = client
        .create(resource(json!({
            "apiVersion": "projectcalico.org/v3", "kind": "Tier",
            "metadata": {"name": "security", "labels": {"team": "sec"}},
            "spec": {"order": 100, "defaultAction": "Deny"}
        })))
        .await
        .unwrap();
    let tier_uid = tier.metadata().uid.clone();
    assert!(!tier_uid.is_empty());
    for doc in [
        json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
            "metadata": {"name": "security.block-ssh", "annotations": {"note": "kept"}},
            "spec": {"tier": "security", "order": 10, "selector": "all()",
                     "ingress": [{"action": "Deny", "protocol": "TCP", "destination": {"ports": [22]}}]}}),
        json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
            "metadata": {"name": "allow-dns"},
            "spec": {"selector": "all()", "egress": [{"action": "Allow", "protocol": "UDP",
                     "destination": {"ports": [53]}}]}}),
        json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy",
            "metadata": {"name": "np1", "namespace": "ns1", "labels": {"app": "web"}},
            "spec": {"selector": "app == 'web'", "types": ["Ingress"]}}),
        json!({"apiVersion": "projectcalico.org/v3", "kind": "IPPool",
            "metadata": {"name": "pool1"},
            "spec": {"cidr": "10.0.0.0/16", "blockSize": 26, "natOutgoing": true}}),
        json!({"apiVersion": "projectcalico.org/v3", "kind": "FelixConfiguration",
            "metadata": {"name": "default"},
            "spec": {"logSeverityScreen": "Debug", "reportingInterval": "0s"}}),
        json!({"apiVersion": "projectcalico.org/v3", "kind": "BGPConfiguration",
            "metadata": {"name": "default"}, "spec": {"asNumber": 64512}}),
        json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkSet",
            "metadata": {"name": "owned-set", "ownerReferences": [{
                "apiVersion": "projectcalico.org/v3", "kind": "Tier", "name": "security",
                "uid": tier_uid}]},
            "spec": {"nets": ["192.0.2.0/24"]}}),
        json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkSet",
            "metadata": {"name": "ns-set", "namespace": "ns1"},
            "spec": {"nets": ["198.51.100.0/24"]}}),
    ] {
        client.create(resource(doc)).await.unwrap();
    }

    // IPAM: a block with one address of a handle, the host's affinity, the handle, the config.
    let block_cidr = cidr("10.0.0.0/26");
    let mut block = calico_ipam::block::new_block(
        block_cidr,
        Some(&calico_ipam::block::Affinity::host("node1")),
        None,
        1,
        None,
    );
    calico_ipam::block::assign(
        &mut block,
        "10.0.0.5".parse().unwrap(),
        Some("k8s-pod-network.abc"),
        &BTreeMap::from([("pod".to_string(), "web-1".to_string())]),
        None,
    )
    .unwrap();
    v1.create_model(BlockKey::new(block_cidr).into(), block.into())
        .await
        .unwrap();
    v1.create_model(
        BlockAffinityKey::new(block_cidr, "node1", AffinityType::Host).into(),
        BlockAffinity {
            state: AffinityState::Confirmed,
            ..BlockAffinity::default()
        }
        .into(),
    )
    .await
    .unwrap();
    v1.create_model(
        HandleKey::new("k8s-pod-network.abc").into(),
        IPAMHandle {
            block: Some(BTreeMap::from([("10.0.0.0/26".to_string(), 1)])),
            ..IPAMHandle::default()
        }
        .into(),
    )
    .await
    .unwrap();
    v1.create_model(
        ModelKey::Config,
        IPAMConfig {
            strict_affinity: true,
            auto_allocate_blocks: true,
            max_blocks_per_host: 4,
            ..IPAMConfig::default()
        }
        .into(),
    )
    .await
    .unwrap();
}

async fn backends(kubeconfig: &std::path::Path) -> (KubeBackend, KubeBackend) {
    let (v1, v3) = v1_to_v3::connect(&spec_for(kubeconfig)).await.unwrap();
    assert_eq!(v1.mode(), Mode::V1);
    assert_eq!(v3.mode(), Mode::V3);
    (v1, v3)
}

async fn list(backend: &KubeBackend, kind_name: &str) -> Vec<AnyResource> {
    backend
        .list(&ListOptions::all(kind(kind_name)), None)
        .await
        .unwrap()
        .items
}

fn datastore_ready(info: &AnyResource) -> Option<bool> {
    match info {
        AnyResource::ClusterInformation(info) => info.spec.datastore_ready,
        _ => panic!("not a ClusterInformation"),
    }
}

async fn cluster_info(backend: &KubeBackend) -> AnyResource {
    let key = ResourceKey::new(kind("ClusterInformation"), "", "default");
    backend.get(&key, None).await.unwrap()
}

fn spec_of(resource: &AnyResource) -> Value {
    resource.to_json_value().unwrap()["spec"].clone()
}

/// Every v1 object has its v3 copy: same spec, labels, annotations (plus `migrated-by`);
/// IPAM objects read back as the same model objects; owner references name v3 UIDs.
async fn assert_migrated(v1: &KubeBackend, v3: &KubeBackend) {
    let mut seen = 0;
    for (kind_name, _) in ORDER {
        let v3_items = list(v3, kind_name).await;
        for original in list(v1, kind_name).await {
            let meta = original.metadata();
            let copy = v3_items
                .iter()
                .find(|c| {
                    c.metadata().name == meta.name && c.metadata().namespace == meta.namespace
                })
                .unwrap_or_else(|| panic!("{kind_name} {} not in v3", meta.name));
            seen += 1;
            assert_eq!(
                spec_of(copy),
                spec_of(&original),
                "{kind_name} {}",
                meta.name
            );
            let copy_meta = copy.metadata();
            assert_eq!(copy_meta.labels, meta.labels, "{kind_name} {}", meta.name);
            if *kind_name != "IPAMBlock" && *kind_name != "IPAMHandle" {
                let mut annotations = copy_meta.annotations.clone();
                assert!(annotations.remove(MIGRATED_BY_ANNOTATION).is_some());
                assert_eq!(annotations, meta.annotations, "{kind_name} {}", meta.name);
            }
            assert_ne!(copy_meta.uid, meta.uid);
            for owner in &copy_meta.owner_references {
                let target = list(v3, &owner.kind)
                    .await
                    .into_iter()
                    .find(|t| t.metadata().name == owner.name)
                    .unwrap();
                assert_eq!(owner.uid, target.metadata().uid, "owner of {}", meta.name);
            }
        }
    }
    assert!(seen >= 15, "only {seen} objects compared");
    let strip = |list: calico_datastore::ModelList| -> Vec<(ModelKey, ModelValue)> {
        let mut kvs: Vec<_> = list
            .items
            .into_iter()
            .map(|kv| (kv.key, kv.value))
            .collect();
        kvs.sort_by_key(|(key, _)| key.to_string());
        kvs
    };
    for options in [
        ModelListOptions::all_blocks(),
        ModelListOptions::all_affinities(),
        ModelListOptions::Handles,
    ] {
        let from = strip(v1.list_model(&options).await.unwrap());
        let to = strip(v3.list_model(&options).await.unwrap());
        assert!(!from.is_empty(), "{options:?}");
        assert_eq!(to, from, "{options:?}");
    }
    let config_v1 = v1.get_model(&ModelKey::Config).await.unwrap().value;
    let config_v3 = v3.get_model(&ModelKey::Config).await.unwrap().value;
    assert_eq!(config_v3, config_v1);
}

/// Records what the migration reports.
#[derive(Default)]
struct Recorder {
    phases: Mutex<Vec<Phase>>,
    kinds: Mutex<Vec<String>>,
    objects: Mutex<usize>,
}

impl Progress for Recorder {
    fn phase(&self, phase: Phase) {
        self.phases.lock().unwrap().push(phase);
    }
    fn kind_started(&self, kind: &str, _index: usize, total: usize) {
        assert_eq!(total, ORDER.len());
        self.kinds.lock().unwrap().push(kind.to_string());
    }
    fn object(&self, _kind: &str, _outcome: Outcome) {
        *self.objects.lock().unwrap() += 1;
    }
}

/// After a finished migration, a dry run copies nothing and finds the `copied` objects of the
/// migration identical.
async fn dry_run_finds_everything_identical(v1: &KubeBackend, v3: &KubeBackend, copied: usize) {
    let dry = Options {
        dry_run: true,
        ..options()
    };
    let again = v1_to_v3::migrate(v1, v3, &dry, &())
        .await
        .unwrap_or_else(|failed| panic!("{failed}"));
    assert_eq!((again.copied(), again.identical()), (0, copied));
}

fn total(report: &Report) -> usize {
    report.copied() + report.identical() + report.conflicts.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_everything_in_order_remaps_owners_and_unlocks_v3() {
    let emu = emulator_with(Config::default(), None).await;
    let (v1, v3) = backends(emu.kubeconfig_path()).await;
    seed(&v1).await;

    let recorder = Recorder::default();
    let report = v1_to_v3::migrate(&v1, &v3, &options(), &recorder)
        .await
        .unwrap_or_else(|failed| panic!("{failed}"));
    assert!(report.conflicts.is_empty(), "{:?}", report.conflicts);
    assert_eq!(report.identical(), 0);
    assert!(report.copied() >= 15);
    assert_eq!(report.owners_remapped, 1);
    assert!(report.locked_v1 && report.unlocked_v3);
    assert_eq!(
        *recorder.phases.lock().unwrap(),
        [
            Phase::LockingV1,
            Phase::LockingV3,
            Phase::Copying,
            Phase::RemappingOwners,
            Phase::UnlockingV3
        ]
    );
    let order: Vec<String> = ORDER.iter().map(|(k, _)| k.to_string()).collect();
    assert_eq!(*recorder.kinds.lock().unwrap(), order);
    assert_eq!(*recorder.objects.lock().unwrap(), total(&report));

    assert_migrated(&v1, &v3).await;
    // v1 stays locked; v3 is unlocked and carries the cluster's identity.
    assert_eq!(datastore_ready(&cluster_info(&v1).await), Some(false));
    let v3_info = cluster_info(&v3).await;
    assert_eq!(datastore_ready(&v3_info), Some(true));
    match (&cluster_info(&v1).await, &v3_info) {
        (AnyResource::ClusterInformation(a), AnyResource::ClusterInformation(b)) => {
            assert_eq!(a.spec.cluster_guid, b.spec.cluster_guid);
            assert!(!b.spec.cluster_guid.is_empty());
            assert_eq!(a.spec.calico_version, b.spec.calico_version);
        }
        _ => unreachable!(),
    }

    // Finished: a dry run finds everything identical; a real run is refused (v3 is live).
    dry_run_finds_everything_identical(&v1, &v3, report.copied()).await;
    match v1_to_v3::migrate(&v1, &v3, &options(), &()).await {
        Err(failed) => assert!(
            matches!(failed.error, v1_to_v3::MigrateError::AlreadyComplete),
            "{failed}"
        ),
        Ok(report) => panic!("ran again over a live v3: {report:?}"),
    }
    assert_eq!(datastore_ready(&cluster_info(&v3).await), Some(true));
    assert_migrated(&v1, &v3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_is_reported_left_alone_and_keeps_the_lock_until_resolved() {
    let emu = emulator_with(Config::default(), None).await;
    let (v1, v3) = backends(emu.kubeconfig_path()).await;
    seed(&v1).await;
    let squatter = resource(
        json!({"apiVersion": "projectcalico.org/v3", "kind": "IPPool",
        "metadata": {"name": "pool1"}, "spec": {"cidr": "10.9.0.0/16"}}),
    );
    v3.create(squatter).await.unwrap();

    // A dry run says what would happen and writes nothing.
    let dry = v1_to_v3::migrate(
        &v1,
        &v3,
        &Options {
            dry_run: true,
            ..options()
        },
        &(),
    )
    .await
    .unwrap_or_else(|failed| panic!("{failed}"));
    assert_eq!(dry.conflicts.len(), 1);
    assert!(dry.copied() >= 14);
    assert!(!dry.locked_v1 && !dry.unlocked_v3);
    assert_eq!(datastore_ready(&cluster_info(&v1).await), Some(true));
    assert!(list(&v3, "Tier").await.is_empty());

    let report = v1_to_v3::migrate(&v1, &v3, &options(), &())
        .await
        .unwrap_or_else(|failed| panic!("{failed}"));
    assert_eq!(
        report.conflicts,
        [Conflict {
            kind: "IPPool",
            namespace: String::new(),
            name: "pool1".into()
        }]
    );
    assert_eq!(report.copied(), dry.copied());
    assert!(!report.unlocked_v3);
    let pool = v3
        .get(&ResourceKey::new(kind("IPPool"), "", "pool1"), None)
        .await
        .unwrap();
    assert_eq!(
        spec_of(&pool)["cidr"],
        "10.9.0.0/16",
        "the conflict is not overwritten"
    );
    assert_eq!(datastore_ready(&cluster_info(&v3).await), Some(false));
    assert_eq!(datastore_ready(&cluster_info(&v1).await), Some(false));

    // Resolved (the v3 object deleted), a rerun copies it and unlocks.
    v3.delete(&ResourceKey::new(kind("IPPool"), "", "pool1"), None)
        .await
        .unwrap();
    let report = v1_to_v3::migrate(&v1, &v3, &options(), &())
        .await
        .unwrap_or_else(|failed| panic!("{failed}"));
    assert!(report.conflicts.is_empty());
    assert_eq!(report.copied(), 1);
    assert!(report.unlocked_v3);
    assert_migrated(&v1, &v3).await;
    assert_eq!(datastore_ready(&cluster_info(&v3).await), Some(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_fails_part_way_is_finished_by_a_rerun() {
    // The API server refuses to create v3 IPAM blocks (as RBAC would).
    let refusing = emulator_with(
        Config {
            forbid: vec!["create:ipamblocks.projectcalico.org".into()],
            ..Config::default()
        },
        None,
    )
    .await;
    let (v1, v3) = backends(refusing.kubeconfig_path()).await;
    seed(&v1).await;
    let failed = match v1_to_v3::migrate(&v1, &v3, &options(), &()).await {
        Ok(report) => panic!("migrated through a refusal: {report:?}"),
        Err(failed) => failed,
    };
    assert!(
        matches!(&failed.error, v1_to_v3::MigrateError::Copy { key, source: DatastoreError::Unauthorized(_) | DatastoreError::Store(_) } if key.kind.kind() == "IPAMBlock")
            || failed.to_string().contains("ipamblocks"),
        "{failed}"
    );
    // What landed before the failure is in the report; v3 stays locked.
    let landed: Vec<&str> = failed
        .report
        .kinds
        .iter()
        .filter(|k| k.copied > 0)
        .map(|k| k.kind)
        .collect();
    assert!(
        landed.contains(&"Tier") && landed.contains(&"BlockAffinity"),
        "{landed:?}"
    );
    assert!(!landed.contains(&"IPAMBlock"));
    assert!(!failed.report.unlocked_v3);
    assert_eq!(datastore_ready(&cluster_info(&v3).await), Some(false));
    let copied_first = failed.report.copied();

    // The same cluster, the refusal lifted: the rerun copies the rest and unlocks.
    let config = Config::default();
    let store = refusing.store().clone();
    let lifted = emulator_with(config, Some(store)).await;
    let (v1, v3) = backends(lifted.kubeconfig_path()).await;
    let report = v1_to_v3::migrate(&v1, &v3, &options(), &())
        .await
        .unwrap_or_else(|failed| panic!("{failed}"));
    assert_eq!(report.identical(), copied_first);
    assert_eq!(report.copied(), 2, "{report:?}"); // the block and the handle
    assert!(report.unlocked_v3);
    assert!(!report.locked_v1);
    assert_migrated(&v1, &v3).await;
}

/// The same on the real kube-apiserver with both CRD sets installed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrates_on_the_real_kube_apiserver() {
    use calico_test_support::kube_apiserver::{KubeApiServer, ADMIN_TOKEN};
    let server = tokio::task::spawn_blocking(KubeApiServer::start)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig, ADMIN_TOKEN);
    server.install_crds(emulator::V1_CRDS);
    server.install_crds(emulator::V3_CRDS);
    let created = server
        .kubectl_as(ADMIN_TOKEN)
        .args(["create", "namespace", "ns1"])
        .output()
        .unwrap();
    assert!(created.status.success());
    let (v1, v3) = backends(&kubeconfig).await;
    seed(&v1).await;
    let report = v1_to_v3::migrate(&v1, &v3, &options(), &())
        .await
        .unwrap_or_else(|failed| panic!("{failed}"));
    assert!(report.conflicts.is_empty(), "{:?}", report.conflicts);
    assert_eq!(report.owners_remapped, 1);
    assert!(report.unlocked_v3);
    assert_migrated(&v1, &v3).await;
    dry_run_finds_everything_identical(&v1, &v3, report.copied()).await;
    drop(server);
}
