//! `calicoctl datastore migrate v1-to-v3` (ours) end to end on the kube-emulator serving both
//! CRD groups: a dry run, a conflict that keeps the datastore locked, the rerun that finishes
//! once it is resolved, and the refusal to run over a finished migration.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::tour::repo_root;
use common::Kube;

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
