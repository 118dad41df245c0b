//! Verification of a migration (ours; Calico has none): every resource and IPAM object of a
//! migration document compared with what a datastore holds, and each difference named.
//!
//! The document is the source: it already carries the export's renames (Nodes under their
//! Kubernetes names, `node.<name>` configurations with them, tunnel handles, affinities and
//! block attributes renamed) and its cleaning (no UID, revision or timestamps), so what is
//! compared is exactly what an import should have written. On the target side the fields a
//! datastore sets by itself are left out (UID, revision, timestamps, generation, managed
//! fields), and so are the objects a target has of its own: the built-in tiers, Calico's
//! copies of Kubernetes policies, and on a Kubernetes datastore its Nodes (Calico's import
//! skips a Node Kubernetes does not have, with a warning; a Node it has but the file does not
//! is Kubernetes' own), Profiles and WorkloadEndpoints (Namespaces, ServiceAccounts and Pods).
//!
//! Memory stays flat in the number of objects: the target is read a kind at a time, a page at
//! a time, and kept as one 64-bit hash of its canonical JSON per object; the document is read
//! from its file a YAML document (one `<Kind>List`, at most 10 MiB) at a time. Only an object
//! whose hash differs is read again to name the fields that differ. (Two different objects
//! hashing alike is a 2^-64 chance per object.)

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::hash::{Hash, Hasher};

use calico_api::model::{AffinityType, ModelKey, ModelKind, ModelListOptions, ModelValue};
use calico_api::AnyResource;
use calico_datastore::client::Client;
use calico_datastore::{DatastoreError, KindRef, ListOptions, ResourceKey};
use futures::StreamExt;
use serde_json::Value;

use crate::export::{DEFAULT_ALLOW_PROFILE, KUBERNETES_POLICY_PREFIX};
use crate::file::Document;
use crate::import::{Observer, PROTECTED_TIERS};
use crate::ipam::Section;

/// Objects read from the target per page.
const PAGE_SIZE: usize = 1000;

/// Metadata fields a datastore sets by itself, left out of every comparison.
const SERVER_FIELDS: [&str; 7] = [
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "managedFields",
];

/// Why a verification could not be made (not a difference: the comparison itself failed).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("failed to read the target datastore: {0}")]
    Datastore(#[from] DatastoreError),
    #[error("failed to read the migration file: {0}")]
    Document(String),
    #[error("kind {0} is not known to this build")]
    UnknownKind(String),
    #[error("failed to encode {0}: {1}")]
    Encode(String, String),
}

/// What is wrong with one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// In the document, not in the target.
    Missing,
    /// In the target, not in the document.
    Extra,
    /// In both, different at these field paths (`spec.cidr`, `metadata.labels.team`).
    Differs(Vec<String>),
}

/// One difference: the object (`IPPool(pool-1)`, `BlockKey(cidr=10.0.0.0/26)`) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub object: String,
    pub found: Found,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.found {
            Found::Missing => write!(f, "{}: missing from the target", self.object),
            Found::Extra => write!(f, "{}: in the target, not in the file", self.object),
            Found::Differs(paths) => {
                write!(f, "{}: differs at {}", self.object, paths.join(", "))
            }
        }
    }
}

/// The outcome of a verification.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Objects of the document compared (resources, the ClusterInformation, IPAM objects).
    pub compared: usize,
    /// Of those, found equal.
    pub equal: usize,
    /// Objects of the document a Kubernetes target does not keep as Calico objects (Nodes
    /// without a Kubernetes Node, Profiles, WorkloadEndpoints): not differences.
    pub skipped: Vec<String>,
    pub differences: Vec<Difference>,
}

impl Report {
    /// Nothing missing, extra or different.
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
    }

    /// Nothing extra or different: the target holds a subset of the document, as a partial
    /// import of it leaves it.
    pub fn is_subset(&self) -> bool {
        self.differences
            .iter()
            .all(|difference| difference.found == Found::Missing)
    }

    /// One line: `verified: 42 of 42 objects equal` (with the number of differences when any).
    pub fn summary(&self) -> String {
        let mut text = format!(
            "Verified: {} of {} object(s) equal",
            self.equal, self.compared
        );
        if !self.skipped.is_empty() {
            text.push_str(&format!(
                ", {} skipped (not kept by a Kubernetes datastore)",
                self.skipped.len()
            ));
        }
        if !self.differences.is_empty() {
            text.push_str(&format!(", {} difference(s)", self.differences.len()));
        }
        text
    }
}

