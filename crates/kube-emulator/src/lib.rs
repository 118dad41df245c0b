//! An in-memory Kubernetes API server emulator.
//!
//! It serves the core kinds Calico's Kubernetes datastore uses (nodes, pods, namespaces,
//! serviceaccounts), networking.k8s.io/v1 networkpolicies, CustomResourceDefinitions and every
//! resource a stored CRD declares, with the apiserver's CRUD, watch and error semantics, over HTTP
//! or HTTPS (client certificates and/or a bearer token). Start it in-process with
//! [`Emulator::start`] or as the `kube-emulator` binary. See the crate README for what differs from
//! a real apiserver.

pub mod http;
pub mod managed;
pub mod openapi;
pub mod proto;
pub mod resources;
pub mod selector;
pub mod status;
pub mod store;
pub mod table;
pub mod tls;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::Router;
use base64::Engine as _;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

pub use status::ApiError;
pub use store::Store;

/// Errors starting the emulator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listen address is not a loopback address.
    #[error("refusing to listen on {0}: only loopback addresses (127.0.0.0/8, ::1, localhost) are allowed")]
    NotLoopback(String),
    /// The listen address does not parse.
    #[error("invalid listen address {0:?}: expected ADDR:PORT, e.g. 127.0.0.1:0")]
    BadAddress(String),
    /// Socket or file IO.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Certificate generation.
    #[error("generating certificates: {0}")]
    Cert(#[from] rcgen::Error),
    /// TLS configuration.
    #[error("TLS configuration: {0}")]
    Tls(String),
}

impl From<rustls::Error> for Error {
    fn from(e: rustls::Error) -> Self {
        Error::Tls(e.to_string())
    }
}

/// How to run the emulator.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on; must be loopback. Port 0 picks a free port.
    pub listen: SocketAddr,
    /// Where to write the kubeconfig; None writes one into the system temp dir (removed on shutdown).
    pub kubeconfig: Option<PathBuf>,
    /// Serve HTTPS with generated certificates (client certificate required unless `token` is set).
    pub tls: bool,
    /// Require this bearer token (a verified client certificate also authenticates).
    pub token: Option<String>,
    /// How many events the watch log keeps; watches from older resourceVersions get 410 Expired.
    pub watch_history: usize,
    /// Requests refused with 403 Forbidden, as RBAC would refuse them: `VERB:RESOURCE`, where
    /// RESOURCE is `plural` (core) or `plural.group`, and VERB or RESOURCE may be `*`.
    pub forbid: Vec<String>,
    /// Record every request (method, path and query), for tests that count what a client
    /// asks: [`RunningEmulator::take_requests`].
    pub record_requests: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            kubeconfig: None,
            tls: false,
            token: None,
            watch_history: 10_000,
            forbid: Vec::new(),
            record_requests: false,
        }
    }
}

/// Parses `ADDR:PORT` (or `localhost:PORT`) and refuses non-loopback addresses.
pub fn parse_listen(s: &str) -> Result<SocketAddr, Error> {
    let addr = if let Some(port) = s.strip_prefix("localhost:") {
        let port: u16 = port.parse().map_err(|_| Error::BadAddress(s.to_string()))?;
        SocketAddr::from(([127, 0, 0, 1], port))
    } else {
        s.parse::<SocketAddr>()
            .map_err(|_| Error::BadAddress(s.to_string()))?
    };
    if !addr.ip().is_loopback() {
        return Err(Error::NotLoopback(s.to_string()));
    }
    Ok(addr)
}

/// Client credentials generated for a TLS emulator.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    /// CA certificate (PEM) the server certificate chains to.
    pub ca_pem: String,
    /// Client certificate (PEM).
    pub cert_pem: String,
    /// Client key (PEM).
    pub key_pem: String,
}

/// Entry point.
pub struct Emulator;

/// A running emulator; dropping it stops the server (call [`RunningEmulator::shutdown`] to wait for that).
pub struct RunningEmulator {
    url: String,
    kubeconfig: PathBuf,
    remove_kubeconfig: bool,
    store: Arc<Store>,
    identity: Option<ClientIdentity>,
    token: Option<String>,
    shutdown_tx: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    requests: Option<Arc<std::sync::Mutex<Vec<String>>>>,
}

impl Emulator {
    /// Binds, writes the kubeconfig, and starts serving on the current tokio runtime.
    pub async fn start(config: Config) -> Result<RunningEmulator, Error> {
        let store = Store::new(config.watch_history);
        Self::start_with_store(config, store).await
    }

