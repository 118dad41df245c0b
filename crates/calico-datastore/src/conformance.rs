//! The driver conformance suite: one set of checks every [`Backend`] must pass.
//!
//! A driver's tests implement [`Harness`] (how to get a fresh, empty backend, and what the
//! driver can do) and call [`run_all`]. Each check uses fresh resources with unique names, so
//! a harness may reuse one datastore across checks.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use calico_api::{AnyResource, GlobalNetworkSet, GlobalNetworkSetSpec, NetworkSet, NetworkSetSpec};
use futures::StreamExt;

use crate::backend::{Backend, WatchEvent, WatchStream};
use crate::error::DatastoreError;
use crate::key::{KindRef, ListOptions, ResourceKey};
use crate::kv::KvStore;
use crate::kvbackend::KvBackend;

pub mod raw;

/// How long a check waits for a watch event before failing.
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the suite needs from a driver's test setup.
#[async_trait]
pub trait Harness: Send + Sync {
    /// A backend on an empty datastore (or one the suite may share across checks).
    async fn backend(&self) -> Arc<dyn Backend>;

    /// Whether get/list honour a past revision (Kubernetes ignores it on get).
    fn reads_past_revisions(&self) -> bool {
        true
    }

    /// Forgets history up to `revision`; `None` when the driver cannot be compacted on demand.
    async fn compact(&self, _revision: &str) -> Option<()> {
        None
    }

    /// The bytes stored at an etcd-layout `path` (to check them byte for byte); `None` when the
    /// driver has no such layout.
    async fn raw_value(&self, _path: &str) -> Option<Vec<u8>> {
        None
    }

    /// Stores `bytes` at an etcd-layout `path` as they are (to plant values Calico could not
    /// read); `None` when the driver has no such layout.
    async fn put_raw(&self, _path: &str, _bytes: &[u8]) -> Option<()> {
        None
    }

    /// Whether the driver writes several IPAM objects in one transaction
    /// ([`Backend::atomic_model_writes`]).
    fn atomic_model_writes(&self) -> bool {
        false
    }
}

/// The harness of a [`KvBackend`] driver (the embedded store, etcd): `guard` keeps whatever
/// the datastore lives in (a temporary directory, a test server) for as long as the harness.
pub struct KvHarness<S, G> {
    pub backend: Arc<KvBackend<S>>,
    pub guard: G,
}

impl<S: KvStore + 'static, G> KvHarness<S, G> {
    pub fn new(store: S, guard: G) -> Self {
        KvHarness {
            backend: Arc::new(KvBackend::new(store)),
            guard,
        }
    }
}

#[async_trait]
impl<S: KvStore + 'static, G: Send + Sync> Harness for KvHarness<S, G> {
    async fn backend(&self) -> Arc<dyn Backend> {
        self.backend.clone()
    }

    async fn compact(&self, revision: &str) -> Option<()> {
        let revision = revision.parse().ok()?;
        self.backend.store().compact(revision).await.ok()
    }

    async fn raw_value(&self, path: &str) -> Option<Vec<u8>> {
        let kv = self.backend.store().get(path, None).await.ok()??;
        Some(kv.value)
    }

    async fn put_raw(&self, path: &str, bytes: &[u8]) -> Option<()> {
        let stored = self.backend.store().put(path, bytes.to_vec()).await;
        stored.ok().map(|_| ())
    }

    /// Both raw stores (embedded, etcd) write several keys in one transaction.
    fn atomic_model_writes(&self) -> bool {
        true
    }
}

/// A failed check.
pub type CheckResult = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// Runs the named checks on `h`, one line per failure.
macro_rules! run_checks {
    ($h:expr; $($f:ident),+ $(,)?) => {{
        let mut failures = Vec::new();
        $(
            if let Err(why) = $f($h).await {
                failures.push(format!("{}: {why}", stringify!($f)));
            }
        )+
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("\n"))
        }
    }};
}

// After the macros, which they use.
pub mod batch;
pub mod model;

pub use model::run_model_checks;

