//! Connecting: TLS with client certificates, username/password, unreachable servers, and
//! that no secret ever shows in an error.

use calico_datastore::apiconfig::ApiConfigSpec;
use calico_datastore::kv::KvStore;
use calico_etcd::EtcdStore;
use calico_test_support::EtcdServer;

fn spec(endpoint: &str) -> ApiConfigSpec {
    ApiConfigSpec {
        datastore_type: "etcdv3".into(),
        etcd_endpoints: endpoint.into(),
        ..ApiConfigSpec::default()
    }
}

#[allow(clippy::unwrap_used, clippy::expect_used)]
async fn connect_error(spec: &ApiConfigSpec) -> String {
    match EtcdStore::connect_spec(spec).await {
        Ok(store) => panic!("connected to {}", store.location()),
        Err(err) => err.to_string(),
    }
}

#[tokio::test]
async fn tls_with_a_client_certificate() {
    let server = EtcdServer::start_tls();
    let files = server.tls().unwrap().clone();
    let mut with_files = spec(server.endpoint());
    with_files.etcd_ca_cert_file = files.ca_cert.display().to_string();
    with_files.etcd_cert_file = files.client_cert.display().to_string();
    with_files.etcd_key_file = files.client_key.display().to_string();
    let store = EtcdStore::connect_spec(&with_files).await.unwrap();
    let revision = store.put("/calico/tls", b"ok".to_vec()).await.unwrap();
    assert!(revision > 0);

    // The same, inline.
    let mut inline = spec(server.endpoint());
    inline.etcd_ca_cert = std::fs::read_to_string(&files.ca_cert).unwrap();
    inline.etcd_cert = std::fs::read_to_string(&files.client_cert).unwrap();
    inline.etcd_key = std::fs::read_to_string(&files.client_key).unwrap();
    let store = EtcdStore::connect_spec(&inline).await.unwrap();
    let kv = store.get("/calico/tls", None).await.unwrap().unwrap();
    assert_eq!(kv.value, b"ok");

    // Without a client certificate: one clear line.
    let mut no_cert = spec(server.endpoint());
    no_cert.etcd_ca_cert_file = files.ca_cert.display().to_string();
    let message = connect_error(&no_cert).await;
    eprintln!("without a client certificate: {message}");
    assert!(
        message.starts_with(&format!(
            "TLS connection to etcd at {} failed",
            server.endpoint()
        )),
        "{message}"
    );
    assert!(message.contains("client certificate"), "{message}");
    assert!(!message.contains('\n'), "{message}");

    // A server certificate the client does not trust (no CA given: the system's roots).
    let mut untrusted = spec(server.endpoint());
    untrusted.etcd_cert_file = files.client_cert.display().to_string();
    untrusted.etcd_key_file = files.client_key.display().to_string();
    let message = connect_error(&untrusted).await;
    eprintln!("untrusted server certificate: {message}");
    assert!(
        message.starts_with(&format!(
            "TLS connection to etcd at {} failed",
            server.endpoint()
        )),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");

    // Plain HTTP against a TLS server.
    let plain = spec(&server.endpoint().replace("https://", "http://"));
    let message = connect_error(&plain).await;
    eprintln!("plain HTTP to a TLS server: {message}");
    assert!(
        message.starts_with("failed to connect to etcd at http://"),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");
}

#[tokio::test]
async fn username_and_password() {
    let server = EtcdServer::start_with_auth("calico", "calico-pw");
    let mut good = spec(server.endpoint());
    good.etcd_username = "calico".into();
    good.etcd_password = "calico-pw".into();
    let store = EtcdStore::connect_spec(&good).await.unwrap();
    store.put("/calico/auth", b"ok".to_vec()).await.unwrap();
    assert_eq!(
        store
            .get("/calico/auth", None)
            .await
            .unwrap()
            .unwrap()
            .value,
        b"ok"
    );
    assert!(!format!("{store:?}").contains("calico-pw"));

    let mut bad = good.clone();
    bad.etcd_password = "wrong-secret-pw".into();
    let message = connect_error(&bad).await;
    eprintln!("wrong password: {message}");
    assert_eq!(
        message,
        format!(
            "authentication to etcd at {} failed: invalid user ID or password",
            server.endpoint()
        )
    );
    assert!(!message.contains("wrong-secret-pw"));

    let anonymous = spec(server.endpoint());
    match EtcdStore::connect_spec(&anonymous).await {
        // etcd 3.4 lets anonymous clients call Status; the first read is refused.
        Ok(store) => {
            let err = store
                .get("/calico/auth", None)
                .await
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("permission denied") || err.contains("user name"),
                "{err}"
            );
        }
        Err(err) => assert!(err.to_string().contains(server.endpoint()), "{err}"),
    }
}

#[tokio::test]
async fn connection_refused_is_one_clear_line() {
    // A port nothing listens on.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let message = connect_error(&spec(&endpoint)).await;
    assert_eq!(
        message,
        format!("failed to connect to etcd at {endpoint}: connection refused")
    );
}

#[tokio::test]
async fn secrets_never_show_in_errors_or_debug_output() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut secret = spec(&format!("http://127.0.0.1:{port}"));
    secret.etcd_username = "calico".into();
    secret.etcd_password = "hunter2-password".into();
    secret.etcd_key =
        "-----BEGIN PRIVATE KEY-----\nKEYMATERIAL\n-----END PRIVATE KEY-----\n".into();
    secret.etcd_cert =
        "-----BEGIN CERTIFICATE-----\nCERTMATERIAL\n-----END CERTIFICATE-----\n".into();
    let message = connect_error(&secret).await;
    let settings = calico_etcd::EtcdSettings::from_spec(&secret).unwrap();
    let debug = format!("{settings:?} {secret:?} {message}");
    for leaked in ["hunter2-password", "KEYMATERIAL", "CERTMATERIAL"] {
        assert!(!debug.contains(leaked), "{debug}");
    }
}

#[tokio::test]
async fn a_password_inside_an_endpoint_url_is_redacted() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let endpoint = format!("http://root:url-pass-9@127.0.0.1:{port}");
    let secret = spec(&endpoint);
    let message = connect_error(&secret).await;
    assert_eq!(
        message,
        format!(
            "failed to connect to etcd at http://root:xxxxx@127.0.0.1:{port}: connection refused"
        )
    );
    let settings = calico_etcd::EtcdSettings::from_spec(&secret).unwrap();
    let debug = format!("{settings:?} {secret:?}");
    assert!(!debug.contains("url-pass-9"), "{debug}");
    assert!(debug.contains("root:xxxxx@"), "{debug}");
}
