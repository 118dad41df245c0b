//! [`KvBackend`]: Calico's etcdv3 storage layout over any [`KvStore`].
//!
//! Keys are [`ResourceKey::default_path`]; values are Go-compatible JSON of the whole resource
//! with `resourceVersion` and `selfLink` cleared; the resource version handed back is the key's
//! mod revision. Policy kinds carry their v3 name in the `projectcalico.org/metadata` annotation
//! while stored, as Calico's etcd backend does.
//!
//! IPAM model objects are stored at their [`ModelKey::default_path`] as the exact bytes of
//! [`ModelValue::encode`], with the same transactions as resources (create if absent, compare
//! and swap on the mod revision, guarded delete).

use std::sync::Arc;

use async_trait::async_trait;
use calico_api::model::{ModelKey, ModelListOptions, ModelValue};
use calico_api::AnyResource;
use futures::StreamExt;

use crate::backend::{
    Backend, DatastoreInfo, ModelKv, ModelList, ModelPages, ModelWatchEvent, ModelWatchStream,
    ModelWrite, Read, ReadResult, ResourceList, ResourcePages, WatchEvent, WatchStream,
};
use crate::codec;
use crate::error::{DatastoreError, Result};
use crate::key::{KindRef, ListOptions, ResourceKey};
use crate::kv::{
    CreateOutcome, DeleteOutcome, KvError, KvStore, RawEvent, RawKv, RawRead, RawReadResult,
    RawWrite, RawWritten, UpdateOutcome, WriteManyOutcome,
};

/// A [`Backend`] storing resources in an etcd-like [`KvStore`] exactly as Calico does.
pub struct KvBackend<S> {
    store: Arc<S>,
}

impl<S: KvStore> KvBackend<S> {
    pub fn new(store: S) -> Self {
        KvBackend {
            store: Arc::new(store),
        }
    }

    /// The raw store (for tools that need it, such as compaction or migration).
    pub fn store(&self) -> &S {
        &self.store
    }
}

fn store_error(err: KvError) -> DatastoreError {
    match err {
        KvError::Compacted {
            requested,
            compacted,
        } => DatastoreError::Compacted {
            requested,
            compacted,
        },
        other => DatastoreError::Store(other.to_string()),
    }
}

/// etcd revisions are decimal int64s; anything else is Calico's validation error on
/// `ResourceVersion`.
fn parse_revision(revision: &str) -> Result<i64> {
    revision.parse::<i64>().map_err(|_| {
        DatastoreError::Validation(calico_api::ValidationError::single(
            "ResourceVersion",
            Some(revision.to_string()),
            "",
        ))
    })
}

fn optional_revision(revision: Option<&str>) -> Result<Option<i64>> {
    match revision {
        None | Some("") | Some("0") => Ok(None),
        Some(text) => parse_revision(text).map(Some),
    }
}

/// A delete's revision guard: none when no revision (or an empty one) is given.
fn delete_guard(revision: Option<&str>) -> Result<Option<i64>> {
    match revision {
        None | Some("") => Ok(None),
        Some(text) => parse_revision(text).map(Some),
    }
}

fn decode_kv(key: &ResourceKey, kv: &RawKv) -> Result<AnyResource> {
    codec::decode(key.kind, &kv.key, &kv.value, kv.mod_revision)
}

/// One page of raw values as read, with the revision the whole list is read at.
struct RawPageAt {
    kvs: Vec<RawKv>,
    revision: i64,
    /// Whether this is the list's last page (the built-ins follow it).
    last: bool,
}

/// How many times `page_size` keys one read of a long list grows to.
const MAX_READ_GROWTH: usize = 8;

/// Cuts one read into pages of at most `page_size` keys (the list's last page stays last).
fn split_read(read: Result<RawPageAt>, page_size: usize) -> Vec<Result<RawPageAt>> {
    let read = match read {
        Ok(read) if read.kvs.len() > page_size => read,
        other => return vec![other],
    };
    let RawPageAt {
        mut kvs,
        revision,
        last,
    } = read;
    let mut pages = Vec::with_capacity(kvs.len().div_ceil(page_size));
    while kvs.len() > page_size {
        let rest = kvs.split_off(page_size);
        pages.push(Ok(RawPageAt {
            kvs,
            revision,
            last: false,
        }));
        kvs = rest;
    }
    pages.push(Ok(RawPageAt {
        kvs,
        revision,
        last,
    }));
    pages
}

