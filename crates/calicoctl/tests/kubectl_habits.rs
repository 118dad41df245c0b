//! kubectl's habits in calicoctl (issue 17), on all three datastores: `--dry-run` for create,
//! apply, replace and delete; apply that rewrites nothing when nothing changed; `diff`;
//! `delete --selector|--all`; `edit`. All of them are extensions of ours, hidden from help.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use assert_cmd::Command;
use common::tour::repo_root;
use common::{Etcd, Kube, Store};
use std::path::PathBuf;

/// `mod NAME` with the scenario `NAME` as a test on each datastore.
macro_rules! on_every_datastore {
    ($scenario:ident) => {
        mod $scenario {
            #[test]
            fn embedded() {
                super::$scenario(&super::Ds::embedded());
            }

            #[test]
            fn etcd() {
                super::$scenario(&super::Ds::etcd());
            }

            #[test]
            fn kubernetes() {
                super::$scenario(&super::Ds::kube());
            }
        }
    };
}

/// One datastore under test.
enum Ds {
    Embedded(Store),
    Etcd(Box<Etcd>),
    Kube(Box<Kube>),
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Ds {
    fn embedded() -> Self {
        Ds::Embedded(Store::new())
    }

    fn etcd() -> Self {
        Ds::Etcd(Box::new(Etcd::new()))
    }

    fn kube() -> Self {
        let kube = Kube::new();
        let crds = repo_root().join("manifests").join("crds.yaml");
        kube.kubectl(&["apply", "-f", &crds.to_string_lossy()]);
        kube.kubectl(&["create", "namespace", "prod"]);
        kube.kubectl(&["create", "namespace", "dev"]);
        Ds::Kube(Box::new(kube))
    }

    fn calicoctl(&self) -> Command {
        let mut cmd = match self {
            Ds::Embedded(store) => store.calicoctl(),
            Ds::Etcd(etcd) => etcd.calicoctl(),
            Ds::Kube(kube) => kube.calicoctl(),
        };
        cmd.env_remove("VISUAL")
            .env_remove("EDITOR")
            .env_remove("CALICOCTL_EXTERNAL_DIFF");
        cmd
    }

    fn dir(&self) -> PathBuf {
        match self {
            Ds::Embedded(store) => store.dir.path().to_path_buf(),
            Ds::Etcd(etcd) => etcd.home.path().to_path_buf(),
            Ds::Kube(kube) => kube.home.path().to_path_buf(),
        }
    }

    fn file(&self, name: &str, contents: &str) -> String {
        let path = self.dir().join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_string_lossy().into_owned()
    }

    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.calicoctl();
        for (name, value) in env {
            cmd.env(name, value);
        }
        let out = cmd.args(args).output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    /// A command that must exit with `code`.
    fn exits(&self, args: &[&str], code: i32) -> Run {
        let run = self.run(args);
        assert_eq!(
            run.code, code,
            "calicoctl {args:?} should exit {code}:\nstdout: {}\nstderr: {}",
            run.stdout, run.stderr
        );
        run
    }

    /// A command that must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        self.exits(args, 0).stdout
    }

    /// A command that must fail with exit code 1; its stderr.
    fn fails(&self, args: &[&str]) -> String {
        self.exits(args, 1).stderr
    }

