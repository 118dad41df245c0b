//! The Felix node processor (`NewFelixNodeUpdateProcessor`): a Node becomes its tunnel
//! addresses as host config keys, the Node itself and its WireGuard settings
//! (`/calico/v1/host/<node>/wireguard`), always all seven keys, unset ones deleted; with
//! `usePodCIDR`, also an affine allocation block per pod CIDR of the node.

use std::collections::BTreeMap;

use calico_api::model::{AllocationBlock, BlockKey, ModelKey, ModelValue};
use calico_api::AnyResource;

use super::json::GoJson;
use super::keys::{go_ip, host_config, parse_ip, wireguard};
use super::{error, resource_of, Emitted, EmittedValue, V1Processor};
use crate::resource_type::ProcessError;
use crate::types::{SourceKv, SyncKey};

/// Calico's Felix node processor.
///
/// A tunnel or WireGuard address that does not parse is left out (its key deleted), as in
/// Calico; Calico also returns an error alongside the keys then, which the
/// [`UpdateProcessor`](crate::UpdateProcessor) interface (outputs or an error) cannot carry,
/// so it is only logged.
#[derive(Debug, Default)]
pub struct FelixNodeProcessor {
    /// `usePodCIDR`: host-local IPAM from the Kubernetes pod CIDRs.
    use_pod_cidr: bool,
    /// Calico's `nodeCIDRTracker`: the pod CIDRs last seen per node, as written.
    pod_cidrs: BTreeMap<String, Vec<String>>,
}

impl FelixNodeProcessor {
    /// `NewFelixNodeUpdateProcessor(usePodCIDR)`.
    pub fn new(use_pod_cidr: bool) -> Self {
        FelixNodeProcessor {
            use_pod_cidr,
            pod_cidrs: BTreeMap::new(),
        }
    }

    /// The block keys for the node's pod CIDRs: deletes for those it no longer has, then its
    /// current ones as blocks affine to it (`AllocationBlock{CIDR, Affinity}`).
    fn pod_cidr_blocks(&mut self, name: &str, current: &[String]) -> Vec<Emitted> {
        let previous = if current.is_empty() {
            self.pod_cidrs.remove(name)
        } else {
            self.pod_cidrs.insert(name.to_string(), current.to_vec())
        };
        let block_key = |text: &str| {
            let net = text.parse::<ipnet::IpNet>().ok()?.trunc();
            Some((SyncKey::Model(ModelKey::Block(BlockKey::new(net))), net))
        };
        let mut out = Vec::new();
        for old in previous.unwrap_or_default() {
            if current.contains(&old) {
                continue;
            }
            if let Some((key, _)) = block_key(&old) {
                out.push(Emitted { key, value: None });
            }
        }
        for cidr in current {
            if let Some((key, net)) = block_key(cidr) {
                let block = AllocationBlock {
                    cidr: net,
                    affinity: Some(format!("host:{name}")),
                    affinity_claim_time: None,
                    allocations: None,
                    unallocated: None,
                    attributes: None,
                    sequence_number: 0,
                    sequence_number_for_allocation: None,
                    deleted: false,
                    host_affinity: None,
                    unknown: Default::default(),
                };
                out.push(Emitted {
                    key,
                    value: Some(EmittedValue::Model(ModelValue::Block(block))),
                });
            }
        }
        out
    }
}

fn address(text: &str) -> Option<GoJson> {
    if text.is_empty() {
        return None;
    }
    let ip = parse_ip(text).map(|ip| GoJson::str(go_ip(ip)));
    if ip.is_none() {
        tracing::warn!(
            address = text,
            "failed to parse a node's address; treated as unset"
        );
    }
    ip
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
        let mut out = vec![
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
        ];
        if self.use_pod_cidr {
            let current = node
                .map(|n| n.status.0.pod_cidrs.clone())
                .unwrap_or_default();
            out.extend(self.pod_cidr_blocks(name, &current));
        }
        Ok(out)
    }
}
