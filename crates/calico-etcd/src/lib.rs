//! Calico's etcdv3 driver: [`EtcdStore`], a [`KvStore`] on an etcd v3 cluster.
//!
//! Wrapped in [`calico_datastore::KvBackend`] it keeps exactly the keys and values Calico's
//! `libcalico-go/lib/backend/etcdv3` keeps, with the same transactions:
//!
//! - create: `If(Version(key) == 0) Then(Put) Else(Get)`;
//! - update: `If(Version(key) > 0, ModRevision(key) == rev) Then(Put) Else(Get)`;
//! - delete: `If(Version(key) > 0[, ModRevision(key) == rev]) Then(Delete with PrevKV) Else(Get)`;
//! - range: paged prefix reads, every page at the first page's revision (also offered page by
//!   page, for callers that print as they read);
//! - watch: changes after `after`, with previous values; a compaction cancel becomes
//!   [`KvError::Compacted`] and ends the stream.
//!
//! - several reads: one transaction of range reads, without compares (one revision);
//! - several conditional writes: one transaction whose compares are each write's (create:
//!   `Version == 0`; update and delete: `Version > 0`, `ModRevision == rev`), whose success
//!   branch writes them all and whose failure branch reads every key (see `multi`).
//!
//! Creates, updates and reads issued concurrently are sent together, each as its own nested
//! transaction inside one etcd transaction (see `batch`).
//!
//! Connection settings come from Calico's `ApiConfigSpec` ([`EtcdSettings::from_spec`]), with
//! Calico's checks and error texts. Secrets never appear in `Debug` output or errors.
//!
//! Every request has a deadline and fails over between the listed members, retrying what etcd
//! says is retryable without ever applying a write twice (see `failover`).

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use calico_datastore::apiconfig::{redact_urls, ApiConfigSpec};
use calico_datastore::kv::{
    boxed_watch, rest_of_range, CreateOutcome, DeleteOutcome, KvError, KvStore, RawEvent, RawKv,
    RawPage, RawRange, RawRead, RawReads, RawWatch, RawWrite, UpdateOutcome, WriteManyOutcome,
};
use etcd_client::{
    Certificate, Client, CompactionOptions, Compare, CompareOp, ConnectOptions, DeleteOptions,
    EventType, GetOptions, Identity, KeyValue, PutOptions, TlsOptions, TxnOp, TxnOpResponse,
    WatchOptions, WatchStream,
};

mod batch;
mod discovery;
mod errors;
mod failover;
mod multi;

use batch::{Batcher, Op, OpResult};
use failover::{CallError as CallFailure, Members, Retry};

pub use errors::describe_error;
pub use failover::{Timeouts, DEFAULT_REQUEST_TIMEOUT, MAX_ATTEMPT_TIMEOUT};

/// The environment variable that sets the deadline of one etcd request, retries included
/// (`30s`, `1m`, `500ms`, or a number of seconds).
pub const REQUEST_TIMEOUT_ENV: &str = "ETCD_REQUEST_TIMEOUT";

/// Calico's dial timeout.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// Calico's keepalive time and timeout.
pub const KEEPALIVE_TIME: Duration = Duration::from_secs(30);
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// Keys per range request.
pub const DEFAULT_PAGE_SIZE: i64 = 500;

/// TLS material (PEM bytes).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsMaterial {
    pub ca: Option<Vec<u8>>,
    pub cert: Option<Vec<u8>>,
    pub key: Option<Vec<u8>>,
}

impl fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |v: &Option<Vec<u8>>| if v.is_some() { "<redacted>" } else { "" };
        f.debug_struct("TlsMaterial")
            .field("ca", &shown(&self.ca))
            .field("cert", &shown(&self.cert))
            .field("key", &shown(&self.key))
            .finish()
    }
}

