//! A deadline on every request to the API server, and retries of what is safe to retry.
//!
//! kube-rs's own retry (429/503/504, up to 15 times with delays growing to 1,000 s) is turned
//! off: it retries creates whose outcome is unknown and has no bound on the total time. This
//! layer, outermost in the client's stack, instead:
//! - gives each attempt [`Resilience::request_timeout`] to answer (the response's head; a watch's
//!   or a list's body streams afterwards). A server that accepts and never answers becomes
//!   [`NoAnswer`], naming the server, and is not retried (a hung server stays hung);
//! - retries, with exponential backoff and jitter, within [`Resilience::retry_budget`] in all:
//!   requests never sent (connection refused or not made, once the server has answered at
//!   least once: before that it fails at once, as a server that is down should), and 429 or 503 with `Retry-After`
//!   (the server did not act on them; its `Retry-After` is honoured within the budget), for
//!   every method; and failures whose outcome is unknown (a connection dropped on the way,
//!   500 `etcdserver: leader changed` / `request timed out` / `no leader`, 503 without
//!   `Retry-After`, 504) for reads, creates and updates, never deletes;
//! - a create or update retried after an unknown outcome that meets 409 (already exists,
//!   conflict) reads the object back: when it holds what was sent (everything but `metadata`
//!   and `status`, plus labels and annotations) the first attempt was stored, and the read is
//!   the answer (201/200); otherwise the 409 stands.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use kube::client::{Body, DynBody};
use tower::{BoxError, Layer, Service, ServiceExt};

/// The environment variable that sets the deadline of one request (Go duration syntax, e.g.
/// `30s`; `0` turns it off).
pub const REQUEST_TIMEOUT_ENV: &str = "K8S_REQUEST_TIMEOUT";

/// The default deadline of one request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The default time within which retries are made.
pub const DEFAULT_RETRY_BUDGET: Duration = Duration::from_secs(20);

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// The server accepted the request but gave no answer in time.
#[derive(Debug, thiserror::Error)]
#[error("the Kubernetes API server at {url} did not answer within {after:?} (set {REQUEST_TIMEOUT_ENV} to wait longer)")]
pub struct NoAnswer {
    pub url: String,
    pub after: Duration,
}

/// Deadlines and retries for one API server.
#[derive(Clone, Debug)]
pub struct Resilience {
    /// The server's URL, for messages.
    pub url: String,
    /// How long one attempt may wait for the response's head (`None`: for ever).
    pub request_timeout: Option<Duration>,
    /// How long, from the first attempt, retries may still start.
    pub retry_budget: Duration,
    /// Whether the server has answered once: until it has, a refused connection fails at once
    /// (a server that is down, or a wrong address, is reported without waiting).
    pub reached: Arc<std::sync::atomic::AtomicBool>,
}

impl Resilience {
    /// The settings for `url`, with the deadline from [`REQUEST_TIMEOUT_ENV`] when set.
    pub fn from_env(url: &str) -> Result<Self, String> {
        let request_timeout = match std::env::var(REQUEST_TIMEOUT_ENV) {
            Ok(text) if !text.trim().is_empty() => parse_timeout(text.trim())?,
            _ => Some(DEFAULT_REQUEST_TIMEOUT),
        };
        Ok(Resilience {
            url: url.to_string(),
            request_timeout,
            retry_budget: DEFAULT_RETRY_BUDGET,
            reached: Arc::default(),
        })
    }
}

/// `30s`, `1m30s`, `250ms` or a bare number of seconds; `0` is no deadline.
fn parse_timeout(text: &str) -> Result<Option<Duration>, String> {
    let nanos = match text.parse::<u64>() {
        Ok(secs) => i64::try_from(secs.saturating_mul(1_000_000_000)).unwrap_or(i64::MAX),
        Err(_) => calico_api::Duration::parse(text)
            .map_err(|e| format!("invalid {REQUEST_TIMEOUT_ENV} {text:?}: {e}"))?
            .as_nanos(),
    };
    if nanos < 0 {
        return Err(format!("invalid {REQUEST_TIMEOUT_ENV} {text:?}: negative"));
    }
    Ok((nanos > 0).then(|| Duration::from_nanos(nanos.unsigned_abs())))
}

