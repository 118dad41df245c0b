//! Endpoint failover, deadlines and retries, as etcd's Go client (clientv3) provides them to
//! Calico.
//!
//! Every listed endpoint gets its own gRPC client (connected lazily). Requests go to one
//! *preferred* member; when a request to it fails in a way that says "this member cannot serve
//! us now" (connection refused or reset, no answer within the attempt deadline, etcd's
//! "unavailable", "no leader", "leader changed", "request timed out", "too many requests"), the
//! next member becomes preferred and the request is retried there at once; after every member
//! has been tried, retries pause with exponential backoff and full jitter. Every attempt has a
//! deadline ([`Timeouts::attempt`]) and every request a total budget ([`Timeouts::request`]),
//! so a member stopped with SIGSTOP costs at most one attempt deadline before the request moves
//! on, and a cluster that never answers gives an error naming the endpoint within the budget.
//!
//! What may be retried depends on what a failure leaves unknown ([`Retry`]):
//! - reads are always retried;
//! - a failure before the request left us (no connection, etcd's "no leader" or "too many
//!   requests", which it answers before proposing anything) never leaves an effect, so every
//!   request is retried after one;
//! - any other failure of a write (a reset connection, a deadline, "request timed out", "leader
//!   changed") may come after etcd applied it. The conditional writes (create: `Version == 0`,
//!   update: `ModRevision == rev`) are retried anyway, and their callers are told
//!   ([`Answer::uncertain`]) so that a failed compare on the retry is checked against our own
//!   write (see `batch::Op::outcome`) instead of being reported as "already exists" or a
//!   conflict. Deletes at a revision are retried likewise (`EtcdStore::delete_at` checks a
//!   missing key against etcd's history). Unconditional writes (a delete of whatever the key
//!   holds, compaction) are not retried after such a failure: their outcome cannot be told
//!   from the store's state (`EtcdStore::delete_any` reads the key and, still there, deletes
//!   it at the revision read).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use calico_datastore::backoff::Backoff;
use calico_datastore::kv::KvError;
use etcd_client::{Client, ConnectOptions};
use tokio::sync::OnceCell;

/// The default deadline of one request, retries included (Calico's clientv3 calls have no
/// deadline of their own; its dial timeout is 10 s). `ETCD_REQUEST_TIMEOUT` changes it.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest one attempt may take before the next member is tried: longer than etcd's own
/// server-side request timeout (5 s plus two election timeouts, 7 s by default), so that a slow
/// but live member answers first.
pub const MAX_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Deadlines of requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// One request, retries and failovers included.
    pub request: Duration,
    /// One attempt on one member.
    pub attempt: Duration,
}

impl Timeouts {
    /// Deadlines for a request budget: attempts of a third of it, at most
    /// [`MAX_ATTEMPT_TIMEOUT`].
    pub fn for_request(request: Duration) -> Timeouts {
        Timeouts {
            request,
            attempt: (request / 3).clamp(Duration::from_millis(100), MAX_ATTEMPT_TIMEOUT),
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts::for_request(DEFAULT_REQUEST_TIMEOUT)
    }
}

/// How long the connection check waits for one member before also asking the next.
pub const CHECK_HEAD_START: Duration = Duration::from_millis(500);

/// Pauses between retries once every member has been tried.
const RETRY_PAUSES: (Duration, Duration) = (Duration::from_millis(25), Duration::from_secs(1));

/// What a request may be retried after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Reads, writes whose answer tells whether they had already been applied, and
    /// unconditional puts (sending one twice leaves what sending it once does).
    Always,
    /// Writes whose outcome cannot be checked afterwards.
    OnlyIfNotSent,
}

/// What a failure tells about the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Failure {
    /// The request never reached etcd's state machine: safe to send again.
    NotApplied,
    /// The member failed after the request may have been applied.
    Unknown,
    /// An answer that retrying will not change (a refused request, bad credentials).
    Final,
}

/// A successful answer, and whether an earlier attempt may have applied the request already.
pub struct Answer<T> {
    pub value: T,
    pub uncertain: bool,
}

