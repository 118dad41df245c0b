//! The embedded datastore: one SQLite file holding an etcd-like revision log.
//!
//! Two tables: `kv` is the current state (one row per live key, for fast reads) and `log` is the
//! history (one row per change; a `NULL` value is a deletion; the row id is the revision). Both
//! change in one transaction, so revisions, compare-and-swap and watch-from-revision behave as
//! in etcd. Several processes may share the file: SQLite's WAL mode gives readers a consistent
//! snapshot while one writer commits, and every write takes the write lock up front
//! (`BEGIN IMMEDIATE`) so concurrent writers queue instead of failing. Watchers poll the log.
//!
//! Within a process, writes go to one writer thread that commits whatever has queued up in a
//! single transaction (group commit): each operation still gets its own outcome and revision,
//! but concurrent callers share the cost of a commit. Reads run on the caller's thread through a
//! separate connection (WAL readers never wait for the writer).

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::kv::{
    CreateOutcome, DeleteOutcome, KvError, KvStore, RawEvent, RawKv, RawPage, RawRange, RawRead,
    RawReadResult, RawReads, RawWatch, RawWrite, RawWritten, UpdateOutcome, WriteManyOutcome,
};

/// How long a writer waits for another process's write to finish before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a watcher looks for new revisions.
const WATCH_POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Rows a watcher reads per query.
const WATCH_BATCH: i64 = 500;
/// Buffered events per watcher (Calico uses 100).
const WATCH_BUFFER: usize = 100;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    create_revision INTEGER NOT NULL,
    mod_revision INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log (
    revision INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    value BLOB,
    create_revision INTEGER,
    prev_revision INTEGER
);
CREATE INDEX IF NOT EXISTS log_by_key ON log (key, revision);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (name, value) VALUES ('compacted', 0);
INSERT OR IGNORE INTO meta (name, value) VALUES ('format', 1);
";

/// Most operations one commit carries.
const MAX_GROUP: usize = 256;

/// The embedded store.
#[derive(Clone)]
pub struct EmbeddedStore {
    path: PathBuf,
    reader: Arc<Mutex<Connection>>,
    writer: std::sync::mpsc::Sender<WriteRequest>,
}

/// A write for the writer thread.
enum WriteOp {
    Create {
        key: String,
        value: Vec<u8>,
    },
    Update {
        key: String,
        value: Vec<u8>,
        expected: i64,
    },
    Put {
        key: String,
        value: Vec<u8>,
    },
    Delete {
        key: String,
        expected: Option<i64>,
    },
    Compact {
        revision: i64,
    },
    /// Several conditional writes, all or none.
    Many(Vec<RawWrite>),
}

/// What a write did.
enum WriteOutcome {
    Created(CreateOutcome),
    Updated(UpdateOutcome),
    Put(i64),
    Deleted(DeleteOutcome),
    Compacted,
    Many(WriteManyOutcome),
}

struct WriteRequest {
    op: WriteOp,
    reply: tokio::sync::oneshot::Sender<Result<WriteOutcome, KvError>>,
}

fn sql_error(err: rusqlite::Error) -> KvError {
    KvError::Store(format!("embedded datastore: {err}"))
}

fn io_error(path: &Path, err: &std::io::Error) -> KvError {
    KvError::Store(format!("embedded datastore {}: {err}", path.display()))
}

/// Creates the file (and its directory) readable only by the owner, before SQLite opens it.
fn create_private_file(path: &Path) -> Result<(), KvError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.exists() {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                builder.mode(0o700);
            }
            builder.create(parent).map_err(|e| io_error(parent, &e))?;
        }
    }
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| io_error(path, &e))?;
    Ok(())
}

fn open_connection(path: &Path) -> Result<Connection, KvError> {
    let connection = Connection::open(path).map_err(sql_error)?;
    connection.busy_timeout(BUSY_TIMEOUT).map_err(sql_error)?;
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .map_err(sql_error)?;
    // With WAL, NORMAL keeps the database consistent after a crash (a power loss may lose the
    // last commits, never corrupt), at a fraction of FULL's fsync cost.
    connection
        .pragma_update(None, "synchronous", "NORMAL")
        .map_err(sql_error)?;
    Ok(connection)
}

