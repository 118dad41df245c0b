//! Kubernetes errors as Calico reports them (`libcalico-go/lib/backend/k8s/resources/errors.go`),
//! plus one-line texts for the failures Calico leaves raw (CRDs not installed, API server
//! unreachable).

use calico_datastore::{DatastoreError, ResourceKey};
use kube::core::Status;

/// The text the API server gives when a resource type is not served at all.
const NOT_SERVED: &str = "the server could not find the requested resource";

/// What was being done, for the messages that need it.
#[derive(Clone, Copy, Debug)]
pub struct Op<'a> {
    /// `get`, `list`, `watch`, `create`, `update`, `delete`.
    pub verb: &'a str,
    /// `ippools.crd.projectcalico.org`.
    pub resource: &'a str,
    /// The resource as Calico's client-go requests name it (`IPPools.crd.projectcalico.org`
    /// for the v1 CRDs), for the texts that quote it.
    pub go_resource: &'a str,
    /// The API server URL.
    pub url: &'a str,
}

/// Maps a kube error for an operation on `key` (`None` for lists and watches).
pub fn map_error(error: kube::Error, key: Option<&ResourceKey>, op: Op<'_>) -> DatastoreError {
    match error {
        kube::Error::Api(status) => map_status(&status, key, op),
        other => map_transport(&other, op),
    }
}

