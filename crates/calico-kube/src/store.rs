//! The per-kind storage trait: [`crate::backend::KubeBackend`] keeps one [`KindStore`] for each
//! Calico kind it serves and dispatches every backend call to it.

use async_trait::async_trait;
use calico_api::AnyResource;
use calico_datastore::{
    DatastoreError, ListOptions, ResourceKey, ResourceList, ResourcePages, Result, WatchEvent,
    WatchStream,
};
use futures::StreamExt;

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

    /// Watches, holding to [`WatchStream`]'s contract: from `revision`, the changes after it;
    /// without one (or with `""`/`"0"`), first every current object as `Added` and one
    /// `InitDone` with the listing's revision ([`listing_first`]). Kubernetes bookmarks are
    /// `Bookmark`s; a watch the server closes ends the stream, and nothing is reopened.
    async fn watch(&self, options: &ListOptions, revision: Option<&str>) -> Result<WatchStream>;
}

/// The revision a watch starts from: `None` when there is none (absent, `""` or `"0"`), when
/// the watch lists first.
pub fn watch_start(revision: Option<&str>) -> Option<&str> {
    revision.filter(|r| !r.is_empty() && *r != "0")
}

/// A watch without a revision: `list` (the current objects, read by the caller) reported as
/// `Added`, then `InitDone` with the list's revision, then `store`'s watch from it.
pub async fn listing_first<S: KindStore + ?Sized>(
    store: &S,
    options: &ListOptions,
    list: ResourceList,
) -> Result<WatchStream> {
    if watch_start(Some(&list.revision)).is_none() {
        return Err(DatastoreError::Store(format!(
            "cannot watch {}: its list gave no revision to watch from",
            options.kind.kind()
        )));
    }
    let changes = store.watch(options, Some(&list.revision)).await?;
    let listed = list
        .items
        .into_iter()
        .map(WatchEvent::Added)
        .chain(std::iter::once(WatchEvent::InitDone {
            revision: list.revision,
        }));
    Ok(Box::pin(futures::stream::iter(listed).chain(changes)))
}
