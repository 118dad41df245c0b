//! Several keys in one round trip: [`KvStore::read_many`] as one etcd transaction of range
//! reads (no compares: one revision for all of them), and [`KvStore::write_many`] as one
//! transaction of Calico's compares for every write, whose failure branch reads every key so
//! that the first refused write is known from the same answer.
//!
//! [`KvStore::read_many`]: calico_datastore::kv::KvStore::read_many
//! [`KvStore::write_many`]: calico_datastore::kv::KvStore::write_many

use calico_datastore::kv::{
    KvError, RawKv, RawPage, RawRead, RawReadResult, RawReads, RawWrite, RawWritten,
    WriteManyOutcome,
};
use etcd_client::{
    Client, Compare, CompareOp, DeleteOptions, GetOptions, KeyValue, Txn, TxnOp, TxnOpResponse,
    TxnResponse,
};

use crate::failover::{Answer, CallError, Retry};
use crate::{
    header_revision, owned_raw_kv, prefix_end, raw_kv, unexpected, EtcdStore,
    MAX_RANGE_ANSWER_BYTES,
};

/// Reads per transaction. etcd refuses a transaction of more than `--max-txn-ops` (128 by
/// default) operations; a batch of more reads is sent as several transactions, every one
/// after the first at the first one's revision.
pub const MAX_READS_PER_TXN: usize = 64;

/// The range read of one [`RawRead`]: a key, or the first `limit` keys under a prefix; at
/// `at` when given.
fn read_op(read: &RawRead, limit: i64, at: Option<i64>) -> TxnOp {
    let at_revision = |options: GetOptions| match at {
        Some(at) => options.with_revision(at),
        None => options,
    };
    match read {
        RawRead::Key(key) => TxnOp::get(key.as_str(), Some(at_revision(GetOptions::new()))),
        RawRead::Prefix(prefix) => {
            let options = GetOptions::new()
                .with_range(prefix_end(prefix.as_bytes()))
                .with_limit(limit.max(1));
            TxnOp::get(prefix.as_str(), Some(at_revision(options)))
        }
    }
}

fn read_result(
    read: &RawRead,
    answer: TxnOpResponse,
    revision: i64,
) -> Result<RawReadResult, KvError> {
    let TxnOpResponse::Get(mut answer) = answer else {
        return Err(unexpected("a transaction of reads"));
    };
    Ok(match read {
        RawRead::Key(_) => RawReadResult::Key(answer.kvs().first().map(raw_kv)),
        RawRead::Prefix(_) => RawReadResult::Prefix(RawPage {
            more: answer.more() && !answer.kvs().is_empty(),
            kvs: answer.take_kvs().into_iter().map(owned_raw_kv).collect(),
            revision,
        }),
    })
}

/// Whether a failed compare on a retried transaction is our own earlier attempt, applied: every
/// write is a create or an update, and every key holds exactly our bytes at one mod revision
/// (that of the one transaction), created there (create) or changed after the revision we
/// updated from (update). Returns that revision.
fn applied_earlier(writes: &[RawWrite], currents: &[Option<KeyValue>]) -> Option<i64> {
    let mut revision = None;
    for (write, current) in writes.iter().zip(currents) {
        let current = current.as_ref()?;
        let ours = match write {
            RawWrite::Create { value, .. } => current.value() == value && current.version() == 1,
            RawWrite::Update {
                value, expected, ..
            } => current.value() == value && current.mod_revision() > *expected,
            RawWrite::Delete { .. } => false,
        };
        if !ours || *revision.get_or_insert(current.mod_revision()) != current.mod_revision() {
            return None;
        }
    }
    revision
}

impl EtcdStore {
    /// Sends one transaction (with failover and retries), accepting answers of any size we
    /// accept for a range.
    async fn send_txn(
        &self,
        what: &str,
        retry: Retry,
        txn: &Txn,
    ) -> Result<Answer<TxnResponse>, CallError> {
        let send = |client: Client| {
            let txn = txn.clone();
            async move {
                client
                    .kv_client()
                    .max_decoding_message_size(MAX_RANGE_ANSWER_BYTES)
                    .txn(txn)
                    .await
            }
        };
        self.members.call(what, retry, send).await
    }

