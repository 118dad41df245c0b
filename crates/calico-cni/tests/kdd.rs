//! `calico-ipam` on the Kubernetes datastore, run as a runtime runs it: a burst of ADDs for one
//! node at once, then their DELs at once, on the kube-emulator in both CRD groups and on a real
//! kube-apiserver. Every ADD gets an address of its own from the pool, the blocks and handles
//! are Calico's custom resources and agree with each other, and nothing is left after the DELs.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use calico_api::decode_value;
use calico_api::model::{ModelKey, ModelListOptions, ModelValue};
use calico_datastore::apiconfig::ApiConfigSpec;
use calico_datastore::client::Client;
use calico_kube::KubeBackend;
use calico_test_support::kube_apiserver::{KubeApiServer, ADMIN_TOKEN};
use kube_emulator::{Config, Emulator, RunningEmulator};
use serde_json::{json, Value};

const PODS: usize = 12;

const V1_CRDS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../kube-emulator/tests/fixtures/calico-crds.yaml"
);
const V3_CRDS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../calico-kube/tests/fixtures/calico-v3-crds.yaml"
);

fn step(command: &str, pod: usize, kubeconfig: &Path) -> (Vec<(String, String)>, String) {
    let mut env = vec![
        ("CNI_COMMAND".to_string(), command.to_string()),
        (
            "CNI_CONTAINERID".to_string(),
            format!("{pod:04}") + &"ef".repeat(30),
        ),
        ("CNI_IFNAME".to_string(), "eth0".to_string()),
        ("CNI_PATH".to_string(), "/opt/cni/bin".to_string()),
        (
            "CNI_ARGS".to_string(),
            format!("IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-{pod}"),
        ),
    ];
    if command == "ADD" {
        env.push(("CNI_NETNS".to_string(), "/var/run/netns/kdd".to_string()));
    }
    let conf = json!({
        "cniVersion": "1.0.0",
        "name": "k8s-pod-network",
        "type": "calico",
        "datastore_type": "kubernetes",
        "kubernetes": {"kubeconfig": kubeconfig.display().to_string()},
        "nodename": "node-a",
        "ipam": {"type": "calico-ipam"},
    });
    (env, conf.to_string())
}

fn all_at_once(binary: &Path, kubeconfig: &Path, command: &str) -> Vec<common::Ran> {
    std::thread::scope(|scope| {
        let runs: Vec<_> = (0..PODS)
            .map(|pod| {
                scope.spawn(move || {
                    let (env, conf) = step(command, pod, kubeconfig);
                    common::spawn(binary, &env, &conf)
                })
            })
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    })
}

async fn client(kubeconfig: &Path) -> Client {
    let spec = ApiConfigSpec {
        datastore_type: "kubernetes".into(),
        kubeconfig: kubeconfig.display().to_string(),
        ..ApiConfigSpec::default()
    };
    Client::new(Arc::new(KubeBackend::connect(&spec).await.unwrap()))
}

/// Handle → block → count, from the handles and from the blocks' allocations.
async fn handles_and_allocations(
    client: &Client,
) -> (
    BTreeMap<String, BTreeMap<String, i64>>,
    BTreeMap<String, BTreeMap<String, i64>>,
) {
    let backend = client.backend();
    let handles = backend
        .list_model(&ModelListOptions::Handles)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|kv| match (kv.key, kv.value) {
            (ModelKey::Handle(key), ModelValue::Handle(h)) if !h.deleted => {
                Some((key.handle_id.to_lowercase(), h.block.unwrap_or_default()))
            }
            _ => None,
        })
        .collect();
    let mut counted: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for kv in backend
        .list_model(&ModelListOptions::all_blocks())
        .await
        .unwrap()
        .items
    {
        let ModelValue::Block(block) = kv.value else {
            continue;
        };
        for index in block.allocations.iter().flatten().flatten() {
            let attribute = &block.attributes.as_ref().unwrap()[*index as usize];
            if let Some(handle) = &attribute.handle_id {
                *counted
                    .entry(handle.to_lowercase())
                    .or_default()
                    .entry(block.cidr.to_string())
                    .or_default() += 1;
            }
        }
    }
    (handles, counted)
}