/// How to reach etcd. `Debug` redacts the password and the TLS material.
#[derive(Clone, PartialEq, Eq)]
pub struct EtcdSettings {
    pub endpoints: Vec<String>,
    /// Username and password (used only when both are set, as Calico does).
    pub credentials: Option<(String, String)>,
    pub tls: Option<TlsMaterial>,
    /// Keys per range request.
    pub page_size: i64,
    /// `etcdDiscoverySrv`: the domain whose SRV records name the members, when no endpoints
    /// are given.
    pub discovery_srv: Option<String>,
    /// Where SRV queries go; `None` uses the system's resolver configuration.
    pub srv_nameserver: Option<std::net::SocketAddr>,
    /// Deadlines of one request and of one attempt on one member.
    pub timeouts: Timeouts,
}

impl fmt::Debug for EtcdSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EtcdSettings")
            .field("endpoints", &redact_urls(&self.endpoints.join(",")))
            .field(
                "username",
                &self.credentials.as_ref().map(|(user, _)| user.as_str()),
            )
            .field("password", &self.credentials.as_ref().map(|_| "<redacted>"))
            .field("tls", &self.tls)
            .field("page_size", &self.page_size)
            .field("discovery_srv", &self.discovery_srv)
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

fn read_pem(kind: &str, path: &str) -> Result<Option<Vec<u8>>, KvError> {
    if path.is_empty() {
        return Ok(None);
    }
    let bytes = std::fs::read(path).map_err(|err| {
        KvError::Store(format!(
            "could not read the etcd {kind} file {path}: {}",
            errors::io_text(&err)
        ))
    })?;
    errors::check_pem(kind, path, &bytes)?;
    Ok(Some(bytes))
}

fn inline_pem(value: &str) -> Option<Vec<u8>> {
    (!value.is_empty()).then(|| value.as_bytes().to_vec())
}

impl EtcdSettings {
    /// Settings for plain endpoints (tests, tools).
    pub fn new<I, S>(endpoints: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        EtcdSettings {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            credentials: None,
            tls: None,
            page_size: DEFAULT_PAGE_SIZE,
            discovery_srv: None,
            srv_nameserver: None,
            timeouts: Timeouts::default(),
        }
    }

    /// Calico's etcdv3 settings, checked as `libcalico-go`'s etcdv3 client checks them.
    pub fn from_spec(spec: &ApiConfigSpec) -> Result<Self, KvError> {
        let endpoints: Vec<String> = spec
            .etcd_endpoints
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .collect();
        if !endpoints.is_empty() && !spec.etcd_discovery_srv.is_empty() {
            return Err(KvError::Store(
                "multiple discovery or bootstrap options specified, use either \"etcdEndpoints\" \
                 or \"etcdDiscoverySrv\""
                    .into(),
            ));
        }
        let discovery_srv =
            (!spec.etcd_discovery_srv.is_empty()).then(|| spec.etcd_discovery_srv.clone());
        if endpoints.is_empty() && discovery_srv.is_none() {
            return Err(KvError::Store("no etcd endpoints specified".into()));
        }
        let any_inline = !spec.etcd_key.is_empty()
            || !spec.etcd_cert.is_empty()
            || !spec.etcd_ca_cert.is_empty();
        let any_file = !spec.etcd_key_file.is_empty()
            || !spec.etcd_cert_file.is_empty()
            || !spec.etcd_ca_cert_file.is_empty();
        if any_inline && any_file {
            return Err(KvError::Store(
                "Cannot mix inline certificate-key and certificate / key files".into(),
            ));
        }
        let material = if any_inline {
            TlsMaterial {
                ca: inline_pem(&spec.etcd_ca_cert),
                cert: inline_pem(&spec.etcd_cert),
                key: inline_pem(&spec.etcd_key),
            }
        } else {
            TlsMaterial {
                ca: read_pem("CA certificate", &spec.etcd_ca_cert_file)?,
                cert: read_pem("certificate", &spec.etcd_cert_file)?,
                key: read_pem("key", &spec.etcd_key_file)?,
            }
        };
        if material
            .cert
            .as_deref()
            .is_some_and(calico_datastore::tls::first_certificate_is_v1)
        {
            let what = if any_inline {
                "the etcd client certificate (etcdCert)".to_string()
            } else {
                format!("the etcd client certificate file {}", spec.etcd_cert_file)
            };
            return Err(KvError::Store(
                calico_datastore::tls::v1_client_certificate(&what),
            ));
        }
        let wants_tls = any_inline
            || any_file
            || endpoints
                .iter()
                .any(|e| e.to_ascii_lowercase().starts_with("https://"));
        let credentials = (!spec.etcd_username.is_empty() && !spec.etcd_password.is_empty())
            .then(|| (spec.etcd_username.clone(), spec.etcd_password.clone()));
        Ok(EtcdSettings {
            endpoints,
            credentials,
            tls: wants_tls.then_some(material),
            page_size: DEFAULT_PAGE_SIZE,
            discovery_srv,
            srv_nameserver: None,
            timeouts: request_timeout_from_env()?,
        })
    }

