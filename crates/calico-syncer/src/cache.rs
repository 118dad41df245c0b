//! One resource type's list-then-watch loop (libcalico-go's `watchercache.go`, behaviour
//! measured and described in the reference notes §2.2–2.5; the code is ours).
//!
//! The cache keeps only keys and revisions. It lists, replays the listing as `new`/`updated`,
//! emits `deleted` for what vanished while it was not watching, then watches from the
//! listing's revision. A watch that ends is reopened at the revision reached; repeated errors
//! at one revision, a compaction or an expired revision force a full re-list; a type that
//! cannot be watched is re-listed periodically; an API that is not installed counts as in sync
//! and is retried. Deletes come only from a successful re-list (or from [`stop`]), never from
//! an outage.
//!
//! [`stop`]: crate::Syncer::stop

use std::collections::HashMap;
use std::sync::Arc;

use calico_datastore::{Backend, DatastoreError};
use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, Instant};
use tracing::{debug, info, warn};

use crate::resource_type::{ResourceType, Timings};
use crate::source::{self, SourceEvent};
use crate::types::{SourceKv, SyncKey, SyncKv, SyncStatus, Update, UpdateType};

/// Updates are handed to the syncer in batches of at most this many (a listing of 100,000
/// endpoints is not one message).
const BATCH: usize = 1000;

/// What a cache tells the syncer.
#[derive(Debug)]
pub(crate) enum CacheMessage {
    Updates(Vec<Update>),
    Status(SyncStatus),
    ParseFailed(crate::ParseFailure),
    Failed(crate::SyncError),
}

pub(crate) struct Tagged {
    pub cache: usize,
    pub message: CacheMessage,
}

/// Why [`WatcherCache::run`] gave up waiting.
struct Stopped;

pub(crate) struct WatcherCache {
    id: usize,
    backend: Arc<dyn Backend>,
    resource_type: ResourceType,
    timings: Timings,
    out: mpsc::Sender<Tagged>,
    stop: watch::Receiver<bool>,

    /// Every key delivered and not deleted since, with the revision it was delivered at.
    known: HashMap<SyncKey, String>,
    /// `None`: the next iteration lists everything (Calico's revision "0").
    revision: Option<String>,
    status: SyncStatus,
    /// Until the watch retry timeout passes without contact, the cache counts as connected.
    connected: bool,
    last_contact: Instant,
    /// The type's API is not installed: in sync, retried rarely.
    api_missing: bool,
    /// The type cannot be watched: re-listed periodically, in sync meanwhile.
    polling: bool,
    errors_at_revision: u32,
    blocked_until: Instant,
    pending: Vec<Update>,
}

impl WatcherCache {
    pub(crate) fn new(
        id: usize,
        backend: Arc<dyn Backend>,
        resource_type: ResourceType,
        timings: Timings,
        out: mpsc::Sender<Tagged>,
        stop: watch::Receiver<bool>,
    ) -> Self {
        let now = Instant::now();
        WatcherCache {
            id,
            backend,
            resource_type,
            timings,
            out,
            stop,
            known: HashMap::new(),
            revision: None,
            status: SyncStatus::WaitForDatastore,
            connected: true,
            last_contact: now,
            api_missing: false,
            polling: false,
            errors_at_revision: 0,
            blocked_until: now,
            pending: Vec::new(),
        }
    }

    fn name(&self) -> String {
        self.resource_type.source.to_string()
    }

    /// Runs until the syncer stops, then reports every known key deleted (as Calico's caches
    /// do on `Stop`).
    pub(crate) async fn run(mut self) {
        let _ = self.iterate_forever().await;
        if !self.known.is_empty() {
            if self.status == SyncStatus::WaitForDatastore {
                self.set_status(SyncStatus::ResyncInProgress).await;
            }
            let keys: Vec<SyncKey> = self.known.drain().map(|(key, _)| key).collect();
            for key in keys {
                self.pending.push(deletion(key));
                if self.pending.len() >= BATCH {
                    self.flush().await;
                }
            }
            self.flush().await;
        }
    }

    async fn iterate_forever(&mut self) -> Result<(), Stopped> {
        loop {
            self.wait_until(self.blocked_until).await?;
            self.blocked_until = Instant::now() + self.timings.min_resync_interval;

            if self.revision.is_none() {
                self.resync().await?;
                if self.revision.is_none() {
                    continue;
                }
            }
            self.watch().await?;
        }
    }

    /// Sleeps until `deadline` unless the syncer stops first.
    async fn wait_until(&mut self, deadline: Instant) -> Result<(), Stopped> {
        if *self.stop.borrow() {
            return Err(Stopped);
        }
        tokio::select! {
            _ = sleep_until(deadline) => Ok(()),
            _ = self.stop.changed() => Err(Stopped),
        }
    }

