//! The datastore lock that Calico's migration and pool-split commands use: ClusterInformation
//! `default`'s `datastoreReady` flag. A locked datastore (`datastoreReady: false`) tells every
//! Calico component to stop writing while the data moves (`calicoctl datastore migrate lock`).

use calico_api::AnyResource;

use crate::client::Client;
use crate::error::{DatastoreError, Result};
use crate::key::{KindRef, ResourceKey};

/// The name of the one ClusterInformation Calico uses.
pub const CLUSTER_INFORMATION_NAME: &str = "default";

fn cluster_information_key() -> Result<ResourceKey> {
    let kind = KindRef::lookup("ClusterInformation")
        .ok_or_else(|| DatastoreError::Store("kind ClusterInformation is not registered".into()))?;
    Ok(ResourceKey::new(kind, "", CLUSTER_INFORMATION_NAME))
}

impl Client {
    /// Reads ClusterInformation `default` and tells whether the datastore is locked
    /// (`datastoreReady` is `false`). A ClusterInformation without the flag is not locked.
    pub async fn datastore_locked(&self) -> Result<bool> {
        match self.get(&cluster_information_key()?).await? {
            AnyResource::ClusterInformation(info) => Ok(info.spec.datastore_ready == Some(false)),
            other => Err(DatastoreError::Store(format!(
                "expected a ClusterInformation, read a {}",
                other.kind()
            ))),
        }
    }

    /// Sets ClusterInformation `default`'s `datastoreReady` (false locks the datastore) with a
    /// read-modify-write at the read revision, so a concurrent change is an update conflict.
    /// The ClusterInformation must exist (see [`Client::ensure_initialized`]).
    pub async fn set_datastore_ready(&self, ready: bool) -> Result<()> {
        let mut info = match self.get(&cluster_information_key()?).await? {
            AnyResource::ClusterInformation(info) => info,
            other => {
                return Err(DatastoreError::Store(format!(
                    "expected a ClusterInformation, read a {}",
                    other.kind()
                )))
            }
        };
        info.spec.datastore_ready = Some(ready);
        self.update(AnyResource::ClusterInformation(info)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::embedded::EmbeddedStore;
    use crate::kvbackend::KvBackend;

    async fn client() -> (tempfile::TempDir, Client) {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path().join("db")).unwrap();
        (dir, Client::new(Arc::new(KvBackend::new(store))))
    }

    #[tokio::test]
    async fn lock_and_unlock_flip_datastore_ready() {
        let (_dir, client) = client().await;
        assert!(client.datastore_locked().await.unwrap_err().is_not_found());
        client.ensure_initialized("", "").await.unwrap();
        assert!(!client.datastore_locked().await.unwrap());
        client.set_datastore_ready(false).await.unwrap();
        assert!(client.datastore_locked().await.unwrap());
        client.set_datastore_ready(true).await.unwrap();
        assert!(!client.datastore_locked().await.unwrap());
    }
}
