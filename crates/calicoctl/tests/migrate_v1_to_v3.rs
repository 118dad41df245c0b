//! `calicoctl datastore migrate v1-to-v3` (ours) end to end on the kube-emulator serving both
//! CRD groups: a dry run, a conflict that keeps the datastore locked, the rerun that finishes
//! once it is resolved, and the refusal to run over a finished migration; and, on a real
//! kube-apiserver and on the emulator, what lands compared with what Calico's DatastoreMigration
//! controller landed from the same seed (`goldens/oracle-v1-to-v3`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::oracle_migrate::mask_server_metadata;
use common::tour::repo_root;
use common::Kube;
use std::collections::HashMap;

const RESOURCES: &str = "\
apiVersion: projectcalico.org/v3
kind: Tier
metadata:
  name: security
spec:
  order: 100
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: security.block-ssh
spec:
  tier: security
  selector: all()
  ingress:
  - action: Deny
    protocol: TCP
    destination:
      ports: [22]
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool1
spec:
  cidr: 10.0.0.0/16
";

const SQUATTER: &str = "\
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool1
spec:
  cidr: 10.9.0.0/16
";

fn in_mode(kube: &Kube, group: &str) -> assert_cmd::Command {
    let mut cmd = kube.calicoctl();
    cmd.env("CALICO_API_GROUP", group);
    cmd
}

fn output(mut cmd: assert_cmd::Command, args: &[&str]) -> (i32, String, String) {
    let out = cmd.args(args).output().expect("calicoctl runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn migrates_reports_conflicts_and_finishes_on_a_rerun() {
    let kube = Kube::new();
    for crds in ["crds.yaml", "v3-crds.yaml"] {
        let path = repo_root().join("manifests").join(crds);
        kube.kubectl(&["apply", "-f", &path.to_string_lossy()]);
    }
    let resources = kube.home.path().join("resources.yaml");
    std::fs::write(&resources, RESOURCES).unwrap();
    let squatter = kube.home.path().join("squatter.yaml");
    std::fs::write(&squatter, SQUATTER).unwrap();
    const V1: &str = "crd.projectcalico.org/v1";
    const V3: &str = "projectcalico.org/v3";
    let (code, _, stderr) = output(
        in_mode(&kube, V1),
        &["create", "-f", &resources.to_string_lossy()],
    );
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = output(
        in_mode(&kube, V3),
        &["create", "-f", &squatter.to_string_lossy()],
    );
    assert_eq!(code, 0, "{stderr}");

    let migrate = ["datastore", "migrate", "v1-to-v3", "--drain-seconds", "0"];
    let dry: Vec<&str> = migrate.iter().copied().chain(["--dry-run"]).collect();
    let (code, stdout, stderr) = output(kube.calicoctl(), &dry);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("Dry run: nothing was locked or written."),
        "{stdout}"
    );
    assert!(stdout.contains("Conflict: IPPool pool1 exists in v3 with a different spec"));

    let (code, stdout, stderr) = output(kube.calicoctl(), &migrate);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.starts_with("KIND "), "{stdout}");
    assert!(stdout.contains("Conflict: IPPool pool1"), "{stdout}");
    assert!(
        stderr.contains("1 conflict: the datastore stays locked"),
        "{stderr}"
    );
    let (_, pools, _) = output(in_mode(&kube, V3), &["get", "ippools", "-o", "yaml"]);
    assert!(pools.contains("10.9.0.0/16"), "left alone: {pools}");

    let (code, _, stderr) = output(in_mode(&kube, V3), &["delete", "ippool", "pool1"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = output(kube.calicoctl(), &migrate);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("Copied: 1, identical: "), "{stdout}");
    assert!(stdout.contains("The projectcalico.org/v3 datastore is unlocked"));
    let (_, pools, _) = output(in_mode(&kube, V3), &["get", "ippools", "-o", "yaml"]);
    assert!(pools.contains("10.0.0.0/16"), "{pools}");
    let (_, policies, _) = output(
        in_mode(&kube, V3),
        &["get", "globalnetworkpolicies", "-o", "yaml"],
    );
    assert!(policies.contains("name: security.block-ssh"), "{policies}");

    // Finished: v3 may be live now, so another run is refused.
    let (code, _, stderr) = output(kube.calicoctl(), &migrate);
    assert_eq!(code, 1);
    assert!(stderr.contains("has finished already"), "{stderr}");
}

#[test]
fn refuses_a_datastore_other_than_kubernetes() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = common::bare(home.path());
    cmd.env("DATASTORE_TYPE", "etcdv3")
        .env("ETCD_ENDPOINTS", "http://127.0.0.1:9");
    let (code, _, stderr) = output(cmd, &["datastore", "migrate", "v1-to-v3"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("moves a Kubernetes datastore"), "{stderr}");
}

/// The goldens of Calico's DatastoreMigration controller (`goldens/oracle-v1-to-v3`, see its
/// README).
fn oracle(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/goldens/oracle-v1-to-v3")
        .join(name)
}