    fn connect_options(&self) -> Result<ConnectOptions, KvError> {
        let mut options = ConnectOptions::new()
            .with_connect_timeout(DIAL_TIMEOUT)
            .with_keep_alive(KEEPALIVE_TIME, KEEPALIVE_TIMEOUT);
        if let Some((user, password)) = &self.credentials {
            options = options.with_user(user.clone(), password.clone());
        }
        if let Some(material) = &self.tls {
            let mut tls = TlsOptions::new();
            tls = match &material.ca {
                Some(ca) => tls.ca_certificate(Certificate::from_pem(ca)),
                // Like Go's TLS client: the system's trust roots when no CA is given.
                None => tls.with_native_roots(),
            };
            match (&material.cert, &material.key) {
                (Some(cert), Some(key)) => tls = tls.identity(Identity::from_pem(cert, key)),
                (None, None) => {}
                _ => {
                    return Err(KvError::Store(
                        "an etcd client certificate needs both the certificate and its key".into(),
                    ))
                }
            }
            options = options.with_tls(tls);
        }
        Ok(options)
    }

    /// Endpoints with a scheme (Calico accepts `host:port`, meaning http unless TLS is set).
    fn urls(&self) -> Vec<String> {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        self.endpoints
            .iter()
            .map(|e| {
                if e.contains("://") {
                    e.clone()
                } else {
                    format!("{scheme}://{e}")
                }
            })
            .collect()
    }
}

/// `ETCD_REQUEST_TIMEOUT`, or the default deadlines.
fn request_timeout_from_env() -> Result<Timeouts, KvError> {
    let Ok(text) = std::env::var(REQUEST_TIMEOUT_ENV) else {
        return Ok(Timeouts::default());
    };
    let text = text.trim();
    if text.is_empty() {
        return Ok(Timeouts::default());
    }
    parse_timeout(text)
        .filter(|d| !d.is_zero())
        .map(Timeouts::for_request)
        .ok_or_else(|| {
            KvError::Store(format!(
                "invalid {REQUEST_TIMEOUT_ENV} \"{text}\": expected a duration such as 30s, 2m \
                 or 500ms"
            ))
        })
}

/// A duration as `1m30s`, `30s`, `500ms`, `1.5s` or plain seconds.
fn parse_timeout(text: &str) -> Option<Duration> {
    if let Ok(seconds) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += Duration::try_from_secs_f64(number * scale).ok()?;
    }
    Some(total)
}

/// An etcd v3 cluster as a [`KvStore`].
#[derive(Clone)]
pub struct EtcdStore {
    members: std::sync::Arc<Members>,
    endpoints: Vec<String>,
    page_size: i64,
    batcher: std::sync::Arc<Batcher>,
}

impl fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EtcdStore")
            .field("endpoints", &self.location())
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

impl EtcdStore {
    /// Runs a request with failover and retries (`failover::Members::call`).
    async fn call<T, F, Fut>(&self, what: &str, retry: Retry, request: F) -> Result<T, CallFailure>
    where
        F: Fn(Client) -> Fut,
        Fut: std::future::Future<Output = Result<T, etcd_client::Error>>,
    {
        self.members
            .call(what, retry, request)
            .await
            .map(|answer| answer.value)
    }