/// Why a request failed in the end.
pub enum CallError {
    /// etcd's (or the transport's) last answer.
    Etcd(etcd_client::Error),
    /// No answer from `endpoint` within the deadline.
    NoAnswer { endpoint: String, after: Duration },
}

impl CallError {
    /// Whether the request may have been applied although it failed (its answer was lost).
    pub fn maybe_applied(&self) -> bool {
        match self {
            CallError::Etcd(err) => classify(err) == Failure::Unknown,
            CallError::NoAnswer { .. } => true,
        }
    }

    /// The store's one-line error.
    pub fn into_kv(self, location: &str) -> KvError {
        match self {
            CallError::Etcd(err) => KvError::Store(crate::errors::describe_error(location, &err)),
            CallError::NoAnswer { endpoint, after } => KvError::Store(format!(
                "etcd at {endpoint} did not answer within {} (set ETCD_REQUEST_TIMEOUT to wait \
                 longer)",
                seconds(after)
            )),
        }
    }
}

fn seconds(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis.is_multiple_of(1000) {
        format!("{}s", millis / 1000)
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

struct Member {
    url: String,
    client: OnceCell<Client>,
}

/// The members of a cluster, one client each, and which one requests go to.
pub struct Members {
    members: Vec<Member>,
    preferred: AtomicUsize,
    /// Set when a request spent its whole budget without any member answering, cleared by
    /// the next answer: while set, requests try each member once and give up without pausing,
    /// so a command over thousands of resources against a lost cluster ends in about one
    /// budget instead of one budget per resource.
    unreachable: AtomicBool,
    options: ConnectOptions,
    timeouts: Timeouts,
}

impl Members {
    pub fn new(urls: &[String], options: ConnectOptions, timeouts: Timeouts) -> Members {
        Members {
            members: urls
                .iter()
                .map(|url| Member {
                    url: url.clone(),
                    client: OnceCell::new(),
                })
                .collect(),
            preferred: AtomicUsize::new(0),
            unreachable: AtomicBool::new(false),
            options,
            timeouts,
        }
    }

    /// The client of member `index`, connecting it first if needed (with credentials, that
    /// authenticates).
    async fn client(&self, index: usize) -> Result<Client, etcd_client::Error> {
        let member = &self.members[index];
        member
            .client
            .get_or_try_init(|| {
                Client::connect(
                    std::slice::from_ref(&member.url),
                    Some(self.options.clone()),
                )
            })
            .await
            .cloned()
    }

    /// The client of the preferred member (for tools and tests).
    pub async fn any_client(&self) -> Result<Client, etcd_client::Error> {
        self.client(self.preferred.load(Ordering::Relaxed) % self.members.len())
            .await
    }

    /// The connection check: asks the members for their status, each within `per_member`,
    /// and prefers the first that answers. Like Happy Eyeballs, member `i + 1` is asked when
    /// member `i` has not answered within [`CHECK_HEAD_START`] (or has failed), so a member
    /// that accepts connections but never answers (stopped with SIGSTOP) delays nothing much.
    /// All failing gives the first member's failure, which names the usual causes best.
    pub async fn check(&self, per_member: Duration) -> Result<(), CallError> {
        use futures::stream::{FuturesUnordered, StreamExt};
        let count = self.members.len();
        let ask = |index: usize| async move {
            let attempt = async {
                let mut client = self.client(index).await?;
                client.status().await
            };
            let result = match tokio::time::timeout(per_member, attempt).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(err)) => Err(CallError::Etcd(err)),
                Err(_) => Err(CallError::NoAnswer {
                    endpoint: self.members[index].url.clone(),
                    after: per_member,
                }),
            };
            (index, result)
        };
        let mut asking = FuturesUnordered::new();
        let mut failures: Vec<Option<CallError>> = (0..count).map(|_| None).collect();
        let mut next = 0;
        loop {
            if asking.is_empty() && next < count {
                asking.push(ask(next));
                next += 1;
            }
            tokio::select! {
                Some((index, result)) = asking.next() => match result {
                    Ok(()) => {
                        self.preferred.store(index, Ordering::Relaxed);
                        self.unreachable.store(false, Ordering::Relaxed);
                        return Ok(());
                    }
                    Err(failure) => {
                        tracing::debug!(endpoint = %self.members[index].url,
                            error = %describe(&failure),
                            "etcd member did not answer the connection check");
                        failures[index] = Some(failure);
                    }
                },
                () = tokio::time::sleep(CHECK_HEAD_START), if next < count => {
                    asking.push(ask(next));
                    next += 1;
                }
                else => break,
            }
        }
        Err(failures
            .into_iter()
            .flatten()
            .next()
            .unwrap_or(CallError::NoAnswer {
                endpoint: String::new(),
                after: per_member,
            }))
    }

    /// Runs `request` on the preferred member, failing over and retrying as `retry` allows,
    /// within the request deadline.
    ///
    /// A request that fails after an attempt whose outcome is unknown fails with that
    /// attempt's error (a lost reply, no answer), not with a later "connection refused": the
    /// request may have been applied, and callers tell the two apart by the error.
    pub async fn call<T, F, Fut>(
        &self,
        what: &str,
        retry: Retry,
        request: F,
    ) -> Result<Answer<T>, CallError>
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        let count = self.members.len();
        let mut pauses = Backoff {
            base: RETRY_PAUSES.0,
            cap: RETRY_PAUSES.1,
            budget: self.timeouts.request,
        }
        .start();
        // The error of the first attempt that may have been applied.
        let mut uncertain: Option<CallError> = None;
        let mut tried_in_round = 0usize;
        loop {
            let index = self.preferred.load(Ordering::Relaxed) % count;
            let url = &self.members[index].url;
            let deadline = self.timeouts.attempt.min(pauses.remaining());
            let attempt = async {
                let client = self.client(index).await?;
                request(client).await
            };
            let (failure, error) = match tokio::time::timeout(deadline, attempt).await {
                Ok(Ok(value)) => {
                    self.unreachable.store(false, Ordering::Relaxed);
                    return Ok(Answer {
                        value,
                        uncertain: uncertain.is_some(),
                    });
                }
                Ok(Err(err)) => (classify(&err), CallError::Etcd(err)),
                Err(_) => (
                    Failure::Unknown,
                    CallError::NoAnswer {
                        endpoint: url.clone(),
                        // Cut short by the request's budget, the wait was the whole budget.
                        after: if deadline < self.timeouts.attempt {
                            self.timeouts.request
                        } else {
                            deadline
                        },
                    },
                ),
            };
            let retryable = match (failure, retry) {
                (Failure::Final, _) => false,
                (Failure::NotApplied, _) | (Failure::Unknown, Retry::Always) => true,
                (Failure::Unknown, Retry::OnlyIfNotSent) => false,
            };
            if !retryable {
                return Err(uncertain.unwrap_or(error));
            }
            tracing::debug!(
                %what,
                endpoint = %url,
                error = %describe(&error),
                "etcd request failed on one member"
            );
            let error = if failure == Failure::Unknown && uncertain.is_none() {
                uncertain = Some(error);
                None
            } else {
                Some(error)
            };
            // Move on to the next member, unless a concurrent request already has.
            let next = (index + 1) % count;
            let _ =
                self.preferred
                    .compare_exchange(index, next, Ordering::Relaxed, Ordering::Relaxed);
            tried_in_round += 1;
            let pause = if tried_in_round < count {
                Some(Duration::ZERO)
            } else if self.unreachable.load(Ordering::Relaxed) {
                // The cluster was lost before this request: one round is enough.
                None
            } else {
                tried_in_round = 0;
                pauses.next_pause()
            };
            let Some(pause) = pause.filter(|pause| *pause < pauses.remaining()) else {
                tracing::debug!(%what, endpoint = %url, "etcd request ran out of time");
                if tried_in_round == 0 || tried_in_round >= count {
                    self.unreachable.store(true, Ordering::Relaxed);
                }
                return Err(uncertain.or(error).unwrap_or(CallError::NoAnswer {
                    endpoint: url.clone(),
                    after: self.timeouts.request,
                }));
            };
            tracing::debug!(
                %what,
                next = %self.members[self.preferred.load(Ordering::Relaxed) % count].url,
                pause_ms = pause.as_millis() as u64,
                "retrying etcd request"
            );
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
        }
    }
}

