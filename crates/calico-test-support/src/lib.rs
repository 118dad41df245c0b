//! Test helpers: throw-away etcd servers on loopback ports (plain, TLS with client
//! certificates, or with username/password authentication), and a real kube-apiserver
//! ([`kube_apiserver`]).
//!
//! Needs Debian's `etcd` and `etcdctl` (packages `etcd-server`, `etcd-client`) on `PATH`.
//! Every server listens on 127.0.0.1 only, keeps its data in a temporary directory (in
//! `/dev/shm` when there is one, so fsync is cheap) and is killed, by its PID, on drop.
//! [`EtcdCluster`] runs several members as one cluster, for failover tests; [`TcpProxy`] cuts
//! the network between a client and a server for outage tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod emulator;
pub mod kube_apiserver;
pub mod proxy;

pub use proxy::TcpProxy;

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
        Self::launch(|| (scratch_dir(), None), &[])
    }

    /// A plain-HTTP etcd started with extra command-line flags (for example a lower
    /// `--max-txn-ops`).
    pub fn start_with_flags(flags: &[&str]) -> Self {
        Self::launch(|| (scratch_dir(), None), flags)
    }

    /// An etcd serving TLS that requires client certificates (`--client-cert-auth`); the CA,
    /// server and client certificates are generated with rcgen.
    pub fn start_tls() -> Self {
        Self::launch(
            || {
                let dir = scratch_dir();
                let tls = write_certificates(dir.path());
                (dir, Some(tls))
            },
            &[],
        )
    }

    /// An etcd serving TLS with a self-signed certificate that is also a CA
    /// (`basicConstraints CA:TRUE`, what `openssl req -x509` makes by default), trusted
    /// directly: its TLS files name that one certificate as CA, server and client certificate.
    /// Go's TLS accepts such a server; rustls refuses it (`CaUsedAsEndEntity`).
    pub fn start_tls_self_signed_ca() -> Self {
        Self::launch(
            || {
                let dir = scratch_dir();
                let tls = write_self_signed_ca(dir.path());
                (dir, Some(tls))
            },
            &[],
        )
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

    /// Starts etcd in the directory `make` gives (with its TLS files, if any). The ports are
    /// picked free just before etcd binds them; when another process takes one in between, it
    /// starts again, in a fresh directory on other ports (a few times).
    fn launch(make: impl Fn() -> (tempfile::TempDir, Option<TlsFiles>), flags: &[&str]) -> Self {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (dir, tls) = make();
            match Self::try_launch(dir, tls, flags) {
                Ok(server) => return server,
                Err(log) if attempt < 4 && log.contains("address already in use") => {}
                Err(log) => panic!("{log}"),
            }
        }
    }

    fn try_launch(
        dir: tempfile::TempDir,
        tls: Option<TlsFiles>,
        flags: &[&str],
    ) -> Result<Self, String> {
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
        // A server that did not come up is dropped: stopped, its directory removed.
        server.wait_until_ready().map(|()| server)
    }

    fn wait_until_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let status = self
                .etcdctl_command(&["endpoint", "health", "--command-timeout=2s"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            if matches!(status, Ok(s) if s.success()) {
                return Ok(());
            }
            let log =
                || std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default();
            // An etcd that could not bind its ports has exited: no point waiting.
            if Instant::now() > deadline || log().contains("address already in use") {
                return Err(format!(
                    "etcd at {} did not become ready; its log:\n{}",
                    self.endpoint,
                    log()
                ));
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

fn write_self_signed_ca(dir: &Path) -> TlsFiles {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
    params.distinguished_name.push(DnType::CommonName, "etcd");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    let cert_path = dir.join("server.pem");
    let key_path = dir.join("server-key.pem");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    TlsFiles {
        ca_cert: cert_path.clone(),
        server_cert: cert_path.clone(),
        server_key: key_path.clone(),
        client_cert: cert_path,
        client_key: key_path,
    }
}

/// A multi-member etcd cluster on loopback ports, each member in its own temporary directory,
/// with ways to kill, stop (SIGSTOP), continue and restart single members. Every member is
/// continued and killed, by its PID, on drop.
pub struct EtcdCluster {
    members: Vec<ClusterMember>,
    initial_cluster: String,
}

struct ClusterMember {
    name: String,
    child: Option<Child>,
    dir: tempfile::TempDir,
    client_url: String,
    peer_url: String,
    stopped: bool,
}

impl ClusterMember {
    fn spawn(&mut self, initial_cluster: &str) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("etcd.log"))
            .expect("log file");
        let child = Command::new("etcd")
            .arg("--name")
            .arg(&self.name)
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .arg("--listen-client-urls")
            .arg(&self.client_url)
            .arg("--advertise-client-urls")
            .arg(&self.client_url)
            .arg("--listen-peer-urls")
            .arg(&self.peer_url)
            .arg("--initial-advertise-peer-urls")
            .arg(&self.peer_url)
            .arg("--initial-cluster")
            .arg(initial_cluster)
            .arg("--initial-cluster-state")
            .arg("new")
            .arg("--initial-cluster-token")
            .arg(format!("calico-test-{}", std::process::id()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start etcd (install Debian's etcd-server)");
        self.child = Some(child);
        self.stopped = false;
    }

    fn signal(&mut self, signal: &str) {
        if let Some(child) = &self.child {
            let status = Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(child.id().to_string())
                .status()
                .expect("run kill");
            assert!(status.success(), "kill -{signal} {}", child.id());
        }
    }

    fn kill(&mut self) {
        if self.stopped {
            self.signal("CONT");
            self.stopped = false;
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn etcdctl_at(endpoints: &str, args: &[&str]) -> Command {
    let mut command = Command::new("etcdctl");
    command
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoints}"))
        .args(args)
        .stdin(Stdio::null());
    command
}

impl EtcdCluster {
    /// Starts `size` plain-HTTP members and waits until every one is healthy. The ports are
    /// picked free just before etcd binds them; when another process takes one in between,
    /// the members are stopped and started again on other ports (a few times).
    pub fn start(size: usize) -> Self {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Self::try_start(size) {
                Ok(cluster) => return cluster,
                Err(log) if attempt < 4 && log.contains("address already in use") => continue,
                Err(log) => panic!("{log}"),
            }
        }
    }

    fn try_start(size: usize) -> Result<Self, String> {
        let mut members: Vec<ClusterMember> = (0..size)
            .map(|index| ClusterMember {
                name: format!("member{index}"),
                child: None,
                dir: scratch_dir(),
                client_url: format!("http://127.0.0.1:{}", free_port()),
                peer_url: format!("http://127.0.0.1:{}", free_port()),
                stopped: false,
            })
            .collect();
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer_url))
            .collect::<Vec<_>>()
            .join(",");
        for member in &mut members {
            member.spawn(&initial_cluster);
        }
        // Dropped (every member killed) if one does not come up.
        let cluster = EtcdCluster {
            members,
            initial_cluster,
        };
        for index in 0..size {
            cluster.healthy_or_log(index)?;
        }
        Ok(cluster)
    }

    /// The client URLs of all members, in order.
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client_url.clone()).collect()
    }

    /// The client URL of member `index`.
    pub fn endpoint(&self, index: usize) -> &str {
        &self.members[index].client_url
    }

    /// Kills member `index` (SIGKILL; continued first if stopped).
    pub fn kill(&mut self, index: usize) {
        self.members[index].kill();
    }

    /// Stops member `index` with SIGSTOP: it keeps its sockets but answers nothing.
    pub fn pause(&mut self, index: usize) {
        self.members[index].signal("STOP");
        self.members[index].stopped = true;
    }

    /// Continues a member stopped with [`EtcdCluster::pause`].
    pub fn resume(&mut self, index: usize) {
        if self.members[index].stopped {
            self.members[index].signal("CONT");
            self.members[index].stopped = false;
        }
    }

    /// Starts a killed member again on its data directory and waits until it is healthy.
    pub fn restart(&mut self, index: usize) {
        self.members[index].kill();
        let initial_cluster = self.initial_cluster.clone();
        self.members[index].spawn(&initial_cluster);
        self.wait_until_healthy(index);
    }

    /// The index of the current leader, asked of any live member.
    pub fn leader(&self) -> Option<usize> {
        for member in &self.members {
            if member.child.is_none() || member.stopped {
                continue;
            }
            let output = etcdctl_at(
                &member.client_url,
                &["endpoint", "status", "-w", "json", "--command-timeout=2s"],
            )
            .output()
            .ok()?;
            let text = String::from_utf8_lossy(&output.stdout);
            // `"leader":N` is the leader's member id; `"member_id":N` is this member's.
            let id = |field: &str| {
                let start = text.find(&format!("\"{field}\":"))? + field.len() + 3;
                let digits: String = text[start..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                Some(digits)
            };
            let leader = id("leader")?;
            for (index, other) in self.members.iter().enumerate() {
                if other.child.is_none() || other.stopped {
                    continue;
                }
                let output = etcdctl_at(
                    &other.client_url,
                    &["endpoint", "status", "-w", "json", "--command-timeout=2s"],
                )
                .output()
                .ok()?;
                let other_text = String::from_utf8_lossy(&output.stdout);
                if other_text.contains(&format!("\"member_id\":{leader},")) {
                    return Some(index);
                }
            }
            return None;
        }
        None
    }

    /// Runs etcdctl against the live members and returns its stdout.
    pub fn etcdctl(&self, args: &[&str]) -> String {
        let live: Vec<&str> = self
            .members
            .iter()
            .filter(|m| m.child.is_some() && !m.stopped)
            .map(|m| m.client_url.as_str())
            .collect();
        let output = etcdctl_at(&live.join(","), args)
            .output()
            .expect("run etcdctl (install Debian's etcd-client)");
        assert!(
            output.status.success(),
            "etcdctl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn wait_until_healthy(&self, index: usize) {
        if let Err(log) = self.healthy_or_log(index) {
            panic!("{log}");
        }
    }

    /// Waits until member `index` is healthy; else why not, with its log.
    fn healthy_or_log(&self, index: usize) -> Result<(), String> {
        let member = &self.members[index];
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let status = etcdctl_at(
                &member.client_url,
                &["endpoint", "health", "--command-timeout=2s"],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
            if matches!(status, Ok(s) if s.success()) {
                return Ok(());
            }
            let log =
                || std::fs::read_to_string(member.dir.path().join("etcd.log")).unwrap_or_default();
            // A member that could not bind its ports has exited: no point waiting.
            if Instant::now() > deadline || log().contains("address already in use") {
                return Err(format!(
                    "etcd member {} did not become healthy; its log:\n{}",
                    member.client_url,
                    log()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for member in &mut self.members {
            member.kill();
        }
    }
}