    /// Connects with Calico's settings.
    pub async fn connect_spec(spec: &ApiConfigSpec) -> Result<Self, KvError> {
        Self::connect(&EtcdSettings::from_spec(spec)?).await
    }

    /// Connects and checks that etcd answers (within the dial timeout), so that an unreachable
    /// cluster, a TLS problem or bad credentials show up as one clear error.
    pub async fn connect(settings: &EtcdSettings) -> Result<Self, KvError> {
        let discovered;
        let settings = match (&settings.discovery_srv, settings.endpoints.is_empty()) {
            (Some(domain), true) => {
                let mut resolved = settings.clone();
                resolved.endpoints = discovery::endpoints(domain, settings.srv_nameserver).await?;
                // https members need TLS even without a CA or client certificate (system roots).
                if resolved.tls.is_none()
                    && resolved.endpoints.iter().any(|e| e.starts_with("https://"))
                {
                    resolved.tls = Some(TlsMaterial::default());
                }
                discovered = resolved;
                &discovered
            }
            _ => settings,
        };
        let urls = settings.urls();
        let location = redact_urls(&urls.join(","));
        let options = settings.connect_options()?;
        errors::probe_tcp(&urls, &location).await?;
        let members = std::sync::Arc::new(Members::new(&urls, options, settings.timeouts));
        // Like clientv3's dial: the first member that answers will do.
        members
            .check(DIAL_TIMEOUT.min(settings.timeouts.request))
            .await
            .map_err(|failure| match failure {
                CallFailure::Etcd(err) => {
                    KvError::Store(errors::connect_failure(&location, settings, &err))
                }
                CallFailure::NoAnswer { after, .. } => KvError::Store(format!(
                    "failed to connect to etcd at {location}: no answer within {}s",
                    after.as_secs()
                )),
            })?;
        let batcher = Batcher::start(members.clone(), location.clone());
        Ok(EtcdStore {
            members,
            endpoints: urls,
            page_size: settings.page_size.max(1),
            batcher: std::sync::Arc::new(batcher),
        })
    }

    /// A client of the member requests currently go to (for tools and tests).
    pub async fn client(&self) -> Result<Client, KvError> {
        self.members
            .any_client()
            .await
            .map_err(|e| self.error(CallFailure::Etcd(e)))
    }

    /// The delete transaction: `Version > 0` (and `ModRevision == expected`), then delete with
    /// the previous value, else read the key.
    fn delete_txn(key: &str, expected: Option<i64>) -> etcd_client::Txn {
        let mut compares = vec![Compare::version(key, CompareOp::Greater, 0)];
        if let Some(expected) = expected {
            compares.push(Compare::mod_revision(key, CompareOp::Equal, expected));
        }
        etcd_client::Txn::new()
            .when(compares)
            .and_then([TxnOp::delete(
                key,
                Some(DeleteOptions::new().with_prev_key()),
            )])
            .or_else([TxnOp::get(key, None)])
    }

    fn delete_outcome(response: &etcd_client::TxnResponse) -> Result<DeleteOutcome, KvError> {
        let revision = header_revision(response.header());
        let first = response.op_responses().into_iter().next();
        if response.succeeded() {
            return match first {
                Some(TxnOpResponse::Delete(deleted)) => Ok(match deleted.prev_kvs().first() {
                    Some(previous) => DeleteOutcome::Deleted {
                        previous: raw_kv(previous),
                        revision,
                    },
                    None => DeleteOutcome::Missing,
                }),
                _ => Err(unexpected("a delete")),
            };
        }
        Ok(match first_kv(first) {
            Some(current) => DeleteOutcome::Conflict(current),
            None => DeleteOutcome::Missing,
        })
    }

