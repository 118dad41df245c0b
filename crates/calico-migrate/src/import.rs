//! `calicoctl datastore migrate import -f FILE`, as Calico runs it once the caller has made
//! its checks (the datastore type) and ensured the CRDs: the target must hold no Calico
//! resources (Calico's exceptions), it is initialized and locked, the document is split into
//! its three parts, the resources are applied (by the caller's apply path: `calicoctl apply`'s),
//! the ClusterInformation's GUID and version carried over, and the IPAM objects created in
//! Calico's order. Every line Calico prints goes to `out` as it happens; the datastore is left
//! locked.
//!
//! Unlike Calico's, which reads the whole file into memory, the import reads its file a few
//! YAML documents at a time ([`crate::file`]): the resources part is read through once before
//! anything is written (so a bad document is refused with nothing applied, as Calico's apply
//! refuses it), then again to apply it.

use std::future::Future;
use std::io::Write;

use calico_api::AnyResource;
use calico_datastore::client::Client;
use calico_datastore::{KindRef, ListOptions, ResourceKey};
use calico_manifest::{DocumentSplitter, StreamError};

use crate::export::{Scope, KINDS, KUBERNETES_POLICY_PREFIX};
use crate::file::{Document, MigrationFile};
use crate::ipam::{self, Section};
use crate::verify::{self, Difference, Found, Report, VerifyError};

/// The tiers every Kubernetes datastore has, which do not make a target non-empty.
pub const PROTECTED_TIERS: [&str; 3] = ["default", "kube-admin", "kube-baseline"];

/// Why an import stopped: the whole text Calico prints.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("datastore already has Calico resources: {0}. Clear out all Calico resources by deleting all Calico CRDs")]
    NotEmpty(String),
    /// Ours (`--resume`): Calico's refusal, then why the target is no partial import of the file.
    #[error("datastore already has Calico resources: {0}. Clear out all Calico resources by deleting all Calico CRDs\ncannot resume the import: {1}")]
    NotResumable(String, String),
    #[error("unable to initialize cluster information for the datastore migration: {0}")]
    Initialize(String),
    #[error(
        "error while checking if datastore was locked: error retrieving ClusterInformation: {0}"
    )]
    CheckLocked(String),
    #[error("error while attempting to lock the datastore for import: {0}")]
    Lock(String),
    #[error("error while reading migration file: {0}")]
    ReadFile(String),
    #[error("failed to import v3 resources: failed to import v3 resources: {0}")]
    Apply(String),
    #[error("failed to update cluster information: {0}")]
    ClusterInfo(String),
    #[error("failed to read IPAM resources: {0}")]
    ReadIpam(String),
    #[error("no IPAM resources specified in file")]
    NoIpam,
    #[error("failed to import any IPAM resources: {}", go_list(.0))]
    NoIpamApplied(Vec<String>),
    #[error("hit error(s): {}", go_list(.0))]
    IpamErrors(Vec<String>),
    #[error("failed to write the output: {0}")]
    Write(#[from] std::io::Error),
}

/// Go's `%v` of a slice of errors: `[first second]`.
pub fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

/// Follows a long step of an import or a verification (a progress display). Every method
/// does nothing by default; `()` observes nothing.
pub trait Observer: Sync {
    /// A step over `total` objects (`None`: not known in advance) begins; the one before, if
    /// any, is over.
    fn begin(&self, _what: &str, _total: Option<usize>) {}
    /// `n` more objects of the current step done.
    fn advance(&self, _n: usize) {}
    /// The current step is over.
    fn end(&self) {}
}

impl Observer for () {}

/// Documents decoded together: as many as there are cores (they are decoded in parallel), and
/// at most this many bytes of text (the last document may go past it).
const BATCH_BYTES: usize = 16 << 20;

/// One document of the resources part: its text and its resources.
pub(crate) struct Decoded {
    pub text: String,
    pub resources: Vec<AnyResource>,
}

/// The resources part's documents, decoded a few at a time, in order; with `skip_blank`,
/// documents holding nothing but white space are left out instead of refused.
pub(crate) struct Batches<R> {
    splitter: DocumentSplitter<R>,
    source: String,
    documents: usize,
    skip_blank: bool,
    failed: bool,
}