impl EmbeddedStore {
    /// Opens (creating if needed, mode 0600) the store at `path`.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, KvError> {
        let path = path.into();
        create_private_file(&path)?;
        let write_connection = open_connection(&path)?;
        write_connection.execute_batch(SCHEMA).map_err(sql_error)?;
        let reader = open_connection(&path)?;
        let (writer, requests) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("calico-embedded-writer".into())
            .spawn(move || writer_loop(write_connection, &requests))
            .map_err(|e| KvError::Store(format!("embedded datastore: cannot start writer: {e}")))?;
        Ok(EmbeddedStore {
            path,
            reader: Arc::new(Mutex::new(reader)),
            writer,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs a read on the read connection. Reads of a local WAL database never wait for the
    /// writer, so they run on the caller's thread.
    fn read<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T, KvError>) -> Result<T, KvError> {
        let mut guard = self
            .reader
            .lock()
            .map_err(|_| KvError::Store("embedded datastore: connection poisoned".into()))?;
        f(&mut guard)
    }

    /// Queues a write for the writer thread and waits for its outcome.
    async fn write(&self, op: WriteOp) -> Result<WriteOutcome, KvError> {
        let (reply, outcome) = tokio::sync::oneshot::channel();
        self.writer
            .send(WriteRequest { op, reply })
            .map_err(|_| KvError::Store("embedded datastore: writer stopped".into()))?;
        outcome
            .await
            .map_err(|_| KvError::Store("embedded datastore: writer stopped".into()))?
    }
}

/// The writer thread: takes the next write, adds whatever else is already queued, and commits
/// them all in one transaction.
fn writer_loop(mut connection: Connection, requests: &std::sync::mpsc::Receiver<WriteRequest>) {
    while let Ok(first) = requests.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match requests.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        match run_group(&mut connection, &group) {
            Ok(outcomes) => {
                for (request, outcome) in group.into_iter().zip(outcomes) {
                    let _ = request.reply.send(outcome);
                }
            }
            Err(err) => {
                for request in group {
                    let _ = request.reply.send(Err(err.clone()));
                }
            }
        }
    }
}

/// Runs a group of writes in one transaction. An operation that fails on its own (a compaction
/// to a future revision) gets its error; a failure of the transaction fails them all.
fn run_group(
    connection: &mut Connection,
    group: &[WriteRequest],
) -> Result<Vec<Result<WriteOutcome, KvError>>, KvError> {
    let txn = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql_error)?;
    let mut outcomes = Vec::with_capacity(group.len());
    for request in group {
        outcomes.push(match &request.op {
            WriteOp::Create { key, value } => {
                create_locked(&txn, key, value).map(WriteOutcome::Created)
            }
            WriteOp::Update {
                key,
                value,
                expected,
            } => update_locked(&txn, key, value, *expected).map(WriteOutcome::Updated),
            WriteOp::Put { key, value } => {
                let current = current_kv(&txn, key)?;
                put_locked(&txn, key, value, current.as_ref()).map(WriteOutcome::Put)
            }
            WriteOp::Delete { key, expected } => {
                delete_locked(&txn, key, *expected).map(WriteOutcome::Deleted)
            }
            WriteOp::Compact { revision } => {
                compact_locked(&txn, *revision).map(|()| WriteOutcome::Compacted)
            }
            WriteOp::Many(writes) => write_many_locked(&txn, writes).map(WriteOutcome::Many),
        });
        // A statement error inside the transaction leaves it unusable for the others.
        if let Some(Err(KvError::Store(message))) = outcomes.last() {
            return Err(KvError::Store(message.clone()));
        }
    }
    txn.commit().map_err(sql_error)?;
    Ok(outcomes)
}

fn create_locked(txn: &Connection, key: &str, value: &[u8]) -> Result<CreateOutcome, KvError> {
    if let Some(existing) = current_kv(txn, key)? {
        return Ok(CreateOutcome::Exists(existing));
    }
    let revision = put_locked(txn, key, value, None)?;
    Ok(CreateOutcome::Created { revision })
}

