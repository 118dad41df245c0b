//! `calicoctl get`.

use std::sync::Arc;

use calico_api::AnyResource;
use calico_datastore::{KindRef, ListOptions, ResourceKey};

use crate::cli::GetArgs;
use crate::clientmgr::Connection;
use crate::commands::crud;
use crate::commands::watch::{WatchFormat, WatchRequest};
use crate::gotemplate;
use crate::output::{self, GetResult, ListMeta};
use crate::registry;
use crate::report::Failure;
use crate::table::{self, Columns, Context};

/// The output format asked for with `-o`.
enum Format {
    Yaml,
    Json,
    Table(Columns),
    Template(String),
}

fn parse_format(text: &str) -> Result<Format, String> {
    match text {
        "yaml" | "yml" => Ok(Format::Yaml),
        "json" => Ok(Format::Json),
        "ps" => Ok(Format::Table(Columns::Ps)),
        "wide" => Ok(Format::Table(Columns::Wide)),
        "go-template=" => Err("need to specify a template".into()),
        "go-template-file=" => Err("need to specify a template file".into()),
        "custom-columns=" => Err("need to specify at least one column".into()),
        other => {
            if let Some(list) = other.strip_prefix("custom-columns=") {
                Ok(Format::Table(Columns::Custom(
                    list.split(',').map(str::to_string).collect(),
                )))
            } else if let Some(template) = other.strip_prefix("go-template=") {
                Ok(Format::Template(template.to_string()))
            } else if let Some(path) = other.strip_prefix("go-template-file=") {
                std::fs::read_to_string(path)
                    .map(Format::Template)
                    .map_err(|e| format!("open {path}: {}", crate::input::go_io_reason(&e)))
            } else {
                Err(format!("unrecognized output format '{other}'"))
            }
        }
    }
}

/// calicoctl's `config "asnumber"`: the default BGPConfiguration's AS number, 64512 when
/// unset or absent, `unknown` when it cannot be read.
async fn global_as_number(connection: &Connection) -> String {
    let Some(kind) = KindRef::lookup("BGPConfiguration") else {
        return "64512".into();
    };
    match connection
        .client
        .get(&ResourceKey::new(kind, "", "default"))
        .await
    {
        Ok(config) => config
            .to_json_value()
            .ok()
            .and_then(|v| v.pointer("/spec/asNumber").map(|n| n.to_string()))
            .unwrap_or_else(|| "64512".into()),
        Err(err) if err.is_not_found() => "64512".into(),
        Err(_) => "unknown".into(),
    }
}

fn setup_error(message: impl std::fmt::Display) -> Failure {
    Failure::message(format!("failed to get resources: {message}"))
}

/// Clears what `--export` leaves out: exactly what Calico's clears (generation, selfLink and
/// managedFields stay).
pub(crate) fn export(resource: &mut AnyResource) {
    let meta = resource.metadata_mut();
    meta.namespace.clear();
    meta.uid.clear();
    meta.resource_version.clear();
    meta.creation_timestamp = None;
    meta.deletion_timestamp = None;
    meta.deletion_grace_period_seconds = None;
}

async fn list(
    connection: &Connection,
    kind: KindRef,
    namespace: Option<String>,
    selector: Option<&calico_selector::Selector>,
) -> Result<GetResult, String> {
    let options = ListOptions {
        namespace,
        ..ListOptions::all(kind)
    };
    let list = connection
        .client
        .list(&options)
        .await
        .map_err(|e| e.to_string())?;
    let mut items: Vec<AnyResource> = list
        .items
        .into_iter()
        .filter(|item| selector.is_none_or(|s| s.evaluate(&item.metadata().labels)))
        .collect();
    if kind.kind() == "Tier" {
        calico_manifest::list::sort_tiers(&mut items);
    }
    Ok(GetResult::List {
        kind: kind.kind(),
        metadata: ListMeta {
            resource_version: list.revision,
        },
        items,
    })
}

