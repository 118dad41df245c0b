//! A real kube-apiserver for tests: built once from the Go module in `tools/kube-apiserver`
//! (which pins `k8s.io/kubernetes`), started on a free loopback port with its own throw-away
//! etcd, TLS serving, static token authentication, RBAC and service-account keys; stopped, with
//! its etcd, by PID on drop.
//!
//! Two identities are configured: [`ADMIN_TOKEN`] (user `admin`, group `system:masters`) and
//! [`CALICOCTL_TOKEN`] (user `calicoctl`, no groups: it can do only what RBAC grants it).
//!
//! A bare apiserver has no controller-manager and no kubelet: nothing creates the `default`
//! ServiceAccount of a namespace (create it before Pods) and nothing sets pod IPs (set them
//! through the `status` subresource).
//!
//! The binary is looked up, in order: `$KUBE_APISERVER`; the cache
//! `<target dir>/kube-apiserver-<version>/kube-apiserver`; otherwise it is built there with
//! `go build` (about 14 minutes cold on 2 cores, under a minute with a warm Go build cache),
//! under a file lock so that concurrent test binaries build it once.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, scratch_dir, write_certificates, EtcdServer, TlsFiles};

/// The Kubernetes version `tools/kube-apiserver/go.mod` pins.
pub const VERSION: &str = "v1.37.2";
/// The bearer token of the `system:masters` identity.
pub const ADMIN_TOKEN: &str = "calico-rs-admin-token";
/// The bearer token of the restricted `calicoctl` identity.
pub const CALICOCTL_TOKEN: &str = "calico-rs-calicoctl-token";

/// How long the server may take to report ready (5–12 s seen here; more on a loaded machine).
const READY_TIMEOUT: Duration = Duration::from_secs(120);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

fn cache_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    target.join(format!("kube-apiserver-{VERSION}"))
}

/// The kube-apiserver binary: `$KUBE_APISERVER`, or the cached build, built now if missing.
/// Panics with Go's output when it cannot be built.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("KUBE_APISERVER") {
        return PathBuf::from(path);
    }
    let dir = cache_dir();
    let binary = dir.join("kube-apiserver");
    if binary.is_file() {
        return binary;
    }
    std::fs::create_dir_all(&dir).expect("create the kube-apiserver cache dir");
    let lock = std::fs::File::create(dir.join(".lock")).expect("create the build lock");
    lock.lock().expect("lock the kube-apiserver build");
    if binary.is_file() {
        return binary;
    }
    let partial = dir.join("kube-apiserver.partial");
    eprintln!(
        "calico-test-support: building kube-apiserver {VERSION} (once; ~14 min cold) into {}",
        dir.display()
    );
    let output = Command::new("go")
        .args(["build", "-o"])
        .arg(&partial)
        .arg("k8s.io/kubernetes/cmd/kube-apiserver")
        .current_dir(repo_root().join("tools/kube-apiserver"))
        .stdin(Stdio::null())
        .output()
        .expect("run `go build` (Go is needed to build the test kube-apiserver)");
    assert!(
        output.status.success(),
        "building kube-apiserver failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::rename(&partial, &binary).expect("move the built kube-apiserver into place");
    binary
}

/// A running kube-apiserver (and its etcd), stopped on drop.
pub struct KubeApiServer {
    child: Child,
    binary: PathBuf,
    etcd: EtcdServer,
    dir: tempfile::TempDir,
    port: u16,
    tls: TlsFiles,
}

impl KubeApiServer {
    /// Builds (if needed) and starts a server; returns once `/readyz` answers `ok`.
    pub fn start() -> Self {
        let binary = binary();
        let etcd = EtcdServer::start();
        let dir = scratch_dir();
        let tls = write_certificates(dir.path());
        let sa_key = dir.path().join("service-account-key.pem");
        let sa_pub = dir.path().join("service-account-pub.pem");
        let key = rcgen::KeyPair::generate().expect("a service-account key");
        std::fs::write(&sa_key, key.serialize_pem()).expect("write the service-account key");
        std::fs::write(&sa_pub, key.public_key_pem()).expect("write the service-account key");
        let tokens = dir.path().join("tokens.csv");
        std::fs::write(
            &tokens,
            format!(
                "{ADMIN_TOKEN},admin,admin-uid,\"system:masters\"\n\
                 {CALICOCTL_TOKEN},calicoctl,calicoctl-uid\n"
            ),
        )
        .expect("write the token file");
        let port = free_port();
        let child = spawn(&binary, etcd.endpoint(), dir.path(), &tls, port);
        let mut server = KubeApiServer {
            child,
            binary,
            etcd,
            dir,
            port,
            tls,
        };
        server.wait_ready();
        server
    }