fn decode_page(options: &ListOptions, page: RawPageAt) -> ResourceList {
    let mut items = Vec::with_capacity(page.kvs.len());
    for kv in page.kvs {
        if let Some(key) = options.key_from_path(&kv.key) {
            // As in `list`: an unreadable value is left out.
            if let Ok(resource) = decode_kv(&key, &kv) {
                items.push(resource);
            }
        }
    }
    if page.last {
        items.extend(codec::builtins_for(options));
    }
    ResourceList {
        items,
        revision: page.revision.to_string(),
    }
}

/// Checks that an IPAM object can be written at `key` (by every driver): the value must be of
/// the key's kind and the key writable ([`ModelKey::check_writable`]).
pub fn check_model_write(key: &ModelKey, value: &ModelValue) -> Result<()> {
    let invalid = |reason: String| {
        DatastoreError::Validation(calico_api::ValidationError::single(
            "Key",
            Some(key.to_string()),
            &reason,
        ))
    };
    if key.kind() != value.kind() {
        return Err(invalid(format!(
            "a {} value cannot be stored at this key",
            value.kind().go_name()
        )));
    }
    key.check_writable().map_err(invalid)
}

/// The path and bytes of an IPAM object; the value must be of the key's kind.
fn model_path_and_bytes(key: &ModelKey, value: &ModelValue) -> Result<(String, Vec<u8>)> {
    check_model_write(key, value)?;
    let bytes = value
        .encode()
        .map_err(|e| DatastoreError::Store(format!("encoding {key}: {e}")))?;
    Ok((key.default_path(), bytes))
}

/// A stored IPAM value read back; a value Go could not read either is Calico's
/// `ErrorParsingDatastoreEntry`, naming the key.
/// The objects of `options`' kind among `kvs` (keys under the prefix that are not of the kind —
/// another host sharing the prefix, the legacy host key — are passed over, as Calico's
/// KeyFromDefaultPath does), and those that could not be read.
fn decode_model_page(options: &ModelListOptions, kvs: &[RawKv], revision: i64) -> ModelList {
    let mut items = Vec::with_capacity(kvs.len());
    let mut unreadable = Vec::new();
    for kv in kvs {
        if let Some(key) = options.key_from_path(&kv.key) {
            match decode_model(key, kv) {
                Ok(item) => items.push(item),
                Err(err) => unreadable.push(err),
            }
        }
    }
    ModelList {
        items,
        revision: revision.to_string(),
        unreadable,
    }
}

fn decode_model(key: ModelKey, kv: &RawKv) -> Result<ModelKv> {
    match ModelValue::decode(key.kind(), &kv.value) {
        Ok(value) => Ok(ModelKv {
            key,
            value,
            revision: kv.mod_revision.to_string(),
            uid: None,
        }),
        Err(err) => Err(DatastoreError::ParsingEntry {
            key: kv.key.clone(),
            value: String::from_utf8_lossy(&kv.value).into_owned(),
            cause: err.to_string(),
        }),
    }
}

/// The error of a refused model update (as `update_model` reports it).
fn model_update_error(key: ModelKey, expected: i64, current: Option<&RawKv>) -> DatastoreError {
    match current {
        None => DatastoreError::ModelDoesNotExist { key, cause: None },
        Some(current) => DatastoreError::ModelUpdateConflict {
            key,
            detail: Some(format!(
                "revision '{expected}' is out of date (latest: {})",
                current.mod_revision
            )),
        },
    }
}

/// The error of a refused model delete (as `delete_model` reports it).
fn model_delete_error(key: ModelKey, current: Option<&RawKv>) -> DatastoreError {
    match current {
        None => DatastoreError::ModelDoesNotExist { key, cause: None },
        Some(current) => DatastoreError::ModelUpdateConflict {
            key,
            detail: Some(format!("latest revision is {}", current.mod_revision)),
        },
    }
}

/// A model object deleted at `revision` (as `delete_model` returns it: a deleted value that
/// cannot be read is its parse error, the key being gone all the same).
fn deleted_model(key: ModelKey, previous: &RawKv, revision: i64) -> Result<ModelKv> {
    let mut deleted = decode_model(key, previous)?;
    deleted.revision = revision.to_string();
    Ok(deleted)
}

/// What a [`Read`] asks of the raw store: nothing (a built-in resource), or one raw read.
enum Planned {
    Builtin(AnyResource),
    Raw(RawRead),
}