    /// Awaits `future` unless the syncer stops first.
    async fn or_stop<T>(
        stop: &mut watch::Receiver<bool>,
        future: impl std::future::Future<Output = T>,
    ) -> Result<T, Stopped> {
        if *stop.borrow() {
            return Err(Stopped);
        }
        tokio::select! {
            value = future => Ok(value),
            _ = stop.changed() => Err(Stopped),
        }
    }

    /// A full listing: replay what exists, then delete what vanished.
    async fn resync(&mut self) -> Result<(), Stopped> {
        if !self.api_missing && !self.polling {
            let status = if self.connected {
                SyncStatus::ResyncInProgress
            } else {
                SyncStatus::WaitForDatastore
            };
            self.set_status(status).await;
        }
        if let Some(processor) = self.resource_type.processor.as_mut() {
            processor.on_syncer_starting();
        }
        debug!(resource_type = %self.name(), "listing");
        let listed = Self::or_stop(
            &mut self.stop,
            source::list(&self.backend, &self.resource_type.source),
        )
        .await?;
        let mut pages = match listed {
            Ok(pages) => pages,
            Err(error) => {
                self.list_failed(error).await;
                return Ok(());
            }
        };
        // Keys known before and not listed again (yet).
        let mut stale = std::mem::take(&mut self.known);
        let mut revision: Option<String> = None;
        let mut count = 0usize;
        loop {
            let next = match Self::or_stop(&mut self.stop, pages.next()).await {
                Ok(next) => next,
                Err(stopped) => {
                    self.restore(stale);
                    return Err(stopped);
                }
            };
            let page = match next {
                None => break,
                Some(Ok(page)) => page,
                Some(Err(error)) => {
                    // A listing cut short proves nothing vanished: every key is kept.
                    self.restore(stale);
                    self.list_failed(error).await;
                    return Ok(());
                }
            };
            self.contact();
            revision.get_or_insert(page.revision);
            for error in &page.unreadable {
                self.parse_failed(error).await;
            }
            count += page.items.len();
            for kv in &page.items {
                self.process(kv, Some(&mut stale)).await;
            }
        }
        let revision = revision.unwrap_or_default();
        self.api_missing = false;
        info!(resource_type = %self.name(), count, %revision, "listed");
        // Whatever was known and not listed again went away while nobody watched.
        if !stale.is_empty() {
            self.leave_wait_for_datastore().await;
            for key in stale.into_keys() {
                self.pending.push(deletion(key));
                if self.pending.len() >= BATCH {
                    self.flush().await;
                }
            }
        }
        self.flush().await;
        self.set_status(SyncStatus::InSync).await;

        let empty = count == 0;
        if revision.is_empty() || revision == "0" {
            if !empty {
                warn!(resource_type = %self.name(), "a listing without a revision: polling");
            }
            self.start_polling();
        } else if self.polling {
            // Listed again as a poll: stay polling until the next period.
            self.blocked_until = Instant::now() + self.timings.watch_poll_interval;
        } else {
            self.revision = Some(revision);
            self.errors_at_revision = 0;
        }
        Ok(())
    }

    /// Puts back the keys a cut-short listing had not seen again.
    fn restore(&mut self, stale: HashMap<SyncKey, String>) {
        for (key, revision) in stale {
            self.known.entry(key).or_insert(revision);
        }
    }

    async fn list_failed(&mut self, error: DatastoreError) {
        if error.is_not_found() {
            info!(
                resource_type = %self.name(),
                "the resource type's API is not installed: in sync, retried in {:?}",
                self.timings.missing_api_retry_time
            );
            self.api_missing = true;
            self.set_status(SyncStatus::InSync).await;
            self.blocked_until = Instant::now() + self.timings.missing_api_retry_time;
            return;
        }
        if matches!(error, DatastoreError::Compacted { .. }) {
            // Listing at an expired revision: list at the latest one next time.
            self.contact();
            return;
        }
        warn!(resource_type = %self.name(), %error, "listing failed; retrying");
        self.blocked_until = Instant::now() + self.timings.list_retry_interval;
        if self.last_contact.elapsed() > self.timings.watch_retry_timeout {
            self.disconnected(error).await;
        }
    }

