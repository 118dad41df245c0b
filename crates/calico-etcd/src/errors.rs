//! One clear line for every etcd failure, instead of a stack of gRPC and transport internals.

use calico_datastore::kv::KvError;
use std::error::Error as StdError;

use crate::{EtcdSettings, DIAL_TIMEOUT};

/// A read at a revision etcd no longer or not yet has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RevisionProblem {
    Compacted,
    Future,
}

pub(crate) fn revision_problem(err: &etcd_client::Error) -> Option<RevisionProblem> {
    let etcd_client::Error::GRpcStatus(status) = err else {
        return None;
    };
    let message = status.message();
    if message.contains("required revision has been compacted") {
        Some(RevisionProblem::Compacted)
    } else if message.contains("required revision is a future revision") {
        Some(RevisionProblem::Future)
    } else {
        None
    }
}

/// An IO error as Go would word it: lower case, without "(os error N)".
pub(crate) fn io_text(err: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match err.kind() {
        ErrorKind::ConnectionRefused => "connection refused".into(),
        ErrorKind::ConnectionReset => "connection reset by peer".into(),
        ErrorKind::TimedOut => "i/o timeout".into(),
        ErrorKind::NotFound => "no such file or directory".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        _ => plain(&err.to_string()),
    }
}

/// Lower-cases the first letter and drops a trailing "(os error N)".
fn plain(text: &str) -> String {
    let text = match text.rfind(" (os error ") {
        Some(at) => &text[..at],
        None => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The innermost cause of an error (where the useful words are).
fn root_cause(err: &(dyn StdError + 'static)) -> String {
    let mut current = err;
    while let Some(next) = current.source() {
        current = next;
    }
    if let Some(io) = current.downcast_ref::<std::io::Error>() {
        return io_text(io);
    }
    plain(&current.to_string())
}

fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or(rest);
    // Drop any user info.
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if authority.starts_with('[') || authority.contains(':') {
        authority.to_string()
    } else if url.starts_with("https://") {
        format!("{authority}:443")
    } else {
        format!("{authority}:80")
    }
}

/// Checks that at least one endpoint accepts TCP connections, so an unreachable cluster is one
/// immediate, clear error.
pub(crate) async fn probe_tcp(urls: &[String], location: &str) -> Result<(), KvError> {
    let mut last = String::from("no endpoint");
    for url in urls {
        let address = host_port(url);
        match tokio::time::timeout(DIAL_TIMEOUT, tokio::net::TcpStream::connect(&address)).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(err)) => last = io_text(&err),
            Err(_) => last = "i/o timeout".into(),
        }
    }
    Err(KvError::Store(format!(
        "failed to connect to etcd at {location}: {last}"
    )))
}

fn grpc_text(status: &etcd_client::Error) -> Option<(String, String)> {
    let etcd_client::Error::GRpcStatus(status) = status else {
        return None;
    };
    let message = status
        .message()
        .strip_prefix("etcdserver: ")
        .unwrap_or(status.message())
        .to_string();
    let cause = status
        .source()
        .map(root_cause)
        .unwrap_or_else(|| message.clone());
    Some((
        format!("{:?}", status.code()),
        if message.is_empty() { cause } else { message },
    ))
}

/// An RPC failure as one line.
pub fn describe_error(location: &str, err: &etcd_client::Error) -> String {
    match err {
        etcd_client::Error::GRpcStatus(_) => {
            let (code, message) = grpc_text(err).unwrap_or_default();
            match code.as_str() {
                "Unavailable" | "Cancelled" | "Unknown" | "DeadlineExceeded" => {
                    format!("etcd at {location} is unavailable: {message}")
                }
                _ => format!("etcd error: {message}"),
            }
        }
        etcd_client::Error::TransportError(transport) => {
            format!(
                "failed to connect to etcd at {location}: {}",
                root_cause(transport)
            )
        }
        etcd_client::Error::IoError(io) => {
            format!("etcd at {location}: {}", io_text(io))
        }
        other => format!("etcd at {location}: {}", plain(&root_cause(other))),
    }
}