fn kind(name: &str) -> Result<KindRef, String> {
    KindRef::lookup(name).ok_or_else(|| format!("kind {name} is not registered"))
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

fn global_set(name: &str, nets: &[&str]) -> AnyResource {
    let mut set = GlobalNetworkSet::new(
        name,
        GlobalNetworkSetSpec {
            nets: nets.iter().map(|n| n.to_string()).collect(),
        },
    );
    set.metadata.labels = BTreeMap::from([("suite".to_string(), "conformance".to_string())]);
    set.into()
}

fn namespaced_set(namespace: &str, name: &str) -> AnyResource {
    NetworkSet::new_namespaced(
        namespace,
        name,
        NetworkSetSpec {
            nets: vec!["192.0.2.0/24".into()],
        },
    )
    .into()
}

fn nets_of(resource: &AnyResource) -> Vec<String> {
    match resource {
        AnyResource::GlobalNetworkSet(set) => set.spec.nets.clone(),
        AnyResource::NetworkSet(set) => set.spec.nets.clone(),
        _ => Vec::new(),
    }
}

fn set_nets(resource: &mut AnyResource, nets: &[&str]) {
    let nets: Vec<String> = nets.iter().map(|n| n.to_string()).collect();
    match resource {
        AnyResource::GlobalNetworkSet(set) => set.spec.nets = nets,
        AnyResource::NetworkSet(set) => set.spec.nets = nets,
        _ => {}
    }
}

fn rv(resource: &AnyResource) -> String {
    resource.metadata().resource_version.clone()
}

/// The next event other than a bookmark (which a driver may send at any time).
async fn next_event(watch: &mut WatchStream) -> Result<WatchEvent, String> {
    loop {
        match tokio::time::timeout(EVENT_TIMEOUT, watch.next()).await {
            Ok(Some(WatchEvent::Bookmark { revision })) => {
                ensure!(!revision.is_empty(), "a bookmark without a revision");
            }
            Ok(Some(event)) => return Ok(event),
            Ok(None) => return Err("the watch ended early".into()),
            Err(_) => return Err("no watch event within 10 s".into()),
        }
    }
}

/// Whether a watch ends (within the event timeout) without reporting anything more.
async fn ends(watch: &mut WatchStream) -> CheckResult {
    loop {
        match tokio::time::timeout(EVENT_TIMEOUT, watch.next()).await {
            Ok(None) => return Ok(()),
            Ok(Some(WatchEvent::Bookmark { .. })) => {}
            Ok(Some(event)) => return Err(format!("the watch went on: {}", event_name(&event))),
            Err(_) => return Err("the watch did not end".into()),
        }
    }
}

fn event_name(event: &WatchEvent) -> String {
    match event {
        WatchEvent::Added(r) => format!("ADDED {}", r.metadata().name),
        WatchEvent::Modified { current, .. } => format!("MODIFIED {}", current.metadata().name),
        WatchEvent::Deleted(r) => format!("DELETED {}", r.metadata().name),
        WatchEvent::InitDone { .. } => "INIT-DONE".to_string(),
        WatchEvent::Bookmark { .. } => "BOOKMARK".to_string(),
        WatchEvent::Error(e) => format!("ERROR {e}"),
    }
}

/// Create, get, and the errors around them.
pub async fn create_and_get(h: &dyn Harness) -> CheckResult {
    let backend = h.backend().await;
    let name = unique("create");
    let created = backend
        .create(global_set(&name, &["10.0.0.0/8"]))
        .await
        .map_err(|e| format!("create failed: {e}"))?;
    ensure!(
        !rv(&created).is_empty(),
        "create returned no resourceVersion"
    );
    let fetched = backend
        .get(&ResourceKey::of(&created), None)
        .await
        .map_err(|e| format!("get failed: {e}"))?;
    ensure!(
        rv(&fetched) == rv(&created),
        "get returned another revision"
    );
    ensure!(
        nets_of(&fetched) == ["10.0.0.0/8"],
        "spec did not round-trip"
    );
    ensure!(
        fetched.metadata().labels.get("suite").map(String::as_str) == Some("conformance"),
        "labels did not round-trip"
    );

    match backend.create(global_set(&name, &[])).await {
        Err(DatastoreError::AlreadyExists { key, .. }) => {
            ensure!(
                DatastoreError::already_exists(&key).to_string()
                    == format!(
                        "resource already exists: GlobalNetworkSet({name}) with error: <nil>"
                    ),
                "wrong already-exists text"
            );
        }
        other => {
            return Err(format!(
                "second create: expected AlreadyExists, got {other:?}"
            ))
        }
    }

    let missing = ResourceKey::new(kind("GlobalNetworkSet")?, "", unique("missing"));
    match backend.get(&missing, None).await {
        Err(err @ DatastoreError::DoesNotExist { .. }) => ensure!(
            err.to_string()
                .starts_with(&format!("resource does not exist: {missing} with error: ")),
            "wrong does-not-exist text: {err}"
        ),
        other => return Err(format!("get of a missing resource: got {other:?}")),
    }
    Ok(())
}

/// Update compares on the revision; apply does not.
pub async fn update_and_apply(h: &dyn Harness) -> CheckResult {
    let backend = h.backend().await;
    let name = unique("update");
    let created = backend
        .create(global_set(&name, &["10.0.0.0/8"]))
        .await
        .map_err(|e| format!("create failed: {e}"))?;

    let mut changed = created.clone();
    set_nets(&mut changed, &["10.1.0.0/16"]);
    let updated = backend
        .update(changed.clone())
        .await
        .map_err(|e| format!("update failed: {e}"))?;
    ensure!(rv(&updated) != rv(&created), "update kept the old revision");
    ensure!(
        nets_of(&updated) == ["10.1.0.0/16"],
        "update lost the new spec"
    );

    // The first revision is now stale.
    match backend.update(changed).await {
        Err(DatastoreError::UpdateConflict { key, .. }) => ensure!(
            DatastoreError::UpdateConflict { key, detail: None }.to_string()
                == format!("update conflict: GlobalNetworkSet({name})"),
            "wrong conflict text"
        ),
        other => {
            return Err(format!(
                "stale update: expected UpdateConflict, got {other:?}"
            ))
        }
    }

    let mut ghost = global_set(&unique("ghost"), &[]);
    ghost.metadata_mut().resource_version = rv(&updated);
    match backend.update(ghost).await {
        Err(DatastoreError::DoesNotExist { .. }) => {}
        other => return Err(format!("update of a missing resource: got {other:?}")),
    }

    let mut applied = global_set(&name, &["10.2.0.0/16"]);
    applied.metadata_mut().resource_version = "1".into();
    let applied = backend
        .apply(applied)
        .await
        .map_err(|e| format!("apply over an existing resource failed: {e}"))?;
    ensure!(
        nets_of(&applied) == ["10.2.0.0/16"],
        "apply lost the new spec"
    );
    let fresh = backend
        .apply(global_set(&unique("applied"), &[]))
        .await
        .map_err(|e| format!("apply of a new resource failed: {e}"))?;
    ensure!(!rv(&fresh).is_empty(), "apply returned no resourceVersion");
    Ok(())
}

/// Delete returns what it deleted; a stale revision is a conflict.
pub async fn delete(h: &dyn Harness) -> CheckResult {
    let backend = h.backend().await;
    let name = unique("delete");
    let created = backend
        .create(global_set(&name, &["10.0.0.0/8"]))
        .await
        .map_err(|e| format!("create failed: {e}"))?;
    let key = ResourceKey::of(&created);
    let mut changed = created.clone();
    set_nets(&mut changed, &[]);
    let updated = backend
        .update(changed)
        .await
        .map_err(|e| format!("update failed: {e}"))?;

    match backend.delete(&key, Some(&rv(&created))).await {
        Err(DatastoreError::UpdateConflict { .. }) => {}
        other => return Err(format!("delete with a stale revision: got {other:?}")),
    }
    let deleted = backend
        .delete(&key, Some(&rv(&updated)))
        .await
        .map_err(|e| format!("delete failed: {e}"))?;
    ensure!(
        deleted.metadata().name == name,
        "delete returned another resource"
    );
    match backend.get(&key, None).await {
        Err(DatastoreError::DoesNotExist { .. }) => {}
        other => return Err(format!("get after delete: got {other:?}")),
    }
    match backend.delete(&key, None).await {
        Err(DatastoreError::DoesNotExist { .. }) => {}
        other => return Err(format!("second delete: got {other:?}")),
    }
    Ok(())
}

/// Lists by kind and namespace, and at a past revision.
pub async fn list(h: &dyn Harness) -> CheckResult {
    let backend = h.backend().await;
    let ns_a = unique("ns-a");
    let ns_b = unique("ns-b");
    let sets = kind("NetworkSet")?;
    for (ns, name) in [(&ns_a, "one"), (&ns_a, "two"), (&ns_b, "one")] {
        backend
            .create(namespaced_set(ns, name))
            .await
            .map_err(|e| format!("create failed: {e}"))?;
    }
    let in_a = backend
        .list(&ListOptions::in_namespace(sets, ns_a.clone()), None)
        .await
        .map_err(|e| format!("list failed: {e}"))?;
    let names: Vec<_> = in_a
        .items
        .iter()
        .map(|r| r.metadata().name.clone())
        .collect();
    ensure!(names == ["one", "two"], "namespace list returned {names:?}");
    ensure!(!in_a.revision.is_empty(), "list returned no revision");

    let everywhere = backend
        .list(&ListOptions::all(sets), None)
        .await
        .map_err(|e| format!("list failed: {e}"))?;
    let ours = everywhere
        .items
        .iter()
        .filter(|r| r.metadata().namespace == ns_a || r.metadata().namespace == ns_b)
        .count();
    ensure!(ours == 3, "all-namespaces list found {ours} of 3");

    if h.reads_past_revisions() {
        let before = in_a.revision.clone();
        backend
            .create(namespaced_set(&ns_a, "three"))
            .await
            .map_err(|e| format!("create failed: {e}"))?;
        let past = backend
            .list(
                &ListOptions::in_namespace(sets, ns_a.clone()),
                Some(&before),
            )
            .await
            .map_err(|e| format!("list at a revision failed: {e}"))?;
        ensure!(
            past.items.len() == 2,
            "list at {before} saw {} items",
            past.items.len()
        );
        let now = backend
            .list(&ListOptions::in_namespace(sets, ns_a), None)
            .await
            .map_err(|e| format!("list failed: {e}"))?;
        ensure!(
            now.items.len() == 3,
            "list after create saw {}",
            now.items.len()
        );
    }
    Ok(())
}

/// A list read page by page yields what one list does, in order, all at the first page's
/// revision, and no page larger than asked for (a driver that does not page returns one).
pub async fn list_in_pages(h: &dyn Harness) -> CheckResult {
    const ITEMS: usize = 23;
    const PAGE: usize = 2;
    let backend = h.backend().await;
    let ns = unique("ns-pages");
    let sets = kind("NetworkSet")?;
    for i in 0..ITEMS {
        backend
            .create(namespaced_set(&ns, &format!("set-{i:02}")))
            .await
            .map_err(|e| format!("create failed: {e}"))?;
    }
    let options = ListOptions::in_namespace(sets, ns.clone());
    let whole = backend
        .list(&options, None)
        .await
        .map_err(|e| format!("list failed: {e}"))?;
    let mut pages = backend
        .list_pages(&options, PAGE)
        .await
        .map_err(|e| format!("list_pages failed: {e}"))?;
    let mut names = Vec::new();
    let mut sizes = Vec::new();
    let mut revisions = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("a page failed: {e}"))?;
        if sizes.is_empty() {
            // Written after the first page: a consistent read does not see it.
            backend
                .create(namespaced_set(&ns, "set-99-late"))
                .await
                .map_err(|e| format!("create failed: {e}"))?;
        }
        sizes.push(page.items.len());
        revisions.push(page.revision.clone());
        names.extend(page.items.iter().map(|r| r.metadata().name.clone()));
    }
    let expected: Vec<String> = whole
        .items
        .iter()
        .map(|r| r.metadata().name.clone())
        .collect();
    ensure!(
        names == expected,
        "pages listed {names:?}, one list {expected:?}"
    );
    ensure!(
        sizes.len() == 1 || sizes.iter().all(|&size| size <= PAGE),
        "pages of {sizes:?} items for a page size of {PAGE}"
    );
    ensure!(
        revisions.windows(2).all(|pair| pair[0] == pair[1]),
        "pages at revisions {revisions:?}"
    );
    Ok(())
}

