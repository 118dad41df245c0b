//! Group commit for etcd: conditional writes and reads that callers issue concurrently are sent
//! together as one etcd transaction of nested transactions, one per operation.
//!
//! Each nested transaction is exactly the one Calico sends for that operation (for a create,
//! `If(Version(key) == 0) Then(Put) Else(Get)`), so every operation keeps its own outcome; the
//! outer transaction has no condition. etcd evaluates the nested transactions in order inside one
//! revision, so the writes of one batch share a mod revision, as the writes of any etcd
//! transaction do. What changes is the cost: one raft entry and one round trip for up to
//! [`MAX_OPS`] operations instead of one each, which is what lets `calicoctl apply` of thousands
//! of resources run near the speed of raw puts.
//!
//! Batches form on their own, like a database's group commit: while [`MAX_IN_FLIGHT`]
//! transactions are on the wire, new operations queue, and the next transaction takes all of
//! them (writes of distinct keys only: etcd refuses two puts of one key in a transaction). A lone operation
//! is sent as its plain transaction. If etcd refuses a batch (a server configured with a lower
//! `--max-txn-ops` or `--max-request-bytes`), its operations are retried one by one.
//!
//! Batches and lone operations fail over and are retried like every request (see `failover`).
//! When an earlier attempt may have been applied, a failed compare is checked against our own
//! write before it is reported (see [`Op::outcome`]).

use std::collections::HashSet;
use std::sync::Arc;

use calico_datastore::kv::{CreateOutcome, KvError, RawKv, UpdateOutcome};
use etcd_client::{Client, Compare, CompareOp, KeyValue, TxnOp, TxnOpResponse, TxnResponse};
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::failover::{CallError, Members, Retry};
use crate::{first_kv, header_revision, raw_kv, unexpected};

/// Operations per batch. etcd's default `--max-txn-ops` is 128 and counts a nested
/// transaction's operations against what the outer one leaves, so 64 leaves room for each
/// nested transaction's two.
pub const MAX_OPS: usize = 64;
/// Bytes of values per batch, well under etcd's default 1.5 MiB request limit.
pub const MAX_BYTES: usize = 1 << 20;
/// Transactions on the wire at once; more operations wait and form the next batch.
pub const MAX_IN_FLIGHT: usize = 4;

/// One operation that can join a batch.
#[derive(Clone, Debug)]
pub enum Op {
    Create {
        key: String,
        value: Vec<u8>,
    },
    Update {
        key: String,
        value: Vec<u8>,
        expected: i64,
    },
    Get {
        key: String,
    },
}

impl Op {
    fn key(&self) -> &str {
        match self {
            Op::Create { key, .. } | Op::Update { key, .. } | Op::Get { key } => key,
        }
    }

    fn writes(&self) -> bool {
        !matches!(self, Op::Get { .. })
    }

    fn bytes(&self) -> usize {
        match self {
            Op::Create { key, value } | Op::Update { key, value, .. } => key.len() + value.len(),
            Op::Get { key } => key.len(),
        }
    }

    /// Calico's transaction for this operation.
    fn txn(&self) -> etcd_client::Txn {
        match self {
            Op::Create { key, value } => etcd_client::Txn::new()
                .when([Compare::version(key.as_str(), CompareOp::Equal, 0)])
                .and_then([TxnOp::put(key.as_str(), value.clone(), None)])
                .or_else([TxnOp::get(key.as_str(), None)]),
            Op::Update {
                key,
                value,
                expected,
            } => etcd_client::Txn::new()
                .when([
                    Compare::version(key.as_str(), CompareOp::Greater, 0),
                    Compare::mod_revision(key.as_str(), CompareOp::Equal, *expected),
                ])
                .and_then([TxnOp::put(key.as_str(), value.clone(), None)])
                .or_else([TxnOp::get(key.as_str(), None)]),
            Op::Get { key } => etcd_client::Txn::new().and_then([TxnOp::get(key.as_str(), None)]),
        }
    }