    /// A delete at a revision. Its outcome can be checked, so it is retried after a lost
    /// answer: if the retry finds the key gone, the value it held at `expected` (still in
    /// etcd's history) was deleted by a delete at that revision, ours or one just like it.
    async fn delete_at(&self, key: &str, expected: i64) -> Result<DeleteOutcome, KvError> {
        let txn = Self::delete_txn(key, Some(expected));
        let answer = self
            .members
            .call("delete", Retry::Always, |client| {
                let txn = txn.clone();
                async move { client.kv_client().txn(txn).await }
            })
            .await
            .map_err(|e| self.error(e))?;
        let outcome = Self::delete_outcome(&answer.value)?;
        if !(answer.uncertain && matches!(outcome, DeleteOutcome::Missing)) {
            return Ok(outcome);
        }
        let revision = header_revision(answer.value.header());
        match self.get(key, Some(expected)).await {
            Ok(Some(previous)) if previous.mod_revision == expected => {
                tracing::debug!(%key, "a delete whose answer was lost had been applied");
                Ok(DeleteOutcome::Deleted { previous, revision })
            }
            Ok(_) => Ok(DeleteOutcome::Missing),
            // History compacted meanwhile: the outcome is not known.
            Err(_) => Err(KvError::Store(format!(
                "etcd at {} lost the answer to the delete of {key}, and whether it was applied \
                 can no longer be checked",
                self.location()
            ))),
        }
    }

    /// A delete of whatever the key holds. It cannot be retried blindly after a lost answer (the
    /// key may have been created again since), so the key is read: still there, the delete
    /// was not applied and goes again as a delete at the revision read, which can be checked;
    /// gone, the first failure stands (the caller can tell by reading the key).
    async fn delete_any(&self, key: &str) -> Result<DeleteOutcome, KvError> {
        let txn = Self::delete_txn(key, None);
        let failure = match self
            .call("delete", Retry::OnlyIfNotSent, |client| {
                let txn = txn.clone();
                async move { client.kv_client().txn(txn).await }
            })
            .await
        {
            Ok(response) => return Self::delete_outcome(&response),
            Err(failure) if failure.maybe_applied() => self.error(failure),
            Err(failure) => return Err(self.error(failure)),
        };
        match self.get(key, None).await {
            Ok(Some(current)) => {
                tracing::debug!(%key, "retrying a delete whose answer was lost at the revision read");
                match self.delete_at(key, current.mod_revision).await {
                    // Gone between the read and the retry: the first delete, applied late, most
                    // likely; as when the key is gone at once, the first failure stands.
                    Ok(DeleteOutcome::Missing) => Err(failure),
                    other => other,
                }
            }
            _ => Err(failure),
        }
    }

    fn error(&self, failure: CallFailure) -> KvError {
        failure.into_kv(&self.location())
    }

    /// Maps etcd's "compacted" and "future revision" answers for a read at `at`.
    async fn read_error(&self, key: &str, at: Option<i64>, failure: CallFailure) -> KvError {
        let (Some(requested), CallFailure::Etcd(err)) = (at, &failure) else {
            return self.error(failure);
        };
        match errors::revision_problem(err) {
            Some(errors::RevisionProblem::Compacted) => KvError::Compacted {
                requested,
                compacted: self.compacted_revision(key).await.unwrap_or(requested + 1),
            },
            Some(errors::RevisionProblem::Future) => match self.current_revision().await {
                Ok(current) => KvError::FutureRevision { requested, current },
                Err(other) => other,
            },
            None => self.error(failure),
        }
    }

    async fn current_revision(&self) -> Result<i64, KvError> {
        let response = self
            .call("revision", Retry::Always, |client| async move {
                client
                    .kv_client()
                    .get("/", Some(GetOptions::new().with_count_only()))
                    .await
            })
            .await
            .map_err(|e| self.error(e))?;
        Ok(response.header().map_or(0, |h| h.revision()))
    }

