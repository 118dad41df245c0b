//! A Kubernetes datastore moved from `crd.projectcalico.org/v1` to `projectcalico.org/v3`
//! custom resources in one shot: what Calico's DatastoreMigration controller does in its
//! Pending and Migrating phases (`kube-controllers/pkg/controllers/migration`), without the
//! controller, its custom resource or its APIService handling.
//!
//! 1. Checks: the v1 ClusterInformation exists and the v3 custom resources are served.
//! 2. Locks the v1 datastore (ClusterInformation `datastoreReady: false`), waits out a drain
//!    period for in-flight IPAM writes when it took the lock just now, then locks v3: creates
//!    the v3 ClusterInformation from the v1 one with `datastoreReady: false` (annotated
//!    `migrated-by`), or locks an existing one (annotated `locked-by`).
//! 3. Copies every kind in Calico's [`ORDER`], page by page as the v1 lists come in, a few
//!    objects at a time: each object as the v1 driver reads it, cleaned as Calico cleans it
//!    (server metadata and the `projectcalico.org/metadata` annotation dropped, the
//!    `migrated-by` annotation added; IPAMBlocks and IPAMHandles rebuilt from their IPAM model
//!    objects, as Calico's `convertIPAMBlock`/`convertIPAMHandle` rebuild them). A v3 object that
//!    already exists is left alone: with the same `spec` it counts as identical, with another
//!    it is a [`Conflict`].
//! 4. Remaps owner references to Calico objects from the v1 UIDs to the UIDs the v3 objects got.
//! 5. Without conflicts, unlocks v3 (`datastoreReady: true`). The v1 datastore stays locked on
//!    purpose, as in Calico: components still reading v1 keep waiting instead of allocating
//!    addresses the migration would not see. With conflicts both stay locked.
//!
//! A rerun is always safe: locking is idempotent, nothing existing is ever overwritten, and an
//! object copied by an earlier run is identical, so a run that failed part-way is finished by
//! running again, and a run with conflicts finishes once they are resolved (delete or fix the
//! v3 objects named) and it runs again. Once a run has unlocked v3, components may be writing
//! there: another run is refused ([`MigrateError::AlreadyComplete`]; a dry run still compares).

use std::collections::HashMap;
use std::time::Duration;

use calico_api::{AnyResource, ClusterInformationSpec, Resource};
use calico_datastore::apiconfig::ApiConfigSpec;
use calico_datastore::{Backend, DatastoreError, KindRef, ListOptions, ResourceKey};
use calico_kube::{ConfigError, KubeBackend, Mode};
use futures::{StreamExt, TryStreamExt};

/// The annotation every v3 object the migration creates carries (Calico's, with the
/// migration's ID as its value).
pub const MIGRATED_BY_ANNOTATION: &str = "migration.projectcalico.org/migrated-by";
/// The annotation on a v3 ClusterInformation that existed before and was locked by the
/// migration.
pub const LOCKED_BY_ANNOTATION: &str = "migration.projectcalico.org/locked-by";
/// The annotation the v1 driver keeps v3 metadata in; never copied.
pub const METADATA_ANNOTATION: &str = "projectcalico.org/metadata";
/// The migration ID calicoctl stamps (Calico stamps its DatastoreMigration's UID).
pub const DEFAULT_MIGRATION_ID: &str = "calicoctl-datastore-migrate-v1-to-v3";
/// The ClusterInformation's only name.
const CLUSTER_INFORMATION: &str = "default";
/// How often an owner-reference update is retried after losing a race.
const REMAP_ATTEMPTS: usize = 3;

