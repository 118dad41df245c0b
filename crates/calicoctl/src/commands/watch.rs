//! `calicoctl get --watch` and `calicoctl datastore sync` (ours; Calico's calicoctl has
//! neither): both follow the datastore through `calico-syncer`, so they ride out an outage as
//! Calico's agents do, and both run until interrupted (Ctrl-C: exit 0).

use std::collections::HashMap;
use std::io::{IsTerminal, Write};

use calico_api::AnyResource;
use calico_datastore::{ListOptions, ResourceKey};
use calico_syncer::{
    ResourceType, Source, SyncEvent, SyncKey, SyncStatus, SyncValue, Syncer, SyncerKind,
    SyncerOptions, UpdateType,
};
use futures::StreamExt;
use serde::Serialize;

use crate::clientmgr::Connection;
use crate::output::{GetResult, ListMeta};
use crate::report::Failure;
use crate::table::{self, Columns, Context};

/// How `get --watch` prints.
pub enum WatchFormat {
    Table(Columns, Context),
    Json,
    Yaml,
    Template(String, String),
}

/// What `get --watch` was asked for.
pub struct WatchRequest {
    /// Each list or single resource to follow.
    pub targets: Vec<ListOptions>,
    pub selector: Option<calico_selector::Selector>,
    pub format: WatchFormat,
    pub print_namespace: bool,
    /// `--watch-only`: no initial listing.
    pub watch_only: bool,
    /// `--output-watch-events`: `{"type": …, "object": …}` around each JSON/YAML document.
    pub events: bool,
}

/// kubectl's watch event types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
enum EventType {
    Added,
    Modified,
    Deleted,
}

#[derive(Serialize)]
struct WatchEventOut<'a> {
    #[serde(rename = "type")]
    event_type: EventType,
    object: &'a AnyResource,
}

/// Writes to stdout as calicoctl's other output is written (control characters escaped on a
/// terminal), flushed at once; `false` once stdout is closed.
fn emit(text: &str) -> bool {
    let mut stdout = std::io::stdout().lock();
    let text = if stdout.is_terminal() {
        crate::terminal_safe(text)
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    stdout.write_all(text.as_bytes()).is_ok() && stdout.flush().is_ok()
}

/// Resolves when the user interrupts (Ctrl-C) or the process is asked to terminate.
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

struct Printer {
    format: WatchFormat,
    print_namespace: bool,
    events: bool,
    documents: usize,
}

impl Printer {
    /// The listing as `get` prints it for a table or a template; one document per resource
    /// for JSON and YAML (as `kubectl get -w` prints them).
    fn initial(&mut self, items: &[AnyResource]) -> Result<String, String> {
        match &self.format {
            WatchFormat::Table(columns, context) => {
                if items.is_empty() {
                    return Ok(String::new());
                }
                table::render(&lists(items), columns, self.print_namespace, context)
            }
            WatchFormat::Template(template, global_as) => {
                let values = lists(items)
                    .iter()
                    .map(serde_json::to_value)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| e.to_string())?;
                crate::gotemplate::render(template, &values, global_as.clone())
            }
            WatchFormat::Json | WatchFormat::Yaml => {
                let mut out = String::new();
                for item in items {
                    out.push_str(&self.change(EventType::Added, item)?);
                }
                Ok(out)
            }
        }
    }

    /// One change: a table row (no heading), or a document.
    fn change(&mut self, event_type: EventType, resource: &AnyResource) -> Result<String, String> {
        match &self.format {
            WatchFormat::Table(columns, context) => {
                let text = table::render(
                    &lists(std::slice::from_ref(resource)),
                    columns,
                    self.print_namespace,
                    context,
                )?;
                // The rows without the heading, nor the blank line that ends a table.
                let rows = text.split_once('\n').map_or("", |(_, rows)| rows);
                Ok(format!("{}\n", rows.trim_end_matches('\n')))
            }
            WatchFormat::Template(template, global_as) => {
                let value = serde_json::to_value(GetResult::Object(resource.clone()))
                    .map_err(|e| e.to_string())?;
                crate::gotemplate::render(template, &[value], global_as.clone())
            }
            WatchFormat::Json => {
                let bytes = if self.events {
                    calico_api::json::to_vec_pretty(&WatchEventOut {
                        event_type,
                        object: resource,
                    })
                } else {
                    calico_api::json::to_vec_pretty(resource)
                }
                .map_err(|e| e.to_string())?;
                let mut text = String::from_utf8(bytes).map_err(|e| e.to_string())?;
                text.push('\n');
                Ok(text)
            }
            WatchFormat::Yaml => {
                let value = if self.events {
                    serde_json::to_value(WatchEventOut {
                        event_type,
                        object: resource,
                    })
                } else {
                    serde_json::to_value(resource)
                }
                .map_err(|e| e.to_string())?;
                let separator = if self.documents > 0 { "---\n" } else { "" };
                self.documents += 1;
                Ok(format!(
                    "{separator}{}",
                    calico_manifest::yaml::to_yaml_string(&value)
                ))
            }
        }
    }
}

/// Resources grouped into one `<Kind>List` per kind, in order.
fn lists(items: &[AnyResource]) -> Vec<GetResult> {
    let mut out: Vec<GetResult> = Vec::new();
    for item in items {
        match out.last_mut() {
            Some(GetResult::List { kind, items, .. }) if *kind == item.kind() => {
                items.push(item.clone())
            }
            _ => out.push(GetResult::List {
                kind: item.kind(),
                metadata: ListMeta::default(),
                items: vec![item.clone()],
            }),
        }
    }
    out
}

