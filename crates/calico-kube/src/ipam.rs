//! The IPAM model (blocks, block affinities, handles, the IPAM configuration) stored as Calico's
//! Kubernetes driver stores it (`libcalico-go/lib/backend/k8s/resources/ipam_block.go`,
//! `ipam_affinity_v1.go`, `ipam_handle.go`, `ipam_config_v1.go`): as the `IPAMBlock`,
//! `BlockAffinity`, `IPAMHandle` and `IPAMConfig` (v1) / `IPAMConfiguration` (v3) custom
//! resources, in either storage mode, through the [`CrdStore`]s of those kinds.
//!
//! - Names: a block is its CIDR with `.`, `:` and `/` made `-` ([`cidr_to_name`]); an
//!   affinity is `<host>-<block name>`, cut and hashed at 253 characters ([`affinity_name`]);
//!   a handle is its ID lower-cased (`spec.handleID` keeps the case); the configuration is
//!   `default`.
//! - Affinities carry the `projectcalico.org/hostname-hash`, `affinity-type` and `ip-version`
//!   labels Calico lists them by ([`affinity_labels`]).
//! - Revisions are resourceVersions. A block, affinity or handle is deleted in two steps: an
//!   update marking it `deleted` (the compare-and-swap), then a delete with a UID
//!   precondition; a get that finds one marked finishes the delete and reports it missing.
//!   Affinity lists leave out marked ones; block and handle lists return them, as Calico's do.

use calico_api::model::{
    parse_prefix, AffinityState, AffinityType, AllocationBlock, BlockAffinity, BlockAffinityKey,
    BlockKey, HandleKey, IPAMConfig, IPAMHandle, IpVersion, ModelKey, ModelKind, ModelListOptions,
    ModelValue,
};
use calico_api::{
    AnyResource, BlockAffinitySpec, IPAMBlockSpec, IPAMConfigurationSpec, IPAMHandleSpec, Resource,
};
use calico_datastore::{
    check_model_write, DatastoreError, KindRef, ModelKv, ModelList, ModelWatchEvent,
    ModelWatchStream, ResourceKey, Result, WatchEvent,
};
use futures::StreamExt;
use ipnet::IpNet;
use sha2::{Digest, Sha256};
use sha3::Sha3_256;
use std::collections::BTreeMap;

use crate::crd::CrdStore;
use crate::mode::Mode;
use crate::store::{watch_start, KindStore};

/// The label holding the base32 SHA3-256 of an affinity's host (host names can be longer than
/// a label value may be).
pub const LABEL_HOSTNAME_HASH: &str = "projectcalico.org/hostname-hash";
/// The label holding an affinity's type (`host`, `virtual`).
pub const LABEL_AFFINITY_TYPE: &str = "projectcalico.org/affinity-type";
/// The label holding an affinity's IP version (`4`, `6`).
pub const LABEL_IP_VERSION: &str = "projectcalico.org/ip-version";
/// The IPAM configuration's only name.
pub const IPAM_CONFIG_NAME: &str = "default";

/// Kubernetes' limit on an object name.
const MAX_NAME: usize = 253;
/// How often an unconditional write (apply, delete without a revision) re-reads and retries
/// after losing a race.
const ATTEMPTS: usize = 5;

/// Calico's `names.CIDRToName`: the masked CIDR with its dots, colons and slash made dashes
/// (`10.244.0.0/26` → `10-244-0-0-26`, `fd00:10:244::/122` → `fd00-10-244---122`).
pub fn cidr_to_name(cidr: &IpNet) -> String {
    cidr.trunc().to_string().replace(['.', ':', '/'], "-")
}

/// A block affinity's name: `<host>-<block name>`; at 253 characters or more the host is cut so
/// that the name plus `-` and the first 11 hex digits of SHA-256(`<host>+<block name>`) fit.
pub fn affinity_name(host: &str, cidr: &IpNet) -> String {
    let cidr_name = cidr_to_name(cidr);
    let name = format!("{host}-{cidr_name}");
    if name.len() < MAX_NAME {
        return name;
    }
    let keep = (MAX_NAME - 1).saturating_sub(cidr_name.len() + 13);
    let mut cut = keep.min(host.len());
    while !host.is_char_boundary(cut) {
        cut -= 1;
    }
    let digest = Sha256::digest(format!("{host}+{cidr_name}").as_bytes());
    let hex = data_encoding::HEXLOWER.encode(&digest);
    format!("{}-{cidr_name}-{}", &host[..cut], &hex[..11])
}

