//! Combining allocations across processes on one host: [`HostQueue`].
//!
//! A CNI plugin runs as one process per pod, so [`Ipam`]'s combining of concurrent calls in
//! one process does not help a burst of pods on one node; left alone, every process would race
//! for the node's block and all but one would lose each compare-and-swap (Calico's own plugin
//! queues them behind a host-wide lock instead, each doing its whole allocation in turn).
//!
//! With a queue directory shared by the host's processes, each process writes its request to
//! the directory and takes the directory's lock. Whoever holds the lock allocates every
//! request waiting in the directory as one batch ([`Ipam::auto_assign_batch`]: one block
//! write for all of them), writes each answer next to its request and lets go. A process that
//! gets the lock and finds its answer there is done at once; one that does not serves the
//! next batch. So a burst is answered in a few batches, however many processes there are.
//!
//! A process that dies while it holds the lock releases it (the kernel drops the lock with the
//! file); requests it had not answered are served by the next holder. Answers nobody collects
//! (their process was killed while waiting) and requests older than [`STALE_AFTER`] are removed
//! by the holders; the addresses of such answers stay allocated under their handles, which the
//! runtime's DEL for the failed container releases, as after any lost answer.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use calico_api::model::IpVersion;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tracing::{debug, warn};

use crate::allocate::{
    AssignError, Assignments, AutoAssignArgs, AutoAssignError, AutoAssignOutcome, Ipam,
};
use crate::assign::AllowedUse;
use crate::block::HostReserved;
use crate::release::ReleaseError;

/// Requests and answers older than this are removed unanswered or uncollected.
pub const STALE_AFTER: Duration = Duration::from_secs(600);

const LOCK_FILE: &str = "leader.lock";
/// The blocks the host's allocations last used ([`Ipam::block_hints`]), kept between holders.
const HINTS_FILE: &str = "block-hints.json";
const REQUEST: &str = "req";
const ANSWER: &str = "resp";

