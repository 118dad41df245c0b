//! `calicoctl version`, and the client/cluster version check other commands run first.

use calico_datastore::{DatastoreError, KindRef, ResourceKey};

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

/// The lines `version` prints about the cluster, or why they cannot be printed (a missing
/// ClusterInformation included, as calicoctl reports it).
async fn cluster_lines(connection: &Connection) -> Result<String, Failure> {
    let Some(kind) = KindRef::lookup("ClusterInformation") else {
        return Err(Failure::message(
            "unable to retrieve Cluster Version or Type: no ClusterInformation kind",
        ));
    };
    let info = connection
        .client
        .get(&ResourceKey::new(kind, "", "default"))
        .await
        .map_err(|err| {
            Failure::message(format!("unable to retrieve Cluster Version or Type: {err}"))
        })?;
    let spec = info
        .to_json_value()
        .ok()
        .and_then(|v| v.get("spec").cloned())
        .unwrap_or_default();
    let field = |name: &str| {
        spec.get(name)
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or("unknown")
            .to_string()
    };
    Ok(format!(
        "Cluster Version:   {}\nCluster Type:      {}\n",
        field("calicoVersion"),
        field("clusterType")
    ))
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
            // A zero duration means no polling, as in calicoctl.
            Ok(d) if d.as_nanos() > 0 => Some(std::time::Duration::from_nanos(d.as_nanos() as u64)),
            Ok(_) => None,
            Err(_) => {
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
            // The client lines are printed even when the cluster's cannot be.
            return match cluster_lines(&connection).await {
                Ok(lines) => {
                    out.push_str(&lines);
                    Ok(out)
                }
                Err(failure) => Err(Failure {
                    stdout: out,
                    message: failure.message,
                }),
            };
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
                Err(failure) => {
                    // Shown again once it can be read.
                    shown.clear();
                    eprintln!("{}", failure.message);
                }
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
        // A datastore that cannot be reached or refuses the credentials is not a version
        // question: the flag would only move the same failure to the next request, so
        // Calico's hint is left out there.
        Err(err @ (DatastoreError::Unauthorized(_) | DatastoreError::Store(_))) => {
            return Err(Failure::message(format!(
                "unable to get Cluster Information to verify version mismatch: {err}"
            )))
        }
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
