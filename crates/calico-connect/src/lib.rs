//! Connects to the datastore Calico's settings name, as libcalico-go's `clientmgr` does for
//! calicoctl, the CNI plugin and the agents: settings come from a config file (`-c`) or the
//! environment ([`load_config`]), and [`connect`] starts the driver they pick, the embedded
//! store (a local file, when nothing points at a cluster), etcd v3, or the Kubernetes API,
//! and returns the v3 [`Client`] over it.
//!
//! ```no_run
//! # async fn run() -> Result<(), calico_connect::ConnectError> {
//! let config = calico_connect::load_config(std::path::Path::new("/etc/calico/calicoctl.cfg"))?;
//! let client = calico_connect::connect(&config).await?;
//! # let _ = client; Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use calico_datastore::apiconfig::{self, ApiConfig, ConfigError, DatastoreType};
use calico_datastore::client::Client;
use calico_datastore::kv::KvError;
use calico_datastore::{EmbeddedStore, KvBackend};
use calico_etcd::EtcdStore;
use calico_kube::KubeBackend;

pub use calico_datastore::apiconfig::{Environment, ProcessEnvironment};

/// Why no client could be built. The texts are the drivers' own; calicoctl prefixes them with
/// `Failed to create Calico API client: ` (a [`ConnectError::Config`] reading the file aside).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The settings are wrong or unreadable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The embedded store's file could not be opened.
    #[error("{0}")]
    Embedded(#[source] KvError),
    /// No etcd member could be reached, or the etcd settings are unusable.
    #[error("{0}")]
    Etcd(#[source] KvError),
    /// The Kubernetes API could not be reached, or its settings are unusable.
    #[error("{0}")]
    Kubernetes(#[source] calico_kube::ConfigError),
}

fn read_config_file(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Loads settings from the config file at `config_path` when it exists, else from the process
/// environment, without connecting.
pub fn load_config(config_path: &Path) -> Result<ApiConfig, ConfigError> {
    apiconfig::load(config_path, &ProcessEnvironment, &read_config_file)
}

/// The embedded store's file these settings use (meaningful for the embedded datastore).
pub fn embedded_path(config: &ApiConfig) -> PathBuf {
    apiconfig::embedded_path(config, &ProcessEnvironment)
}

/// Starts the driver `config` names and returns a client over it, with the IPAM layer's delete
/// cascades attached.
pub async fn connect(config: &ApiConfig) -> Result<Client, ConnectError> {
    let client = match config.datastore_type {
        DatastoreType::Embedded => {
            let store =
                EmbeddedStore::open(embedded_path(config)).map_err(ConnectError::Embedded)?;
            Client::new(Arc::new(KvBackend::new(store)))
        }
        DatastoreType::EtcdV3 => {
            let store = EtcdStore::connect_spec(&config.spec)
                .await
                .map_err(ConnectError::Etcd)?;
            Client::new(Arc::new(KvBackend::new(store)))
        }
        DatastoreType::Kubernetes => {
            let backend = KubeBackend::connect(&config.spec)
                .await
                .map_err(ConnectError::Kubernetes)?;
            Client::new(Arc::new(backend))
        }
    };
    // Deleting a Node or an IPPool releases its IPAM data, as Calico's client does.
    Ok(client.with_ipam(Arc::new(calico_ipam::release::Cascade)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_embedded_config_connects_to_its_file() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("store.db");
        let config_file = dir.path().join("calicoctl.cfg");
        std::fs::write(
            &config_file,
            format!(
                "apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nspec:\n  datastoreType: embedded\n  datastorePath: {}\n",
                file.display()
            ),
        )?;
        let config = load_config(&config_file)?;
        assert_eq!(config.datastore_type, DatastoreType::Embedded);
        assert_eq!(embedded_path(&config), file);
        let client = connect(&config).await?;
        assert_eq!(client.info().datastore_type, "embedded");
        assert!(file.exists());
        Ok(())
    }

    #[tokio::test]
    async fn an_unreachable_etcd_is_an_etcd_error() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let config_file = dir.path().join("calicoctl.cfg");
        std::fs::write(
            &config_file,
            "apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nspec:\n  datastoreType: etcdv3\n  etcdEndpoints: http://127.0.0.1:9\n",
        )?;
        let config = load_config(&config_file)?;
        match connect(&config).await {
            Err(ConnectError::Etcd(_)) => Ok(()),
            Err(other) => Err(format!("expected an etcd error, got {other}").into()),
            Ok(_) => Err("connected to nothing".into()),
        }
    }
}