/// A watch reports changes in order, and can resume from any event's revision.
pub async fn watch_order_and_resume(h: &dyn Harness) -> CheckResult {
    let backend = h.backend().await;
    let ns = unique("watch");
    let sets = kind("NetworkSet")?;
    let options = ListOptions::in_namespace(sets, ns.clone());
    let existing = backend
        .create(namespaced_set(&ns, "existing"))
        .await
        .map_err(|e| format!("create failed: {e}"))?;

    // Without a revision: the current state first.
    let mut from_now = backend
        .watch(&options, None)
        .await
        .map_err(|e| format!("watch failed: {e}"))?;
    let first = next_event(&mut from_now).await?;
    ensure!(
        matches!(&first, WatchEvent::Added(r) if r.metadata().name == "existing"),
        "first event was {}",
        event_name(&first)
    );

    let mut watch = backend
        .watch(&options, Some(&rv(&existing)))
        .await
        .map_err(|e| format!("watch failed: {e}"))?;
    let created = backend
        .create(namespaced_set(&ns, "a"))
        .await
        .map_err(|e| format!("create failed: {e}"))?;
    let mut changed = created.clone();
    set_nets(&mut changed, &["198.51.100.0/24"]);
    let updated = backend
        .update(changed)
        .await
        .map_err(|e| format!("update failed: {e}"))?;
    backend
        .delete(&ResourceKey::of(&created), None)
        .await
        .map_err(|e| format!("delete failed: {e}"))?;

    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(next_event(&mut watch).await?);
    }
    let names: Vec<_> = seen.iter().map(event_name).collect();
    ensure!(
        names == ["ADDED a", "MODIFIED a", "DELETED a"],
        "events were {names:?}"
    );
    if let WatchEvent::Modified { current, .. } = &seen[1] {
        ensure!(
            rv(current) == rv(&updated),
            "MODIFIED carried another revision"
        );
        ensure!(
            nets_of(current) == ["198.51.100.0/24"],
            "MODIFIED carried the old spec"
        );
    }

    // Resume after the ADDED event: the rest comes again, in order.
    let WatchEvent::Added(added) = &seen[0] else {
        return Err("first event was not ADDED".into());
    };
    let mut resumed = backend
        .watch(&options, Some(&rv(added)))
        .await
        .map_err(|e| format!("watch from a revision failed: {e}"))?;
    let again: Vec<_> = vec![
        event_name(&next_event(&mut resumed).await?),
        event_name(&next_event(&mut resumed).await?),
    ];
    ensure!(
        again == ["MODIFIED a", "DELETED a"],
        "resumed events were {again:?}"
    );
    Ok(())
}