    /// The datastore has been out of reach for the whole watch retry timeout.
    async fn disconnected(&mut self, error: DatastoreError) {
        if self.connected {
            warn!(
                resource_type = %self.name(),
                "no contact with the datastore for {:?}: waiting for it",
                self.timings.watch_retry_timeout
            );
        }
        self.connected = false;
        self.revision = None;
        self.set_status(SyncStatus::WaitForDatastore).await;
        self.send(CacheMessage::Failed(crate::SyncError {
            resource_type: self.name(),
            source: error,
        }))
        .await;
        if self.resource_type.send_deletes_on_conn_fail && !self.known.is_empty() {
            self.set_status(SyncStatus::ResyncInProgress).await;
            let keys: Vec<SyncKey> = self.known.drain().map(|(key, _)| key).collect();
            for key in keys {
                self.pending.push(deletion(key));
            }
            self.flush().await;
            self.set_status(SyncStatus::WaitForDatastore).await;
        }
    }

    fn contact(&mut self) {
        self.last_contact = Instant::now();
        self.connected = true;
    }

    fn start_polling(&mut self) {
        self.polling = true;
        self.revision = None;
        self.blocked_until = Instant::now() + self.timings.watch_poll_interval;
    }

    /// Watches from the current revision until the watch ends or must be given up.
    async fn watch(&mut self) -> Result<(), Stopped> {
        let Some(revision) = self.revision.clone() else {
            return Ok(());
        };
        let opened = Self::or_stop(
            &mut self.stop,
            source::watch(&self.backend, &self.resource_type.source, &revision),
        )
        .await?;
        let mut events = match opened {
            Ok(events) => events,
            Err(error) => {
                self.watch_failed(error);
                if self.revision.is_none() && !self.connected {
                    let error = DatastoreError::Store(format!(
                        "no contact with the datastore for {:?}",
                        self.timings.watch_retry_timeout
                    ));
                    self.disconnected(error).await;
                }
                return Ok(());
            }
        };
        debug!(resource_type = %self.name(), %revision, "watching");
        loop {
            let next = Self::or_stop(&mut self.stop, events.next()).await?;
            let Some(event) = next else {
                debug!(resource_type = %self.name(), "the watch ended; watching again");
                return Ok(());
            };
            match event {
                SourceEvent::Put(kv) | SourceEvent::Delete(kv) => {
                    self.contact();
                    self.errors_at_revision = 0;
                    let revision = kv.revision.clone();
                    self.process(&kv, None).await;
                    self.flush().await;
                    self.advance(revision);
                }
                SourceEvent::Progress(revision) => {
                    self.contact();
                    self.advance(revision);
                }
                SourceEvent::Error(error @ DatastoreError::ParsingEntry { .. }) => {
                    self.contact();
                    self.parse_failed(&error).await;
                }
                SourceEvent::Error(DatastoreError::Compacted {
                    requested,
                    compacted,
                }) => {
                    // The server answered: it is there, only our revision is gone.
                    self.contact();
                    info!(
                        resource_type = %self.name(),
                        requested, compacted, "revision compacted: listing again"
                    );
                    self.revision = None;
                    return Ok(());
                }
                SourceEvent::Error(error) if is_connection_error(&error) => {
                    debug!(resource_type = %self.name(), %error, "watch lost its connection");
                    return Ok(());
                }
                SourceEvent::Error(error) => {
                    self.count_error(&error, "watch error");
                    return Ok(());
                }
            }
        }
    }

    /// What to do when a watch cannot be opened.
    fn watch_failed(&mut self, error: DatastoreError) {
        match &error {
            DatastoreError::Compacted { .. } | DatastoreError::InvalidRevision(_) => {
                info!(resource_type = %self.name(), %error, "cannot watch from the revision: listing again");
                self.revision = None;
            }
            DatastoreError::OperationNotSupported { .. } => {
                info!(
                    resource_type = %self.name(),
                    "the type cannot be watched: listing it every {:?}",
                    self.timings.watch_poll_interval
                );
                self.start_polling();
            }
            _ if error.is_not_found() => self.start_polling(),
            _ if is_connection_error(&error) => {
                debug!(resource_type = %self.name(), %error, "cannot reach the datastore; watching again");
                if self.last_contact.elapsed() > self.timings.watch_retry_timeout {
                    self.revision = None;
                    self.connected = false;
                }
            }
            _ => self.count_error(&error, "cannot watch"),
        }
    }

    /// Another error at the current revision: after too many, list everything again.
    fn count_error(&mut self, error: &DatastoreError, what: &str) {
        self.errors_at_revision += 1;
        warn!(
            resource_type = %self.name(),
            %error,
            errors = self.errors_at_revision,
            "{what}"
        );
        if self.errors_at_revision >= self.timings.max_errors_per_revision {
            info!(resource_type = %self.name(), "too many watch errors: listing again");
            self.revision = None;
            self.errors_at_revision = 0;
        }
    }

