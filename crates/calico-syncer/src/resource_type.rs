//! What a syncer follows: resource types, each listed then watched by its own cache, and the
//! update processors that turn what the datastore holds into what consumers receive
//! (libcalico-go's `watchersyncer.ResourceType` and `SyncerUpdateProcessor`).

use std::fmt;

use calico_api::model::ModelListOptions;
use calico_datastore::ListOptions;

use crate::types::{SourceKv, SyncKv};

/// Which objects a resource type follows.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// v3 resources (and the Kubernetes objects the KDD driver presents as them).
    Resources(ListOptions),
    /// IPAM model objects (blocks, block affinities).
    Models(ModelListOptions),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Resources(options) => {
                write!(f, "{}", options.kind.kind())?;
                if let Some(namespace) = &options.namespace {
                    write!(f, " in {namespace}")?;
                }
                if let Some(name) = &options.name {
                    write!(f, " named {name}")?;
                }
                Ok(())
            }
            Source::Models(options) => write!(f, "{:?}", options.kind()),
        }
    }
}

/// A processor could not convert an object. Calico's processors mostly turn a failed
/// conversion into a delete of the v1 key they would have written; this error is for what
/// they report on top (forwarded to the consumer as [`crate::SyncEvent::ParseFailed`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ProcessError {
    /// The source key's default path.
    pub key: String,
    pub message: String,
}

/// Turns one datastore object (or its deletion: `value` `None`) into the keys and values a
/// consumer receives. It may emit redundant adds and deletes: the cache de-duplicates.
pub trait UpdateProcessor: Send {
    fn process(&mut self, kv: &SourceKv) -> Result<Vec<SyncKv>, ProcessError>;

    /// Called at the start of every full listing (processors clear private caches).
    fn on_syncer_starting(&mut self) {}
}

/// One resource type of a syncer.
pub struct ResourceType {
    pub source: Source,
    /// `None`: objects are delivered as they are (v3 resources, IPAM model objects).
    pub processor: Option<Box<dyn UpdateProcessor>>,
    /// Delete everything this type delivered when the datastore has been unreachable for the
    /// whole watch retry timeout. Calico has the option and no syncer sets it.
    pub send_deletes_on_conn_fail: bool,
}

impl ResourceType {
    /// A type delivered as stored.
    pub fn new(source: Source) -> Self {
        ResourceType {
            source,
            processor: None,
            send_deletes_on_conn_fail: false,
        }
    }

    /// A type whose objects go through `processor`.
    pub fn with_processor(source: Source, processor: impl UpdateProcessor + 'static) -> Self {
        ResourceType {
            source,
            processor: Some(Box::new(processor)),
            send_deletes_on_conn_fail: false,
        }
    }
}

impl fmt::Debug for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceType")
            .field("source", &self.source)
            .field("processor", &self.processor.is_some())
            .field("send_deletes_on_conn_fail", &self.send_deletes_on_conn_fail)
            .finish()
    }
}

/// The watcher-syncer's timings; the defaults are Calico's (`watchercache.go`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timings {
    /// Least time between two iterations of a cache's list/watch loop (500 ms).
    pub min_resync_interval: std::time::Duration,
    /// Wait before listing again after a failed list (1 s).
    pub list_retry_interval: std::time::Duration,
    /// Re-list period of a type that cannot be watched (5 s).
    pub watch_poll_interval: std::time::Duration,
    /// How long without a successful contact before a cache reports `wait-for-ready` (600 s).
    pub watch_retry_timeout: std::time::Duration,
    /// Watch errors at one revision before a full re-list (5).
    pub max_errors_per_revision: u32,
    /// Retry period of a type whose API is not installed (30 min).
    pub missing_api_retry_time: std::time::Duration,
}

impl Default for Timings {
    fn default() -> Self {
        use std::time::Duration;
        Timings {
            min_resync_interval: Duration::from_millis(500),
            list_retry_interval: Duration::from_secs(1),
            watch_poll_interval: Duration::from_secs(5),
            watch_retry_timeout: Duration::from_secs(600),
            max_errors_per_revision: 5,
            missing_api_retry_time: Duration::from_secs(30 * 60),
        }
    }
}