/// The `projectcalico.org/hostname-hash` value: base32 (standard alphabet, no padding) of the
/// SHA3-256 of the host name.
pub fn hostname_hash(host: &str) -> String {
    data_encoding::BASE32_NOPAD.encode(&Sha3_256::digest(host.as_bytes()))
}

/// The labels Calico writes on every block affinity.
pub fn affinity_labels(spec: &BlockAffinitySpec) -> BTreeMap<String, String> {
    let version = if spec.cidr.contains(':') { "6" } else { "4" };
    BTreeMap::from([
        (LABEL_HOSTNAME_HASH.to_string(), hostname_hash(&spec.node)),
        (LABEL_AFFINITY_TYPE.to_string(), spec.affinity_type.clone()),
        (LABEL_IP_VERSION.to_string(), version.to_string()),
    ])
}

/// A handle's object name: its ID lower-cased (two IDs differing in case collide, as in Calico).
pub fn handle_name(handle_id: &str) -> String {
    handle_id.to_lowercase()
}

/// The object name that stores `key`.
pub fn object_name(key: &ModelKey) -> String {
    match key {
        ModelKey::Block(block) => cidr_to_name(&block.cidr()),
        ModelKey::BlockAffinity(affinity) => affinity_name(&affinity.host, &affinity.cidr()),
        ModelKey::Handle(handle) => handle_name(&handle.handle_id),
        ModelKey::Config => IPAM_CONFIG_NAME.to_string(),
    }
}

/// The v3 kind whose store holds objects of `kind`.
fn kind_name(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Block => "IPAMBlock",
        ModelKind::BlockAffinity => "BlockAffinity",
        ModelKind::Handle => "IPAMHandle",
        ModelKind::Config => "IPAMConfiguration",
    }
}

/// The resource (in its v3 form, which [`CrdStore`] stores in either mode) that holds `value`
/// at `key`; the value must be of the key's kind.
pub fn to_resource(key: &ModelKey, value: &ModelValue) -> Result<AnyResource> {
    check_model_write(key, value)?;
    let name = object_name(key);
    Ok(match (key, value) {
        (ModelKey::Block(block), ModelValue::Block(value)) => Resource::new(
            name,
            IPAMBlockSpec {
                cidr: block.cidr().to_string(),
                affinity: value.affinity.clone(),
                affinity_claim_time: value.affinity_claim_time,
                allocations: value.allocations.clone(),
                unallocated: value.unallocated.clone(),
                // Calico's conversion builds a new slice: never `null` in Kubernetes.
                attributes: Some(value.attributes.clone().unwrap_or_default()),
                sequence_number: value.sequence_number,
                sequence_number_for_allocation: value.sequence_number_for_allocation.clone(),
                deleted: value.deleted,
                deprecated_strict_affinity: false,
            },
        )
        .into(),
        (ModelKey::BlockAffinity(affinity), ModelValue::BlockAffinity(value)) => {
            let mut resource = Resource::new(
                name,
                BlockAffinitySpec {
                    state: value.state.as_str().to_string(),
                    node: affinity.host.clone(),
                    affinity_type: affinity.affinity_type.as_str().to_string(),
                    cidr: affinity.cidr().to_string(),
                    deleted: value.deleted,
                },
            );
            resource.metadata.labels = affinity_labels(&resource.spec);
            resource.into()
        }
        (ModelKey::Handle(handle), ModelValue::Handle(value)) => Resource::new(
            name,
            IPAMHandleSpec {
                handle_id: handle.handle_id.clone(),
                block: value.block.clone(),
                deleted: value.deleted,
            },
        )
        .into(),
        (ModelKey::Config, ModelValue::Config(value)) => Resource::new(
            name,
            IPAMConfigurationSpec {
                strict_affinity: value.strict_affinity,
                max_blocks_per_host: go_int32(value.max_blocks_per_host),
                auto_allocate_blocks: value.auto_allocate_blocks,
                kube_virt_vm_address_persistence: value.kube_virt_vm_address_persistence.clone(),
                ip_cooldown_seconds: go_int32(value.ip_cooldown_seconds),
            },
        )
        .into(),
        _ => {
            return Err(DatastoreError::Store(format!(
                "internal error: a {} value at {key}",
                value.kind().go_name()
            )))
        }
    })
}

/// Go's `int32(v)` of an `int`: the low 32 bits.
fn go_int32(value: i64) -> i32 {
    value as i32
}

