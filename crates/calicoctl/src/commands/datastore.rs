//! `calicoctl datastore migrate …`: locking and unlocking the datastore (ClusterInformation's
//! `datastoreReady`, through `calico-datastore`), and the datastore checks of `export` and
//! `import`, worded as Calico's calicoctl words them; the export and import themselves are
//! `calico-migrate`'s.

use calico_migrate::export::ExportOptions;
use calico_migrate::file::MigrationFile;
use calico_migrate::import::{ApplyFailure, ImportOptions, Observer};
use calico_migrate::verify::Report;

use crate::cli::{DatastoreExportArgs, DatastoreImportArgs};
use crate::clientmgr::{self, Connection};
use crate::commands::crud;
use crate::progress::{Progress, Steps};
use crate::report::Failure;

/// `datastore migrate lock`.
pub async fn lock(connection: &Connection) -> Result<String, Failure> {
    calico_migrate::import::lock(&connection.client)
        .await
        .map_err(Failure::message)?;
    Ok("Datastore locked.\n".to_string())
}

/// `datastore migrate unlock`.
pub async fn unlock(connection: &Connection) -> Result<String, Failure> {
    calico_migrate::import::unlock(&connection.client)
        .await
        .map_err(Failure::message)?;
    Ok("Datastore unlocked.\n".to_string())
}

/// `datastore migrate export`: only from a locked etcd datastore; with `--any-datastore`
/// (ours) the whole of any datastore, locked or not.
pub async fn export(
    args: &DatastoreExportArgs,
    connection: &Connection,
) -> Result<String, Failure> {
    if !args.any_datastore {
        let locked = connection.client.datastore_locked().await.map_err(|err| {
            Failure::message(format!(
                "error while checking if datastore was locked: error retrieving ClusterInformation: {err}"
            ))
        })?;
        if !locked {
            return Err(Failure::message(
                "datastore is not locked. Run the `calicoctl datastore migrate lock` command in order to begin migration",
            ));
        }
        let datastore = connection.client.info().datastore_type;
        if datastore != "etcdv3" {
            return Err(Failure::message(format!(
                "invalid datastore type: {datastore} to export from for datastore migration. Datastore type must be etcdv3"
            )));
        }
    }
    let options = ExportOptions {
        full: args.any_datastore,
    };
    let progress = Progress::counter("exporting");
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let result = calico_migrate::export::export_with(
        &connection.client,
        options,
        &mut |n| progress.inc_by(n),
        &mut out,
    )
    .await;
    drop(progress);
    // What was written before a failure is printed, as Calico prints each kind as it goes.
    let _ = std::io::Write::flush(&mut out);
    result
        .map(|_| String::new())
        .map_err(|err| Failure::message(err.to_string()))
}

/// The file an import reads (scanned for its parts; standard input copied to a temporary
/// file), or Calico's text of why it cannot be read.
fn read_file(filename: &str) -> Result<MigrationFile, String> {
    if filename == "-" {
        let shown = "/dev/stdin";
        MigrationFile::spool(std::io::stdin().lock(), shown)
            .map_err(|e| format!("read {shown}: {}", crate::input::go_io_reason(&e)))
    } else {
        let file = std::fs::File::open(filename)
            .map_err(|e| format!("open {filename}: {}", crate::input::go_io_reason(&e)))?;
        MigrationFile::open(file, filename)
            .map_err(|e| format!("read {filename}: {}", crate::input::go_io_reason(&e)))
    }
}

/// At most this many differences are listed; the count says how many there are.
const MAX_LISTED: usize = 100;

/// A verification as printed: the summary, then one line per difference.
fn verification_text(report: &Report) -> String {
    let mut text = report.summary();
    if !report.differences.is_empty() {
        text.push(':');
    }
    for difference in report.differences.iter().take(MAX_LISTED) {
        text.push_str(&format!("\n  {difference}"));
    }
    if report.differences.len() > MAX_LISTED {
        text.push_str(&format!(
            "\n  … and {} more",
            report.differences.len() - MAX_LISTED
        ));
    }
    text
}

/// `datastore migrate import -f FILE --verify` (ours): compares the file with the datastore
/// and writes nothing. The report on stdout; exit code 1 when anything differs.
async fn verify_only(
    args: &DatastoreImportArgs,
    connection: &Connection,
) -> Result<String, Failure> {
    let file = read_file(&args.filename)
        .map_err(|e| Failure::message(format!("error while reading migration file: {e}")))?;
    let document = file
        .document()
        .map_err(|e| Failure::message(e.to_string()))?;
    let steps = Steps::default();
    let report = calico_migrate::verify::verify_document(&connection.client, &document, &steps)
        .await
        .map_err(|e| Failure::message(e.to_string()))?;
    drop(steps);
    let text = verification_text(&report) + "\n";
    if report.is_clean() {
        Ok(text)
    } else {
        Err(Failure {
            stdout: text,
            message: String::new(),
        })
    }
}

