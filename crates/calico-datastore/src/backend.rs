//! The backend trait every driver implements: typed resources keyed by [`ResourceKey`], with
//! etcd-style revisions in `metadata.resourceVersion`.
//!
//! Revisions are opaque strings to callers (Kubernetes resource versions are), but each driver
//! guarantees: a write returns the object with its new revision; an update or a delete given a
//! revision succeeds only while that revision is current; a list says which revision it was read
//! at; a watch from revision R reports every change after R, in order.

use std::pin::Pin;

use async_trait::async_trait;
use calico_api::model::{ModelKey, ModelListOptions, ModelValue};
use calico_api::AnyResource;
use futures::Stream;

use crate::error::{DatastoreError, Result};
use crate::key::{ListOptions, ResourceKey};

/// The resources of a list and the revision the list was read at.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceList {
    pub items: Vec<AnyResource>,
    pub revision: String,
}

/// One change seen by a watch.
#[derive(Clone, Debug, PartialEq)]
pub enum WatchEvent {
    Added(AnyResource),
    /// `previous` is known to etcd-like stores, not to Kubernetes.
    Modified {
        previous: Option<AnyResource>,
        current: AnyResource,
    },
    /// The object as it was before deletion; its resourceVersion is the deletion's revision.
    Deleted(AnyResource),
    /// A watch started without a revision has reported every resource that existed when it
    /// started (as `Added`); what follows are the changes after `revision` (kube-runtime's
    /// `InitDone`).
    InitDone {
        revision: String,
    },
    /// Progress without a change: the watch has seen everything up to `revision` (Kubernetes
    /// bookmarks, etcd progress notifications). A consumer that resumes from `revision` misses
    /// nothing.
    Bookmark {
        revision: String,
    },
    /// A problem. After a [`DatastoreError::Compacted`] error the stream ends.
    Error(DatastoreError),
}

/// One change to IPAM model objects seen by [`Backend::watch_model`], with the same contract as
/// [`WatchEvent`].
#[derive(Clone, Debug, PartialEq)]
pub enum ModelWatchEvent {
    Added(ModelKv),
    Modified(ModelKv),
    /// The object as it was before deletion, with the deletion's revision.
    Deleted(ModelKv),
    InitDone {
        revision: String,
    },
    Bookmark {
        revision: String,
    },
    Error(DatastoreError),
}

/// A list delivered page by page, every page read at the same revision (the first page's).
pub type ResourcePages = Pin<Box<dyn Stream<Item = Result<ResourceList>> + Send>>;

/// IPAM model objects page by page (see [`Backend::list_model_pages`]).
pub type ModelPages = Pin<Box<dyn Stream<Item = Result<ModelList>> + Send>>;

/// A stream of watch events.
///
/// The contract every driver holds to (checked by the conformance suite): events come in
/// revision order; a watch never re-lists and never reopens by itself; the stream ends when the
/// watch can go no further — right after an `Error(Compacted)` when the revision asked for (or
/// reached) is no longer kept, after an `Error` for a lost connection, or without an error when
/// the server closed the watch normally. A consumer resumes from the last revision it saw (an
/// event's resourceVersion, an `InitDone` or a `Bookmark`), as the syncer does.
pub type WatchStream = Pin<Box<dyn Stream<Item = WatchEvent> + Send>>;

/// A stream of IPAM model watch events, with [`WatchStream`]'s contract.
pub type ModelWatchStream = Pin<Box<dyn Stream<Item = ModelWatchEvent> + Send>>;

/// What a driver says about itself (for `calicoctl version` and diagnostics).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatastoreInfo {
    /// `etcdv3`, `kubernetes` or `embedded`.
    pub datastore_type: &'static str,
    /// Where: endpoints, API server URL, or the embedded file's path.
    pub location: String,
}

/// One stored IPAM model object (libcalico-go's `KVPair`): its key, value and the revision it
/// was read or written at.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelKv {
    pub key: ModelKey,
    pub value: ModelValue,
    pub revision: String,
    /// The object's UID where the datastore has one (Kubernetes); `None` in etcd, as in
    /// Calico's `KVPair`.
    pub uid: Option<String>,
}

/// IPAM model objects of one kind and the revision the list was read at.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelList {
    pub items: Vec<ModelKv>,
    pub revision: String,
    /// Keys of the kind listed whose values could not be read (each a
    /// [`DatastoreError::ParsingEntry`] naming its key); Calico's client skips them, and so do
    /// `items`, but `ipam check` reports them.
    pub unreadable: Vec<DatastoreError>,
}

/// One read of a [`Backend::read_batch`].
#[derive(Clone, Debug, PartialEq)]
pub enum Read {
    /// One resource, as [`Backend::get`] reads it (latest revision).
    Resource(ResourceKey),
    /// Resources, as [`Backend::list`] lists them (latest revision).
    Resources(ListOptions),
    /// One IPAM model object, as [`Backend::get_model`] reads it.
    Model(ModelKey),
    /// IPAM model objects of one kind, as [`Backend::list_model`] lists them.
    Models(ModelListOptions),
}

