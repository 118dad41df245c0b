//! Node (internal kind): one Calico node, its BGP, tunnel and WireGuard addresses.

use serde::{Deserialize, Serialize};

use crate::numorstring::AsNumber;
use crate::resource::{Always, Kind, Resource, Scope};
use crate::validation::checks::{self, Family};
use crate::validation::Validator;

/// Node address types Calico knows.
pub const NODE_ADDRESS_TYPES: &[&str] = &["CalicoNodeIP", "InternalIP", "ExternalIP"];

/// `spec` of a Node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bgp: Option<NodeBgpSpec>,
    #[serde(
        rename = "ipv4VXLANTunnelAddr",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub ipv4_vxlan_tunnel_addr: String,
    #[serde(
        rename = "vxlanTunnelMACAddr",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub vxlan_tunnel_mac_addr: String,
    #[serde(
        rename = "ipv6VXLANTunnelAddr",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub ipv6_vxlan_tunnel_addr: String,
    #[serde(
        rename = "vxlanTunnelMACAddrV6",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub vxlan_tunnel_mac_addr_v6: String,
    /// The node's names in each orchestrator.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orch_refs: Vec<OrchRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wireguard: Option<NodeWireguardSpec>,
    /// Addresses the node can be reached at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<NodeAddress>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<NodeInterface>,
}

/// `spec.bgp`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeBgpSpec {
    /// The node's AS number; the global default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_number: Option<AsNumber>,
    /// Address and prefix length, e.g. `10.0.0.5/24`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ipv4_address: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ipv6_address: String,
    #[serde(
        rename = "ipv4IPIPTunnelAddr",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub ipv4_ipip_tunnel_addr: String,
    /// Makes the node a route reflector of this cluster ID (an IPv4 address).
    #[serde(
        rename = "routeReflectorClusterID",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub route_reflector_cluster_id: String,
}

/// `spec.wireguard`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NodeWireguardSpec {
    #[serde(
        rename = "interfaceIPv4Address",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub interface_ipv4_address: String,
    #[serde(
        rename = "interfaceIPv6Address",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub interface_ipv6_address: String,
}

/// The node's name in one orchestrator. `orchestrator` is always written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrchRef {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node_name: String,
    #[serde(default)]
    pub orchestrator: String,
}

/// One address of the node. `address` is always written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NodeAddress {
    #[serde(default)]
    pub address: String,
    /// One of [`NODE_ADDRESS_TYPES`], or empty.
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub address_type: String,
}

/// One interface of the node and its addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NodeInterface {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
}

/// `status` of a Node (a Go struct value: always written, `{}` when empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeStatus {
    /// Base64 WireGuard public key of the IPv4 tunnel.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub wireguard_public_key: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub wireguard_public_key_v6: String,
    /// Mirror of the Kubernetes node's `spec.podCIDRs`.
    #[serde(rename = "podCIDRs", default, skip_serializing_if = "Vec::is_empty")]
    pub pod_cidrs: Vec<String>,
}

pub type Node = Resource<NodeSpec>;

/// Length of a WireGuard key in bytes.
pub const WIREGUARD_KEY_LEN: usize = 32;

/// The number of bytes `text` decodes to as padded standard base64, read as Go's
/// `base64.StdEncoding` does (line breaks ignored, unused trailing bits not checked), or `None`
/// when it is not valid base64.
fn std_base64_decoded_len(text: &str) -> Option<usize> {
    let symbols: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b'\r' | b'\n'))
        .collect();
    if !symbols.len().is_multiple_of(4) {
        return None;
    }
    let padding = symbols.iter().rev().take_while(|b| **b == b'=').count();
    let data = &symbols[..symbols.len() - padding];
    let alphabet = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/');
    if padding > 2 || !data.iter().all(alphabet) {
        return None;
    }
    Some(symbols.len() / 4 * 3 - padding)
}

/// Whether `key` is a WireGuard key: 32 bytes in padded standard base64.
pub fn is_wireguard_key(key: &str) -> bool {
    std_base64_decoded_len(key) == Some(WIREGUARD_KEY_LEN)
}

/// `wireguardPublicKey` tag.
fn wireguard_key(v: &mut Validator, go_name: &str, key: &str) {
    if !key.is_empty() && !is_wireguard_key(key) {
        v.go_tag(go_name, key, "wireguardPublicKey");
    }
}

/// An optional single address of one family (`ipv4` / `ipv6` tags).
fn optional_ip(v: &mut Validator, go_name: &str, value: &str, family: Family) {
    if !value.is_empty() {
        checks::ip_of_family(v, go_name, value, family);
    }
}

