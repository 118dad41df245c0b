//! WorkloadEndpoint (internal kind): the network interface of a pod, VM or container, as the
//! orchestrator plugin reports it.

mod names;
#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::sync::LazyLock;

use ipnet::IpNet;
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::hostendpoint::{validate_profiles, zero_protocol};
use super::sets::RESERVED_NAMESPACE_LABEL;
use crate::numorstring::{Dscp, Protocol};
use crate::resource::{Kind, NoStatus, Resource, Scope};
use crate::serde_helpers::is_zero_i64;
use crate::validation::checks::{self, Family};
use crate::validation::Validator;

pub use names::{
    workload_endpoint_name, WorkloadEndpointIdentifiers, WorkloadEndpointNameError,
    ORCHESTRATOR_CNI, ORCHESTRATOR_K8S, ORCHESTRATOR_LIBNETWORK, ORCHESTRATOR_OPENSTACK,
};

/// The label Calico sets on every WorkloadEndpoint to its orchestrator.
pub const ORCHESTRATOR_LABEL: &str = "projectcalico.org/orchestrator";

/// `spec` of a WorkloadEndpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkloadEndpointSpec {
    /// `k8s`, `cni`, `libnetwork`, `openstack`, …; decides how the name is built.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub orchestrator: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub workload: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node: String,
    #[serde(
        rename = "containerID",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub container_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pod: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub endpoint: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_account_name: String,
    /// The endpoint's addresses, each a single address (`/32` or `/128`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_networks: Vec<String>,
    /// 1:1 NATs; each internal IP must be one of `ipNetworks`.
    #[serde(rename = "ipNATs", default, skip_serializing_if = "Vec::is_empty")]
    pub ip_nats: Vec<IpNat>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ipv4_gateway: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ipv6_gateway: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    /// The host-side interface, e.g. `cali1234567890a`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interface_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mac: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<WorkloadEndpointPort>,
    /// Source prefixes the workload may send from despite the RPF check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_spoofed_source_prefixes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qos_controls: Option<QosControls>,
}

/// A named or host-mapped port of a workload. Every field is always written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkloadEndpointPort {
    #[serde(default)]
    pub name: String,
    #[serde(default = "zero_protocol")]
    pub protocol: Protocol,
    #[serde(default)]
    pub port: u16,
    #[serde(default)]
    pub host_port: u16,
    #[serde(rename = "hostIP", default)]
    pub host_ip: String,
}

impl Default for WorkloadEndpointPort {
    fn default() -> Self {
        WorkloadEndpointPort {
            name: String::new(),
            protocol: zero_protocol(),
            port: 0,
            host_port: 0,
            host_ip: String::new(),
        }
    }
}

/// One 1:1 NAT mapping. Both fields are always written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct IpNat {
    #[serde(rename = "internalIP", default)]
    pub internal_ip: String,
    #[serde(rename = "externalIP", default)]
    pub external_ip: String,
}

/// Bandwidth, packet-rate, connection and DSCP controls (each applied only when non-zero).
///
/// Calico's validator places no limits on these (the ranges are enforced where pod annotations
/// are converted), so neither do we.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QosControls {
    /// Bits per second.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub ingress_bandwidth: i64,
    /// Bits.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub ingress_burst: i64,
    /// Bits per second.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub ingress_peakrate: i64,
    /// Bytes.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub ingress_minburst: i64,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub egress_bandwidth: i64,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub egress_burst: i64,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub egress_peakrate: i64,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub egress_minburst: i64,
    /// Packets per second.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub ingress_packet_rate: i64,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub ingress_packet_burst: i64,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub egress_packet_rate: i64,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub egress_packet_burst: i64,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub ingress_max_connections: i64,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub egress_max_connections: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dscp: Option<Dscp>,
}

pub type WorkloadEndpoint = Resource<WorkloadEndpointSpec>;

