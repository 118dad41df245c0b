//! The Felix node processor (`NewFelixNodeUpdateProcessor`): a Node becomes its tunnel
//! addresses as host config keys, the Node itself and its WireGuard settings
//! (`/calico/v1/host/<node>/wireguard`), always all seven keys, unset ones deleted.

use calico_api::AnyResource;

use super::json::GoJson;
use super::keys::{go_ip, host_config, parse_ip, wireguard};
use super::{error, resource_of, Emitted, EmittedValue, V1Processor};
use crate::resource_type::ProcessError;
use crate::types::{SourceKv, SyncKey};

/// Calico's Felix node processor. Pod CIDRs (`usePodCIDR`) are not handled yet.
#[derive(Debug, Default)]
pub struct FelixNodeProcessor;

fn address(text: &str) -> Option<GoJson> {
    if text.is_empty() {
        return None;
    }
    parse_ip(text).map(|ip| GoJson::str(go_ip(ip)))
}

fn non_empty(text: &str) -> Option<GoJson> {
    (!text.is_empty()).then(|| GoJson::str(text))
}

impl V1Processor for FelixNodeProcessor {
    fn process_v1(&mut self, kv: &SourceKv) -> Result<Vec<Emitted>, ProcessError> {
        let (key, value) = resource_of(kv)?;
        if key.kind.kind() != "Node" {
            return Err(error(
                kv,
                "Incorrect key type - expecting resource of kind Node",
            ));
        }
        let name = &key.name;
        let node = match value {
            None => None,
            Some(AnyResource::Node(node)) => Some(node),
            Some(_) => {
                return Err(error(
                    kv,
                    "Incorrect value type - expecting resource of kind Node",
                ))
            }
        };
        let (mut ipip, mut vxlan, mut vxlan_mac, mut vxlan6, mut vxlan6_mac, mut wg) =
            (None, None, None, None, None, None);
        if let Some(node) = node {
            let spec = &node.spec;
            if let Some(bgp) = &spec.bgp {
                ipip = address(&bgp.ipv4_ipip_tunnel_addr);
            }
            vxlan = address(&spec.ipv4_vxlan_tunnel_addr);
            vxlan_mac = non_empty(&spec.vxlan_tunnel_mac_addr);
            vxlan6 = address(&spec.ipv6_vxlan_tunnel_addr);
            vxlan6_mac = non_empty(&spec.vxlan_tunnel_mac_addr_v6);
            let (v4, v6) = spec
                .wireguard
                .as_ref()
                .map(|w| {
                    (
                        address(&w.interface_ipv4_address),
                        address(&w.interface_ipv6_address),
                    )
                })
                .unwrap_or((None, None));
            let key4 = &node.status.0.wireguard_public_key;
            let key6 = &node.status.0.wireguard_public_key_v6;
            if v4.is_some() || v6.is_some() || !key4.is_empty() || !key6.is_empty() {
                // model.Wireguard, fields in Go's order, all omitempty.
                let mut value = GoJson::object();
                if let Some(ip) = v4 {
                    value = value.field("interfaceIPv4Addr", ip);
                }
                value = value.field_unless(key4.is_empty(), "publicKey", GoJson::str(key4));
                if let Some(ip) = v6 {
                    value = value.field("interfaceIPv6Addr", ip);
                }
                value = value.field_unless(key6.is_empty(), "publicKeyV6", GoJson::str(key6));
                wg = Some(value);
            }
        }
        Ok(vec![
            Emitted::v1(host_config(name, "IpInIpTunnelAddr"), ipip),
            Emitted::v1(host_config(name, "IPv4VXLANTunnelAddr"), vxlan),
            Emitted::v1(host_config(name, "VXLANTunnelMACAddr"), vxlan_mac),
            Emitted::v1(host_config(name, "IPv6VXLANTunnelAddr"), vxlan6),
            Emitted::v1(host_config(name, "VXLANTunnelMACAddrV6"), vxlan6_mac),
            Emitted {
                key: SyncKey::Resource(key.clone()),
                value: value.cloned().map(EmittedValue::Resource),
            },
            Emitted::v1(wireguard(name), wg),
        ])
    }
}