async fn burst(kubeconfig: PathBuf) {
    let client = client(&kubeconfig).await;
    client
        .create(
            decode_value(json!({
                "apiVersion": "projectcalico.org/v3",
                "kind": "IPPool",
                "metadata": {"name": "pool-kdd"},
                "spec": {"cidr": "10.77.0.0/16", "blockSize": 26, "ipipMode": "Never", "vxlanMode": "Never"},
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let binary = common::ours();
    let config = kubeconfig.clone();
    let added = tokio::task::spawn_blocking(move || all_at_once(&binary, &config, "ADD"))
        .await
        .unwrap();
    let mut addresses = BTreeSet::new();
    for ran in &added {
        assert_eq!(ran.code, 0, "ADD failed: {} {}", ran.stdout, ran.stderr);
        let result: Value = serde_json::from_str(&ran.stdout).unwrap();
        let address = result["ips"][0]["address"].as_str().unwrap().to_string();
        assert!(address.starts_with("10.77."), "{address}");
        assert!(
            addresses.insert(address.clone()),
            "{address} handed out twice"
        );
    }
    assert_eq!(addresses.len(), PODS);
    let (handles, counted) = handles_and_allocations(&client).await;
    assert_eq!(handles.len(), PODS);
    assert_eq!(handles, counted);

    let binary = common::ours();
    let config = kubeconfig.clone();
    let deleted = tokio::task::spawn_blocking(move || all_at_once(&binary, &config, "DEL"))
        .await
        .unwrap();
    for ran in &deleted {
        assert_eq!(ran.code, 0, "DEL failed: {} {}", ran.stdout, ran.stderr);
    }
    let (handles, counted) = handles_and_allocations(&client).await;
    assert!(handles.is_empty(), "{handles:?}");
    assert!(counted.is_empty(), "{counted:?}");
}

/// An emulator holding a manifest's CustomResourceDefinitions and the Kubernetes Node.
async fn emulator(crds: &str) -> RunningEmulator {
    let emu = Emulator::start(Config::default()).await.unwrap();
    let text = std::fs::read_to_string(crds).unwrap();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    let store = emu.store();
    let definitions = store
        .lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .unwrap();
    for doc in docs {
        if doc.get("kind") == Some(&json!("CustomResourceDefinition")) {
            store.create(&definitions, None, doc).unwrap();
        }
    }
    let nodes = store.lookup("", "v1", "nodes").unwrap();
    store
        .create(
            &nodes,
            None,
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a"}}),
        )
        .unwrap();
    emu
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_pods_on_the_kube_emulator_with_the_v1_crds() {
    let emu = emulator(V1_CRDS).await;
    burst(emu.kubeconfig_path().to_path_buf()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_pods_on_the_kube_emulator_with_the_v3_crds() {
    let emu = emulator(V3_CRDS).await;
    burst(emu.kubeconfig_path().to_path_buf()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_pods_on_a_real_kube_apiserver() {
    let server = tokio::task::spawn_blocking(KubeApiServer::start)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig, ADMIN_TOKEN);
    let kubectl = |args: &[&str]| {
        let out = server.kubectl_as(ADMIN_TOKEN).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let applied = kubectl(&["apply", "-f", V1_CRDS]);
    for crd in applied.lines() {
        let name = crd.split_whitespace().next().unwrap_or_default();
        kubectl(&["wait", "--for=condition=Established", "--timeout=60s", name]);
    }
    let node = dir.path().join("node.yaml");
    std::fs::write(
        &node,
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: node-a\n",
    )
    .unwrap();
    kubectl(&["apply", "-f", &node.display().to_string()]);
    burst(kubeconfig).await;
}
