//! `calicoctl datastore migrate-policy-names` on etcd, against what Calico's calicoctl printed
//! and stored for the same seed (`goldens/oracle-policy-names`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Etcd;

const GOLDENS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/goldens/oracle-policy-names"
);

fn golden(name: &str) -> String {
    std::fs::read_to_string(format!("{GOLDENS}/{name}")).unwrap()
}

#[test]
fn legacy_default_tier_names_move_to_their_v3_names_as_calicos_do() {
    let etcd = Etcd::new();
    let seed = golden("seed.txt");
    let lines: Vec<&str> = seed.lines().collect();
    for pair in lines.chunks(2) {
        etcd.server.etcdctl(&["put", pair[0], pair[1]]);
    }
    for run in ["first-run.stdout", "second-run.stdout"] {
        let out = etcd
            .calicoctl()
            .args([
                "datastore",
                "migrate-policy-names",
                "--allow-version-mismatch",
            ])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stderr), "");
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout), golden(run), "{run}");
    }
    assert_eq!(
        etcd.server
            .etcdctl(&["get", "--prefix", "/calico/resources"]),
        golden("stored-after.txt")
    );
}
