//! A kube-emulator set up as the Kubernetes datastore tests need it: the CustomResourceDefinitions
//! of a manifest stored as `kubectl apply -f` would store them, and Kubernetes Nodes.

use kube_emulator::{Config, Emulator, RunningEmulator, Store};
use serde_json::{json, Value};

/// Calico's v1 CRDs (`crd.projectcalico.org`), as the emulator's tests keep them.
pub const V1_CRDS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../kube-emulator/tests/fixtures/calico-crds.yaml"
);

/// Calico's v3 CRDs (`projectcalico.org`).
pub const V3_CRDS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../calico-kube/tests/fixtures/calico-v3-crds.yaml"
);

/// Starts an emulator holding every CustomResourceDefinition of the manifest at `crds` and a
/// Kubernetes Node for each of `nodes`. Panics when it cannot (a test set-up failure).
pub async fn with_crds_and_nodes(crds: &str, nodes: &[&str]) -> RunningEmulator {
    let emu = Emulator::start(Config::default())
        .await
        .unwrap_or_else(|e| panic!("start the kube-emulator: {e}"));
    install_crds(emu.store(), crds);
    let store = emu.store();
    let node_kind = store
        .lookup("", "v1", "nodes")
        .unwrap_or_else(|| panic!("the emulator serves no nodes"));
    for name in nodes {
        store
            .create(
                &node_kind,
                None,
                json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}),
            )
            .unwrap_or_else(|e| panic!("create node {name}: {e:?}"));
    }
    emu
}

/// Stores every CustomResourceDefinition of the manifest at `crds` in `store` (several
/// manifests can be installed in one store: both of Calico's CRD groups, say). Panics when it
/// cannot (a test set-up failure).
pub fn install_crds(store: &Store, crds: &str) {
    let text = std::fs::read_to_string(crds).unwrap_or_else(|e| panic!("read {crds}: {e}"));
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("parse {crds}: {e}"));
    let definitions = store
        .lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .unwrap_or_else(|| panic!("the emulator serves no CRDs"));
    for doc in docs {
        if doc.get("kind") == Some(&json!("CustomResourceDefinition")) {
            store
                .create(&definitions, None, doc)
                .unwrap_or_else(|e| panic!("store a CRD of {crds}: {e:?}"));
        }
    }
}