/// A stored object read back: the model object, and the object's UID (for the delete
/// precondition).
#[derive(Clone, Debug)]
struct Stored {
    kv: ModelKv,
    uid: String,
}

impl Stored {
    fn marked_deleted(&self) -> bool {
        match &self.kv.value {
            ModelValue::Block(block) => block.deleted,
            ModelValue::BlockAffinity(affinity) => affinity.deleted,
            ModelValue::Handle(handle) => handle.deleted,
            ModelValue::Config(_) => false,
        }
    }
}

/// A CIDR as Calico's `net.ParseCIDR` reads a spec's: the network, masked.
fn spec_cidr(text: &str) -> std::result::Result<IpNet, String> {
    parse_prefix(text)
        .map(|cidr| cidr.trunc())
        .ok_or_else(|| format!("invalid CIDR address: {text}"))
}

/// The model object a resource of one of the four kinds holds (Calico's `V3toV1` conversions).
pub fn from_resource(
    resource: &AnyResource,
) -> std::result::Result<(ModelKey, ModelValue), String> {
    Ok(match resource {
        AnyResource::IPAMBlock(block) => {
            let spec = &block.spec;
            let cidr = spec_cidr(&spec.cidr)?;
            (
                BlockKey::new(cidr).into(),
                AllocationBlock {
                    cidr,
                    affinity: spec.affinity.clone(),
                    affinity_claim_time: spec.affinity_claim_time,
                    allocations: spec.allocations.clone(),
                    unallocated: spec.unallocated.clone(),
                    attributes: Some(spec.attributes.clone().unwrap_or_default()),
                    sequence_number: spec.sequence_number,
                    sequence_number_for_allocation: spec.sequence_number_for_allocation.clone(),
                    deleted: spec.deleted,
                    host_affinity: None,
                    unknown: Default::default(),
                }
                .into(),
            )
        }
        AnyResource::BlockAffinity(affinity) => {
            let spec = &affinity.spec;
            // Older releases wrote no type: a host affinity.
            let affinity_type = match spec.affinity_type.as_str() {
                "" | "host" => AffinityType::Host,
                "virtual" => AffinityType::Virtual,
                "@" => AffinityType::At,
                other => return Err(format!("unknown affinity type {other:?}")),
            };
            (
                BlockAffinityKey::new(spec_cidr(&spec.cidr)?, spec.node.clone(), affinity_type)
                    .into(),
                BlockAffinity {
                    state: AffinityState::from_text(&spec.state),
                    deleted: spec.deleted,
                    unknown: Default::default(),
                }
                .into(),
            )
        }
        AnyResource::IPAMHandle(handle) => (
            HandleKey::new(handle.spec.handle_id.clone()).into(),
            IPAMHandle {
                block: handle.spec.block.clone(),
                deleted: handle.spec.deleted,
                unknown: Default::default(),
            }
            .into(),
        ),
        AnyResource::IPAMConfiguration(config) => {
            let spec = &config.spec;
            (
                ModelKey::Config,
                IPAMConfig {
                    strict_affinity: spec.strict_affinity,
                    auto_allocate_blocks: spec.auto_allocate_blocks,
                    max_blocks_per_host: spec.max_blocks_per_host.into(),
                    kube_virt_vm_address_persistence: spec.kube_virt_vm_address_persistence.clone(),
                    ip_cooldown_seconds: spec.ip_cooldown_seconds.into(),
                    unknown: Default::default(),
                }
                .into(),
            )
        }
        other => return Err(format!("a {} is not an IPAM object", other.kind())),
    })
}

/// A resource read back as its model object, or Calico's parse error naming the object.
fn decode(kind: KindRef, resource: &AnyResource) -> Result<Stored> {
    let meta = resource.metadata();
    let (key, value) = from_resource(resource).map_err(|cause| DatastoreError::ParsingEntry {
        key: format!("{}/{}", kind.plural(), meta.name),
        value: resource
            .to_json_value()
            .map(|v| v.to_string())
            .unwrap_or_default(),
        cause,
    })?;
    Ok(Stored {
        kv: ModelKv {
            key,
            value,
            revision: meta.resource_version.clone(),
            uid: Some(meta.uid.clone()).filter(|uid| !uid.is_empty()),
        },
        uid: meta.uid.clone(),
    })
}

