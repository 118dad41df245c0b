//! Certificates Go's TLS accepts and rustls (under etcd-client and kube-rs) refuses, told
//! apart and explained.
//!
//! Go's TLS stack (Calico's) accepts version 1 client certificates, which `openssl x509 -req`
//! makes when it is given no extensions; rustls refuses them while building the client's
//! configuration, and its error ("invalid peer certificate: UnsupportedCertVersion") blames the
//! server. The drivers check their client certificate with [`first_certificate_is_v1`] first
//! and say what is wrong, and how to fix it, in [`v1_client_certificate`].

/// Whether the first `CERTIFICATE` block of `pem` is an X.509 version 1 certificate (its
/// `TBSCertificate` has no explicit `[0] version`). Anything unreadable is `false`: the TLS
/// stack reports it in its own words.
pub fn first_certificate_is_v1(pem: &[u8]) -> bool {
    let text = String::from_utf8_lossy(pem);
    let Some((_, rest)) = text.split_once("-----BEGIN CERTIFICATE-----") else {
        return false;
    };
    let Some((body, _)) = rest.split_once("-----END CERTIFICATE-----") else {
        return false;
    };
    let Some(der) = base64_decode(body) else {
        return false;
    };
    // Certificate ::= SEQUENCE { tbsCertificate TBSCertificate, ... }
    // TBSCertificate ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, serialNumber, ... }
    let Some(tbs) = sequence_contents(&der) else {
        return false;
    };
    let Some(fields) = sequence_contents(tbs) else {
        return false;
    };
    // A version other than v1 is written as the context tag [0]; v1 is left out, so the
    // serial number (an INTEGER) comes first.
    fields.first() == Some(&0x02)
}

/// The advice for a version 1 client certificate; `what` names it ("the etcd client
/// certificate file /etc/calico/cert.pem").
pub fn v1_client_certificate(what: &str) -> String {
    format!(
        "{what} is an X.509 version 1 certificate, which is not supported (only version 3): \
         reissue it with an extension, e.g. `openssl x509 -req ... -extfile FILE` where FILE \
         holds `extendedKeyUsage = clientAuth`"
    )
}

/// A TLS failure's text in plain words when rustls refused a certificate that Go's TLS (so
/// Calico) accepts: a server certificate that is itself a CA (`basicConstraints CA:TRUE`, as
/// `openssl req -x509` makes by default) trusted directly, or a version 1 one. `None` for any
/// other failure.
pub fn refused_server_certificate(message: &str) -> Option<&'static str> {
    if message.contains("CaUsedAsEndEntity") {
        Some(
            "the server's certificate is a CA certificate (basicConstraints CA:TRUE) serving as \
             its own certificate, which is not supported (only certificates issued by a CA): \
             issue the server a certificate signed by that CA, or make its certificate without \
             CA:TRUE (openssl req -x509 ... -addext basicConstraints=critical,CA:FALSE)",
        )
    } else if message.contains("UnsupportedCertVersion") {
        Some(
            "the server's certificate is an X.509 version 1 certificate, which is not supported \
             (only version 3): reissue it with an extension (openssl x509 -req ... -extfile FILE)",
        )
    } else {
        None
    }
}

/// The contents of the DER SEQUENCE at the start of `der`.
fn sequence_contents(der: &[u8]) -> Option<&[u8]> {
    let (&tag, rest) = der.split_first()?;
    if tag != 0x30 {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let bytes = usize::from(first & 0x7f);
        if bytes == 0 || bytes > 4 || rest.len() < bytes {
            return None;
        }
        let length = rest[..bytes]
            .iter()
            .fold(0usize, |n, &b| (n << 8) | usize::from(b));
        (length, &rest[bytes..])
    };
    rest.get(..length)
}

/// Standard base64 (whitespace ignored, padding optional), as PEM bodies and kubeconfig
/// `*-data` fields hold it.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=v3`
    /// (version 3), and the same key's request signed by `openssl x509 -req` without
    /// extensions (version 1).
    const V3: &str = include_str!("../tests/fixtures/x509-v3.pem");
    const V1: &str = include_str!("../tests/fixtures/x509-v1.pem");

    #[test]
    fn versions_are_told_apart() {
        assert!(!first_certificate_is_v1(V3.as_bytes()));
        assert!(first_certificate_is_v1(V1.as_bytes()));
        // The first certificate of a chain decides.
        assert!(first_certificate_is_v1(format!("{V1}{V3}").as_bytes()));
        assert!(!first_certificate_is_v1(format!("{V3}{V1}").as_bytes()));
    }

    #[test]
    fn garbage_is_not_v1() {
        assert!(!first_certificate_is_v1(b"not a certificate"));
        assert!(!first_certificate_is_v1(
            b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"
        ));
        assert!(!first_certificate_is_v1(
            b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"
        ));
    }

    #[test]
    fn refused_server_certificates_are_explained() {
        let ca = refused_server_certificate(
            "invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))",
        );
        assert!(ca.is_some_and(|text| text.contains("CA:TRUE")));
        let v1 = refused_server_certificate(
            "invalid peer certificate: Other(OtherError(UnsupportedCertVersion))",
        );
        assert!(v1.is_some_and(|text| text.contains("version 1")));
        assert_eq!(refused_server_certificate("connection refused"), None);
    }

    #[test]
    fn base64_round_trips_what_pem_holds() {
        assert_eq!(base64_decode("TWFu").unwrap(), b"Man");
        assert_eq!(base64_decode("TWE=").unwrap(), b"Ma");
        assert_eq!(base64_decode("TQ==\n").unwrap(), b"M");
        assert_eq!(base64_decode("TQ").unwrap(), b"M");
    }
}
