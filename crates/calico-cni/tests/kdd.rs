//! `calico-ipam` on the Kubernetes datastore, run as a runtime runs it: a burst of ADDs for one
//! node at once, then their DELs at once, on the kube-emulator in both CRD groups and on a real
//! kube-apiserver. Every ADD gets an address of its own from the pool, the blocks and handles
//! are Calico's custom resources and agree with each other, and nothing is left after the DELs.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use calico_api::decode_value;
use calico_datastore::apiconfig::ApiConfigSpec;
use calico_datastore::client::Client;
use calico_ipam::query::handle_tally;
use calico_kube::KubeBackend;
use calico_test_support::emulator;
use calico_test_support::kube_apiserver::{KubeApiServer, ADMIN_TOKEN};
use serde_json::{json, Value};

const PODS: usize = 12;

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
    let tally = handle_tally(&client).await.unwrap();
    assert_eq!(tally.stored.len(), PODS);
    assert_eq!(tally.stored, tally.counted);

    let binary = common::ours();
    let config = kubeconfig.clone();
    let deleted = tokio::task::spawn_blocking(move || all_at_once(&binary, &config, "DEL"))
        .await
        .unwrap();
    for ran in &deleted {
        assert_eq!(ran.code, 0, "DEL failed: {} {}", ran.stdout, ran.stderr);
    }
    let tally = handle_tally(&client).await.unwrap();
    assert!(tally.stored.is_empty(), "{tally:?}");
    assert_eq!(tally.allocated, 0, "{tally:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_pods_on_the_kube_emulator_with_the_v1_crds() {
    let emu = emulator::with_crds_and_nodes(emulator::V1_CRDS, &["node-a"]).await;
    burst(emu.kubeconfig_path().to_path_buf()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_pods_on_the_kube_emulator_with_the_v3_crds() {
    let emu = emulator::with_crds_and_nodes(emulator::V3_CRDS, &["node-a"]).await;
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
    let applied = kubectl(&["apply", "-f", emulator::V1_CRDS]);
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