/// Maps an API `Status` (also the ERROR events of a watch).
pub fn map_status(status: &Status, key: Option<&ResourceKey>, op: Op<'_>) -> DatastoreError {
    let message = status.message.clone();
    let reason = status.reason.as_str();
    let causes: Vec<&str> = status
        .details
        .as_ref()
        .map(|d| d.causes.iter().map(|c| c.field.as_str()).collect())
        .unwrap_or_default();
    match (status.code, reason, key) {
        // A type the cluster does not serve (the CRDs are not installed): every 404 is "does
        // not exist" in Calico's client, with client-go's text for a 404 without a Status.
        (404, _, Some(key)) if is_type_not_served(status) => DatastoreError::DoesNotExist {
            key: key.clone(),
            cause: Some(not_served_text(
                op,
                (op.verb != "create").then_some(&key.name),
            )),
        },
        (404, _, None) if is_type_not_served(status) => not_served(op),
        (404, _, Some(key)) => DatastoreError::DoesNotExist {
            key: key.clone(),
            cause: Some(message),
        },
        (409, "AlreadyExists", Some(key)) => DatastoreError::AlreadyExists {
            key: key.clone(),
            identifier: None,
            cause: Some(message),
        },
        (409, _, Some(key)) if message.contains("UID in precondition") => {
            DatastoreError::DoesNotExist {
                key: key.clone(),
                cause: Some(message),
            }
        }
        (409, "Conflict", Some(key)) => DatastoreError::UpdateConflict {
            key: key.clone(),
            detail: Some(message),
        },
        // Calico's text: client-go's message alone (`Unauthorized`).
        (401, _, _) => DatastoreError::Unauthorized(message),
        // The server's Forbidden text already names the user, verb and resource.
        (403, _, _) => DatastoreError::Unauthorized(message),
        (422, _, Some(key)) if causes == ["metadata.uid"] => DatastoreError::DoesNotExist {
            key: key.clone(),
            cause: Some(message),
        },
        (422, _, Some(key)) if causes == ["metadata.resourceVersion"] => {
            DatastoreError::UpdateConflict {
                key: key.clone(),
                detail: Some(message),
            }
        }
        (410, _, _) => compacted(&message),
        _ if message.is_empty() => DatastoreError::Store(format!(
            "{} {} failed: HTTP {} {reason}",
            op.verb, op.resource, status.code
        )),
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

/// A 404 for the resource type rather than for an object: no details naming an object, the
/// generic "could not find the requested resource" text, or a real API server's plain-text
/// `404 page not found` for a group it does not serve.
fn is_type_not_served(status: &Status) -> bool {
    let named = status.details.as_ref().is_some_and(|d| !d.name.is_empty());
    status.message == NOT_SERVED
        || status.message.trim() == "404 page not found"
        || (!named && !status.message.contains("not found"))
}

/// Whether `error` says the resource type is not served (Calico's lists are then empty).
pub fn is_not_served(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404 && is_type_not_served(status))
}

/// client-go's text for a 404 without a Status body: `the server could not find the
/// requested resource (get IPPools.crd.projectcalico.org p1)`, with the HTTP verb.
fn not_served_text(op: Op<'_>, name: Option<&str>) -> String {
    let verb = match op.verb {
        "create" => "post",
        "update" => "put",
        "delete" => "delete",
        _ => "get",
    };
    match name {
        Some(name) => format!("{NOT_SERVED} ({verb} {} {name})", op.go_resource),
        None => format!("{NOT_SERVED} ({verb} {})", op.go_resource),
    }
}

fn not_served(op: Op<'_>) -> DatastoreError {
    DatastoreError::Store(not_served_text(op, None))
}

/// Transport failures in one line: the OS error nearest the root, with the server URL.
fn map_transport(error: &kube::Error, op: Op<'_>) -> DatastoreError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    let mut io_kind = None;
    let mut innermost = error.to_string();
    while let Some(current) = source {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        innermost = current.to_string();
        source = current.source();
    }
    match io_kind {
        Some(std::io::ErrorKind::ConnectionRefused) => {
            DatastoreError::Store(format!("connection refused to {}", op.url))
        }
        Some(std::io::ErrorKind::TimedOut) => {
            DatastoreError::Store(format!("connection timed out to {}", op.url))
        }
        _ => {
            let cause = calico_datastore::tls::refused_server_certificate(&innermost)
                .map_or(innermost, str::to_string);
            DatastoreError::Store(format!(
                "failed to {} {} at {}: {cause}",
                op.verb, op.resource, op.url
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calico_datastore::KindRef;

    fn op() -> Op<'static> {
        Op {
            verb: "get",
            resource: "ippools.crd.projectcalico.org",
            go_resource: "IPPools.crd.projectcalico.org",
            url: "https://127.0.0.1:6443",
        }
    }

    fn key() -> ResourceKey {
        ResourceKey::new(KindRef::lookup("IPPool").unwrap(), "", "pool-a")
    }

    fn status(code: u16, reason: &str, message: &str, name: &str) -> Status {
        serde_json::from_value(serde_json::json!({
            "code": code, "reason": reason, "message": message, "details": {"name": name},
        }))
        .unwrap()
    }

    #[test]
    fn not_found_keeps_the_server_text() {
        let s = status(
            404,
            "NotFound",
            "ippools.crd.projectcalico.org \"pool-a\" not found",
            "pool-a",
        );
        assert_eq!(
            map_status(&s, Some(&key()), op()).to_string(),
            "resource does not exist: IPPool(pool-a) with error: ippools.crd.projectcalico.org \"pool-a\" not found"
        );
    }

    #[test]
    fn type_not_served_is_does_not_exist_in_client_gos_words() {
        for s in [
            status(404, "NotFound", NOT_SERVED, ""),
            // A real API server's plain-text answer for a group it does not serve.
            status(
                404,
                "Failed to parse error data",
                "404 page not found\n",
                "",
            ),
        ] {
            // A list fails plainly (the CRD store turns it into an empty list)...
            assert_eq!(
                map_status(&s, None, op()).to_string(),
                "the server could not find the requested resource (get IPPools.crd.projectcalico.org)"
            );
            // ...one object does not exist, with the HTTP verb and (but for a create) its name.
            let read = map_status(&s, Some(&key()), op());
            assert!(read.is_not_found());
            assert_eq!(
                read.to_string(),
                "resource does not exist: IPPool(pool-a) with error: the server could not find \
                 the requested resource (get IPPools.crd.projectcalico.org pool-a)"
            );
            let create = Op {
                verb: "create",
                ..op()
            };
            assert_eq!(
                map_status(&s, Some(&key()), create).to_string(),
                "resource does not exist: IPPool(pool-a) with error: the server could not find \
                 the requested resource (post IPPools.crd.projectcalico.org)"
            );
        }
    }

    #[test]
    fn conflicts() {
        let s = status(409, "Conflict", "Operation cannot be fulfilled on ippools.crd.projectcalico.org \"pool-a\": the object has been modified; please apply your changes to the latest version and try again", "pool-a");
        assert_eq!(
            map_status(&s, Some(&key()), op()).to_string(),
            "update conflict: IPPool(pool-a)"
        );
        let s = status(
            409,
            "Conflict",
            "Precondition failed: UID in precondition: a, UID in object meta: b",
            "pool-a",
        );
        assert!(map_status(&s, Some(&key()), op()).is_not_found());
        let s = status(409, "AlreadyExists", "x", "pool-a");
        assert!(map_status(&s, Some(&key()), op()).is_already_exists());
        let s: Status = serde_json::from_value(serde_json::json!({
            "code": 422, "reason": "Invalid", "message": "bad",
            "details": {"name": "pool-a", "causes": [{"field": "metadata.resourceVersion"}]},
        }))
        .unwrap();
        assert!(map_status(&s, Some(&key()), op()).is_conflict());
    }

    #[test]
    fn unauthorized_is_the_servers_message_as_calico_prints_it() {
        let s = status(401, "Unauthorized", "Unauthorized", "");
        assert_eq!(
            map_status(
                &s,
                None,
                Op {
                    verb: "list",
                    ..op()
                }
            )
            .to_string(),
            "connection is unauthorized: Unauthorized"
        );
        let s = status(403, "Forbidden", "ippools.crd.projectcalico.org is forbidden: User \"x\" cannot list resource \"ippools\" in API group \"crd.projectcalico.org\" at the cluster scope", "");
        assert_eq!(
            map_status(&s, None, op()).to_string(),
            "connection is unauthorized: ippools.crd.projectcalico.org is forbidden: User \"x\" cannot list resource \"ippools\" in API group \"crd.projectcalico.org\" at the cluster scope"
        );
    }
}