    /// etcd does not report the compaction revision on reads; a watch from revision 1 does.
    async fn compacted_revision(&self, key: &str) -> Option<i64> {
        let mut watch = self
            .call("watch", Retry::Always, |client| async move {
                client
                    .watch_client()
                    .watch(key, Some(WatchOptions::new().with_start_revision(1)))
                    .await
            })
            .await
            .ok()?;
        for _ in 0..3 {
            let message = tokio::time::timeout(Duration::from_secs(2), watch.message())
                .await
                .ok()?
                .ok()??;
            if message.compact_revision() > 0 {
                return Some(message.compact_revision());
            }
            if message.canceled() {
                return None;
            }
        }
        None
    }
}

fn raw_kv(kv: &KeyValue) -> RawKv {
    RawKv {
        key: String::from_utf8_lossy(kv.key()).into_owned(),
        value: kv.value().to_vec(),
        create_revision: kv.create_revision(),
        mod_revision: kv.mod_revision(),
    }
}

/// [`raw_kv`] without copying the value.
fn owned_raw_kv(kv: KeyValue) -> RawKv {
    let create_revision = kv.create_revision();
    let mod_revision = kv.mod_revision();
    let (key, value) = kv.into_key_value();
    let key = String::from_utf8(key)
        .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned());
    RawKv {
        key,
        value,
        create_revision,
        mod_revision,
    }
}

/// etcd's end of the range "every key starting with `prefix`".
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // Every key (etcd's "\0" range end).
    vec![0]
}

fn header_revision(header: Option<&etcd_client::ResponseHeader>) -> i64 {
    header.map_or(0, |h| h.revision())
}

fn first_kv(response: Option<TxnOpResponse>) -> Option<RawKv> {
    match response {
        Some(TxnOpResponse::Get(get)) => get.kvs().first().map(raw_kv),
        _ => None,
    }
}

/// The largest answer to one range read we accept. tonic's default, 4 MiB, is less than a
/// read of a few thousand large resources (etcd itself sends answers of any size).
const MAX_RANGE_ANSWER_BYTES: usize = 256 * 1024 * 1024;

fn unexpected(what: &str) -> KvError {
    KvError::Store(format!("unexpected answer from etcd to {what}"))
}

#[async_trait]
impl KvStore for EtcdStore {
    async fn get(&self, key: &str, at: Option<i64>) -> Result<Option<RawKv>, KvError> {
        if at.is_none() {
            return match self.batcher.run(Op::Get { key: key.into() }).await? {
                OpResult::Get(kv) => Ok(kv),
                _ => Err(unexpected("a read")),
            };
        }
        let read = |client: Client| async move {
            let options = at.map(|at| GetOptions::new().with_revision(at));
            client.kv_client().get(key, options).await
        };
        match self.call("get", Retry::Always, read).await {
            Ok(response) => Ok(response.kvs().first().map(raw_kv)),
            Err(err) => Err(self.read_error(key, at, err).await),
        }
    }

    async fn range(&self, prefix: &str, at: Option<i64>) -> Result<RawRange, KvError> {
        let limit = usize::try_from(self.page_size).unwrap_or(usize::MAX);
        let first = self.range_page(prefix, None, at, limit).await?;
        let revision = first.revision;
        // Every further page is read at the revision of the first one.
        let read_at = at.unwrap_or(revision);
        let kvs = rest_of_range(self, prefix, first, read_at, limit).await?;
        Ok(RawRange { kvs, revision })
    }

    async fn range_page(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        at: Option<i64>,
        limit: usize,
    ) -> Result<RawPage, KvError> {
        let end = prefix_end(prefix.as_bytes());
        let from = match start_after {
            Some(after) => {
                let mut from = after.as_bytes().to_vec();
                from.push(0);
                from
            }
            None => prefix.as_bytes().to_vec(),
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX).max(1);
        let mut options = GetOptions::new().with_range(end).with_limit(limit);
        if let Some(at) = at {
            options = options.with_revision(at);
        }
        let read = |client: Client| {
            let (from, options) = (from.clone(), options.clone());
            async move {
                client
                    .kv_client()
                    .max_decoding_message_size(MAX_RANGE_ANSWER_BYTES)
                    .get(from, Some(options))
                    .await
            }
        };
        match self.call("range", Retry::Always, read).await {
            Ok(mut page) => Ok(RawPage {
                revision: header_revision(page.header()),
                more: page.more() && !page.kvs().is_empty(),
                kvs: page.take_kvs().into_iter().map(owned_raw_kv).collect(),
            }),
            Err(err) => Err(self.read_error(prefix, at, err).await),
        }
    }