/// `get --watch`: the current result, then each change, until interrupted.
pub async fn get(request: WatchRequest, connection: &Connection) -> Result<String, Failure> {
    let types: Vec<ResourceType> = request
        .targets
        .iter()
        .cloned()
        .map(|options| ResourceType::new(Source::Resources(options)))
        .collect();
    let syncer = Syncer::builder(connection.client.backend().clone(), types).start();
    let mut printer = Printer {
        format: request.format,
        print_namespace: request.print_namespace,
        events: request.events,
        documents: 0,
    };
    let matches = |resource: &AnyResource| {
        request
            .selector
            .as_ref()
            .is_none_or(|s| s.evaluate(&resource.metadata().labels))
    };
    // What is shown: every matching resource, by key.
    let mut shown: HashMap<ResourceKey, AnyResource> = HashMap::new();
    let mut in_sync = false;
    follow(syncer, |event| {
        let mut out = String::new();
        match event {
            SyncEvent::Status(SyncStatus::InSync) if !in_sync => {
                in_sync = true;
                let missing: Vec<String> = request
                    .targets
                    .iter()
                    .filter_map(single_key)
                    .filter(|key| !shown.contains_key(key))
                    .map(|key| calico_datastore::DatastoreError::does_not_exist(&key).to_string())
                    .collect();
                if !missing.is_empty() {
                    return Err(Failure::message(missing.join("\n")));
                }
                if !request.watch_only {
                    let mut items: Vec<&AnyResource> = shown.values().collect();
                    items.sort_by(|a, b| order(a).cmp(&order(b)));
                    let items: Vec<AnyResource> = items.into_iter().cloned().collect();
                    out = printer.initial(&items).map_err(Failure::message)?;
                }
            }
            SyncEvent::Status(status) => {
                tracing::info!(%status, "sync status");
            }
            SyncEvent::Updates(updates) => {
                for update in updates {
                    let SyncKey::Resource(key) = update.kv.key else {
                        continue;
                    };
                    let current = match update.kv.value {
                        Some(SyncValue::Resource(resource)) if matches(&resource) => Some(resource),
                        _ => None,
                    };
                    let change = match (current, update.update_type) {
                        (Some(resource), UpdateType::New | UpdateType::Updated) => {
                            let kind = if shown.contains_key(&key) {
                                EventType::Modified
                            } else {
                                EventType::Added
                            };
                            shown.insert(key, resource.clone());
                            Some((kind, resource))
                        }
                        // Deleted, or no longer matching the selector.
                        _ => shown.remove(&key).map(|last| (EventType::Deleted, last)),
                    };
                    if let (true, Some((kind, resource))) = (in_sync, change) {
                        out.push_str(&printer.change(kind, &resource).map_err(Failure::message)?);
                    }
                }
            }
            SyncEvent::ParseFailed(failure) => {
                tracing::warn!(key = %failure.key, "skipped an entry that cannot be read: {}", failure.message);
            }
            SyncEvent::Failed(error) => {
                tracing::warn!(%error, "the datastore is unreachable; still trying");
            }
        }
        Ok(out)
    })
    .await
}

/// Prints what `render` makes of each event until the user interrupts, the syncer stops or
/// stdout is closed (all exit 0); a rendering failure ends it with that failure.
async fn follow(
    mut syncer: Syncer,
    mut render: impl FnMut(SyncEvent) -> Result<String, Failure>,
) -> Result<String, Failure> {
    let stop = interrupted();
    tokio::pin!(stop);
    loop {
        let event = tokio::select! {
            _ = &mut stop => return Ok(String::new()),
            event = syncer.next() => event,
        };
        let Some(event) = event else {
            return Ok(String::new());
        };
        let out = render(event)?;
        if !out.is_empty() && !emit(&out) {
            return Ok(String::new());
        }
    }
}

/// The key of a target naming one resource.
fn single_key(options: &ListOptions) -> Option<ResourceKey> {
    let name = options.name.as_ref().filter(|_| !options.name_is_prefix)?;
    Some(ResourceKey::new(
        options.kind,
        options.namespace.clone().unwrap_or_default(),
        name.clone(),
    ))
}

/// The datastore's order: kind, namespace, name (tiers by their order).
fn order(resource: &AnyResource) -> (&'static str, String, String) {
    let meta = resource.metadata();
    (resource.kind(), meta.namespace.clone(), meta.name.clone())
}

/// `datastore sync --syncer NAME`: what the syncer delivers, one JSON object a line.
pub async fn sync(
    syncer: &str,
    node: Option<String>,
    connection: &Connection,
) -> Result<String, Failure> {
    let kind: SyncerKind = syncer
        .parse()
        .map_err(|e| Failure::message(format!("{e}")))?;
    let options = SyncerOptions {
        kubernetes: connection.client.info().datastore_type == "kubernetes",
        use_pod_cidr: false,
        node,
    };
    let syncer = Syncer::start(connection.client.backend().clone(), kind, &options);
    follow(syncer, |event| {
        let mut out = String::new();
        for line in calico_syncer::json_lines(&event) {
            out.push_str(&line);
            out.push('\n');
        }
        Ok(out)
    })
    .await
}