    fn resource_version(&self, kind: &str, name: &str) -> String {
        let json: serde_json::Value =
            serde_json::from_str(&self.ok(&["get", kind, name, "-o", "json"])).unwrap();
        json["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn exists(&self, kind: &str, name: &str) -> bool {
        self.run(&["get", kind, name]).code == 0
    }
}

const SET: &str = "\
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata:
  name: office
  labels:
    team: net
spec:
  nets:
  - 10.1.0.0/16
";

const POOL: &str = "\
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-a
spec:
  cidr: 10.10.0.0/16
";

const OVERLAPPING_POOL: &str = "\
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-b
spec:
  cidr: 10.10.5.0/24
";

const POLICY_IN_MISSING_TIER: &str = "\
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: nowhere.deny
spec:
  tier: nowhere
  selector: all()
";

fn dry_run(ds: &Ds) {
    let set = ds.file("set.yaml", SET);
    // Nothing there: apply and create say what they would do, and write nothing.
    for verb in ["apply", "create"] {
        let past = if verb == "apply" {
            "applied"
        } else {
            "created"
        };
        assert_eq!(
            ds.ok(&[verb, "-f", &set, "--dry-run"]),
            format!("Successfully {past} 1 'GlobalNetworkSet' resource(s) (dry run)\n")
        );
        assert!(!ds.exists("globalnetworkset", "office"));
    }
    // The checks that need the datastore are made: a missing resource cannot be replaced or
    // deleted, a policy needs its tier.
    assert!(ds
        .fails(&["replace", "-f", &set, "--dry-run"])
        .contains("resource does not exist: GlobalNetworkSet(office)"));
    assert!(ds
        .fails(&["delete", "globalnetworkset", "office", "--dry-run"])
        .contains("resource does not exist: GlobalNetworkSet(office)"));
    let policy = ds.file("policy.yaml", POLICY_IN_MISSING_TIER);
    assert!(ds
        .fails(&["create", "-f", &policy, "--dry-run"])
        .contains("Tier(nowhere)"));
    // A policy in the default tier passes even before anything initialized the datastore.
    let default_policy = ds.file(
        "default-policy.yaml",
        &POLICY_IN_MISSING_TIER.replace("nowhere", "default"),
    );
    assert_eq!(
        ds.ok(&["apply", "-f", &default_policy, "--dry-run"]),
        "Successfully applied 1 'GlobalNetworkPolicy' resource(s) (dry run)\n"
    );

    // Once stored: create conflicts, replace and delete pass and change nothing.
    ds.ok(&["apply", "-f", &set]);
    let revision = ds.resource_version("globalnetworkset", "office");
    assert!(ds
        .fails(&["create", "-f", &set, "--dry-run"])
        .contains("resource already exists: GlobalNetworkSet(office)"));
    let changed = ds.file("changed.yaml", &SET.replace("10.1.0.0/16", "10.2.0.0/16"));
    assert_eq!(
        ds.ok(&["replace", "-f", &changed, "--dry-run"]),
        "Successfully replaced 1 'GlobalNetworkSet' resource(s) (dry run)\n"
    );
    assert_eq!(
        ds.ok(&["delete", "globalnetworkset", "office", "--dry-run"]),
        "Successfully deleted 1 'GlobalNetworkSet' resource(s) (dry run)\n"
    );
    assert_eq!(ds.resource_version("globalnetworkset", "office"), revision);
    assert!(ds
        .ok(&["get", "globalnetworkset", "office", "-o", "yaml"])
        .contains("10.1.0.0/16"));
    // Validation still applies.
    let invalid = ds.file("invalid.yaml", &SET.replace("10.1.0.0/16", "not-a-cidr"));
    ds.fails(&["apply", "-f", &invalid, "--dry-run"]);

    // Pools: an overlap is found without writing.
    let pool = ds.file("pool.yaml", POOL);
    ds.ok(&["apply", "-f", &pool]);
    let overlapping = ds.file("overlap.yaml", OVERLAPPING_POOL);
    assert!(ds
        .fails(&["create", "-f", &overlapping, "--dry-run"])
        .contains("CIDR overlaps with IPPool(pool-a)"));
    assert!(!ds.exists("ippool", "pool-b"));
    // A pool deleted in dry run is neither deleted nor disabled.
    assert_eq!(
        ds.ok(&["delete", "ippool", "pool-a", "--dry-run"]),
        "Successfully deleted 1 'IPPool' resource(s) (dry run)\n"
    );
    assert!(!ds
        .ok(&["get", "ippool", "pool-a", "-o", "yaml"])
        .contains("disabled: true"));
}

on_every_datastore!(dry_run);

fn idempotent_apply(ds: &Ds) {
    let set = ds.file("set.yaml", SET);
    let policy = ds.file(
        "policy.yaml",
        &POLICY_IN_MISSING_TIER.replace("nowhere", "default"),
    );
    let pool = ds.file("pool.yaml", POOL);
    ds.ok(&["apply", "-f", &set]);
    ds.ok(&["apply", "-f", &policy]);
    ds.ok(&["apply", "-f", &pool]);
    let versions = || {
        [
            ds.resource_version("globalnetworkset", "office"),
            ds.resource_version("globalnetworkpolicy", "default.deny"),
            ds.resource_version("ippool", "pool-a"),
        ]
    };
    let before = versions();
    // The same again: calicoctl's output, nothing rewritten.
    assert_eq!(
        ds.ok(&["apply", "-f", &set]),
        "Successfully applied 1 'GlobalNetworkSet' resource(s)\n"
    );
    ds.ok(&["apply", "-f", &policy]);
    ds.ok(&["apply", "-f", &pool]);
    ds.ok(&["replace", "-f", &set]);
    assert_eq!(before, versions());
    // A change of a label, an annotation or the spec is written.
    for (i, changed) in [
        SET.replace("team: net", "team: ops"),
        SET.replace("  labels:", "  annotations:\n    note: x\n  labels:"),
        SET.replace("10.1.0.0/16", "10.3.0.0/16"),
    ]
    .iter()
    .enumerate()
    {
        let file = ds.file(&format!("changed-{i}.yaml"), changed);
        let revision = ds.resource_version("globalnetworkset", "office");
        ds.ok(&["apply", "-f", &file]);
        assert_ne!(ds.resource_version("globalnetworkset", "office"), revision);
    }
}

on_every_datastore!(idempotent_apply);

fn diff(ds: &Ds) {
    let set = ds.file("set.yaml", SET);
    // Not stored: everything is new.
    let run = ds.run(&["diff", "-f", &set]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run
        .stdout
        .starts_with("--- live/projectcalico.org.v3.GlobalNetworkSet..office\n+++ merged/projectcalico.org.v3.GlobalNetworkSet..office\n@@ -0,0 +1,9 @@\n+apiVersion: projectcalico.org/v3\n"));
    // What apply would store, defaults included.
    let pool = ds.file("pool.yaml", POOL);
    let run = ds.run(&["diff", "-f", &pool]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("+  blockSize: 26\n"), "{}", run.stdout);
    assert!(!ds.exists("ippool", "pool-a"));

    ds.ok(&["apply", "-f", &set]);
    assert_eq!(ds.ok(&["diff", "-f", &set]), "");
    let changed = ds.file("changed.yaml", &SET.replace("10.1.0.0/16", "10.2.0.0/16"));
    let run = ds.run(&["diff", "-f", &changed]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout,
        "--- live/projectcalico.org.v3.GlobalNetworkSet..office
+++ merged/projectcalico.org.v3.GlobalNetworkSet..office
@@ -6,4 +6,4 @@
   name: office
 spec:
   nets:
-  - 10.1.0.0/16
+  - 10.2.0.0/16
"
    );
    // An external program on two directories, as kubectl's KUBECTL_EXTERNAL_DIFF.
    let run = ds.run_with(
        &["diff", "-f", &changed],
        &[("CALICOCTL_EXTERNAL_DIFF", "diff -r -u")],
    );
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("/LIVE-"), "{}", run.stdout);
    assert!(run.stdout.contains("-  - 10.1.0.0/16\n+  - 10.2.0.0/16\n"));
    let run = ds.run_with(
        &["diff", "-f", &set],
        &[("CALICOCTL_EXTERNAL_DIFF", "diff -r -u")],
    );
    assert_eq!((run.code, run.stdout.as_str()), (0, ""));
    // Errors exit with 2: an invalid resource, a failing program.
    let invalid = ds.file("invalid.yaml", &SET.replace("10.1.0.0/16", "not-a-cidr"));
    let run = ds.run(&["diff", "-f", &invalid]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run
        .stderr
        .starts_with("failed to diff GlobalNetworkSet(office): "));
    let failing = ds.file("failing-diff.sh", "exit 3\n");
    let program = format!("sh {failing}");
    let run = ds.run_with(
        &["diff", "-f", &changed],
        &[("CALICOCTL_EXTERNAL_DIFF", program.as_str())],
    );
    assert_eq!(run.code, 2);
    // Nothing was written.
    assert!(ds
        .ok(&["get", "globalnetworkset", "office", "-o", "yaml"])
        .contains("10.1.0.0/16"));
}