/// A Kubernetes store's error about the object of `key`, as the model error.
fn model_error(error: DatastoreError, key: &ModelKey) -> DatastoreError {
    let key = key.clone();
    match error {
        DatastoreError::DoesNotExist { cause, .. } => {
            DatastoreError::ModelDoesNotExist { key, cause }
        }
        DatastoreError::AlreadyExists { .. } => {
            DatastoreError::ModelAlreadyExists { key, cause: None }
        }
        DatastoreError::UpdateConflict { detail, .. } => {
            DatastoreError::ModelUpdateConflict { key, detail }
        }
        other => other,
    }
}

/// Marks `value` deleted (the soft-delete's first step).
fn mark_deleted(value: &mut ModelValue) {
    match value {
        ModelValue::Block(block) => block.deleted = true,
        ModelValue::BlockAffinity(affinity) => affinity.deleted = true,
        ModelValue::Handle(handle) => handle.deleted = true,
        ModelValue::Config(_) => {}
    }
}

/// The label selector of an affinity list (Calico's `CalculateBlockAffinityLabelSelector`).
fn affinity_selector(
    affinity_type: AffinityType,
    host: Option<&str>,
    ip_version: Option<IpVersion>,
) -> String {
    let mut terms = Vec::new();
    if let Some(host) = host {
        terms.push(format!("{LABEL_HOSTNAME_HASH}={}", hostname_hash(host)));
    }
    terms.push(format!("{LABEL_AFFINITY_TYPE}={affinity_type}"));
    if let Some(version) = ip_version {
        terms.push(format!("{LABEL_IP_VERSION}={}", version.number()));
    }
    terms.join(",")
}

/// The four IPAM kinds' stores, in one storage mode.
#[derive(Clone, Debug)]
pub struct IpamStore {
    blocks: CrdStore,
    affinities: CrdStore,
    handles: CrdStore,
    config: CrdStore,
}

impl IpamStore {
    /// The stores on `client` in `mode`; `None` if a kind is not registered (never, in a
    /// complete build).
    pub fn new(client: &kube::Client, url: &str, mode: Mode) -> Option<IpamStore> {
        let store = |kind: ModelKind| {
            KindRef::lookup(kind_name(kind))
                .map(|kind| CrdStore::new(client.clone(), url, kind, mode))
        };
        Some(IpamStore {
            blocks: store(ModelKind::Block)?,
            affinities: store(ModelKind::BlockAffinity)?,
            handles: store(ModelKind::Handle)?,
            config: store(ModelKind::Config)?,
        })
    }

    fn store(&self, kind: ModelKind) -> &CrdStore {
        match kind {
            ModelKind::Block => &self.blocks,
            ModelKind::BlockAffinity => &self.affinities,
            ModelKind::Handle => &self.handles,
            ModelKind::Config => &self.config,
        }
    }

    fn resource_key(key: &ModelKey) -> Result<ResourceKey> {
        let kind = KindRef::lookup(kind_name(key.kind()))
            .ok_or_else(|| DatastoreError::Store(format!("internal error: {key} has no kind")))?;
        Ok(ResourceKey::new(kind, "", object_name(key)))
    }

    /// Reads the object of `key` as it is stored, marked deleted or not.
    async fn read(&self, key: &ModelKey) -> Result<Stored> {
        let resource_key = Self::resource_key(key)?;
        let resource = self
            .store(key.kind())
            .get(&resource_key)
            .await
            .map_err(|e| model_error(e, key))?;
        decode(resource_key.kind, &resource)
    }

    /// Writes `value` at `key` over `revision` (a create when `None`).
    async fn write(
        &self,
        key: &ModelKey,
        value: &ModelValue,
        revision: Option<&str>,
    ) -> Result<Stored> {
        let mut resource = to_resource(key, value)?;
        let store = self.store(key.kind());
        let written = match revision {
            None => store.create(resource).await,
            Some(revision) => {
                resource.metadata_mut().resource_version = revision.to_string();
                store.update(resource).await
            }
        }
        .map_err(|e| model_error(e, key))?;
        decode(KindRef(written.info()), &written)
    }

    /// Deletes the stored object `live`: marks it deleted over its revision (the
    /// compare-and-swap), then deletes it with its UID as the precondition.
    async fn remove(&self, key: &ModelKey, live: Stored) -> Result<ModelKv> {
        let store = self.store(key.kind());
        let resource_key = Self::resource_key(key)?;
        let uid = if key.kind() == ModelKind::Config {
            live.uid
        } else {
            let mut value = live.kv.value;
            mark_deleted(&mut value);
            self.write(key, &value, Some(&live.kv.revision)).await?.uid
        };
        let uid = Some(uid.as_str()).filter(|u| !u.is_empty());
        let deleted = store
            .delete(&resource_key, uid)
            .await
            .map_err(|e| model_error(e, key))?;
        Ok(decode(resource_key.kind, &deleted)?.kv)
    }