impl<S> Layer<S> for Resilience {
    type Service = ResilientService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ResilientService {
            inner: Arc::new(tokio::sync::Mutex::new(inner)),
            settings: Arc::new(self.clone()),
        }
    }
}

/// The service [`Resilience`] wraps around kube's stack.
pub struct ResilientService<S> {
    inner: Arc<tokio::sync::Mutex<S>>,
    settings: Arc<Resilience>,
}

type Reply = Response<Box<DynBody>>;

/// kube's client stack, as this layer drives it.
pub trait Stack:
    Service<Request<Body>, Response = Reply, Error = BoxError, Future: Send + 'static> + Send + 'static
{
}

impl<S> Stack for S where
    S: Service<Request<Body>, Response = Reply, Error = BoxError, Future: Send + 'static>
        + Send
        + 'static
{
}

impl<S> Service<Request<Body>> for ResilientService<S>
where
    S: Stack,
{
    type Response = Reply;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Reply, BoxError>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        // Readiness of the inner stack is awaited per attempt.
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let inner = self.inner.clone();
        let settings = self.settings.clone();
        Box::pin(async move { send_with_retries(&inner, &settings, request).await })
    }
}

/// How a failed attempt may be retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Retry {
    /// The server did not act on it: any method.
    NotActedOn,
    /// It may have been acted on: reads, creates and updates (checked by reading back).
    Unknown,
    /// Not retryable.
    No,
}

async fn send_with_retries<S>(
    inner: &tokio::sync::Mutex<S>,
    settings: &Resilience,
    request: Request<Body>,
) -> Result<Reply, BoxError>
where
    S: Stack,
{
    let started = Instant::now();
    let method = request.method().clone();
    let writes = method == Method::POST || method == Method::PUT;
    let mut outcome_unknown = false;
    let mut attempt: u32 = 0;
    let mut current = request;
    loop {
        let spare = copy(&current);
        let result = attempt_once(inner, settings, current).await;
        let (retry, result, server_wait) = match result {
            Ok(reply) => {
                settings
                    .reached
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                classify_reply(reply).await
            }
            Err(err) => (classify_error(&err), Err(err), None),
        };
        // A retried write that was perhaps stored the first time meets its own success.
        let conflict = matches!(&result, Ok(reply) if reply.status() == StatusCode::CONFLICT);
        if outcome_unknown && writes && conflict {
            if let Some(sent) = spare.as_ref().and_then(copy) {
                if let Some(stored) = read_back(inner, settings, sent).await {
                    return Ok(stored);
                }
            }
        }
        let reached = settings.reached.load(std::sync::atomic::Ordering::Relaxed);
        let allowed = match retry {
            Retry::NotActedOn => reached || result.is_ok(),
            Retry::Unknown => method == Method::GET || writes,
            Retry::No => false,
        };
        let Some(next) = spare.filter(|_| allowed) else {
            return result;
        };
        let wait = server_wait.unwrap_or_else(|| backoff(attempt));
        if started.elapsed() + wait > settings.retry_budget {
            return result;
        }
        match &result {
            Err(err) => {
                tracing::debug!(url = %settings.url, %method, error = %err, ?wait, "retrying a Kubernetes API request")
            }
            Ok(reply) => {
                tracing::debug!(url = %settings.url, %method, status = %reply.status(), ?wait, "retrying a Kubernetes API request")
            }
        }
        outcome_unknown |= retry == Retry::Unknown;
        tokio::time::sleep(wait).await;
        attempt += 1;
        current = next;
    }
}

