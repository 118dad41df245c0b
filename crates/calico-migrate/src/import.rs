//! `calicoctl datastore migrate import -f FILE`, as Calico runs it once the caller has made
//! its checks (the datastore type) and ensured the CRDs: the target must hold no Calico
//! resources (Calico's exceptions), it is initialized and locked, the document is split into
//! its three parts, the resources are applied (by the caller's apply path: `calicoctl apply`'s),
//! the ClusterInformation's GUID and version carried over, and the IPAM objects created in
//! Calico's order. Every line Calico prints goes to `out` as it happens; the datastore is left
//! locked.

use std::future::Future;
use std::io::Write;

use calico_api::AnyResource;
use calico_datastore::client::Client;
use calico_datastore::{KindRef, ListOptions, ResourceKey};

use crate::export::{Scope, KINDS, KUBERNETES_POLICY_PREFIX};
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

/// The three parts of a migration document.
#[derive(Debug)]
pub struct Document {
    /// The v3 resources, as YAML documents.
    pub resources: String,
    pub cluster_info: Vec<u8>,
    pub ipam: Vec<u8>,
}

impl Document {
    /// Splits a document on its `===` lines; exactly three parts, else Calico's text naming
    /// the file as given.
    pub fn split(bytes: &[u8], filename: &str) -> Result<Document, ImportError> {
        let parts = split_on(bytes, b"===\n");
        let [resources, cluster_info, ipam] = parts.as_slice() else {
            return Err(ImportError::ReadFile(format!(
                "imported file: {filename} is improperly formatted. Try recreating with 'calicoctl export'"
            )));
        };
        Ok(Document {
            resources: String::from_utf8_lossy(resources).into_owned(),
            cluster_info: cluster_info.to_vec(),
            ipam: ipam.to_vec(),
        })
    }
}

/// Go's `bytes.Split`.
fn split_on<'a>(bytes: &'a [u8], separator: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut rest = bytes;
    while let Some(at) = rest
        .windows(separator.len())
        .position(|window| window == separator)
    {
        parts.push(&rest[..at]);
        rest = &rest[at + separator.len()..];
    }
    parts.push(rest);
    parts
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
pub struct ApplyReport {
    /// Resources written.
    pub succeeded: usize,
    /// The kind when every resource is of one kind.
    pub single_kind: Option<String>,
    pub failures: Vec<ApplyFailure>,
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
    document: &Document,
    source: &str,
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
    let report = verify::verify_document(client, document, source)
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

/// Imports a migration document. `file` is the file's bytes, or Calico's text of why it could
/// not be read; `apply` writes the resources part as `calicoctl apply` would (Calico runs its
/// apply command on it).
pub async fn import<W, F, Fut>(
    client: &Client,
    file: Result<Vec<u8>, String>,
    filename: &str,
    apply: F,
    options: ImportOptions,
    out: &mut W,
) -> Imported
where
    W: Write,
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<ApplyReport, String>>,
{
    let mut document = None;
    let mut writing = false;
    let outcome = run(
        client,
        file,
        filename,
        apply,
        options,
        out,
        &mut document,
        &mut writing,
    )
    .await;
    let verification = match document {
        Some(document) if options.verify && writing => {
            Some(verify::verify_document(client, &document, filename).await)
        }
        _ => None,
    };
    Imported {
        outcome,
        verification,
    }
}

#[allow(clippy::too_many_arguments)]
async fn run<W, F, Fut>(
    client: &Client,
    file: Result<Vec<u8>, String>,
    filename: &str,
    apply: F,
    options: ImportOptions,
    out: &mut W,
    kept: &mut Option<Document>,
    writing: &mut bool,
) -> Result<(), ImportError>
where
    W: Write,
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<ApplyReport, String>>,
{
    let mut file = Some(file);
    let mut resuming = false;
    if let Err(reason) = check_empty(client).await {
        if !options.resume {
            return Err(ImportError::NotEmpty(reason));
        }
        // Ours: a target holding part of this very document is finished, not refused.
        let bytes = file
            .take()
            .unwrap_or_else(|| Err(String::new()))
            .map_err(ImportError::ReadFile)?;
        let document = Document::split(&bytes, filename)?;
        if let Err(why) = resumable(client, &document, filename).await {
            return Err(ImportError::NotResumable(reason, why));
        }
        *kept = Some(document);
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

    let document = match (kept.take(), file) {
        (Some(document), _) => document,
        (None, Some(file)) => {
            let bytes = file.map_err(ImportError::ReadFile)?;
            Document::split(&bytes, filename)?
        }
        (None, None) => return Err(ImportError::ReadFile(String::new())),
    };
    let document = kept.insert(document);

    *writing = true;
    let report = apply(document.resources.clone())
        .await
        .map_err(|e| ImportError::Apply(format!("failed to execute command: {e}")))?;
    apply_outcome(report, out)?;
    out.flush()?;

    update_cluster_info(client, &document.cluster_info)
        .await
        .map_err(ImportError::ClusterInfo)?;

    out.write_all(b"Importing IPAM resources\n")?;
    out.flush()?;
    let section = Section::parse(&document.ipam).map_err(ImportError::ReadIpam)?;
    let pushed = ipam::push(client.backend().as_ref(), section, resuming).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_split_in_three_parts_or_are_refused() {
        let document = Document::split(b"a: 1\n---\n===\n{}\n===\n{}\n", "f").unwrap();
        assert_eq!(document.resources, "a: 1\n---\n");
        assert_eq!(document.ipam, b"{}\n");
        let err = Document::split(b"only\n===\n", "bad.yaml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "error while reading migration file: imported file: bad.yaml is improperly formatted. Try recreating with 'calicoctl export'"
        );
    }
}