fn plan_read(read: &Read) -> Planned {
    match read {
        Read::Resource(key) => match codec::builtin(key) {
            Some(builtin) => Planned::Builtin(builtin),
            None => Planned::Raw(RawRead::Key(key.default_path())),
        },
        Read::Resources(options) => Planned::Raw(RawRead::Prefix(options.path_prefix())),
        Read::Model(key) => Planned::Raw(RawRead::Key(key.default_path())),
        Read::Models(options) => Planned::Raw(RawRead::Prefix(options.path_prefix())),
    }
}

/// The raw form of a model write, checked and encoded as the single writes do.
fn raw_model_write(write: &ModelWrite) -> Result<RawWrite> {
    Ok(match write {
        ModelWrite::Create(key, value) => {
            let (key, value) = model_path_and_bytes(key, value)?;
            RawWrite::Create { key, value }
        }
        ModelWrite::Update(key, value, revision) => {
            let expected = parse_revision(revision)?;
            let (key, value) = model_path_and_bytes(key, value)?;
            RawWrite::Update {
                key,
                value,
                expected,
            }
        }
        ModelWrite::Delete(key, revision) => RawWrite::Delete {
            key: key.default_path(),
            expected: delete_guard(revision.as_deref())?,
        },
    })
}

/// The error the single write would give for `write` refused with its key as `current`.
fn refused_model_write(write: ModelWrite, current: Option<&RawKv>) -> Result<DatastoreError> {
    Ok(match write {
        ModelWrite::Create(key, _) => DatastoreError::ModelAlreadyExists { key, cause: None },
        ModelWrite::Update(key, _, revision) => {
            model_update_error(key, parse_revision(&revision)?, current)
        }
        ModelWrite::Delete(key, _) => model_delete_error(key, current),
    })
}

fn key_and_value(resource: &AnyResource) -> Result<(ResourceKey, Vec<u8>)> {
    let key = ResourceKey::of(resource);
    let value = codec::encode(resource)?;
    Ok((key, value))
}

/// The tiered policy kinds whose stored name may still carry the default tier's `default.`
/// prefix from before Calico 3.32, in Calico's order (`networkpolicy.PolicyKinds`).
const LEGACY_NAMED_POLICY_KINDS: [&str; 4] = [
    "NetworkPolicy",
    "GlobalNetworkPolicy",
    "StagedNetworkPolicy",
    "StagedGlobalNetworkPolicy",
];