/// The v1 datastore Calico's controller found: the CRDs of both groups, Namespace `prod`, the
/// resources ours creates in v1 mode, IPAM (configured by ours, blocks, affinities and handles
/// as Calico writes them), a policy owned by the Tier `security`, and the ClusterInformation's
/// `clusterType` as kube-controllers' start-up left it.
fn seed_as_calicos_was(kube: &Kube) {
    for crds in ["crds.yaml", "v3-crds.yaml"] {
        let path = repo_root().join("manifests").join(crds);
        kube.kubectl(&["create", "-f", &path.to_string_lossy()]);
    }
    for file in ["k8s-objects.yaml", "ipam.json"] {
        let path = oracle(file);
        kube.kubectl(&["create", "--validate=false", "-f", &path.to_string_lossy()]);
    }
    let v1 = || in_mode(kube, "crd.projectcalico.org/v1");
    let resources = oracle("resources.yaml");
    let (code, _, stderr) = output(v1(), &["create", "-f", &resources.to_string_lossy()]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = output(v1(), &["ipam", "configure", "--strictaffinity=true"]);
    assert_eq!(code, 0, "{stderr}");
    let tier: serde_json::Value = serde_json::from_str(&kube.kubectl(&[
        "get",
        "--raw",
        "/apis/crd.projectcalico.org/v1/tiers/security",
    ]))
    .unwrap();
    let owned = std::fs::read_to_string(oracle("owned.json"))
        .unwrap()
        .replace("OWNER_UID", tier["metadata"]["uid"].as_str().unwrap());
    let path = kube.home.path().join("owned.json");
    std::fs::write(&path, owned).unwrap();
    kube.kubectl(&["create", "--validate=false", "-f", &path.to_string_lossy()]);
    kube.kubectl(&[
        "patch",
        "clusterinformations.crd.projectcalico.org",
        "default",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"clusterType":"kdd,k8s"}}"#,
    ]);
}

/// Every list the golden `landed.json` has (each v3 kind, and the v1 ClusterInformation), read
/// and normalised as it was (see the README): server-set metadata dropped, the migration's ID
/// masked, owner UIDs named by the v3 object they are the UID of, the v1 `clusterGUID` named.
fn landed_as_calicos(kube: &Kube) {
    use serde_json::Value;
    let want: Value =
        serde_json::from_str(&std::fs::read_to_string(oracle("landed.json")).unwrap()).unwrap();
    let mut got = serde_json::Map::new();
    for key in want.as_object().unwrap().keys() {
        let (plural, group) = key.split_once('.').unwrap();
        let version = if group == "projectcalico.org" {
            "v3"
        } else {
            "v1"
        };
        let path = format!("/apis/{group}/{version}/{plural}");
        let list: Value = serde_json::from_str(&kube.kubectl(&["get", "--raw", &path])).unwrap();
        got.insert(key.clone(), list["items"].clone());
    }
    let mut names = HashMap::new();
    for (key, items) in &got {
        for item in items.as_array().unwrap() {
            if !key.ends_with(".crd.projectcalico.org") {
                let name = format!("(uid of v3 {} {})", item["kind"], item["metadata"]["name"]);
                names.insert(item["metadata"]["uid"].clone(), name.replace('"', ""));
            }
        }
    }
    let v1_guid =
        got["clusterinformations.crd.projectcalico.org"][0]["spec"]["clusterGUID"].clone();
    for items in got.values_mut() {
        let items = items.as_array_mut().unwrap();
        for item in items.iter_mut() {
            let meta = item["metadata"].as_object_mut().unwrap();
            mask_server_metadata(meta);
            if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
                for (key, value) in annotations.iter_mut() {
                    if key.starts_with("migration.projectcalico.org/") {
                        *value = "(masked)".into();
                    }
                }
            }
            for owner in meta
                .get_mut("ownerReferences")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(name) = names.get(&owner["uid"]) {
                    owner["uid"] = name.clone().into();
                }
            }
            if item["kind"] == "ClusterInformation" && item["spec"]["clusterGUID"] == v1_guid {
                item["spec"]["clusterGUID"] = "(the v1 clusterGUID)".into();
            }
        }
        items.sort_by_key(|item| {
            let meta = &item["metadata"];
            let text = |v: &Value| v.as_str().unwrap_or("").to_string();
            (text(&meta["namespace"]), text(&meta["name"]))
        });
    }
    for (key, items) in &got {
        assert_eq!(
            serde_json::to_string_pretty(items).unwrap(),
            serde_json::to_string_pretty(&want[key]).unwrap(),
            "{key}: differs from what Calico's controller landed"
        );
    }
}

fn lands_what_calicos_controller_landed(kube: Kube) {
    seed_as_calicos_was(&kube);
    let migrate = ["datastore", "migrate", "v1-to-v3", "--drain-seconds", "0"];
    let (code, stdout, stderr) = output(kube.calicoctl(), &migrate);
    assert_eq!(code, 0, "{stdout}{stderr}");
    // Calico's controller counted 34 migrated; it reached Converged (datastoremigration.json).
    assert!(
        stdout.contains("Copied: 34, identical: 0, conflicts: 0"),
        "{stdout}"
    );
    landed_as_calicos(&kube);
}

#[test]
fn lands_in_a_real_kube_apiserver_what_calicos_controller_landed() {
    lands_what_calicos_controller_landed(Kube::real());
}

#[test]
fn lands_in_the_emulator_what_calicos_controller_landed() {
    lands_what_calicos_controller_landed(Kube::new());
}