/// What one [`Read`] found, in the same variant.
// A batch holds a handful of answers; boxing the model object would only make them clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum ReadResult {
    /// The resource, or `None` when it does not exist.
    Resource(Option<AnyResource>),
    Resources(ResourceList),
    /// The object, or `None` when it does not exist.
    Model(Option<ModelKv>),
    Models(ModelList),
}

/// One write of a [`Backend::write_models`].
#[derive(Clone, Debug, PartialEq)]
pub enum ModelWrite {
    /// As [`Backend::create_model`]: only if the key is free.
    Create(ModelKey, ModelValue),
    /// As [`Backend::update_model`]: only while the revision (the third field) is current.
    Update(ModelKey, ModelValue, String),
    /// As [`Backend::delete_model`]: only while the revision is current, when one is given.
    Delete(ModelKey, Option<String>),
}

impl ModelWrite {
    /// The key written.
    pub fn key(&self) -> &ModelKey {
        match self {
            ModelWrite::Create(key, _)
            | ModelWrite::Update(key, _, _)
            | ModelWrite::Delete(key, _) => key,
        }
    }
}

/// A Calico datastore driver.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Stores a new resource; fails with `AlreadyExists` if the key is taken.
    async fn create(&self, resource: AnyResource) -> Result<AnyResource>;

    /// Replaces a resource. `metadata.resourceVersion` is required and must be current, else
    /// `UpdateConflict`; a missing resource is `DoesNotExist`.
    async fn update(&self, resource: AnyResource) -> Result<AnyResource>;

    /// Creates or replaces, ignoring any revision.
    async fn apply(&self, resource: AnyResource) -> Result<AnyResource>;

    /// Deletes and returns the deleted resource; with a revision, only while it is current.
    async fn delete(&self, key: &ResourceKey, revision: Option<&str>) -> Result<AnyResource>;

    /// Reads one resource, at a past revision if one is given (where the driver can).
    async fn get(&self, key: &ResourceKey, revision: Option<&str>) -> Result<AnyResource>;

    /// Lists resources, at a past revision if one is given (where the driver can).
    async fn list(&self, options: &ListOptions, revision: Option<&str>) -> Result<ResourceList>;

    /// Lists resources in pages of about `page_size`, all read at one revision, so a caller can
    /// handle a large list without holding all of it. Drivers that cannot page deliver one page.
    async fn list_pages(&self, options: &ListOptions, _page_size: usize) -> Result<ResourcePages> {
        let list = self.list(options, None).await?;
        Ok(Box::pin(futures::stream::iter([Ok(list)])))
    }

    /// Watches for changes after `revision`; without one, first reports every current resource
    /// as `Added` and then the changes after that listing.
    async fn watch(&self, options: &ListOptions, revision: Option<&str>) -> Result<WatchStream>;

    /// Which datastore this is.
    fn info(&self) -> DatastoreInfo;

    /// Policies stored under a name other than their v3 name: default-tier policies written
    /// before Calico 3.32 (`default.<name>`, what `calicoctl datastore migrate-policy-names`
    /// rewrites). Each comes with the key it is stored under, in Calico's kind order
    /// (NetworkPolicy, GlobalNetworkPolicy, StagedNetworkPolicy, StagedGlobalNetworkPolicy).
    /// Drivers whose stored names are the v3 names report none.
    async fn legacy_policy_names(&self) -> Result<Vec<(ResourceKey, AnyResource)>> {
        Ok(Vec::new())
    }

    // IPAM model objects (blocks, block affinities, handles, the IPAM config), stored as
    // Calico's IPAM stores them (etcd paths, or Calico's IPAM custom resources on Kubernetes).
    // The defaults refuse with `OperationNotSupported`, for drivers that do not store them.

    /// Reads one IPAM object; a missing one is `ModelDoesNotExist`.
    async fn get_model(&self, key: &ModelKey) -> Result<ModelKv> {
        Err(DatastoreError::model_not_supported("Get", key))
    }

    /// Stores a new IPAM object; fails with `ModelAlreadyExists` if the key is taken.
    async fn create_model(&self, key: ModelKey, value: ModelValue) -> Result<ModelKv> {
        let _ = value;
        Err(DatastoreError::model_not_supported("Create", &key))
    }

    /// Replaces an IPAM object only while `revision` is its current revision, else
    /// `ModelUpdateConflict`; a missing object is `ModelDoesNotExist`.
    async fn update_model(
        &self,
        key: ModelKey,
        value: ModelValue,
        revision: &str,
    ) -> Result<ModelKv> {
        let _ = (value, revision);
        Err(DatastoreError::model_not_supported("Update", &key))
    }

    /// Creates or replaces an IPAM object, ignoring revisions (Calico's `Apply`, which its
    /// `SetIPAMConfig` uses).
    async fn apply_model(&self, key: ModelKey, value: ModelValue) -> Result<ModelKv> {
        let _ = value;
        Err(DatastoreError::model_not_supported("Apply", &key))
    }

    /// Deletes an IPAM object, only while `revision` is current when one is given; returns the
    /// deleted object with the deletion's revision.
    async fn delete_model(&self, key: &ModelKey, revision: Option<&str>) -> Result<ModelKv> {
        let _ = revision;
        Err(DatastoreError::model_not_supported("Delete", key))
    }

    /// Lists IPAM objects of one kind, in key order.
    async fn list_model(&self, options: &ModelListOptions) -> Result<ModelList> {
        Err(DatastoreError::OperationNotSupported {
            operation: "List".to_string(),
            identifier: format!("{:?}", options.kind()),
            reason: Some(crate::error::MODEL_NOT_SUPPORTED.to_string()),
        })
    }

    /// Watches IPAM objects of one kind for changes after `revision`; without one, first
    /// reports every current object as `Added`, then `InitDone`. Drivers that cannot watch
    /// them refuse with `OperationNotSupported`, and the syncer polls instead, as Calico's does.
    async fn watch_model(
        &self,
        options: &ModelListOptions,
        revision: Option<&str>,
    ) -> Result<ModelWatchStream> {
        let _ = revision;
        Err(DatastoreError::OperationNotSupported {
            operation: "Watch".to_string(),
            identifier: format!("{:?}", options.kind()),
            reason: Some(crate::error::MODEL_NOT_SUPPORTED.to_string()),
        })
    }

    /// Lists IPAM objects of one kind in pages of about `page_size`, in key order, all read at
    /// one revision, so a caller can go over many blocks without holding them all. Drivers
    /// that cannot page deliver one page.
    async fn list_model_pages(
        &self,
        options: &ModelListOptions,
        _page_size: usize,
    ) -> Result<ModelPages> {
        let list = self.list_model(options).await?;
        Ok(Box::pin(futures::stream::once(async move { Ok(list) })))
    }

    /// Reads several resources, lists, IPAM objects and IPAM lists, in order, decoded exactly
    /// as [`Backend::get`], [`Backend::list`], [`Backend::get_model`] and
    /// [`Backend::list_model`] decode them; something missing is `None`, not an error (a
    /// value that cannot be read fails the batch with the error the single read gives).
    /// Drivers with [`Backend::batched_reads`] read everything at one revision in one round
    /// trip (etcd: one transaction of range reads); the default reads one by one (concurrently).
    async fn read_batch(&self, reads: Vec<Read>) -> Result<Vec<ReadResult>> {
        let each = reads.into_iter().map(|read| async move {
            Ok(match read {
                Read::Resource(key) => ReadResult::Resource(found(self.get(&key, None).await)?),
                Read::Resources(options) => ReadResult::Resources(self.list(&options, None).await?),
                Read::Model(key) => ReadResult::Model(found(self.get_model(&key).await)?),
                Read::Models(options) => ReadResult::Models(self.list_model(&options).await?),
            })
        });
        futures::future::try_join_all(each).await
    }

    /// Whether [`Backend::read_batch`] reads a batch in one round trip, at one revision.
    fn batched_reads(&self) -> bool {
        false
    }

    /// Whether [`Backend::write_models`] is supported.
    fn atomic_model_writes(&self) -> bool {
        false
    }

    /// Writes several IPAM objects (distinct keys) in one transaction, all or nothing, each
    /// with its compare-and-swap; values are checked and encoded as the single writes do. On
    /// success, the objects as [`Backend::create_model`], [`Backend::update_model`] and
    /// [`Backend::delete_model`] return them, in order. If any compare fails nothing is
    /// written, and the error is the one the single write would give for the first write
    /// whose compare failed. Refused with `OperationNotSupported` unless
    /// [`Backend::atomic_model_writes`].
    async fn write_models(&self, writes: Vec<ModelWrite>) -> Result<Vec<ModelKv>> {
        Err(DatastoreError::OperationNotSupported {
            operation: "Transaction".to_string(),
            identifier: writes
                .iter()
                .map(|write| write.key().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            reason: Some(ATOMIC_WRITES_NOT_SUPPORTED.to_string()),
        })
    }
}

/// A single read's answer as a batch gives it: not found is `None`.
fn found<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(found) => Ok(Some(found)),
        Err(err) if err.is_not_found() => Ok(None),
        Err(err) => Err(err),
    }
}

/// Why a driver refuses [`Backend::write_models`].
pub const ATOMIC_WRITES_NOT_SUPPORTED: &str =
    "this datastore cannot write several IPAM objects in one transaction";