    async fn read_many(&self, reads: &[RawRead]) -> Result<RawReads, KvError> {
        self.read_many_txn(reads).await
    }

    fn atomic_writes(&self) -> bool {
        true
    }

    async fn write_many(&self, writes: Vec<RawWrite>) -> Result<WriteManyOutcome, KvError> {
        self.write_many_txn(writes).await
    }

    async fn create(&self, key: &str, value: Vec<u8>) -> Result<CreateOutcome, KvError> {
        let op = Op::Create {
            key: key.into(),
            value,
        };
        match self.batcher.run(op).await? {
            OpResult::Create(outcome) => Ok(outcome),
            _ => Err(unexpected("a create")),
        }
    }

    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: i64,
    ) -> Result<UpdateOutcome, KvError> {
        let op = Op::Update {
            key: key.into(),
            value,
            expected,
        };
        match self.batcher.run(op).await? {
            OpResult::Update(outcome) => Ok(outcome),
            _ => Err(unexpected("an update")),
        }
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<i64, KvError> {
        let write = |client: Client| {
            let value = value.clone();
            async move { client.kv_client().put(key, value, None::<PutOptions>).await }
        };
        let response = self
            .call("put", Retry::Always, write)
            .await
            .map_err(|e| self.error(e))?;
        Ok(header_revision(response.header()))
    }

    async fn delete(&self, key: &str, expected: Option<i64>) -> Result<DeleteOutcome, KvError> {
        let Some(expected) = expected else {
            return self.delete_any(key).await;
        };
        self.delete_at(key, expected).await
    }

    async fn watch(&self, prefix: &str, after: i64) -> Result<RawWatch, KvError> {
        let stream = open_watch(&self.members, prefix, after)
            .await
            .map_err(|e| self.error(e))?;
        let state = WatchState {
            stream,
            pending: VecDeque::new(),
            done: false,
            after,
            location: self.location(),
            members: self.members.clone(),
            prefix: prefix.to_string(),
            resumes: 0,
        };
        Ok(boxed_watch(futures::stream::unfold(state, next_event)))
    }

    async fn compact(&self, revision: i64) -> Result<(), KvError> {
        let compact = |client: Client| async move {
            client
                .kv_client()
                .compact(revision, Some(CompactionOptions::new().with_physical()))
                .await
        };
        match self.call("compact", Retry::OnlyIfNotSent, compact).await {
            Ok(_) => Ok(()),
            // Already compacted at or beyond `revision`: nothing left to do.
            Err(CallFailure::Etcd(err))
                if errors::revision_problem(&err) == Some(errors::RevisionProblem::Compacted) =>
            {
                Ok(())
            }
            Err(err) => Err(self.error(err)),
        }
    }

    fn location(&self) -> String {
        redact_urls(&self.endpoints.join(","))
    }

    fn datastore_type(&self) -> &'static str {
        "etcdv3"
    }
}

/// Opens a watch of `prefix` for the changes after `after`, on whichever member answers.
async fn open_watch(
    members: &Members,
    prefix: &str,
    after: i64,
) -> Result<WatchStream, CallFailure> {
    // Calico watches from `after + 1`. Starting at `after` instead (and skipping its
    // events) makes a compacted `after` an error, as in the embedded store: the caller's
    // state at `after` can no longer be checked against history. Revision 0 would mean
    // "now" to etcd, so the earliest start is 1.
    let options = WatchOptions::new()
        .with_range(prefix_end(prefix.as_bytes()))
        .with_start_revision(after.max(1))
        .with_prev_key();
    members
        .call("watch", Retry::Always, |client| {
            let options = options.clone();
            async move { client.watch_client().watch(prefix, Some(options)).await }
        })
        .await
        .map(|answer| answer.value)
}

