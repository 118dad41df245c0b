//! `calicoctl get --watch` and `calicoctl datastore sync`, run as processes alongside the
//! calicoctl processes that change the datastore (the embedded store, a real etcd), and
//! interrupted with SIGINT as Ctrl-C does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{bare_process, Etcd, Kube, Store};

const WAIT: Duration = Duration::from_secs(30);

const POOL_1: &str = "\
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-1
spec:
  cidr: 10.1.0.0/16
";

const POOL_2: &str = "\
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-2
spec:
  cidr: 10.2.0.0/16
";

/// A calicoctl running in the background, its stdout read line by line.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(mut command: std::process::Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start calicoctl");
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one equals `line` (after trimming trailing blanks); returns how long
    /// that took.
    fn expect_line(&mut self, line: &str) -> Duration {
        let started = Instant::now();
        loop {
            let left = WAIT.saturating_sub(started.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(next) => {
                    let done = next.trim_end() == line;
                    self.seen.push(next);
                    if done {
                        return started.elapsed();
                    }
                }
                Err(_) => panic!("no line {line:?}; saw {:#?}", self.seen),
            }
        }
    }

    /// Interrupts it as Ctrl-C does; returns its exit code and stderr.
    fn interrupt(self) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        let killed = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let output = self.child.wait_with_output().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

fn store_process(store: &Store, args: &[&str]) -> std::process::Command {
    let mut command = bare_process(store.dir.path());
    command
        .env("DATASTORE_TYPE", "embedded")
        .env("DATASTORE_PATH", store.path())
        .args(args);
    command
}

/// The table, then one row per change (a deleted pool is first disabled, as Calico's client
/// does, then deleted); another process's write shows within a fraction of a second.
#[test]
fn get_watch_prints_the_table_then_a_row_per_change_on_the_embedded_store() {
    let store = Store::new();
    let pool_1 = store.file("pool-1.yaml", POOL_1);
    let pool_2 = store.file("pool-2.yaml", POOL_2);
    store.ok(&["create", "-f", pool_1.to_str().unwrap()]);
    let mut watch = Running::start(store_process(&store, &["get", "ippools", "-w"]));
    watch.expect_line("NAME     CIDR          SELECTOR");
    watch.expect_line("pool-1   10.1.0.0/16   all()");

    store.ok(&["create", "-f", pool_2.to_str().unwrap()]);
    let latency = watch.expect_line("pool-2   10.2.0.0/16   all()");
    eprintln!("a write by another process reached the watch in {latency:?}");
    store.ok(&["delete", "ippool", "pool-1"]);
    watch.expect_line("pool-1   10.1.0.0/16   all()");
    watch.expect_line("pool-1   10.1.0.0/16   all()");

    let seen: Vec<String> = watch
        .seen
        .iter()
        .map(|l| l.trim_end().to_string())
        .collect();
    assert_eq!(
        seen,
        [
            "NAME     CIDR          SELECTOR",
            "pool-1   10.1.0.0/16   all()",
            "",
            "pool-2   10.2.0.0/16   all()",
            "pool-1   10.1.0.0/16   all()",
            "pool-1   10.1.0.0/16   all()",
        ]
    );
    let (code, stderr) = watch.interrupt();
    assert_eq!(code, Some(0), "Ctrl-C ends a watch with exit 0: {stderr}");
    assert_eq!(stderr, "");
}

impl Running {
    /// Reads one JSON document (Go's indented JSON: it ends with a `}` alone on a line).
    fn next_json(&mut self) -> serde_json::Value {
        let started = Instant::now();
        let mut text = String::new();
        loop {
            let left = WAIT.saturating_sub(started.elapsed());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no complete document; have {text:?}"));
            text.push_str(&line);
            text.push('\n');
            if line == "}" {
                return serde_json::from_str(&text).unwrap();
            }
        }
    }
}

const SETS: &str = "\
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata:
  name: set-a
  namespace: prod
  labels:
    role: x
spec:
  nets:
  - 192.0.2.0/28
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata:
  name: set-other
  namespace: dev
  labels:
    role: x
