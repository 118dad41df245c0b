//! Shared set-up for the CLI tests: a calicoctl process on a private embedded datastore.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use assert_cmd::assert::Assert;
use assert_cmd::Command;
use std::path::{Path, PathBuf};

pub mod oracle_migrate;
pub mod tour;

/// A throw-away embedded datastore (and home directory) for one test.
pub struct Store {
    pub dir: tempfile::TempDir,
}

impl Store {
    pub fn new() -> Self {
        Store {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("datastore.db")
    }

    /// calicoctl told explicitly to use this store (so it prints no notice).
    pub fn calicoctl(&self) -> Command {
        let mut cmd = bare(self.dir.path());
        cmd.env("DATASTORE_TYPE", "embedded")
            .env("DATASTORE_PATH", self.path());
        cmd
    }

    /// Writes a file into the test directory and returns its path.
    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write test file");
        path
    }

    /// Runs calicoctl with `args` on this store, for assertions on the outcome.
    pub fn run(&self, args: &[&str]) -> Assert {
        self.calicoctl().args(args).assert()
    }

    /// Runs a command that must succeed without writing to stderr; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self
            .calicoctl()
            .args(args)
            .output()
            .expect("calicoctl runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success() && stderr.is_empty(),
            "calicoctl {args:?} failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
            out.status
        );
        stdout
    }

    /// Runs a command that must exit with code 1; returns its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args).code(1);
        String::from_utf8_lossy(&out.get_output().stderr).into_owned()
    }
}

/// calicoctl with an environment that points at no cluster.
pub fn bare(home: &Path) -> Command {
    Command::from(bare_process(home))
}

/// [`bare`] as a `std::process::Command`, for a calicoctl that runs alongside the test (e.g.
/// `get --watch`).
pub fn bare_process(home: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("calicoctl"));
    for var in [
        "DATASTORE_TYPE",
        "CALICO_DATASTORE_TYPE",
        "DATASTORE_PATH",
        "CALICO_DATASTORE_PATH",
        "ETCD_ENDPOINTS",
        "CALICO_ETCD_ENDPOINTS",
        "ETCD_DISCOVERY_SRV",
        "ETCD_USERNAME",
        "ETCD_PASSWORD",
        "ETCD_KEY_FILE",
        "ETCD_CERT_FILE",
        "ETCD_CA_CERT_FILE",
        "KUBECONFIG",
        "CALICO_KUBECONFIG",
        "K8S_API_ENDPOINT",
        "KUBERNETES_SERVICE_HOST",
        "XDG_DATA_HOME",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("HOME", home);
    cmd
}

/// A throw-away etcd (and home directory) for one test.
pub struct Etcd {
    pub server: calico_test_support::EtcdServer,
    pub home: tempfile::TempDir,
}

impl Etcd {
    pub fn new() -> Self {
        Etcd {
            server: calico_test_support::EtcdServer::start(),
            home: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// calicoctl pointed at this etcd through the environment.
    pub fn calicoctl(&self) -> Command {
        let mut cmd = bare(self.home.path());
        cmd.env("DATASTORE_TYPE", "etcdv3")
            .env("ETCD_ENDPOINTS", self.server.endpoint());
        cmd
    }

    /// Writes a file into the home directory and returns its path.
    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.home.path().join(name);
        std::fs::write(&path, contents).expect("write test file");
        path
    }
}

/// A throw-away Kubernetes API for one test (the in-process kube-emulator, or a real
/// kube-apiserver), with the kubeconfig calicoctl and kubectl both use.
pub struct Kube {
    runtime: tokio::runtime::Runtime,
    emulator: Option<kube_emulator::RunningEmulator>,
    real: Option<calico_test_support::kube_apiserver::KubeApiServer>,
    pub home: tempfile::TempDir,
}

impl Kube {
    pub fn new() -> Self {
        Self::forbidding(&[])
    }

    /// An API server that refuses the given `VERB:RESOURCE` requests as RBAC would.
    pub fn forbidding(rules: &[&str]) -> Self {
        Self::start(rules, None)
    }

    /// An API server that wants a bearer token (its kubeconfig carries it).
    pub fn with_token(token: &str) -> Self {
        Self::start(&[], Some(token))
    }

