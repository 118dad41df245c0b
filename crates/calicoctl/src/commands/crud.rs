//! `create`, `apply`, `replace` and `delete`.

use calico_api::AnyResource;
use calico_datastore::client::Client;
use calico_datastore::{DatastoreError, ResourceKey};

use crate::cli::{CreateArgs, DeleteArgs, FileArgs};
use crate::clientmgr::Connection;
use crate::input::read_resources;
use crate::progress::Progress;
use crate::registry;
use crate::report::{summarise, Failure, Outcome};
use crate::resources;

/// Reads `-f` and applies the namespace rules; a bad file fails the whole command.
pub fn read_file_resources(args: &FileArgs) -> Result<Vec<AnyResource>, Failure> {
    let Some(filename) = args.filename.as_deref() else {
        return Err(Failure::message(
            "failed to execute command: a file must be given with -f (use '-' for stdin)",
        ));
    };
    let entries = read_resources(filename, args.recursive, args.skip_empty)
        .map_err(|e| Failure::message(e.command_message()))?;
    let mut resources = Vec::with_capacity(entries.len());
    for entry in entries {
        if !registry::is_managed(entry.resource.kind()) {
            return Err(Failure::message(format!(
                "failed to execute command: {}: resource type '{}' is not supported",
                entry.origin,
                entry.resource.kind()
            )));
        }
        resources.push(entry.resource);
    }
    Ok(resources)
}

type Action = for<'a> fn(
    &'a Client,
    AnyResource,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<AnyResource, DatastoreError>> + Send + 'a>,
>;

/// Runs one group of independent resources, up to [`WINDOW`] at a time.
async fn run_group(
    client: &Client,
    group: Vec<(usize, AnyResource)>,
    action: Action,
    tolerate: &(dyn Fn(&DatastoreError) -> bool + Sync),
    progress: &Progress,
) -> Vec<(usize, Outcome)> {
    use futures::StreamExt;
    futures::stream::iter(group)
        .map(|(index, resource)| async move {
            let kind = resource.kind();
            // Each resource is its own task, so validation and encoding run on every core
            // while earlier resources wait for the datastore.
            let client = client.clone();
            let task = tokio::spawn(async move { action(&client, resource).await });
            let error = match task.await {
                Ok(Ok(_)) => None,
                Ok(Err(err)) if tolerate(&err) => None,
                Ok(Err(err)) => Some(err.to_string()),
                Err(join) => Some(format!("internal error: {join}")),
            };
            progress.inc();
            (index, Outcome { kind, error })
        })
        .buffered(WINDOW)
        .collect()
        .await
}

/// How many resources are in flight at once within a run of independent resources.
const WINDOW: usize = 64;

/// Kinds whose writes change what later resources are checked against (a policy needs its tier,
/// a pool must not overlap earlier pools, a peer needs its filters): they are written alone,
/// after everything before them and before anything after them.
const ORDERING_KINDS: &[&str] = &["BGPFilter", "IPPool", "Tier"];

/// Runs `action` on every resource, collecting calicoctl-style outcomes in file order.
///
/// calicoctl handles resources one at a time. Resources that cannot affect each other are sent
/// together instead, so the datastore can commit them in groups; ordering kinds, and a second
/// occurrence of a key, start a new group, which keeps the result of every resource what it
/// would be one at a time.
async fn each(
    client: &Client,
    resources: Vec<AnyResource>,
    namespace: &str,
    action: Action,
    tolerate: impl Fn(&DatastoreError) -> bool + Sync,
    verb: &str,
) -> Vec<Outcome> {
    let tolerate = &tolerate;
    let progress = &Progress::new(verb, resources.len());
    let flush =
        |group: Vec<(usize, AnyResource)>| run_group(client, group, action, tolerate, progress);
    let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(resources.len());
    let mut group: Vec<(usize, AnyResource)> = Vec::new();
    let mut keys = std::collections::HashSet::new();
    for (index, mut resource) in resources.into_iter().enumerate() {
        outcomes.push(None);
        if let Err(message) = resources::handle_namespace(&mut resource, namespace) {
            outcomes[index] = Some(Outcome {
                kind: resource.kind(),
                error: Some(message),
            });
            continue;
        }
        let ordering = ORDERING_KINDS.contains(&resource.kind());
        let key = ResourceKey::of(&resource);
        if ordering || !keys.insert(key.clone()) {
            for (i, outcome) in flush(std::mem::take(&mut group)).await {
                outcomes[i] = Some(outcome);
            }
            keys.clear();
            keys.insert(key);
        }
        group.push((index, resource));
        if ordering {
            for (i, outcome) in flush(std::mem::take(&mut group)).await {
                outcomes[i] = Some(outcome);
            }
            keys.clear();
        }
    }
    for (i, outcome) in flush(group).await {
        outcomes[i] = Some(outcome);
    }
    outcomes.into_iter().flatten().collect()
}

pub async fn create(args: &CreateArgs, connection: &Connection) -> Result<String, Failure> {
    let resources = read_file_resources(&args.file)?;
    crate::commands::ensure_initialized(connection).await;
    let skip_exists = args.skip_exists;
    let outcomes = each(
        &connection.client,
        resources,
        &args.file.conn.namespace,
        |client, resource| Box::pin(resources::create(client, resource)),
        |err| skip_exists && err.is_already_exists(),
        "creating",
    )
    .await;
    summarise("create", "created", &outcomes)
}

