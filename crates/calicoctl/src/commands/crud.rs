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
    read_file_resources_reporting(args, input_failure)
}

/// [`read_file_resources`], with the command's own report of an unusable `-f`.
pub fn read_file_resources_reporting(
    args: &FileArgs,
    report: fn(crate::input::InputError) -> Failure,
) -> Result<Vec<AnyResource>, Failure> {
    let Some(filename) = args.filename.as_deref() else {
        // Calico's calicoctl crashes here (a Go panic); this one says what is missing.
        return Err(Failure::message(
            "a file must be given with -f (use '-' for stdin)",
        ));
    };
    let entries = read_resources(filename, args.recursive, args.skip_empty).map_err(report)?;
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

/// How calicoctl reports a `-f` that cannot be used: an empty file or directory as it is, other
/// problems after `failed to execute command: `.
pub fn input_failure(e: crate::input::InputError) -> Failure {
    Failure::message(e.command_message())
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
    tick: &(dyn Fn() + Sync),
) -> Vec<(usize, Outcome)> {
    use futures::StreamExt;
    futures::stream::iter(group)
        .map(|(index, resource)| async move {
            let kind = resource.kind();
            let name = ResourceKey::of(&resource).to_string();
            let input = resource.clone();
            // Each resource is its own task, so validation and encoding run on every core
            // while earlier resources wait for the datastore.
            let task = {
                let client = client.clone();
                tokio::spawn(async move { action(&client, resource).await })
            };
            let mut outcome = Outcome {
                kind,
                name,
                ..Outcome::default()
            };
            match task.await {
                Ok(Ok(_)) => {}
                Ok(Err(err)) if tolerate(&err) => {}
                Ok(Err(err)) if outcome_uncertain(&err) => {
                    outcome = settle(client, input, err, outcome).await;
                }
                Ok(Err(err)) => {
                    outcome.cause = Some(cause_of(&err));
                    outcome.error = Some(err.to_string());
                }
                Err(join) => outcome.error = Some(format!("internal error: {join}")),
            }
            tick();
            (index, outcome)
        })
        .buffered(WINDOW)
        .collect()
        .await
}

/// A write that failed on the way to or from the datastore (not refused by it or by the
/// client's checks) may have been stored. A connection that could not be made means it was
/// never sent.
fn outcome_uncertain(err: &DatastoreError) -> bool {
    matches!(err, DatastoreError::Store(text)
        if !text.contains("connection refused") && !text.contains("tcp connect error"))
}

/// What failures are grouped by: the failure without the resource's own name.
fn cause_of(err: &DatastoreError) -> String {
    match err {
        DatastoreError::DoesNotExist { .. } => "resource does not exist".to_string(),
        DatastoreError::AlreadyExists { .. } => "resource already exists".to_string(),
        DatastoreError::UpdateConflict { .. } => "update conflict".to_string(),
        DatastoreError::OperationNotSupported { operation, .. } => {
            format!("operation {operation} is not supported")
        }
        other => other.to_string(),
    }
}

/// Learns what became of a write whose reply was lost, by reading the resource back: stored
/// with the input's spec, labels and annotations, it was written (by this command or, with
/// the same content, by another); absent or different, it failed; unreadable, the outcome is
/// unknown and is reported so.
async fn settle(
    client: &Client,
    input: AnyResource,
    err: DatastoreError,
    mut outcome: Outcome,
) -> Outcome {
    let key = ResourceKey::of(&input);
    let mut expected = input;
    expected.apply_defaults();
    let expected = calico_datastore::rules::after_get(expected);
    match client.get(&key).await {
        Ok(stored) if calico_datastore::client::same_content(&stored, &expected) => return outcome,
        Ok(_) => {}
        Err(read) if read.is_not_found() => {}
        Err(_) => outcome.unknown = true,
    }
    outcome.cause = Some(cause_of(&err));
    outcome.error = Some(err.to_string());
    outcome
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
    let progress = Progress::new(verb, resources.len());
    each_ticking(client, resources, namespace, action, &tolerate, &|| {
        progress.inc()
    })
    .await
}

/// [`each`], calling `tick` as each resource is done (the caller shows the progress).
async fn each_ticking(
    client: &Client,
    resources: Vec<AnyResource>,
    namespace: &str,
    action: Action,
    tolerate: &(dyn Fn(&DatastoreError) -> bool + Sync),
    tick: &(dyn Fn() + Sync),
) -> Vec<Outcome> {
    let flush = |group: Vec<(usize, AnyResource)>| run_group(client, group, action, tolerate, tick);
    let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(resources.len());
    let mut group: Vec<(usize, AnyResource)> = Vec::new();
    let mut keys = std::collections::HashSet::new();
    for (index, mut resource) in resources.into_iter().enumerate() {
        outcomes.push(None);
        if let Err(message) = resources::handle_namespace(&mut resource, namespace) {
            outcomes[index] = Some(Outcome {
                kind: resource.kind(),
                error: Some(message),
                ..Outcome::default()
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

/// The client a write command uses: with `--dry-run` (ours), one that checks everything and
/// writes nothing.
pub fn write_client(connection: &Connection, dry_run: bool) -> Client {
    if dry_run {
        connection.client.dry_run()
    } else {
        connection.client.clone()
    }
}

/// calicoctl's success lines, marked ` (dry run)` when nothing was written.
fn mark_dry_run(result: Result<String, Failure>, dry_run: bool) -> Result<String, Failure> {
    if !dry_run {
        return result;
    }
    let mark = |text: String| {
        text.lines()
            .map(|line| {
                if line.starts_with("Successfully ") {
                    format!("{line} (dry run)\n")
                } else {
                    format!("{line}\n")
                }
            })
            .collect::<String>()
    };
    match result {
        Ok(text) => Ok(mark(text)),
        Err(failure) => Err(Failure {
            stdout: mark(failure.stdout),
            message: failure.message,
        }),
    }
}

/// Creates ClusterInformation and the built-in tiers when something is really written.
async fn initialize_unless_dry(connection: &Connection, resources: &[AnyResource], dry_run: bool) {
    if !dry_run {
        crate::commands::ensure_initialized(connection, resources).await;
    }
}

pub async fn create(args: &CreateArgs, connection: &Connection) -> Result<String, Failure> {
    let resources = read_file_resources(&args.file)?;
    let dry_run = args.file.dry_run;
    initialize_unless_dry(connection, &resources, dry_run).await;
    let skip_exists = args.skip_exists;
    let outcomes = each(
        &write_client(connection, dry_run),
        resources,
        &args.file.conn.namespace,
        |client, resource| Box::pin(resources::create(client, resource)),
        |err| skip_exists && err.is_already_exists(),
        "creating",
    )
    .await;
    mark_dry_run(summarise("create", "created", &outcomes), dry_run)
}

pub async fn apply(args: &FileArgs, connection: &Connection) -> Result<String, Failure> {
    let resources = read_file_resources(args)?;
    initialize_unless_dry(connection, &resources, args.dry_run).await;
    let outcomes = apply_with(
        &write_client(connection, args.dry_run),
        resources,
        &args.conn.namespace,
    )
    .await;
    mark_dry_run(summarise("apply", "applied", &outcomes), args.dry_run)
}

/// `apply` of resources already read, as `datastore migrate import` applies each document of
/// its file: each resource's outcome, in order, `tick` called as each is done.
pub async fn apply_resources(
    client: &Client,
    resources: Vec<AnyResource>,
    tick: &(dyn Fn() + Sync),
) -> Vec<Outcome> {
    each_ticking(
        client,
        resources,
        "",
        |client, resource| Box::pin(resources::apply(client, resource)),
        &|_| false,
        tick,
    )
    .await
}

async fn apply_with(client: &Client, resources: Vec<AnyResource>, namespace: &str) -> Vec<Outcome> {
    each(
        client,
        resources,
        namespace,
        |client, resource| Box::pin(resources::apply(client, resource)),
        |_| false,
        "applying",
    )
    .await
}

/// `replace`, as calicoctl runs it: every resource is tried in turn, a failure does not stop
/// the ones after it, and the last failure is the one reported. A resource refused by the
/// datastore still counts as handled in the "first N" figure (as calicoctl counts it); one
/// refused for its namespace does not.
pub async fn replace(args: &FileArgs, connection: &Connection) -> Result<String, Failure> {
    let resources = read_file_resources(args)?;
    initialize_unless_dry(connection, &resources, args.dry_run).await;
    let client = write_client(connection, args.dry_run);
    let total = resources.len();
    if total == 0 {
        return Ok("No resources specified\n".to_string());
    }
    let single_kind = single_kind(&resources);
    let progress = Progress::new("replacing", total);
    let mut handled = 0;
    let mut last_error = None;
    for mut resource in resources {
        progress.inc();
        match resources::handle_namespace(&mut resource, &args.conn.namespace) {
            Err(message) => last_error = Some(message),
            Ok(()) => {
                handled += 1;
                if let Err(err) = resources::replace(&client, resource).await {
                    last_error = Some(err.to_string());
                }
            }
        }
    }
    let what = match single_kind {
        Some(kind) => format!("'{kind}' resource"),
        None => "resource".to_string(),
    };
    let result = match (handled, last_error) {
        (n, None) => Ok(format!("Successfully replaced {n} {what}(s)\n")),
        (0, Some(message)) => Err(Failure::message(match single_kind {
            Some(kind) if total == 1 => format!("failed to replace '{kind}' resource: {message}"),
            Some(kind) => format!("failed to replace any '{kind}' resources: {message}"),
            None => format!("failed to replace any resources: {message}"),
        })),
        (n, Some(message)) => Err(Failure {
            stdout: format!("Partial success: replaced the first {n} out of {total} {what}s:\n"),
            message: format!("hit error: {message}"),
        }),
    };
    mark_dry_run(result, args.dry_run)
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
            // No NAME: calicoctl asks to delete the resource named "" (which never exists).
            let names = if args.names.is_empty() {
                vec![String::new()]
            } else {
                args.names.clone()
            };
            Ok(names
                .into_iter()
                .map(|name| (ResourceKey::new(kind, namespace.clone(), name), None))
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
        // Calico's calicoctl crashes here (a Go panic); this one says what is missing.
        (None, None) => Err(Failure::message(
            "a resource type and name, or a file given with -f, is required (e.g. calicoctl delete ippool my-pool)",
        )),
    }
}

/// `delete KIND --selector SEL | --all [-n NS | -A]` (ours, kubectl's): what to delete, each
/// at the revision it was listed at. Kubernetes network policies and Calico's built-in profile,
/// which calicoctl never deletes, are left out.
async fn listed_targets(
    args: &DeleteArgs,
    connection: &Connection,
) -> Result<Vec<(ResourceKey, Option<String>)>, Failure> {
    let Some(word) = &args.kind else {
        return Err(Failure::message(
            "a resource type is required with --all or --selector (e.g. calicoctl delete networkset --all)",
        ));
    };
    if !args.names.is_empty() || args.file.filename.is_some() {
        return Err(Failure::message(
            "names or -f cannot be given with --all or --selector",
        ));
    }
    let kind = registry::resolve_kind(word)
        .ok_or_else(|| Failure::message(format!("resource type '{word}' is not supported")))?;
    let namespace =
        crate::commands::namespace_for(kind, &args.file.conn.namespace, args.all_namespaces)
            .map_err(Failure::message)?;
    let selector = args
        .selector
        .as_deref()
        .map(calico_selector::parse)
        .transpose()
        .map_err(|e| Failure::message(format!("invalid selector: {e}")))?;
    let options = calico_datastore::ListOptions {
        namespace,
        ..calico_datastore::ListOptions::all(kind)
    };
    let list = connection
        .client
        .list(&options)
        .await
        .map_err(|e| Failure::message(format!("failed to list resources: {e}")))?;
    Ok(list
        .items
        .iter()
        .filter(|item| {
            selector
                .as_ref()
                .is_none_or(|s| s.evaluate(&item.metadata().labels))
        })
        .filter(|item| {
            let name = &item.metadata().name;
            let never_deleted = (item.kind() == "NetworkPolicy"
                && name.starts_with("knp.default."))
                || (item.kind() == "Profile" && name == "projectcalico-default-allow");
            !never_deleted
        })
        .map(|item| {
            (
                ResourceKey::of(item),
                Some(item.metadata().resource_version.clone()),
            )
        })
        .collect())
}

/// kubectl's line for a deleted resource.
fn deleted_line(key: &ResourceKey, dry_run: bool) -> String {
    let namespace = if key.namespace.is_empty() {
        String::new()
    } else {
        format!(" from {} namespace", key.namespace)
    };
    let dry = if dry_run { " (dry run)" } else { "" };
    format!(
        "{}.projectcalico.org \"{}\" deleted{namespace}{dry}\n",
        key.kind.kind().to_lowercase(),
        key.name
    )
}

/// `delete`: every failure becomes a line of the error; successes are counted (and, with
/// `--all` or `--selector`, listed as kubectl lists them).
pub async fn delete(args: &DeleteArgs, connection: &Connection) -> Result<String, Failure> {
    let listing = args.all || args.selector.is_some();
    let targets = if listing {
        let targets = listed_targets(args, connection).await?;
        if targets.is_empty() {
            return Ok("No resources found\n".to_string());
        }
        targets
    } else {
        delete_targets(args)?
    };
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
    let client = write_client(connection, args.file.dry_run);
    let mut deleted = 0;
    let mut lines = String::new();
    let mut failures = String::new();
    let mut failed = Vec::new();
    let progress = Progress::new("deleting", targets.len());
    for (key, revision) in &targets {
        progress.inc();
        // A resource without a name is never stored: calicoctl's client refuses a Node without
        // one, ClusterInformation is never deleted, anything else "does not exist".
        let result = if key.name.is_empty() && key.kind.kind() == "Node" {
            Err(DatastoreError::Validation(
                calico_api::ValidationError::single("node", None, "field should be assigned"),
            ))
        } else if key.name.is_empty() && key.kind.kind() != "ClusterInformation" {
            Err(DatastoreError::DoesNotExist {
                key: key.clone(),
                cause: None,
            })
        } else {
            resources::delete(&client, key, revision.as_deref()).await
        };
        let result = match result {
            // The answer was lost: gone now, the resource was deleted (as asked).
            Err(err) if outcome_uncertain(&err) => match connection.client.get(key).await {
                Err(read) if read.is_not_found() => Ok(()),
                _ => Err(err),
            },
            other => other.map(|_| ()),
        };
        match result {
            Ok(()) => {
                deleted += 1;
                if listing {
                    lines.push_str(&deleted_line(key, args.file.dry_run));
                }
            }
            Err(err) if args.skip_not_exists && err.is_not_found() => deleted += 1,
            Err(err) => {
                match single_kind {
                    Some(kind) => {
                        failures.push_str(&format!("Failed to delete '{kind}' resource: {err}\n"))
                    }
                    None => failures.push_str(&format!("Failed to delete resource: {err}\n")),
                }
                failed.push(Outcome {
                    kind: key.kind.kind(),
                    error: Some(err.to_string()),
                    name: key.to_string(),
                    cause: Some(cause_of(&err)),
                    unknown: false,
                });
            }
        }
    }
    // Many failures: one line per cause instead of one per resource.
    if failed.len() > crate::report::GROUP_ABOVE {
        let what = match single_kind {
            Some(kind) => format!("'{kind}' resources"),
            None => "resources".to_string(),
        };
        failures = format!(
            "Failed to delete {} {what}:{}\n",
            crate::report::thousands(failed.len()),
            crate::report::cause_lines(single_kind, &failed)
        );
    }
    let success = if deleted > 0 {
        match single_kind {
            Some(kind) => format!("Successfully deleted {deleted} '{kind}' resource(s)\n"),
            None => format!("Successfully deleted {deleted} resource(s)\n"),
        }
    } else {
        String::new()
    };
    let success = lines + &success;
    let result = if failures.is_empty() {
        Ok(success)
    } else {
        Err(Failure {
            stdout: success,
            message: failures,
        })
    };
    mark_dry_run(result, args.file.dry_run)
}
