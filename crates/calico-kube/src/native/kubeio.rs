//! Reading native objects: paged lists, watches turned into Calico watch events, and the
//! metadata conversions every native kind shares.

use std::fmt::Debug;

use calico_api::AnyResource;
use calico_datastore::{DatastoreError, Result, WatchEvent, WatchStream};
use futures::{stream, StreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time as K8sTime;
use kube::api::{ListParams, VersionMatch, WatchParams};
use kube::core::{Status, WatchEvent as K8sWatchEvent};
use kube::Api;
use serde::de::DeserializeOwned;

use super::error::{from_kube, from_status};

/// Page size of lists, as Calico's `pagedList` uses.
const PAGE_SIZE: u32 = 500;

/// A Kubernetes timestamp as Calico's metadata keeps it (whole seconds).
pub fn calico_time(time: Option<&K8sTime>) -> Option<calico_api::Time> {
    time.and_then(|t| calico_api::Time::parse(&t.0.to_string()).ok())
}

/// Lists every object matching `params`, page by page, and returns them with the revision the
/// first page was read at (later pages continue that snapshot).
///
/// With a revision the first page is read with `resourceVersionMatch=NotOlderThan`, as Calico
/// does; continued pages must not carry a resourceVersion (the apiserver rejects it).
pub async fn list_all<K>(
    api: &Api<K>,
    params: ListParams,
    revision: Option<&str>,
) -> Result<(Vec<K>, String)>
where
    K: Clone + DeserializeOwned + Debug + Send + 'static,
{
    list_in_pages(api, params, revision, PAGE_SIZE).await
}

/// [`list_all`] with pages of `page_size` objects.
pub async fn list_in_pages<K>(
    api: &Api<K>,
    params: ListParams,
    revision: Option<&str>,
    page_size: u32,
) -> Result<(Vec<K>, String)>
where
    K: Clone + DeserializeOwned + Debug + Send + 'static,
{
    let pages = pages(api.clone(), params, revision.map(str::to_string), page_size);
    futures::pin_mut!(pages);
    let mut items = Vec::new();
    let mut list_revision = String::new();
    while let Some(page) = pages.next().await {
        let (mut page, revision) = page?;
        items.append(&mut page);
        list_revision = revision;
    }
    Ok((items, list_revision))
}

/// One page of a list as `params` asks for it (a `limit` keeps it small), with the revision it
/// was read at: how a store learns the current revision cheaply.
pub async fn first_page<K>(api: &Api<K>, params: ListParams) -> Result<(Vec<K>, String)>
where
    K: Clone + DeserializeOwned + Debug + Send + 'static,
{
    let list = api.list(&params).await.map_err(|e| from_kube(e, None))?;
    Ok((
        list.items,
        list.metadata.resource_version.unwrap_or_default(),
    ))
}

/// The pages of a list, `page_size` objects each, every one with the list's revision (the
/// first page's: later pages continue its snapshot). There is always at least one page.
pub fn pages<K>(
    api: Api<K>,
    params: ListParams,
    revision: Option<String>,
    page_size: u32,
) -> impl futures::Stream<Item = Result<(Vec<K>, String)>> + Send
where
    K: Clone + DeserializeOwned + Debug + Send + 'static,
{
    let mut first = params.clone().limit(page_size);
    if let Some(rv) = revision.filter(|rv| !rv.is_empty() && rv != "0") {
        first = first.at(&rv).matching(VersionMatch::NotOlderThan);
    }
    stream::try_unfold(
        (Some(first), None::<String>),
        move |(current, list_revision)| {
            let (api, params) = (api.clone(), params.clone());
            async move {
                let Some(current) = current else {
                    return Ok(None);
                };
                let mut page = api.list(&current).await.map_err(|e| from_kube(e, None))?;
                let list_revision = list_revision
                    .unwrap_or_else(|| page.metadata.resource_version.clone().unwrap_or_default());
                let next = page
                    .metadata
                    .continue_
                    .clone()
                    .filter(|t| !t.is_empty())
                    .map(|token| params.limit(page_size).continue_token(&token));
                let items = std::mem::take(&mut page.items);
                Ok(Some((
                    (items, list_revision.clone()),
                    (next, Some(list_revision)),
                )))
            }
        },
    )
}

/// Turns one Kubernetes object into the Calico resources it stands for (none when it is not
/// one of them, e.g. a host-networked pod).
pub type Convert<K> = dyn Fn(K) -> Result<Vec<AnyResource>> + Send + Sync;

/// How a store words the errors of its watches.
pub trait WatchErrors: Send + Sync + 'static {
    /// A failed request or a broken connection.
    fn kube_error(&self, err: kube::Error) -> DatastoreError;
    /// A watch ERROR event (410 Gone/Expired becomes [`DatastoreError::Compacted`]).
    fn status_error(&self, status: &Status) -> DatastoreError;
}

