//! A datastore lost in the middle of a large apply: the report is short, its counts are true
//! against what etcd holds, and running the command again completes.
//!
//! The fault is a TCP forwarder in front of a real etcd that is cut mid-apply: every
//! connection drops at once (requests on the wire have an unknown outcome, as when the etcd
//! member is killed) and new connections are refused; etcd itself keeps what it committed, so
//! the test can compare the report with it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// Forwards loopback connections to `target` until cut.
struct Forwarder {
    runtime: tokio::runtime::Runtime,
    accept: tokio::task::JoinHandle<()>,
    connections: std::sync::Arc<std::sync::Mutex<JoinSet<()>>>,
    address: String,
}

impl Forwarder {
    fn start(target: String) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let connections = std::sync::Arc::new(std::sync::Mutex::new(JoinSet::new()));
        let tasks = connections.clone();
        let accept = runtime.spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let mut tasks = tasks.lock().unwrap();
                tasks.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Forwarder {
            runtime,
            accept,
            connections,
            address,
        }
    }

    /// Drops every connection and stops listening.
    fn cut(self) {
        self.accept.abort();
        self.connections.lock().unwrap().abort_all();
        self.runtime.shutdown_timeout(Duration::from_secs(5));
    }
}

const PREFIX: &str = "/calico/resources/v3/projectcalico.org/globalnetworksets/";

fn stored_names(etcd: &common::Etcd) -> BTreeSet<String> {
    etcd.server
        .etcdctl(&["get", "--prefix", "--keys-only", PREFIX])
        .lines()
        .filter_map(|line| line.strip_prefix(PREFIX))
        .map(String::from)
        .collect()
}

fn stored_count(etcd: &common::Etcd) -> usize {
    stored_names(etcd).len()
}

/// A count as the report prints it (`1,116`).
fn count(text: &str) -> usize {
    text.replace(',', "").parse().unwrap()
}

#[test]
fn a_datastore_lost_mid_apply_gives_a_short_true_report_and_a_rerun_completes() {
    const TOTAL: usize = 6000;
    let etcd = common::Etcd::new();
    let mut manifest = String::new();
    let names: Vec<String> = (0..TOTAL).map(|i| format!("s-{i:05}")).collect();
    for name in &names {
        manifest.push_str(&format!(
            "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: {name}\nspec:\n  nets: [192.0.2.0/24]\n"
        ));
    }
    let file = etcd.file("sets.yaml", &manifest);
    let target = etcd
        .server
        .endpoint()
        .trim_start_matches("http://")
        .to_string();
    let forwarder = Forwarder::start(target);

    let mut apply = Command::new(assert_cmd::cargo::cargo_bin("calicoctl"));
    apply
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", etcd.home.path())
        .env("DATASTORE_TYPE", "etcdv3")
        .env("ETCD_ENDPOINTS", format!("http://{}", forwarder.address))
        .arg("apply")
        .arg("-f")
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = apply.spawn().unwrap();

    // Cut the connection once a few hundred resources are in.
    let deadline = Instant::now() + Duration::from_secs(300);
    while stored_count(&etcd) < 300 {
        assert!(Instant::now() < deadline, "the apply stored nothing");
        std::thread::sleep(Duration::from_millis(10));
    }
    forwarder.cut();
    let at_cut = stored_count(&etcd);
    assert!(
        at_cut < TOTAL,
        "the apply finished before the fault; make the input larger"
    );

    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    eprintln!("stdout: {stdout}\nstderr: {stderr}");
    assert_eq!(output.status.code(), Some(1));

    // Short: a line per cause, not per resource.
    assert!(stderr.len() < 2000, "{} bytes of report", stderr.len());
    assert!(stderr.lines().count() <= 6, "{stderr}");

    let summary = regex::Regex::new(
        r"^hit error: ([\d,]+) of ([\d,]+) 'GlobalNetworkSet' resources applied(?:, ([\d,]+) failed)?(?:, ([\d,]+) not known whether applied \(replies lost\))?:\n",
    )
    .unwrap();
    let caps = summary.captures(&stderr).expect("a grouped summary");
    let applied = count(&caps[1]);
    assert_eq!(count(&caps[2]), TOTAL);
    let failed = caps.get(3).map_or(0, |m| count(m.as_str()));
    let unknown = caps.get(4).map_or(0, |m| count(m.as_str()));
    assert_eq!(applied + failed + unknown, TOTAL);
    // Every cause line's count adds up to the failures.
    let line = regex::Regex::new(
        r"(?m)^  ([\d,]+) resources?(, not known whether stored)?: .* \(([^()]*)\)$",
    )
    .unwrap();
    let (mut listed_failed, mut listed_unknown) = (0, 0);
    let mut named_failed = Vec::new();
    for caps in line.captures_iter(&stderr) {
        if caps.get(2).is_some() {
            listed_unknown += count(&caps[1]);
        } else {
            listed_failed += count(&caps[1]);
            let names = caps[3].split(" and ").next().unwrap_or_default();
            named_failed.extend(names.split(", ").map(String::from));
        }
    }
    assert_eq!((listed_failed, listed_unknown), (failed, unknown));

    // True: what etcd holds is every resource reported applied, none reported failed, and
    // perhaps some of those whose outcome is reported unknown.
    let stored = stored_names(&etcd);
    assert!(
        stored.len() >= applied && stored.len() <= applied + unknown,
        "etcd holds {} resources; the report says {applied} applied, {unknown} unknown",
        stored.len()
    );
    for name in &named_failed {
        assert!(
            !stored.contains(name),
            "{name} is reported failed but is stored"
        );
    }
    let first = regex::Regex::new(
        r"^Partial success: applied the first (\d+) out of ([\d,]+) 'GlobalNetworkSet' resources:\n$",
    )
    .unwrap();
    let prefix = match first.captures(&stdout) {
        Some(caps) => caps[1].parse::<usize>().unwrap(),
        None => {
            assert_eq!(stdout, "");
            0
        }
    };
    assert!(prefix > 0, "{stdout}");
    for name in &names[..prefix] {
        assert!(
            stored.contains(name),
            "{name} is within the first {prefix} but not stored"
        );
    }
    assert!(
        !stored.contains(&names[prefix]) || unknown > 0 || applied > prefix,
        "the first {prefix} are not the longest stored run"
    );

    // Running the command again completes.
    etcd.calicoctl()
        .arg("apply")
        .arg("-f")
        .arg(&file)
        .assert()
        .success()
        .stdout(format!(
            "Successfully applied {TOTAL} 'GlobalNetworkSet' resource(s)\n"
        ));
    assert_eq!(stored_count(&etcd), TOTAL);
}