    /// Kills the server and starts it again on the same port, TLS files and etcd (its data
    /// kept); returns once it is ready.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(
            &self.binary,
            self.etcd.endpoint(),
            self.dir.path(),
            &self.tls,
            self.port,
        );
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "kube-apiserver exited ({status}) before it was ready:\n{}",
                    self.log_tail()
                );
            }
            let ready = self
                .kubectl_as(ADMIN_TOKEN)
                .args(["get", "--raw", "/readyz"])
                .output()
                .map(|o| o.status.success() && o.stdout.starts_with(b"ok"))
                .unwrap_or(false);
            if ready {
                return;
            }
            if started.elapsed() > READY_TIMEOUT {
                panic!(
                    "kube-apiserver not ready after {READY_TIMEOUT:?}:\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn log_tail(&self) -> String {
        let log =
            std::fs::read_to_string(self.dir.path().join("kube-apiserver.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The CA that signed the serving certificate.
    pub fn ca_cert(&self) -> &Path {
        &self.tls.ca_cert
    }

    /// Writes a kubeconfig for the identity with `token` to `path`.
    pub fn write_kubeconfig(&self, path: &Path, token: &str) {
        let ca = self.tls.ca_cert.display();
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    \
             certificate-authority: {ca}\nusers:\n- name: test\n  user:\n    token: {token}\n\
             contexts:\n- name: test\n  context:\n    cluster: test\n    user: test\n\
             current-context: test\n",
            self.url()
        );
        std::fs::write(path, text).expect("write the kubeconfig");
    }

    /// Installs the CustomResourceDefinitions of the manifest at `crds` (as the admin) and
    /// waits until every one is established.
    pub fn install_crds(&self, crds: &str) {
        let applied = self
            .kubectl_as(ADMIN_TOKEN)
            .args(["apply", "--server-side", "-f", crds])
            .output()
            .expect("run kubectl apply");
        assert!(
            applied.status.success(),
            "kubectl apply -f {crds}: {}",
            String::from_utf8_lossy(&applied.stderr)
        );
        let established = self
            .kubectl_as(ADMIN_TOKEN)
            .args([
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                "crd",
                "--all",
            ])
            .output()
            .expect("run kubectl wait");
        assert!(
            established.status.success(),
            "the CRDs of {crds} are not established: {}",
            String::from_utf8_lossy(&established.stderr)
        );
    }

    /// `kubectl` pointed at this server as the identity with `token`.
    pub fn kubectl_as(&self, token: &str) -> Command {
        let mut cmd = Command::new("kubectl");
        cmd.arg(format!("--server={}", self.url()))
            .arg(format!(
                "--certificate-authority={}",
                self.tls.ca_cert.display()
            ))
            .arg(format!("--token={token}"))
            .arg(format!(
                "--cache-dir={}",
                self.dir.path().join("kube-cache").display()
            ))
            .stdin(Stdio::null());
        cmd
    }
}

impl Drop for KubeApiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts kube-apiserver on `port` with the files in `dir`, logging to `dir/kube-apiserver.log`
/// (appended: a restarted server's log follows the first one's).
fn spawn(binary: &Path, etcd: &str, dir: &Path, tls: &TlsFiles, port: u16) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("kube-apiserver.log"))
        .expect("create the kube-apiserver log");
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let tokens = dir.join("tokens.csv");
    let sa_key = dir.join("service-account-key.pem");
    let sa_pub = dir.join("service-account-pub.pem");
    Command::new(binary)
        .arg(format!("--etcd-servers={etcd}"))
        .arg("--bind-address=127.0.0.1")
        .arg("--advertise-address=127.0.0.1")
        .arg(format!("--secure-port={port}"))
        .arg(format!("--cert-dir={}", path(dir)))
        .arg(format!("--tls-cert-file={}", path(&tls.server_cert)))
        .arg(format!("--tls-private-key-file={}", path(&tls.server_key)))
        .arg(format!("--token-auth-file={}", path(&tokens)))
        .arg("--authorization-mode=RBAC")
        .arg("--service-account-issuer=https://kubernetes.default.svc.cluster.local")
        .arg(format!("--service-account-key-file={}", path(&sa_pub)))
        .arg(format!(
            "--service-account-signing-key-file={}",
            path(&sa_key)
        ))
        .arg("--service-cluster-ip-range=10.96.0.0/16")
        // The endpoint reconciler refuses a loopback advertise address.
        .arg("--endpoint-reconciler-type=none")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("clone the log handle"))
        .stderr(log)
        .spawn()
        .expect("start kube-apiserver")
}
