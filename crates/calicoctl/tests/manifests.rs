//! `calicoctl manifests` prints the generated manifests without any datastore settings.

mod common;

use predicates::prelude::*;

#[test]
fn prints_each_manifest_as_the_checked_in_file() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for name in ["crds", "v3-crds", "rbac-kdd"] {
        let expected =
            std::fs::read_to_string(root.join(format!("manifests/{name}.yaml"))).unwrap();
        common::bare(&std::env::temp_dir())
            .args(["manifests", name])
            .assert()
            .success()
            .stdout(expected)
            .stderr("");
    }
}

#[test]
fn rejects_an_unknown_manifest() {
    common::bare(&std::env::temp_dir())
        .args(["manifests", "operator"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("operator"));
}