    /// [`KvStore::read_many`](calico_datastore::kv::KvStore::read_many) on etcd.
    pub(crate) async fn read_many_txn(&self, reads: &[RawRead]) -> Result<RawReads, KvError> {
        let mut results = Vec::with_capacity(reads.len());
        let mut revision: Option<i64> = None;
        for chunk in reads.chunks(MAX_READS_PER_TXN) {
            let txn = Txn::new().and_then(
                chunk
                    .iter()
                    .map(|read| read_op(read, self.page_size, revision))
                    .collect::<Vec<_>>(),
            );
            let response = match self.send_txn("read", Retry::Always, &txn).await {
                Ok(answer) => answer.value,
                Err(err) => {
                    let first = chunk.first().map_or("", |read| match read {
                        RawRead::Key(key) | RawRead::Prefix(key) => key.as_str(),
                    });
                    return Err(self.read_error(first, revision, err).await);
                }
            };
            let at = *revision.get_or_insert(header_revision(response.header()));
            let answers = response.op_responses();
            if answers.len() != chunk.len() {
                return Err(unexpected("a transaction of reads"));
            }
            for (read, answer) in chunk.iter().zip(answers) {
                results.push(read_result(read, answer, at)?);
            }
        }
        Ok(RawReads {
            results,
            revision: revision.unwrap_or(0),
        })
    }

    /// [`KvStore::write_many`](calico_datastore::kv::KvStore::write_many) on etcd: one
    /// transaction.
    pub(crate) async fn write_many_txn(
        &self,
        writes: Vec<RawWrite>,
    ) -> Result<WriteManyOutcome, KvError> {
        if writes.is_empty() {
            return Ok(WriteManyOutcome::Written(Vec::new()));
        }
        let mut compares = Vec::with_capacity(writes.len() * 2);
        let mut success = Vec::with_capacity(writes.len());
        let mut failure = Vec::with_capacity(writes.len());
        for write in &writes {
            let key = write.key();
            match write {
                RawWrite::Create { value, .. } => {
                    compares.push(Compare::version(key, CompareOp::Equal, 0));
                    success.push(TxnOp::put(key, value.clone(), None));
                }
                RawWrite::Update {
                    value, expected, ..
                } => {
                    compares.push(Compare::version(key, CompareOp::Greater, 0));
                    compares.push(Compare::mod_revision(key, CompareOp::Equal, *expected));
                    success.push(TxnOp::put(key, value.clone(), None));
                }
                RawWrite::Delete { expected, .. } => {
                    compares.push(Compare::version(key, CompareOp::Greater, 0));
                    if let Some(expected) = expected {
                        compares.push(Compare::mod_revision(key, CompareOp::Equal, *expected));
                    }
                    success.push(TxnOp::delete(
                        key,
                        Some(DeleteOptions::new().with_prev_key()),
                    ));
                }
            }
            failure.push(TxnOp::get(key, None));
        }
        let txn = Txn::new().when(compares).and_then(success).or_else(failure);
        // A transaction of creates and updates can tell on a retry whether an earlier attempt
        // was applied (`applied_earlier`); one with deletes cannot, so it is retried only when
        // it was not sent.
        let deletes = writes
            .iter()
            .any(|write| matches!(write, RawWrite::Delete { .. }));
        let retry = if deletes {
            Retry::OnlyIfNotSent
        } else {
            Retry::Always
        };
        let answer = self
            .send_txn("transaction", retry, &txn)
            .await
            .map_err(|e| self.error(e))?;
        let response = answer.value;
        let revision = header_revision(response.header());
        let answers = response.op_responses();
        if answers.len() != writes.len() {
            return Err(unexpected("a transaction"));
        }
        if response.succeeded() {
            let written = writes
                .iter()
                .zip(answers)
                .map(|(write, answer)| match (write, answer) {
                    (RawWrite::Create { .. } | RawWrite::Update { .. }, TxnOpResponse::Put(_)) => {
                        Ok(RawWritten::Put { revision })
                    }
                    (RawWrite::Delete { .. }, TxnOpResponse::Delete(deleted)) => deleted
                        .prev_kvs()
                        .first()
                        .map(|previous| RawWritten::Deleted {
                            previous: raw_kv(previous),
                            revision,
                        })
                        .ok_or_else(|| unexpected("a delete in a transaction")),
                    _ => Err(unexpected("a transaction")),
                })
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(WriteManyOutcome::Written(written));
        }
        let currents = answers
            .into_iter()
            .map(|answer| match answer {
                TxnOpResponse::Get(mut get) => Ok(get.take_kvs().into_iter().next()),
                _ => Err(unexpected("a refused transaction")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if answer.uncertain {
            if let Some(revision) = applied_earlier(&writes, &currents) {
                tracing::debug!(
                    revision,
                    "an etcd transaction whose answer was lost had been applied"
                );
                let written = writes
                    .iter()
                    .map(|_| RawWritten::Put { revision })
                    .collect();
                return Ok(WriteManyOutcome::Written(written));
            }
        }
        let currents: Vec<Option<RawKv>> = currents
            .into_iter()
            .map(|kv| kv.map(owned_raw_kv))
            .collect();
        writes
            .iter()
            .zip(currents)
            .enumerate()
            .find(|(_, (write, current))| !write.allowed(current.as_ref()))
            .map(|(index, (_, current))| WriteManyOutcome::Refused { index, current })
            .ok_or_else(|| unexpected("a refused transaction"))
    }
}
