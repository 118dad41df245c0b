//! Ours: moves Calico cannot make, through `datastore migrate export --any-datastore` and
//! `import --any-datastore`: an etcd backed up into the embedded store and back into another
//! etcd (the round trip loses nothing: the exports are equal), and an embedded datastore
//! promoted to a Kubernetes one. Seeded as Calico's goldens were (`goldens/oracle-migrate`).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use assert_cmd::Command;
use common::oracle_migrate::{run, seeded_etcd, with_k8s_objects};
use common::{Etcd, Kube, Store};

/// A full export (stdout), which must succeed silently.
fn export(cmd: Command) -> String {
    let (stdout, stderr, code) = run(cmd, &["datastore", "migrate", "export", "--any-datastore"]);
    assert_eq!((stderr.as_str(), code), ("", 0), "export");
    stdout
}

/// Imports a full export and checks it verifies clean afterwards (the import's own
/// verification prints nothing when clean; `--verify` says so).
fn import(cmd: impl Fn() -> Command, home: &std::path::Path, backup: &str) -> String {
    let file = home.join("backup.yaml");
    std::fs::write(&file, backup).expect("write");
    let file = file.to_string_lossy().into_owned();
    let args = [
        "datastore",
        "migrate",
        "import",
        "--any-datastore",
        "-f",
        file.as_str(),
    ];
    let (stdout, stderr, code) = run(cmd(), &args);
    assert_eq!((stderr.as_str(), code), ("", 0), "import: {stdout}");
    let (verified, stderr, code) = run(cmd(), &[&args[..], &["--verify"]].concat());
    assert_eq!((stderr.as_str(), code), ("", 0), "verify: {verified}");
    // Calico's unlock: the import leaves the target locked, as Calico's does.
    let (_, stderr, code) = run(cmd(), &["datastore", "migrate", "unlock"]);
    assert_eq!(code, 0, "{stderr}");
    stdout + &verified
}

/// What differs between two stores' exports of the same content: list revisions and the
/// ClusterInformation's identity (its GUID is carried over).
fn masked(text: &str) -> String {
    let revision = regex::Regex::new(r#"resourceVersion: "\d+""#).expect("regex");
    let identity =
        regex::Regex::new(r#""(uid|resourceVersion|creationTimestamp)": "[^"]*""#).expect("regex");
    let text = revision.replace_all(text, r#"resourceVersion: "N""#);
    identity.replace_all(&text, r#""$1": "X""#).into_owned()
}

#[test]
fn etcd_backed_up_into_the_embedded_store_and_restored_into_another_etcd_loses_nothing() {
    let etcd = seeded_etcd();
    let backup = export(etcd.calicoctl());
    // Everything is there: Profiles and WorkloadEndpoints too, Nodes under their etcd names.
    for wanted in [
        "kind: ProfileList",
        "kind: WorkloadEndpointList",
        "name: etcd-node-a",
        "\"/calico/ipam/v2/host/etcd-node-a/ipv4/block/10.10.5.0-26\"",
    ] {
        assert!(backup.contains(wanted), "{wanted} in {backup}");
    }
    assert!(!backup.contains("projectcalico-default-allow"));
    assert!(!backup.contains("knp.default."));

    // etcd → embedded.
    let store = Store::new();
    let printed = import(|| store.calicoctl(), store.dir.path(), &backup);
    assert!(
        printed.starts_with("Datastore locked.\nSuccessfully applied "),
        "{printed}"
    );
    assert!(
        printed.ends_with("Datastore information successfully imported. Please refer to the datastore migration documentation for next steps.\nVerified: 51 of 51 object(s) equal\n"),
        "{printed}"
    );
    let from_embedded = export(store.calicoctl());
    assert_eq!(masked(&from_embedded), masked(&backup));

    // embedded → another etcd.
    let restored = Etcd::new();
    import(
        || restored.calicoctl(),
        restored.home.path(),
        &from_embedded,
    );
    assert_eq!(masked(&export(restored.calicoctl())), masked(&backup));

    // A second import into a non-empty target is refused, with Calico's text.
    let (_, stderr, code) = run(
        restored.calicoctl(),
        &[
            "datastore",
            "migrate",
            "import",
            "--any-datastore",
            "-f",
            &store.file("b.yaml", &backup).to_string_lossy(),
        ],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("datastore already has Calico resources: "),
        "{stderr}"
    );
}

#[test]
fn an_embedded_trial_is_promoted_to_a_kubernetes_datastore() {
    let etcd = seeded_etcd();
    let store = Store::new();
    import(
        || store.calicoctl(),
        store.dir.path(),
        &export(etcd.calicoctl()),
    );
    let trial = export(store.calicoctl());

    let kube = with_k8s_objects(Kube::new());
    let printed = import(|| kube.calicoctl(), kube.home.path(), &trial);
    // The etcd-named Nodes have no Kubernetes Node (skipped with Calico's warning), and
    // Profiles and WorkloadEndpoints are Kubernetes' own there: skipped, not differences.
    assert!(
        printed.contains("[WARNING] Attempted to import node Node(etcd-node-a) from etcd that references a nonexistent Kubernetes node."),
        "{printed}"
    );
    assert!(
        printed.ends_with(
            "Verified: 46 of 46 object(s) equal, 5 skipped (not kept by a Kubernetes datastore)\n"
        ),
        "{printed}"
    );
    let landed = kube.kubectl(&[
        "get",
        "globalnetworkpolicies.crd.projectcalico.org",
        "-o",
        "name",
    ]);
    assert!(landed.contains("allow-dns"), "{landed}");
}