/// Watching from a compacted revision is a distinct error, and ends the watch.
pub async fn watch_compacted(h: &dyn Harness) -> CheckResult {
    let backend = h.backend().await;
    let name = unique("compact");
    let first = backend
        .create(global_set(&name, &[]))
        .await
        .map_err(|e| format!("create failed: {e}"))?;
    let mut changed = first.clone();
    set_nets(&mut changed, &["10.0.0.0/8"]);
    let second = backend
        .update(changed)
        .await
        .map_err(|e| format!("update failed: {e}"))?;
    if h.compact(&rv(&second)).await.is_none() {
        return Ok(());
    }
    let options = ListOptions::all(kind("GlobalNetworkSet")?);
    let outcome = backend.watch(&options, Some(&rv(&first))).await;
    let mut watch = match outcome {
        Err(DatastoreError::Compacted { .. }) => return Ok(()),
        Err(other) => return Err(format!("watch from a compacted revision: {other}")),
        Ok(watch) => watch,
    };
    match next_event(&mut watch).await? {
        WatchEvent::Error(DatastoreError::Compacted { .. }) => {}
        other => {
            return Err(format!(
                "expected a compaction error, got {}",
                event_name(&other)
            ))
        }
    }
    ends(&mut watch)
        .await
        .map_err(|why| format!("after the compaction error: {why}"))
}

