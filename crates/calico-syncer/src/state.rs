//! What consumers build on a syncer: the current state ([`SyncState`]), kept up to date in the
//! background ([`SyncedState`]), and one syncer shared by many in-process consumers
//! ([`SyncHub`], which plays Typha's part inside one process: one listing, one watch per
//! resource type, every subscriber starting from a snapshot).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use futures::{Stream, StreamExt};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tracing::warn;

use crate::syncer::{SyncEvent, Syncer};
use crate::types::{SyncKey, SyncKv, SyncStatus, Update, UpdateType};

/// The state a syncer's events describe: every live key with its value, and the status.
#[derive(Clone, Debug, Default)]
pub struct SyncState {
    entries: HashMap<SyncKey, SyncKv>,
    status: Option<SyncStatus>,
}

impl SyncState {
    pub fn new() -> Self {
        SyncState::default()
    }

    /// Applies one event.
    pub fn apply(&mut self, event: &SyncEvent) {
        match event {
            SyncEvent::Status(status) => self.status = Some(*status),
            SyncEvent::Updates(updates) => {
                for update in updates {
                    self.apply_update(update);
                }
            }
            SyncEvent::ParseFailed(_) | SyncEvent::Failed(_) => {}
        }
    }

    pub fn apply_update(&mut self, update: &Update) {
        if update.kv.value.is_some() {
            self.entries
                .insert(update.kv.key.clone(), update.kv.clone());
        } else {
            self.entries.remove(&update.kv.key);
        }
    }

    /// The last status seen (`None` before the first).
    pub fn status(&self) -> Option<SyncStatus> {
        self.status
    }

    pub fn get(&self, key: &SyncKey) -> Option<&SyncKv> {
        self.entries.get(key)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &SyncKv> {
        self.entries.values()
    }

    /// Every entry, by default path.
    pub fn sorted(&self) -> Vec<&SyncKv> {
        let mut entries: Vec<(String, &SyncKv)> = self
            .entries
            .values()
            .map(|kv| (kv.key.path(), kv))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.into_iter().map(|(_, kv)| kv).collect()
    }

    /// The state as updates (all `new`), as a consumer joining late receives it.
    pub fn snapshot(&self) -> Vec<Update> {
        self.entries
            .values()
            .map(|kv| Update {
                kv: kv.clone(),
                update_type: UpdateType::New,
            })
            .collect()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A syncer's state kept current by a background task: the one call a consumer needs when it
/// wants "the current state" rather than the stream.
pub struct SyncedState {
    state: Arc<Mutex<SyncState>>,
    status: watch::Receiver<Option<SyncStatus>>,
    task: JoinHandle<()>,
}

impl SyncedState {
    /// Follows `syncer` until it stops (or this is dropped).
    pub fn follow(mut syncer: Syncer) -> Self {
        let state = Arc::new(Mutex::new(SyncState::new()));
        let (status_tx, status) = watch::channel(None);
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Some(event) = syncer.next().await {
                let status = {
                    let mut state = lock(&shared);
                    state.apply(&event);
                    state.status()
                };
                if let SyncEvent::Status(_) = event {
                    let _ = status_tx.send(status);
                }
            }
        });
        SyncedState {
            state,
            status,
            task,
        }
    }

    /// A copy of the current state.
    pub fn snapshot(&self) -> SyncState {
        lock(&self.state).clone()
    }

    /// Runs `f` on the current state without copying it.
    pub fn with<R>(&self, f: impl FnOnce(&SyncState) -> R) -> R {
        f(&lock(&self.state))
    }

    /// Waits until the aggregated status is `status` (e.g. [`SyncStatus::InSync`]); `false` if
    /// the syncer stopped first.
    pub async fn wait_for(&mut self, status: SyncStatus) -> bool {
        self.status
            .wait_for(|current| *current == Some(status))
            .await
            .is_ok()
    }
}

impl Drop for SyncedState {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct HubInner {
    state: SyncState,
    events: broadcast::Sender<Arc<SyncEvent>>,
}

/// One syncer, many consumers: each [`SyncHub::subscribe`] starts with the current state (one
/// `Updates` of `new`s, then the status) and continues with the live events, so consumers
/// that join late never make the datastore list again. A subscriber that falls more than the
/// hub's capacity behind is cut off (its stream ends), as Typha cuts off slow clients; it
/// subscribes again and starts from a fresh snapshot.
pub struct SyncHub {
    inner: Arc<Mutex<HubInner>>,
    task: JoinHandle<()>,
}

impl SyncHub {
    /// Shares `syncer`; up to `capacity` events may be buffered for a slow subscriber.
    pub fn new(mut syncer: Syncer, capacity: usize) -> Self {
        let (events, _) = broadcast::channel(capacity.max(1));
        let inner = Arc::new(Mutex::new(HubInner {
            state: SyncState::new(),
            events,
        }));
        let shared = inner.clone();
        let task = tokio::spawn(async move {
            while let Some(event) = syncer.next().await {
                let mut inner = lock(&shared);
                inner.state.apply(&event);
                // No subscribers is fine: they will start from the state.
                let _ = inner.events.send(Arc::new(event));
            }
        });
        SyncHub { inner, task }
    }

    /// A new consumer: the current state, then every event after it.
    pub fn subscribe(&self) -> Subscription {
        let inner = lock(&self.inner);
        let receiver = inner.events.subscribe();
        let mut first = Vec::new();
        let snapshot = inner.state.snapshot();
        if !snapshot.is_empty() {
            first.push(Arc::new(SyncEvent::Updates(snapshot)));
        }
        if let Some(status) = inner.state.status() {
            first.push(Arc::new(SyncEvent::Status(status)));
        }
        Subscription {
            first: first.into_iter(),
            live: Box::pin(tokio_stream(receiver)),
        }
    }

    /// A copy of the shared state.
    pub fn state(&self) -> SyncState {
        lock(&self.inner).state.clone()
    }
}

impl Drop for SyncHub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Live = Pin<Box<dyn Stream<Item = Arc<SyncEvent>> + Send>>;

/// Ends the stream when the subscriber lagged (it must subscribe again) or the hub stopped.
fn tokio_stream(
    receiver: broadcast::Receiver<Arc<SyncEvent>>,
) -> impl Stream<Item = Arc<SyncEvent>> {
    futures::stream::unfold(receiver, |mut receiver| async move {
        match receiver.recv().await {
            Ok(event) => Some((event, receiver)),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                warn!(missed, "a syncer subscriber fell behind: cut off");
                None
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    })
}

/// One consumer of a [`SyncHub`]. Events are shared between subscribers, not copied.
pub struct Subscription {
    first: std::vec::IntoIter<Arc<SyncEvent>>,
    live: Live,
}

impl Stream for Subscription {
    type Item = Arc<SyncEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(event) = self.first.next() {
            return Poll::Ready(Some(event));
        }
        self.live.as_mut().poll_next(cx)
    }
}
