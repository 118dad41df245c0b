//! The syncer: one watcher cache per resource type, their updates merged into one stream and
//! their statuses into one aggregated status (libcalico-go's `watchersyncer.go`: the main
//! loop drains what is ready, delivers updates in one batch, and always delivers the updates
//! that came before a status change or an error first).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use calico_datastore::{Backend, DatastoreError};
use futures::Stream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::cache::{CacheMessage, Tagged, WatcherCache};
use crate::resource_type::{ResourceType, Timings};
use crate::types::{SyncStatus, Update};

/// The caches' shared queue (Calico's is 2,000 results long).
const CACHE_QUEUE: usize = 2000;
/// Results drained without waiting before the accumulated updates are delivered.
const DRAIN: usize = 1000;
/// Events the consumer may fall behind by before the syncer waits for it.
const OUT_QUEUE: usize = 64;

/// An entry the datastore holds that could not be read (libcalico-go's
/// `ErrorParsingDatastoreEntry`, delivered to `ParseFailed`): it is skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseFailure {
    /// The raw key (a default path), when known.
    pub key: String,
    /// The raw value, when known.
    pub value: Option<String>,
    pub message: String,
}

/// A resource type could not reach the datastore for the whole watch retry timeout
/// (libcalico-go's `SyncFailed`). The syncer goes on retrying.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{resource_type}: no connection to the datastore")]
pub struct SyncError {
    pub resource_type: String,
    #[source]
    pub source: DatastoreError,
}

/// What a syncer delivers, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum SyncEvent {
    /// The aggregated status changed (`wait-for-ready` first, at start).
    Status(SyncStatus),
    /// Updates, in the order the caches made them.
    Updates(Vec<Update>),
    /// An entry was skipped because it could not be read.
    ParseFailed(ParseFailure),
    /// A resource type lost the datastore for longer than the watch retry timeout.
    Failed(SyncError),
}

/// Builds a [`Syncer`].
pub struct SyncerBuilder {
    backend: Arc<dyn Backend>,
    resource_types: Vec<ResourceType>,
    timings: Timings,
}

impl SyncerBuilder {
    pub fn timings(mut self, timings: Timings) -> Self {
        self.timings = timings;
        self
    }

    /// Starts the caches on the current Tokio runtime.
    pub fn start(self) -> Syncer {
        let (cache_tx, cache_rx) = mpsc::channel(CACHE_QUEUE);
        let (out_tx, out_rx) = mpsc::channel(OUT_QUEUE);
        let (stop_tx, stop_rx) = watch::channel(false);
        let count = self.resource_types.len();
        let mut tasks = Vec::with_capacity(count + 1);
        for (id, resource_type) in self.resource_types.into_iter().enumerate() {
            let cache = WatcherCache::new(
                id,
                self.backend.clone(),
                resource_type,
                self.timings,
                cache_tx.clone(),
                stop_rx.clone(),
            );
            tasks.push(tokio::spawn(cache.run()));
        }
        drop(cache_tx);
        tasks.push(tokio::spawn(aggregate(count, cache_rx, out_tx)));
        Syncer {
            events: out_rx,
            stop: stop_tx,
            tasks,
        }
    }
}

/// A running syncer: a [`Stream`] of [`SyncEvent`]s that lasts until [`Syncer::stop`] (or
/// forever). Dropping it stops everything at once, without the closing deletes.
pub struct Syncer {
    events: mpsc::Receiver<SyncEvent>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Syncer {
    /// A syncer following `resource_types` on `backend`, with Calico's timings.
    pub fn builder(backend: Arc<dyn Backend>, resource_types: Vec<ResourceType>) -> SyncerBuilder {
        SyncerBuilder {
            backend,
            resource_types,
            timings: Timings::default(),
        }
    }

    /// Starts one of Calico's syncers on `backend`.
    pub fn start(
        backend: Arc<dyn Backend>,
        syncer: crate::SyncerKind,
        options: &crate::SyncerOptions,
    ) -> Syncer {
        Syncer::builder(backend, crate::resource_types(syncer, options)).start()
    }

    /// The next event; `None` once the syncer has stopped.
    pub async fn next_event(&mut self) -> Option<SyncEvent> {
        self.events.recv().await
    }

    /// Asks every cache to stop. As Calico's `Stop`, each then reports every key it delivered
    /// as deleted; the stream ends after those updates.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

impl Stream for Syncer {
    type Item = SyncEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SyncEvent>> {
        self.events.poll_recv(cx)
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The main loop: merges the caches' results and statuses.
async fn aggregate(
    count: usize,
    mut from_caches: mpsc::Receiver<Tagged>,
    out: mpsc::Sender<SyncEvent>,
) {
    let mut statuses = vec![SyncStatus::WaitForDatastore; count];
    let mut current = SyncStatus::WaitForDatastore;
    if out.send(SyncEvent::Status(current)).await.is_err() {
        return;
    }
    if count == 0 {
        current = SyncStatus::InSync;
        let _ = out.send(SyncEvent::Status(current)).await;
    }
    let mut pending: Vec<Update> = Vec::new();
    while let Some(first) = from_caches.recv().await {
        let mut next = Some(first);
        let mut drained = 0;
        while let Some(tagged) = next.take() {
            match tagged.message {
                CacheMessage::Updates(updates) => {
                    if pending.is_empty() {
                        pending = updates;
                    } else {
                        pending.extend(updates);
                    }
                }
                CacheMessage::Status(status) => {
                    if let Some(slot) = statuses.get_mut(tagged.cache) {
                        *slot = status;
                    }
                    let aggregated = aggregate_status(&statuses);
                    if aggregated != current {
                        if !flush(&mut pending, &out).await {
                            return;
                        }
                        current = aggregated;
                        if out.send(SyncEvent::Status(current)).await.is_err() {
                            return;
                        }
                    }
                }
                CacheMessage::ParseFailed(failure) => {
                    if !flush(&mut pending, &out).await
                        || out.send(SyncEvent::ParseFailed(failure)).await.is_err()
                    {
                        return;
                    }
                }
                CacheMessage::Failed(error) => {
                    if !flush(&mut pending, &out).await
                        || out.send(SyncEvent::Failed(error)).await.is_err()
                    {
                        return;
                    }
                }
            }
            if drained < DRAIN {
                drained += 1;
                next = from_caches.try_recv().ok();
            }
        }
        if !flush(&mut pending, &out).await {
            return;
        }
    }
}

async fn flush(pending: &mut Vec<Update>, out: &mpsc::Sender<SyncEvent>) -> bool {
    if pending.is_empty() {
        return true;
    }
    out.send(SyncEvent::Updates(std::mem::take(pending)))
        .await
        .is_ok()
}

/// All in sync: in sync; all waiting: waiting; anything else: resyncing.
fn aggregate_status(statuses: &[SyncStatus]) -> SyncStatus {
    if statuses.iter().all(|s| *s == SyncStatus::InSync) {
        SyncStatus::InSync
    } else if statuses.iter().all(|s| *s == SyncStatus::WaitForDatastore) {
        SyncStatus::WaitForDatastore
    } else {
        SyncStatus::ResyncInProgress
    }
}