pub(crate) fn batches<'a>(
    document: &Document<'a>,
    skip_blank: bool,
) -> Batches<impl std::io::BufRead + 'a> {
    Batches {
        splitter: DocumentSplitter::new(document.name(), document.resources()),
        source: document.name().to_string(),
        documents: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        skip_blank,
        failed: false,
    }
}

impl<R: std::io::BufRead> Batches<R> {
    fn next_batch(&mut self) -> Result<Option<Vec<Decoded>>, StreamError> {
        let mut texts = Vec::new();
        let mut bytes = 0;
        while texts.len() < self.documents && bytes < BATCH_BYTES {
            let Some(next) = self.splitter.next() else {
                break;
            };
            let (number, text) = next?;
            if self.skip_blank && text.trim().is_empty() {
                continue;
            }
            bytes += text.len();
            texts.push((number, text));
        }
        if texts.is_empty() {
            return Ok(None);
        }
        let mut entries = calico_manifest::read_documents_parallel(&self.source, &texts)?
            .into_iter()
            .peekable();
        let mut batch = Vec::with_capacity(texts.len());
        for (number, text) in texts {
            let mut resources = Vec::new();
            while let Some(entry) = entries.next_if(|entry| entry.origin.document == number) {
                resources.push(entry.resource);
            }
            batch.push(Decoded { text, resources });
        }
        Ok(Some(batch))
    }
}

impl<R: std::io::BufRead> Iterator for Batches<R> {
    type Item = Result<Vec<Decoded>, StreamError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = self.next_batch().transpose();
        self.failed = matches!(next, Some(Err(_)));
        next
    }
}

/// Whether an import writes a resource of the file: a Kubernetes datastore keeps no
/// Profiles or WorkloadEndpoints of its own (they are Namespaces, ServiceAccounts and Pods),
/// so a full export's are left out, as Calico's export leaves them out.
fn kept(resource: &AnyResource, kubernetes: bool) -> bool {
    !(kubernetes && matches!(resource.kind(), "Profile" | "WorkloadEndpoint"))
}

/// The resources an import writes, counted in a first reading of the whole part (which also
/// refuses a bad document before anything is written, as Calico's apply does).
#[derive(Debug, Default)]
struct Survey {
    kept: usize,
    /// The kind when every written resource is of one kind.
    single_kind: Option<String>,
}

fn survey(document: &Document<'_>, kubernetes: bool) -> Result<Survey, StreamError> {
    let mut survey = Survey::default();
    let mut mixed = false;
    for batch in batches(document, false) {
        for resource in batch?.iter().flat_map(|decoded| &decoded.resources) {
            if !kept(resource, kubernetes) {
                continue;
            }
            survey.kept += 1;
            match &survey.single_kind {
                None if !mixed => survey.single_kind = Some(resource.kind().to_string()),
                Some(kind) if kind != resource.kind() => {
                    survey.single_kind = None;
                    mixed = true;
                }
                _ => {}
            }
        }
    }
    Ok(survey)
}

/// One resource the apply path could not write.
#[derive(Debug, Clone)]
pub enum ApplyFailure {
    /// A Node whose Kubernetes Node does not exist (`Node(name)`): skipped with a warning.
    MissingNode(String),
    /// Anything else: Calico's text.
    Other(String),
}

/// What the caller's apply path did with the resources part.
#[derive(Debug, Default)]
struct ApplyReport {
    /// Resources written.
    succeeded: usize,
    /// The kind when every resource is of one kind.
    single_kind: Option<String>,
    failures: Vec<ApplyFailure>,
}

/// calicoctl's `CheckLocked`.
async fn locked(client: &Client) -> Result<bool, ImportError> {
    client
        .datastore_locked()
        .await
        .map_err(|e| ImportError::CheckLocked(e.to_string()))
}

/// `datastore migrate lock` (Calico's `Lock`): initialize, then set `datastoreReady` false;
/// its texts.
pub async fn lock(client: &Client) -> Result<(), String> {
    client.ensure_initialized("", "").await.map_err(|err| {
        format!("unable to initialize cluster information for the datastore migration: {err}")
    })?;
    set_ready(client, false, "locking").await
}

/// `datastore migrate unlock` (Calico's `Unlock`): set `datastoreReady` true; its texts.
pub async fn unlock(client: &Client) -> Result<(), String> {
    set_ready(client, true, "unlocking").await
}