fn update_locked(
    txn: &Connection,
    key: &str,
    value: &[u8],
    expected: i64,
) -> Result<UpdateOutcome, KvError> {
    let Some(current) = current_kv(txn, key)? else {
        return Ok(UpdateOutcome::Missing);
    };
    if current.mod_revision != expected {
        return Ok(UpdateOutcome::Conflict(current));
    }
    let revision = put_locked(txn, key, value, Some(&current))?;
    Ok(UpdateOutcome::Updated { revision })
}

fn delete_locked(
    txn: &Connection,
    key: &str,
    expected: Option<i64>,
) -> Result<DeleteOutcome, KvError> {
    let Some(current) = current_kv(txn, key)? else {
        return Ok(DeleteOutcome::Missing);
    };
    if expected.is_some_and(|rev| rev != current.mod_revision) {
        return Ok(DeleteOutcome::Conflict(current));
    }
    let revision = remove_locked(txn, key, &current)?;
    Ok(DeleteOutcome::Deleted {
        previous: current,
        revision,
    })
}

/// Deletes `key`, whose current state is `current`; returns the deletion's revision.
fn remove_locked(txn: &Connection, key: &str, current: &RawKv) -> Result<i64, KvError> {
    let revision = append_log(txn, key, None, Some(current))?;
    txn.prepare_cached("DELETE FROM kv WHERE key = ?1")
        .and_then(|mut stmt| stmt.execute(params![key]))
        .map_err(sql_error)?;
    Ok(revision)
}

/// Checks every write's condition, then (all holding) applies them in order, each at its own
/// revision.
fn write_many_locked(txn: &Connection, writes: &[RawWrite]) -> Result<WriteManyOutcome, KvError> {
    let mut currents = Vec::with_capacity(writes.len());
    for (index, write) in writes.iter().enumerate() {
        let current = current_kv(txn, write.key())?;
        if !write.allowed(current.as_ref()) {
            return Ok(WriteManyOutcome::Refused { index, current });
        }
        currents.push(current);
    }
    let mut written = Vec::with_capacity(writes.len());
    for (write, current) in writes.iter().zip(currents) {
        written.push(match (write, current) {
            (RawWrite::Create { key, value } | RawWrite::Update { key, value, .. }, current) => {
                RawWritten::Put {
                    revision: put_locked(txn, key, value, current.as_ref())?,
                }
            }
            (RawWrite::Delete { key, .. }, Some(previous)) => {
                let revision = remove_locked(txn, key, &previous)?;
                RawWritten::Deleted { previous, revision }
            }
            (RawWrite::Delete { .. }, None) => return Err(unexpected()),
        });
    }
    Ok(WriteManyOutcome::Written(written))
}

fn compact_locked(txn: &Connection, revision: i64) -> Result<(), KvError> {
    let current = store_revision(txn)?;
    if revision > current {
        return Err(KvError::FutureRevision {
            requested: revision,
            current,
        });
    }
    if revision <= compacted_revision(txn)? {
        return Ok(());
    }
    // Keep, for every key, its newest row at or below the compaction revision unless it is a
    // deletion, exactly the state etcd keeps.
    txn.execute(
        "DELETE FROM log WHERE revision <= ?1 AND (value IS NULL OR revision NOT IN
           (SELECT MAX(revision) FROM log WHERE revision <= ?1 GROUP BY key))",
        params![revision],
    )
    .map_err(sql_error)?;
    txn.execute(
        "UPDATE meta SET value = ?1 WHERE name = 'compacted'",
        params![revision],
    )
    .map_err(sql_error)?;
    Ok(())
}

fn current_kv(txn: &Connection, key: &str) -> Result<Option<RawKv>, KvError> {
    txn.prepare_cached("SELECT key, value, create_revision, mod_revision FROM kv WHERE key = ?1")
        .and_then(|mut stmt| {
            stmt.query_row(params![key], |row| {
                Ok(RawKv {
                    key: row.get(0)?,
                    value: row.get(1)?,
                    create_revision: row.get(2)?,
                    mod_revision: row.get(3)?,
                })
            })
            .optional()
        })
        .map_err(sql_error)
}