impl Report {
    /// Records one object found equal, or different at the paths where `want` and `got`
    /// differ (`got` read again after the hashes differed; `Null` when it is gone).
    fn compared_with(&mut self, object: String, want: &Value, got: &Value) {
        let paths = diff_paths(want, got);
        if paths.is_empty() {
            self.equal += 1;
        } else {
            self.differences.push(Difference {
                object,
                found: Found::Differs(paths),
            });
        }
    }

    fn push(&mut self, object: String, found: Found) {
        self.differences.push(Difference { object, found });
    }

    /// Records the target's objects that the document does not have, in name order.
    fn extras(&mut self, mut objects: Vec<String>) {
        objects.sort();
        for object in objects {
            self.push(object, Found::Extra);
        }
    }
}

/// Hashes a JSON value canonically (object members in name order, whatever the map's order).
fn hash_value<H: Hasher>(value: &Value, state: &mut H) {
    match value {
        Value::Null => 0u8.hash(state),
        Value::Bool(b) => (1u8, b).hash(state),
        Value::Number(n) => (2u8, n.to_string()).hash(state),
        Value::String(s) => (3u8, s).hash(state),
        Value::Array(items) => {
            (4u8, items.len()).hash(state);
            for item in items {
                hash_value(item, state);
            }
        }
        Value::Object(members) => {
            (5u8, members.len()).hash(state);
            let mut names: Vec<&String> = members.keys().collect();
            names.sort();
            for name in names {
                name.hash(state);
                if let Some(member) = members.get(name) {
                    hash_value(member, state);
                }
            }
        }
    }
}

fn digest(value: &Value) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    hash_value(value, &mut hasher);
    hasher.finish()
}

/// The field paths at which two JSON values differ (`a.b`, `a.list[2]`), in order.
pub fn diff_paths(want: &Value, got: &Value) -> Vec<String> {
    let mut paths = Vec::new();
    diff_into(want, got, "", &mut paths);
    paths
}

fn diff_into(want: &Value, got: &Value, path: &str, paths: &mut Vec<String>) {
    let join = |name: &str| {
        if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for name in names {
                let null = Value::Null;
                let x = a.get(name).unwrap_or(&null);
                let y = b.get(name).unwrap_or(&null);
                diff_into(x, y, &join(name), paths);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff_into(x, y, &format!("{path}[{i}]"), paths);
            }
        }
        (a, b) if a == b => {}
        // An absent member and an empty one are the same object to Calico's Go structs.
        (a, b) if is_empty(a) && is_empty(b) => {}
        _ => paths.push(if path.is_empty() {
            "(whole object)".to_string()
        } else {
            path.to_string()
        }),
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Removes empty members, recursively, so that an absent map and an empty one compare equal.
fn prune(value: &mut Value) {
    match value {
        Value::Object(members) => {
            for member in members.values_mut() {
                prune(member);
            }
            members.retain(|_, member| !is_empty(member));
        }
        Value::Array(items) => items.iter_mut().for_each(prune),
        _ => {}
    }
}

/// What a resource is compared by: its JSON without the server-set metadata, pruned. On a
/// Kubernetes datastore a Calico Node is a view of the Kubernetes Node: its annotations are
/// the Kubernetes Node's (Calico's fields among them, read back as `spec`), its addresses come
/// from the Kubernetes Node's status, and it has no status of Calico's; a Node is compared
/// there without them.
fn normalized(resource: &AnyResource, kubernetes: bool) -> Result<Value, VerifyError> {
    let mut value = resource
        .to_json_value()
        .map_err(|e| VerifyError::Encode(key_of(resource), e.to_string()))?;
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in SERVER_FIELDS {
            meta.remove(field);
        }
        if kubernetes && resource.kind() == "Node" {
            meta.remove("annotations");
        }
    }
    if kubernetes && resource.kind() == "Node" {
        if let Some(top) = value.as_object_mut() {
            top.remove("status");
        }
        if let Some(spec) = value.get_mut("spec").and_then(Value::as_object_mut) {
            spec.remove("addresses");
        }
    }
    prune(&mut value);
    Ok(value)
}

