//! The real kubectl applies the checked-in CRDs to the kube-emulator, which then serves the
//! Calico kinds under their names and short names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use kube_emulator::{Config, Emulator};

fn kubectl(kubeconfig: &Path, cache: &Path, args: &[&str]) -> String {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .output()
        .expect("kubectl is installed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "kubectl {args:?} failed: {stderr}");
    assert_eq!(stderr, "", "kubectl {args:?} wrote to stderr");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn kubectl_applies_the_crds() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let emulator = runtime
        .block_on(Emulator::start(Config::default()))
        .unwrap();
    let cache = tempfile_dir();
    let kc = emulator.kubeconfig_path().to_path_buf();
    let run = |args: &[&str]| kubectl(&kc, &cache, args);
    let root = common::repo_root();
    let file = |name: &str| {
        root.join("manifests")
            .join(name)
            .to_string_lossy()
            .into_owned()
    };

    let out = run(&["apply", "-f", &file("crds.yaml")]);
    assert!(
        out.contains(
            "customresourcedefinition.apiextensions.k8s.io/ippools.crd.projectcalico.org created"
        ),
        "{out}"
    );
    let out = run(&["apply", "-f", &file("v3-crds.yaml")]);
    assert!(
        out.contains(
            "customresourcedefinition.apiextensions.k8s.io/ippools.projectcalico.org created"
        ),
        "{out}"
    );
    let crds = run(&["get", "crds", "-o", "name"]);
    assert_eq!(
        crds.lines().count(),
        2 * calico_crds::CRD_KINDS.len(),
        "{crds}"
    );
    // Re-applying unchanged manifests is a no-op, as `kubectl apply` of a release must be.
    let out = run(&["apply", "-f", &file("v3-crds.yaml")]);
    assert!(out.lines().all(|l| l.ends_with(" unchanged")), "{out}");

    // A v3 resource through its short name and printer columns.
    let policy = cache.join("gnp.yaml");
    std::fs::write(
        &policy,
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: default.allow-dns\nspec:\n  tier: default\n  order: 10\n  selector: all()\n  types: [Egress]\n  egress:\n  - action: Allow\n    protocol: UDP\n    destination:\n      ports: [53]\n",
    )
    .unwrap();
    run(&["apply", "-f", &policy.to_string_lossy()]);
    let out = run(&["get", "gnp"]);
    let header: Vec<&str> = out
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(header, ["NAME", "TIER", "ORDER", "AGE"], "{out}");
    assert!(out.contains("default.allow-dns"), "{out}");
    let out = run(&[
        "api-resources",
        "--api-group=crd.projectcalico.org",
        "-o",
        "name",
    ]);
    assert!(
        out.lines()
            .any(|l| l == "ipamconfigs.crd.projectcalico.org"),
        "{out}"
    );
    let out = run(&[
        "api-resources",
        "--api-group=projectcalico.org",
        "-o",
        "name",
    ]);
    assert!(
        out.lines()
            .any(|l| l == "ipamconfigurations.projectcalico.org"),
        "{out}"
    );

    runtime.block_on(emulator.shutdown());
    let _ = std::fs::remove_dir_all(&cache);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("calico-crds-kubectl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
