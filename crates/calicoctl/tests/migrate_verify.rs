//! Ours, beyond Calico's `datastore migrate import`: the verification of what landed
//! (`--verify`, and after every import), and `--resume`, which finishes an import that
//! stopped part-way instead of demanding that every CRD be deleted. Uses Calico's golden
//! export (`goldens/oracle-migrate`).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::oracle_migrate::{run, with_k8s_objects};
use common::Kube;

fn migrate(kube: &Kube, extra: &[&str]) -> (String, String, i32) {
    let mut args = vec!["datastore", "migrate", "import", "-f", "export.yaml"];
    args.extend_from_slice(extra);
    run(kube.calicoctl(), &args)
}

const CLEAN: &str =
    "Verified: 46 of 46 object(s) equal, 1 skipped (not kept by a Kubernetes datastore)\n";

/// Calico's outputs of a complete import, and nothing of ours when it verifies clean.
const IMPORTED: &str = "Datastore locked.\n[WARNING] Attempted to import node Node(node-gone) from etcd that references a nonexistent Kubernetes node. Skipping that node. Non-Kubernetes nodes are not supported in the Kubernetes datastore and will be skipped.Importing IPAM resources\nSuccessfully applied 16 IPAM resource(s)\nDatastore information successfully imported. Please refer to the datastore migration documentation for next steps.\n";

/// A complete import prints Calico's outputs alone, and `--verify` then finds it clean.
fn imports_and_verifies_clean(kube: &Kube) {
    assert_eq!(migrate(kube, &[]), (IMPORTED.to_string(), String::new(), 0));
    assert_eq!(
        migrate(kube, &["--verify"]),
        (CLEAN.to_string(), String::new(), 0)
    );
}