async fn set_ready(client: &Client, ready: bool, doing: &str) -> Result<(), String> {
    // Calico reads, then updates; the two steps have their own messages.
    client
        .datastore_locked()
        .await
        .map_err(|err| format!("error retrieving ClusterInformation for {doing}: {err}"))?;
    client
        .set_datastore_ready(ready)
        .await
        .map_err(|err| format!("error updating ClusterInformation for {doing}: {err}"))
}

/// Calico's `checkCalicoResourcesNotExist`: every exported kind but Nodes, and the
/// ClusterInformation, must be absent (Calico's copies of Kubernetes policies and the
/// protected tiers excepted), and so must every IPAM object. The reason when not.
pub async fn check_empty(client: &Client) -> Result<(), String> {
    let kinds = KINDS
        .iter()
        .filter(|(kind, _)| *kind != "Node")
        .copied()
        .chain([("ClusterInformation", Scope::Cluster)]);
    for (name, scope) in kinds {
        let kind = KindRef::lookup(name).ok_or_else(|| format!("kind {name} is not known"))?;
        let options = ListOptions {
            namespace: (scope == Scope::DefaultNamespace).then(|| "default".to_string()),
            ..ListOptions::all(kind)
        };
        let list = client.list(&options).await.map_err(|err| {
            format!(
                "failed to retrieve {} resources during datastore check: {err}",
                display_name(name)
            )
        })?;
        let counts = |item: &AnyResource| match name {
            "NetworkPolicy" => !item.metadata().name.starts_with(KUBERNETES_POLICY_PREFIX),
            "Tier" => !PROTECTED_TIERS.contains(&item.metadata().name.as_str()),
            _ => true,
        };
        if list.items.iter().any(counts) {
            return Err(format!("found existing Calico {name} resource"));
        }
    }
    match ipam::datastore_has_ipam(client.backend().as_ref()).await {
        Ok(false) => Ok(()),
        Ok(true) => Err("found existing IPAM resources".to_string()),
        Err(err) => Err(format!(
            "failed to retrieve IPAM resources during datastore check: {err}"
        )),
    }
}

/// calicoctl's display names of the kinds (its `resourceDisplayMap`; ClusterInformation has
/// none).
fn display_name(kind: &str) -> &'static str {
    match kind {
        "IPPool" => "IPPools",
        "BGPConfiguration" => "BGPConfigurations",
        "BGPPeer" => "BGPPeers",
        "FelixConfiguration" => "FelixConfigurations",
        "GlobalNetworkPolicy" => "GlobalNetworkPolicies",
        "StagedGlobalNetworkPolicy" => "StagedGlobalNetworkPolicies",
        "GlobalNetworkSet" => "GlobalNetworkSets",
        "HostEndpoint" => "HostEndpoints",
        "KubeControllersConfiguration" => "KubeControllersConfigurations",
        "NetworkPolicy" => "NetworkPolicies",
        "StagedNetworkPolicy" => "StagedNetworkPolicies",
        "StagedKubernetesNetworkPolicy" => "StagedKubernetesNetworkPolicyPolicies",
        "NetworkSet" => "NetworkSets",
        "Node" => "Nodes",
        "IPReservation" => "IPReservations",
        "BGPFilter" => "BGPFilters",
        "Tier" => "Tiers",
        _ => "",
    }
}

/// How an import runs (beyond Calico's flow, which is the default).
#[derive(Clone, Copy, Debug, Default)]
pub struct ImportOptions {
    /// Finish a previous import of the same document that stopped part-way, instead of
    /// refusing the non-empty target (see [`resumable`]).
    pub resume: bool,
    /// Verify what landed at the end (and after a failure once writing has begun).
    pub verify: bool,
}

/// What an import did: Calico's outcome, and the verification of what landed when one was
/// made (after a success, or after a failure once writing had begun).
#[derive(Debug)]
pub struct Imported {
    pub outcome: Result<(), ImportError>,
    pub verification: Option<Result<Report, VerifyError>>,
}

