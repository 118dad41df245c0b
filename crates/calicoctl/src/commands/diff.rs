//! `diff -f FILE` (ours, kubectl's contract): each resource as stored, as `get -o yaml --export`
//! shows it, against what `apply` would store (the dry-run client: defaults, validation and the
//! datastore's checks, nothing written). Exit status 0 without differences, 1 with, 2 on an
//! error. `CALICOCTL_EXTERNAL_DIFF` runs a program on two directories instead, as
//! `KUBECTL_EXTERNAL_DIFF` does for kubectl.

use std::path::Path;

use calico_api::AnyResource;
use calico_datastore::ResourceKey;

use crate::cli::FileArgs;
use crate::clientmgr::Connection;
use crate::commands::{crud, get};
use crate::output::{self, GetResult};
use crate::report::Failure;
use crate::resources;

/// The variable naming an external diff program (with arguments, split at whitespace).
pub const EXTERNAL_DIFF: &str = "CALICOCTL_EXTERNAL_DIFF";

/// One resource's two sides: its file name (kubectl's `group.version.Kind.namespace.name`),
/// the stored YAML (`None`: not stored) and the YAML apply would store.
struct Pair {
    file: String,
    live: Option<String>,
    merged: String,
}

fn exported_yaml(mut resource: AnyResource) -> Result<String, Failure> {
    get::export(&mut resource);
    output::yaml(&[GetResult::Object(resource)]).map_err(|e| Failure::message(e.to_string()))
}

pub async fn run(args: &FileArgs, connection: &Connection) -> Result<String, Failure> {
    let resources = crud::read_file_resources(args)?;
    let client = connection.client.dry_run();
    let mut pairs = Vec::with_capacity(resources.len());
    for mut resource in resources {
        resources::handle_namespace(&mut resource, &args.conn.namespace)
            .map_err(Failure::message)?;
        let key = ResourceKey::of(&resource);
        let failed = |err: calico_datastore::DatastoreError| {
            Failure::message(format!("failed to diff {key}: {err}"))
        };
        let live = match client.get(&key).await {
            Ok(stored) => Some(exported_yaml(stored)?),
            Err(err) if err.is_not_found() => None,
            Err(err) => return Err(failed(err)),
        };
        let merged = resources::apply(&client, resource).await.map_err(failed)?;
        pairs.push(Pair {
            file: format!(
                "projectcalico.org.v3.{}.{}.{}",
                key.kind.kind(),
                key.namespace,
                key.name
            ),
            live,
            merged: exported_yaml(merged)?,
        });
    }
    let program = std::env::var(EXTERNAL_DIFF).unwrap_or_default();
    if program.trim().is_empty() {
        built_in(&pairs)
    } else {
        external(&program, &pairs)
    }
}

/// A unified diff per resource that differs (`--- live/FILE`, `+++ merged/FILE`).
fn built_in(pairs: &[Pair]) -> Result<String, Failure> {
    let mut out = String::new();
    for pair in pairs {
        let live = pair.live.as_deref().unwrap_or("");
        if live == pair.merged {
            continue;
        }
        let diff = similar::TextDiff::from_lines(live, pair.merged.as_str());
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(3)
                .header(
                    &format!("live/{}", pair.file),
                    &format!("merged/{}", pair.file),
                )
                .to_string(),
        );
    }
    if out.is_empty() {
        Ok(out)
    } else {
        Err(Failure {
            stdout: out,
            message: String::new(),
        })
    }
}

fn write_side(dir: &Path, file: &str, text: &str) -> Result<(), Failure> {
    std::fs::write(dir.join(file), text)
        .map_err(|e| Failure::message(format!("failed to write {}: {e}", dir.join(file).display())))
}

/// kubectl's external diff: the stored resources in a `LIVE-*` directory, what apply would
/// store in a `MERGED-*` one (a resource not stored has no live file), the program run on the
/// two; its exit status 0 or 1 is ours, anything else an error.
fn external(program: &str, pairs: &[Pair]) -> Result<String, Failure> {
    let temp = |prefix: &str| {
        tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .map_err(|e| Failure::message(format!("failed to create a temporary directory: {e}")))
    };
    let (live, merged) = (temp("LIVE-")?, temp("MERGED-")?);
    for pair in pairs {
        if let Some(text) = &pair.live {
            write_side(live.path(), &pair.file, text)?;
        }
        write_side(merged.path(), &pair.file, &pair.merged)?;
    }
    let mut words = program.split_whitespace();
    let command = words.next().unwrap_or("diff");
    let output = std::process::Command::new(command)
        .args(words)
        .arg(live.path())
        .arg(merged.path())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| Failure::message(format!("failed to run {EXTERNAL_DIFF} ({command}): {e}")))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    match output.status.code() {
        Some(0) => Ok(stdout),
        Some(1) => Err(Failure {
            stdout,
            message: String::new(),
        }),
        _ => Err(Failure {
            stdout,
            message: format!("{EXTERNAL_DIFF} ({command}) failed: {}", output.status),
        }),
    }
}