    /// Reads this operation's outcome from its transaction's answer; `revision` is the revision
    /// the (outer) transaction ran at.
    ///
    /// `uncertain` says that an earlier attempt of this very transaction failed after it may
    /// have been applied (a lost connection, a deadline, etcd's "request timed out"). Then a
    /// failed compare may be our own earlier write, and is taken as ours when the key holds
    /// exactly the bytes we wrote and:
    /// - create: the key has not changed since it was created (`version == 1`);
    /// - update: the key changed after the revision we updated from (`mod_revision >
    ///   expected`).
    ///
    /// Anyone else writing the same bytes in that window would leave the store exactly as our
    /// write would have, so reporting success is true to the store's content either way; and a
    /// value Calico's client writes on create carries a fresh UID and creation time, so an
    /// identical foreign create is not a practical case. A key changed again after our
    /// uncertain write is reported as the conflict it now is.
    fn outcome(
        &self,
        response: &TxnResponse,
        revision: i64,
        uncertain: bool,
    ) -> Result<OpResult, KvError> {
        let first = response.op_responses().into_iter().next();
        let ours = |current: &KeyValue| match self {
            Op::Create { value, .. } => current.value() == value && current.version() == 1,
            Op::Update {
                value, expected, ..
            } => current.value() == value && current.mod_revision() > *expected,
            Op::Get { .. } => false,
        };
        if uncertain && !response.succeeded() {
            if let Some(current) = first_key_value(first.as_ref()).filter(|kv| ours(kv)) {
                tracing::debug!(
                    key = %String::from_utf8_lossy(current.key()),
                    revision = current.mod_revision(),
                    "an etcd write whose answer was lost had been applied"
                );
                let revision = current.mod_revision();
                return Ok(match self {
                    Op::Create { .. } => OpResult::Create(CreateOutcome::Created { revision }),
                    _ => OpResult::Update(UpdateOutcome::Updated { revision }),
                });
            }
        }
        match self {
            Op::Create { .. } if response.succeeded() => {
                Ok(OpResult::Create(CreateOutcome::Created { revision }))
            }
            Op::Create { .. } => first_kv(first)
                .map(|kv| OpResult::Create(CreateOutcome::Exists(kv)))
                .ok_or_else(|| unexpected("a create")),
            Op::Update { .. } if response.succeeded() => {
                Ok(OpResult::Update(UpdateOutcome::Updated { revision }))
            }
            Op::Update { .. } => Ok(OpResult::Update(match first_kv(first) {
                Some(current) => UpdateOutcome::Conflict(current),
                None => UpdateOutcome::Missing,
            })),
            Op::Get { .. } => Ok(OpResult::Get(first_kv(first))),
        }
    }
}

/// The key-value a nested transaction's `Else(Get)` returned.
fn first_key_value(response: Option<&TxnOpResponse>) -> Option<&KeyValue> {
    match response {
        Some(TxnOpResponse::Get(get)) => get.kvs().first(),
        _ => None,
    }
}

/// What an [`Op`] came to.
#[derive(Clone, Debug)]
pub enum OpResult {
    Create(CreateOutcome),
    Update(UpdateOutcome),
    Get(Option<RawKv>),
}

struct Pending {
    op: Op,
    reply: oneshot::Sender<Result<OpResult, KvError>>,
}

/// The queue in front of etcd. Dropping every handle ends its worker.
pub struct Batcher {
    queue: mpsc::UnboundedSender<Pending>,
}

impl Batcher {
    /// Starts the worker on the current tokio runtime; `location` names the cluster in errors.
    pub fn start(members: Arc<Members>, location: String) -> Batcher {
        let (queue, receiver) = mpsc::unbounded_channel();
        tokio::spawn(work(members, Arc::new(location), receiver));
        Batcher { queue }
    }

    /// Runs one operation, in whatever batch it lands in.
    pub async fn run(&self, op: Op) -> Result<OpResult, KvError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Pending { op, reply })
            .map_err(|_| KvError::Store("the etcd client has shut down".into()))?;
        answer
            .await
            .map_err(|_| KvError::Store("the etcd client has shut down".into()))?
    }
}

