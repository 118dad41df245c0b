//! Workload and host endpoints as v1 model values (`model.WorkloadEndpoint`,
//! `model.HostEndpoint`), fields in Go's order.

use std::collections::BTreeMap;

use calico_api::AnyResource;

use super::json::GoJson;
use super::keys::{go_ip, go_net, host_endpoint, parse_cidr_or_ip, workload_endpoint};
use super::sets::ConflictCache;
use super::{error, resource_of, Emitted, V1Processor};
use crate::resource_type::ProcessError;
use crate::types::SourceKv;

/// Calico's `ExtractDashSeparatedParms`: a name's `-`-separated segments (`--` is a literal
/// `-`), or `None` unless there are exactly `count`.
pub(crate) fn dash_separated(name: &str, count: usize) -> Option<Vec<String>> {
    if name.len() < 2 * count - 1 {
        return None;
    }
    let bytes = name.as_bytes();
    let mut parts = Vec::new();
    let mut last = 0usize;
    let mut i = 1;
    while i < bytes.len() {
        if bytes[i] != b'-' {
            i += 1;
            continue;
        }
        if i + 1 < bytes.len() && bytes[i + 1] == b'-' {
            i += 2;
            continue;
        }
        parts.push(name[last..i].replace("--", "-"));
        last = i + 1;
        i += 1;
    }
    parts.push(name[last..].replace("--", "-"));
    (parts.len() == count).then_some(parts)
}

/// A numorstring protocol as v1 writes it (names lower-cased).
pub(crate) fn v1_protocol(protocol: &calico_api::Protocol) -> GoJson {
    match serde_json::to_value(protocol) {
        Ok(serde_json::Value::String(s)) => GoJson::String(s.to_lowercase()),
        Ok(other) => GoJson::from_value(&other),
        Err(_) => GoJson::Null,
    }
}

fn port(name: &str, protocol: &calico_api::Protocol, number: u16) -> GoJson {
    GoJson::object()
        .field("name", GoJson::str(name))
        .field("protocol", v1_protocol(protocol))
        .field("port", GoJson::int(i64::from(number)))
}

/// `NewWorkloadEndpointUpdateProcessor`: a simple 1:1 processor; an endpoint without
/// `ipNetworks`, or one that does not convert, is a delete.
#[derive(Debug, Default)]
pub struct WorkloadEndpointProcessor;

impl V1Processor for WorkloadEndpointProcessor {
    fn process_v1(&mut self, kv: &SourceKv) -> Result<Vec<Emitted>, ProcessError> {
        let (key, value) = resource_of(kv)?;
        let parts = dash_separated(&key.name, 4)
            .filter(|_| !key.namespace.is_empty())
            .ok_or_else(|| {
                error(
                    kv,
                    "Unable to convert v3 key to v1 key: not enough information provided to create v1 Workload Endpoint Key",
                )
            })?;
        let path = workload_endpoint(
            &parts[0],
            &parts[1],
            &format!("{}/{}", key.namespace, parts[2]),
            &parts[3],
        );
        let value = match value {
            None => None,
            Some(AnyResource::WorkloadEndpoint(wep)) => workload_value(wep),
            Some(_) => None,
        };
        Ok(vec![Emitted::v1(path, value)])
    }
}

