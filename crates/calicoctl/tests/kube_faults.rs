//! The Kubernetes datastore under faults: an API server that accepts connections and never
//! answers gives a clear error naming it within the configured deadline, and one restarted in
//! the middle of a create of thousands of resources costs no resource and no false "already
//! exists".

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::tour::repo_root;

/// calicoctl on the Kubernetes datastore described by `kubeconfig`, as a child process.
fn calicoctl(home: &std::path::Path, kubeconfig: &std::path::Path, args: &[&str]) -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("calicoctl"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("DATASTORE_TYPE", "kubernetes")
        .env("KUBECONFIG", kubeconfig)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Waits for `child`, killing it (and failing the test) if it runs past `limit`.
fn finish(mut child: Child, limit: Duration) -> Output {
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "calicoctl still running after {limit:?}; stderr so far: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn kubeconfig(home: &std::path::Path, server: &str) -> std::path::PathBuf {
    let path = home.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user: {{}}\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn an_api_server_that_never_answers_gives_a_clear_error_in_bounded_time() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    // Accept every connection and read what is sent, never answering.
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut sink = [0u8; 4096];
                while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
            });
        }
    });
    let home = tempfile::tempdir().unwrap();
    let server = format!("http://{address}");
    let config = kubeconfig(home.path(), &server);
    let child = calicoctl(home.path(), &config, &["get", "ippools"])
        .env("K8S_REQUEST_TIMEOUT", "2s")
        .spawn()
        .unwrap();
    // Without a deadline this waits for ever; the bound only stops a broken build hanging CI.
    let output = finish(child, Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the Kubernetes API server at {server} did not answer within 2s"
        )),
        "{stderr}"
    );
    assert!(stderr.len() < 400, "{stderr}");
}

#[test]
fn an_api_server_restarted_mid_create_loses_nothing_and_reports_no_false_conflict() {
    const TOTAL: usize = 2000;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let config_path = home.path().join("kubeconfig");
    let config = kube_emulator::Config {
        kubeconfig: Some(config_path.clone()),
        ..kube_emulator::Config::default()
    };
    let first = runtime
        .block_on(kube_emulator::Emulator::start(config.clone()))
        .unwrap();
    let address: SocketAddr = first.url().trim_start_matches("http://").parse().unwrap();
    let store = first.store().clone();

    let crds = repo_root().join("manifests/crds.yaml");
    let status = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&config_path)
        .arg("--cache-dir")
        .arg(home.path().join("kube-cache"))
        .arg("apply")
        .arg("-f")
        .arg(&crds)
        .stdout(Stdio::null())
        .status()
        .expect("run kubectl");
    assert!(status.success());

    let mut manifest = String::new();
    for i in 0..TOTAL {
        manifest.push_str(&format!(
            "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: s-{i:05}\nspec:\n  nets: [192.0.2.0/24]\n"
        ));
    }
    let file = home.path().join("sets.yaml");
    std::fs::write(&file, manifest).unwrap();

    let before = store.current_rv();
    let child = calicoctl(
        home.path(),
        &config_path,
        &["create", "-f", &file.to_string_lossy()],
    )
    .spawn()
    .unwrap();
    // Restart the server once a few hundred resources are in.
    let deadline = Instant::now() + Duration::from_secs(300);
    while store.current_rv() < before + 300 {
        assert!(Instant::now() < deadline, "the create stored nothing");
        std::thread::sleep(Duration::from_millis(5));
    }
    runtime.block_on(first.shutdown());
    let at_restart = store.current_rv() - before;
    eprintln!("{at_restart} writes before the restart");
    std::thread::sleep(Duration::from_millis(500));
    let second = runtime
        .block_on(kube_emulator::Emulator::start_with_store(
            kube_emulator::Config {
                listen: address,
                ..config
            },
            store.clone(),
        ))
        .unwrap();
    assert!(
        (at_restart as usize) < TOTAL,
        "the create finished before the restart; make the input larger"
    );

    let output = finish(child, Duration::from_secs(600));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert_eq!(
        stdout,
        format!("Successfully created {TOTAL} 'GlobalNetworkSet' resource(s)\n")
    );
    let listed = calicoctl(home.path(), &config_path, &["get", "globalnetworksets"])
        .output()
        .unwrap();
    assert!(listed.status.success());
    let names: std::collections::BTreeSet<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter(|line| line.starts_with("s-"))
        .map(|line| line.trim().to_string())
        .collect();
    assert_eq!(names.len(), TOTAL);
    runtime.block_on(second.shutdown());
}