/// `Kind(name)` or `Kind(namespace/name)`, as [`ResourceKey`] prints it.
fn key_of(resource: &AnyResource) -> String {
    let meta = resource.metadata();
    if meta.namespace.is_empty() {
        format!("{}({})", resource.kind(), meta.name)
    } else {
        format!("{}({}/{})", resource.kind(), meta.namespace, meta.name)
    }
}

/// Whether a target object absent from the document is the target's own (not an extra).
fn target_owns(kind: &str, name: &str, kubernetes: bool) -> bool {
    match kind {
        "Tier" => PROTECTED_TIERS.contains(&name),
        "NetworkPolicy" => name.starts_with(KUBERNETES_POLICY_PREFIX),
        "Profile" => kubernetes || name == DEFAULT_ALLOW_PROFILE,
        "Node" | "WorkloadEndpoint" => kubernetes,
        _ => false,
    }
}

/// Whether a Kubernetes target keeps no Calico object of this kind from a file: its Profiles
/// and WorkloadEndpoints are Kubernetes objects seen through Calico's eyes.
fn not_kept(kind: &str, kubernetes: bool) -> bool {
    kubernetes && matches!(kind, "Profile" | "WorkloadEndpoint")
}

/// One target kind: object key → hash of its normalised JSON.
/// Every namespace is read, also for the kinds Calico's export reads from `default` alone:
/// an object of another namespace is then an extra, which it is.
async fn target_kind(
    target: &Client,
    kind: KindRef,
    kubernetes: bool,
) -> Result<HashMap<(String, String), u64>, VerifyError> {
    let options = ListOptions::all(kind);
    let mut map = HashMap::new();
    let mut pages = target.list_pages(&options, PAGE_SIZE).await?;
    while let Some(page) = pages.next().await {
        for item in page?.items {
            let meta = item.metadata();
            let key = (meta.namespace.clone(), meta.name.clone());
            map.insert(key, digest(&normalized(&item, kubernetes)?));
        }
    }
    Ok(map)
}

/// One kind's comparison, over a run of documents of that kind (a full export writes a large
/// kind as several `<Kind>List`s): the target's objects of the kind not yet matched by the
/// document, hashed, or `None` for a kind a Kubernetes target does not keep.
struct KindRun {
    name: String,
    kind: KindRef,
    kubernetes: bool,
    existing: Option<HashMap<(String, String), u64>>,
}

impl KindRun {
    async fn start(target: &Client, kind_name: &str) -> Result<KindRun, VerifyError> {
        let kubernetes = target.info().datastore_type == "kubernetes";
        let kind =
            KindRef::lookup(kind_name).ok_or_else(|| VerifyError::UnknownKind(kind_name.into()))?;
        let existing = if not_kept(kind_name, kubernetes) {
            None
        } else {
            Some(target_kind(target, kind, kubernetes).await?)
        };
        Ok(KindRun {
            name: kind_name.to_string(),
            kind,
            kubernetes,
            existing,
        })
    }

    /// Compares resources of the document with the target's.
    async fn compare(
        &mut self,
        target: &Client,
        items: Vec<AnyResource>,
        report: &mut Report,
    ) -> Result<(), VerifyError> {
        let (kind, kubernetes) = (self.kind, self.kubernetes);
        let Some(existing) = self.existing.as_mut() else {
            report.skipped.extend(items.iter().map(key_of));
            return Ok(());
        };
        for item in items {
            let meta = item.metadata();
            let key = ResourceKey::new(kind, &meta.namespace, &meta.name);
            let want = normalized(&item, kubernetes)?;
            report.compared += 1;
            match existing.remove(&(meta.namespace.clone(), meta.name.clone())) {
                None if self.name == "Node" && kubernetes => {
                    report.compared -= 1;
                    report.skipped.push(key.to_string());
                }
                None => report.push(key.to_string(), Found::Missing),
                Some(hash) if hash == digest(&want) => report.equal += 1,
                Some(_) => {
                    let got = match target.get(&key).await {
                        Ok(got) => normalized(&got, kubernetes)?,
                        Err(err) if err.is_not_found() => Value::Null,
                        Err(err) => return Err(err.into()),
                    };
                    report.compared_with(key.to_string(), &want, &got);
                }
            }
        }
        Ok(())
    }

