//! Shared by the `datastore migrate` tests: Calico's goldens (`goldens/oracle-migrate`), an
//! etcd seeded as theirs was, and the Kubernetes objects their API server had.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

use super::{Etcd, Kube};

/// The goldens' folder.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/goldens/oracle-migrate")
}

pub fn golden(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
}

/// Runs a command in the goldens' folder (the file names it prints are relative): stdout,
/// stderr, exit code.
pub fn run(mut cmd: Command, args: &[&str]) -> (String, String, i32) {
    let output = cmd.current_dir(dir()).args(args).output().expect("run");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        output.status.code().unwrap_or(-1),
    )
}

/// An etcd holding what the goldens' etcd held before the export: ours creates the resources
/// and configures IPAM, the `seed` lines are written as they are.
pub fn seeded_etcd() -> Etcd {
    let etcd = Etcd::new();
    let (_, stderr, code) = run(etcd.calicoctl(), &["create", "-f", "resources.yaml"]);
    assert_eq!(code, 0, "create: {stderr}");
    let (_, stderr, code) = run(
        etcd.calicoctl(),
        &[
            "ipam",
            "configure",
            "--strictaffinity=true",
            "--max-blocks-per-host=4",
        ],
    );
    assert_eq!(code, 0, "ipam configure: {stderr}");
    for line in golden("seed").lines() {
        let words = shell_words::split(line).expect("seed line");
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        etcd.server.etcdctl(&args);
    }
    etcd
}

/// The Kubernetes objects the goldens' API server had: Namespace `prod`, Nodes `node-a`,
/// `node-b`, `node-c`.
pub fn with_k8s_objects(kube: Kube) -> Kube {
    kube.kubectl(&[
        "create",
        "-f",
        &dir().join("k8s-objects.yaml").to_string_lossy(),
    ]);
    kube
}

/// Drops from an object's `metadata` what the API server sets anew on every run (`uid`,
/// `resourceVersion`, `creationTimestamp`, `managedFields`, `generation`), and masks the
/// creation time the v1 driver keeps in its `projectcalico.org/metadata` annotation.
pub fn mask_server_metadata(meta: &mut serde_json::Map<String, serde_json::Value>) {
    for field in [
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "managedFields",
        "generation",
    ] {
        meta.remove(field);
    }
    let creation = regex::Regex::new(r#""creationTimestamp":"[^"]*""#).expect("regex");
    if let Some(serde_json::Value::String(text)) = meta
        .get_mut("annotations")
        .and_then(|a| a.get_mut("projectcalico.org/metadata"))
    {
        *text = creation
            .replace_all(text, r#""creationTimestamp":"(masked)""#)
            .into_owned();
    }
}