    /// Reads one object; one marked deleted is deleted now and reported missing.
    pub async fn get(&self, key: &ModelKey) -> Result<ModelKv> {
        let stored = self.read(key).await?;
        if !stored.marked_deleted() {
            return Ok(stored.kv);
        }
        match self.remove(key, stored).await {
            Ok(_) | Err(DatastoreError::ModelDoesNotExist { .. }) => {
                Err(DatastoreError::ModelDoesNotExist {
                    key: key.clone(),
                    cause: Some("Resource was deleted".into()),
                })
            }
            Err(other) => Err(other),
        }
    }

    /// Creates an object; `ModelAlreadyExists` when its name is taken.
    pub async fn create(&self, key: ModelKey, value: ModelValue) -> Result<ModelKv> {
        Ok(self.write(&key, &value, None).await?.kv)
    }

    /// Replaces an object at `revision`.
    pub async fn update(
        &self,
        key: ModelKey,
        value: ModelValue,
        revision: &str,
    ) -> Result<ModelKv> {
        Ok(self.write(&key, &value, Some(revision)).await?.kv)
    }

    /// Creates, or replaces over the live revision (Calico's Apply: create, then update).
    pub async fn apply(&self, key: ModelKey, value: ModelValue) -> Result<ModelKv> {
        let mut last = None;
        for _ in 0..ATTEMPTS {
            match self.write(&key, &value, None).await {
                Err(DatastoreError::ModelAlreadyExists { .. }) => {}
                other => return other.map(|stored| stored.kv),
            }
            let live = match self.read(&key).await {
                Ok(live) => live,
                Err(error @ DatastoreError::ModelDoesNotExist { .. }) => {
                    last = Some(error);
                    continue;
                }
                Err(error) => return Err(error),
            };
            match self.write(&key, &value, Some(&live.kv.revision)).await {
                Err(error) if error.is_conflict() || error.is_not_found() => last = Some(error),
                other => return other.map(|stored| stored.kv),
            }
        }
        Err(last.unwrap_or(DatastoreError::ModelUpdateConflict { key, detail: None }))
    }