/// An optional MAC address (`mac` tag).
fn optional_mac(v: &mut Validator, go_name: &str, value: &str) {
    if !value.is_empty() {
        checks::mac_address(v, go_name, value);
    }
}

/// `%v` of a `*NodeBGPSpec`.
fn bgp_go_value(bgp: &NodeBgpSpec) -> String {
    format!(
        "&{{{} {} {} {} {}}}",
        bgp.as_number
            .as_ref()
            .map_or_else(|| "<nil>".to_string(), |n| format!("{n}")),
        bgp.ipv4_address,
        bgp.ipv6_address,
        bgp.ipv4_ipip_tunnel_addr,
        bgp.route_reflector_cluster_id
    )
}

fn validate_bgp(v: &mut Validator, bgp: &NodeBgpSpec) {
    for (go_name, value, family) in [
        ("IPv4Address", &bgp.ipv4_address, Family::V4),
        ("IPv6Address", &bgp.ipv6_address, Family::V6),
    ] {
        if !value.is_empty() {
            checks::cidr_of_family(v, go_name, value, family);
        }
    }
    optional_ip(
        v,
        "IPv4IPIPTunnelAddr",
        &bgp.ipv4_ipip_tunnel_addr,
        Family::V4,
    );
    optional_ip(
        v,
        "RouteReflectorClusterID",
        &bgp.route_reflector_cluster_id,
        Family::V4,
    );
}

/// Calico's Go checks on a Node spec, in its struct order. Node has no CRD schema, and the
/// validator does not descend into `addresses`, `interfaces` or `orchRefs` (their tags have no
/// `dive`), so addresses as calico/node writes them (`10.0.0.1/24`) are accepted.
fn validate_spec(v: &mut Validator, spec: &NodeSpec) {
    if let Some(bgp) = &spec.bgp {
        validate_bgp(v, bgp);
    }
    optional_ip(
        v,
        "IPv4VXLANTunnelAddr",
        &spec.ipv4_vxlan_tunnel_addr,
        Family::V4,
    );
    optional_mac(v, "VXLANTunnelMACAddr", &spec.vxlan_tunnel_mac_addr);
    optional_ip(
        v,
        "IPv6VXLANTunnelAddr",
        &spec.ipv6_vxlan_tunnel_addr,
        Family::V6,
    );
    optional_mac(v, "VXLANTunnelMACAddrV6", &spec.vxlan_tunnel_mac_addr_v6);
    if let Some(w) = &spec.wireguard {
        optional_ip(
            v,
            "InterfaceIPv4Address",
            &w.interface_ipv4_address,
            Family::V4,
        );
        optional_ip(
            v,
            "InterfaceIPv6Address",
            &w.interface_ipv6_address,
            Family::V6,
        );
    }
    if let Some(bgp) = &spec.bgp {
        if *bgp == NodeBgpSpec::default() {
            v.go("BGP", bgp_go_value(bgp), "Spec.BGP should not be empty");
        }
    }
}

impl Kind for NodeSpec {
    const KIND: &'static str = "Node";
    const PLURAL: &'static str = "nodes";
    const SCOPE: Scope = Scope::Cluster;
    type Status = Always<NodeStatus>;