on_every_datastore!(diff);

fn network_set(namespace: &str, name: &str, team: &str) -> String {
    format!(
        "---\napiVersion: projectcalico.org/v3\nkind: NetworkSet\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  labels:\n    team: {team}\nspec:\n  nets:\n  - 10.9.0.0/24\n"
    )
}

const WEB_IN_PROD: [&str; 6] = [
    "delete",
    "networkset",
    "--selector",
    "team == 'web'",
    "-n",
    "prod",
];

fn delete_listing(ds: &Ds) {
    let sets = [
        network_set("prod", "a", "web"),
        network_set("prod", "b", "db"),
        network_set("prod", "c", "web"),
        network_set("dev", "d", "web"),
    ]
    .concat();
    let file = ds.file("sets.yaml", &sets);
    ds.ok(&["apply", "-f", &file]);
    let names = |args: &[&str]| -> Vec<String> {
        ds.ok(args)
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().nth(1).map(String::from))
            .collect()
    };
    // A dry run lists what would go.
    assert_eq!(
        ds.ok(&[
            "delete",
            "networkset",
            "--selector",
            "team == 'web'",
            "-n",
            "prod",
            "--dry-run"
        ]),
        "networkset.projectcalico.org \"a\" deleted from prod namespace (dry run)\n\
         networkset.projectcalico.org \"c\" deleted from prod namespace (dry run)\n\
         Successfully deleted 2 'NetworkSet' resource(s) (dry run)\n"
    );
    assert_eq!(names(&["get", "networksets", "-A"]).len(), 4);
    assert_eq!(
        ds.ok(&WEB_IN_PROD),
        "networkset.projectcalico.org \"a\" deleted from prod namespace\n\
         networkset.projectcalico.org \"c\" deleted from prod namespace\n\
         Successfully deleted 2 'NetworkSet' resource(s)\n"
    );
    assert_eq!(names(&["get", "networksets", "-A"]).len(), 2);
    assert_eq!(ds.ok(&WEB_IN_PROD), "No resources found\n");
    // --all across namespaces.
    assert_eq!(
        ds.ok(&["delete", "networkset", "--all", "--all-namespaces"]),
        "networkset.projectcalico.org \"d\" deleted from dev namespace\n\
         networkset.projectcalico.org \"b\" deleted from prod namespace\n\
         Successfully deleted 2 'NetworkSet' resource(s)\n"
    );
    assert!(names(&["get", "networksets", "-A"]).is_empty());
    // Cluster-wide kinds; mistakes.
    let set = ds.file("set.yaml", SET);
    ds.ok(&["apply", "-f", &set]);
    assert_eq!(
        ds.ok(&["delete", "globalnetworksets", "--all"]),
        "globalnetworkset.projectcalico.org \"office\" deleted\n\
         Successfully deleted 1 'GlobalNetworkSet' resource(s)\n"
    );
    ds.fails(&["delete", "globalnetworkset", "x", "--all"]);
    ds.fails(&["delete", "globalnetworkset", "--all", "--all-namespaces"]);
    ds.fails(&["delete", "networkset", "--selector", "team ==="]);
}