pub async fn apply(args: &FileArgs, connection: &Connection) -> Result<String, Failure> {
    let resources = read_file_resources(args)?;
    crate::commands::ensure_initialized(connection).await;
    let outcomes = each(
        &connection.client,
        resources,
        &args.conn.namespace,
        |client, resource| Box::pin(resources::apply(client, resource)),
        |_| false,
        "applying",
    )
    .await;
    summarise("apply", "applied", &outcomes)
}

/// `replace` stops at the first failure and reports it without brackets.
pub async fn replace(args: &FileArgs, connection: &Connection) -> Result<String, Failure> {
    let resources = read_file_resources(args)?;
    crate::commands::ensure_initialized(connection).await;
    let total = resources.len();
    if total == 0 {
        return Ok("No resources specified\n".to_string());
    }
    let single_kind = single_kind(&resources);
    let progress = Progress::new("replacing", total);
    let mut done = 0;
    for mut resource in resources {
        progress.inc();
        let result = match resources::handle_namespace(&mut resource, &args.conn.namespace) {
            Err(message) => Err(message),
            Ok(()) => resources::replace(&connection.client, resource)
                .await
                .map_err(|e| e.to_string()),
        };
        if let Err(message) = result {
            return Err(match (done, single_kind) {
                (0, Some(kind)) if total == 1 => {
                    Failure::message(format!("failed to replace '{kind}' resource: {message}"))
                }
                (0, Some(kind)) => Failure::message(format!(
                    "failed to replace any '{kind}' resources: {message}"
                )),
                (0, None) => Failure::message(format!("failed to replace any resources: {message}")),
                (n, Some(kind)) => Failure {
                    stdout: format!(
                        "Partial success: replaced the first {n} out of {total} '{kind}' resources:\n"
                    ),
                    message: format!("hit error: {message}"),
                },
                (n, None) => Failure {
                    stdout: format!(
                        "Partial success: replaced the first {n} out of {total} resources:\n"
                    ),
                    message: format!("hit error: {message}"),
                },
            });
        }
        done += 1;
    }
    Ok(match single_kind {
        Some(kind) => format!("Successfully replaced {done} '{kind}' resource(s)\n"),
        None => format!("Successfully replaced {done} resource(s)\n"),
    })
}

fn single_kind(resources: &[AnyResource]) -> Option<&'static str> {
    let first = resources.first()?.kind();
    resources.iter().all(|r| r.kind() == first).then_some(first)
}

/// What `delete` was asked to delete: keys and, from files, resource versions.
fn delete_targets(args: &DeleteArgs) -> Result<Vec<(ResourceKey, Option<String>)>, Failure> {
    match (&args.kind, &args.file.filename) {
        (Some(word), _) => {
            let kind = registry::resolve_kind(word).ok_or_else(|| {
                Failure::message(format!("resource type '{word}' is not supported"))
            })?;
            if args.names.iter().any(String::is_empty) {
                return Err(Failure::message("resource name may not be empty"));
            }
            let namespace = crate::commands::namespace_for(kind, &args.file.conn.namespace, false)
                .map_err(Failure::message)?
                .unwrap_or_default();
            Ok(args
                .names
                .iter()
                .map(|name| (ResourceKey::new(kind, namespace.clone(), name.clone()), None))
                .collect())
        }
        (None, Some(_)) => {
            let mut targets = Vec::new();
            for mut resource in read_file_resources(&args.file)? {
                resources::handle_namespace(&mut resource, &args.file.conn.namespace)
                    .map_err(Failure::message)?;
                let revision = resource.metadata().resource_version.clone();
                targets.push((ResourceKey::of(&resource), Some(revision)));
            }
            Ok(targets)
        }
        (None, None) => Err(Failure::message(
            "failed to execute command: a resource kind and names, or a file given with -f, is required",
        )),
    }
}

/// `delete`: every failure becomes a line of the error; successes are counted.
pub async fn delete(args: &DeleteArgs, connection: &Connection) -> Result<String, Failure> {
    let targets = delete_targets(args)?;
    if targets.is_empty() {
        return Ok("No resources specified\n".to_string());
    }
    let single_kind = {
        let first = targets[0].0.kind;
        targets
            .iter()
            .all(|(k, _)| k.kind == first)
            .then_some(first.kind())
    };
    let mut deleted = 0;
    let mut failures = String::new();
    let progress = Progress::new("deleting", targets.len());
    for (key, revision) in &targets {
        progress.inc();
        match resources::delete(&connection.client, key, revision.as_deref()).await {
            Ok(_) => deleted += 1,
            Err(err) if args.skip_not_exists && err.is_not_found() => deleted += 1,
            Err(err) => match single_kind {
                Some(kind) => {
                    failures.push_str(&format!("Failed to delete '{kind}' resource: {err}\n"))
                }
                None => failures.push_str(&format!("Failed to delete resource: {err}\n")),
            },
        }
    }
    let success = if deleted > 0 {
        match single_kind {
            Some(kind) => format!("Successfully deleted {deleted} '{kind}' resource(s)\n"),
            None => format!("Successfully deleted {deleted} resource(s)\n"),
        }
    } else {
        String::new()
    };
    if failures.is_empty() {
        Ok(success)
    } else {
        Err(Failure {
            stdout: success,
            message: failures,
        })
    }
}