/// The native stores' wording.
pub struct NativeErrors;

impl WatchErrors for NativeErrors {
    fn kube_error(&self, err: kube::Error) -> DatastoreError {
        from_kube(err, None)
    }

    fn status_error(&self, status: &Status) -> DatastoreError {
        from_status(status, None)
    }
}

/// Watches `api` for the changes after `revision` (a resourceVersion) and converts each event,
/// as Calico's `k8sWatcherConverter` does: MODIFIED carries no previous value, a BOOKMARK
/// becomes [`WatchEvent::Bookmark`] with its resourceVersion, an ERROR event or a broken
/// connection is reported and ends the stream (410 as [`DatastoreError::Compacted`]), a
/// conversion failure is reported without ending it, and the stream ends when the server
/// closes the watch. The watch is never reopened. Without a revision, stores list first
/// ([`crate::store::listing_first`]).
pub async fn watch<K>(
    api: &Api<K>,
    params: WatchParams,
    revision: &str,
    convert: Box<Convert<K>>,
    errors: impl WatchErrors,
) -> Result<WatchStream>
where
    K: Clone + DeserializeOwned + Debug + Send + 'static,
{
    let events = api
        .watch(&params, revision)
        .await
        .map_err(|e| errors.kube_error(e))?;
    let converted = events
        .map(move |event| match event {
            Ok(K8sWatchEvent::Added(object)) => (each(convert(object), WatchEvent::Added), false),
            Ok(K8sWatchEvent::Modified(object)) => (
                each(convert(object), |current| WatchEvent::Modified {
                    previous: None,
                    current,
                }),
                false,
            ),
            Ok(K8sWatchEvent::Deleted(object)) => {
                (each(convert(object), WatchEvent::Deleted), false)
            }
            Ok(K8sWatchEvent::Bookmark(bookmark)) => (
                vec![WatchEvent::Bookmark {
                    revision: bookmark.metadata.resource_version,
                }],
                false,
            ),
            Ok(K8sWatchEvent::Error(status)) => {
                (vec![WatchEvent::Error(errors.status_error(&status))], true)
            }
            Err(err) => (vec![WatchEvent::Error(errors.kube_error(err))], true),
        })
        .scan(false, |ended, (events, terminal)| {
            let out = if *ended { None } else { Some(events) };
            *ended = terminal;
            futures::future::ready(out)
        })
        .flat_map(stream::iter);
    Ok(Box::pin(converted))
}

fn each(
    converted: Result<Vec<AnyResource>>,
    event: impl Fn(AnyResource) -> WatchEvent,
) -> Vec<WatchEvent> {
    match converted {
        Ok(resources) => resources.into_iter().map(event).collect(),
        Err(err) => vec![WatchEvent::Error(err)],
    }
}

/// A watch that never reports anything and stays open (the built-in default-allow profile
/// never changes).
pub fn silent() -> WatchStream {
    Box::pin(stream::pending())
}

/// A conversion failure, reported like a bad datastore entry.
pub fn conversion_error(what: &str, name: &str, cause: impl ToString) -> DatastoreError {
    DatastoreError::ParsingEntry {
        key: format!("{what} {name}"),
        value: String::new(),
        cause: cause.to_string(),
    }
}

/// The value of a `metadata.name` field selector.
pub fn name_selector(name: &str) -> String {
    format!("metadata.name={name}")
}

/// Which side of a merged watch an event came from.
enum Side {
    Left(WatchEvent),
    Right(WatchEvent),
    Ended,
}

