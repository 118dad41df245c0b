//! Test helpers: throw-away etcd servers on loopback ports (plain, TLS with client
//! certificates, or with username/password authentication), and a real kube-apiserver
//! ([`kube_apiserver`]).
//!
//! Needs Debian's `etcd` and `etcdctl` (packages `etcd-server`, `etcd-client`) on `PATH`.
//! Every server listens on 127.0.0.1 only, keeps its data in a temporary directory (in
//! `/dev/shm` when there is one, so fsync is cheap) and is killed, by its PID, on drop.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod kube_apiserver;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to answer after starting.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The PEM files of a TLS server's set-up.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

/// A running etcd, stopped on drop.
pub struct EtcdServer {
    child: Child,
    dir: tempfile::TempDir,
    endpoint: String,
    tls: Option<TlsFiles>,
    credentials: Option<(String, String)>,
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::Builder::new()
            .prefix("etcd-test-")
            .tempdir_in(shm)
        {
            return dir;
        }
    }
    tempfile::Builder::new()
        .prefix("etcd-test-")
        .tempdir()
        .expect("temp dir")
}

impl EtcdServer {
    /// A plain-HTTP etcd.
    pub fn start() -> Self {
        Self::launch(scratch_dir(), None, &[])
    }

    /// A plain-HTTP etcd started with extra command-line flags (for example a lower
    /// `--max-txn-ops`).
    pub fn start_with_flags(flags: &[&str]) -> Self {
        Self::launch(scratch_dir(), None, flags)
    }

    /// An etcd serving TLS that requires client certificates (`--client-cert-auth`); the CA,
    /// server and client certificates are generated with rcgen.
    pub fn start_tls() -> Self {
        let dir = scratch_dir();
        let tls = write_certificates(dir.path());
        Self::launch(dir, Some(tls), &[])
    }

    /// A plain etcd with authentication enabled, a `root` user, and `user` allowed to read and
    /// write every key.
    pub fn start_with_auth(user: &str, password: &str) -> Self {
        let mut server = Self::start();
        let root_password = format!("root-{}", std::process::id());
        server.etcdctl(&["user", "add", &format!("root:{root_password}")]);
        server.etcdctl(&["user", "add", &format!("{user}:{password}")]);
        server.etcdctl(&["role", "add", "calico-rw"]);
        server.etcdctl(&[
            "role",
            "grant-permission",
            "calico-rw",
            "--prefix=true",
            "readwrite",
            "/",
        ]);
        server.etcdctl(&["user", "grant-role", user, "calico-rw"]);
        server.etcdctl(&["auth", "enable"]);
        server.credentials = Some(("root".into(), root_password));
        server
    }

    fn launch(dir: tempfile::TempDir, tls: Option<TlsFiles>, flags: &[&str]) -> Self {
        let client_port = free_port();
        let peer_port = free_port();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let endpoint = format!("{scheme}://127.0.0.1:{client_port}");
        let peer = format!("http://127.0.0.1:{peer_port}");
        let log = std::fs::File::create(dir.path().join("etcd.log")).expect("log file");
        let mut command = Command::new("etcd");
        command
            .arg("--name")
            .arg("test")
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--listen-client-urls")
            .arg(&endpoint)
            .arg("--advertise-client-urls")
            .arg(&endpoint)
            .arg("--listen-peer-urls")
            .arg(&peer)
            .arg("--initial-advertise-peer-urls")
            .arg(&peer)
            .arg("--initial-cluster")
            .arg(format!("test={peer}"))
            .args(flags)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        if let Some(tls) = &tls {
            command
                .arg("--cert-file")
                .arg(&tls.server_cert)
                .arg("--key-file")
                .arg(&tls.server_key)
                .arg("--trusted-ca-file")
                .arg(&tls.ca_cert)
                .arg("--client-cert-auth");
        }
        let child = command
            .spawn()
            .expect("start etcd (install Debian's etcd-server)");
        let server = EtcdServer {
            child,
            dir,
            endpoint,
            tls,
            credentials: None,
        };
        server.wait_until_ready();
        server
    }

    fn wait_until_ready(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let status = self
                .etcdctl_command(&["endpoint", "health", "--command-timeout=2s"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            if matches!(status, Ok(s) if s.success()) {
                return;
            }
            if Instant::now() > deadline {
                let log =
                    std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default();
                panic!(
                    "etcd at {} did not become ready; its log:\n{log}",
                    self.endpoint
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn etcdctl_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("etcdctl");
        command
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", self.endpoint));
        if let Some(tls) = &self.tls {
            command
                .arg("--cacert")
                .arg(&tls.ca_cert)
                .arg("--cert")
                .arg(&tls.client_cert)
                .arg("--key")
                .arg(&tls.client_key);
        }
        if let Some((user, password)) = &self.credentials {
            command.arg(format!("--user={user}:{password}"));
        }
        command.args(args);
        command
    }

    /// Runs etcdctl against this server (as root when auth is on) and returns its stdout.
    pub fn etcdctl(&self, args: &[&str]) -> String {
        let output = self
            .etcdctl_command(args)
            .stdin(Stdio::null())
            .output()
            .expect("run etcdctl (install Debian's etcd-client)");
        assert!(
            output.status.success(),
            "etcdctl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The client URL, e.g. `http://127.0.0.1:40123`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The PEM files of a TLS server.
    pub fn tls(&self) -> Option<&TlsFiles> {
        self.tls.as_ref()
    }

    /// The server's scratch directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_certificates(dir: &Path) -> TlsFiles {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose, SanType,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "calico-test-ca");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().unwrap();
    let mut server_params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    server_params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
    server_params
        .distinguished_name
        .push(DnType::CommonName, "etcd-server");
    server_params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let server_cert = server_params.signed_by(&server_key, &issuer).unwrap();

    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    client_params
        .distinguished_name
        .push(DnType::CommonName, "calicoctl");
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client_params.signed_by(&client_key, &issuer).unwrap();

    let write = |name: &str, pem: String| {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap();
        path
    };
    TlsFiles {
        ca_cert: write("ca.pem", ca_cert.pem()),
        server_cert: write("server.pem", server_cert.pem()),
        server_key: write("server-key.pem", server_key.serialize_pem()),
        client_cert: write("client.pem", client_cert.pem()),
        client_key: write("client-key.pem", client_key.serialize_pem()),
    }
}
