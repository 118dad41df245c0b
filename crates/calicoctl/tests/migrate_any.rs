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

/// The import reads its file a document at a time, so a bad document late in the resources
/// part must still stop it before anything is written (as Calico's apply reads the whole file
/// first), and a file on standard input (copied aside, since it is read more than once)
/// imports and verifies like a named one.
#[test]
fn a_bad_document_anywhere_stops_the_import_before_any_write_and_stdin_imports() {
    let store = Store::new();
    let export = common::oracle_migrate::golden("export.yaml");
    // The last document of the resources part (the pools are in the first) gets a field no
    // resource has.
    let (resources, rest) = export.split_once("===\n").expect("three parts");
    let last = resources.rfind("\n  spec:\n").expect("a spec");
    let bad = format!(
        "{}\n  bogusField: 1{}===\n{rest}",
        &resources[..last],
        &resources[last..]
    );
    let bad = store.file("bad.yaml", &bad);
    let import = ["datastore", "migrate", "import", "--any-datastore", "-f"];
    let (stdout, stderr, code) = run(
        store.calicoctl(),
        &[&import[..], &[bad.to_string_lossy().as_ref()]].concat(),
    );
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(stdout, "Datastore locked.\n");
    assert!(
        stderr.starts_with("failed to import v3 resources: failed to import v3 resources: failed to execute command: ")
            && stderr.contains("bogusField"),
        "{stderr}"
    );
    // Nothing was written (Calico's lock aside): no pool, no IPAM object.
    let pools = store.ok(&["get", "ippools", "-o", "yaml"]);
    assert!(pools.contains("items: []"), "{pools}");
    let (stdout, _, _) = run(
        store.calicoctl(),
        &[&import[..], &["export.yaml", "--verify"]].concat(),
    );
    // Only what initializing and locking a datastore creates is there: the built-in tiers, and
    // a ClusterInformation of the store's own.
    assert!(
        stdout.starts_with("Verified: 3 of 47 object(s) equal, 44 difference(s):\n"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .skip(1)
            .all(|line| line.ends_with(": missing from the target")
                || line == "  ClusterInformation(default): differs at spec.clusterGUID"),
        "{stdout}"
    );

    // The same file, good, on standard input: Calico's import refuses the target its failed
    // run locked; `--resume` finishes it (stdin is read three times: to check that the target
    // holds nothing but part of the file, to apply, to verify); verified clean from stdin too.
    let from_stdin = |extra: &[&str]| {
        let output = store
            .calicoctl()
            .args([&import[..], &["-"], extra].concat())
            .write_stdin(export.clone())
            .output()
            .expect("run");
        (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
            output.status.code(),
        )
    };
    let (_, stderr, code) = from_stdin(&[]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.starts_with("datastore already has Calico resources"),
        "{stderr}"
    );
    let (stdout, stderr, code) = from_stdin(&["--resume"]);
    assert_eq!((stderr.as_str(), code), ("", Some(0)), "{stdout}");
    assert!(
        stdout.ends_with("Datastore information successfully imported. Please refer to the datastore migration documentation for next steps.\n"),
        "{stdout}"
    );
    let (stdout, stderr, code) = from_stdin(&["--verify"]);
    assert_eq!((stderr.as_str(), code), ("", Some(0)), "{stdout}");
    assert!(stdout.starts_with("Verified: "), "{stdout}");
    assert!(!stdout.contains("difference"), "{stdout}");
}

/// A full export writes a large kind as several `<Kind>List`s of at most 1,000 items (so no
/// document of a backup nears calicoctl's 10 MiB limit); the import and its verification take
/// consecutive lists of one kind as one kind.
#[test]
fn a_large_kind_is_backed_up_in_several_lists_and_restored_whole() {
    let from = Store::new();
    let sets: String = (0..2500)
        .map(|i| {
            format!(
                "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: set-{i:04}\nspec:\n  nets: [192.0.2.0/24]\n"
            )
        })
        .collect();
    let file = from.file("sets.yaml", &sets);
    from.ok(&["apply", "-f", &file.to_string_lossy()]);
    from.ok(&["ipam", "configure", "--strictaffinity=true"]);
    let backup = export(from.calicoctl());
    assert_eq!(backup.matches("kind: GlobalNetworkSetList\n").count(), 3);

    let to = Store::new();
    let printed = import(|| to.calicoctl(), to.dir.path(), &backup);
    assert!(
        printed.ends_with("Verified: 2505 of 2505 object(s) equal\n"),
        "{printed}"
    );
    assert_eq!(masked(&export(to.calicoctl())), masked(&backup));
}