    /// Records the target's objects of the kind that the document does not have.
    fn finish(self, report: &mut Report) {
        let Some(existing) = self.existing else {
            return;
        };
        report.extras(
            existing
                .into_keys()
                .filter(|(_, name)| !target_owns(&self.name, name, self.kubernetes))
                .map(|(namespace, name)| ResourceKey::new(self.kind, &namespace, &name).to_string())
                .collect(),
        );
    }
}

/// The `<Kind>` of a `<Kind>List` document, read from its top-level `kind:` line.
fn list_kind(document: &str) -> Option<&str> {
    document
        .lines()
        .filter_map(|line| line.strip_prefix("kind: "))
        .find_map(|kind| kind.trim().trim_matches('"').strip_suffix("List"))
}

/// Compares the resources part of a document with the target, a `<Kind>List` (a YAML
/// document of the file) at a time; consecutive lists of one kind are compared as one.
pub async fn verify_resources(
    target: &Client,
    document: &Document<'_>,
    observer: &dyn Observer,
    report: &mut Report,
) -> Result<(), VerifyError> {
    let mut run: Option<KindRun> = None;
    let decoded = crate::import::batches(document, true)
        .map(|batch| batch.map_err(|e| VerifyError::Document(e.to_string())))
        .flat_map(|batch| match batch {
            Ok(documents) => documents.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(err) => vec![Err(err)],
        });
    for one in decoded {
        let one = one?;
        let items = one.resources;
        let kind = match (list_kind(&one.text), items.first()) {
            (Some(kind), _) => kind.to_string(),
            (None, Some(first)) => first.kind().to_string(),
            (None, None) => continue,
        };
        let current = match run.take() {
            Some(current) if current.name == kind => current,
            other => {
                if let Some(done) = other {
                    done.finish(report);
                }
                KindRun::start(target, &kind).await?
            }
        };
        let current = run.insert(current);
        let count = items.len();
        current.compare(target, items, report).await?;
        observer.advance(count);
    }
    if let Some(done) = run {
        done.finish(report);
    }
    Ok(())
}

/// The ClusterInformation: what an import carries over (the cluster GUID and Calico version).
pub async fn verify_cluster_info(
    target: &Client,
    exported: &[u8],
    report: &mut Report,
) -> Result<(), VerifyError> {
    let value: Value = serde_json::from_slice(exported)
        .map_err(|e| VerifyError::Document(format!("the ClusterInformation: {e}")))?;
    let kind = KindRef::lookup("ClusterInformation")
        .ok_or_else(|| VerifyError::UnknownKind("ClusterInformation".into()))?;
    let key = ResourceKey::new(kind, "", "default");
    report.compared += 1;
    let got = match target.get(&key).await {
        Ok(got) => got
            .to_json_value()
            .map_err(|e| VerifyError::Encode(key.to_string(), e.to_string()))?,
        Err(err) if err.is_not_found() => {
            report.push(key.to_string(), Found::Missing);
            return Ok(());
        }
        Err(err) => return Err(err.into()),
    };
    // Only what an import carries over is compared.
    let carried = |v: &Value| {
        let field = |name: &str| v.pointer(&format!("/spec/{name}")).cloned();
        serde_json::json!({"spec": {
            "clusterGUID": field("clusterGUID"),
            "calicoVersion": field("calicoVersion"),
        }})
    };
    report.compared_with(key.to_string(), &carried(&value), &carried(&got));
    Ok(())
}

fn model_json(key: &ModelKey, value: &ModelValue) -> Result<Value, VerifyError> {
    let bytes = value
        .encode()
        .map_err(|e| VerifyError::Encode(key.to_string(), e.to_string()))?;
    let mut value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| VerifyError::Encode(key.to_string(), e.to_string()))?;
    prune(&mut value);
    Ok(value)
}