/// A watch without a revision reports every current resource as ADDED, then exactly one
/// INIT-DONE, then the changes; a watch from INIT-DONE's revision misses none of them and
/// reports nothing from before it.
pub async fn watch_init_done(h: &dyn Harness) -> CheckResult {
    let backend = h.backend().await;
    let ns = unique("init");
    let options = ListOptions::in_namespace(kind("NetworkSet")?, ns.clone());
    for name in ["one", "two"] {
        backend
            .create(namespaced_set(&ns, name))
            .await
            .map_err(|e| format!("create failed: {e}"))?;
    }
    let mut watch = backend
        .watch(&options, None)
        .await
        .map_err(|e| format!("watch failed: {e}"))?;
    // Written once the watch has listed: a change, after INIT-DONE.
    let three = backend
        .create(namespaced_set(&ns, "three"))
        .await
        .map_err(|e| format!("create failed: {e}"))?;
    let mut listed = Vec::new();
    let revision = loop {
        match next_event(&mut watch).await? {
            WatchEvent::Added(r) => listed.push(r.metadata().name.clone()),
            WatchEvent::InitDone { revision } => break revision,
            other => {
                return Err(format!(
                    "{} before INIT-DONE (after {listed:?})",
                    event_name(&other)
                ))
            }
        }
    };
    listed.sort();
    ensure!(
        listed == ["one", "two"],
        "ADDED before INIT-DONE: {listed:?}"
    );
    ensure!(
        !revision.is_empty() && revision != "0",
        "INIT-DONE without a revision: {revision:?}"
    );
    let after = event_name(&next_event(&mut watch).await?);
    ensure!(after == "ADDED three", "after INIT-DONE: {after}");

    let mut resumed = backend
        .watch(&options, Some(&revision))
        .await
        .map_err(|e| format!("watch from INIT-DONE's revision failed: {e}"))?;
    let first = event_name(&next_event(&mut resumed).await?);
    ensure!(
        first == "ADDED three",
        "the watch from INIT-DONE's revision began with {first}"
    );
    let mut changed = three.clone();
    set_nets(&mut changed, &["203.0.113.0/24"]);
    backend
        .update(changed)
        .await
        .map_err(|e| format!("update failed: {e}"))?;
    for (which, stream) in [("first", &mut watch), ("resumed", &mut resumed)] {
        let next = event_name(&next_event(stream).await?);
        ensure!(
            next == "MODIFIED three",
            "the {which} watch then saw {next}"
        );
    }
    Ok(())
}

