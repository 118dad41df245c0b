//! One resource type's view of the datastore: list everything, or watch from a revision, in
//! the syncer's terms ([`SourceKv`]), whichever of the backend's two families (v3 resources or
//! IPAM model objects) the type follows.

use std::pin::Pin;
use std::sync::Arc;

use calico_datastore::{
    Backend, DatastoreError, ModelKv, ModelWatchEvent, ResourceKey, WatchEvent,
};
use futures::{Stream, StreamExt};

use crate::resource_type::Source;
use crate::types::{SourceKey, SourceKv, SourceValue};

/// A page of a listing: what exists, what could not be read, and the revision it was read at.
pub(crate) struct Listing {
    pub items: Vec<SourceKv>,
    pub unreadable: Vec<DatastoreError>,
    pub revision: String,
}

/// One watch event, in the syncer's terms.
pub(crate) enum SourceEvent {
    /// Created or changed.
    Put(SourceKv),
    /// Deleted (`value` `None`), at the deletion's revision.
    Delete(SourceKv),
    /// No change, but everything up to this revision has been seen.
    Progress(String),
    Error(DatastoreError),
}

pub(crate) type SourceEvents = Pin<Box<dyn Stream<Item = SourceEvent> + Send>>;

/// Objects listed per page: a listing is handled page by page, so a resync never holds more
/// than a few pages of values (the datastore reads the next page while one is processed).
const PAGE_SIZE: usize = 1000;

/// A listing's pages, all read at one revision (each page says which).
pub(crate) type Pages = Pin<Box<dyn Stream<Item = Result<Listing, DatastoreError>> + Send>>;

pub(crate) async fn list(
    backend: &Arc<dyn Backend>,
    source: &Source,
) -> Result<Pages, DatastoreError> {
    match source {
        Source::Resources(options) => {
            let pages = backend.list_pages(options, PAGE_SIZE).await?;
            Ok(Box::pin(pages.map(|page| {
                page.map(|list| Listing {
                    items: list.items.into_iter().map(resource_kv).collect(),
                    unreadable: Vec::new(),
                    revision: list.revision,
                })
            })))
        }
        Source::Models(options) => {
            let pages = backend.list_model_pages(options, PAGE_SIZE).await?;
            Ok(Box::pin(pages.map(|page| {
                page.map(|list| Listing {
                    items: list.items.into_iter().map(model_kv).collect(),
                    unreadable: list.unreadable,
                    revision: list.revision,
                })
            })))
        }
    }
}

pub(crate) async fn watch(
    backend: &Arc<dyn Backend>,
    source: &Source,
    revision: &str,
) -> Result<SourceEvents, DatastoreError> {
    match source {
        Source::Resources(options) => {
            let stream = backend.watch(options, Some(revision)).await?;
            Ok(Box::pin(stream.map(|event| match event {
                WatchEvent::Added(resource) => SourceEvent::Put(resource_kv(resource)),
                WatchEvent::Modified { current, .. } => SourceEvent::Put(resource_kv(current)),
                WatchEvent::Deleted(resource) => {
                    let revision = resource.metadata().resource_version.clone();
                    SourceEvent::Delete(SourceKv {
                        key: SourceKey::Resource(ResourceKey::of(&resource)),
                        value: None,
                        revision,
                    })
                }
                WatchEvent::InitDone { revision } | WatchEvent::Bookmark { revision } => {
                    SourceEvent::Progress(revision)
                }
                WatchEvent::Error(error) => SourceEvent::Error(error),
            })))
        }
        Source::Models(options) => {
            let stream = backend.watch_model(options, Some(revision)).await?;
            Ok(Box::pin(stream.map(|event| match event {
                ModelWatchEvent::Added(kv) | ModelWatchEvent::Modified(kv) => {
                    SourceEvent::Put(model_kv(kv))
                }
                ModelWatchEvent::Deleted(kv) => SourceEvent::Delete(SourceKv {
                    key: SourceKey::Model(kv.key),
                    value: None,
                    revision: kv.revision,
                }),
                ModelWatchEvent::InitDone { revision } | ModelWatchEvent::Bookmark { revision } => {
                    SourceEvent::Progress(revision)
                }
                ModelWatchEvent::Error(error) => SourceEvent::Error(error),
            })))
        }
    }
}

fn resource_kv(resource: calico_api::AnyResource) -> SourceKv {
    let revision = resource.metadata().resource_version.clone();
    SourceKv {
        key: SourceKey::Resource(ResourceKey::of(&resource)),
        value: Some(SourceValue::Resource(resource)),
        revision,
    }
}

fn model_kv(kv: ModelKv) -> SourceKv {
    SourceKv {
        key: SourceKey::Model(kv.key),
        value: Some(SourceValue::Model(kv.value)),
        revision: kv.revision,
    }
}