spec:
  nets:
  - 192.0.2.16/28
";

/// `-n`, `--selector`, `-o json --output-watch-events`: kubectl's event documents; a resource
/// that stops matching the selector is reported deleted.
#[test]
fn get_watch_with_a_selector_in_one_namespace_prints_watch_events() {
    let store = Store::new();
    let sets = store.file("sets.yaml", SETS);
    store.ok(&["create", "-f", sets.to_str().unwrap()]);
    let mut watch = Running::start(store_process(
        &store,
        &[
            "get",
            "networksets",
            "-n",
            "prod",
            "--selector",
            "role == 'x'",
            "-o",
            "json",
            "--output-watch-events",
            "--watch",
        ],
    ));
    let first = watch.next_json();
    assert_eq!(first["type"], "ADDED");
    assert_eq!(first["object"]["metadata"]["name"], "set-a");
    assert_eq!(first["object"]["kind"], "NetworkSet");

    let set_b = store.file(
        "set-b.yaml",
        &SETS.split("---").next().unwrap().replace("set-a", "set-b"),
    );
    store.ok(&["create", "-f", set_b.to_str().unwrap()]);
    let added = watch.next_json();
    assert_eq!(added["type"], "ADDED");
    assert_eq!(added["object"]["metadata"]["name"], "set-b");

    store.ok(&[
        "label",
        "networkset",
        "set-a",
        "role=y",
        "--overwrite",
        "-n",
        "prod",
    ]);
    let gone = watch.next_json();
    assert_eq!(gone["type"], "DELETED", "{gone}");
    assert_eq!(gone["object"]["metadata"]["name"], "set-a");

    let (code, stderr) = watch.interrupt();
    assert_eq!(code, Some(0), "{stderr}");
}

const NODE_STATUS: &str = "\
apiVersion: projectcalico.org/v3
kind: CalicoNodeStatus
metadata:
  name: node-1-status
spec:
  node: node-1
  classes:
  - Agent
  updatePeriodSeconds: 10
";