/// Reason used when a set name differs from the one computed from the spec.
pub fn name_mismatch_reason(expected: &str) -> String {
    format!(
        "the WorkloadEndpoint name does not match the primary identifiers assigned in the Spec: \
         expected name {expected}"
    )
}

static CONTAINER_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$").unwrap_or_else(|_| unreachable!())
});

impl Kind for WorkloadEndpointSpec {
    const KIND: &'static str = "WorkloadEndpoint";
    const PLURAL: &'static str = "workloadendpoints";
    const SCOPE: Scope = Scope::Namespaced;
    type Status = NoStatus;

    /// What Calico's client does on create and update:
    /// - an empty name is set to the one computed from the spec identifiers (left empty when
    ///   they are incomplete, for validation to report);
    /// - the labels `projectcalico.org/namespace` (the namespace) and
    ///   `projectcalico.org/orchestrator` (`spec.orchestrator`) are set, replacing any value.
    fn apply_defaults(resource: &mut Resource<Self>) {
        if resource.metadata.name.is_empty() {
            if let Ok(name) = workload_endpoint_name(&resource.spec) {
                resource.metadata.name = name;
            }
        }
        let labels = &mut resource.metadata.labels;
        labels.insert(
            RESERVED_NAMESPACE_LABEL.to_string(),
            resource.metadata.namespace.clone(),
        );
        labels.insert(
            ORCHESTRATOR_LABEL.to_string(),
            resource.spec.orchestrator.clone(),
        );
    }

    fn validate(resource: &Resource<Self>, v: &mut Validator) {
        validate_name_matches(resource, v);
        v.field("spec", |v| validate_spec(v, &resource.spec));
    }
}

fn validate_name_matches(resource: &WorkloadEndpoint, v: &mut Validator) {
    match workload_endpoint_name(&resource.spec) {
        Err(err) => v.field("spec", |v| v.error_at(err.field, &err.value, err.reason)),
        Ok(expected) => {
            let name = &resource.metadata.name;
            if !name.is_empty() && *name != expected {
                v.field("metadata", |v| {
                    v.error_at("name", name, name_mismatch_reason(&expected))
                });
            }
        }
    }
}