/// Why the queue itself failed (the allocation's own errors are in its answer).
#[derive(Debug, Error)]
pub enum QueueError {
    #[error("IPAM queue directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("IPAM queue: {0}")]
    Encoding(#[from] serde_json::Error),
    #[error("IPAM queue: waiting for the queue's lock failed: {0}")]
    Join(String),
    /// The client this process needed to serve the queue could not be made (the text is the
    /// connection's own error).
    #[error("{0}")]
    Connect(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> QueueError + '_ {
    move |source| QueueError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A host's queue of allocations, in a directory every allocating process of the host shares
/// (see the module documentation).
#[derive(Clone, Debug)]
pub struct HostQueue {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct WireRequest {
    num4: usize,
    num6: usize,
    handle: Option<String>,
    attrs: BTreeMap<String, String>,
    hostname: String,
    ipv4_pools: Vec<String>,
    ipv6_pools: Vec<String>,
    max_blocks_per_host: usize,
    host_reserved: Option<(usize, usize, String, String)>,
    intended_use: String,
    namespace_labels: Option<BTreeMap<String, String>>,
}

#[derive(Serialize, Deserialize)]
struct WireAssignments {
    ips: Vec<String>,
    requested: usize,
    messages: Vec<String>,
    host_reserved_handle: Option<String>,
}

/// What a process asks the queue for.
#[derive(Serialize, Deserialize)]
enum WireJob {
    Assign(Box<WireRequest>),
    Release(Vec<String>),
}

/// What the queue answers.
#[derive(Serialize, Deserialize)]
enum WireReply {
    Assign(WireAnswer),
    Release(Vec<WireReleased>),
}

#[derive(Serialize, Deserialize)]
struct WireReleased {
    error: Option<String>,
    not_found: bool,
}

#[derive(Serialize, Deserialize)]
struct WireAnswer {
    v4: Option<WireAssignments>,
    v6: Option<WireAssignments>,
    error: Option<String>,
    not_found: bool,
}

fn use_text(use_: AllowedUse) -> &'static str {
    use_.as_str()
}

fn use_from(text: &str) -> AllowedUse {
    match text {
        "Tunnel" => AllowedUse::Tunnel,
        "LoadBalancer" => AllowedUse::LoadBalancer,
        _ => AllowedUse::Workload,
    }
}

impl WireRequest {
    fn from_args(args: &AutoAssignArgs) -> Self {
        WireRequest {
            num4: args.num4,
            num6: args.num6,
            handle: args.handle.clone(),
            attrs: args.attrs.clone(),
            hostname: args.hostname.clone(),
            ipv4_pools: args.ipv4_pools.iter().map(ToString::to_string).collect(),
            ipv6_pools: args.ipv6_pools.iter().map(ToString::to_string).collect(),
            max_blocks_per_host: args.max_blocks_per_host,
            host_reserved: args.host_reserved.as_ref().map(|r| {
                (
                    r.start_of_block,
                    r.end_of_block,
                    r.handle.clone(),
                    r.note.clone(),
                )
            }),
            intended_use: use_text(args.intended_use).to_string(),
            namespace_labels: args.namespace_labels.clone(),
        }
    }

    fn into_args(self) -> AutoAssignArgs {
        let nets = |texts: Vec<String>| -> Vec<IpNet> {
            texts.iter().filter_map(|t| t.parse().ok()).collect()
        };
        AutoAssignArgs {
            num4: self.num4,
            num6: self.num6,
            handle: self.handle,
            attrs: self.attrs,
            hostname: self.hostname,
            ipv4_pools: nets(self.ipv4_pools),
            ipv6_pools: nets(self.ipv6_pools),
            max_blocks_per_host: self.max_blocks_per_host,
            host_reserved: self
                .host_reserved
                .map(|(start, end, handle, note)| HostReserved {
                    start_of_block: start,
                    end_of_block: end,
                    handle,
                    note,
                }),
            intended_use: use_from(&self.intended_use),
            namespace_labels: self.namespace_labels,
        }
    }
}

fn wire_assignments(a: &Assignments) -> WireAssignments {
    WireAssignments {
        ips: a.ips.iter().map(ToString::to_string).collect(),
        requested: a.requested,
        messages: a.messages.clone(),
        host_reserved_handle: a.host_reserved_handle.clone(),
    }
}

fn assignments_from(version: IpVersion, wire: WireAssignments) -> Assignments {
    Assignments {
        version,
        ips: wire.ips.iter().filter_map(|t| t.parse().ok()).collect(),
        requested: wire.requested,
        messages: wire.messages,
        host_reserved_handle: wire.host_reserved_handle,
    }
}

impl WireAnswer {
    fn from_result(result: &Result<AutoAssignOutcome, AutoAssignError>) -> Self {
        let (outcome, error, not_found) = match result {
            Ok(outcome) => (outcome, None, false),
            Err(err) => (
                err.partial.as_ref(),
                Some(err.cause.to_string()),
                err.cause.is_not_found(),
            ),
        };
        WireAnswer {
            v4: outcome.v4.as_ref().map(wire_assignments),
            v6: outcome.v6.as_ref().map(wire_assignments),
            error,
            not_found,
        }
    }

    fn into_result(self) -> Result<AutoAssignOutcome, AutoAssignError> {
        let outcome = AutoAssignOutcome {
            v4: self.v4.map(|w| assignments_from(IpVersion::V4, w)),
            v6: self.v6.map(|w| assignments_from(IpVersion::V6, w)),
        };
        match self.error {
            None => Ok(outcome),
            Some(message) => Err(AutoAssignError {
                partial: Box::new(outcome),
                cause: Box::new(AssignError::Queued {
                    message,
                    not_found: self.not_found,
                }),
            }),
        }
    }
}

/// A name no other request of this host has: the process, the time and a counter.
fn request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Writes `bytes` to `path` whole or not at all (a temporary file renamed into place).
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), QueueError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    let temporary = PathBuf::from(name);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&temporary)
        .map_err(io(&temporary))?;
    file.write_all(bytes).map_err(io(&temporary))?;
    drop(file);
    fs::rename(&temporary, path).map_err(io(path))
}

fn is_stale(path: &Path) -> bool {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > STALE_AFTER)
}