/// Merges two watches whose revisions are combined as `<left>/<right>` (Calico's composite
/// revisions): every event's object gets the latest revision seen on each side, so a watch
/// can resume from it. `left_rv`/`right_rv` read a side's revision from one of its objects.
/// The merged watch ends as soon as either side ends.
pub fn merge_composite(
    left: WatchStream,
    right: WatchStream,
    start: (Option<String>, Option<String>),
    left_rv: fn(&str) -> String,
    right_rv: fn(&str) -> String,
) -> WatchStream {
    let left = left
        .map(Side::Left)
        .chain(stream::once(async { Side::Ended }));
    let right = right
        .map(Side::Right)
        .chain(stream::once(async { Side::Ended }));
    let initial = (start.0.unwrap_or_default(), start.1.unwrap_or_default());
    let merged = stream::select(left, right).scan(initial, move |revs, side| {
        let (mut event, from_left) = match side {
            Side::Left(e) => (e, true),
            Side::Right(e) => (e, false),
            Side::Ended => return futures::future::ready(None),
        };
        let resource = match &mut event {
            WatchEvent::Added(r) | WatchEvent::Deleted(r) => Some(r),
            WatchEvent::Modified { current, .. } => Some(current),
            // A side's progress is the merged watch's progress, at the combined revision. (A
            // side only lists first when its part of the revision is empty or `0`; the merged
            // watch has a revision, so that is progress too, not the end of its listing.)
            WatchEvent::Bookmark { revision } | WatchEvent::InitDone { revision } => {
                if from_left {
                    revs.0 = std::mem::take(revision);
                } else {
                    revs.1 = std::mem::take(revision);
                }
                event = WatchEvent::Bookmark {
                    revision: format!("{}/{}", revs.0, revs.1),
                };
                None
            }
            WatchEvent::Error(_) => None,
        };
        if let Some(resource) = resource {
            let own = resource.metadata().resource_version.clone();
            if from_left {
                revs.0 = left_rv(&own);
            } else {
                revs.1 = right_rv(&own);
            }
            resource.metadata_mut().resource_version = format!("{}/{}", revs.0, revs.1);
        }
        futures::future::ready(Some(event))
    });
    Box::pin(merged)
}

/// Splits a composite `<left>/<right>` revision; empty and `0` mean none. A plain revision
/// (no `/`) is used for both sides: every apiserver resourceVersion is one etcd revision, so
/// it is meaningful for both.
pub fn split_composite(revision: Option<&str>) -> (Option<String>, Option<String>) {
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    match revision {
        None | Some("") | Some("0") => (None, None),
        Some(rv) => match rv.split_once('/') {
            Some((left, right)) => (non_empty(left), non_empty(right)),
            None => (non_empty(rv), non_empty(rv)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calico_api::Profile;

    fn added(name: &str, rv: &str) -> WatchEvent {
        let mut p = Profile::new(name, Default::default());
        p.metadata.resource_version = rv.into();
        WatchEvent::Added(p.into())
    }

    fn whole(rv: &str) -> String {
        rv.to_string()
    }

    #[tokio::test]
    async fn composite_revisions_and_early_end() {
        // The right side ends after one event; the merged watch ends with it, even though
        // the left side would go on.
        let left: WatchStream =
            Box::pin(stream::iter(vec![added("a", "10")]).chain(stream::pending()));
        let right: WatchStream = Box::pin(stream::iter(vec![
            added("b", "20"),
            WatchEvent::Error(DatastoreError::Store("boom".into())),
        ]));
        let merged: Vec<WatchEvent> = merge_composite(
            left,
            right,
            (Some("1".into()), Some("2".into())),
            whole,
            whole,
        )
        .collect()
        .await;
        let revisions: Vec<String> = merged
            .iter()
            .filter_map(|e| match e {
                WatchEvent::Added(r) => Some(r.metadata().resource_version.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(merged.len(), 3);
        // Whichever side comes first, each event carries the latest of both.
        assert!(
            revisions == ["10/2", "10/20"] || revisions == ["1/20", "10/20"],
            "{revisions:?}"
        );
        assert!(merged.iter().any(|e| matches!(e, WatchEvent::Error(_))));
    }

    #[tokio::test]
    async fn a_sides_bookmark_is_the_merged_watchs_at_the_combined_revision() {
        let left: WatchStream = Box::pin(stream::iter(vec![WatchEvent::Bookmark {
            revision: "15".into(),
        }]));
        let right: WatchStream = Box::pin(stream::pending());
        let mut merged = merge_composite(
            left,
            right,
            (Some("1".into()), Some("2".into())),
            whole,
            whole,
        );
        assert_eq!(
            merged.next().await,
            Some(WatchEvent::Bookmark {
                revision: "15/2".into()
            })
        );
        // The left side ended: so does the merged watch.
        assert_eq!(merged.next().await, None);
    }

    #[test]
    fn composite_split() {
        assert_eq!(split_composite(None), (None, None));
        assert_eq!(split_composite(Some("")), (None, None));
        assert_eq!(split_composite(Some("0")), (None, None));
        assert_eq!(
            split_composite(Some("3/4")),
            (Some("3".into()), Some("4".into()))
        );
        assert_eq!(split_composite(Some("/4")), (None, Some("4".into())));
        assert_eq!(
            split_composite(Some("9")),
            (Some("9".into()), Some("9".into()))
        );
    }
}