/// Whether a non-empty target is what a partial import of this document leaves: locked (an
/// import locks before writing; a datastore in use is not locked), and every Calico object in
/// it equal to the document's (only missing objects; the ClusterInformation may still have
/// the target's own GUID, which the import overwrites). The reason when not.
pub async fn resumable(
    client: &Client,
    document: &Document<'_>,
    observer: &dyn Observer,
) -> Result<Report, String> {
    match client.datastore_locked().await {
        Ok(true) => {}
        Ok(false) => return Err(
            "the datastore is not locked, so it is no import stopped part-way (it may be in use)"
                .into(),
        ),
        Err(err) if err.is_not_found() => {}
        Err(err) => return Err(format!("error retrieving ClusterInformation: {err}")),
    }
    let report = verify::verify_document(client, document, observer)
        .await
        .map_err(|err| err.to_string())?;
    let blocking: Vec<&Difference> = report
        .differences
        .iter()
        .filter(|d| d.found != Found::Missing && !d.object.starts_with("ClusterInformation("))
        .collect();
    if let Some(first) = blocking.first() {
        return Err(format!(
            "it holds {} object(s) that differ from the file's, e.g. {first}",
            blocking.len()
        ));
    }
    Ok(report)
}

/// Imports a migration document. `file` is the file, or Calico's text of why it could not be
/// read; `apply` writes resources as `calicoctl apply` would (Calico runs its apply command on
/// the resources part), those of a few documents at a time, and says what became of each, in
/// order.
/// `observer` follows the long steps (the caller's apply path follows its own).
pub async fn import<W, F, Fut>(
    client: &Client,
    file: Result<MigrationFile, String>,
    apply: F,
    options: ImportOptions,
    observer: &dyn Observer,
    out: &mut W,
) -> Imported
where
    W: Write,
    F: FnMut(Vec<AnyResource>) -> Fut,
    Fut: Future<Output = Vec<Result<(), ApplyFailure>>>,
{
    let mut writing = false;
    let outcome = run(client, &file, apply, options, observer, out, &mut writing).await;
    observer.end();
    let document = match &file {
        Ok(file) if options.verify && writing => file.document().ok(),
        _ => None,
    };
    let verification = match document {
        Some(document) => Some(verify::verify_document(client, &document, observer).await),
        None => None,
    };
    observer.end();
    Imported {
        outcome,
        verification,
    }
}

/// The file's three parts, or why they cannot be read.
fn parts(file: &Result<MigrationFile, String>) -> Result<Document<'_>, ImportError> {
    match file {
        Ok(file) => file.document(),
        Err(text) => Err(ImportError::ReadFile(text.clone())),
    }
}

async fn run<W, F, Fut>(
    client: &Client,
    file: &Result<MigrationFile, String>,
    mut apply: F,
    options: ImportOptions,
    observer: &dyn Observer,
    out: &mut W,
    writing: &mut bool,
) -> Result<(), ImportError>
where
    W: Write,
    F: FnMut(Vec<AnyResource>) -> Fut,
    Fut: Future<Output = Vec<Result<(), ApplyFailure>>>,
{
    let mut resuming = false;
    if let Err(reason) = check_empty(client).await {
        if !options.resume {
            return Err(ImportError::NotEmpty(reason));
        }
        // Ours: a target holding part of this very document is finished, not refused.
        let document = parts(file)?;
        if let Err(why) = resumable(client, &document, observer).await {
            return Err(ImportError::NotResumable(reason, why));
        }
        observer.end();
        resuming = true;
    }
    client
        .ensure_initialized("", "")
        .await
        .map_err(|e| ImportError::Initialize(e.to_string()))?;
    if !locked(client).await? {
        lock(client).await.map_err(ImportError::Lock)?;
        out.write_all(b"Datastore locked.\n")?;
        out.flush()?;
    }

    let document = parts(file)?;
    let kubernetes = client.info().datastore_type == "kubernetes";
    let apply_error =
        |e: StreamError| ImportError::Apply(format!("failed to execute command: {e}"));
    let survey = survey(&document, kubernetes).map_err(apply_error)?;

    *writing = true;
    let mut report = ApplyReport {
        single_kind: survey.single_kind,
        ..ApplyReport::default()
    };
    observer.begin("applying", Some(survey.kept));
    for batch in batches(&document, false) {
        let resources: Vec<AnyResource> = batch
            .map_err(apply_error)?
            .into_iter()
            .flat_map(|decoded| decoded.resources)
            .filter(|resource| kept(resource, kubernetes))
            .collect();
        if resources.is_empty() {
            continue;
        }
        for outcome in apply(resources).await {
            match outcome {
                Ok(()) => report.succeeded += 1,
                Err(failure) => report.failures.push(failure),
            }
        }
    }
    observer.end();
    apply_outcome(report, out)?;
    out.flush()?;

    let read_error = |e: std::io::Error| ImportError::ReadFile(e.to_string());
    update_cluster_info(client, &document.cluster_info().map_err(read_error)?)
        .await
        .map_err(ImportError::ClusterInfo)?;

    out.write_all(b"Importing IPAM resources\n")?;
    out.flush()?;
    let section =
        Section::parse(&document.ipam().map_err(read_error)?).map_err(ImportError::ReadIpam)?;
    observer.begin("importing IPAM", Some(section.len()));
    let pushed = ipam::push(client.backend().as_ref(), section, resuming, observer).await;
    observer.end();
    if pushed.handled == 0 {
        return Err(if pushed.resources == 0 {
            ImportError::NoIpam
        } else {
            ImportError::NoIpamApplied(pushed.errors)
        });
    }
    if !pushed.errors.is_empty() {
        writeln!(
            out,
            "Partial success: applied the first {} out of {} resources:",
            pushed.handled, pushed.resources
        )?;
        return Err(ImportError::IpamErrors(pushed.errors));
    }
    writeln!(
        out,
        "Successfully applied {} IPAM resource(s)",
        pushed.handled
    )?;
    out.write_all(
        b"Datastore information successfully imported. Please refer to the datastore migration documentation for next steps.\n",
    )?;
    out.flush()?;
    Ok(())
}