    fn advance(&mut self, revision: String) {
        if !revision.is_empty() {
            self.revision = Some(revision);
        }
    }

    /// Runs one object through the processor and the key/revision map, queueing the
    /// updates it makes. During a resync, `stale` holds the keys not seen again yet.
    async fn process(&mut self, kv: &SourceKv, mut stale: Option<&mut HashMap<SyncKey, String>>) {
        let outputs = match self.resource_type.processor.as_mut() {
            None => vec![kv.passthrough()],
            Some(processor) => match processor.process(kv) {
                Ok(outputs) => outputs,
                Err(error) => {
                    warn!(resource_type = %self.name(), %error, "update processor failed");
                    self.send_pending_then(CacheMessage::ParseFailed(crate::ParseFailure {
                        key: error.key.clone(),
                        value: None,
                        message: error.message.clone(),
                    }))
                    .await;
                    return;
                }
            },
        };
        for output in outputs {
            if let Some(stale) = stale.as_deref_mut() {
                if let Some(revision) = stale.remove(&output.key) {
                    self.known.insert(output.key.clone(), revision);
                }
            }
            self.track(output).await;
        }
    }

    /// Calico's rules: an unknown key is `new`; a known key at another revision `updated`;
    /// at the same revision nothing; a delete of a known key `deleted`, of an unknown one
    /// nothing.
    async fn track(&mut self, kv: SyncKv) {
        let update_type = match (&kv.value, self.known.get(&kv.key)) {
            (Some(_), None) => UpdateType::New,
            (Some(_), Some(known)) if *known == kv.revision => return,
            (Some(_), Some(_)) => UpdateType::Updated,
            (None, None) => return,
            (None, Some(_)) => UpdateType::Deleted,
        };
        if update_type == UpdateType::Deleted {
            self.known.remove(&kv.key);
            self.leave_wait_for_datastore().await;
            self.pending.push(deletion(kv.key));
        } else {
            self.known.insert(kv.key.clone(), kv.revision.clone());
            self.leave_wait_for_datastore().await;
            self.pending.push(Update { kv, update_type });
        }
        if self.pending.len() >= BATCH {
            self.flush().await;
        }
    }

    /// No update goes out while the cache says it is waiting for the datastore.
    async fn leave_wait_for_datastore(&mut self) {
        if self.status == SyncStatus::WaitForDatastore {
            self.set_status(SyncStatus::ResyncInProgress).await;
        }
    }

    async fn parse_failed(&mut self, error: &DatastoreError) {
        warn!(resource_type = %self.name(), %error, "skipped an entry that cannot be read");
        let failure = match error {
            DatastoreError::ParsingEntry { key, value, cause } => crate::ParseFailure {
                key: key.clone(),
                value: Some(value.clone()),
                message: cause.clone(),
            },
            other => crate::ParseFailure {
                key: String::new(),
                value: None,
                message: other.to_string(),
            },
        };
        self.send_pending_then(CacheMessage::ParseFailed(failure))
            .await;
    }

    async fn set_status(&mut self, status: SyncStatus) {
        if self.status != status {
            self.status = status;
            self.send_pending_then(CacheMessage::Status(status)).await;
        }
    }

    async fn send_pending_then(&mut self, message: CacheMessage) {
        self.flush().await;
        self.send(message).await;
    }

    async fn flush(&mut self) {
        if !self.pending.is_empty() {
            let updates = std::mem::take(&mut self.pending);
            self.send(CacheMessage::Updates(updates)).await;
        }
    }

    async fn send(&mut self, message: CacheMessage) {
        // The syncer outlives its caches; a send fails only while everything is shutting down.
        let _ = self
            .out
            .send(Tagged {
                cache: self.id,
                message,
            })
            .await;
    }
}

fn deletion(key: SyncKey) -> Update {
    Update {
        kv: SyncKv {
            key,
            value: None,
            revision: String::new(),
        },
        update_type: UpdateType::Deleted,
    }
}

/// Errors that say the datastore could not be reached (rather than that it refused): the watch
/// is reopened at the same revision, as Calico does for "connection refused" and HTTP 429.
pub(crate) fn is_connection_error(error: &DatastoreError) -> bool {
    let DatastoreError::Store(message) = error else {
        return false;
    };
    let message = message.to_ascii_lowercase();
    [
        "connection refused",
        "connection reset",
        "connection closed",
        "broken pipe",
        "transport error",
        "tcp connect",
        "error trying to connect",
        "unavailable",
        "timed out",
        "timeout",
        "deadline",
        "too many requests",
        "429",
        "unreachable",
        "no route to host",
        "dns error",
        "hyper",
        "eof",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}