/// Writers racing on one resource with get-then-update lose no update.
pub async fn concurrent_writers(h: &dyn Harness) -> CheckResult {
    const WRITERS: usize = 4;
    const INCREMENTS: usize = 10;
    let backend = h.backend().await;
    let name = unique("race");
    let key = ResourceKey::of(&global_set(&name, &[]));
    backend
        .create(global_set(&name, &[]))
        .await
        .map_err(|e| format!("create failed: {e}"))?;
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let backend = Arc::clone(&backend);
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..INCREMENTS {
                loop {
                    let mut current = backend.get(&key, None).await.map_err(|e| e.to_string())?;
                    let mut nets = nets_of(&current);
                    nets.push(format!("10.{}.0.0/16", nets.len()));
                    let refs: Vec<&str> = nets.iter().map(String::as_str).collect();
                    set_nets(&mut current, &refs);
                    match backend.update(current).await {
                        Ok(_) => break,
                        Err(DatastoreError::UpdateConflict { .. }) => continue,
                        Err(other) => return Err(other.to_string()),
                    }
                }
            }
            Ok::<(), String>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| format!("writer panicked: {e}"))??;
    }
    let last = backend.get(&key, None).await.map_err(|e| e.to_string())?;
    let count = nets_of(&last).len();
    ensure!(
        count == WRITERS * INCREMENTS,
        "{count} of {} updates survived",
        WRITERS * INCREMENTS
    );
    Ok(())
}

/// Every check, by name.
pub async fn run_all(h: &dyn Harness) -> Result<(), String> {
    run_checks!(h;
        create_and_get,
        update_and_apply,
        delete,
        list,
        list_in_pages,
        watch_order_and_resume,
        watch_init_done,
        watch_compacted,
        concurrent_writers,
    )
}