/// Calico's `applyV3` on the apply path's report: the summary, or a warning (without a line
/// break, as Calico prints it) for each Node that has no Kubernetes Node, or the failure.
fn apply_outcome<W: Write>(report: ApplyReport, out: &mut W) -> Result<(), ImportError> {
    let texts = |failures: &[ApplyFailure]| -> Vec<String> {
        failures
            .iter()
            .map(|f| match f {
                ApplyFailure::MissingNode(key) => format!("resource does not exist: {key}"),
                ApplyFailure::Other(text) => text.clone(),
            })
            .collect()
    };
    if report.succeeded == 0 {
        return Err(ImportError::Apply(format!(
            "failed to apply any resources: {}",
            go_list(&texts(&report.failures))
        )));
    }
    if report.failures.is_empty() {
        match &report.single_kind {
            Some(kind) => writeln!(
                out,
                "Successfully applied {} '{kind}' resource(s)",
                report.succeeded
            )?,
            None => writeln!(out, "Successfully applied {} resource(s)", report.succeeded)?,
        }
        return Ok(());
    }
    let mut errors = Vec::new();
    for failure in report.failures {
        match failure {
            ApplyFailure::MissingNode(key) => write!(
                out,
                "[WARNING] Attempted to import node {key} from etcd that references a nonexistent Kubernetes node. Skipping that node. Non-Kubernetes nodes are not supported in the Kubernetes datastore and will be skipped."
            )?,
            ApplyFailure::Other(text) => errors.push(text),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ImportError::Apply(format!(
            "hit error(s): {}",
            go_list(&errors)
        )))
    }
}

/// Calico's `updateClusterInfo`: the exported ClusterGUID and CalicoVersion written into the
/// target's ClusterInformation.
async fn update_cluster_info(client: &Client, exported: &[u8]) -> Result<(), String> {
    let value: serde_json::Value = serde_json::from_slice(exported)
        .map_err(|e| format!("error reading exported cluster info for migration: {e}"))?;
    let field = |name: &str| {
        value
            .pointer(&format!("/spec/{name}"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let kind =
        KindRef::lookup("ClusterInformation").ok_or("kind ClusterInformation is not known")?;
    let current = client
        .get(&ResourceKey::new(kind, "", "default"))
        .await
        .map_err(|e| format!("error retrieving current cluster info for migration: {e}"))?;
    let AnyResource::ClusterInformation(mut info) = current else {
        return Err(
            "error retrieving current cluster info for migration: not a ClusterInformation".into(),
        );
    };
    info.spec.cluster_guid = field("clusterGUID");
    info.spec.calico_version = field("calicoVersion");
    client
        .update(AnyResource::ClusterInformation(info))
        .await
        .map_err(|e| format!("error updating current cluster info for migration: {e}"))?;
    Ok(())
}