/// Keys per datastore read when a list is printed as it is read. etcd 3.4 walks its index over
/// every key left in the range for each page, so small pages cost etcd time quadratic in the
/// list (50,000 endpoints: 0.9 s of etcd CPU in pages of 500, 0.4 s in pages of 2,000); a
/// page of 1,000 endpoints is about half a megabyte.
const PAGE_SIZE: usize = 1000;

/// Prints a list as `-o json` / `-o yaml` print it, one datastore page at a time, so memory
/// stays flat however large the list (the output is byte-identical to printing it whole).
async fn stream_list(
    connection: &Connection,
    kind: KindRef,
    namespace: Option<String>,
    selector: Option<&calico_selector::Selector>,
    json: bool,
) -> Result<String, Failure> {
    use futures::StreamExt;
    let options = ListOptions {
        namespace,
        ..ListOptions::all(kind)
    };
    let first = match connection.client.list_pages(&options, PAGE_SIZE).await {
        Ok(mut pages) => pages.next().await.map(|page| (page, pages)),
        Err(err) => Some((Err(err), Box::pin(futures::stream::empty()) as _)),
    };
    let (first, rest) = match first {
        Some((Ok(page), rest)) => (page, rest),
        Some((Err(err), _)) => {
            // As when the list is printed whole: nothing found, and the error.
            let empty = if json {
                output::json(&[])
            } else {
                output::yaml(&[])
            };
            return Err(Failure {
                stdout: empty.unwrap_or_default(),
                message: err.to_string(),
            });
        }
        None => return Err(Failure::message("failed to get resources: no answer")),
    };
    // Pages are rendered on the runtime's workers, two at a time (while the datastore reads and
    // decodes the next ones), and written in order.
    let selector = Arc::new(selector.cloned());
    let render = move |list: calico_datastore::ResourceList| {
        let selector = selector.clone();
        async move {
            tokio::spawn(async move {
                let items = list.items.iter().filter(|item| {
                    selector
                        .as_ref()
                        .as_ref()
                        .is_none_or(|s| s.evaluate(&item.metadata().labels))
                });
                output::render_items(json, items).map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| format!("failed to encode the output: {e}"))?
        }
    };
    let first_revision = first.revision.clone();
    let rendered = futures::stream::once(async move { Ok(first) })
        .chain(rest)
        .map(
            |page: calico_datastore::Result<calico_datastore::ResourceList>| {
                let render = render.clone();
                async move { render(page.map_err(|e| e.to_string())?).await }
            },
        )
        .buffered(2);
    let mut rendered = std::pin::pin!(rendered);
    let mut writer = output::ListWriter::begin(
        std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock()),
        json,
        kind.kind(),
        &first_revision,
    )
    .map_err(|e| Failure::message(e.to_string()))?;
    while let Some(result) = rendered.next().await {
        let items = result.map_err(Failure::message)?;
        writer
            .items(&items)
            .map_err(|e| Failure::message(e.to_string()))?;
    }
    writer
        .finish()
        .map_err(|e| Failure::message(e.to_string()))?;
    Ok(String::new())
}

/// What one resource named on the command line or in a file asks for, after calicoctl's
/// namespace rules (`handleNamespace`, then `GetOrList`).
enum Target {
    List(KindRef, Option<String>),
    Get(ResourceKey),
}

