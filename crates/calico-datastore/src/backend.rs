//! The backend trait every driver implements: typed resources keyed by [`ResourceKey`], with
//! etcd-style revisions in `metadata.resourceVersion`.
//!
//! Revisions are opaque strings to callers (Kubernetes resource versions are), but each driver
//! guarantees: a write returns the object with its new revision; an update or a delete given a
//! revision succeeds only while that revision is current; a list says which revision it was read
//! at; a watch from revision R reports every change after R, in order.

use std::pin::Pin;

use async_trait::async_trait;
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
}