    fn start(rules: &[&str], token: Option<&str>) -> Self {
        let home = tempfile::tempdir().expect("temp dir");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let config = kube_emulator::Config {
            kubeconfig: Some(home.path().join("kubeconfig")),
            forbid: rules.iter().map(|r| r.to_string()).collect(),
            token: token.map(str::to_string),
            record_requests: true,
            ..kube_emulator::Config::default()
        };
        let emulator = runtime
            .block_on(kube_emulator::Emulator::start(config))
            .expect("start the kube-emulator");
        Kube {
            runtime,
            emulator: Some(emulator),
            real: None,
            home,
        }
    }

    /// A real kube-apiserver (built once from `tools/kube-apiserver`), as its admin
    /// (`system:masters`).
    pub fn real() -> Self {
        let home = tempfile::tempdir().expect("temp dir");
        let server = calico_test_support::kube_apiserver::KubeApiServer::start();
        server.write_kubeconfig(
            &home.path().join("kubeconfig"),
            calico_test_support::kube_apiserver::ADMIN_TOKEN,
        );
        server.write_kubeconfig(
            &home.path().join("kubeconfig-calicoctl"),
            calico_test_support::kube_apiserver::CALICOCTL_TOKEN,
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Kube {
            runtime,
            emulator: None,
            real: Some(server),
            home,
        }
    }

    /// Restarts the emulator on the same objects with other `VERB:RESOURCE` refusals (e.g.
    /// none, after a test injected failures); the kubeconfig is rewritten for its new address.
    pub fn restart_forbidding(&mut self, rules: &[&str]) {
        let Some(old) = self.emulator.take() else {
            panic!("only the emulator restarts");
        };
        let store = old.store().clone();
        self.runtime.block_on(old.shutdown());
        let config = kube_emulator::Config {
            kubeconfig: Some(self.home.path().join("kubeconfig")),
            forbid: rules.iter().map(|r| r.to_string()).collect(),
            record_requests: true,
            ..kube_emulator::Config::default()
        };
        let emulator = self
            .runtime
            .block_on(kube_emulator::Emulator::start_with_store(config, store))
            .expect("restart the kube-emulator");
        self.emulator = Some(emulator);
    }

    /// The requests the emulator answered since the last call (`METHOD /path?query`); empty on
    /// a real kube-apiserver.
    pub fn take_requests(&self) -> Vec<String> {
        self.emulator
            .as_ref()
            .map(|emulator| emulator.take_requests())
            .unwrap_or_default()
    }

    /// Whether this is a real kube-apiserver (no kubelet, no controllers).
    pub fn is_real(&self) -> bool {
        self.real.is_some()
    }

    /// The CA of a real kube-apiserver's serving certificate.
    pub fn ca_cert(&self) -> Option<PathBuf> {
        self.real.as_ref().map(|real| real.ca_cert().to_path_buf())
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.home.path().join("kubeconfig")
    }

    pub fn url(&self) -> String {
        match (&self.emulator, &self.real) {
            (Some(emulator), _) => emulator.url().to_string(),
            (None, Some(real)) => real.url(),
            (None, None) => String::new(),
        }
    }

    /// calicoctl pointed at this API server through the environment.
    pub fn calicoctl(&self) -> Command {
        let mut cmd = bare(self.home.path());
        cmd.env("DATASTORE_TYPE", "kubernetes")
            .env("KUBECONFIG", self.kubeconfig());
        cmd
    }

    /// calicoctl as the restricted `calicoctl` identity (real API server only): it may do
    /// only what RBAC grants the user `calicoctl`.
    pub fn calicoctl_restricted(&self) -> Command {
        let mut cmd = self.calicoctl();
        cmd.env("KUBECONFIG", self.home.path().join("kubeconfig-calicoctl"));
        cmd
    }

    /// Runs the real kubectl against this API server and returns its stdout; fails the test
    /// when kubectl fails.
    pub fn kubectl(&self, args: &[&str]) -> String {
        let output = std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .arg("--cache-dir")
            .arg(self.home.path().join("kube-cache"))
            .args(args)
            .output()
            .expect("run kubectl (it is part of these machines; .ci/run checks for it)");
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for Kube {
    fn drop(&mut self) {
        if let Some(emulator) = self.emulator.take() {
            self.runtime.block_on(emulator.shutdown());
        }
    }
}
