//! `calicoctl datastore migrate-policy-names`: default-tier policies written before Calico
//! 3.32 are stored as `default.<name>`; each is written again under its v3 name and the old
//! entry deleted (Calico's `networkpolicy.MigratePolicyKVP`). A new entry that already exists
//! or an old one already gone counts as done, so a run cut short can simply be repeated.

use calico_datastore::{Backend, DatastoreError};

/// Why the migration stopped (Calico's texts; it stops at the first error).
#[derive(Debug, thiserror::Error)]
pub enum PolicyNameError {
    #[error("list policies: {0}")]
    List(#[source] DatastoreError),
    #[error("create {kind} {name:?}: {source}")]
    Create {
        kind: &'static str,
        name: String,
        #[source]
        source: DatastoreError,
    },
    #[error("delete {kind} {name:?}: {source}")]
    Delete {
        kind: &'static str,
        name: String,
        #[source]
        source: DatastoreError,
    },
}

/// Moves every legacy-named policy to its v3 name; returns how many were migrated.
pub async fn migrate_policy_names(backend: &dyn Backend) -> Result<usize, PolicyNameError> {
    let legacy = backend
        .legacy_policy_names()
        .await
        .map_err(PolicyNameError::List)?;
    let mut migrated = 0;
    for (stored, policy) in legacy {
        let kind = stored.kind.kind();
        let revision = policy.metadata().resource_version.clone();
        let mut copy = policy.clone();
        copy.metadata_mut().resource_version.clear();
        let name = copy.metadata().name.clone();
        match backend.create(copy).await {
            Ok(_) => {}
            Err(error) if error.is_already_exists() => {}
            Err(source) => {
                return Err(PolicyNameError::Create { kind, name, source });
            }
        }
        let revision = (!revision.is_empty()).then_some(revision);
        match backend.delete(&stored, revision.as_deref()).await {
            Ok(_) => {}
            Err(error) if error.is_not_found() => {}
            Err(source) => {
                return Err(PolicyNameError::Delete {
                    kind,
                    name: stored.name.clone(),
                    source,
                });
            }
        }
        tracing::info!(kind, old_name = %stored.name, new_name = %name, "migrated policy datastore name");
        migrated += 1;
    }
    Ok(migrated)
}
