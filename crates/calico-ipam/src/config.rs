//! Changing the cluster-wide IPAM settings (libcalico-go's `SetIPAMConfig`, calicoctl's
//! `ipam configure`): strict affinity, the blocks-per-host limit, KubeVirt address
//! persistence and the release cooldown.

use calico_api::model::IPAMConfig;
use calico_datastore::client::Client;
use calico_datastore::{DatastoreError, ModelKey, ModelValue};
use thiserror::Error;

use crate::query::ipam_config;

/// The KubeVirt address persistence values Calico accepts.
pub const VM_ADDRESS_PERSISTENCE_VALUES: [&str; 2] = ["Enabled", "Disabled"];

/// The settings to change; `None` keeps the current value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigUpdate {
    pub strict_affinity: Option<bool>,
    pub max_blocks_per_host: Option<i64>,
    /// `Enabled` or `Disabled`.
    pub kube_virt_vm_address_persistence: Option<String>,
    pub ip_cooldown_seconds: Option<i64>,
}

impl ConfigUpdate {
    pub fn is_empty(&self) -> bool {
        *self == ConfigUpdate::default()
    }
}

/// Why the settings were not changed; the texts are Calico's (calicoctl prints them with an
/// `error: ` prefix).
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("Cannot disable 'StrictAffinity' and 'AutoAllocateBlocks' at the same time")]
    StrictAffinityAndAutoAllocateOff,
    #[error("MaxBlocksPerHost requires StrictAffinity to be enabled")]
    MaxBlocksWithoutStrictAffinity,
    #[error("{0}")]
    Datastore(#[source] DatastoreError),
}

/// Calico's checks on a new configuration.
pub fn check(config: &IPAMConfig) -> Result<(), ConfigError> {
    if !config.strict_affinity && !config.auto_allocate_blocks {
        return Err(ConfigError::StrictAffinityAndAutoAllocateOff);
    }
    if config.max_blocks_per_host > 0 && !config.strict_affinity {
        return Err(ConfigError::MaxBlocksWithoutStrictAffinity);
    }
    Ok(())
}

/// Applies `update` to the configuration in force (the stored one, or Calico's defaults) and
/// stores the result, as calicoctl's `ipam configure` does: nothing is written when the result
/// equals the current configuration, except that naming the KubeVirt persistence always writes
/// (Calico compares that setting by pointer). Settings a newer Calico stored that this version
/// does not know are kept. Returns the configuration now in force.
pub async fn configure(client: &Client, update: &ConfigUpdate) -> Result<IPAMConfig, ConfigError> {
    let current = ipam_config(client).await.map_err(ConfigError::Datastore)?;
    let mut wanted = current.clone();
    if let Some(strict) = update.strict_affinity {
        wanted.strict_affinity = strict;
    }
    if let Some(max) = update.max_blocks_per_host {
        wanted.max_blocks_per_host = max;
    }
    if let Some(persistence) = &update.kube_virt_vm_address_persistence {
        wanted.kube_virt_vm_address_persistence = Some(persistence.clone());
    }
    if let Some(seconds) = update.ip_cooldown_seconds {
        wanted.ip_cooldown_seconds = seconds;
    }
    if wanted == current && update.kube_virt_vm_address_persistence.is_none() {
        return Ok(current);
    }
    check(&wanted)?;
    client
        .backend()
        .apply_model(ModelKey::Config, ModelValue::Config(wanted.clone()))
        .await
        .map_err(ConfigError::Datastore)?;
    Ok(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(strict: bool, auto: bool, max: i64) -> IPAMConfig {
        IPAMConfig {
            strict_affinity: strict,
            auto_allocate_blocks: auto,
            max_blocks_per_host: max,
            ..IPAMConfig::default()
        }
    }

    #[test]
    fn calicos_checks() {
        assert!(check(&config(false, true, 0)).is_ok());
        assert!(check(&config(true, false, 0)).is_ok());
        assert!(check(&config(true, true, 2)).is_ok());
        // A negative limit passes Calico's check (it is stored as given).
        assert!(check(&config(false, true, -1)).is_ok());
        assert_eq!(
            check(&config(false, false, 0)).unwrap_err().to_string(),
            "Cannot disable 'StrictAffinity' and 'AutoAllocateBlocks' at the same time"
        );
        assert_eq!(
            check(&config(false, true, 2)).unwrap_err().to_string(),
            "MaxBlocksPerHost requires StrictAffinity to be enabled"
        );
    }
}

#[cfg(test)]
mod store_tests {
    use std::sync::Arc;

    use calico_datastore::{EmbeddedStore, KvBackend};

    use super::*;

    fn client(dir: &tempfile::TempDir) -> Client {
        let store = EmbeddedStore::open(dir.path().join("calico.db")).unwrap();
        Client::new(Arc::new(KvBackend::new(store)))
    }

    async fn stored(client: &Client) -> Option<String> {
        match client.backend().get_model(&ModelKey::Config).await {
            Ok(kv) => match kv.value {
                ModelValue::Config(config) => {
                    Some(String::from_utf8(ModelValue::Config(config).encode().unwrap()).unwrap())
                }
                _ => None,
            },
            Err(err) if err.is_not_found() => None,
            Err(err) => panic!("{err}"),
        }
    }

    #[tokio::test]
    async fn configure_stores_what_calico_stores_and_only_on_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let client = client(&dir);
        // The defaults in force: setting one to its default value writes nothing.
        let unchanged = ConfigUpdate {
            strict_affinity: Some(false),
            ..ConfigUpdate::default()
        };
        configure(&client, &unchanged).await.unwrap();
        assert_eq!(stored(&client).await, None);
        let strict = ConfigUpdate {
            strict_affinity: Some(true),
            ..ConfigUpdate::default()
        };
        configure(&client, &strict).await.unwrap();
        // Calico's bytes after `ipam configure --strictaffinity=true` (oracle-ipam 04).
        assert_eq!(
            stored(&client).await.as_deref(),
            Some(
                r#"{"strict_affinity":true,"auto_allocate_blocks":true,"kubeVirtVMAddressPersistence":"Enabled"}"#
            )
        );
        let refused = ConfigUpdate {
            strict_affinity: Some(false),
            max_blocks_per_host: Some(2),
            ..ConfigUpdate::default()
        };
        let err = configure(&client, &refused).await.unwrap_err();
        assert!(matches!(err, ConfigError::MaxBlocksWithoutStrictAffinity));
        let limit = ConfigUpdate {
            max_blocks_per_host: Some(2),
            ip_cooldown_seconds: Some(30),
            kube_virt_vm_address_persistence: Some("Disabled".into()),
            ..ConfigUpdate::default()
        };
        let now = configure(&client, &limit).await.unwrap();
        assert_eq!(now, ipam_config(&client).await.unwrap());
        assert_eq!(
            stored(&client).await.as_deref(),
            Some(
                r#"{"strict_affinity":true,"auto_allocate_blocks":true,"maxBlocksPerHost":2,"kubeVirtVMAddressPersistence":"Disabled","ipCooldownSeconds":30}"#
            )
        );
    }
}
