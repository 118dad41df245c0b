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

/// Helper for stores that produce their watch as a plain stream of results.
pub fn boxed_watch<S>(stream: S) -> RawWatch
where
    S: Stream<Item = Result<RawEvent, KvError>> + Send + 'static,
{
    stream.boxed()
}