fn describe(error: &CallError) -> String {
    match error {
        CallError::Etcd(err) => err.to_string(),
        CallError::NoAnswer { after, .. } => format!("no answer within {}", seconds(*after)),
    }
}

/// etcd's answers that it gives before proposing anything (so nothing was applied).
const NOT_APPLIED: &[&str] = &[
    "etcdserver: no leader",
    "etcdserver: too many requests",
    "etcdserver: not capable",
    "etcdserver: server stopped",
];

/// etcd's answers after which a write may or may not have been applied.
const MAYBE_APPLIED: &[&str] = &[
    "etcdserver: request timed out",
    "etcdserver: leader changed",
];

fn classify(err: &etcd_client::Error) -> Failure {
    match err {
        etcd_client::Error::TransportError(_) => Failure::NotApplied,
        etcd_client::Error::IoError(_) => Failure::Unknown,
        etcd_client::Error::GRpcStatus(status) => {
            let message = status.message();
            if NOT_APPLIED.iter().any(|m| message.starts_with(m)) {
                return Failure::NotApplied;
            }
            if MAYBE_APPLIED.iter().any(|m| message.starts_with(m)) {
                return Failure::Unknown;
            }
            match status.code() {
                tonic::Code::Unavailable if never_connected(status) => Failure::NotApplied,
                tonic::Code::Unavailable
                | tonic::Code::DeadlineExceeded
                | tonic::Code::Cancelled
                | tonic::Code::Unknown => Failure::Unknown,
                _ => Failure::Final,
            }
        }
        _ => Failure::Final,
    }
}

