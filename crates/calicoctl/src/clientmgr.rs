//! Builds the datastore client from `-c` / the environment (`calico-connect`), and words its
//! failures as calicoctl's clientmgr does.

use std::path::Path;

use calico_connect::ConnectError as DriverError;
use calico_datastore::apiconfig::{ApiConfig, ConfigError};
use calico_datastore::client::Client;

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

/// Loads settings (file or environment) without connecting.
pub fn load_config(config_path: &Path) -> Result<ApiConfig, ConfigError> {
    calico_connect::load_config(config_path)
}

/// Loads settings and connects to the datastore they name.
pub async fn connect(config_path: &Path) -> Result<Connection, ConnectError> {
    let config = load_config(config_path).map_err(ConnectError::Config)?;
    if config.embedded_by_default {
        eprintln!(
            "Using the embedded datastore {} because no cluster is configured \
             (set DATASTORE_TYPE=etcdv3 with ETCD_ENDPOINTS, or DATASTORE_TYPE=kubernetes \
             with KUBECONFIG, to use a cluster; DATASTORE_TYPE=embedded silences this note)",
            calico_connect::embedded_path(&config).display()
        );
    }
    match calico_connect::connect(&config).await {
        Ok(client) => Ok(Connection { client }),
        Err(DriverError::Config(err)) => Err(ConnectError::Config(err)),
        Err(err) => Err(ConnectError::Driver(err.to_string())),
    }
}