/// The newest revision ever issued (0 for an empty store).
fn store_revision(conn: &Connection) -> Result<i64, KvError> {
    conn.prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'log'")
        .and_then(|mut stmt| stmt.query_row([], |row| row.get::<_, i64>(0)).optional())
        .map(|seq| seq.unwrap_or(0))
        .map_err(sql_error)
}

fn compacted_revision(conn: &Connection) -> Result<i64, KvError> {
    conn.prepare_cached("SELECT value FROM meta WHERE name = 'compacted'")
        .and_then(|mut stmt| stmt.query_row([], |row| row.get::<_, i64>(0)))
        .map_err(sql_error)
}

/// Appends a change to the log and returns its revision.
fn append_log(
    txn: &Connection,
    key: &str,
    value: Option<&[u8]>,
    previous: Option<&RawKv>,
) -> Result<i64, KvError> {
    // A NULL create_revision marks the row that created the key.
    let create_revision = previous.map(|p| p.create_revision);
    let prev_revision = previous.map(|p| p.mod_revision);
    txn.prepare_cached(
        "INSERT INTO log (key, value, create_revision, prev_revision) VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut stmt| stmt.execute(params![key, value, create_revision, prev_revision]))
    .map_err(sql_error)?;
    Ok(txn.last_insert_rowid())
}

fn write_current(
    txn: &Connection,
    key: &str,
    value: &[u8],
    create_revision: i64,
    revision: i64,
) -> Result<(), KvError> {
    txn.prepare_cached(
        "INSERT INTO kv (key, value, create_revision, mod_revision) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, mod_revision = excluded.mod_revision",
    )
    .and_then(|mut stmt| stmt.execute(params![key, value, create_revision, revision]))
    .map_err(sql_error)?;
    Ok(())
}

/// Writes `value` under `key` given its current state; returns the new revision.
fn put_locked(
    txn: &Connection,
    key: &str,
    value: &[u8],
    current: Option<&RawKv>,
) -> Result<i64, KvError> {
    let revision = append_log(txn, key, Some(value), current)?;
    let create_revision = current.map_or(revision, |c| c.create_revision);
    write_current(txn, key, value, create_revision, revision)?;
    Ok(revision)
}

/// Upper bound for "every key starting with `prefix`": no valid UTF-8 continuation sorts
/// above U+10FFFF.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

fn check_readable(conn: &Connection, at: i64) -> Result<(), KvError> {
    let compacted = compacted_revision(conn)?;
    if at < compacted {
        return Err(KvError::Compacted {
            requested: at,
            compacted,
        });
    }
    let current = store_revision(conn)?;
    if at > current {
        return Err(KvError::FutureRevision {
            requested: at,
            current,
        });
    }
    Ok(())
}

fn row_to_kv(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<RawKv>> {
    let revision: i64 = row.get("revision")?;
    let value: Option<Vec<u8>> = row.get("value")?;
    let create_revision: Option<i64> = row.get("create_revision")?;
    Ok(value.map(|value| RawKv {
        key: row.get("key").unwrap_or_default(),
        value,
        create_revision: create_revision.unwrap_or(revision),
        mod_revision: revision,
    }))
}

fn historic_get(conn: &Connection, key: &str, at: i64) -> Result<Option<RawKv>, KvError> {
    conn.prepare_cached(
        "SELECT revision, key, value, create_revision FROM log
         WHERE key = ?1 AND revision <= ?2 ORDER BY revision DESC LIMIT 1",
    )
    .and_then(|mut stmt| stmt.query_row(params![key, at], row_to_kv).optional())
    .map(Option::flatten)
    .map_err(sql_error)
}

fn historic_range(conn: &Connection, prefix: &str, at: i64) -> Result<Vec<RawKv>, KvError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT l.revision, l.key, l.value, l.create_revision FROM log l
             JOIN (SELECT key, MAX(revision) AS revision FROM log
                   WHERE key >= ?1 AND key < ?2 AND revision <= ?3 GROUP BY key) latest
             ON l.revision = latest.revision
             ORDER BY l.key",
        )
        .map_err(sql_error)?;
    let rows = stmt
        .query_map(params![prefix, prefix_end(prefix), at], row_to_kv)
        .map_err(sql_error)?;
    let mut kvs = Vec::new();
    for row in rows {
        if let Some(kv) = row.map_err(sql_error)? {
            kvs.push(kv);
        }
    }
    Ok(kvs)
}