    /// Deletes an object (at `revision` when given): for blocks, affinities and handles
    /// Calico's two steps, so the returned value is marked `deleted`.
    pub async fn delete(&self, key: &ModelKey, revision: Option<&str>) -> Result<ModelKv> {
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let live = self.read(key).await?;
            if let Some(revision) = revision {
                if live.kv.revision != revision {
                    return Err(DatastoreError::ModelUpdateConflict {
                        key: key.clone(),
                        detail: Some(format!(
                            "revision '{revision}' is out of date (latest: {})",
                            live.kv.revision
                        )),
                    });
                }
            }
            match self.remove(key, live).await {
                Err(error) if revision.is_none() && error.is_conflict() => last = Some(error),
                other => return other,
            }
        }
        Err(last.unwrap_or(DatastoreError::ModelUpdateConflict {
            key: key.clone(),
            detail: None,
        }))
    }

    /// Lists objects of one kind, in key order. Affinities are selected by their labels and
    /// checked again here, those marked deleted left out; blocks of one family are filtered
    /// here (Calico's block list returns both families).
    pub async fn list(&self, options: &ModelListOptions) -> Result<ModelList> {
        let kind = options.kind();
        let store = self.store(kind);
        let (decoded, revision) = store.list_selected(list_selector(options)).await?;
        let list_kind = KindRef::lookup(kind_name(kind));
        let mut items = Vec::new();
        let mut unreadable = Vec::new();
        for resource in decoded {
            let stored = resource.and_then(|resource| {
                decode(list_kind.unwrap_or(KindRef(resource.info())), &resource)
            });
            match stored {
                Ok(stored) if wanted(options, &stored.kv) => items.push(stored.kv),
                Ok(_) => {}
                Err(error) => unreadable.push(error),
            }
        }
        items.sort_by_cached_key(|kv| kv.key.default_path());
        Ok(ModelList {
            items,
            revision,
            unreadable,
        })
    }

    /// Watches objects of one kind, with the backend's watch contract: from `revision`, the
    /// changes after it; without one, what [`IpamStore::list`] lists as `Added` (an unreadable
    /// object as an `Error`), then `InitDone` at the list's revision, then the changes. The
    /// objects are selected as the list selects them, except that an affinity marked deleted
    /// (the first step of Calico's delete) is reported as modified, and its removal as
    /// deleted. Bookmarks, errors and the end of the stream are the custom-resource watch's.
    pub async fn watch(
        &self,
        options: &ModelListOptions,
        revision: Option<&str>,
    ) -> Result<ModelWatchStream> {
        let (listed, revision) = match watch_start(revision) {
            Some(revision) => (Vec::new(), revision.to_string()),
            None => {
                let list = self.list(options).await?;
                let mut listed: Vec<ModelWatchEvent> = list
                    .unreadable
                    .into_iter()
                    .map(ModelWatchEvent::Error)
                    .chain(list.items.into_iter().map(ModelWatchEvent::Added))
                    .collect();
                if watch_start(Some(&list.revision)).is_none() {
                    return Err(DatastoreError::Store(format!(
                        "cannot watch {:?}: its list gave no revision to watch from",
                        options.kind()
                    )));
                }
                listed.push(ModelWatchEvent::InitDone {
                    revision: list.revision.clone(),
                });
                (listed, list.revision)
            }
        };
        let kind = options.kind();
        let resources = self
            .store(kind)
            .watch_selected(list_selector(options), &revision)
            .await?;
        let list_kind = KindRef::lookup(kind_name(kind));
        let options = options.clone();
        let changes = resources.filter_map(move |event| {
            let decoded = |resource: &AnyResource| {
                decode(list_kind.unwrap_or(KindRef(resource.info())), resource)
                    .map(|stored| stored.kv)
            };
            let event = match event {
                WatchEvent::Added(resource) => decoded(&resource).map(ModelWatchEvent::Added),
                WatchEvent::Modified { current, .. } => {
                    decoded(&current).map(ModelWatchEvent::Modified)
                }
                WatchEvent::Deleted(resource) => decoded(&resource).map(ModelWatchEvent::Deleted),
                WatchEvent::InitDone { revision } => Ok(ModelWatchEvent::InitDone { revision }),
                WatchEvent::Bookmark { revision } => Ok(ModelWatchEvent::Bookmark { revision }),
                WatchEvent::Error(error) => Ok(ModelWatchEvent::Error(error)),
            };
            let event = match event {
                Ok(
                    ModelWatchEvent::Added(kv)
                    | ModelWatchEvent::Modified(kv)
                    | ModelWatchEvent::Deleted(kv),
                ) if !wanted_key(&options, &kv) => None,
                Ok(event) => Some(event),
                Err(error) => Some(ModelWatchEvent::Error(error)),
            };
            futures::future::ready(event)
        });
        Ok(Box::pin(futures::stream::iter(listed).chain(changes)))
    }
}

/// The label selector of a list or watch (affinities are selected by their labels).
fn list_selector(options: &ModelListOptions) -> Option<String> {
    match options {
        ModelListOptions::BlockAffinities {
            affinity_type,
            host,
            ip_version,
        } => Some(affinity_selector(
            *affinity_type,
            host.as_deref(),
            *ip_version,
        )),
        _ => None,
    }
}

/// Whether a listed object is one `options` asks for (affinities marked deleted are not).
fn wanted(options: &ModelListOptions, kv: &ModelKv) -> bool {
    let marked = matches!(&kv.value, ModelValue::BlockAffinity(value) if value.deleted);
    wanted_key(options, kv) && !marked
}

/// Whether an object's key (and kind of value) is one `options` asks for.
fn wanted_key(options: &ModelListOptions, kv: &ModelKv) -> bool {
    match (options, &kv.key, &kv.value) {
        (ModelListOptions::Blocks { ip_version }, ModelKey::Block(key), _) => {
            ip_version.is_none_or(|v| v == IpVersion::of(&key.cidr()))
        }
        (
            ModelListOptions::BlockAffinities {
                affinity_type,
                host,
                ip_version,
            },
            ModelKey::BlockAffinity(key),
            ModelValue::BlockAffinity(_),
        ) => {
            key.affinity_type == *affinity_type
                && host.as_ref().is_none_or(|h| *h == key.host)
                && ip_version.is_none_or(|v| v == IpVersion::of(&key.cidr()))
        }
        (ModelListOptions::Handles, ModelKey::Handle(_), _) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests;