/// How many times in a row a watch is reopened without receiving anything before its failure
/// is reported.
const WATCH_RESUMES: u32 = 5;

struct WatchState {
    stream: WatchStream,
    pending: VecDeque<RawEvent>,
    done: bool,
    /// The revision of the last event delivered (or the starting point).
    after: i64,
    location: String,
    members: std::sync::Arc<Members>,
    prefix: String,
    /// Reopenings since the last message.
    resumes: u32,
}

impl WatchState {
    /// After the member serving the watch failed (killed, restarted, its connection lost),
    /// opens it again from the last delivered revision on a member that answers, as clientv3
    /// does. Whatever was compacted meanwhile comes back as etcd's compaction cancel.
    async fn resume(&mut self, failure: String) -> Result<(), KvError> {
        if self.resumes >= WATCH_RESUMES {
            return Err(KvError::Store(failure));
        }
        self.resumes += 1;
        tracing::debug!(prefix = %self.prefix, after = self.after, %failure,
            "resuming an etcd watch on another member");
        match open_watch(&self.members, &self.prefix, self.after).await {
            Ok(stream) => {
                self.stream = stream;
                Ok(())
            }
            Err(err) => Err(err.into_kv(&self.location)),
        }
    }
}

/// Whether a watch stream's failure is its member's (so another member may serve it), rather
/// than an answer about the watch itself.
fn watch_failure_is_the_members(err: &etcd_client::Error) -> bool {
    match err {
        etcd_client::Error::GRpcStatus(status) => matches!(
            status.code(),
            tonic::Code::Unavailable
                | tonic::Code::Unknown
                | tonic::Code::Cancelled
                | tonic::Code::DeadlineExceeded
                | tonic::Code::Internal
        ),
        etcd_client::Error::TransportError(_) | etcd_client::Error::IoError(_) => true,
        _ => false,
    }
}

async fn next_event(mut state: WatchState) -> Option<(Result<RawEvent, KvError>, WatchState)> {
    loop {
        if let Some(event) = state.pending.pop_front() {
            return Some((Ok(event), state));
        }
        if state.done {
            return None;
        }
        let failure = match state.stream.message().await {
            Ok(Some(message)) => {
                state.resumes = 0;
                Ok(message)
            }
            Ok(None) => Err(format!("etcd at {} closed the watch", state.location)),
            Err(err) if watch_failure_is_the_members(&err) => {
                Err(errors::describe_error(&state.location, &err))
            }
            Err(err) => {
                state.done = true;
                let err = KvError::Store(errors::describe_error(&state.location, &err));
                return Some((Err(err), state));
            }
        };
        let message = match failure {
            Ok(message) => message,
            Err(failure) => {
                if let Err(err) = state.resume(failure).await {
                    state.done = true;
                    return Some((Err(err), state));
                }
                continue;
            }
        };
        if message.canceled() {
            state.done = true;
            let err = if message.compact_revision() > 0 {
                KvError::Compacted {
                    requested: state.after,
                    compacted: message.compact_revision(),
                }
            } else {
                KvError::Store(format!(
                    "etcd cancelled the watch: {}",
                    message.cancel_reason()
                ))
            };
            return Some((Err(err), state));
        }
        for event in message.events() {
            let Some(kv) = event.kv() else { continue };
            if kv.mod_revision() <= state.after {
                continue;
            }
            let raw = match event.event_type() {
                EventType::Put => RawEvent::Put {
                    kv: raw_kv(kv),
                    // A first version is a creation, whatever came before.
                    previous: if kv.version() == 1 {
                        None
                    } else {
                        event.prev_kv().map(raw_kv)
                    },
                },
                EventType::Delete => RawEvent::Delete {
                    key: String::from_utf8_lossy(kv.key()).into_owned(),
                    revision: kv.mod_revision(),
                    previous: event.prev_kv().map(raw_kv),
                },
            };
            state.after = raw.revision();
            state.pending.push_back(raw);
        }
    }
}

#[cfg(test)]
mod tests;