/// calicoctl's `handleNamespace` for `get`: the namespace to read, or the error it reports.
fn target(
    kind: KindRef,
    name: &str,
    resource_namespace: &str,
    cli_namespace: &str,
    all: bool,
) -> Result<Target, String> {
    let namespace = if kind.is_namespaced() {
        if all && !cli_namespace.is_empty() {
            return Err(
                "cannot use both --namespace and --all-namespaces flags at the same time".into(),
            );
        }
        if all {
            String::new()
        } else if resource_namespace.is_empty() {
            if cli_namespace.is_empty() {
                "default".to_string()
            } else {
                cli_namespace.to_string()
            }
        } else if cli_namespace.is_empty() || resource_namespace == cli_namespace {
            resource_namespace.to_string()
        } else {
            return Err(format!(
                "resource namespace does not match client namespace. {resource_namespace} != {cli_namespace}"
            ));
        }
    } else if !resource_namespace.is_empty() {
        return Err(format!(
            "namespace should not be specified for a non-namespaced resource. {} is not a namespaced resource",
            kind.kind()
        ));
    } else if all || !cli_namespace.is_empty() {
        return Err(format!("{} is not namespaced", kind.kind()));
    } else {
        String::new()
    };
    if name.is_empty() {
        let scope = (!(kind.is_namespaced() && namespace.is_empty())).then_some(namespace);
        return Ok(Target::List(kind, scope));
    }
    if kind.is_namespaced() && namespace.is_empty() {
        return Err("cannot use --all-namespace flag for getting a single resource".into());
    }
    Ok(Target::Get(ResourceKey::new(
        kind,
        namespace,
        name.to_string(),
    )))
}

/// `--watch`/`--watch-only`: the targets followed through the syncer (see
/// [`crate::commands::watch`]).
async fn watch(
    args: &GetArgs,
    connection: &Connection,
    targets: Vec<Result<Target, String>>,
    format: Format,
    selector: Option<calico_selector::Selector>,
    all_namespaces: bool,
) -> Result<String, Failure> {
    let mut lists = Vec::new();
    let mut errors = Vec::new();
    for target in targets {
        match target {
            Err(message) => errors.push(message),
            Ok(Target::List(kind, namespace)) => lists.push(ListOptions {
                namespace,
                ..ListOptions::all(kind)
            }),
            Ok(Target::Get(key)) => lists.push(ListOptions {
                namespace: key.kind.is_namespaced().then_some(key.namespace),
                name: Some(key.name),
                ..ListOptions::all(key.kind)
            }),
        }
    }
    if !errors.is_empty() {
        return Err(Failure::message(errors.join("\n")));
    }
    let shows_nodes = lists.iter().any(|l| l.kind.kind() == "Node");
    let format = match format {
        Format::Yaml => WatchFormat::Yaml,
        Format::Json => WatchFormat::Json,
        Format::Table(columns) => {
            let mut context = Context::default();
            if shows_nodes {
                context.global_as_number = global_as_number(connection).await;
            }
            WatchFormat::Table(columns, context)
        }
        Format::Template(template) => {
            WatchFormat::Template(template, global_as_number(connection).await)
        }
    };
    let request = WatchRequest {
        targets: lists,
        selector,
        format,
        print_namespace: all_namespaces || !args.file.conn.namespace.is_empty(),
        watch_only: args.watch_only,
        events: args.output_watch_events,
    };
    crate::commands::watch::get(request, connection).await
}