#[async_trait]
impl<S: KvStore + 'static> Backend for KvBackend<S> {
    async fn create(&self, resource: AnyResource) -> Result<AnyResource> {
        let (key, value) = key_and_value(&resource)?;
        match self
            .store
            .create(&key.default_path(), value)
            .await
            .map_err(store_error)?
        {
            CreateOutcome::Created { revision } => Ok(codec::with_revision(resource, revision)),
            CreateOutcome::Exists(_) => Err(DatastoreError::already_exists(&key)),
        }
    }

    async fn update(&self, resource: AnyResource) -> Result<AnyResource> {
        let revision = parse_revision(&resource.metadata().resource_version)?;
        let (key, value) = key_and_value(&resource)?;
        match self
            .store
            .update(&key.default_path(), value, revision)
            .await
            .map_err(store_error)?
        {
            UpdateOutcome::Updated { revision } => Ok(codec::with_revision(resource, revision)),
            UpdateOutcome::Missing => Err(DatastoreError::does_not_exist(&key)),
            UpdateOutcome::Conflict(current) => Err(DatastoreError::UpdateConflict {
                detail: Some(format!(
                    "resource version '{revision}' is out of date (latest: {})",
                    current.mod_revision
                )),
                key,
            }),
        }
    }

    async fn apply(&self, resource: AnyResource) -> Result<AnyResource> {
        let (key, value) = key_and_value(&resource)?;
        let revision = self
            .store
            .put(&key.default_path(), value)
            .await
            .map_err(store_error)?;
        Ok(codec::with_revision(resource, revision))
    }

    async fn delete(&self, key: &ResourceKey, revision: Option<&str>) -> Result<AnyResource> {
        let expected = delete_guard(revision)?;
        match self
            .store
            .delete(&key.default_path(), expected)
            .await
            .map_err(store_error)?
        {
            DeleteOutcome::Deleted { previous, revision } => {
                let deleted = decode_kv(key, &previous)?;
                Ok(codec::with_revision(deleted, revision))
            }
            DeleteOutcome::Missing => Err(DatastoreError::does_not_exist(key)),
            DeleteOutcome::Conflict(current) => Err(DatastoreError::UpdateConflict {
                key: key.clone(),
                detail: Some(format!("latest revision is {}", current.mod_revision)),
            }),
        }
    }

    async fn get(&self, key: &ResourceKey, revision: Option<&str>) -> Result<AnyResource> {
        if let Some(builtin) = codec::builtin(key) {
            return Ok(builtin);
        }
        let at = optional_revision(revision)?;
        let kv = self
            .store
            .get(&key.default_path(), at)
            .await
            .map_err(store_error)?
            .ok_or_else(|| DatastoreError::does_not_exist(key))?;
        decode_kv(key, &kv)
    }

    async fn list(&self, options: &ListOptions, revision: Option<&str>) -> Result<ResourceList> {
        let at = optional_revision(revision)?;
        let range = self
            .store
            .range(&options.path_prefix(), at)
            .await
            .map_err(store_error)?;
        let revision = range.revision;
        let mut items = Vec::with_capacity(range.kvs.len());
        // Each stored value is dropped as soon as it is decoded, so a large list never holds
        // both forms of every item at once.
        for kv in range.kvs {
            if let Some(key) = options.key_from_path(&kv.key) {
                // A value we cannot read (corrupt, or not of the kind) is left out, as Calico's
                // client leaves it out: one bad entry must not hide the others.
                if let Ok(resource) = decode_kv(&key, &kv) {
                    items.push(resource);
                }
            }
        }
        items.extend(codec::builtins_for(options));
        Ok(ResourceList {
            items,
            revision: revision.to_string(),
        })
    }

    async fn legacy_policy_names(&self) -> Result<Vec<(ResourceKey, AnyResource)>> {
        let mut found = Vec::new();
        for kind in LEGACY_NAMED_POLICY_KINDS {
            let Some(kind) = KindRef::lookup(kind) else {
                continue;
            };
            let options = ListOptions::all(kind);
            let range = self
                .store
                .range(&options.path_prefix(), None)
                .await
                .map_err(store_error)?;
            for kv in range.kvs {
                let Some(key) = options.key_from_path(&kv.key) else {
                    continue;
                };
                let Ok(resource) = decode_kv(&key, &kv) else {
                    continue;
                };
                let default_tier = resource
                    .to_json_value()
                    .ok()
                    .and_then(|v| {
                        v.pointer("/spec/tier")
                            .and_then(|t| t.as_str().map(String::from))
                    })
                    .is_none_or(|tier| tier.is_empty() || tier == "default");
                if default_tier && resource.metadata().name != key.name {
                    found.push((key, resource));
                }
            }
        }
        Ok(found)
    }

    async fn list_pages(&self, options: &ListOptions, page_size: usize) -> Result<ResourcePages> {
        // The pages are read one after another on their own task (each starts after the last
        // key of the one before, all at the first page's revision), so the next page is on the
        // wire while earlier ones are decoded. The reads grow from `page_size` keys to
        // `MAX_READ_GROWTH` times that (etcd 3.4 walks its index over every key left in the
        // range for each limited read, so fewer reads cost it less) and are cut back into
        // pages of `page_size`, decoded on the runtime's workers two at a time and handed out in
        // order. At most a few reads are held at once.
        let (sender, raw_pages) = tokio::sync::mpsc::channel::<Result<RawPageAt>>(1);
        let store = self.store.clone();
        let prefix = options.path_prefix();
        let page_size = page_size.max(1);
        tokio::spawn(async move {
            let mut after: Option<(String, i64)> = None;
            let mut limit = page_size;
            loop {
                let (start_after, at) = match &after {
                    Some((key, revision)) => (Some(key.as_str()), Some(*revision)),
                    None => (None, None),
                };
                let page = store
                    .range_page(&prefix, start_after, at, limit)
                    .await
                    .map_err(store_error);
                let (next, item) = match page {
                    Ok(page) => {
                        let revision = at.unwrap_or(page.revision);
                        let next = match page.kvs.last() {
                            Some(last) if page.more => Some((last.key.clone(), revision)),
                            _ => None,
                        };
                        let last = next.is_none();
                        let item = RawPageAt {
                            kvs: page.kvs,
                            revision,
                            last,
                        };
                        (next, Ok(item))
                    }
                    Err(err) => (None, Err(err)),
                };
                if sender.send(item).await.is_err() {
                    break;
                }
                match next {
                    Some(next) => after = Some(next),
                    None => break,
                }
                limit = limit
                    .saturating_mul(2)
                    .min(page_size.saturating_mul(MAX_READ_GROWTH));
            }
        });
        let options = Arc::new(options.clone());
        let raw_pages = futures::stream::unfold(raw_pages, |mut receiver| async move {
            receiver.recv().await.map(|page| (page, receiver))
        })
        .flat_map(move |read| futures::stream::iter(split_read(read, page_size)));
        let pages = raw_pages
            .map(move |page| {
                let options = options.clone();
                async move {
                    let page = page?;
                    tokio::spawn(async move { decode_page(&options, page) })
                        .await
                        .map_err(|err| DatastoreError::Store(format!("decoding a page: {err}")))
                }
            })
            .buffered(2);
        Ok(Box::pin(pages))
    }

    async fn watch(&self, options: &ListOptions, revision: Option<&str>) -> Result<WatchStream> {
        let options = options.clone();
        // Like Calico: the listing leaves the built-ins out.
        self.watch_prefix(
            options.path_prefix(),
            revision,
            move |raw| convert_event(&options, raw),
            |revision| WatchEvent::InitDone { revision },
            WatchEvent::Error,
        )
        .await
    }

    async fn watch_model(
        &self,
        options: &ModelListOptions,
        revision: Option<&str>,
    ) -> Result<ModelWatchStream> {
        let options = options.clone();
        self.watch_prefix(
            options.path_prefix(),
            revision,
            move |raw| convert_model_event(&options, raw),
            |revision| ModelWatchEvent::InitDone { revision },
            ModelWatchEvent::Error,
        )
        .await
    }

    fn info(&self) -> DatastoreInfo {
        DatastoreInfo {
            datastore_type: self.store.datastore_type(),
            location: self.store.location(),
        }
    }

    async fn get_model(&self, key: &ModelKey) -> Result<ModelKv> {
        let kv = self
            .store
            .get(&key.default_path(), None)
            .await
            .map_err(store_error)?
            .ok_or_else(|| DatastoreError::ModelDoesNotExist {
                key: key.clone(),
                cause: None,
            })?;
        decode_model(key.clone(), &kv)
    }

    async fn create_model(&self, key: ModelKey, value: ModelValue) -> Result<ModelKv> {
        let (path, bytes) = model_path_and_bytes(&key, &value)?;
        match self.store.create(&path, bytes).await.map_err(store_error)? {
            CreateOutcome::Created { revision } => Ok(ModelKv {
                key,
                value,
                revision: revision.to_string(),
                uid: None,
            }),
            CreateOutcome::Exists(_) => {
                Err(DatastoreError::ModelAlreadyExists { key, cause: None })
            }
        }
    }

    async fn update_model(
        &self,
        key: ModelKey,
        value: ModelValue,
        revision: &str,
    ) -> Result<ModelKv> {
        let expected = parse_revision(revision)?;
        let (path, bytes) = model_path_and_bytes(&key, &value)?;
        match self
            .store
            .update(&path, bytes, expected)
            .await
            .map_err(store_error)?
        {
            UpdateOutcome::Updated { revision } => Ok(ModelKv {
                key,
                value,
                revision: revision.to_string(),
                uid: None,
            }),
            UpdateOutcome::Missing => Err(model_update_error(key, expected, None)),
            UpdateOutcome::Conflict(current) => {
                Err(model_update_error(key, expected, Some(&current)))
            }
        }
    }

    async fn apply_model(&self, key: ModelKey, value: ModelValue) -> Result<ModelKv> {
        let (path, bytes) = model_path_and_bytes(&key, &value)?;
        let revision = self.store.put(&path, bytes).await.map_err(store_error)?;
        Ok(ModelKv {
            key,
            value,
            revision: revision.to_string(),
            uid: None,
        })
    }

    async fn delete_model(&self, key: &ModelKey, revision: Option<&str>) -> Result<ModelKv> {
        let expected = delete_guard(revision)?;
        match self
            .store
            .delete(&key.default_path(), expected)
            .await
            .map_err(store_error)?
        {
            // As in Calico, a deleted value that cannot be read is reported as its parse error
            // (the key is gone all the same).
            DeleteOutcome::Deleted { previous, revision } => {
                deleted_model(key.clone(), &previous, revision)
            }
            DeleteOutcome::Missing => Err(model_delete_error(key.clone(), None)),
            DeleteOutcome::Conflict(current) => {
                Err(model_delete_error(key.clone(), Some(&current)))
            }
        }
    }

    async fn list_model(&self, options: &ModelListOptions) -> Result<ModelList> {
        let range = self
            .store
            .range(&options.path_prefix(), None)
            .await
            .map_err(store_error)?;
        Ok(decode_model_page(options, &range.kvs, range.revision))
    }

    async fn list_model_pages(
        &self,
        options: &ModelListOptions,
        page_size: usize,
    ) -> Result<ModelPages> {
        // One limited read after another, each starting after the last key of the one before
        // and all at the first read's revision; a page is decoded as it arrives.
        struct State<S> {
            store: Arc<S>,
            options: ModelListOptions,
            prefix: String,
            after: Option<String>,
            revision: Option<i64>,
            done: bool,
        }
        let state = State {
            store: self.store.clone(),
            prefix: options.path_prefix(),
            options: options.clone(),
            after: None,
            revision: None,
            done: false,
        };
        let page_size = page_size.max(1);
        let pages = futures::stream::unfold(state, move |mut state| async move {
            if state.done {
                return None;
            }
            let read = state
                .store
                .range_page(
                    &state.prefix,
                    state.after.as_deref(),
                    state.revision,
                    page_size,
                )
                .await
                .map_err(store_error);
            let page = match read {
                Ok(page) => page,
                Err(err) => {
                    state.done = true;
                    return Some((Err(err), state));
                }
            };
            let revision = *state.revision.get_or_insert(page.revision);
            match page.kvs.last() {
                Some(last) if page.more => state.after = Some(last.key.clone()),
                _ => state.done = true,
            }
            let list = decode_model_page(&state.options, &page.kvs, revision);
            Some((Ok(list), state))
        });
        Ok(Box::pin(pages))
    }

    fn batched_reads(&self) -> bool {
        true
    }

    /// One [`KvStore::read_many`]: every read at one revision (a prefix with more keys than
    /// the store reads at once continues in pages at that revision), decoded as the single
    /// reads decode.
    async fn read_batch(&self, reads: Vec<Read>) -> Result<Vec<ReadResult>> {
        let planned: Vec<Planned> = reads.iter().map(plan_read).collect();
        let raw_reads: Vec<RawRead> = planned
            .iter()
            .filter_map(|plan| match plan {
                Planned::Raw(read) => Some(read.clone()),
                Planned::Builtin(_) => None,
            })
            .collect();
        let raw = if raw_reads.is_empty() {
            crate::kv::RawReads {
                results: Vec::new(),
                revision: 0,
            }
        } else {
            self.store
                .read_many(&raw_reads)
                .await
                .map_err(store_error)?
        };
        let revision = raw.revision;
        let mut answers = raw.results.into_iter();
        let mut results = Vec::with_capacity(reads.len());
        for (read, plan) in reads.into_iter().zip(planned) {
            let raw = match plan {
                Planned::Builtin(builtin) => {
                    results.push(ReadResult::Resource(Some(builtin)));
                    continue;
                }
                Planned::Raw(raw) => raw,
            };
            let answer = answers
                .next()
                .ok_or_else(|| DatastoreError::Store("the store gave too few answers".into()))?;
            let result = match (read, answer) {
                (Read::Resource(key), RawReadResult::Key(kv)) => {
                    ReadResult::Resource(kv.map(|kv| decode_kv(&key, &kv)).transpose()?)
                }
                (Read::Model(key), RawReadResult::Key(kv)) => {
                    ReadResult::Model(kv.map(|kv| decode_model(key, &kv)).transpose()?)
                }
                (Read::Resources(options), RawReadResult::Prefix(page)) => {
                    let kvs = self.rest_of_prefix(&raw, page, revision).await?;
                    let page = RawPageAt {
                        kvs,
                        revision,
                        last: true,
                    };
                    ReadResult::Resources(decode_page(&options, page))
                }
                (Read::Models(options), RawReadResult::Prefix(page)) => {
                    let kvs = self.rest_of_prefix(&raw, page, revision).await?;
                    ReadResult::Models(decode_model_page(&options, &kvs, revision))
                }
                _ => {
                    return Err(DatastoreError::Store(
                        "the store answered another read".into(),
                    ))
                }
            };
            results.push(result);
        }
        Ok(results)
    }

    fn atomic_model_writes(&self) -> bool {
        self.store.atomic_writes()
    }

    /// One [`KvStore::write_many`].
    async fn write_models(&self, writes: Vec<ModelWrite>) -> Result<Vec<ModelKv>> {
        if !self.store.atomic_writes() {
            return Err(DatastoreError::OperationNotSupported {
                operation: "Transaction".to_string(),
                identifier: self.store.datastore_type().to_string(),
                reason: Some(crate::backend::ATOMIC_WRITES_NOT_SUPPORTED.to_string()),
            });
        }
        let raw = writes
            .iter()
            .map(raw_model_write)
            .collect::<Result<Vec<_>>>()?;
        let mut paths = std::collections::HashSet::with_capacity(raw.len());
        if let Some(twice) = writes
            .iter()
            .zip(&raw)
            .find(|(_, write)| !paths.insert(write.key()))
        {
            return Err(DatastoreError::Validation(
                calico_api::ValidationError::single(
                    "Key",
                    Some(twice.0.key().to_string()),
                    "written twice in one transaction",
                ),
            ));
        }
        if raw.is_empty() {
            return Ok(Vec::new());
        }
        match self.store.write_many(raw).await.map_err(store_error)? {
            WriteManyOutcome::Written(written) => {
                if written.len() != writes.len() {
                    return Err(DatastoreError::Store(
                        "the store answered another number of writes".into(),
                    ));
                }
                writes
                    .into_iter()
                    .zip(written)
                    .map(|(write, done)| match (write, done) {
                        (
                            ModelWrite::Create(key, value) | ModelWrite::Update(key, value, _),
                            RawWritten::Put { revision },
                        ) => Ok(ModelKv {
                            key,
                            value,
                            revision: revision.to_string(),
                            uid: None,
                        }),
                        (
                            ModelWrite::Delete(key, _),
                            RawWritten::Deleted { previous, revision },
                        ) => deleted_model(key, &previous, revision),
                        _ => Err(DatastoreError::Store(
                            "the store answered another write".into(),
                        )),
                    })
                    .collect()
            }
            WriteManyOutcome::Refused { index, current } => {
                let write = writes.into_iter().nth(index).ok_or_else(|| {
                    DatastoreError::Store(format!("the store refused an unknown write {index}"))
                })?;
                Err(refused_model_write(write, current.as_ref())?)
            }
        }
    }
}