on_every_datastore!(delete_listing);

/// A shell-script editor in the test directory; `EDITOR` runs it.
fn editor(ds: &Ds, name: &str, script: &str) -> String {
    format!("sh {}", ds.file(name, script))
}

fn edit(ds: &Ds) {
    let set = ds.file("set.yaml", SET);
    ds.ok(&["apply", "-f", &set]);
    let edit_with = |script: &str| {
        ds.run_with(
            &["edit", "globalnetworkset", "office"],
            &[("EDITOR", script)],
        )
    };
    // An edit is written.
    let revision = ds.resource_version("globalnetworkset", "office");
    let run = edit_with(&editor(
        ds,
        "ed1.sh",
        "sed -i 's|10.1.0.0/16|10.4.0.0/16|' \"$1\"\n",
    ));
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "globalnetworkset.projectcalico.org/office edited\n", "")
    );
    assert_ne!(ds.resource_version("globalnetworkset", "office"), revision);
    assert!(ds
        .ok(&["get", "globalnetworkset", "office", "-o", "yaml"])
        .contains("10.4.0.0/16"));
    // Nothing changed, or everything removed: cancelled.
    let run = edit_with("true");
    assert_eq!(run.stdout, "Edit cancelled, no changes made.\n");
    let run = edit_with(&editor(ds, "empty.sh", ": > \"$1\"\n"));
    assert_eq!(run.stdout, "Edit cancelled, no changes made.\n");
    // An invalid edit is reopened with the error as a comment; fixed, it is written.
    let header = ds.dir().join("header.txt");
    let fixing = format!(
        "if grep -q '^# .*not-a-cidr' \"$1\"; then\n  grep '^#' \"$1\" > {}\n  sed -i 's|not-a-cidr|10.5.0.0/16|' \"$1\"\nelse\n  sed -i 's|10.4.0.0/16|not-a-cidr|' \"$1\"\nfi\n",
        header.display()
    );
    let run = edit_with(&editor(ds, "fixing.sh", &fixing));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let header = std::fs::read_to_string(header).unwrap();
    assert!(
        header.starts_with("# Please edit the object below.")
            && header.contains("# error with field Nets[0] = 'not-a-cidr'"),
        "{header}"
    );
    assert!(ds
        .ok(&["get", "globalnetworkset", "office", "-o", "yaml"])
        .contains("10.5.0.0/16"));
    // Saved invalid twice: cancelled, nothing written.
    let run = edit_with(&editor(
        ds,
        "stubborn.sh",
        "sed -i 's|10.5.0.0/16|not-a-cidr|' \"$1\"\n",
    ));
    assert_eq!(run.code, 1);
    assert!(run
        .stderr
        .starts_with("Edit cancelled, no valid changes were saved."));
    // A change made meanwhile: the resourceVersion read guards the write.
    let other = ds.file("other.yaml", &SET.replace("10.1.0.0/16", "10.6.0.0/16"));
    let calicoctl = assert_cmd::cargo::cargo_bin("calicoctl");
    let racing = format!(
        "{} apply -f {other} > /dev/null\nsed -i 's|10.5.0.0/16|10.7.0.0/16|' \"$1\"\n",
        calicoctl.display()
    );
    let run = edit_with(&editor(ds, "racing.sh", &racing));
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stderr.contains("update conflict"), "{}", run.stderr);
    assert!(ds
        .ok(&["get", "globalnetworkset", "office", "-o", "yaml"])
        .contains("10.6.0.0/16"));
}

on_every_datastore!(edit);

/// The README's transcript, step by step (`diff` exits 1 where it shows differences).
#[test]
fn readme_transcript() {
    let ds = Ds::embedded();
    let steps = common::tour::readme_steps("habits");
    assert!(steps.len() >= 6);
    for step in steps {
        let output = ds
            .calicoctl()
            .current_dir(repo_root())
            .args(&step.args)
            .output()
            .unwrap();
        let differs = step.args[0] == "diff" && !step.expected.is_empty();
        assert_eq!(
            output.status.code(),
            Some(i32::from(differs)),
            "calicoctl {:?}: {}",
            step.args,
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            step.expected,
            "calicoctl {:?}",
            step.args
        );
    }
}
