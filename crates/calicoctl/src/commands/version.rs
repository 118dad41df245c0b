//! `calicoctl version`, and the client/cluster version check other commands run first.

use calico_datastore::{KindRef, ResourceKey};

use crate::cli::VersionArgs;
use crate::clientmgr::Connection;
use crate::report::Failure;

/// The Calico release this calicoctl is a drop-in for; it is what it writes to
/// ClusterInformation and compares with the cluster's version.
pub const CLIENT_VERSION: &str = match option_env!("CALICOCTL_VERSION") {
    Some(version) => version,
    None => "v3.32.0",
};

fn git_commit() -> &'static str {
    option_env!("CALICOCTL_GIT_COMMIT").unwrap_or(concat!("calico-rs-", env!("CARGO_PKG_VERSION")))
}

/// The lines `version` prints about the cluster, or why they cannot be printed.
async fn cluster_lines(connection: &Connection) -> Result<String, Failure> {
    let mut out = String::new();
    let (version, cluster_type) = match cluster_information(connection).await {
        Ok(Some(spec)) => {
            let field = |name: &str| {
                spec.get(name)
                    .and_then(serde_json::Value::as_str)
                    .filter(|s| !s.is_empty())
                    .unwrap_or("unknown")
                    .to_string()
            };
            (field("calicoVersion"), field("clusterType"))
        }
        Ok(None) => ("unknown".to_string(), "unknown".to_string()),
        Err(err) => {
            return Err(Failure::message(format!(
                "unable to retrieve Cluster Version or Type: {err}"
            )))
        }
    };
    out.push_str(&format!("Cluster Version:   {version}\n"));
    out.push_str(&format!("Cluster Type:      {cluster_type}\n"));
    let info = connection.client.info();
    out.push_str(&format!(
        "Datastore:         {} ({})\n",
        info.datastore_type, info.location
    ));
    Ok(out)
}

async fn cluster_information(
    connection: &Connection,
) -> Result<Option<serde_json::Value>, calico_datastore::DatastoreError> {
    let Some(kind) = KindRef::lookup("ClusterInformation") else {
        return Ok(None);
    };
    match connection
        .client
        .get(&ResourceKey::new(kind, "", "default"))
        .await
    {
        Ok(info) => Ok(info
            .to_json_value()
            .ok()
            .and_then(|v| v.get("spec").cloned())),
        Err(err) if err.is_not_found() => Ok(None),
        Err(err) => Err(err),
    }
}

fn client_lines() -> String {
    format!(
        "Client Version:    {CLIENT_VERSION}\nGit commit:        {}\n",
        git_commit()
    )
}

pub fn run(args: &VersionArgs) -> Result<String, Failure> {
    let mut out = client_lines();
    if args.client {
        return Ok(out);
    }
    let poll = match &args.poll {
        None => None,
        Some(text) => match calico_api::Duration::parse(text) {
            Ok(d) if d.as_nanos() > 0 => Some(std::time::Duration::from_nanos(d.as_nanos() as u64)),
            _ => {
                return Err(Failure::message(format!(
                    "invalid poll duration specified: {text}"
                )))
            }
        },
    };
    let config = if args.config.is_empty() {
        std::path::PathBuf::from(calico_datastore::apiconfig::DEFAULT_CONFIG_PATH)
    } else {
        std::path::PathBuf::from(&args.config)
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::message(format!("failed to start: {e}")))?;
    runtime.block_on(async {
        let Ok(connection) = crate::clientmgr::connect(&config).await else {
            out.push_str("Unable to detect installed Calico version\n");
            return Ok(out);
        };
        let Some(interval) = poll else {
            out.push_str(&cluster_lines(&connection).await?);
            return Ok(out);
        };
        // Poll until interrupted, printing a line only when it changes.
        use std::io::Write;
        let mut stdout = std::io::stdout();
        let _ = stdout.write_all(out.as_bytes());
        let mut shown: Vec<String> = Vec::new();
        loop {
            match cluster_lines(&connection).await {
                Ok(text) => {
                    for (i, line) in text.lines().enumerate() {
                        if shown.get(i).map(String::as_str) != Some(line) {
                            let _ = writeln!(stdout, "{line}");
                        }
                    }
                    shown = text.lines().map(String::from).collect();
                }
                Err(failure) => eprintln!("{}", failure.message),
            }
            let _ = stdout.flush();
            tokio::time::sleep(interval).await;
        }
    })
}

/// `v3.32.1-0.dev` → `3.32.1`.
fn normalise(version: &str) -> &str {
    let version = version.strip_prefix('v').unwrap_or(version);
    version.split('-').next().unwrap_or(version)
}

/// Refuses to run against a cluster of another Calico version (skipped when ClusterInformation
/// is missing or has no version).
pub async fn check_mismatch(connection: &Connection) -> Result<(), Failure> {
    let Some(kind) = KindRef::lookup("ClusterInformation") else {
        return Ok(());
    };
    let key = ResourceKey::new(kind, "", "default");
    let info = match connection.client.get(&key).await {
        Ok(info) => info,
        Err(err) if err.is_not_found() => return Ok(()),
        Err(err) => {
            return Err(Failure::message(format!(
                "unable to get Cluster Information to verify version mismatch: {err}\nUse --allow-version-mismatch to override"
            )))
        }
    };
    let cluster_version = info
        .to_json_value()
        .ok()
        .and_then(|v| {
            v.pointer("/spec/calicoVersion")
                .and_then(|s| s.as_str().map(String::from))
        })
        .unwrap_or_default();
    if cluster_version.is_empty() {
        return Ok(());
    }
    if normalise(&cluster_version) != normalise(CLIENT_VERSION) {
        return Err(Failure::message(format!(
            "version mismatch.\nClient Version:   {CLIENT_VERSION}\nCluster Version:  {}\nUse --allow-version-mismatch to override",
            normalise(&cluster_version)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_normalise_like_calicoctl() {
        assert_eq!(normalise("v3.32.0"), "3.32.0");
        assert_eq!(normalise("v3.32.0-1.dev"), "3.32.0");
        assert_eq!(normalise("3.31.2"), "3.31.2");
    }
}
