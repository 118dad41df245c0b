//! The per-kind storage trait: [`crate::backend::KubeBackend`] keeps one [`KindStore`] for each
//! Calico kind it serves and dispatches every backend call to it.

use async_trait::async_trait;
use calico_api::AnyResource;
use calico_datastore::{
    ListOptions, ResourceKey, ResourceList, ResourcePages, Result, WatchStream,
};

/// How one Calico kind is stored in Kubernetes.
#[async_trait]
pub trait KindStore: Send + Sync {
    /// Stores a new object; `AlreadyExists` when the name is taken, `OperationNotSupported` for
    /// read-only kinds.
    async fn create(&self, resource: AnyResource) -> Result<AnyResource>;

    /// Replaces an object (PUT with its `resourceVersion`; 409 becomes `UpdateConflict`).
    async fn update(&self, resource: AnyResource) -> Result<AnyResource>;

    /// Deletes an object, with a UID precondition when `uid` is given (Calico's KDD never uses
    /// the resourceVersion as a delete precondition), and returns it as it was.
    async fn delete(&self, key: &ResourceKey, uid: Option<&str>) -> Result<AnyResource>;

    /// Reads one object (always the latest: Kubernetes gets ignore revisions).
    async fn get(&self, key: &ResourceKey) -> Result<AnyResource>;

    /// Lists objects, paged, at `revision` (resourceVersionMatch=NotOlderThan) when given.
    async fn list(&self, options: &ListOptions, revision: Option<&str>) -> Result<ResourceList>;

    /// Lists page by page, every page at the first page's revision; stores that read
    /// everything at once deliver one page.
    async fn list_pages(&self, options: &ListOptions, _page_size: usize) -> Result<ResourcePages> {
        let list = self.list(options, None).await?;
        Ok(Box::pin(futures::stream::iter([Ok(list)])))
    }

    /// Watches from `revision`; without one, starts with the current objects as `Added`.
    async fn watch(&self, options: &ListOptions, revision: Option<&str>) -> Result<WatchStream>;
}
