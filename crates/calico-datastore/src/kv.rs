//! A raw key/value store with etcd's revision model, and Calico's etcd layout on top of it.
//!
//! Both the etcd driver and the embedded driver are such stores; [`KvBackend`] turns either into
//! a [`Backend`] that keeps exactly the keys and values Calico's etcdv3 backend keeps
//! (`libcalico-go/lib/backend/etcdv3`), so one datastore can be shared with Calico itself.

use std::pin::Pin;

use async_trait::async_trait;
use futures::{Stream, StreamExt};

/// One stored key at one revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawKv {
    pub key: String,
    pub value: Vec<u8>,
    /// Revision of the key's creation.
    pub create_revision: i64,
    /// Revision of the key's last change.
    pub mod_revision: i64,
}

/// A range read: the keys and the store revision it was read at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawRange {
    pub kvs: Vec<RawKv>,
    pub revision: i64,
}

/// One page of a range read: the keys, the store revision it was read at, and whether more keys
/// follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawPage {
    pub kvs: Vec<RawKv>,
    pub revision: i64,
    pub more: bool,
}

/// Result of a create-if-absent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreateOutcome {
    Created { revision: i64 },
    Exists(RawKv),
}

/// Result of a compare-and-swap on the key's mod revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateOutcome {
    Updated { revision: i64 },
    Missing,
    Conflict(RawKv),
}

/// Result of a (possibly guarded) delete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted { previous: RawKv, revision: i64 },
    Missing,
    Conflict(RawKv),
}

/// One read of a [`KvStore::read_many`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawRead {
    /// One key.
    Key(String),
    /// The keys starting with a prefix, in key order (the first page of them: see
    /// [`KvStore::read_many`]).
    Prefix(String),
}

/// What one [`RawRead`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawReadResult {
    /// The key, or `None` when it does not exist.
    Key(Option<RawKv>),
    /// The first keys under the prefix; `more` says more follow (read them with
    /// [`KvStore::range_page`] at the batch's revision, after the last key here).
    Prefix(RawPage),
}

/// The answers of a [`KvStore::read_many`], in the order of its reads, and the one revision
/// they were all read at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawReads {
    pub results: Vec<RawReadResult>,
    pub revision: i64,
}

/// One conditional write of a [`KvStore::write_many`] (its keys must be distinct).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawWrite {
    /// Creates the key only if it does not exist.
    Create { key: String, value: Vec<u8> },
    /// Replaces the key only if its mod revision is `expected`.
    Update {
        key: String,
        value: Vec<u8>,
        expected: i64,
    },
    /// Deletes the key only if it exists (and its mod revision is `expected`, when given).
    Delete { key: String, expected: Option<i64> },
}

impl RawWrite {
    /// The key written.
    pub fn key(&self) -> &str {
        match self {
            RawWrite::Create { key, .. }
            | RawWrite::Update { key, .. }
            | RawWrite::Delete { key, .. } => key,
        }
    }

    /// Whether this write may go ahead with the key as it is (`None`: absent).
    pub fn allowed(&self, current: Option<&RawKv>) -> bool {
        match (self, current) {
            (RawWrite::Create { .. }, current) => current.is_none(),
            (RawWrite::Update { expected, .. }, Some(current)) => current.mod_revision == *expected,
            (RawWrite::Delete { expected, .. }, Some(current)) => {
                expected.is_none_or(|expected| current.mod_revision == expected)
            }
            (RawWrite::Update { .. } | RawWrite::Delete { .. }, None) => false,
        }
    }
}

/// What one [`RawWrite`] of a successful [`KvStore::write_many`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawWritten {
    /// A create or update; `revision` is the key's new mod revision.
    Put { revision: i64 },
    /// A delete: the value deleted, and the deletion's revision.
    Deleted { previous: RawKv, revision: i64 },
}

/// Result of a [`KvStore::write_many`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteManyOutcome {
    /// Every write was applied, in one transaction; one answer per write, in order.
    Written(Vec<RawWritten>),
    /// Nothing was written: the write at `index` (the first whose condition failed) found its
    /// key as `current` (`None`: absent).
    Refused {
        index: usize,
        current: Option<RawKv>,
    },
}

/// A change seen by a raw watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawEvent {
    Put {
        kv: RawKv,
        previous: Option<RawKv>,
    },
    Delete {
        key: String,
        revision: i64,
        previous: Option<RawKv>,
    },
}

impl RawEvent {
    pub fn revision(&self) -> i64 {
        match self {
            RawEvent::Put { kv, .. } => kv.mod_revision,
            RawEvent::Delete { revision, .. } => *revision,
        }
    }
}

/// Errors of a raw store.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    #[error(
        "the requested revision {requested} has been compacted (oldest available: {compacted})"
    )]
    Compacted { requested: i64, compacted: i64 },
    #[error("the requested revision {requested} is newer than the store's revision {current}")]
    FutureRevision { requested: i64, current: i64 },
    #[error("{0}")]
    Store(String),
}

/// Keys per prefix read of the default [`KvStore::read_many`].
pub const DEFAULT_READ_MANY_PAGE: usize = 500;

/// A stream of raw changes; ends after an error.
pub type RawWatch = Pin<Box<dyn Stream<Item = Result<RawEvent, KvError>> + Send>>;