async fn work(
    members: Arc<Members>,
    location: Arc<String>,
    mut receiver: mpsc::UnboundedReceiver<Pending>,
) {
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut held: Option<Pending> = None;
    loop {
        let first = match held.take() {
            Some(pending) => pending,
            None => match receiver.recv().await {
                Some(pending) => pending,
                None => return,
            },
        };
        // Wait for room on the wire before gathering, so operations that arrive meanwhile
        // join this batch.
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        // Keys written in this batch (reads of one key may share a batch: etcd refuses only
        // two writes of one key in a transaction).
        let mut keys = HashSet::new();
        if first.op.writes() {
            keys.insert(first.op.key().to_string());
        }
        let mut bytes = first.op.bytes();
        let mut batch = vec![first];
        while batch.len() < MAX_OPS && bytes < MAX_BYTES {
            let Ok(next) = receiver.try_recv() else { break };
            if next.op.writes() && !keys.insert(next.op.key().to_string()) {
                // A second write of a key waits for the next batch, keeping its order.
                held = Some(next);
                break;
            }
            bytes += next.op.bytes();
            batch.push(next);
        }
        let members = members.clone();
        let location = location.clone();
        tokio::spawn(async move {
            execute(&members, &location, batch).await;
            drop(permit);
        });
    }
}

async fn execute(members: &Members, location: &str, batch: Vec<Pending>) {
    if let [_] = batch.as_slice() {
        for pending in batch {
            let result = execute_one(members, location, &pending.op).await;
            let _ = pending.reply.send(result);
        }
        return;
    }
    let outer = etcd_client::Txn::new().and_then(
        batch
            .iter()
            .map(|pending| TxnOp::txn(pending.op.txn()))
            .collect::<Vec<_>>(),
    );
    // Every nested transaction is a read or a conditional write whose outcome `Op::outcome`
    // can tell on a retry, and etcd applies the whole batch or none of it: always retried.
    let send = |client: Client| {
        let outer = outer.clone();
        async move { client.kv_client().txn(outer).await }
    };
    match members.call("batch", Retry::Always, send).await {
        Ok(answer) => {
            let response = answer.value;
            let revision = header_revision(response.header());
            let mut answers = response.op_responses().into_iter();
            for pending in batch {
                let result = match answers.next() {
                    Some(TxnOpResponse::Txn(inner)) => {
                        pending.op.outcome(&inner, revision, answer.uncertain)
                    }
                    _ => Err(unexpected("a batch of transactions")),
                };
                let _ = pending.reply.send(result);
            }
        }
        Err(CallError::Etcd(err)) if refused_as_a_whole(&err) => {
            // etcd refused the batch itself (its operation or size limits) before applying
            // anything: each operation now gets its own transaction and its own answer.
            let retries = batch.into_iter().map(|pending| async move {
                let result = execute_one(members, location, &pending.op).await;
                let _ = pending.reply.send(result);
            });
            futures::future::join_all(retries).await;
        }
        Err(failure) => {
            let error = failure.into_kv(location);
            for pending in batch {
                let _ = pending.reply.send(Err(error.clone()));
            }
        }
    }
}

/// Whether etcd rejected a request for its shape (too many operations, too large), which it
/// does before applying any of it.
fn refused_as_a_whole(err: &etcd_client::Error) -> bool {
    matches!(
        err,
        etcd_client::Error::GRpcStatus(status)
            if matches!(
                status.code(),
                tonic::Code::InvalidArgument | tonic::Code::ResourceExhausted | tonic::Code::OutOfRange
            )
    )
}

async fn execute_one(members: &Members, location: &str, op: &Op) -> Result<OpResult, KvError> {
    match op {
        // A lone read needs no transaction.
        Op::Get { key } => {
            let read =
                |client: Client| async move { client.kv_client().get(key.as_str(), None).await };
            members
                .call("get", Retry::Always, read)
                .await
                .map(|answer| OpResult::Get(answer.value.kvs().first().map(raw_kv)))
                .map_err(|failure| failure.into_kv(location))
        }
        _ => {
            let txn = op.txn();
            let send = |client: Client| {
                let txn = txn.clone();
                async move { client.kv_client().txn(txn).await }
            };
            let answer = members
                .call("write", Retry::Always, send)
                .await
                .map_err(|failure| failure.into_kv(location))?;
            let revision = header_revision(answer.value.header());
            op.outcome(&answer.value, revision, answer.uncertain)
        }
    }
}
