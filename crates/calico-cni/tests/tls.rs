//! The etcd TLS settings of the network configuration (`etcd_ca_cert_file`, `etcd_cert_file`,
//! `etcd_key_file`) reach the datastore client, as Calico's plugin passes them on: an etcd that
//! requires client certificates serves an ADD and a DEL with them, and refuses one without.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use calico_test_support::EtcdServer;
use serde_json::Value;

fn run(conf: &str, command: &str) -> (String, i32) {
    let env: Vec<(String, String)> = [
        ("CNI_COMMAND", command),
        ("CNI_CONTAINERID", "tls0"),
        ("CNI_NETNS", "/var/run/netns/x"),
        ("CNI_IFNAME", "eth0"),
        ("CNI_PATH", "/opt/cni/bin"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let ran = common::spawn(&common::ours(), &env, conf);
    (ran.stdout, ran.code)
}

#[test]
fn etcd_client_certificates_from_the_network_configuration() {
    let etcd = EtcdServer::start_tls();
    let tls = etcd.tls().unwrap().clone();
    let golden: Value = serde_json::from_slice(
        &std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/goldens/add-del.json"),
        )
        .unwrap(),
    )
    .unwrap();
    for pair in golden["seed"].as_array().unwrap() {
        etcd.etcdctl(&["put", pair[0].as_str().unwrap(), pair[1].as_str().unwrap()]);
    }
    let with_certificates = serde_json::json!({
        "cniVersion": "1.0.0", "name": "net", "nodename": "node-a",
        "datastore_type": "etcdv3", "etcd_endpoints": etcd.endpoint(),
        "etcd_ca_cert_file": tls.ca_cert, "etcd_cert_file": tls.client_cert,
        "etcd_key_file": tls.client_key,
        "ipam": {"type": "calico-ipam"},
    })
    .to_string();
    let (stdout, exit) = run(&with_certificates, "ADD");
    assert_eq!(exit, 0, "{stdout}");
    assert!(
        stdout.contains("\"address\": \"10.0.174.128/26\""),
        "{stdout}"
    );
    assert_eq!(run(&with_certificates, "DEL"), (String::new(), 0));

    let without = serde_json::json!({
        "cniVersion": "1.0.0", "name": "net", "nodename": "node-a",
        "datastore_type": "etcdv3", "etcd_endpoints": etcd.endpoint(),
        "etcd_ca_cert_file": tls.ca_cert,
    })
    .to_string();
    let (stdout, exit) = run(&without, "ADD");
    assert_eq!(exit, 1);
    assert!(stdout.contains("\"code\": 999"), "{stdout}");
}
