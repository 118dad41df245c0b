//! One module per command; each turns parsed arguments into output text or a failure.

pub mod crud;
mod datastore;
mod diff;
mod edit;
mod get;
pub(crate) mod ipam;
mod ipam_check;
mod label;
mod manifests;
mod migrate_v3;
mod patch;
mod validate;
mod version;
mod watch;

use calico_datastore::KindRef;

use crate::cli::{Cli, Command};
use crate::clientmgr::{self, Connection};
use crate::report::Failure;

/// Runs the command the user asked for.
pub fn run(cli: Cli) -> Result<String, Failure> {
    let (config, command) = match &cli.command {
        Command::Validate(args) => return validate::run(args),
        Command::Version(args) => return version::run(args),
        Command::Completion(args) => return Ok(completion(args.shell)),
        Command::Unimplemented(path) => {
            return Err(Failure::message(format!(
                "'{} {path}' is not implemented by this calicoctl: use Calico's calicoctl for it",
                crate::cli::binary_name()
            )))
        }
        Command::Manifests(args) => return manifests::run(args),
        Command::DatastoreMigrateV1ToV3(args) => return migrate_v3::run(args, &cli.context),
        Command::Create(args) => (&args.file.conn.config, &cli.command),
        Command::Apply(args) | Command::Replace(args) | Command::Diff(args) => {
            (&args.conn.config, &cli.command)
        }
        Command::Delete(args) => (&args.file.conn.config, &cli.command),
        Command::Get(args) => (&args.file.conn.config, &cli.command),
        Command::Patch(args) => (&args.conn.config, &cli.command),
        Command::Edit(args) => (&args.conn.config, &cli.command),
        Command::Label(args) => (&args.conn.config, &cli.command),
        Command::IpamSplit(args) => (&args.conn.config, &cli.command),
        Command::IpamShow(args) => (&args.conn.config, &cli.command),
        Command::IpamConfigure(args) => (&args.conn.config, &cli.command),
        Command::IpamRelease(args) => (&args.conn.config, &cli.command),
        Command::IpamCheck(args) => (&args.conn.config, &cli.command),
        Command::DatastoreSync(args) => {
            if args.output != "json" {
                return Err(Failure::message(format!(
                    "unrecognized output format '{}' (datastore sync prints JSON lines: -o json)",
                    args.output
                )));
            }
            (&args.conn.config, &cli.command)
        }
        Command::DatastoreLock(conn)
        | Command::DatastoreUnlock(conn)
        | Command::DatastoreMigratePolicyNames(conn) => (&conn.config, &cli.command),
        Command::DatastoreExport(args) => (&args.conn.config, &cli.command),
        Command::DatastoreImport(args) => (&args.conn.config, &cli.command),
    };
    if !cli.context.is_empty() {
        // calicoctl passes --context on to the Kubernetes settings this way.
        std::env::set_var("K8S_CURRENT_CONTEXT", &cli.context);
    }
    runtime()?.block_on(async {
        let connection = clientmgr::connect(config)
            .await
            .map_err(|e| e.into_failure())?;
        let connection = &connection;
        // `datastore migrate import` skips the version check on purpose, as Calico's does.
        if !cli.allow_version_mismatch && !matches!(command, Command::DatastoreImport(_)) {
            // Each command reports the mismatch as it reports a failure to read what it needs.
            version::check_mismatch(connection)
                .await
                .map_err(|failure| match command {
                    Command::Get(_) => {
                        Failure::message(format!("failed to get resources: {}", failure.message))
                    }
                    Command::Label(args) => Failure::message(format!(
                        "failed to get {} {}, error {}",
                        args.kind, args.name, failure.message
                    )),
                    _ => failure,
                })?;
        }
        match command {
            Command::Create(args) => crud::create(args, connection).await,
            Command::Apply(args) => crud::apply(args, connection).await,
            Command::Replace(args) => crud::replace(args, connection).await,
            Command::Diff(args) => diff::run(args, connection).await,
            Command::Edit(args) => edit::run(args, connection).await,
            Command::Delete(args) => crud::delete(args, connection).await,
            Command::Get(args) => get::run(args, connection).await,
            Command::Patch(args) => patch::run(args, connection).await,
            Command::Label(args) => label::run(args, connection).await,
            Command::IpamSplit(args) => ipam::split(args, connection).await,
            Command::IpamShow(args) => ipam::show(args, connection).await,
            Command::IpamConfigure(args) => ipam::configure(args, connection).await,
            Command::IpamRelease(args) => ipam::release(args, connection).await,
            Command::IpamCheck(args) => ipam_check::run(args, connection).await,
            Command::DatastoreLock(_) => datastore::lock(connection).await,
            Command::DatastoreUnlock(_) => datastore::unlock(connection).await,
            Command::DatastoreExport(args) => datastore::export(args, connection).await,
            Command::DatastoreMigratePolicyNames(_) => {
                datastore::migrate_policy_names(connection).await
            }
            Command::DatastoreImport(args) => datastore::import(args, connection).await,
            Command::DatastoreSync(args) => {
                watch::sync(&args.syncer, args.node.clone(), connection).await
            }
            Command::Validate(_)
            | Command::Version(_)
            | Command::Completion(_)
            | Command::Manifests(_)
            | Command::DatastoreMigrateV1ToV3(_)
            | Command::Unimplemented(_) => Ok(String::new()),
        }
    })
}

/// The runtime a command's datastore work runs on (two workers: builders share the cores).
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::message(format!("failed to start: {e}")))
}

/// The completion script for `shell`, for the name the binary was invoked as, covering the
/// commands and flags of [`crate::cobra`]'s tree.
fn completion(shell: clap_complete::Shell) -> String {
    let name = crate::cli::binary_name();
    let mut command = crate::cobra::clap_command(name);
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Creates ClusterInformation and the built-in tiers if missing (failures are ignored, as
/// calicoctl ignores them), before create, apply and replace write `resources`. Like
/// calicoctl, nothing is initialized when there is nothing to write (an empty file or
/// directory), and no Calico version or cluster type is claimed: those belong to the
/// components that run the cluster.
pub async fn ensure_initialized(connection: &Connection, resources: &[calico_api::AnyResource]) {
    if resources.is_empty() {
        return;
    }
    let _ = connection.client.ensure_initialized("", "").await;
}

/// The namespace a command-line query covers: `Some(ns)`, or `None` for all namespaces.
pub fn namespace_for(
    kind: KindRef,
    cli_namespace: &str,
    all: bool,
) -> Result<Option<String>, String> {
    if kind.is_namespaced() {
        if all && !cli_namespace.is_empty() {
            return Err(
                "cannot use both --namespace and --all-namespaces flags at the same time".into(),
            );
        }
        if all {
            return Ok(None);
        }
        Ok(Some(if cli_namespace.is_empty() {
            "default".to_string()
        } else {
            cli_namespace.to_string()
        }))
    } else if all || !cli_namespace.is_empty() {
        Err(format!("{} is not namespaced", kind.kind()))
    } else {
        Ok(Some(String::new()))
    }
}