fn current_range(conn: &Connection, prefix: &str) -> Result<Vec<RawKv>, KvError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT key, value, create_revision, mod_revision FROM kv
             WHERE key >= ?1 AND key < ?2 ORDER BY key",
        )
        .map_err(sql_error)?;
    let rows = stmt
        .query_map(params![prefix, prefix_end(prefix)], |row| {
            Ok(RawKv {
                key: row.get(0)?,
                value: row.get(1)?,
                create_revision: row.get(2)?,
                mod_revision: row.get(3)?,
            })
        })
        .map_err(sql_error)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(sql_error)
}

fn unexpected() -> KvError {
    KvError::Store("embedded datastore: unexpected writer reply".into())
}

#[async_trait]
impl KvStore for EmbeddedStore {
    async fn get(&self, key: &str, at: Option<i64>) -> Result<Option<RawKv>, KvError> {
        self.read(|conn| match at {
            None => current_kv(conn, key),
            Some(at) => {
                let txn = conn.transaction().map_err(sql_error)?;
                check_readable(&txn, at)?;
                historic_get(&txn, key, at)
            }
        })
    }

    async fn range(&self, prefix: &str, at: Option<i64>) -> Result<RawRange, KvError> {
        self.read(|conn| {
            // One read transaction, so the revision and the rows agree.
            let txn = conn.transaction().map_err(sql_error)?;
            let revision = store_revision(&txn)?;
            let kvs = match at {
                None => current_range(&txn, prefix)?,
                Some(at) => {
                    check_readable(&txn, at)?;
                    historic_range(&txn, prefix, at)?
                }
            };
            Ok(RawRange { kvs, revision })
        })
    }

    /// One read transaction; prefixes are read whole, as `range` reads them.
    async fn read_many(&self, reads: &[RawRead]) -> Result<RawReads, KvError> {
        if reads.is_empty() {
            return Ok(RawReads {
                results: Vec::new(),
                revision: 0,
            });
        }
        self.read(|conn| {
            let txn = conn.transaction().map_err(sql_error)?;
            let revision = store_revision(&txn)?;
            let results = reads
                .iter()
                .map(|read| {
                    Ok(match read {
                        RawRead::Key(key) => RawReadResult::Key(current_kv(&txn, key)?),
                        RawRead::Prefix(prefix) => RawReadResult::Prefix(RawPage {
                            kvs: current_range(&txn, prefix)?,
                            revision,
                            more: false,
                        }),
                    })
                })
                .collect::<Result<Vec<_>, KvError>>()?;
            Ok(RawReads { results, revision })
        })
    }

    fn atomic_writes(&self) -> bool {
        true
    }

    /// One SQLite write transaction (with whatever else the writer commits at that moment).
    async fn write_many(&self, writes: Vec<RawWrite>) -> Result<WriteManyOutcome, KvError> {
        match self.write(WriteOp::Many(writes)).await? {
            WriteOutcome::Many(outcome) => Ok(outcome),
            _ => Err(unexpected()),
        }
    }

