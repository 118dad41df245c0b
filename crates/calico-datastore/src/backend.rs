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
    /// A problem. After a [`DatastoreError::Compacted`] error the stream ends.
    Error(DatastoreError),
}

/// A list delivered page by page, every page read at the same revision (the first page's).
pub type ResourcePages = Pin<Box<dyn Stream<Item = Result<ResourceList>> + Send>>;

/// IPAM model objects page by page (see [`Backend::list_model_pages`]).
pub type ModelPages = Pin<Box<dyn Stream<Item = Result<ModelList>> + Send>>;

/// A stream of watch events; it ends when the watch can go no further.
pub type WatchStream = Pin<Box<dyn Stream<Item = WatchEvent> + Send>>;

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
}
