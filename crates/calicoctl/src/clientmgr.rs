//! Builds the datastore client from `-c` / the environment, as calicoctl's clientmgr does.

use std::path::Path;
use std::sync::Arc;

use calico_datastore::apiconfig::{
    self, ApiConfig, ConfigError, DatastoreType, ProcessEnvironment,
};
use calico_datastore::client::Client;
use calico_datastore::{EmbeddedStore, KvBackend};
use calico_etcd::EtcdStore;
use calico_kube::KubeBackend;

use crate::report::Failure;

/// A connected client and what the user should be told about it.
pub struct Connection {
    pub client: Client,
}

/// Why no client could be built.
pub enum ConnectError {
    /// Settings are wrong (calicoctl reports these through the command's own error path).
    Config(ConfigError),
    /// The driver could not start.
    Driver(String),
}

impl ConnectError {
    /// calicoctl prints these on stdout and exits 1.
    pub fn into_failure(self) -> Failure {
        match self {
            ConnectError::Config(err @ ConfigError::ReadingFile(_)) => Failure {
                stdout: format!("{err}\n"),
                message: String::new(),
            },
            ConnectError::Config(err) => Failure {
                stdout: format!("Failed to create Calico API client: {err}\n"),
                message: String::new(),
            },
            ConnectError::Driver(err) => Failure {
                stdout: format!("Failed to create Calico API client: {err}\n"),
                message: String::new(),
            },
        }
    }
}

fn read_config_file(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Loads settings (file or environment) without connecting.
pub fn load_config(config_path: &Path) -> Result<ApiConfig, ConfigError> {
    apiconfig::load(config_path, &ProcessEnvironment, &read_config_file)
}

/// Loads settings and connects to the datastore they name.
pub async fn connect(config_path: &Path) -> Result<Connection, ConnectError> {
    let config = load_config(config_path).map_err(ConnectError::Config)?;
    let client = match config.datastore_type {
        DatastoreType::Embedded => {
            let path = apiconfig::embedded_path(&config, &ProcessEnvironment);
            if config.embedded_by_default {
                eprintln!(
                    "Using the embedded datastore {} because no cluster is configured \
                     (set DATASTORE_TYPE=etcdv3 with ETCD_ENDPOINTS, or DATASTORE_TYPE=kubernetes \
                     with KUBECONFIG, to use a cluster; DATASTORE_TYPE=embedded silences this note)",
                    path.display()
                );
            }
            let store =
                EmbeddedStore::open(&path).map_err(|e| ConnectError::Driver(e.to_string()))?;
            Client::new(Arc::new(KvBackend::new(store)))
        }
        DatastoreType::EtcdV3 => {
            let store = EtcdStore::connect_spec(&config.spec)
                .await
                .map_err(|e| ConnectError::Driver(e.to_string()))?;
            Client::new(Arc::new(KvBackend::new(store)))
        }
        DatastoreType::Kubernetes => {
            let backend = KubeBackend::connect(&config.spec)
                .await
                .map_err(|e| ConnectError::Driver(e.to_string()))?;
            Client::new(Arc::new(backend))
        }
    };
    Ok(Connection { client })
}