fn workload_value(wep: &calico_api::Resource<calico_api::WorkloadEndpointSpec>) -> Option<GoJson> {
    let spec = &wep.spec;
    if spec.ip_networks.is_empty() {
        return None;
    }
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    for text in &spec.ip_networks {
        let (_, net) = parse_cidr_or_ip(text)?;
        let item = GoJson::str(go_net(&net));
        if net.addr().is_ipv4() {
            v4.push(item)
        } else {
            v6.push(item)
        }
    }
    let (mut nat4, mut nat6) = (Vec::new(), Vec::new());
    for nat in &spec.ip_nats {
        let (Ok(int), Ok(ext)) = (
            nat.internal_ip.parse::<std::net::IpAddr>(),
            nat.external_ip.parse::<std::net::IpAddr>(),
        ) else {
            continue;
        };
        let item = GoJson::object()
            .field("int_ip", GoJson::str(go_ip(int)))
            .field("ext_ip", GoJson::str(go_ip(ext)));
        if int.is_ipv4() {
            nat4.push(item)
        } else {
            nat6.push(item)
        }
    }
    let gateway = |text: &str| -> Result<Option<GoJson>, ()> {
        if text.is_empty() {
            return Ok(None);
        }
        let (ip, _) = parse_cidr_or_ip(text).ok_or(())?;
        Ok(Some(GoJson::str(go_ip(ip))))
    };
    let gw4 = gateway(&spec.ipv4_gateway).ok()?;
    let gw6 = gateway(&spec.ipv6_gateway).ok()?;
    let mac = if spec.mac.is_empty() {
        GoJson::Null
    } else {
        GoJson::str(parse_mac(&spec.mac)?)
    };
    let ports: Vec<GoJson> = spec
        .ports
        .iter()
        .filter(|p| !p.name.is_empty())
        .map(|p| port(&p.name, &p.protocol, p.port))
        .collect();
    let mut labels: BTreeMap<String, String> = wep
        .metadata
        .labels
        .iter()
        .filter(|(k, _)| !k.starts_with("pcns.") && !k.starts_with("pcsa."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !spec.service_account_name.is_empty() {
        labels.insert(
            "projectcalico.org/serviceaccount".into(),
            spec.service_account_name.clone(),
        );
    }
    let mut spoof = Vec::new();
    for prefix in &spec.allow_spoofed_source_prefixes {
        let (_, net) = parse_cidr_or_ip(prefix)?;
        spoof.push(GoJson::str(go_net(&net)));
    }
    let annotations = &wep.metadata.annotations;
    let mut value = GoJson::object()
        .field("state", GoJson::str("active"))
        .field("name", GoJson::str(&spec.interface_name))
        .field("active_instance_id", GoJson::str(""))
        .field("mac", mac)
        .field("profile_ids", GoJson::strings(&spec.profiles))
        .field("ipv4_nets", array_or_null(v4))
        .field("ipv6_nets", array_or_null(v6))
        .field_unless(nat4.is_empty(), "ipv4_nat", GoJson::Array(nat4))
        .field_unless(nat6.is_empty(), "ipv6_nat", GoJson::Array(nat6))
        .field("labels", GoJson::map(&labels));
    if let Some(gw) = gw4 {
        value = value.field("ipv4_gateway", gw);
    }
    if let Some(gw) = gw6 {
        value = value.field("ipv6_gateway", gw);
    }
    value = value
        .field_unless(ports.is_empty(), "ports", GoJson::Array(ports))
        .field_unless(
            wep.metadata.generate_name.is_empty(),
            "generate_name",
            GoJson::str(&wep.metadata.generate_name),
        )
        .field_unless(
            spoof.is_empty(),
            "allow_spoofed_source_ips",
            GoJson::Array(spoof),
        )
        .field_unless(
            annotations.is_empty(),
            "annotations",
            GoJson::map(annotations),
        );
    if let Some(qos) = &spec.qos_controls {
        value = value.field("qosControls", qos_controls(qos));
    }
    Some(value)
}

/// Calico's `QoSControls`, fields in Go's order, zero ones omitted.
pub(crate) fn qos_controls(qos: &calico_api::kinds::workloadendpoint::QosControls) -> GoJson {
    let numbers = [
        ("ingressBandwidth", qos.ingress_bandwidth),
        ("ingressBurst", qos.ingress_burst),
        ("ingressPeakrate", qos.ingress_peakrate),
        ("ingressMinburst", qos.ingress_minburst),
        ("egressBandwidth", qos.egress_bandwidth),
        ("egressBurst", qos.egress_burst),
        ("egressPeakrate", qos.egress_peakrate),
        ("egressMinburst", qos.egress_minburst),
        ("ingressPacketRate", qos.ingress_packet_rate),
        ("ingressPacketBurst", qos.ingress_packet_burst),
        ("egressPacketRate", qos.egress_packet_rate),
        ("egressPacketBurst", qos.egress_packet_burst),
        ("ingressMaxConnections", qos.ingress_max_connections),
        ("egressMaxConnections", qos.egress_max_connections),
    ];
    let mut value = numbers
        .into_iter()
        .fold(GoJson::object(), |value, (name, number)| {
            value.field_unless(number == 0, name, GoJson::int(number))
        });
    if let Some(dscp) = &qos.dscp {
        let dscp = serde_json::to_value(dscp).unwrap_or_default();
        value = value.field("dscp", GoJson::from_value(&dscp));
    }
    value
}

fn array_or_null(items: Vec<GoJson>) -> GoJson {
    if items.is_empty() {
        GoJson::Null
    } else {
        GoJson::Array(items)
    }
}

/// Go's `net.ParseMAC` then `String()` (lower-case, colon-separated), for the common
/// 6-byte forms.
fn parse_mac(text: &str) -> Option<String> {
    let parts: Vec<&str> = if text.contains(':') {
        text.split(':').collect()
    } else if text.contains('-') {
        text.split('-').collect()
    } else {
        return None;
    };
    if parts.len() != 6 && parts.len() != 8 && parts.len() != 20 {
        return None;
    }
    let mut bytes = Vec::new();
    for part in parts {
        if part.len() != 2 {
            return None;
        }
        bytes.push(u8::from_str_radix(part, 16).ok()?);
    }
    Some(
        bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

/// `NewHostEndpointUpdateProcessor`: a conflict-resolving cache keyed by the v1 key
/// (`/calico/v1/host/<node>/endpoint/<name>`).
#[derive(Debug, Default)]
pub struct HostEndpointProcessor {
    cache: ConflictCache,
}

impl V1Processor for HostEndpointProcessor {
    fn process_v1(&mut self, kv: &SourceKv) -> Result<Vec<Emitted>, ProcessError> {
        let (key, value) = resource_of(kv)?;
        let converted = match value {
            None => None,
            Some(AnyResource::HostEndpoint(hep)) => {
                let spec = &hep.spec;
                let (mut v4, mut v6) = (Vec::new(), Vec::new());
                for ip in &spec.expected_ips {
                    if let Ok(ip) = ip.parse::<std::net::IpAddr>() {
                        if ip.is_ipv4() {
                            v4.push(GoJson::str(go_ip(ip)))
                        } else {
                            v6.push(GoJson::str(go_ip(ip)))
                        }
                    }
                }
                let ports: Vec<GoJson> = spec
                    .ports
                    .iter()
                    .map(|p| port(&p.name, &p.protocol, p.port))
                    .collect();
                let labels = &hep.metadata.labels;
                let value = GoJson::object()
                    .field_unless(
                        spec.interface_name.is_empty(),
                        "name",
                        GoJson::str(&spec.interface_name),
                    )
                    .field_unless(v4.is_empty(), "expected_ipv4_addrs", GoJson::Array(v4))
                    .field_unless(v6.is_empty(), "expected_ipv6_addrs", GoJson::Array(v6))
                    .field(
                        "labels",
                        if labels.is_empty() {
                            GoJson::Null
                        } else {
                            GoJson::map(labels)
                        },
                    )
                    .field_unless(
                        spec.profiles.is_empty(),
                        "profile_ids",
                        GoJson::strings(&spec.profiles),
                    )
                    .field_unless(ports.is_empty(), "ports", GoJson::Array(ports));
                Some((host_endpoint(&spec.node, &key.name), value))
            }
            Some(_) => {
                return Err(error(
                    kv,
                    "Value is not a valid HostEndpoint resource value",
                ))
            }
        };
        Ok(self.cache.process(&key.name, converted))
    }

    fn on_start(&mut self) {}
}