    async fn create(&self, key: &str, value: Vec<u8>) -> Result<CreateOutcome, KvError> {
        match self
            .write(WriteOp::Create {
                key: key.to_string(),
                value,
            })
            .await?
        {
            WriteOutcome::Created(outcome) => Ok(outcome),
            _ => Err(unexpected()),
        }
    }

    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: i64,
    ) -> Result<UpdateOutcome, KvError> {
        let op = WriteOp::Update {
            key: key.to_string(),
            value,
            expected,
        };
        match self.write(op).await? {
            WriteOutcome::Updated(outcome) => Ok(outcome),
            _ => Err(unexpected()),
        }
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<i64, KvError> {
        match self
            .write(WriteOp::Put {
                key: key.to_string(),
                value,
            })
            .await?
        {
            WriteOutcome::Put(revision) => Ok(revision),
            _ => Err(unexpected()),
        }
    }

    async fn delete(&self, key: &str, expected: Option<i64>) -> Result<DeleteOutcome, KvError> {
        let op = WriteOp::Delete {
            key: key.to_string(),
            expected,
        };
        match self.write(op).await? {
            WriteOutcome::Deleted(outcome) => Ok(outcome),
            _ => Err(unexpected()),
        }
    }

    async fn watch(&self, prefix: &str, after: i64) -> Result<RawWatch, KvError> {
        // Each watcher reads through its own connection so that it never holds up others.
        let connection = open_connection(&self.path)?;
        let (sender, receiver) = tokio::sync::mpsc::channel(WATCH_BUFFER);
        let prefix = prefix.to_string();
        tokio::task::spawn_blocking(move || {
            watch_loop(&connection, &prefix, after, &sender);
        });
        Ok(crate::kv::boxed_watch(tokio_stream_from(receiver)))
    }

    async fn compact(&self, revision: i64) -> Result<(), KvError> {
        match self.write(WriteOp::Compact { revision }).await? {
            WriteOutcome::Compacted => Ok(()),
            _ => Err(unexpected()),
        }
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn datastore_type(&self) -> &'static str {
        "embedded"
    }
}

fn tokio_stream_from(
    mut receiver: tokio::sync::mpsc::Receiver<Result<RawEvent, KvError>>,
) -> impl futures::Stream<Item = Result<RawEvent, KvError>> + Send {
    futures::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

/// Polls the log and sends changes after `after` until the receiver goes away or an error.
fn watch_loop(
    conn: &Connection,
    prefix: &str,
    mut after: i64,
    sender: &tokio::sync::mpsc::Sender<Result<RawEvent, KvError>>,
) {
    loop {
        match read_changes(conn, prefix, after) {
            Err(err) => {
                let _ = sender.blocking_send(Err(err));
                return;
            }
            Ok((events, next)) => {
                for event in events {
                    if sender.blocking_send(Ok(event)).is_err() {
                        return;
                    }
                }
                if next == after {
                    if sender.is_closed() {
                        return;
                    }
                    std::thread::sleep(WATCH_POLL_INTERVAL);
                }
                after = next;
            }
        }
    }
}

/// Reads one batch of changes after `after`; returns them and the revision read up to.
fn read_changes(
    conn: &Connection,
    prefix: &str,
    after: i64,
) -> Result<(Vec<RawEvent>, i64), KvError> {
    let compacted = compacted_revision(conn)?;
    if after < compacted {
        return Err(KvError::Compacted {
            requested: after,
            compacted,
        });
    }
    let mut stmt = conn
        .prepare_cached(
            "SELECT revision, key, value, create_revision, prev_revision FROM log
             WHERE revision > ?1 ORDER BY revision LIMIT ?2",
        )
        .map_err(sql_error)?;
    let rows = stmt
        .query_map(params![after, WATCH_BATCH], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<Vec<u8>>>(2)?,
                row.get::<_, Option<i64>>(3)?,
                row.get::<_, Option<i64>>(4)?,
            ))
        })
        .map_err(sql_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql_error)?;
    let mut last = after;
    let mut events = Vec::new();
    for (revision, key, value, create_revision, prev_revision) in rows {
        last = revision;
        if !key.starts_with(prefix) {
            continue;
        }
        let previous = match prev_revision {
            Some(prev) => historic_get(conn, &key, prev)?,
            None => None,
        };
        events.push(match value {
            Some(value) => RawEvent::Put {
                kv: RawKv {
                    key,
                    value,
                    create_revision: create_revision.unwrap_or(revision),
                    mod_revision: revision,
                },
                previous,
            },
            None => RawEvent::Delete {
                key,
                revision,
                previous,
            },
        });
    }
    Ok((events, last))
}

#[cfg(test)]
mod tests;