/// One attempt, within the deadline.
async fn attempt_once<S>(
    inner: &tokio::sync::Mutex<S>,
    settings: &Resilience,
    request: Request<Body>,
) -> Result<Reply, BoxError>
where
    S: Stack,
{
    let future = {
        let mut service = inner.lock().await;
        service.ready().await?;
        service.call(request)
    };
    match settings.request_timeout {
        None => future.await,
        Some(after) => match tokio::time::timeout(after, future).await {
            Ok(result) => result,
            Err(_) => Err(Box::new(NoAnswer {
                url: settings.url.clone(),
                after,
            })),
        },
    }
}

/// A copy of a request whose body is in memory (all but streamed uploads).
fn copy(request: &Request<Body>) -> Option<Request<Body>> {
    let body = request.body().try_clone()?;
    let mut copy = Request::builder()
        .method(request.method().clone())
        .uri(request.uri().clone())
        .version(request.version())
        .body(body)
        .ok()?;
    *copy.headers_mut() = request.headers().clone();
    Some(copy)
}

fn classify_error(err: &BoxError) -> Retry {
    let mut source: Option<&(dyn StdError + 'static)> = Some(err.as_ref());
    while let Some(current) = source {
        if current.downcast_ref::<NoAnswer>().is_some() {
            return Retry::No;
        }
        if let Some(client) = current.downcast_ref::<hyper_util::client::legacy::Error>() {
            if client.is_connect() {
                return Retry::NotActedOn;
            }
        }
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind;
            match io.kind() {
                ErrorKind::ConnectionRefused => return Retry::NotActedOn,
                ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::BrokenPipe
                | ErrorKind::UnexpectedEof => return Retry::Unknown,
                _ => {}
            }
        }
        if let Some(hyper) = current.downcast_ref::<hyper::Error>() {
            if hyper.is_incomplete_message() || hyper.is_closed() || hyper.is_canceled() {
                return Retry::Unknown;
            }
        }
        source = current.source();
    }
    Retry::No
}

/// What the API server's etcd says when a request may or may not have been applied.
const ETCD_TRANSIENT: &[&str] = &[
    "etcdserver: leader changed",
    "etcdserver: request timed out",
    "etcdserver: no leader",
    "etcdserver: too many requests",
];

/// Classifies a reply; the body of an error reply is read (and put back) to do so. Returns the
/// server's `Retry-After` when it gave one.
async fn classify_reply(reply: Reply) -> (Retry, Result<Reply, BoxError>, Option<Duration>) {
    let status = reply.status();
    let retry_after = reply
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    match status {
        StatusCode::TOO_MANY_REQUESTS => (Retry::NotActedOn, Ok(reply), retry_after),
        StatusCode::SERVICE_UNAVAILABLE if retry_after.is_some() => {
            (Retry::NotActedOn, Ok(reply), retry_after)
        }
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
            (Retry::Unknown, Ok(reply), None)
        }
        StatusCode::INTERNAL_SERVER_ERROR => {
            let (parts, body) = reply.into_parts();
            let bytes = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(err) => return (Retry::Unknown, Err(err), None),
            };
            let text = String::from_utf8_lossy(&bytes);
            let transient = ETCD_TRANSIENT.iter().any(|t| text.contains(t))
                || text.contains("Timeout: request did not complete");
            let reply = Response::from_parts(parts, boxed(bytes));
            let retry = if transient { Retry::Unknown } else { Retry::No };
            (retry, Ok(reply), None)
        }
        _ => (Retry::No, Ok(reply), None),
    }
}

fn boxed(bytes: Bytes) -> Box<DynBody> {
    Box::new(http_body_util::Full::new(bytes).map_err(|never| match never {}))
}

/// Exponential backoff from 100 ms, doubling to at most 4 s, with ±50 % jitter.
fn backoff(attempt: u32) -> Duration {
    let base = FIRST_BACKOFF
        .saturating_mul(1u32 << attempt.min(6))
        .min(MAX_BACKOFF);
    // A uuid's random bits are the jitter (no extra dependency for a random number).
    let random = (uuid::Uuid::new_v4().as_u128() % 1000) as u32;
    base / 2 + base * random / 1000
}