/// `datastore migrate import -f FILE`: only into a Kubernetes datastore (with
/// `--any-datastore`, ours, into any). What landed is verified at the end: a clean
/// verification prints nothing (Calico's output stays as it is), differences are listed on
/// stderr with exit code 1; after a failure once writing has begun, the verification follows
/// Calico's error on stderr, saying what landed.
pub async fn import(
    args: &DatastoreImportArgs,
    connection: &Connection,
) -> Result<String, Failure> {
    if args.verify {
        return verify_only(args, connection).await;
    }
    let datastore = connection.client.info().datastore_type;
    if datastore != "kubernetes" && !args.any_datastore {
        return Err(Failure::message(format!(
            "invalid datastore type: {datastore} to import to for datastore migration. Datastore type must be kubernetes"
        )));
    }
    if datastore == "kubernetes" {
        ensure_crds(args).await.map_err(|err| {
            Failure::message(format!(
                "error applying the CRDs necessary to begin datastore import: {err}"
            ))
        })?;
    }
    let file = read_file(&args.filename);
    let options = ImportOptions {
        resume: args.resume,
        verify: true,
    };
    let steps = Steps::default();
    let client = &connection.client;
    let tick = || steps.advance(1);
    let apply = |resources| apply_resources(client, resources, &tick);
    let mut out = std::io::stdout().lock();
    let imported =
        calico_migrate::import::import(client, file, apply, options, &steps, &mut out).await;
    drop(steps);
    let verification = imported
        .verification
        .map(|verification| match verification {
            Ok(report) => (report.is_clean(), verification_text(&report)),
            Err(err) => (false, format!("Verification could not be made: {err}")),
        });
    match (imported.outcome, verification) {
        (Ok(()), None) | (Ok(()), Some((true, _))) => Ok(String::new()),
        (Ok(()), Some((false, text))) => Err(Failure::message(text)),
        (Err(err), None) => Err(Failure::message(err.to_string())),
        (Err(err), Some((_, text))) => Err(Failure::message(format!("{err}\n{text}"))),
    }
}

/// Resources of an import's file through `apply`'s path, each outcome as Calico's import
/// reads its apply results.
async fn apply_resources(
    client: &calico_datastore::client::Client,
    resources: Vec<calico_api::AnyResource>,
    tick: &(dyn Fn() + Sync),
) -> Vec<Result<(), ApplyFailure>> {
    crud::apply_resources(client, resources, tick)
        .await
        .into_iter()
        .map(|outcome| match outcome.error {
            None => Ok(()),
            Some(_)
                if outcome.kind == "Node"
                    && outcome.cause.as_deref() == Some("resource does not exist") =>
            {
                Err(ApplyFailure::MissingNode(outcome.name))
            }
            Some(text) => Err(ApplyFailure::Other(text)),
        })
        .collect()
}

/// Creates Calico's `crd.projectcalico.org/v1` CRDs, or updates those that exist, as Calico's
/// import does before anything else. Into a datastore in `projectcalico.org/v3` mode (the v3
/// CRDs served and the v1 ones not, or `CALICO_API_GROUP` saying so) ours ensures the v3 CRDs
/// instead: Calico's import knows only the v1 ones, and serving both groups would switch every
/// component's autodetection of the mode back to v1.
async fn ensure_crds(args: &DatastoreImportArgs) -> Result<(), String> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{Api, PostParams};
    let spec = clientmgr::load_config(&args.conn.config)
        .map_err(|err| err.to_string())?
        .spec;
    let client = calico_kube::config::connect(&spec)
        .await
        .map_err(|err| err.to_string())?
        .client;
    let group = match calico_kube::mode::detect(&client, &spec).await {
        calico_kube::Mode::V1 => calico_crds::Group::CrdV1,
        calico_kube::Mode::V3 => calico_crds::Group::V3,
    };
    let api: Api<CustomResourceDefinition> = Api::all(client);
    let crds = calico_crds::crds(group).map_err(|err| err.to_string())?;
    let text = |err: kube::Error| match err {
        kube::Error::Api(status) => status.message,
        other => other.to_string(),
    };
    for crd in crds {
        let mut crd: CustomResourceDefinition =
            serde_json::from_value(crd).map_err(|err| err.to_string())?;
        let name = crd.metadata.name.clone().unwrap_or_default();
        match api.create(&PostParams::default(), &crd).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {
                let current = api.get(&name).await.map_err(|err| {
                    format!(
                        "error retrieving existing CRD to update: {name}: {}",
                        text(err)
                    )
                })?;
                crd.metadata.resource_version = current.metadata.resource_version;
                api.replace(&name, &PostParams::default(), &crd)
                    .await
                    .map_err(|err| format!("error updating CRD {name}: {}", text(err)))?;
            }
            Err(err) => return Err(format!("error creating CRD {name}: {}", text(err))),
        }
    }
    Ok(())
}

/// `datastore migrate-policy-names`: default-tier policies stored under their pre-3.32
/// `default.<name>` moved to their v3 names.
pub async fn migrate_policy_names(connection: &Connection) -> Result<String, Failure> {
    let migrated =
        calico_migrate::policy_names::migrate_policy_names(connection.client.backend().as_ref())
            .await
            .map_err(|e| Failure::message(e.to_string()))?;
    Ok(format!(
        "Policy name migration complete, migrated {migrated} policies.\n"
    ))
}
