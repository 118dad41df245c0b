//! Forty-eight `calico-ipam` processes at once on one node, as a runtime starting a burst of pods runs
//! them: every ADD succeeds with an address of its own, the handles agree with the blocks, and
//! after the DELs (also all at once) nothing is left allocated. On etcd and on the embedded
//! store.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{fresh, run, Store};
use serde_json::{json, Value};

// Enough to make the processes contend for one block; a much larger burst is the benchmark's.
const PODS: usize = 48;

fn seed() -> Vec<Value> {
    let golden: Value = serde_json::from_slice(
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/goldens/add-del.json"))
            .unwrap(),
    )
    .unwrap();
    golden["seed"].as_array().unwrap().clone()
}

fn step(command: &str, pod: usize) -> Value {
    let container = format!("{pod:04}cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd");
    let mut env = json!({
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container,
        "CNI_IFNAME": "eth0",
        "CNI_PATH": "/opt/cni/bin",
        "CNI_ARGS": format!("IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=burst-{pod}"),
    });
    if command == "ADD" {
        env["CNI_NETNS"] = json!("/var/run/netns/cni-burst");
    }
    json!({
        "env": env,
        "stdin": r#"{"cniVersion":"1.0.0","name":"k8s-pod-network","type":"calico",{datastore},"nodename":"node-a","ipam":{"type":"calico-ipam"}}"#,
    })
}

fn all_at_once(binary: &Path, store: &Store, command: &str) -> Vec<(String, i32)> {
    std::thread::scope(|scope| {
        let runs: Vec<_> = (0..PODS)
            .map(|pod| scope.spawn(move || run(binary, store, &step(command, pod))))
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    })
}

fn burst(embedded: bool) {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_calico-ipam"));
    let store = fresh("etcd", embedded);
    store.seed(&seed());
    let added = all_at_once(&binary, &store, "ADD");
    let mut addresses = BTreeSet::new();
    for (stdout, exit) in &added {
        assert_eq!(*exit, 0, "{stdout}");
        let result: Value = serde_json::from_str(stdout).unwrap();
        addresses.insert(result["ips"][0]["address"].as_str().unwrap().to_string());
    }
    assert_eq!(
        addresses.len(),
        PODS,
        "addresses handed out twice: {added:?}"
    );
    let stored = store.stored();
    let handles = stored
        .lines()
        .filter(|line| line.starts_with("/calico/ipam/v2/handle/"))
        .count();
    assert_eq!(handles, PODS, "{stored}");
    let allocated: usize = stored
        .lines()
        .filter(|line| line.starts_with("{\"cidr\""))
        .map(|block| {
            let block: Value = serde_json::from_str(block).unwrap();
            block["allocations"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| !a.is_null())
                .count()
        })
        .sum();
    assert_eq!(allocated, PODS, "{stored}");

    for (stdout, exit) in all_at_once(&binary, &store, "DEL") {
        assert_eq!((stdout.as_str(), exit), ("", 0));
    }
    let stored = store.stored();
    assert!(
        !stored.contains("/calico/ipam/v2/handle/"),
        "handles left: {stored}"
    );
    for block in stored.lines().filter(|line| line.starts_with("{\"cidr\"")) {
        let block: Value = serde_json::from_str(block).unwrap();
        assert!(
            block["allocations"]
                .as_array()
                .unwrap()
                .iter()
                .all(Value::is_null),
            "{block}"
        );
    }
}

#[test]
fn a_burst_of_pods_on_one_node_on_etcd() {
    burst(false);
}

#[test]
fn a_burst_of_pods_on_one_node_on_the_embedded_store() {
    burst(true);
}