    /// As [`Emulator::start`], serving an existing store: an API server "restarted" on the
    /// same address with the same objects (after [`RunningEmulator::shutdown`]).
    pub async fn start_with_store(
        config: Config,
        store: Arc<Store>,
    ) -> Result<RunningEmulator, Error> {
        if !config.listen.ip().is_loopback() {
            return Err(Error::NotLoopback(config.listen.to_string()));
        }
        let listener = TcpListener::bind(config.listen).await?;
        let local = listener.local_addr()?;
        let scheme = if config.tls { "https" } else { "http" };
        let url = format!("{scheme}://{local}");
        let pki = if config.tls {
            Some(tls::Pki::generate()?)
        } else {
            None
        };
        let acceptor = match &pki {
            Some(p) => Some(TlsAcceptor::from(Arc::new(
                p.server_config(config.token.is_some())?,
            ))),
            None => None,
        };
        let identity = pki.as_ref().map(|p| ClientIdentity {
            ca_pem: p.ca_pem.clone(),
            cert_pem: p.client_cert_pem.clone(),
            key_pem: p.client_key_pem.clone(),
        });
        let (kubeconfig, remove_kubeconfig) = match &config.kubeconfig {
            Some(p) => (p.clone(), false),
            None => (
                std::env::temp_dir()
                    .join(format!("kube-emulator-{}.kubeconfig", uuid::Uuid::new_v4())),
                true,
            ),
        };
        std::fs::write(
            &kubeconfig,
            kubeconfig_yaml(&url, identity.as_ref(), config.token.as_deref()),
        )?;

        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let requests = config
            .record_requests
            .then(|| Arc::new(std::sync::Mutex::new(Vec::new())));
        let app = Arc::new(http::App {
            store: store.clone(),
            token: config.token.clone(),
            forbid: config.forbid.clone(),
            address: local.to_string(),
            shutdown: shutdown_rx.clone(),
            requests: requests.clone(),
        });
        let router = Router::new().fallback(http::handle).with_state(app);
        let task = tokio::spawn(accept_loop(listener, acceptor, router, shutdown_rx));
        Ok(RunningEmulator {
            url,
            kubeconfig,
            remove_kubeconfig,
            store,
            identity,
            token: config.token,
            shutdown_tx,
            task: Some(task),
            requests,
        })
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        while conns.try_join_next().is_some() {}
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                conns.spawn(serve_conn(stream, acceptor.clone(), router.clone()));
            }
        }
    }
    conns.abort_all();
    while conns.join_next().await.is_some() {}
}

async fn serve_conn(stream: TcpStream, acceptor: Option<TlsAcceptor>, router: Router) {
    let _ = stream.set_nodelay(true);
    match acceptor {
        None => serve_io(TokioIo::new(stream), router, false).await,
        Some(acceptor) => {
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            // The verifier only lets verified chains through, so presence means authenticated.
            let has_cert = tls
                .get_ref()
                .1
                .peer_certificates()
                .is_some_and(|c| !c.is_empty());
            serve_io(TokioIo::new(tls), router, has_cert).await
        }
    }
}

async fn serve_io<I>(io: I, router: Router, client_cert: bool)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        let router = router.clone();
        if client_cert {
            req.extensions_mut().insert(http::ClientCertAuthenticated);
        }
        async move { router.oneshot(req.map(Body::new)).await }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, svc)
        .await;
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The kubeconfig the emulator writes for itself.
pub fn kubeconfig_yaml(
    url: &str,
    identity: Option<&ClientIdentity>,
    token: Option<&str>,
) -> String {
    let mut cluster = format!("    server: {url}\n");
    let mut user = String::new();
    if let Some(id) = identity {
        cluster.push_str(&format!(
            "    certificate-authority-data: {}\n",
            b64(&id.ca_pem)
        ));
        user.push_str(&format!(
            "    client-certificate-data: {}\n",
            b64(&id.cert_pem)
        ));
        user.push_str(&format!("    client-key-data: {}\n", b64(&id.key_pem)));
    }
    if let Some(t) = token {
        user.push_str(&format!("    token: {t}\n"));
    }
    let user = if user.is_empty() {
        "  user: {}\n".to_string()
    } else {
        format!("  user:\n{user}")
    };
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-emulator\n  cluster:\n{cluster}contexts:\n- name: kube-emulator\n  context:\n    cluster: kube-emulator\n    user: kube-emulator\n    namespace: default\ncurrent-context: kube-emulator\nusers:\n- name: kube-emulator\n{user}preferences: {{}}\n"
    )
}

impl RunningEmulator {
    /// The requests recorded since the last call (`METHOD /path?query`, in arrival order);
    /// empty unless [`Config::record_requests`] is set.
    pub fn take_requests(&self) -> Vec<String> {
        match &self.requests {
            Some(requests) => requests
                .lock()
                .map(|mut requests| std::mem::take(&mut *requests))
                .unwrap_or_default(),
            None => Vec::new(),
        }
    }

    /// The base URL (`http://127.0.0.1:PORT` or `https://...`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where the kubeconfig was written.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The generated client credentials (TLS only).
    pub fn client_identity(&self) -> Option<&ClientIdentity> {
        self.identity.as_ref()
    }

    /// The configured bearer token.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Direct access to the object store (seeding, inspection).
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Drops the whole watch event log: watches from any earlier resourceVersion then get 410 Expired.
    pub fn compact(&self) {
        self.store.compact();
    }

    /// Stops accepting, closes every connection and watch, and waits for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown_tx.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
        if self.remove_kubeconfig {
            let _ = std::fs::remove_file(&self.kubeconfig);
        }
    }
}
