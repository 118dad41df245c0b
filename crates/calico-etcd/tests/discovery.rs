//! `etcdDiscoverySrv` against a throw-away etcd and a DNS server the test runs itself.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use calico_datastore::apiconfig::ApiConfigSpec;
use calico_datastore::kv::KvStore;
use calico_etcd::{EtcdSettings, EtcdStore};
use calico_test_support::EtcdServer;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::SRV;
use hickory_proto::rr::{Name, RData, Record};

/// Answers SRV queries for `_etcd-client._tcp.<domain>` with `localhost:<port>`, and NXDOMAIN
/// for everything else.
async fn dns_server(domain: &'static str, etcd_port: Option<u16>) -> SocketAddr {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buffer = [0u8; 1500];
        loop {
            let Ok((len, peer)) = socket.recv_from(&mut buffer).await else {
                return;
            };
            let Ok(query) = Message::from_vec(&buffer[..len]) else {
                continue;
            };
            let mut answer = Message::response(query.metadata.id, query.metadata.op_code);
            answer.metadata.recursion_desired = query.metadata.recursion_desired;
            answer.metadata.recursion_available = true;
            answer.queries = query.queries.clone();
            let wanted = format!("_etcd-client._tcp.{domain}.");
            match (query.queries.first(), etcd_port) {
                (Some(q), Some(port)) if q.name().to_ascii() == wanted => {
                    answer.add_answer(Record::from_rdata(
                        q.name().clone(),
                        60,
                        RData::SRV(SRV::new(
                            0,
                            0,
                            port,
                            Name::from_ascii("localhost.").unwrap(),
                        )),
                    ));
                }
                _ => answer.metadata.response_code = ResponseCode::NXDomain,
            }
            let _ = socket.send_to(&answer.to_vec().unwrap(), peer).await;
        }
    });
    address
}

fn port_of(endpoint: &str) -> u16 {
    endpoint.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn members_are_found_through_srv_records() {
    let server = EtcdServer::start();
    let dns = dns_server("calico.test", Some(port_of(server.endpoint()))).await;
    let spec = ApiConfigSpec {
        datastore_type: "etcdv3".into(),
        etcd_discovery_srv: "calico.test".into(),
        ..ApiConfigSpec::default()
    };
    let mut settings = EtcdSettings::from_spec(&spec).unwrap();
    assert!(settings.endpoints.is_empty());
    settings.srv_nameserver = Some(dns);
    let store = EtcdStore::connect(&settings).await.unwrap();
    let port = port_of(server.endpoint());
    assert_eq!(store.location(), format!("http://localhost:{port}"));
    let revision = store.put("/srv/key", b"value".to_vec()).await.unwrap();
    assert!(revision > 0);
}

#[tokio::test]
async fn no_records_is_a_clear_error() {
    let dns = dns_server("nothing.test", None).await;
    let spec = ApiConfigSpec {
        etcd_discovery_srv: "nothing.test".into(),
        ..ApiConfigSpec::default()
    };
    let mut settings = EtcdSettings::from_spec(&spec).unwrap();
    settings.srv_nameserver = Some(dns);
    let err = EtcdStore::connect(&settings).await.unwrap_err().to_string();
    assert!(
        err.starts_with("dns lookup errors: lookup _etcd-client-ssl._tcp.nothing.test."),
        "{err}"
    );
    assert!(
        err.contains(" and lookup _etcd-client._tcp.nothing.test."),
        "{err}"
    );
}

#[test]
fn endpoints_and_discovery_together_are_refused() {
    let spec = ApiConfigSpec {
        etcd_endpoints: "http://127.0.0.1:2379".into(),
        etcd_discovery_srv: "calico.test".into(),
        ..ApiConfigSpec::default()
    };
    assert_eq!(
        EtcdSettings::from_spec(&spec).unwrap_err().to_string(),
        "multiple discovery or bootstrap options specified, use either \"etcdEndpoints\" or \"etcdDiscoverySrv\""
    );
}
