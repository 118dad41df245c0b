use super::*;

fn spec() -> ApiConfigSpec {
    ApiConfigSpec {
        datastore_type: "etcdv3".into(),
        etcd_endpoints: "http://127.0.0.1:2379".into(),
        ..ApiConfigSpec::default()
    }
}

fn error_text(spec: &ApiConfigSpec) -> String {
    match EtcdSettings::from_spec(spec) {
        Err(err) => err.to_string(),
        Ok(settings) => panic!("expected an error, got {settings:?}"),
    }
}

#[test]
fn endpoints_and_discovery_are_checked_as_calico_does() {
    let mut both = spec();
    both.etcd_discovery_srv = "example.com".into();
    assert_eq!(
        error_text(&both),
        "multiple discovery or bootstrap options specified, use either \"etcdEndpoints\" or \"etcdDiscoverySrv\""
    );
    let mut neither = spec();
    neither.etcd_endpoints.clear();
    assert_eq!(error_text(&neither), "no etcd endpoints specified");
    let mut srv = neither.clone();
    srv.etcd_discovery_srv = "example.com".into();
    let settings = EtcdSettings::from_spec(&srv).unwrap();
    assert_eq!(settings.discovery_srv.as_deref(), Some("example.com"));
    assert!(settings.endpoints.is_empty());

    let mut several = spec();
    several.etcd_endpoints = "http://a:2379, http://b:2379,".into();
    let settings = EtcdSettings::from_spec(&several).unwrap();
    assert_eq!(settings.endpoints, ["http://a:2379", "http://b:2379"]);
    assert!(settings.tls.is_none() && settings.credentials.is_none());
}

#[test]
fn inline_and_file_certificates_do_not_mix() {
    let mut mixed = spec();
    mixed.etcd_ca_cert = "-----BEGIN CERTIFICATE-----".into();
    mixed.etcd_key_file = "/tmp/key.pem".into();
    assert_eq!(
        error_text(&mixed),
        "Cannot mix inline certificate-key and certificate / key files"
    );
}

#[test]
fn credentials_only_when_both_are_set() {
    let mut user_only = spec();
    user_only.etcd_username = "calico".into();
    assert!(EtcdSettings::from_spec(&user_only)
        .unwrap()
        .credentials
        .is_none());
    user_only.etcd_password = "pw".into();
    assert_eq!(
        EtcdSettings::from_spec(&user_only).unwrap().credentials,
        Some(("calico".into(), "pw".into()))
    );
}

#[test]
fn debug_output_redacts_secrets() {
    let mut secret = spec();
    secret.etcd_username = "calico".into();
    secret.etcd_password = "s3cr3t-password".into();
    secret.etcd_key = "-----BEGIN PRIVATE KEY-----\nSECRETKEYBYTES\n".into();
    secret.etcd_cert = "-----BEGIN CERTIFICATE-----\nCERTBYTES\n".into();
    let settings = EtcdSettings::from_spec(&secret).unwrap();
    let debug = format!("{settings:?} {:?}", settings.tls);
    assert!(debug.contains("calico"), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
    for leaked in ["s3cr3t-password", "SECRETKEYBYTES", "CERTBYTES"] {
        assert!(!debug.contains(leaked), "{debug}");
    }
}

#[test]
fn missing_certificate_files_are_named() {
    let mut files = spec();
    files.etcd_ca_cert_file = "/nonexistent/ca.pem".into();
    assert_eq!(
        error_text(&files),
        "could not read the etcd CA certificate file /nonexistent/ca.pem: no such file or directory"
    );
}

#[test]
fn prefix_ends() {
    assert_eq!(prefix_end(b"/a/"), b"/a0");
    assert_eq!(prefix_end(b"a\xff"), b"b");
    assert_eq!(prefix_end(b""), [0]);
}
