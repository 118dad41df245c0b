//! Kubernetes API errors as Calico's KDD reports them (`resources/errors.go` `K8sErrorToCalico`).
//!
//! A local copy for the natively backed kinds; the integrator folds it into `crate::error`.

use calico_datastore::{DatastoreError, ResourceKey};
use kube::core::Status;

/// Maps a kube-rs error. `key` is the resource the call was about (absent for lists and
/// watches, where a NotFound cannot name a resource).
pub fn from_kube(err: kube::Error, key: Option<&ResourceKey>) -> DatastoreError {
    match err {
        kube::Error::Api(status) => from_status(&status, key),
        other => DatastoreError::Store(other.to_string()),
    }
}

/// Maps a Kubernetes `Status` (an API error response or a watch ERROR event).
pub fn from_status(status: &Status, key: Option<&ResourceKey>) -> DatastoreError {
    let message = status.message.clone();
    let reason = status.reason.as_str();
    let causes: Vec<&str> = status
        .details
        .as_ref()
        .map(|d| d.causes.iter().map(|c| c.field.as_str()).collect())
        .unwrap_or_default();
    let only_cause = |field: &str| !causes.is_empty() && causes.iter().all(|c| *c == field);
    match (status.code, reason, key) {
        (404, _, Some(key)) | (_, "NotFound", Some(key)) => DatastoreError::DoesNotExist {
            key: key.clone(),
            cause: Some(message),
        },
        (_, "AlreadyExists", Some(key)) => DatastoreError::AlreadyExists { key: key.clone() },
        // A UID precondition that fails means the object we meant is gone (replaced by another
        // of the same name), which Calico reports as DoesNotExist.
        (409, _, Some(key)) if message.contains("UID in precondition") => {
            DatastoreError::DoesNotExist {
                key: key.clone(),
                cause: Some(message),
            }
        }
        (409, _, Some(key)) | (_, "Conflict", Some(key)) => DatastoreError::UpdateConflict {
            key: key.clone(),
            detail: Some(message),
        },
        (401 | 403, _, _) | (_, "Unauthorized" | "Forbidden", _) => {
            DatastoreError::Unauthorized(message)
        }
        (422, _, Some(key)) | (_, "Invalid", Some(key)) if only_cause("metadata.uid") => {
            DatastoreError::DoesNotExist {
                key: key.clone(),
                cause: Some(message),
            }
        }
        (422, _, Some(key)) | (_, "Invalid", Some(key))
            if only_cause("metadata.resourceVersion") =>
        {
            DatastoreError::UpdateConflict {
                key: key.clone(),
                detail: Some(message),
            }
        }
        (410, _, _) | (_, "Expired" | "Gone", _) => compacted(&message),
        _ if message.is_empty() => DatastoreError::Store(format!("{status:?}")),
        _ => DatastoreError::Store(message),
    }
}

/// `too old resource version: N (M)` becomes `Compacted { requested: N, compacted: M }`, so
/// watchers know to list again; numbers that are not there (opaque versions) read as 0.
fn compacted(message: &str) -> DatastoreError {
    let numbers: Vec<i64> = message
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    DatastoreError::Compacted {
        requested: numbers.first().copied().unwrap_or(0),
        compacted: numbers.get(1).copied().unwrap_or(0),
    }
}

/// Calico's `ErrorOperationNotSupported` for a key.
pub fn not_supported(operation: &str, key: &ResourceKey, reason: Option<&str>) -> DatastoreError {
    DatastoreError::OperationNotSupported {
        operation: operation.to_string(),
        identifier: key.to_string(),
        reason: reason.map(String::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calico_datastore::KindRef;
    use kube::core::response::{StatusCause, StatusDetails};

    fn key() -> ResourceKey {
        ResourceKey::new(KindRef::lookup("Node").unwrap(), "", "node-1")
    }

    fn status(code: u16, reason: &str, message: &str) -> Status {
        Status {
            code,
            reason: reason.into(),
            message: message.into(),
            ..Status::default()
        }
    }

    #[test]
    fn maps_like_calico() {
        let not_found = from_status(
            &status(404, "NotFound", "nodes \"node-1\" not found"),
            Some(&key()),
        );
        assert_eq!(
            not_found.to_string(),
            "resource does not exist: Node(node-1) with error: nodes \"node-1\" not found"
        );
        assert!(from_status(&status(409, "AlreadyExists", "x"), Some(&key())).is_already_exists());
        assert!(from_status(&status(409, "Conflict", "modified"), Some(&key())).is_conflict());
        assert!(from_status(
            &status(
                409,
                "Conflict",
                "Precondition failed: UID in precondition: a, UID in object meta: b"
            ),
            Some(&key())
        )
        .is_not_found());
        assert_eq!(
            from_status(&status(403, "Forbidden", "no"), None),
            DatastoreError::Unauthorized("no".into())
        );
        let mut invalid = status(422, "Invalid", "bad");
        invalid.details = Some(StatusDetails {
            name: "node-1".into(),
            group: String::new(),
            kind: "nodes".into(),
            uid: String::new(),
            causes: vec![StatusCause {
                reason: "FieldValueInvalid".into(),
                message: "must match".into(),
                field: "metadata.resourceVersion".into(),
            }],
            retry_after_seconds: 0,
        });
        assert!(from_status(&invalid, Some(&key())).is_conflict());
        assert_eq!(
            from_status(
                &status(410, "Expired", "too old resource version: 5 (9)"),
                None
            ),
            DatastoreError::Compacted {
                requested: 5,
                compacted: 9
            }
        );
        assert_eq!(
            from_status(&status(500, "InternalError", "boom"), Some(&key())),
            DatastoreError::Store("boom".into())
        );
    }
}