/// The kinds copied, in Calico's order (`registry.go`'s `NewMigrators`, sorted by `Order`), with
/// that order. ClusterInformation (30) is the lock, handled apart; Nodes, WorkloadEndpoints and
/// Profiles are Kubernetes objects and do not move.
pub const ORDER: &[(&str, u32)] = &[
    ("Tier", 10),
    ("FelixConfiguration", 20),
    ("BGPConfiguration", 20),
    ("KubeControllersConfiguration", 20),
    ("IPPool", 40),
    ("IPReservation", 40),
    ("BGPPeer", 40),
    ("BGPFilter", 40),
    ("GlobalNetworkPolicy", 50),
    ("NetworkPolicy", 50),
    ("StagedGlobalNetworkPolicy", 50),
    ("StagedNetworkPolicy", 50),
    ("StagedKubernetesNetworkPolicy", 50),
    ("HostEndpoint", 60),
    ("GlobalNetworkSet", 60),
    ("NetworkSet", 60),
    ("IPAMConfiguration", 100),
    ("BlockAffinity", 100),
    ("IPAMBlock", 100),
    ("IPAMHandle", 100),
    ("CalicoNodeStatus", 110),
];

/// How to migrate.
#[derive(Clone, Debug)]
pub struct Options {
    /// Read and compare only: no lock, no write; the report says what a run would do.
    pub dry_run: bool,
    /// Objects copied at once (Calico's controller runs 10 workers per kind).
    pub workers: usize,
    /// The page size asked of the v1 lists.
    pub page_size: usize,
    /// The pause after taking the v1 lock, for IPAM writes in flight to land (Calico: 10 s).
    /// Not taken when v1 was locked already (a rerun).
    pub drain: Duration,
    /// The value of the `migrated-by` and `locked-by` annotations.
    pub migration_id: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dry_run: false,
            workers: 10,
            page_size: 500,
            drain: Duration::from_secs(10),
            migration_id: DEFAULT_MIGRATION_ID.to_string(),
        }
    }
}

/// The steps of a migration, as reported to [`Progress::phase`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Setting `datastoreReady: false` on the v1 ClusterInformation.
    LockingV1,
    /// Waiting for in-flight writes after taking the v1 lock.
    Draining,
    /// Creating or locking the v3 ClusterInformation.
    LockingV3,
    /// Copying the kinds in [`ORDER`].
    Copying,
    /// Remapping owner references to the v3 UIDs.
    RemappingOwners,
    /// Setting `datastoreReady: true` on the v3 ClusterInformation.
    UnlockingV3,
}

/// What happened to one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Created in v3 (in a dry run: would be).
    Copied,
    /// Already in v3 with the same spec: left alone.
    Identical,
    /// Already in v3 with another spec: left alone, reported.
    Conflict,
}

/// Where a migration reports how it goes (a CLI draws it; the default methods ignore it).
pub trait Progress: Send + Sync {
    /// A step begins.
    fn phase(&self, _phase: Phase) {}
    /// Copying of `kind` begins: the `index`th (from 0) of `total` kinds.
    fn kind_started(&self, _kind: &str, _index: usize, _total: usize) {}
    /// One object of `kind` is done.
    fn object(&self, _kind: &str, _outcome: Outcome) {}
    /// Copying of a kind is done.
    fn kind_finished(&self, _summary: &KindSummary) {}
}

/// No progress reporting.
impl Progress for () {}

/// The counts of one kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KindSummary {
    pub kind: &'static str,
    pub copied: usize,
    pub identical: usize,
    pub conflicts: usize,
}

/// A v3 object that exists with another spec than its v1 original.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for Conflict {
    /// Calico's `ConflictInfo.String()` form.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(
                f,
                "{} {} exists in v3 with a different spec",
                self.kind, self.name
            )
        } else {
            write!(
                f,
                "{} {}/{} exists in v3 with a different spec",
                self.kind, self.namespace, self.name
            )
        }
    }
}

/// What a migration did (or, in a dry run, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub dry_run: bool,
    /// The kinds handled so far, in order.
    pub kinds: Vec<KindSummary>,
    pub conflicts: Vec<Conflict>,
    /// v3 objects whose owner references were remapped.
    pub owners_remapped: usize,
    /// Whether this run took the v1 lock (false: it was locked already, or a dry run).
    pub locked_v1: bool,
    /// Whether v3 was unlocked at the end (no conflicts, not a dry run).
    pub unlocked_v3: bool,
}

impl Report {
    /// Objects created (or, in a dry run, to create).
    pub fn copied(&self) -> usize {
        self.kinds.iter().map(|k| k.copied).sum()
    }

    /// Objects found identical in v3.
    pub fn identical(&self) -> usize {
        self.kinds.iter().map(|k| k.identical).sum()
    }
}

