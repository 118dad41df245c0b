//! The errors Calico's datastore layer reports, worded as libcalico-go words them
//! (`libcalico-go/lib/errors/errors.go`), because calicoctl prints them verbatim.

use calico_api::model::ModelKey;
use calico_api::ValidationError;

use crate::key::ResourceKey;

/// A datastore operation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DatastoreError {
    /// Get, update or delete of something that is not there. `cause` is the driver's own
    /// message (`<nil>` for etcd-like stores, the Kubernetes status message for KDD).
    #[error("resource does not exist: {key} with error: {}", cause.as_deref().unwrap_or("<nil>"))]
    DoesNotExist {
        key: ResourceKey,
        cause: Option<String>,
    },

    /// Create of something that is already there. Calico names the resource by its key, or
    /// by `identifier` where its client gives a bare name; `cause` is the driver's own message
    /// (`<nil>` for etcd-like stores, the Kubernetes status message for KDD).
    #[error(
        "resource already exists: {} with error: {}",
        identifier.clone().unwrap_or_else(|| key.to_string()),
        cause.as_deref().unwrap_or("<nil>")
    )]
    AlreadyExists {
        key: ResourceKey,
        identifier: Option<String>,
        cause: Option<String>,
    },

    /// The revision given is no longer current. `detail` is kept for callers that want to say
    /// more; Calico's text does not show it.
    #[error("update conflict: {key}")]
    UpdateConflict {
        key: ResourceKey,
        detail: Option<String>,
    },

    /// Get, update or delete of an IPAM model object that is not there (Calico names it by its
    /// model key: `resource does not exist: BlockKey(cidr=10.0.0.0/26) with error: <nil>`).
    #[error("resource does not exist: {key} with error: {}", cause.as_deref().unwrap_or("<nil>"))]
    ModelDoesNotExist {
        key: ModelKey,
        cause: Option<String>,
    },

    /// Create of an IPAM model object that is already there.
    #[error("resource already exists: {key} with error: {}", cause.as_deref().unwrap_or("<nil>"))]
    ModelAlreadyExists {
        key: ModelKey,
        cause: Option<String>,
    },

    /// The revision given for an IPAM model object is no longer current.
    #[error("update conflict: {key}")]
    ModelUpdateConflict {
        key: ModelKey,
        detail: Option<String>,
    },

    /// The operation is refused for this resource (read-only kinds, protected resources).
    #[error("operation {operation} is not supported on {identifier}{}", reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    OperationNotSupported {
        operation: String,
        identifier: String,
        reason: Option<String>,
    },

    /// The resource is not valid.
    #[error("{0}")]
    Validation(#[from] ValidationError),

    /// A stored value could not be decoded.
    #[error("failed to parse datastore entry key={key}; value={value}: {cause}")]
    ParsingEntry {
        key: String,
        value: String,
        cause: String,
    },

    /// A watch or read asked for a revision older than the store keeps.
    #[error(
        "the requested revision {requested} has been compacted (oldest available: {compacted})"
    )]
    Compacted { requested: i64, compacted: i64 },

    /// A revision string that is not a revision of this store.
    #[error("invalid resource version {0:?}")]
    InvalidRevision(String),

    /// Access refused by the datastore.
    #[error("connection is unauthorized: {0}")]
    Unauthorized(String),

    /// Anything else the store or the connection to it reported.
    #[error("{0}")]
    Store(String),
}

impl DatastoreError {
    /// `key` exists already (as an etcd-like store reports it).
    pub fn already_exists(key: &ResourceKey) -> Self {
        DatastoreError::AlreadyExists {
            key: key.clone(),
            identifier: None,
            cause: None,
        }
    }

    pub fn does_not_exist(key: &ResourceKey) -> Self {
        DatastoreError::DoesNotExist {
            key: key.clone(),
            cause: None,
        }
    }

    /// Something is not there (a resource or an IPAM model object).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            DatastoreError::DoesNotExist { .. } | DatastoreError::ModelDoesNotExist { .. }
        )
    }

    /// Something is already there (a resource or an IPAM model object).
    pub fn is_already_exists(&self) -> bool {
        matches!(
            self,
            DatastoreError::AlreadyExists { .. } | DatastoreError::ModelAlreadyExists { .. }
        )
    }

    /// A revision was not current (a resource or an IPAM model object).
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            DatastoreError::UpdateConflict { .. } | DatastoreError::ModelUpdateConflict { .. }
        )
    }

    /// The driver cannot store the IPAM model object `key` yet.
    pub fn model_not_supported(operation: &str, key: &ModelKey) -> Self {
        DatastoreError::OperationNotSupported {
            operation: operation.to_string(),
            identifier: key.to_string(),
            reason: Some(MODEL_NOT_SUPPORTED.to_string()),
        }
    }
}

/// Why a driver refuses the IPAM model operations it does not implement.
pub const MODEL_NOT_SUPPORTED: &str = "IPAM model objects are not supported by this datastore yet";

pub type Result<T, E = DatastoreError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use calico_api::model::{BlockKey, ModelKey};

    use super::*;

    #[test]
    fn model_errors_name_the_key_as_calico_does() {
        let key = ModelKey::Block(BlockKey::new("10.0.0.0/26".parse().unwrap()));
        assert_eq!(
            DatastoreError::model_not_supported("Get", &key).to_string(),
            "operation Get is not supported on BlockKey(cidr=10.0.0.0/26): \
             IPAM model objects are not supported by this datastore yet"
        );
        let missing = DatastoreError::ModelDoesNotExist {
            key: ModelKey::Config,
            cause: None,
        };
        assert_eq!(
            missing.to_string(),
            "resource does not exist: IPAMConfigKey() with error: <nil>"
        );
        assert!(missing.is_not_found());
        let exists = DatastoreError::ModelAlreadyExists {
            key: key.clone(),
            cause: None,
        };
        assert!(exists.is_already_exists());
        let conflict = DatastoreError::ModelUpdateConflict { key, detail: None };
        assert_eq!(
            conflict.to_string(),
            "update conflict: BlockKey(cidr=10.0.0.0/26)"
        );
        assert!(conflict.is_conflict());
    }
}