fn validate_spec(v: &mut Validator, spec: &WorkloadEndpointSpec) {
    let names: [(&'static str, &str); 6] = [
        ("orchestrator", &spec.orchestrator),
        ("workload", &spec.workload),
        ("node", &spec.node),
        ("pod", &spec.pod),
        ("endpoint", &spec.endpoint),
        ("serviceAccountName", &spec.service_account_name),
    ];
    for (field, value) in names {
        if !value.is_empty() {
            v.field(field, |v| checks::resource_name(v, value));
        }
    }
    if !spec.container_id.is_empty() && !CONTAINER_ID.is_match(&spec.container_id) {
        v.error_at(
            "containerID",
            &spec.container_id,
            "container ID must consist of alphanumeric characters or '-', and must start and \
             end with an alphanumeric character",
        );
    }
    let networks = validate_ip_networks(v, &spec.ip_networks);
    v.each("ipNATs", &spec.ip_nats, |v, nat| {
        validate_ip_nat(v, nat, &networks)
    });
    v.field("ipv4Gateway", |v| {
        gateway(v, &spec.ipv4_gateway, Family::V4)
    });
    v.field("ipv6Gateway", |v| {
        gateway(v, &spec.ipv6_gateway, Family::V6)
    });
    validate_profiles(v, &spec.profiles);
    // Unlike most fields this one is not optional: an empty name fails the interface check.
    checks::interface_name(v, "InterfaceName", &spec.interface_name);
    if !spec.mac.is_empty() {
        checks::mac_address(v, "MAC", &spec.mac);
    }
    v.each("ports", &spec.ports, validate_port);
    for (i, prefix) in spec.allow_spoofed_source_prefixes.iter().enumerate() {
        checks::cidr(v, &format!("AllowSpoofedSourcePrefixes[{i}]"), prefix);
    }
}

/// Checks each network is one address and returns the parsed ones (for the NAT check).
fn validate_ip_networks(v: &mut Validator, networks: &[String]) -> Vec<IpNet> {
    let mut parsed = Vec::with_capacity(networks.len());
    v.each(
        "ipNetworks",
        networks,
        |v, text| match checks::parse_cidr_or_ip(text) {
            None => v.error(text, "invalid CIDR"),
            Some(net) if net.prefix_len() != net.max_prefix_len() => {
                v.error(text, "IP network contains multiple addresses")
            }
            Some(net) => parsed.push(net),
        },
    );
    parsed
}

/// One side of a NAT as Calico's checks see it.
#[derive(Clone, Copy)]
enum NatAddress {
    Empty,
    Valid(IpAddr),
    /// Already reported.
    Invalid,
}

impl NatAddress {
    /// Reads (and checks) one side of a NAT.
    fn check(v: &mut Validator, field: &'static str, text: &str) -> NatAddress {
        if text.is_empty() {
            return NatAddress::Empty;
        }
        let go_name = if field == "internalIP" {
            "InternalIP"
        } else {
            "ExternalIP"
        };
        match checks::ip(v, go_name, text) {
            Some(addr) => NatAddress::Valid(addr),
            None => NatAddress::Invalid,
        }
    }

    /// The IP version Calico compares: 0 for an empty address, unknown when invalid.
    fn version(self) -> Option<u8> {
        match self {
            NatAddress::Empty => Some(0),
            NatAddress::Valid(addr) => Some(Family::of_addr(&addr).number()),
            NatAddress::Invalid => None,
        }
    }
}

fn validate_ip_nat(v: &mut Validator, nat: &IpNat, networks: &[IpNet]) {
    let internal = NatAddress::check(v, "internalIP", &nat.internal_ip);
    let external = NatAddress::check(v, "externalIP", &nat.external_ip);
    if let (Some(internal_version), Some(external_version)) =
        (internal.version(), external.version())
    {
        if internal_version != external_version {
            v.error_at("externalIP", &nat.external_ip, "mismatched IP versions");
        }
    }
    let outside_networks = match internal {
        NatAddress::Valid(addr) => !networks.iter().any(|net| net.contains(&addr)),
        NatAddress::Empty => true,
        NatAddress::Invalid => false,
    };
    if outside_networks {
        v.error_at(
            "internalIP",
            &nat.internal_ip,
            "NAT is not in the endpoint networks",
        );
    }
}

/// `ipv4Gateway` / `ipv6Gateway`: empty, or a bare address of the field's family.
fn gateway(v: &mut Validator, text: &str, family: Family) {
    if text.is_empty() {
        return;
    }
    match text.parse::<IpAddr>() {
        Ok(addr) if Family::of_addr(&addr) == family => {}
        Ok(_) => v.error(
            text,
            format!("invalid IPv{} gateway address specified", family.number()),
        ),
        Err(_) => v.error(text, format!("invalid IPv{} address", family.number())),
    }
}

fn validate_port(v: &mut Validator, port: &WorkloadEndpointPort) {
    if !port.name.is_empty() {
        checks::port_name(v, "Name", &port.name);
    } else if port.host_port == 0 {
        v.error_at(
            "name",
            &port.name,
            "WorkloadEndpointPort name must not be empty if no HostPort is specified",
        );
    }
    checks::protocol(v, &port.protocol);
    if port.port == 0 {
        v.go_tag("Port", port.port, "gt");
    }
    if !port.protocol.supports_ports() {
        v.go(
            "WorkloadEndpointPort.Protocol",
            &port.protocol,
            "WorkloadEndpointPort protocol does not support ports.",
        );
    }
    if !port.host_ip.is_empty() {
        checks::masked_net(v, "HostIP", &port.host_ip);
    }
}
