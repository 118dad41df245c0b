//! Kubernetes API errors as Calico's KDD reports them (`resources/errors.go` `K8sErrorToCalico`).
//!
//! The natively backed kinds use [`crate::error`]'s mapping through these two entry points.

use calico_datastore::{DatastoreError, ResourceKey};
use kube::core::Status;

use crate::error::{map_error, map_status, Op};

/// The native stores do not carry a resource name or URL for messages; the mapping itself is
/// the one every store uses.
const NATIVE: Op<'static> = Op {
    verb: "use",
    resource: "Kubernetes objects",
    go_resource: "Kubernetes objects",
    url: "the Kubernetes API server",
};

/// Maps a kube-rs error. `key` is the resource the call was about (absent for lists and
/// watches, where a NotFound cannot name a resource).
pub fn from_kube(err: kube::Error, key: Option<&ResourceKey>) -> DatastoreError {
    map_error(err, key, NATIVE)
}

/// Maps a Kubernetes `Status` (an API error response or a watch ERROR event).
pub fn from_status(status: &Status, key: Option<&ResourceKey>) -> DatastoreError {
    map_status(status, key, NATIVE)
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