/// Reads back the object a create (POST to the collection) or update (PUT to the object) sent;
/// when it holds what was sent, returns it as that request's success.
async fn read_back<S>(
    inner: &tokio::sync::Mutex<S>,
    settings: &Resilience,
    sent: Request<Body>,
) -> Option<Reply>
where
    S: Stack,
{
    let body = sent.body().try_clone()?.collect_bytes().await.ok()?;
    let sent_object: serde_json::Value = serde_json::from_slice(&body).ok()?;
    let (uri, success) = if sent.method() == Method::POST {
        let name = sent_object.pointer("/metadata/name")?.as_str()?;
        let mut parts = sent.uri().clone().into_parts();
        let path_and_query = parts.path_and_query.as_ref()?;
        let path = format!("{}/{name}", path_and_query.path().trim_end_matches('/'));
        parts.path_and_query = Some(path.parse().ok()?);
        (http::Uri::from_parts(parts).ok()?, StatusCode::CREATED)
    } else {
        let mut parts = sent.uri().clone().into_parts();
        let path = parts.path_and_query.as_ref()?.path().to_string();
        parts.path_and_query = Some(path.parse().ok()?);
        (http::Uri::from_parts(parts).ok()?, StatusCode::OK)
    };
    let mut get = Request::builder()
        .method(Method::GET)
        .uri(uri)
        .body(Body::empty())
        .ok()?;
    for (name, value) in sent.headers() {
        if name != http::header::CONTENT_TYPE && name != http::header::CONTENT_LENGTH {
            get.headers_mut().insert(name.clone(), value.clone());
        }
    }
    let reply = attempt_once(inner, settings, get).await.ok()?;
    if reply.status() != StatusCode::OK {
        return None;
    }
    let (mut parts, body) = reply.into_parts();
    let bytes = body.collect().await.ok()?.to_bytes();
    let stored: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    if !same_content(&sent_object, &stored) {
        return None;
    }
    tracing::debug!(url = %settings.url, "a retried write had been stored by its first attempt");
    parts.status = success;
    Some(Response::from_parts(parts, boxed(bytes)))
}