#[test]
fn verify_names_every_difference_and_writes_nothing() {
    let kube = with_k8s_objects(Kube::new());
    // Before the import: everything is missing but the Nodes, which are Kubernetes' (node-c
    // has nothing of Calico's yet, node-gone is skipped).
    let (stdout, stderr, code) = migrate(&kube, &["--verify"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stdout.starts_with("Verified: 1 of 46 object(s) equal, 1 skipped (not kept by a Kubernetes datastore), 45 difference(s):\n  IPPool(pool-v4): missing from the target\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  Node(node-b): differs at spec.bgp\n"),
        "{stdout}"
    );
    assert!(stdout.contains("  ClusterInformation(default): missing from the target\n"));
    assert!(stdout.contains("  BlockKey(cidr=10.10.5.0/26): missing from the target\n"));
    // Nothing was written: the import still finds an empty datastore.
    imports_and_verifies_clean(&kube);

    // A changed pool, a deleted set, an extra set, a changed block, a deleted handle.
    kube.kubectl(&[
        "patch",
        "ippools.crd.projectcalico.org",
        "pool-v4",
        "--type=merge",
        "-p",
        r#"{"spec":{"natOutgoing":false,"blockSize":27}}"#,
    ]);
    kube.kubectl(&["delete", "globalnetworksets.crd.projectcalico.org", "--all"]);
    let extra = kube.home.path().join("extra.yaml");
    std::fs::write(
        &extra,
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: extra-set\nspec:\n  nets: [192.0.2.0/24]\n",
    )
    .expect("write");
    let (_, stderr, code) = run(kube.calicoctl(), &["apply", "-f", &extra.to_string_lossy()]);
    assert_eq!(code, 0, "{stderr}");
    let handles = kube.kubectl(&["get", "ipamhandles.crd.projectcalico.org", "-o", "name"]);
    let handle = handles.lines().next().expect("a handle");
    kube.kubectl(&["delete", handle]);

    let (stdout, stderr, code) = migrate(&kube, &["--verify"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("Verified: "), "{stdout}");
    assert!(
        lines.contains(&"  IPPool(pool-v4): differs at spec.blockSize, spec.natOutgoing"),
        "{stdout}"
    );
    assert!(
        lines.contains(&"  GlobalNetworkSet(extra-set): in the target, not in the file"),
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  GlobalNetworkSet(") && l.ends_with("missing from the target")),
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  IPAMHandleKey(") && l.ends_with("missing from the target")),
        "{stdout}"
    );
}

#[test]
fn an_import_cut_short_says_what_landed_and_resume_finishes_it() {
    // The API server refuses IPAM block creates: the import stops part-way.
    let mut kube = with_k8s_objects(Kube::forbidding(&[
        "create:ipamblocks.crd.projectcalico.org",
    ]));
    let (stdout, stderr, code) = migrate(&kube, &[]);
    assert_eq!(code, 1);
    assert!(
        stdout.ends_with("Importing IPAM resources\nPartial success: applied the first 16 out of 16 resources:\n"),
        "{stdout}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with("hit error(s): [error trying to create block affinity BlockKey(cidr="),
        "{stderr}"
    );
    assert!(lines[1].starts_with("Verified: "), "{stderr}");
    assert!(lines[1].ends_with(" difference(s):"), "{stderr}");
    // What did not land is exactly the blocks.
    assert!(
        lines[2..]
            .iter()
            .all(|l| l.starts_with("  BlockKey(cidr=") && l.ends_with(": missing from the target")),
        "{stderr}"
    );

    // The same API server, now accepting everything. Calico's import refuses the partial
    // target; ours with --resume finishes it.
    kube.restart_forbidding(&[]);
    let (stdout, stderr, code) = migrate(&kube, &[]);
    assert_eq!((stdout.as_str(), code), ("", 1));
    assert_eq!(stderr, "datastore already has Calico resources: found existing Calico IPPool resource. Clear out all Calico resources by deleting all Calico CRDs\n");

    let (stdout, stderr, code) = migrate(&kube, &["--resume"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stderr, "");
    assert_eq!(stdout, IMPORTED.trim_start_matches("Datastore locked.\n"));
    assert_eq!(
        migrate(&kube, &["--verify"]),
        (CLEAN.to_string(), String::new(), 0)
    );
    // Resuming a finished import is harmless.
    let (_, stderr, code) = migrate(&kube, &["--resume"]);
    assert_eq!((stderr.as_str(), code), ("", 0));

    // A target that differs from the file is refused, with Calico's text first.
    kube.kubectl(&[
        "patch",
        "ippools.crd.projectcalico.org",
        "pool-v4",
        "--type=merge",
        "-p",
        r#"{"spec":{"natOutgoing":false}}"#,
    ]);
    let (_, stderr, code) = migrate(&kube, &["--resume"]);
    assert_eq!(code, 1);
    assert_eq!(stderr, "datastore already has Calico resources: found existing Calico IPPool resource. Clear out all Calico resources by deleting all Calico CRDs\ncannot resume the import: it holds 1 object(s) that differ from the file's, e.g. IPPool(pool-v4): differs at spec.natOutgoing\n");

    // So is one that is not locked (it may be in use).
    let (_, stderr, code) = run(kube.calicoctl(), &["datastore", "migrate", "unlock"]);
    assert_eq!(code, 0, "{stderr}");
    let (_, stderr, code) = migrate(&kube, &["--resume"]);
    assert_eq!(code, 1);
    assert!(
        stderr.ends_with("\ncannot resume the import: the datastore is not locked, so it is no import stopped part-way (it may be in use)\n"),
        "{stderr}"
    );
}

/// Into a datastore in `projectcalico.org/v3` mode (its v3 CRDs installed, the v1 ones not):
/// Calico's import knows only the v1 CRDs; ours ensures the v3 ones, so the cluster stays in v3
/// mode, and the same file lands as projectcalico.org/v3 objects and verifies clean.
fn import_into_a_v3_datastore(kube: Kube) {
    let kube = with_k8s_objects(kube);
    let crds = common::tour::repo_root().join("manifests/v3-crds.yaml");
    kube.kubectl(&["apply", "-f", &crds.to_string_lossy()]);
    imports_and_verifies_clean(&kube);
    let crds = kube.kubectl(&["get", "crds", "-o", "name"]);
    assert!(
        !crds.contains("crd.projectcalico.org"),
        "no v1 CRD created: {crds}"
    );
    let pools = kube.kubectl(&["get", "ippools.projectcalico.org", "-o", "name"]);
    assert!(pools.contains("pool-v4"), "{pools}");
    let blocks = kube.kubectl(&["get", "ipamblocks.projectcalico.org", "-o", "name"]);
    assert!(!blocks.trim().is_empty(), "{blocks}");
}

#[test]
fn import_into_a_v3_datastore_on_the_emulator() {
    import_into_a_v3_datastore(Kube::new());
}

#[test]
fn import_into_a_v3_datastore_on_a_real_kube_apiserver() {
    import_into_a_v3_datastore(Kube::real());
}
