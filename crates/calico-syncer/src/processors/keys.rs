//! libcalico-go's v1 model keys, by their default paths (`model.KeyToDefaultPath`).

use std::net::IpAddr;

use ipnet::IpNet;

/// Calico's `escapeName`: `%` and `/` escaped so that a name is one path segment.
pub(crate) fn escape(name: &str) -> String {
    name.replace('%', "%25").replace('/', "%2f")
}

pub(crate) fn global_config(name: &str) -> String {
    format!("/calico/v1/config/{name}")
}

pub(crate) fn host_config(host: &str, name: &str) -> String {
    format!("/calico/v1/host/{host}/config/{name}")
}

pub(crate) const READY_FLAG: &str = "/calico/v1/Ready";

pub(crate) fn wireguard(node: &str) -> String {
    format!("/calico/v1/host/{node}/wireguard")
}

pub(crate) fn workload_endpoint(
    host: &str,
    orchestrator: &str,
    workload: &str,
    endpoint: &str,
) -> String {
    format!(
        "/calico/v1/host/{host}/workload/{}/{}/endpoint/{}",
        escape(orchestrator),
        escape(workload),
        escape(endpoint)
    )
}

pub(crate) fn host_endpoint(host: &str, endpoint: &str) -> String {
    format!("/calico/v1/host/{host}/endpoint/{}", escape(endpoint))
}

pub(crate) fn network_set(name: &str) -> String {
    format!("/calico/v1/netset/{}", escape(name))
}

pub(crate) fn tier(name: &str) -> String {
    format!("/calico/v1/policy/tier/{name}/metadata")
}

pub(crate) fn ip_pool(cidr: &IpNet) -> String {
    let version = match cidr.addr() {
        IpAddr::V4(_) => 4,
        IpAddr::V6(_) => 6,
    };
    format!(
        "/calico/v1/ipam/v{version}/pool/{}",
        cidr.to_string().replace('/', "-")
    )
}

/// Go's `net.IP.String()`: IPv4-mapped IPv6 addresses print as IPv4.
pub(crate) fn go_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// Calico's `net.ParseIP` (an address only), canonical form.
pub(crate) fn parse_ip(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>().ok()
}

/// Calico's `net.ParseCIDROrIP`: the address as written and its network (a plain address is a
/// /32 or /128).
pub(crate) fn parse_cidr_or_ip(text: &str) -> Option<(IpAddr, IpNet)> {
    if text.contains('/') {
        let net: IpNet = text.parse().ok()?;
        Some((net.addr(), net))
    } else {
        let ip: IpAddr = text.parse().ok()?;
        Some((ip, IpNet::from(ip)))
    }
}

/// A network as Go's `net.IPNet.String()` prints it after `Network()` (the address masked).
pub(crate) fn go_net(net: &IpNet) -> String {
    let net = net.trunc();
    format!("{}/{}", go_ip(net.addr()), net.prefix_len())
}
