//! `calicoctl datastore migrate …`: locking and unlocking the datastore (ClusterInformation's
//! `datastoreReady`, through `calico-datastore`), and the datastore checks of `export` and
//! `import`, worded as Calico's calicoctl words them; the export and import themselves are
//! `calico-migrate`'s.

use calico_migrate::import::{ApplyFailure, ApplyReport};

use crate::cli::DatastoreImportArgs;
use crate::clientmgr::{self, Connection};
use crate::commands::crud;
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

/// `datastore migrate export`: only from a locked etcd datastore.
pub async fn export(connection: &Connection) -> Result<String, Failure> {
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
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let result = calico_migrate::export::export(&connection.client, &mut out).await;
    // What was written before a failure is printed, as Calico prints each kind as it goes.
    let _ = std::io::Write::flush(&mut out);
    result
        .map(|_| String::new())
        .map_err(|err| Failure::message(err.to_string()))
}

/// `datastore migrate import -f FILE`: only into a Kubernetes datastore.
pub async fn import(
    args: &DatastoreImportArgs,
    connection: &Connection,
) -> Result<String, Failure> {
    let datastore = connection.client.info().datastore_type;
    if datastore != "kubernetes" {
        return Err(Failure::message(format!(
            "invalid datastore type: {datastore} to import to for datastore migration. Datastore type must be kubernetes"
        )));
    }
    ensure_crds(args).await.map_err(|err| {
        Failure::message(format!(
            "error applying the CRDs necessary to begin datastore import: {err}"
        ))
    })?;
    let shown = args.filename.clone();
    let file = if args.filename == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes)
            .map(|_| bytes)
            .map_err(|e| format!("read /dev/stdin: {}", crate::input::go_io_reason(&e)))
    } else {
        std::fs::read(&args.filename)
            .map_err(|e| format!("open {shown}: {}", crate::input::go_io_reason(&e)))
    };
    let shown = if args.filename == "-" {
        "/dev/stdin".to_string()
    } else {
        shown
    };
    let apply = |text: String| apply_resources(connection, text, shown.clone());
    let mut out = std::io::stdout().lock();
    calico_migrate::import::import(&connection.client, file, &shown, apply, &mut out)
        .await
        .map(|()| String::new())
        .map_err(|err| Failure::message(err.to_string()))
}

/// The resources part of an import through `apply`'s path, reported as Calico's import reads
/// its apply results.
async fn apply_resources(
    connection: &Connection,
    text: String,
    source: String,
) -> Result<ApplyReport, String> {
    let entries = calico_manifest::read_manifest(&source, &text).map_err(|e| e.to_string())?;
    let resources: Vec<_> = entries.into_iter().map(|entry| entry.resource).collect();
    let single_kind = resources
        .first()
        .map(|r| r.kind())
        .filter(|first| resources.iter().all(|r| r.kind() == *first));
    let outcomes = crud::apply_resources(connection, resources, "").await;
    let mut report = ApplyReport {
        single_kind: single_kind.map(str::to_string),
        ..ApplyReport::default()
    };
    for outcome in outcomes {
        match outcome.error {
            None => report.succeeded += 1,
            Some(_)
                if outcome.kind == "Node"
                    && outcome.cause.as_deref() == Some("resource does not exist") =>
            {
                report
                    .failures
                    .push(ApplyFailure::MissingNode(outcome.name))
            }
            Some(text) => report.failures.push(ApplyFailure::Other(text)),
        }
    }
    Ok(report)
}

/// Creates Calico's `crd.projectcalico.org/v1` CRDs, or updates those that exist, as Calico's
/// import does before anything else.
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
    let api: Api<CustomResourceDefinition> = Api::all(client);
    let crds = calico_crds::crds(calico_crds::Group::CrdV1).map_err(|err| err.to_string())?;
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