impl<S: KvStore + 'static> KvBackend<S> {
    /// The watch of `prefix` behind [`Backend::watch`] and [`Backend::watch_model`]: without a
    /// revision, the keys listed now (each as a creation through `convert`, which passes over
    /// keys of another kind), then `init_done` with the listing's revision; then the changes
    /// after it (or after `revision`), each through `convert`. A raw error is reported
    /// through `error` and ends the stream (a compaction as [`DatastoreError::Compacted`]);
    /// the stream also ends when the store's watch does. It never lists again and never
    /// reopens.
    async fn watch_prefix<E, C>(
        &self,
        prefix: String,
        revision: Option<&str>,
        convert: C,
        init_done: fn(String) -> E,
        error: fn(DatastoreError) -> E,
    ) -> Result<std::pin::Pin<Box<dyn futures::Stream<Item = E> + Send>>>
    where
        E: Send + 'static,
        C: Fn(RawEvent) -> Option<E> + Send + 'static,
    {
        let (listed, start) = match optional_revision(revision)? {
            Some(start) => (Vec::new(), start),
            None => {
                let range = self.store.range(&prefix, None).await.map_err(store_error)?;
                let mut listed: Vec<E> = range
                    .kvs
                    .into_iter()
                    .filter_map(|kv| convert(RawEvent::Put { kv, previous: None }))
                    .collect();
                listed.push(init_done(range.revision.to_string()));
                (listed, range.revision)
            }
        };
        let raw = self
            .store
            .watch(&prefix, start)
            .await
            .map_err(store_error)?;
        let changes = raw
            .scan(false, |ended, item| {
                // A raw error ends the watch after it has been reported.
                if *ended {
                    return futures::future::ready(None);
                }
                *ended = item.is_err();
                futures::future::ready(Some(item))
            })
            .filter_map(move |item| {
                let event = match item {
                    Err(err) => Some(error(store_error(err))),
                    Ok(raw) => convert(raw),
                };
                futures::future::ready(event)
            });
        Ok(futures::stream::iter(listed).chain(changes).boxed())
    }

    /// The keys of a prefix read, with the pages after its first read at `revision`.
    async fn rest_of_prefix(
        &self,
        read: &RawRead,
        first: crate::kv::RawPage,
        revision: i64,
    ) -> Result<Vec<RawKv>> {
        let RawRead::Prefix(prefix) = read else {
            return Ok(first.kvs);
        };
        // The store's own page size: what it gave at once.
        let limit = first.kvs.len().max(1);
        crate::kv::rest_of_range(self.store.as_ref(), prefix, first, revision, limit)
            .await
            .map_err(store_error)
    }
}

