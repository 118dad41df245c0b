//! `etcdDiscoverySrv`: finding etcd members through DNS SRV records, as etcd's Go client does
//! for Calico (`srv.GetClient("etcd-client", domain, "")`): `_etcd-client-ssl._tcp.<domain>`
//! gives `https://` endpoints, `_etcd-client._tcp.<domain>` gives `http://` ones, and the lookup
//! fails only when both fail.

use std::net::SocketAddr;

use calico_datastore::kv::KvError;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::TokioResolver;

/// The endpoints the SRV records of `domain` name, https ones first. `nameserver` overrides the
/// system's resolver configuration (tests run their own DNS server).
pub async fn endpoints(
    domain: &str,
    nameserver: Option<SocketAddr>,
) -> Result<Vec<String>, KvError> {
    let resolver = resolver(nameserver)?;
    let mut endpoints = Vec::new();
    let mut failures = Vec::new();
    for (service, scheme) in [("_etcd-client-ssl", "https"), ("_etcd-client", "http")] {
        let name = format!("{service}._tcp.{}.", domain.trim_end_matches('.'));
        match resolver.srv_lookup(name.as_str()).await {
            Ok(lookup) => {
                for record in lookup.answers() {
                    if let RData::SRV(srv) = &record.data {
                        let target = srv.target.to_utf8();
                        let host = target.trim_end_matches('.');
                        endpoints.push(format!("{scheme}://{host}:{}", srv.port));
                    }
                }
            }
            Err(err) => failures.push(format!("lookup {name}: {err}")),
        }
    }
    if endpoints.is_empty() {
        return Err(KvError::Store(if failures.is_empty() {
            format!("no etcd endpoints found in the SRV records of {domain}")
        } else {
            format!("dns lookup errors: {}", failures.join(" and "))
        }));
    }
    Ok(endpoints)
}

fn resolver(nameserver: Option<SocketAddr>) -> Result<TokioResolver, KvError> {
    let failed = |err: &dyn std::fmt::Display| {
        KvError::Store(format!(
            "could not set up DNS resolution for etcdDiscoverySrv: {err}"
        ))
    };
    match nameserver {
        None => TokioResolver::builder_tokio()
            .map_err(|e| failed(&e))?
            .build()
            .map_err(|e| failed(&e)),
        Some(address) => {
            let mut udp = ConnectionConfig::udp();
            udp.port = address.port();
            let server = NameServerConfig::new(address.ip(), true, vec![udp]);
            TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![server]),
                TokioRuntimeProvider::default(),
            )
            .build()
            .map_err(|e| failed(&e))
        }
    }
}
