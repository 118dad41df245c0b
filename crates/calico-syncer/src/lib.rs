//! Calico's watcher-syncer for Rust agents.
//!
//! A syncer follows a set of resource types ([`ResourceType`]): each is listed, then watched
//! from the listing's revision by its own cache, which survives datastore outages the way
//! Calico's does (re-watch at the same revision, a full re-list after repeated errors or a
//! compaction, deletes only after a successful re-list, polling where a type cannot be
//! watched). Consumers receive [`Update`]s — what Calico's agents receive, v1 model keys and
//! values from the update processors included — and the aggregated [`SyncStatus`].
//!
//! - [`types`]: keys, values, updates and statuses.
//! - [`resource_type`]: resource types, update processors and the timings.
//! - [`syncer`]: the running syncer, a stream of [`SyncEvent`]s.
//! - [`state`]: the current state, kept up to date, and one syncer shared by many consumers.
//! - [`syncers`]: Calico's `felix`, `bgp`, `tunnel-ip-allocation` and `node-status` syncers.

mod cache;
pub mod jsonl;
pub mod processors;
pub mod resource_type;
mod source;
pub mod state;
pub mod syncer;
pub mod syncers;
pub mod types;

pub use jsonl::json_lines;
pub use resource_type::{ProcessError, ResourceType, Source, Timings, UpdateProcessor};
pub use state::{Subscription, SyncHub, SyncState, SyncedState};
pub use syncer::{ParseFailure, SyncError, SyncEvent, Syncer, SyncerBuilder};
pub use syncers::{resource_types, SyncerKind, SyncerOptions, UnknownSyncer};
pub use types::{
    SourceKey, SourceKv, SourceValue, SyncKey, SyncKv, SyncStatus, SyncValue, Update, UpdateType,
};