/// Whether `stored` holds what `sent` asked for: every top-level field but `metadata`,
/// `status` and the type's `apiVersion`/`kind`, and the labels and annotations.
fn same_content(sent: &serde_json::Value, stored: &serde_json::Value) -> bool {
    let (Some(sent_map), Some(stored_map)) = (sent.as_object(), stored.as_object()) else {
        return false;
    };
    let skipped = ["metadata", "status", "apiVersion", "kind"];
    let fields_match = sent_map
        .iter()
        .filter(|(key, _)| !skipped.contains(&key.as_str()))
        .all(|(key, value)| stored_map.get(key) == Some(value));
    let empty = serde_json::Value::Object(serde_json::Map::new());
    let meta = |object: &serde_json::Value, field: &str| {
        object
            .pointer(&format!("/metadata/{field}"))
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or_else(|| empty.clone())
    };
    fields_match
        && meta(sent, "labels") == meta(stored, "labels")
        && meta(sent, "annotations") == meta(stored, "annotations")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    type Script = dyn Fn(usize, &Request<Body>) -> Result<Reply, BoxError> + Send + Sync;

    /// A fake API server behind the layer: answers from `script`, one entry per request, and
    /// records the methods it saw.
    struct Fake {
        seen: Arc<std::sync::Mutex<Vec<String>>>,
        script: Arc<Script>,
        calls: Arc<AtomicUsize>,
    }

    impl Service<Request<Body>> for Fake {
        type Response = Reply;
        type Error = BoxError;
        type Future = BoxFuture<'static, Result<Reply, BoxError>>;

        fn poll_ready(
            &mut self,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), BoxError>> {
            std::task::Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: Request<Body>) -> Self::Future {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut seen) = self.seen.lock() {
                seen.push(format!("{} {}", request.method(), request.uri().path()));
            }
            let result = (self.script)(n, &request);
            Box::pin(async move { result })
        }
    }

    fn reply(status: u16, body: &str) -> Reply {
        let mut reply = Response::new(boxed(Bytes::from(body.to_string())));
        *reply.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        reply
    }

    fn settings() -> Resilience {
        Resilience {
            url: "http://127.0.0.1:1".into(),
            request_timeout: Some(Duration::from_secs(5)),
            retry_budget: Duration::from_secs(5),
            reached: Arc::new(std::sync::atomic::AtomicBool::new(true)),
        }
    }

    const OBJECT: &str = r#"{"apiVersion":"crd.projectcalico.org/v1","kind":"GlobalNetworkSet","metadata":{"name":"s1","labels":{"a":"b"}},"spec":{"nets":["192.0.2.0/24"]}}"#;

    fn create() -> Request<Body> {
        Request::builder()
            .method(Method::POST)
            .uri("http://127.0.0.1:1/apis/crd.projectcalico.org/v1/globalnetworksets")
            .body(Body::from(OBJECT.as_bytes().to_vec()))
            .unwrap_or_else(|_| Request::new(Body::empty()))
    }

    async fn run(
        script: impl Fn(usize, &Request<Body>) -> Result<Reply, BoxError> + Send + Sync + 'static,
        request: Request<Body>,
    ) -> (Result<Reply, BoxError>, Vec<String>) {
        run_with(settings(), script, request).await
    }

    async fn run_with(
        settings: Resilience,
        script: impl Fn(usize, &Request<Body>) -> Result<Reply, BoxError> + Send + Sync + 'static,
        request: Request<Body>,
    ) -> (Result<Reply, BoxError>, Vec<String>) {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let fake = Fake {
            seen: seen.clone(),
            script: Arc::new(script),
            calls: Arc::new(AtomicUsize::new(0)),
        };
        let mut service = settings.layer(fake);
        let result = service.call(request).await;
        let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
        (result, seen)
    }

    fn reset() -> BoxError {
        Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionReset))
    }

    const ALREADY_EXISTS: &str = r#"{"kind":"Status","reason":"AlreadyExists","code":409}"#;

    /// A create whose first reply is lost, whose retry meets 409, and whose read-back finds
    /// `found`.
    async fn lost_then_conflict(found: String) -> (Result<Reply, BoxError>, Vec<String>) {
        run(
            move |n, _| match n {
                0 => Err(reset()),
                1 => Ok(reply(409, ALREADY_EXISTS)),
                _ => Ok(reply(200, &found)),
            },
            create(),
        )
        .await
    }

    #[tokio::test]
    async fn a_create_stored_before_its_reply_was_lost_is_a_success_not_already_exists() {
        let stored = OBJECT.replace(
            r#""name":"s1""#,
            r#""name":"s1","uid":"u1","resourceVersion":"9""#,
        );
        let (result, seen) = lost_then_conflict(stored).await;
        let reply = result.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reply.status(), StatusCode::CREATED);
        assert_eq!(
            seen,
            [
                "POST /apis/crd.projectcalico.org/v1/globalnetworksets",
                "POST /apis/crd.projectcalico.org/v1/globalnetworksets",
                "GET /apis/crd.projectcalico.org/v1/globalnetworksets/s1",
            ]
        );
    }

    #[tokio::test]
    async fn a_different_object_in_the_way_is_still_already_exists() {
        let other = OBJECT.replace("192.0.2.0/24", "198.51.100.0/24");
        let (result, _) = lost_then_conflict(other).await;
        let reply = result.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reply.status(), StatusCode::CONFLICT);
    }

    #[tokio::test]
    async fn a_409_without_an_earlier_unknown_outcome_is_not_read_back() {
        let (result, seen) = run(|_, _| Ok(reply(409, ALREADY_EXISTS)), create()).await;
        assert_eq!(result.map(|r| r.status()).ok(), Some(StatusCode::CONFLICT));
        assert_eq!(seen.len(), 1);
    }

    #[tokio::test]
    async fn throttling_and_leader_changes_are_retried() {
        let (result, seen) = run(
            |n, _| match n {
                0 => {
                    let mut r = reply(429, "");
                    r.headers_mut().insert(
                        http::header::RETRY_AFTER,
                        http::HeaderValue::from_static("0"),
                    );
                    Ok(r)
                }
                1 => Ok(reply(500, r#"{"message":"etcdserver: leader changed"}"#)),
                _ => Ok(reply(201, OBJECT)),
            },
            create(),
        )
        .await;
        assert_eq!(result.map(|r| r.status()).ok(), Some(StatusCode::CREATED));
        assert_eq!(seen.len(), 3);
    }

    fn refused() -> BoxError {
        Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
    }

    #[tokio::test]
    async fn a_refused_connection_is_retried_once_the_server_has_answered() {
        let (result, seen) = run(
            |n, _| match n {
                0 | 1 => Err(refused()),
                _ => Ok(reply(201, OBJECT)),
            },
            create(),
        )
        .await;
        assert_eq!(result.map(|r| r.status()).ok(), Some(StatusCode::CREATED));
        assert_eq!(seen.len(), 3);
        // A server never reached is reported at once.
        let fresh = Resilience {
            reached: Arc::default(),
            ..settings()
        };
        let (result, seen) = run_with(fresh, |_, _| Err(refused()), create()).await;
        assert!(result.is_err());
        assert_eq!(seen.len(), 1);
    }

    #[tokio::test]
    async fn a_delete_with_an_unknown_outcome_is_not_retried() {
        let request = Request::builder()
            .method(Method::DELETE)
            .uri("http://127.0.0.1:1/apis/crd.projectcalico.org/v1/globalnetworksets/s1")
            .body(Body::empty())
            .unwrap_or_else(|_| Request::new(Body::empty()));
        let (result, seen) = run(|_, _| Err(reset()), request).await;
        assert!(result.is_err());
        assert_eq!(seen.len(), 1);
    }

    #[tokio::test]
    async fn other_errors_are_answered_at_once() {
        let (result, seen) = run(|_, _| Ok(reply(500, r#"{"message":"boom"}"#)), create()).await;
        assert_eq!(
            result.map(|r| r.status()).ok(),
            Some(StatusCode::INTERNAL_SERVER_ERROR)
        );
        assert_eq!(seen.len(), 1);
    }

    #[test]
    fn timeouts_parse() {
        assert_eq!(parse_timeout("5").unwrap(), Some(Duration::from_secs(5)));
        assert_eq!(
            parse_timeout("1m30s").unwrap(),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_timeout("250ms").unwrap(),
            Some(Duration::from_millis(250))
        );
        assert_eq!(parse_timeout("0").unwrap(), None);
        assert!(parse_timeout("soon").is_err());
        assert!(parse_timeout("-1s").is_err());
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        for attempt in 0..20 {
            let wait = backoff(attempt);
            let base = FIRST_BACKOFF
                .saturating_mul(1u32 << attempt.min(6))
                .min(MAX_BACKOFF);
            assert!(
                wait >= base / 2 && wait <= base + base / 2,
                "{attempt}: {wait:?}"
            );
        }
    }

    #[test]
    fn content_is_compared_without_server_metadata() {
        let sent = serde_json::json!({
            "apiVersion": "crd.projectcalico.org/v1", "kind": "IPPool",
            "metadata": {"name": "p", "labels": {"a": "b"}},
            "spec": {"cidr": "10.0.0.0/24"}
        });
        let stored = serde_json::json!({
            "apiVersion": "crd.projectcalico.org/v1", "kind": "IPPool",
            "metadata": {"name": "p", "labels": {"a": "b"}, "uid": "u", "resourceVersion": "7"},
            "spec": {"cidr": "10.0.0.0/24"}
        });
        assert!(same_content(&sent, &stored));
        let other = serde_json::json!({
            "metadata": {"name": "p", "labels": {"a": "b"}},
            "spec": {"cidr": "10.0.1.0/24"}
        });
        assert!(!same_content(&sent, &other));
        let relabelled = serde_json::json!({
            "metadata": {"name": "p"},
            "spec": {"cidr": "10.0.0.0/24"}
        });
        assert!(!same_content(&sent, &relabelled));
    }
}