/// Every IPAM object of the target, kind by kind: key path → hash of its value.
async fn target_models(
    target: &Client,
    kind: ModelKind,
) -> Result<HashMap<String, u64>, VerifyError> {
    let backend = target.backend();
    let mut map = HashMap::new();
    let options = match kind {
        ModelKind::Block => ModelListOptions::Blocks { ip_version: None },
        ModelKind::BlockAffinity => ModelListOptions::BlockAffinities {
            affinity_type: AffinityType::Host,
            host: None,
            ip_version: None,
        },
        ModelKind::Handle => ModelListOptions::Handles,
        ModelKind::Config => {
            match backend.get_model(&ModelKey::Config).await {
                Ok(kv) => {
                    map.insert(
                        kv.key.default_path(),
                        digest(&model_json(&kv.key, &kv.value)?),
                    );
                }
                Err(err) if err.is_not_found() => {}
                Err(err) => return Err(err.into()),
            }
            return Ok(map);
        }
    };
    let mut pages = backend.list_model_pages(&options, PAGE_SIZE).await?;
    while let Some(page) = pages.next().await {
        for kv in page?.items {
            map.insert(
                kv.key.default_path(),
                digest(&model_json(&kv.key, &kv.value)?),
            );
        }
    }
    Ok(map)
}

/// Compares the IPAM section with the target's IPAM objects.
pub async fn verify_ipam(
    target: &Client,
    section: &Section,
    report: &mut Report,
) -> Result<(), VerifyError> {
    let config = section
        .config
        .clone()
        .map(|value| (ModelKey::Config, value));
    let groups: [(ModelKind, Vec<&(ModelKey, ModelValue)>); 4] = [
        (
            ModelKind::BlockAffinity,
            section.block_affinities.iter().collect(),
        ),
        (ModelKind::Block, section.blocks.iter().collect()),
        (ModelKind::Handle, section.handles.iter().collect()),
        (ModelKind::Config, config.iter().collect()),
    ];
    for (kind, items) in groups {
        let mut existing = target_models(target, kind).await?;
        for (key, value) in items {
            report.compared += 1;
            let want = model_json(key, value)?;
            match existing.remove(&key.default_path()) {
                None => report.push(key.to_string(), Found::Missing),
                Some(hash) if hash == digest(&want) => report.equal += 1,
                Some(_) => {
                    let got = match target.backend().get_model(key).await {
                        Ok(kv) => model_json(&kv.key, &kv.value)?,
                        Err(err) if err.is_not_found() => Value::Null,
                        Err(err) => return Err(err.into()),
                    };
                    report.compared_with(key.to_string(), &want, &got);
                }
            }
        }
        report.extras(
            existing
                .into_keys()
                .map(|path| match ModelKey::from_path(&path) {
                    Some(key) => key.to_string(),
                    None => path,
                })
                .collect(),
        );
    }
    Ok(())
}

/// Verifies a whole migration document against the target: resources, ClusterInformation,
/// IPAM objects. `observer` is told of the objects compared as they are.
pub async fn verify_document(
    target: &Client,
    document: &Document<'_>,
    observer: &dyn Observer,
) -> Result<Report, VerifyError> {
    let mut report = Report::default();
    observer.begin("verifying", None);
    verify_resources(target, document, observer, &mut report).await?;
    let read = |e: std::io::Error| VerifyError::Document(e.to_string());
    verify_cluster_info(target, &document.cluster_info().map_err(read)?, &mut report).await?;
    observer.advance(1);
    let section = Section::parse(&document.ipam().map_err(read)?).map_err(VerifyError::Document)?;
    verify_ipam(target, &section, &mut report).await?;
    observer.advance(section.len());
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_are_named_by_field_path() {
        let want = json!({"spec": {"cidr": "10.0.0.0/16", "list": [1, 2], "same": true}});
        let got = json!({"spec": {"cidr": "10.1.0.0/16", "list": [1, 3], "same": true, "x": 1}});
        assert_eq!(
            diff_paths(&want, &got),
            ["spec.cidr", "spec.list[1]", "spec.x"]
        );
        assert!(diff_paths(&json!({"a": {}}), &json!({})).is_empty());
    }

    #[test]
    fn hashes_ignore_member_order() {
        let a: Value =
            serde_json::from_str(r#"{"a": 1, "b": {"c": 2, "d": 3}}"#).unwrap_or_default();
        let b: Value =
            serde_json::from_str(r#"{"b": {"d": 3, "c": 2}, "a": 1}"#).unwrap_or_default();
        assert_eq!(digest(&a), digest(&b));
        assert_ne!(digest(&a), digest(&json!({"a": 2})));
    }

    #[test]
    fn list_kinds_are_read_from_the_list() {
        assert_eq!(
            list_kind("apiVersion: projectcalico.org/v3\nitems: []\nkind: IPPoolList\nmetadata:\n  resourceVersion: \"5\"\n"),
            Some("IPPool")
        );
    }
}