    fn validate(resource: &Resource<Self>, v: &mut Validator) {
        v.field("spec", |v| validate_spec(v, &resource.spec));
        let status = &resource.status.0;
        v.field("status", |v| {
            wireguard_key(v, "WireguardPublicKey", &status.wireguard_public_key);
            wireguard_key(v, "WireguardPublicKeyV6", &status.wireguard_public_key_v6);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode_value;
    use crate::kinds::test_support::{assert_unknown_field, decode_as, round_trip};
    use serde_json::json;

    const KEY: &str = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";

    fn calico_written() -> serde_json::Value {
        json!({
            "kind": "Node",
            "apiVersion": "projectcalico.org/v3",
            "metadata": {
                "name": "node1",
                "uid": "9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d",
                "resourceVersion": "42",
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "labels": {"kubernetes.io/hostname": "node1"}
            },
            "spec": {
                "bgp": {
                    "asNumber": 64512,
                    "ipv4Address": "10.0.0.5/24",
                    "ipv6Address": "2001:db8::5/64",
                    "ipv4IPIPTunnelAddr": "192.168.10.1",
                    "routeReflectorClusterID": "224.0.0.1"
                },
                "ipv4VXLANTunnelAddr": "192.168.20.1",
                "vxlanTunnelMACAddr": "66:8a:1d:2b:3c:4d",
                "ipv6VXLANTunnelAddr": "fd00:20::1",
                "vxlanTunnelMACAddrV6": "66:8a:1d:2b:3c:4e",
                "orchRefs": [{"nodeName": "node1.example.com", "orchestrator": "k8s"}],
                "wireguard": {
                    "interfaceIPv4Address": "192.168.30.1",
                    "interfaceIPv6Address": "fd00:30::1"
                },
                "addresses": [
                    {"address": "10.0.0.5", "type": "CalicoNodeIP"},
                    {"address": "10.0.0.0/24", "type": "InternalIP"},
                    {"address": "203.0.113.5"}
                ],
                "interfaces": [{"name": "eth0", "addresses": ["10.0.0.5", "2001:db8::5"]}]
            },
            "status": {
                "wireguardPublicKey": KEY,
                "wireguardPublicKeyV6": "jNdIvb/jqGw6vLZWSHxTBrGqDGNk/eS3zi5gKZCOhlE=",
                "podCIDRs": ["192.168.0.0/24", "fd00:10::/64"]
            }
        })
    }

    #[test]
    fn round_trips_calico_json() -> Result<(), Box<dyn std::error::Error>> {
        round_trip(&calico_written()).validate()?;
        Ok(())
    }

    #[test]
    fn minimal_document_writes_empty_status() -> Result<(), Box<dyn std::error::Error>> {
        let input = json!({
            "kind": "Node",
            "apiVersion": "projectcalico.org/v3",
            "metadata": {"name": "n"},
            "spec": {}
        });
        let decoded = decode_value(input.clone())?;
        let mut expected = input;
        expected["status"] = json!({});
        assert_eq!(serde_json::to_value(&decoded)?, expected);
        assert_eq!(decode_value(expected.clone())?, decoded);
        decoded.validate()?;
        Ok(())
    }

    #[test]
    fn writes_go_field_order() -> Result<(), Box<dyn std::error::Error>> {
        let mut doc = calico_written();
        doc["metadata"] = json!({"name": "node1"});
        let node: Node = decode_as(doc);
        assert_eq!(
            serde_json::to_string(&node)?,
            concat!(
                r#"{"kind":"Node","apiVersion":"projectcalico.org/v3","metadata":{"name":"node1"},"#,
                r#""spec":{"bgp":{"asNumber":64512,"ipv4Address":"10.0.0.5/24","ipv6Address":"2001:db8::5/64","#,
                r#""ipv4IPIPTunnelAddr":"192.168.10.1","routeReflectorClusterID":"224.0.0.1"},"#,
                r#""ipv4VXLANTunnelAddr":"192.168.20.1","vxlanTunnelMACAddr":"66:8a:1d:2b:3c:4d","#,
                r#""ipv6VXLANTunnelAddr":"fd00:20::1","vxlanTunnelMACAddrV6":"66:8a:1d:2b:3c:4e","#,
                r#""orchRefs":[{"nodeName":"node1.example.com","orchestrator":"k8s"}],"#,
                r#""wireguard":{"interfaceIPv4Address":"192.168.30.1","interfaceIPv6Address":"fd00:30::1"},"#,
                r#""addresses":[{"address":"10.0.0.5","type":"CalicoNodeIP"},{"address":"10.0.0.0/24","type":"InternalIP"},{"address":"203.0.113.5"}],"#,
                r#""interfaces":[{"name":"eth0","addresses":["10.0.0.5","2001:db8::5"]}]},"#,
                r#""status":{"wireguardPublicKey":"HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=","#,
                r#""wireguardPublicKeyV6":"jNdIvb/jqGw6vLZWSHxTBrGqDGNk/eS3zi5gKZCOhlE=","#,
                r#""podCIDRs":["192.168.0.0/24","fd00:10::/64"]}}"#
            )
        );
        Ok(())
    }

    #[test]
    fn always_written_fields() -> Result<(), Box<dyn std::error::Error>> {
        let mut n = Node::new("n", NodeSpec::default());
        n.spec.orch_refs = vec![OrchRef::default()];
        n.spec.addresses = vec![NodeAddress::default()];
        let written = serde_json::to_value(&n)?;
        assert_eq!(written["spec"]["orchRefs"], json!([{"orchestrator": ""}]));
        assert_eq!(written["spec"]["addresses"], json!([{"address": ""}]));
        Ok(())
    }

    #[test]
    fn unknown_field_names_its_path() {
        let mut doc = calico_written();
        doc["spec"]["bgp"]["asn"] = json!(1);
        assert_unknown_field(doc, "spec.bgp.asn");
        let mut doc = calico_written();
        doc["status"]["podCIDR"] = json!([]);
        assert_unknown_field(doc, "status.podCIDR");
    }

    #[test]
    fn no_defaults() {
        let mut n: Node = decode_as(calico_written());
        let before = n.clone();
        n.apply_defaults();
        assert_eq!(n, before);
    }
}