/// Why a migration stopped.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The Kubernetes API could not be reached in one of the modes.
    #[error("{0}")]
    Connect(#[from] ConfigError),
    /// There is nothing to migrate from: no ClusterInformation in `crd.projectcalico.org/v1`.
    #[error("no ClusterInformation in crd.projectcalico.org/v1: is this a Calico datastore on the v1 custom resources?")]
    NoV1ClusterInformation,
    /// Reading the v1 ClusterInformation failed.
    #[error("reading the crd.projectcalico.org/v1 ClusterInformation: {0}")]
    ReadV1(#[source] DatastoreError),
    /// The `projectcalico.org/v3` custom resources are not served.
    #[error("the projectcalico.org/v3 custom resources are not usable: {0}")]
    V3NotServed(#[source] DatastoreError),
    /// A migration finished here already: the v3 ClusterInformation it made or locked is
    /// unlocked, so components may be writing v3, and copying v1 again could bring back objects
    /// deleted since.
    #[error("the migration to projectcalico.org/v3 has finished already (its ClusterInformation is unlocked): running it again could bring back objects deleted since; use a dry run to compare")]
    AlreadyComplete,
    /// Setting the lock failed.
    #[error("locking the {group} datastore: {source}")]
    Lock {
        group: &'static str,
        #[source]
        source: DatastoreError,
    },
    /// Listing a kind in v1 failed.
    #[error("listing {kind} in crd.projectcalico.org/v1: {source}")]
    List {
        kind: &'static str,
        #[source]
        source: DatastoreError,
    },
    /// An IPAM object could not be rebuilt from its model object.
    #[error("converting {kind} {name}: {reason}")]
    Convert {
        kind: &'static str,
        name: String,
        reason: String,
    },
    /// Reading or creating one v3 object failed.
    #[error("copying {key} to projectcalico.org/v3: {source}")]
    Copy {
        key: Box<ResourceKey>,
        #[source]
        source: DatastoreError,
    },
    /// Updating one object's owner references failed.
    #[error("remapping the owner references of {key}: {source}")]
    Remap {
        key: Box<ResourceKey>,
        #[source]
        source: DatastoreError,
    },
    /// Unlocking v3 failed (everything was copied: a rerun unlocks).
    #[error("unlocking the projectcalico.org/v3 datastore: {0}")]
    Unlock(#[source] DatastoreError),
}

/// A migration that stopped, with what it had done by then: what landed stays, and a rerun
/// finishes the job.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct Failed {
    #[source]
    pub error: MigrateError,
    pub report: Report,
}

/// Opens the cluster `spec` names twice: in `crd.projectcalico.org/v1` mode and in
/// `projectcalico.org/v3` mode.
pub async fn connect(spec: &ApiConfigSpec) -> Result<(KubeBackend, KubeBackend), MigrateError> {
    let v1 = KubeBackend::connect_mode(spec, Mode::V1).await?;
    let v3 = KubeBackend::connect_mode(spec, Mode::V3).await?;
    Ok((v1, v3))
}

fn kind_ref(kind: &str) -> Option<KindRef> {
    KindRef::lookup(kind)
}

fn cluster_information_key() -> Option<ResourceKey> {
    kind_ref("ClusterInformation").map(|k| ResourceKey::new(k, "", CLUSTER_INFORMATION))
}

/// Migrates from `v1` (a backend on the `crd.projectcalico.org/v1` custom resources) to `v3`
/// (one on the `projectcalico.org/v3` ones) of the same cluster.
pub async fn migrate(
    v1: &dyn Backend,
    v3: &dyn Backend,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Report, Box<Failed>> {
    let mut report = Report {
        dry_run: options.dry_run,
        ..Report::default()
    };
    match run(v1, v3, options, progress, &mut report).await {
        Ok(()) => Ok(report),
        Err(error) => Err(Box::new(Failed { error, report })),
    }
}

async fn run(
    v1: &dyn Backend,
    v3: &dyn Backend,
    options: &Options,
    progress: &dyn Progress,
    report: &mut Report,
) -> Result<(), MigrateError> {
    let ci_key = cluster_information_key().ok_or(MigrateError::NoV1ClusterInformation)?;
    let v1_info = match v1.get(&ci_key, None).await {
        Ok(AnyResource::ClusterInformation(info)) => *info,
        Ok(_) | Err(DatastoreError::DoesNotExist { .. }) => {
            return Err(MigrateError::NoV1ClusterInformation)
        }
        Err(error) => return Err(MigrateError::ReadV1(error)),
    };
    // The v3 custom resources must be there before anything is locked.
    let existing_v3_info = match v3.get(&ci_key, None).await {
        Ok(AnyResource::ClusterInformation(info)) => Some(*info),
        Ok(_) | Err(DatastoreError::DoesNotExist { .. }) => None,
        Err(error) => return Err(MigrateError::V3NotServed(error)),
    };

    if !options.dry_run && finished(existing_v3_info.as_ref(), &options.migration_id) {
        return Err(MigrateError::AlreadyComplete);
    }
    if !options.dry_run {
        progress.phase(Phase::LockingV1);
        report.locked_v1 = lock_v1(v1, v1_info.clone()).await?;
        if report.locked_v1 && !options.drain.is_zero() {
            progress.phase(Phase::Draining);
            tokio::time::sleep(options.drain).await;
        }
        progress.phase(Phase::LockingV3);
        lock_v3(v3, &v1_info.spec, existing_v3_info, &options.migration_id).await?;
    }

    progress.phase(Phase::Copying);
    let mut uids: HashMap<String, String> = HashMap::new();
    let mut owned: Vec<ResourceKey> = Vec::new();
    for (index, (kind, _order)) in ORDER.iter().enumerate() {
        let Some(kind_ref) = kind_ref(kind) else {
            continue;
        };
        progress.kind_started(kind, index, ORDER.len());
        report.kinds.push(KindSummary {
            kind: kind_ref.kind(),
            ..KindSummary::default()
        });
        copy_kind(
            v1, v3, kind_ref, options, progress, report, &mut uids, &mut owned,
        )
        .await?;
        if let Some(summary) = report.kinds.last() {
            progress.kind_finished(summary);
        }
    }

    if options.dry_run {
        return Ok(());
    }
    progress.phase(Phase::RemappingOwners);
    report.owners_remapped = remap_owners(v3, &uids, &owned).await?;

    if report.conflicts.is_empty() {
        progress.phase(Phase::UnlockingV3);
        unlock_v3(v3).await?;
        report.unlocked_v3 = true;
    }
    Ok(())
}

/// Whether the v3 ClusterInformation says this migration has finished: made or locked by it,
/// and unlocked.
fn finished(v3_info: Option<&Resource<ClusterInformationSpec>>, migration_id: &str) -> bool {
    v3_info.is_some_and(|info| {
        let annotations = &info.metadata.annotations;
        let ours = [MIGRATED_BY_ANNOTATION, LOCKED_BY_ANNOTATION]
            .iter()
            .any(|key| annotations.get(*key).map(String::as_str) == Some(migration_id));
        ours && info.spec.datastore_ready != Some(false)
    })
}

/// Sets `datastoreReady: false` on the v1 ClusterInformation; whether it was unlocked before.
async fn lock_v1(
    v1: &dyn Backend,
    mut info: Resource<ClusterInformationSpec>,
) -> Result<bool, MigrateError> {
    if info.spec.datastore_ready == Some(false) {
        tracing::debug!("the v1 datastore is locked already");
        return Ok(false);
    }
    info.spec.datastore_ready = Some(false);
    v1.update(info.into())
        .await
        .map_err(|source| MigrateError::Lock {
            group: "crd.projectcalico.org/v1",
            source,
        })?;
    tracing::info!("locked the crd.projectcalico.org/v1 datastore");
    Ok(true)
}

/// Creates the v3 ClusterInformation locked, from the v1 one's spec, or locks the one there.
async fn lock_v3(
    v3: &dyn Backend,
    v1_spec: &ClusterInformationSpec,
    existing: Option<Resource<ClusterInformationSpec>>,
    migration_id: &str,
) -> Result<(), MigrateError> {
    let lock_error = |source| MigrateError::Lock {
        group: "projectcalico.org/v3",
        source,
    };
    match existing {
        None => {
            let mut info = Resource::new(
                CLUSTER_INFORMATION,
                ClusterInformationSpec {
                    datastore_ready: Some(false),
                    ..v1_spec.clone()
                },
            );
            info.metadata
                .annotations
                .insert(MIGRATED_BY_ANNOTATION.into(), migration_id.into());
            v3.create(info.into()).await.map_err(lock_error)?;
            tracing::info!("created the projectcalico.org/v3 ClusterInformation, locked");
        }
        Some(mut info) if info.spec.datastore_ready != Some(false) => {
            info.metadata
                .annotations
                .insert(LOCKED_BY_ANNOTATION.into(), migration_id.into());
            info.spec.datastore_ready = Some(false);
            v3.update(info.into()).await.map_err(lock_error)?;
            tracing::info!("locked the projectcalico.org/v3 datastore");
        }
        Some(_) => tracing::debug!("the v3 datastore is locked already"),
    }
    Ok(())
}

/// Sets `datastoreReady: true` on the v3 ClusterInformation (v1 stays locked).
async fn unlock_v3(v3: &dyn Backend) -> Result<(), MigrateError> {
    let key = cluster_information_key().ok_or(MigrateError::NoV1ClusterInformation)?;
    let info = match v3.get(&key, None).await.map_err(MigrateError::Unlock)? {
        AnyResource::ClusterInformation(info) => info,
        _ => return Err(MigrateError::NoV1ClusterInformation),
    };
    let mut info = *info;
    info.spec.datastore_ready = Some(true);
    v3.update(info.into()).await.map_err(MigrateError::Unlock)?;
    tracing::info!("unlocked the projectcalico.org/v3 datastore (v1 stays locked)");
    Ok(())
}

/// Whether an owner reference points at a Calico object (`isCalicoAPIGroup`).
fn is_calico_owner(api_version: &str) -> bool {
    matches!(api_version, "projectcalico.org" | "crd.projectcalico.org")
        || api_version.starts_with("projectcalico.org/")
        || api_version.starts_with("crd.projectcalico.org/")
}

fn has_calico_owners(resource: &AnyResource) -> bool {
    resource
        .metadata()
        .owner_references
        .iter()
        .any(|owner| is_calico_owner(&owner.api_version))
}

/// The v3 object to create for a v1 one, as Calico's conversions make it.
fn convert(resource: AnyResource, migration_id: &str) -> Result<AnyResource, MigrateError> {
    let mut converted = match &resource {
        // convertIPAMBlock / convertIPAMHandle: rebuilt from the IPAM model object, with a
        // name and a spec only.
        AnyResource::IPAMBlock(_) | AnyResource::IPAMHandle(_) => {
            let kind = resource.kind();
            let name = resource.metadata().name.clone();
            let (key, value) = calico_kube::ipam::from_resource(&resource).map_err(|reason| {
                MigrateError::Convert {
                    kind,
                    name: name.clone(),
                    reason,
                }
            })?;
            calico_kube::ipam::to_resource(&key, &value).map_err(|e| MigrateError::Convert {
                kind,
                name,
                reason: e.to_string(),
            })?
        }
        // defaultConvert: the object, server metadata cleared.
        _ => {
            let mut copy = resource;
            let meta = copy.metadata_mut();
            meta.resource_version.clear();
            meta.creation_timestamp = None;
            meta.managed_fields.clear();
            meta.generation = 0;
            meta.self_link.clear();
            meta.deletion_timestamp = None;
            meta.deletion_grace_period_seconds = None;
            meta.annotations.remove(METADATA_ANNOTATION);
            copy
        }
    };
    let meta = converted.metadata_mut();
    // The server gives the v3 object its own UID.
    meta.uid.clear();
    meta.annotations
        .insert(MIGRATED_BY_ANNOTATION.into(), migration_id.into());
    Ok(converted)
}

/// The specs compared, as Calico compares `Spec` fields (the JSON each encodes to).
fn specs_equal(a: &AnyResource, b: &AnyResource) -> bool {
    match (a.to_json_value(), b.to_json_value()) {
        (Ok(a), Ok(b)) => a.get("spec") == b.get("spec"),
        _ => false,
    }
}

/// One object's result: its outcome, the UID pair for the owner remap (v1 UID, v3 UID), and
/// its key when its v3 form has Calico owner references.
struct Done {
    outcome: Outcome,
    uids: Option<(String, String)>,
    owned: Option<ResourceKey>,
}

async fn copy_one(
    v3: &dyn Backend,
    resource: AnyResource,
    options: &Options,
) -> Result<(Done, Option<Conflict>), MigrateError> {
    let v1_uid = resource.metadata().uid.clone();
    let wanted = convert(resource, &options.migration_id)?;
    let key = ResourceKey::of(&wanted);
    let copy_error = |source| MigrateError::Copy {
        key: Box::new(key.clone()),
        source,
    };
    let found = |existing: AnyResource| {
        let (outcome, conflict) = if specs_equal(&wanted, &existing) {
            (Outcome::Identical, None)
        } else {
            let conflict = Conflict {
                kind: key.kind.kind(),
                namespace: key.namespace.clone(),
                name: key.name.clone(),
            };
            tracing::warn!("{conflict}");
            (Outcome::Conflict, Some(conflict))
        };
        let done = Done {
            outcome,
            uids: (outcome == Outcome::Identical)
                .then(|| (v1_uid.clone(), existing.metadata().uid.clone())),
            owned: (outcome == Outcome::Identical && has_calico_owners(&existing))
                .then(|| key.clone()),
        };
        (done, conflict)
    };
    match v3.get(&key, None).await {
        Ok(existing) => return Ok(found(existing)),
        Err(DatastoreError::DoesNotExist { .. }) => {}
        Err(source) => return Err(copy_error(source)),
    }
    if options.dry_run {
        let done = Done {
            outcome: Outcome::Copied,
            uids: None,
            owned: None,
        };
        return Ok((done, None));
    }
    let owned = has_calico_owners(&wanted).then(|| key.clone());
    match v3.create(wanted.clone()).await {
        Ok(created) => {
            let done = Done {
                outcome: Outcome::Copied,
                uids: Some((v1_uid, created.metadata().uid.clone())),
                owned,
            };
            Ok((done, None))
        }
        // Created meanwhile (by another run): judged as if it had been there.
        Err(DatastoreError::AlreadyExists { .. }) => {
            let existing = v3.get(&key, None).await.map_err(copy_error)?;
            Ok(found(existing))
        }
        Err(source) => Err(copy_error(source)),
    }
}

#[allow(clippy::too_many_arguments)]
async fn copy_kind(
    v1: &dyn Backend,
    v3: &dyn Backend,
    kind: KindRef,
    options: &Options,
    progress: &dyn Progress,
    report: &mut Report,
    uids: &mut HashMap<String, String>,
    owned: &mut Vec<ResourceKey>,
) -> Result<(), MigrateError> {
    let list_error = |source| MigrateError::List {
        kind: kind.kind(),
        source,
    };
    let mut pages = match v1
        .list_pages(&ListOptions::all(kind), options.page_size)
        .await
    {
        Ok(pages) => pages,
        // Not stored in this cluster (IPAM blocks and handles with host-local IPAM).
        Err(DatastoreError::OperationNotSupported { .. }) => return Ok(()),
        Err(source) => return Err(list_error(source)),
    };
    while let Some(page) = pages.try_next().await.map_err(list_error)? {
        let mut results = futures::stream::iter(page.items)
            .map(|resource| copy_one(v3, resource, options))
            .buffer_unordered(options.workers.max(1));
        while let Some(result) = results.next().await {
            let (done, conflict) = result?;
            if let Some(summary) = report.kinds.last_mut() {
                match done.outcome {
                    Outcome::Copied => summary.copied += 1,
                    Outcome::Identical => summary.identical += 1,
                    Outcome::Conflict => summary.conflicts += 1,
                }
            }
            progress.object(kind.kind(), done.outcome);
            report.conflicts.extend(conflict);
            if let Some((from, to)) = done.uids {
                if !from.is_empty() && !to.is_empty() {
                    uids.insert(from, to);
                }
            }
            owned.extend(done.owned);
        }
    }
    Ok(())
}

/// `RemapOwnerReferences`: owner references to Calico objects on the copied (or identical)
/// objects that name a v1 UID are set to that object's v3 UID. The number of objects updated.
async fn remap_owners(
    v3: &dyn Backend,
    uids: &HashMap<String, String>,
    owned: &[ResourceKey],
) -> Result<usize, MigrateError> {
    if uids.is_empty() {
        return Ok(0);
    }
    let mut remapped = 0;
    for key in owned {
        let remap_error = |source| MigrateError::Remap {
            key: Box::new(key.clone()),
            source,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut resource = v3.get(key, None).await.map_err(remap_error)?;
            let mut changed = false;
            for owner in &mut resource.metadata_mut().owner_references {
                if !is_calico_owner(&owner.api_version) {
                    continue;
                }
                if let Some(uid) = uids.get(&owner.uid) {
                    if *uid != owner.uid {
                        owner.uid = uid.clone();
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
            match v3.update(resource).await {
                Ok(_) => {
                    remapped += 1;
                    break;
                }
                Err(DatastoreError::UpdateConflict { .. }) if attempt < REMAP_ATTEMPTS => {}
                Err(source) => return Err(remap_error(source)),
            }
        }
    }
    tracing::info!(remapped, "remapped owner references");
    Ok(remapped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use calico_api::{OwnerReference, TierSpec};

    #[test]
    fn order_is_calicos_and_covers_every_custom_resource_kind() {
        let orders: Vec<u32> = ORDER.iter().map(|(_, o)| *o).collect();
        let mut sorted = orders.clone();
        sorted.sort_unstable();
        assert_eq!(orders, sorted);
        let mut kinds: Vec<&str> = ORDER.iter().map(|(k, _)| *k).collect();
        kinds.push("ClusterInformation");
        kinds.extend(["Node", "Profile", "WorkloadEndpoint"]);
        kinds.sort_unstable();
        let all: Vec<&str> = calico_api::kinds::KINDS.iter().map(|k| k.kind).collect();
        assert_eq!(kinds, all);
    }

    #[test]
    fn calico_groups() {
        for group in [
            "projectcalico.org",
            "crd.projectcalico.org",
            "projectcalico.org/v3",
            "crd.projectcalico.org/v1",
        ] {
            assert!(is_calico_owner(group), "{group}");
        }
        for group in [
            "v1",
            "apps/v1",
            "operator.tigera.io/v1",
            "xprojectcalico.org/v3",
        ] {
            assert!(!is_calico_owner(group), "{group}");
        }
    }

    #[test]
    fn conversion_cleans_server_metadata_and_stamps_the_migration() {
        let mut tier = Resource::new("t1", TierSpec::default());
        let meta = &mut tier.metadata;
        meta.uid = "u1".into();
        meta.resource_version = "42".into();
        meta.generation = 3;
        meta.annotations
            .insert(METADATA_ANNOTATION.into(), "{}".into());
        meta.annotations.insert("keep".into(), "me".into());
        meta.labels.insert("l".into(), "v".into());
        meta.owner_references.push(OwnerReference {
            api_version: "projectcalico.org/v3".into(),
            kind: "Tier".into(),
            name: "other".into(),
            uid: "u0".into(),
            controller: None,
            block_owner_deletion: None,
        });
        let converted = match convert(tier.into(), "m") {
            Ok(converted) => converted,
            Err(e) => panic!("{e}"),
        };
        let meta = converted.metadata();
        assert_eq!(meta.uid, "");
        assert_eq!(meta.resource_version, "");
        assert_eq!(meta.generation, 0);
        assert_eq!(meta.annotations.get("keep").map(String::as_str), Some("me"));
        assert_eq!(
            meta.annotations
                .get(MIGRATED_BY_ANNOTATION)
                .map(String::as_str),
            Some("m")
        );
        assert!(!meta.annotations.contains_key(METADATA_ANNOTATION));
        assert_eq!(meta.labels.len(), 1);
        assert_eq!(meta.owner_references[0].uid, "u0");
        assert!(has_calico_owners(&converted));
    }
}