fn convert_event(options: &ListOptions, raw: RawEvent) -> Option<WatchEvent> {
    match raw {
        RawEvent::Put { kv, previous } => {
            let key = options.key_from_path(&kv.key)?;
            let current = match decode_kv(&key, &kv) {
                Ok(current) => current,
                Err(err) => return Some(WatchEvent::Error(err)),
            };
            match previous {
                None => Some(WatchEvent::Added(current)),
                Some(previous) => Some(WatchEvent::Modified {
                    previous: decode_kv(&key, &previous).ok(),
                    current,
                }),
            }
        }
        RawEvent::Delete {
            key: path,
            revision,
            previous,
        } => {
            let key = options.key_from_path(&path)?;
            let previous = previous?;
            Some(match decode_kv(&key, &previous) {
                Ok(old) => WatchEvent::Deleted(codec::with_revision(old, revision)),
                Err(err) => WatchEvent::Error(err),
            })
        }
    }
}

fn convert_model_event(options: &ModelListOptions, raw: RawEvent) -> Option<ModelWatchEvent> {
    match raw {
        RawEvent::Put { kv, previous } => {
            let key = options.key_from_path(&kv.key)?;
            Some(match (decode_model(key, &kv), previous) {
                (Ok(current), None) => ModelWatchEvent::Added(current),
                (Ok(current), Some(_)) => ModelWatchEvent::Modified(current),
                (Err(err), _) => ModelWatchEvent::Error(err),
            })
        }
        RawEvent::Delete {
            key: path,
            revision,
            previous,
        } => {
            let key = options.key_from_path(&path)?;
            let previous = previous?;
            Some(match deleted_model(key, &previous, revision) {
                Ok(deleted) => ModelWatchEvent::Deleted(deleted),
                Err(err) => ModelWatchEvent::Error(err),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(keys: usize, last: bool) -> Result<RawPageAt> {
        let kvs = (0..keys)
            .map(|i| RawKv {
                key: format!("/k/{i:03}"),
                value: Vec::new(),
                create_revision: 1,
                mod_revision: 1,
            })
            .collect();
        Ok(RawPageAt {
            kvs,
            revision: 7,
            last,
        })
    }

    fn shape(pages: &[Result<RawPageAt>]) -> Vec<(usize, bool, Option<String>)> {
        pages
            .iter()
            .map(|page| match page {
                Ok(page) => (
                    page.kvs.len(),
                    page.last,
                    page.kvs.first().map(|kv| kv.key.clone()),
                ),
                Err(_) => (0, false, None),
            })
            .collect()
    }

    #[test]
    fn a_large_read_is_cut_into_pages_in_order_and_only_the_end_stays_last() {
        let pages = split_read(read(25, true), 10);
        assert_eq!(
            shape(&pages),
            vec![
                (10, false, Some("/k/000".into())),
                (10, false, Some("/k/010".into())),
                (5, true, Some("/k/020".into())),
            ]
        );
        assert!(pages
            .iter()
            .all(|page| matches!(page, Ok(page) if page.revision == 7)));
        let pages = split_read(read(20, false), 10);
        assert_eq!(
            shape(&pages),
            vec![
                (10, false, Some("/k/000".into())),
                (10, false, Some("/k/010".into())),
            ]
        );
    }

    #[test]
    fn small_reads_and_errors_pass_through() {
        assert_eq!(
            shape(&split_read(read(10, true), 10)),
            vec![(10, true, Some("/k/000".into()))]
        );
        assert_eq!(shape(&split_read(read(0, true), 10)), vec![(0, true, None)]);
        let failed = split_read(Err(DatastoreError::Store("down".into())), 10);
        assert!(matches!(failed.as_slice(), [Err(_)]));
    }
}