/// An etcd-like store.
#[async_trait]
pub trait KvStore: Send + Sync {
    /// The key at the latest revision, or at `at`.
    async fn get(&self, key: &str, at: Option<i64>) -> Result<Option<RawKv>, KvError>;

    /// Every key starting with `prefix`, in key order, at the latest revision or at `at`.
    /// Implementations read large ranges in pages, never in one unbounded request.
    async fn range(&self, prefix: &str, at: Option<i64>) -> Result<RawRange, KvError>;

    /// Up to about `limit` keys starting with `prefix` and sorting after `start_after`, in key
    /// order, at the latest revision or at `at`. Stores that cannot page return everything in
    /// one page (the default).
    async fn range_page(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        at: Option<i64>,
        _limit: usize,
    ) -> Result<RawPage, KvError> {
        let range = self.range(prefix, at).await?;
        let kvs = match start_after {
            Some(after) => range
                .kvs
                .into_iter()
                .filter(|kv| kv.key.as_str() > after)
                .collect(),
            None => range.kvs,
        };
        Ok(RawPage {
            kvs,
            revision: range.revision,
            more: false,
        })
    }

    /// Several reads at one revision, in one request where the store can (etcd: one
    /// transaction of range reads; the embedded store: one read transaction). A prefix read
    /// is bounded as the store's range pages are: it gives the first page of keys, and says
    /// whether more follow. The default reads one by one, every read after the first at the
    /// first one's revision. No reads read nothing, at revision 0.
    async fn read_many(&self, reads: &[RawRead]) -> Result<RawReads, KvError> {
        let mut results = Vec::with_capacity(reads.len());
        let mut at: Option<i64> = None;
        for read in reads {
            let result = match (read, at) {
                (RawRead::Key(key), Some(at)) => RawReadResult::Key(self.get(key, Some(at)).await?),
                (RawRead::Key(key), None) => {
                    // A one-key page of the key's own prefix: the key itself sorts first.
                    let page = self.range_page(key, None, None, 1).await?;
                    at = Some(page.revision);
                    let kv = page.kvs.into_iter().next().filter(|kv| kv.key == *key);
                    RawReadResult::Key(kv)
                }
                (RawRead::Prefix(prefix), at_now) => {
                    let page = self
                        .range_page(prefix, None, at_now, DEFAULT_READ_MANY_PAGE)
                        .await?;
                    at.get_or_insert(page.revision);
                    RawReadResult::Prefix(page)
                }
            };
            results.push(result);
        }
        // No reads, no revision.
        Ok(RawReads {
            results,
            revision: at.unwrap_or(0),
        })
    }

    /// Whether [`KvStore::write_many`] is implemented.
    fn atomic_writes(&self) -> bool {
        false
    }

    /// Applies several conditional writes of distinct keys in one transaction, all of them or
    /// none: if any condition fails, nothing is written and the first failing write is named.
    /// The default refuses; stores that implement it say so in [`KvStore::atomic_writes`].
    async fn write_many(&self, writes: Vec<RawWrite>) -> Result<WriteManyOutcome, KvError> {
        let _ = writes;
        Err(KvError::Store(format!(
            "the {} store cannot write several keys in one transaction",
            self.datastore_type()
        )))
    }

    /// Creates `key` only if it does not exist.
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<CreateOutcome, KvError>;

    /// Replaces `key` only if its mod revision is `expected`.
    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: i64,
    ) -> Result<UpdateOutcome, KvError>;

    /// Writes `key` unconditionally; returns the new revision.
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<i64, KvError>;

    /// Deletes `key`, only if its mod revision is `expected` when one is given.
    async fn delete(&self, key: &str, expected: Option<i64>) -> Result<DeleteOutcome, KvError>;

    /// Changes to keys under `prefix` after revision `after`, in revision order.
    async fn watch(&self, prefix: &str, after: i64) -> Result<RawWatch, KvError>;

    /// Forgets history before `revision`: reads and watches from older revisions fail.
    async fn compact(&self, revision: i64) -> Result<(), KvError>;

    /// Where the store is (for messages).
    fn location(&self) -> String;

    /// `embedded` or `etcdv3`.
    fn datastore_type(&self) -> &'static str;
}

/// The keys of a range read's `first` page and of every page after it, each read after the
/// last key so far, `limit` keys at a time, at revision `at`.
pub async fn rest_of_range<S: KvStore + ?Sized>(
    store: &S,
    prefix: &str,
    first: RawPage,
    at: i64,
    limit: usize,
) -> Result<Vec<RawKv>, KvError> {
    let mut kvs = first.kvs;
    let mut more = first.more;
    while more {
        let Some(last) = kvs.last().map(|kv| kv.key.clone()) else {
            break;
        };
        let page = store
            .range_page(prefix, Some(&last), Some(at), limit)
            .await?;
        more = page.more;
        kvs.extend(page.kvs);
    }
    Ok(kvs)
}

/// Helper for stores that produce their watch as a plain stream of results.
pub fn boxed_watch<S>(stream: S) -> RawWatch
where
    S: Stream<Item = Result<RawEvent, KvError>> + Send + 'static,
{
    stream.boxed()
}