/// One resource by name as YAML documents on etcd, and `datastore sync`'s JSON lines.
#[test]
fn get_watch_by_name_as_yaml_and_datastore_sync_on_etcd() {
    let etcd = Etcd::new();
    let pool_1 = etcd.file("pool-1.yaml", POOL_1);
    let status = etcd.file("status.yaml", NODE_STATUS);
    etcd.calicoctl()
        .args(["create", "-f", pool_1.to_str().unwrap()])
        .assert()
        .success();
    let process = |args: &[&str]| {
        let mut command = bare_process(etcd.home.path());
        command
            .env("DATASTORE_TYPE", "etcdv3")
            .env("ETCD_ENDPOINTS", etcd.server.endpoint())
            .args(args);
        command
    };

    let mut watch = Running::start(process(&["get", "ippool", "pool-1", "-o", "yaml", "-w"]));
    watch.expect_line("kind: IPPool");
    watch.expect_line("  name: pool-1");
    let changed = POOL_1.replace(
        "  cidr: 10.1.0.0/16",
        "  cidr: 10.1.0.0/16\n  nodeSelector: zone == 'a'",
    );
    let changed = etcd.file("pool-1b.yaml", &changed);
    etcd.calicoctl()
        .args(["apply", "-f", changed.to_str().unwrap()])
        .assert()
        .success();
    watch.expect_line("---");
    watch.expect_line("  nodeSelector: zone == 'a'");
    let (code, stderr) = watch.interrupt();
    assert_eq!(code, Some(0), "{stderr}");

    let mut sync = Running::start(process(&["datastore", "sync", "--syncer", "node-status"]));
    sync.expect_line(r#"{"status":"wait-for-ready"}"#);
    sync.expect_line(r#"{"status":"resync"}"#);
    sync.expect_line(r#"{"status":"in-sync"}"#);
    etcd.calicoctl()
        .args(["create", "-f", status.to_str().unwrap()])
        .assert()
        .success();
    let started = Instant::now();
    let line = loop {
        let line = sync.lines.recv_timeout(WAIT).expect("an update line");
        if line.contains("caliconodestatuses") || started.elapsed() > WAIT {
            break line;
        }
    };
    let update: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(update["type"], "new");
    assert_eq!(
        update["key"],
        "/calico/resources/v3/projectcalico.org/caliconodestatuses/node-1-status"
    );
    assert_eq!(update["value"]["spec"]["node"], "node-1");
    let (code, stderr) = sync.interrupt();
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn get_watch_of_a_missing_resource_and_an_unknown_syncer_fail() {
    let store = Store::new();
    let stderr = store.fails(&["get", "ippool", "nope", "-w"]);
    assert_eq!(
        stderr,
        "resource does not exist: IPPool(nope) with error: <nil>\n"
    );
    let stderr = store.fails(&["datastore", "sync", "--syncer", "nope"]);
    assert!(stderr.contains("unknown syncer \"nope\""), "{stderr}");
}

/// On the Kubernetes datastore (the kube-emulator with Calico's CRDs), as on the others.
#[test]
fn get_watch_on_the_kubernetes_datastore() {
    let kube = Kube::new();
    let crds = common::tour::repo_root().join("manifests/crds.yaml");
    kube.kubectl(&["apply", "-f", crds.to_str().unwrap()]);
    let pool_1 = kube.home.path().join("pool-1.yaml");
    std::fs::write(&pool_1, POOL_1).unwrap();
    let pool_2 = kube.home.path().join("pool-2.yaml");
    std::fs::write(&pool_2, POOL_2).unwrap();
    kube.calicoctl()
        .args(["create", "-f", pool_1.to_str().unwrap()])
        .assert()
        .success();
    let mut command = bare_process(kube.home.path());
    command
        .env("DATASTORE_TYPE", "kubernetes")
        .env("KUBECONFIG", kube.kubeconfig())
        .args(["get", "ippools", "-o", "wide", "--watch"]);
    let mut watch = Running::start(command);
    watch.expect_line(
        "NAME     CIDR          NAT     IPIPMODE   VXLANMODE   DISABLED   DISABLEBGPEXPORT   SELECTOR   ASSIGNMENTMODE",
    );
    kube.calicoctl()
        .args(["create", "-f", pool_2.to_str().unwrap()])
        .assert()
        .success();
    watch.expect_line(
        "pool-2   10.2.0.0/16   false   Never      Never       false      false              all()      Automatic",
    );
    let (code, stderr) = watch.interrupt();
    assert_eq!(code, Some(0), "{stderr}");
}

/// The network to etcd cut while another client changes it: the watch keeps running and
/// shows the change once the network is back.
#[test]
fn get_watch_rides_out_a_network_outage_to_etcd() {
    let etcd = Etcd::new();
    let pool_1 = etcd.file("pool-1.yaml", POOL_1);
    let pool_2 = etcd.file("pool-2.yaml", POOL_2);
    etcd.calicoctl()
        .args(["create", "-f", pool_1.to_str().unwrap()])
        .assert()
        .success();
    let target = etcd
        .server
        .endpoint()
        .trim_start_matches("http://")
        .to_string();
    let proxy = calico_test_support::TcpProxy::start(&target);
    let mut command = bare_process(etcd.home.path());
    command
        .env("DATASTORE_TYPE", "etcdv3")
        .env("ETCD_ENDPOINTS", proxy.http_url())
        .args(["get", "ippools", "-w"]);
    let mut watch = Running::start(command);
    watch.expect_line("pool-1   10.1.0.0/16   all()");

    proxy.cut();
    etcd.calicoctl()
        .args(["create", "-f", pool_2.to_str().unwrap()])
        .assert()
        .success();
    std::thread::sleep(Duration::from_secs(2));
    proxy.restore();
    watch.expect_line("pool-2   10.2.0.0/16   all()");
    let (code, stderr) = watch.interrupt();
    assert_eq!(code, Some(0), "{stderr}");
}
