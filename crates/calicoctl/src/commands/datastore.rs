//! `calicoctl datastore migrate …`: locking and unlocking the datastore (ClusterInformation's
//! `datastoreReady`, through `calico-datastore`), and the datastore checks of `export` and
//! `import`, worded as Calico's calicoctl words them; the export and import themselves are
//! `calico-migrate`'s.

use crate::clientmgr::Connection;
use crate::report::Failure;

/// `datastore migrate lock`.
pub async fn lock(connection: &Connection) -> Result<String, Failure> {
    let client = &connection.client;
    client.ensure_initialized("", "").await.map_err(|err| {
        Failure::message(format!(
            "unable to initialize cluster information for the datastore migration: {err}"
        ))
    })?;
    set_ready(connection, false, "locking").await?;
    Ok("Datastore locked.\n".to_string())
}

/// `datastore migrate unlock`.
pub async fn unlock(connection: &Connection) -> Result<String, Failure> {
    set_ready(connection, true, "unlocking").await?;
    Ok("Datastore unlocked.\n".to_string())
}

async fn set_ready(connection: &Connection, ready: bool, doing: &str) -> Result<(), Failure> {
    // Calico reads, then updates; the two steps have their own messages.
    let client = &connection.client;
    client.datastore_locked().await.map_err(|err| {
        Failure::message(format!(
            "error retrieving ClusterInformation for {doing}: {err}"
        ))
    })?;
    client.set_datastore_ready(ready).await.map_err(|err| {
        Failure::message(format!(
            "error updating ClusterInformation for {doing}: {err}"
        ))
    })
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
pub async fn import(connection: &Connection) -> Result<String, Failure> {
    let datastore = connection.client.info().datastore_type;
    if datastore != "kubernetes" {
        return Err(Failure::message(format!(
            "invalid datastore type: {datastore} to import to for datastore migration. Datastore type must be kubernetes"
        )));
    }
    Err(not_implemented("import"))
}

fn not_implemented(what: &str) -> Failure {
    Failure::message(format!(
        "'{} datastore migrate {what}' is not implemented by this calicoctl: use Calico's calicoctl for it",
        crate::cli::binary_name()
    ))
}