/// A certificate or key file must hold PEM of its kind: the TLS stack silently skips anything
/// else, and a CA file without a certificate would surface later as an untrusted server.
pub(crate) fn check_pem(kind: &str, path: &str, bytes: &[u8]) -> Result<(), KvError> {
    let text = String::from_utf8_lossy(bytes);
    let found = if kind == "key" {
        text.contains("-----BEGIN") && text.contains("PRIVATE KEY-----")
    } else {
        text.contains("-----BEGIN CERTIFICATE-----")
    };
    if found {
        return Ok(());
    }
    let what = if kind == "key" {
        "a PEM private key"
    } else {
        "a PEM certificate"
    };
    Err(KvError::Store(format!(
        "the etcd {kind} file {path} does not hold {what}"
    )))
}

/// Whether a failure says nothing answered at all (a dead or unreachable member), rather than
/// that something answered in a way gRPC could not use (a TLS server spoken to in plain text).
fn unreachable(message: &str) -> bool {
    const DEAD: &[&str] = &[
        "tcp connect error",
        "connection refused",
        "timed out",
        "timeout",
        "no route to host",
        "network is unreachable",
        "dns error",
        "failed to lookup address",
    ];
    let message = message.to_ascii_lowercase();
    DEAD.iter().any(|dead| message.contains(dead))
}

/// A failure while connecting, worded for the usual causes (credentials, TLS).
pub(crate) fn connect_failure(
    location: &str,
    settings: &EtcdSettings,
    err: &etcd_client::Error,
) -> String {
    if let Some((code, message)) = grpc_text(err) {
        if message.contains("authentication failed") {
            return format!(
                "authentication to etcd at {location} failed: invalid user ID or password"
            );
        }
        if message.contains("authentication is not enabled") {
            return format!("etcd at {location} does not have authentication enabled");
        }
        if message.contains("user name is empty") || message.contains("invalid auth token") {
            return format!("etcd at {location} requires a username and password");
        }
        if matches!(code.as_str(), "Cancelled" | "Unavailable" | "Unknown") && unreachable(&message)
        {
            // Nothing answered: neither TLS nor credentials are the question.
            return format!("failed to connect to etcd at {location}: {message}");
        }
        if let Some(advice) = calico_datastore::tls::refused_server_certificate(&message) {
            return format!("TLS connection to etcd at {location} failed: {advice}");
        }
        if settings.tls.is_some()
            && matches!(code.as_str(), "Cancelled" | "Unavailable" | "Unknown")
        {
            let has_identity = settings
                .tls
                .as_ref()
                .is_some_and(|t| t.cert.is_some() && t.key.is_some());
            let has_ca = settings.tls.as_ref().is_some_and(|t| t.ca.is_some());
            let hint = if message.contains("UnknownIssuer") && !has_ca {
                " (set etcdCACertFile to the CA that signed the server's certificate)".to_string()
            } else if has_identity || message.contains("peer certificate") {
                String::new()
            } else {
                " (the server may require a client certificate: set etcdCertFile and etcdKeyFile)"
                    .to_string()
            };
            let message = if message.contains("cancel") {
                "the server closed the connection".to_string()
            } else {
                message
            };
            return format!("TLS connection to etcd at {location} failed: {message}{hint}");
        }
        if settings.tls.is_none()
            && matches!(code.as_str(), "Cancelled" | "Unavailable" | "Unknown")
        {
            return format!(
                "failed to connect to etcd at {location}: {message} (does the server expect \
                 TLS? use https:// endpoints and set the etcd certificates)"
            );
        }
    }
    describe_error(location, err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_files_must_hold_pem() {
        let pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        assert!(check_pem("CA certificate", "/ca.pem", pem).is_ok());
        assert_eq!(
            check_pem("CA certificate", "/ca.der", b"\x30\x82\x01")
                .unwrap_err()
                .to_string(),
            "the etcd CA certificate file /ca.der does not hold a PEM certificate"
        );
        assert!(check_pem("key", "/k.pem", b"-----BEGIN EC PRIVATE KEY-----\n").is_ok());
        assert!(check_pem("key", "/k.pem", pem).is_err());
    }

    #[test]
    fn a_dead_member_is_not_a_tls_question() {
        assert!(unreachable("tcp connect error"));
        assert!(unreachable("Connection refused"));
        assert!(!unreachable("h2 protocol error: http2 error"));
        assert!(!unreachable("connection reset by peer"));
    }
}