pub async fn run(args: &GetArgs, connection: &Connection) -> Result<String, Failure> {
    let format = parse_format(&args.output).map_err(Failure::message)?;
    let all_namespaces = args.all_namespaces || args.all_namespaces_short;
    let selector = args
        .selector
        .as_deref()
        .map(calico_selector::parse)
        .transpose()
        .map_err(setup_error)?;
    let cli_namespace = &args.file.conn.namespace;

    // What to read: from the file when one is given (calicoctl ignores KIND and NAME then),
    // else KIND and NAMEs (no NAME: the whole list).
    let mut targets: Vec<Result<Target, String>> = Vec::new();
    let names_given = args.file.filename.is_none() && !args.names.is_empty();
    if args.file.filename.is_some() {
        // An empty file or directory is one of get's "failed to get resources" errors.
        let report = |e: crate::input::InputError| match e {
            crate::input::InputError::EmptyFile(_)
            | crate::input::InputError::EmptyDirectory(_) => setup_error(e),
            _ => crud::input_failure(e),
        };
        for resource in crud::read_file_resources_reporting(&args.file, report)? {
            let Some(kind) = KindRef::lookup(resource.kind()) else {
                continue;
            };
            let meta = resource.metadata();
            targets.push(target(
                kind,
                &meta.name,
                &meta.namespace,
                cli_namespace,
                all_namespaces,
            ));
        }
    } else {
        let Some(word) = &args.kind else {
            // Calico's calicoctl crashes here (a Go panic); this one says what is missing.
            return Err(Failure::message(
                "a resource type, or a file given with -f, is required (e.g. calicoctl get ippools)",
            ));
        };
        let kind = registry::resolve_kind(word)
            .ok_or_else(|| setup_error(format!("resource type '{word}' is not supported")))?;
        if args.names.iter().any(String::is_empty) {
            return Err(setup_error("resource name may not be empty"));
        }
        // calicoctl puts -n on resources named on the command line of namespaced kinds only.
        let resource_namespace = if kind.is_namespaced() {
            cli_namespace.as_str()
        } else {
            ""
        };
        if args.names.is_empty() {
            targets.push(target(
                kind,
                "",
                resource_namespace,
                cli_namespace,
                all_namespaces,
            ));
        } else {
            for name in &args.names {
                targets.push(target(
                    kind,
                    name,
                    resource_namespace,
                    cli_namespace,
                    all_namespaces,
                ));
            }
        }
    }
    // (An empty -f with --skip-empty leaves nothing to read, and prints nothing found.)

    if args.watch || args.watch_only {
        return watch(args, connection, targets, format, selector, all_namespaces).await;
    }

    // A lone list printed as JSON or YAML goes out page by page (Tiers are sorted first).
    if let [Ok(Target::List(kind, namespace))] = targets.as_slice() {
        let streamable = match format {
            Format::Json => Some(true),
            Format::Yaml => Some(false),
            _ => None,
        };
        if let (Some(json), false) = (streamable, kind.kind() == "Tier") {
            return stream_list(
                connection,
                *kind,
                namespace.clone(),
                selector.as_ref(),
                json,
            )
            .await;
        }
    }

    let mut results = Vec::new();
    let mut errors = Vec::new();
    for target in targets {
        match target {
            Err(message) => errors.push(message),
            Ok(Target::List(kind, namespace)) => {
                match list(connection, kind, namespace, selector.as_ref()).await {
                    Ok(result) => results.push(result),
                    Err(err) => errors.push(err),
                }
            }
            Ok(Target::Get(key)) => match connection.client.get(&key).await {
                Ok(mut resource) => {
                    if args.export && names_given {
                        export(&mut resource);
                    }
                    results.push(GetResult::Object(resource));
                }
                Err(err) => errors.push(err.to_string()),
            },
        }
    }

    let text = match format {
        Format::Yaml => output::yaml(&results).map_err(|e| e.to_string()),
        Format::Json => output::json(&results).map_err(|e| e.to_string()),
        Format::Table(columns) => {
            let mut context = Context::default();
            let shows_nodes = results.iter().any(|r| match r {
                GetResult::Object(resource) => resource.kind() == "Node",
                GetResult::List { kind, .. } => *kind == "Node",
            });
            if shows_nodes {
                context.global_as_number = global_as_number(connection).await;
            }
            let print_namespace = all_namespaces || !cli_namespace.is_empty();
            table::render(&results, &columns, print_namespace, &context)
        }
        Format::Template(template) => {
            let values = results
                .iter()
                .map(serde_json::to_value)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Failure::message(e.to_string()))?;
            let global_as = global_as_number(connection).await;
            gotemplate::render(&template, &values, global_as)
        }
    }
    .map_err(Failure::message)?;
    if errors.is_empty() {
        Ok(text)
    } else {
        Err(Failure {
            stdout: text,
            message: errors.join("\n"),
        })
    }
}