/// Whether a failure is one of establishing the connection (so the request was never sent).
fn never_connected(status: &tonic::Status) -> bool {
    use std::error::Error as _;
    let mut texts = vec![status.message().to_ascii_lowercase()];
    let mut source = status.source();
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return true;
            }
        }
        texts.push(err.to_string().to_ascii_lowercase());
        source = err.source();
    }
    texts.iter().any(|text| {
        text.contains("tcp connect error")
            || text.contains("error trying to connect")
            || text.contains("connection refused")
            || text.contains("dns error")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: tonic::Code, message: &str) -> etcd_client::Error {
        etcd_client::Error::GRpcStatus(tonic::Status::new(code, message))
    }

    #[test]
    fn failures_are_told_apart_by_what_they_leave_unknown() {
        use tonic::Code;
        assert_eq!(
            classify(&status(Code::Unavailable, "etcdserver: no leader")),
            Failure::NotApplied
        );
        assert_eq!(
            classify(&status(Code::Unavailable, "etcdserver: request timed out")),
            Failure::Unknown
        );
        assert_eq!(
            classify(&status(Code::Unavailable, "etcdserver: leader changed")),
            Failure::Unknown
        );
        assert_eq!(
            classify(&status(Code::Unavailable, "tcp connect error")),
            Failure::NotApplied
        );
        assert_eq!(
            classify(&status(Code::Unavailable, "transport error")),
            Failure::Unknown
        );
        assert_eq!(
            classify(&status(Code::DeadlineExceeded, "deadline")),
            Failure::Unknown
        );
        assert_eq!(
            classify(&status(
                Code::InvalidArgument,
                "etcdserver: authentication failed, invalid user ID or password"
            )),
            Failure::Final
        );
        assert_eq!(
            classify(&status(
                Code::OutOfRange,
                "etcdserver: mvcc: required revision has been compacted"
            )),
            Failure::Final
        );
    }

    #[test]
    fn attempts_get_a_third_of_the_request_budget_within_bounds() {
        assert_eq!(Timeouts::default().request, Duration::from_secs(30));
        assert_eq!(Timeouts::default().attempt, Duration::from_secs(10));
        assert_eq!(
            Timeouts::for_request(Duration::from_secs(3)).attempt,
            Duration::from_secs(1)
        );
        assert_eq!(
            Timeouts::for_request(Duration::from_millis(90)).attempt,
            Duration::from_millis(100)
        );
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5s");
        assert_eq!(seconds(Duration::from_secs(10)), "10s");
    }
}
