//! The checked-in manifests are exactly what the generator writes now.
//!
//! After changing the calico-api types, regenerate with
//! `UPDATE_MANIFESTS=1 cargo test -p calico-crds --test drift`, or one file at a time with
//! `cargo run -p calicoctl -- manifests crds > manifests/crds.yaml` (likewise `v3-crds`,
//! `rbac-kdd`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use calico_crds::Manifest;

#[test]
fn checked_in_manifests_match_the_types() {
    let update = std::env::var_os("UPDATE_MANIFESTS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for manifest in Manifest::ALL {
        let generated = manifest.render().unwrap();
        let path = common::repo_root().join(manifest.path());
        if update {
            std::fs::write(&path, &generated).unwrap();
            continue;
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        if checked_in != generated {
            stale.push(format!(
                "{} is stale: run `cargo run -p calicoctl -- manifests {} > {}`",
                manifest.path(),
                manifest.name(),
                manifest.path()
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "{}\n(or regenerate all with UPDATE_MANIFESTS=1 cargo test -p calico-crds --test drift)",
        stale.join("\n")
    );
}

#[test]
fn generation_is_deterministic() {
    for manifest in Manifest::ALL {
        assert_eq!(manifest.render().unwrap(), manifest.render().unwrap());
    }
}
