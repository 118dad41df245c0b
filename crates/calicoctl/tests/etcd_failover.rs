//! calicoctl on a 3-member etcd cluster with one member dead (at each position of
//! `ETCD_ENDPOINTS`), restarted, or stopped with SIGSTOP: every command succeeds while the
//! cluster has quorum, and everything applied is stored exactly once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Output;
use std::time::Duration;

use calico_test_support::EtcdCluster;

const COUNT: usize = 2000;

fn sets(prefix: &str, count: usize) -> String {
    (0..count)
        .map(|i| {
            format!(
                "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: {prefix}-{i}\nspec:\n  nets: [192.0.2.0/24]\n"
            )
        })
        .collect()
}

/// Runs calicoctl on the cluster; a hang becomes a failure (a safety net, not a speed check).
fn calicoctl(home: &std::path::Path, endpoints: &str, args: &[&str]) -> Output {
    let mut command = common::bare(home);
    command
        .env("DATASTORE_TYPE", "etcdv3")
        .env("ETCD_ENDPOINTS", endpoints)
        .env("ETCD_REQUEST_TIMEOUT", "20s")
        .timeout(Duration::from_secs(600))
        .args(args);
    command.output().expect("calicoctl runs")
}

fn ok(home: &std::path::Path, endpoints: &str, args: &[&str]) -> String {
    let out = calicoctl(home, endpoints, args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "calicoctl {args:?} failed ({}):\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Each set's key is at version `version`: written exactly that many times.
fn assert_stored(cluster: &EtcdCluster, prefix: &str, version: u64) {
    let key = format!("/calico/resources/v3/projectcalico.org/globalnetworksets/{prefix}-");
    let out = cluster.etcdctl(&["get", "--prefix", &key, "-w", "json"]);
    assert_eq!(
        out.matches("\"version\":").count(),
        COUNT,
        "sets named {prefix}-*"
    );
    assert_eq!(
        out.matches(&format!("\"version\":{version},")).count(),
        COUNT,
        "sets named {prefix}-* written {version} times"
    );
}

#[test]
fn apply_and_get_with_a_dead_member_at_each_position() {
    let home = tempfile::tempdir().unwrap();
    let mut cluster = EtcdCluster::start(3);
    let endpoints = cluster.endpoints().join(",");
    for dead in 0..3 {
        cluster.kill(dead);
        let prefix = format!("dead{dead}");
        let file = home.path().join(format!("{prefix}.yaml"));
        std::fs::write(&file, sets(&prefix, COUNT)).unwrap();
        let file = file.to_string_lossy().into_owned();
        assert_eq!(
            ok(home.path(), &endpoints, &["apply", "-f", &file]),
            format!("Successfully applied {COUNT} 'GlobalNetworkSet' resource(s)\n")
        );
        // Applying the same again writes nothing (an unchanged resource is not rewritten);
        // applying a change updates each set once more.
        ok(home.path(), &endpoints, &["apply", "-f", &file]);
        assert_stored(&cluster, &prefix, 1);
        let changed = sets(&prefix, COUNT).replace("192.0.2.0/24", "198.51.100.0/24");
        std::fs::write(&file, changed).unwrap();
        ok(home.path(), &endpoints, &["apply", "-f", &file]);
        assert_stored(&cluster, &prefix, 2);
        for i in 0..5 {
            let name = format!("{prefix}-{i}");
            let got = ok(home.path(), &endpoints, &["get", "globalnetworkset", &name]);
            assert!(got.contains(&name), "{got}");
        }
        let listed = ok(home.path(), &endpoints, &["get", "globalnetworksets"]);
        assert_eq!(listed.matches(&format!("{prefix}-")).count(), COUNT);
        cluster.restart(dead);
    }
}

#[test]
fn apply_with_a_member_stopped_midway() {
    let home = tempfile::tempdir().unwrap();
    let mut cluster = EtcdCluster::start(3);
    let endpoints = cluster.endpoints().join(",");
    let file = home.path().join("stopped.yaml");
    std::fs::write(&file, sets("stopped", COUNT)).unwrap();
    let file = file.to_string_lossy().into_owned();
    let apply = {
        let home = home.path().to_path_buf();
        let endpoints = endpoints.clone();
        std::thread::spawn(move || calicoctl(&home, &endpoints, &["apply", "-f", &file]))
    };
    std::thread::sleep(Duration::from_millis(700));
    cluster.pause(0);
    let out = apply.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // SIGCONT before any assertion, so the member can be cleaned up whatever happens.
    cluster.resume(0);
    assert!(out.status.success(), "apply failed: {stderr}");
    assert_stored(&cluster, "stopped", 1);
}

/// A delete whose answer is lost to the leader's death is resolved (retried at the revision it
/// read, or found applied), not reported failed: every resource is deleted and the command
/// says so. Once with the leader killed midway, once with the preferred member stopped.
#[test]
fn delete_with_the_leader_killed_or_a_member_stopped_midway() {
    let home = tempfile::tempdir().unwrap();
    let mut cluster = EtcdCluster::start(3);
    let endpoints = cluster.endpoints().join(",");
    for fault in ["kill", "pause"] {
        let prefix = format!("del{fault}");
        let file = home.path().join(format!("{prefix}.yaml"));
        std::fs::write(&file, sets(&prefix, COUNT)).unwrap();
        let file = file.to_string_lossy().into_owned();
        ok(home.path(), &endpoints, &["apply", "-f", &file]);
        let delete = {
            let home = home.path().to_path_buf();
            let endpoints = endpoints.clone();
            std::thread::spawn(move || calicoctl(&home, &endpoints, &["delete", "-f", &file]))
        };
        std::thread::sleep(Duration::from_millis(700));
        let victim = match fault {
            "kill" => {
                let leader = cluster.leader().expect("a leader");
                cluster.kill(leader);
                leader
            }
            _ => {
                cluster.pause(0);
                0
            }
        };
        let out = delete.join().unwrap();
        match fault {
            "kill" => cluster.restart(victim),
            _ => cluster.resume(victim),
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "delete with a member {fault}ed failed:\nstdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            stdout,
            format!("Successfully deleted {COUNT} 'GlobalNetworkSet' resource(s)\n")
        );
        let key = format!("/calico/resources/v3/projectcalico.org/globalnetworksets/{prefix}-");
        let left = cluster.etcdctl(&["get", "--prefix", &key, "--keys-only"]);
        assert_eq!(
            left.trim(),
            "",
            "sets left after the delete with a member {fault}ed"
        );
    }
}