impl HostQueue {
    /// The queue in `dir` (created, readable by its owner only, when first used).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        HostQueue { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, id: &str, kind: &str) -> PathBuf {
        self.dir.join(format!("{id}.{kind}"))
    }

    fn create_dir(&self) -> Result<(), QueueError> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(&self.dir).map_err(io(&self.dir))
    }

    /// [`Ipam::auto_assign`] through the host's queue: allocated in one batch with whatever
    /// other processes of the host asked for meanwhile.
    pub async fn auto_assign(
        &self,
        ipam: &Ipam,
        args: AutoAssignArgs,
    ) -> Result<Result<AutoAssignOutcome, AutoAssignError>, QueueError> {
        let ipam = ipam.clone();
        self.auto_assign_with(args, move || async move { Ok(ipam) })
            .await
    }

    /// [`HostQueue::auto_assign`] connecting to the datastore only if this process has to
    /// serve the queue (`connect` is called at most once; most processes of a burst find their
    /// answer written by another and never connect). A failed connection removes this
    /// process's request and is [`QueueError::Connect`].
    pub async fn auto_assign_with<F, Fut>(
        &self,
        args: AutoAssignArgs,
        connect: F,
    ) -> Result<Result<AutoAssignOutcome, AutoAssignError>, QueueError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Ipam, String>>,
    {
        match self
            .submit(
                WireJob::Assign(Box::new(WireRequest::from_args(&args))),
                connect,
            )
            .await?
        {
            WireReply::Assign(answer) => Ok(answer.into_result()),
            WireReply::Release(_) => {
                Err(QueueError::Connect("the queue answered another job".into()))
            }
        }
    }

    /// [`Ipam::release_by_handles`] through the host's queue (a burst of DELs released block
    /// by block together), connecting only to serve it, as [`HostQueue::auto_assign_with`].
    pub async fn release_by_handles_with<F, Fut>(
        &self,
        handles: Vec<String>,
        connect: F,
    ) -> Result<Vec<Result<(), ReleaseError>>, QueueError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Ipam, String>>,
    {
        match self.submit(WireJob::Release(handles), connect).await? {
            WireReply::Release(released) => Ok(released
                .into_iter()
                .map(|r| match r.error {
                    None => Ok(()),
                    Some(message) => Err(ReleaseError::Queued {
                        message,
                        not_found: r.not_found,
                    }),
                })
                .collect()),
            WireReply::Assign(_) => {
                Err(QueueError::Connect("the queue answered another job".into()))
            }
        }
    }

    /// Puts `job` in the queue and waits for its answer, serving the queue when this process
    /// gets the lock first.
    async fn submit<F, Fut>(&self, job: WireJob, connect: F) -> Result<WireReply, QueueError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Ipam, String>>,
    {
        let mut connect = Some(connect);
        let mut ipam: Option<Ipam> = None;
        self.create_dir()?;
        let id = request_id();
        let request = self.path(&id, REQUEST);
        let answer = self.path(&id, ANSWER);
        let bytes = serde_json::to_vec(&job)?;
        write_atomically(&request, &bytes)?;
        loop {
            let lock = self.lock().await?;
            if let Some(reply) = self.collect(&answer)? {
                drop(lock);
                return Ok(reply);
            }
            if ipam.is_none() {
                if let Some(connect) = connect.take() {
                    match connect().await {
                        Ok(connected) => ipam = Some(connected),
                        Err(err) => {
                            let _ = fs::remove_file(&request);
                            return Err(QueueError::Connect(err));
                        }
                    }
                }
            }
            let Some(serving) = ipam.as_ref() else {
                let _ = fs::remove_file(&request);
                return Err(QueueError::Connect("no datastore client".into()));
            };
            self.serve(serving).await?;
            drop(lock);
            if let Some(reply) = self.collect(&answer)? {
                return Ok(reply);
            }
            // Our request was not there to serve (it cannot be: we wrote it before taking the
            // lock); try again rather than wait forever.
            if !request.exists() {
                write_atomically(&request, &bytes)?;
            }
        }
    }

    /// Takes the queue's lock (blocking, on a thread of its own).
    async fn lock(&self) -> Result<File, QueueError> {
        let path = self.dir.join(LOCK_FILE);
        tokio::task::spawn_blocking(move || {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io(&path))?;
            file.lock().map_err(io(&path))?;
            Ok(file)
        })
        .await
        .map_err(|err| QueueError::Join(err.to_string()))?
    }

    /// Our answer, if it has been written (and removes it).
    fn collect(&self, answer: &Path) -> Result<Option<WireReply>, QueueError> {
        let bytes = match fs::read(answer) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(io(answer)(err)),
        };
        let _ = fs::remove_file(answer);
        Ok(Some(serde_json::from_slice(&bytes)?))
    }

    /// Releases the handles of every waiting release job in one batch and writes their
    /// answers (the lock held).
    async fn serve_releases(
        &self,
        ipam: &Ipam,
        jobs: Vec<(String, Vec<String>)>,
    ) -> Result<(), QueueError> {
        debug!(jobs = jobs.len(), "serving the host's queued releases");
        let all: Vec<String> = jobs.iter().flat_map(|(_, h)| h.iter().cloned()).collect();
        let mut results = ipam.release_by_handles(all).await.into_iter();
        for (id, handles) in &jobs {
            let released: Vec<WireReleased> = handles
                .iter()
                .map(|_| match results.next() {
                    Some(Ok(())) => WireReleased {
                        error: None,
                        not_found: false,
                    },
                    Some(Err(err)) => WireReleased {
                        error: Some(err.to_string()),
                        not_found: err.is_not_found(),
                    },
                    None => WireReleased {
                        error: Some("no answer for this handle".into()),
                        not_found: false,
                    },
                })
                .collect();
            let bytes = serde_json::to_vec(&WireReply::Release(released))?;
            write_atomically(&self.path(id, ANSWER), &bytes)?;
            let _ = fs::remove_file(self.path(id, REQUEST));
        }
        Ok(())
    }

    /// Allocates every waiting request in one batch and writes their answers (the lock held).
    async fn serve(&self, ipam: &Ipam) -> Result<(), QueueError> {
        let mut waiting: Vec<(String, AutoAssignArgs)> = Vec::new();
        let mut releases: Vec<(String, Vec<String>)> = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let Ok(entry) = entry else { continue };
            let path = entry.path();
            let Some(id) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(&format!(".{REQUEST}")))
                .map(str::to_string)
            else {
                let leftover = path.extension().is_some_and(|e| e == ANSWER || e == "tmp");
                if leftover && is_stale(&path) {
                    debug!(path = %path.display(), "removing an answer nobody collected");
                    let _ = fs::remove_file(&path);
                }
                continue;
            };
            if is_stale(&path) {
                warn!(path = %path.display(), "removing a request too old to serve");
                let _ = fs::remove_file(&path);
                continue;
            }
            match fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<WireJob>(&b).ok())
            {
                Some(WireJob::Assign(request)) => waiting.push((id, (*request).into_args())),
                Some(WireJob::Release(handles)) => releases.push((id, handles)),
                None => {
                    warn!(path = %path.display(), "removing a request that cannot be read");
                    let _ = fs::remove_file(&path);
                }
            }
        }
        if !releases.is_empty() {
            self.serve_releases(ipam, releases).await?;
        }
        if waiting.is_empty() {
            return Ok(());
        }
        debug!(
            requests = waiting.len(),
            "serving the host's queued allocations"
        );
        let hints_path = self.dir.join(HINTS_FILE);
        let hints: BTreeMap<String, Vec<IpNet>> = fs::read(&hints_path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<BTreeMap<String, Vec<String>>>(&bytes).ok())
            .map(|stored| {
                stored
                    .into_iter()
                    .map(|(key, cidrs)| {
                        (key, cidrs.iter().filter_map(|c| c.parse().ok()).collect())
                    })
                    .collect()
            })
            .unwrap_or_default();
        ipam.set_block_hints(hints);
        let (ids, args): (Vec<String>, Vec<AutoAssignArgs>) = waiting.into_iter().unzip();
        let results = ipam.auto_assign_batch(args).await;
        let hints: BTreeMap<String, Vec<String>> = ipam
            .block_hints()
            .into_iter()
            .map(|(key, cidrs)| (key, cidrs.iter().map(ToString::to_string).collect()))
            .collect();
        if let Err(err) = serde_json::to_vec(&hints)
            .map_err(QueueError::from)
            .and_then(|bytes| write_atomically(&hints_path, &bytes))
        {
            debug!(error = %err, "could not keep the block hints");
        }
        for (id, result) in ids.iter().zip(&results) {
            let bytes = serde_json::to_vec(&WireReply::Assign(WireAnswer::from_result(result)))?;
            write_atomically(&self.path(id, ANSWER), &bytes)?;
            let _ = fs::remove_file(self.path(id, REQUEST));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
