//! The errors Calico's datastore layer reports, worded as libcalico-go words them
//! (`libcalico-go/lib/errors/errors.go`), because calicoctl prints them verbatim.

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

    /// Create of something that is already there.
    /// (`<nil>` as the cause: the etcd text; on Kubernetes Calico shows the API status there.)
    #[error("resource already exists: {key} with error: <nil>")]
    AlreadyExists { key: ResourceKey },

    /// The revision given is no longer current. `detail` is kept for callers that want to say
    /// more; Calico's text does not show it.
    #[error("update conflict: {key}")]
    UpdateConflict {
        key: ResourceKey,
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
    pub fn does_not_exist(key: &ResourceKey) -> Self {
        DatastoreError::DoesNotExist {
            key: key.clone(),
            cause: None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, DatastoreError::DoesNotExist { .. })
    }

    pub fn is_already_exists(&self) -> bool {
        matches!(self, DatastoreError::AlreadyExists { .. })
    }

    pub fn is_conflict(&self) -> bool {
        matches!(self, DatastoreError::UpdateConflict { .. })
    }
}

pub type Result<T, E = DatastoreError> = std::result::Result<T, E>;
