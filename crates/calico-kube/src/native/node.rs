//! Node: Calico's Node is the Kubernetes Node, its Calico fields kept in annotations
//! (`resources/node.go`).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use async_trait::async_trait;
use calico_api::kinds::node::{
    NodeAddress, NodeBgpSpec, NodeInterface, NodeSpec, NodeWireguardSpec, OrchRef,
};
use calico_api::{AnyResource, AsNumber, Node};
use calico_datastore::{
    DatastoreError, KindRef, ListOptions, ResourceKey, ResourceList, Result, WatchStream,
};
use ipnet::IpNet;
use k8s_openapi::api::core::v1::Node as K8sNode;
use kube::api::{ListParams, PostParams, WatchParams};
use kube::{Api, Client};

use super::error::{from_kube, not_supported};
use super::kubeio::{self, calico_time, name_selector};
use crate::store::{listing_first, watch_start, KindStore};

pub const IPV4_ADDRESS: &str = "projectcalico.org/IPv4Address";
pub const IPV6_ADDRESS: &str = "projectcalico.org/IPv6Address";
pub const AS_NUMBER: &str = "projectcalico.org/ASNumber";
pub const RR_CLUSTER_ID: &str = "projectcalico.org/RouteReflectorClusterID";
pub const IPIP_TUNNEL_ADDR: &str = "projectcalico.org/IPv4IPIPTunnelAddr";
pub const IPV4_VXLAN_TUNNEL_ADDR: &str = "projectcalico.org/IPv4VXLANTunnelAddr";
pub const VXLAN_TUNNEL_MAC: &str = "projectcalico.org/VXLANTunnelMACAddr";
pub const IPV6_VXLAN_TUNNEL_ADDR: &str = "projectcalico.org/IPv6VXLANTunnelAddr";
pub const VXLAN_TUNNEL_MAC_V6: &str = "projectcalico.org/VXLANTunnelMACAddrV6";
pub const WIREGUARD_IPV4_ADDR: &str = "projectcalico.org/IPv4WireguardInterfaceAddr";
pub const WIREGUARD_IPV6_ADDR: &str = "projectcalico.org/IPv6WireguardInterfaceAddr";
pub const WIREGUARD_PUBLIC_KEY: &str = "projectcalico.org/WireguardPublicKey";
pub const WIREGUARD_PUBLIC_KEY_V6: &str = "projectcalico.org/WireguardPublicKeyV6";
pub const INTERFACES: &str = "projectcalico.org/Interfaces";
/// Calico-only labels and annotations of objects backed by native ones.
pub const LABELS: &str = "projectcalico.org/labels";
pub const ANNOTATIONS: &str = "projectcalico.org/annotations";
/// Bookkeeping: the Kubernetes labels the Calico labels were overlaid with, so an update can
/// tell them apart again.
pub const KUBE_LABELS: &str = "projectcalico.org/kube-labels";

/// Which values an annotation must hold to be read (others are ignored, as Calico ignores
/// them).
#[derive(Clone, Copy)]
enum Check {
    /// An address or a CIDR of the family, host bits allowed (`ValidateCIDRv4`).
    CidrV4,
    CidrV6,
    /// An address, or a CIDR without host bits, of the family.
    NetworkV4,
    NetworkV6,
    Mac,
}

fn valid(value: &str, check: Check) -> bool {
    let network = || calico_api::validation::checks::parse_cidr_or_ip(value);
    match check {
        Check::CidrV4 => matches!(network(), Some(IpNet::V4(_))),
        Check::CidrV6 => matches!(network(), Some(IpNet::V6(_))),
        Check::NetworkV4 => {
            matches!(network(), Some(n @ IpNet::V4(_)) if n.addr() == n.network())
        }
        Check::NetworkV6 => {
            matches!(network(), Some(n @ IpNet::V6(_)) if n.addr() == n.network())
        }
        Check::Mac => calico_api::validation::checks::is_mac_address(value),
    }
}

fn annotation(annotations: &BTreeMap<String, String>, key: &str, check: Check) -> String {
    match annotations.get(key) {
        Some(value) if !value.is_empty() && valid(value, check) => value.clone(),
        _ => String::new(),
    }
}

/// Reads a JSON string map kept in an annotation; `None` when absent or unreadable (Calico
/// logs and ignores those).
fn json_map(annotations: &BTreeMap<String, String>, key: &str) -> Option<BTreeMap<String, String>> {
    annotations
        .get(key)
        .and_then(|text| serde_json::from_str::<Option<BTreeMap<String, String>>>(text).ok())
        .map(Option::unwrap_or_default)
}

/// Go's `json.Marshal` of a string map (sorted keys, Go's escaping; `null` for a nil map).
fn go_json<T: serde::Serialize>(value: &T) -> Result<String> {
    calico_api::json::to_vec(value)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .map_err(|e| DatastoreError::Store(e.to_string()))
}

/// The interfaces annotation: a JSON list of `{name, addresses}`; addresses that are not IPs
/// are dropped, an unreadable list is ignored.
fn interfaces(annotations: &BTreeMap<String, String>) -> Vec<NodeInterface> {
    let Some(text) = annotations.get(INTERFACES) else {
        return Vec::new();
    };
    // Read leniently, as Go's decoder does: fields this version does not know are skipped.
    #[derive(serde::Deserialize)]
    struct Lenient {
        #[serde(default)]
        name: String,
        #[serde(default)]
        addresses: Vec<String>,
    }
    let Ok(list) = serde_json::from_str::<Vec<Lenient>>(text) else {
        return Vec::new();
    };
    list.into_iter()
        .map(|i| NodeInterface {
            name: i.name,
            addresses: i
                .addresses
                .into_iter()
                .filter(|a| calico_api::validation::checks::parse_cidr_or_ip(a).is_some())
                .collect(),
        })
        .collect()
}

/// With host-local IPAM (`usePodCIDR`) the IPIP tunnel address is the first address of the
/// node's pod CIDR; `None` for an IPv6 pod CIDR.
fn static_tunnel_address(pod_cidr: &str) -> Result<Option<String>> {
    let net = pod_cidr
        .parse::<IpNet>()
        .map_err(|e| DatastoreError::Store(format!("invalid pod CIDR {pod_cidr:?}: {e}")))?;
    match net.addr() {
        IpAddr::V4(addr) => {
            // Calico increments only the last byte of the address as written.
            let [a, b, c, d] = addr.octets();
            Ok(Some(Ipv4Addr::new(a, b, c, d.wrapping_add(1)).to_string()))
        }
        IpAddr::V6(_) => Ok(None),
    }
}

/// `K8sNodeToCalico`.
pub fn node_to_calico(node: &K8sNode, use_pod_cidr: bool) -> Result<Node> {
    let meta = &node.metadata;
    let name = meta.name.clone().unwrap_or_default();
    let annotations = meta.annotations.clone().unwrap_or_default();
    let mut calico = Node::new(name.clone(), NodeSpec::default());
    calico.metadata.resource_version = meta.resource_version.clone().unwrap_or_default();
    calico.metadata.creation_timestamp = calico_time(meta.creation_timestamp.as_ref());
    calico.metadata.uid = meta.uid.clone().unwrap_or_default();
    if let Some(labels) = json_map(&annotations, LABELS) {
        calico.metadata.labels = labels;
    }
    if let Some(extra) = json_map(&annotations, ANNOTATIONS) {
        calico.metadata.annotations = extra;
    }
    // Kubernetes labels win over Calico ones; the set is kept so updates can undo the overlay.
    if let Some(labels) = &meta.labels {
        calico
            .metadata
            .labels
            .extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    calico
        .metadata
        .annotations
        .insert(KUBE_LABELS.to_string(), go_json(&meta.labels)?);

    let mut bgp = NodeBgpSpec {
        ipv4_address: annotation(&annotations, IPV4_ADDRESS, Check::CidrV4),
        ipv6_address: annotation(&annotations, IPV6_ADDRESS, Check::CidrV6),
        route_reflector_cluster_id: annotation(&annotations, RR_CLUSTER_ID, Check::NetworkV4),
        as_number: annotations
            .get(AS_NUMBER)
            .and_then(|text| AsNumber::parse(text).ok()),
        ..NodeBgpSpec::default()
    };
    let mut wireguard = NodeWireguardSpec::default();
    let spec = node.spec.clone().unwrap_or_default();
    let pod_cidr = spec.pod_cidr.clone().unwrap_or_default();
    if use_pod_cidr && !pod_cidr.is_empty() {
        let tunnel = static_tunnel_address(&pod_cidr)?.unwrap_or_default();
        bgp.ipv4_ipip_tunnel_addr = tunnel.clone();
        if annotations
            .get(WIREGUARD_PUBLIC_KEY)
            .is_some_and(|k| !k.is_empty())
        {
            wireguard.interface_ipv4_address = tunnel;
        }
    } else {
        bgp.ipv4_ipip_tunnel_addr = annotation(&annotations, IPIP_TUNNEL_ADDR, Check::NetworkV4);
        wireguard.interface_ipv4_address =
            annotation(&annotations, WIREGUARD_IPV4_ADDR, Check::NetworkV4);
        wireguard.interface_ipv6_address =
            annotation(&annotations, WIREGUARD_IPV6_ADDR, Check::NetworkV6);
    }
    if bgp != NodeBgpSpec::default() {
        calico.spec.bgp = Some(bgp);
    }
    if wireguard != NodeWireguardSpec::default() {
        calico.spec.wireguard = Some(wireguard);
    }
    calico.spec.orch_refs = vec![OrchRef {
        node_name: name,
        orchestrator: "k8s".into(),
    }];
    calico.spec.ipv4_vxlan_tunnel_addr =
        annotation(&annotations, IPV4_VXLAN_TUNNEL_ADDR, Check::NetworkV4);
    calico.spec.vxlan_tunnel_mac_addr = annotation(&annotations, VXLAN_TUNNEL_MAC, Check::Mac);
    calico.spec.ipv6_vxlan_tunnel_addr =
        annotation(&annotations, IPV6_VXLAN_TUNNEL_ADDR, Check::NetworkV6);
    calico.spec.vxlan_tunnel_mac_addr_v6 =
        annotation(&annotations, VXLAN_TUNNEL_MAC_V6, Check::Mac);
    calico.spec.interfaces = interfaces(&annotations);

    let status = &mut calico.status.0;
    status.wireguard_public_key = annotations
        .get(WIREGUARD_PUBLIC_KEY)
        .cloned()
        .unwrap_or_default();
    status.wireguard_public_key_v6 = annotations
        .get(WIREGUARD_PUBLIC_KEY_V6)
        .cloned()
        .unwrap_or_default();
    status.pod_cidrs = spec.pod_cidrs.clone().unwrap_or_default();

    if let Some(bgp) = &calico.spec.bgp {
        for address in [&bgp.ipv4_address, &bgp.ipv6_address] {
            if !address.is_empty() {
                calico.spec.addresses.push(NodeAddress {
                    address: address.clone(),
                    address_type: "CalicoNodeIP".into(),
                });
            }
        }
    }
    let k8s_addresses = node
        .status
        .as_ref()
        .and_then(|s| s.addresses.clone())
        .unwrap_or_default();
    for address in k8s_addresses {
        if matches!(address.type_.as_str(), "InternalIP" | "ExternalIP") {
            calico.spec.addresses.push(NodeAddress {
                address: address.address,
                address_type: address.type_,
            });
        }
    }
    Ok(calico)
}

fn set_or_remove(annotations: &mut BTreeMap<String, String>, key: &str, value: &str) {
    if value.is_empty() {
        annotations.remove(key);
    } else {
        annotations.insert(key.to_string(), value.to_string());
    }
}

/// `mergeCalicoNodeIntoK8sNode`: writes a Calico Node's fields onto the live Kubernetes Node's
/// annotations. Kubernetes labels are never touched: labels the Calico node inherited from them
/// (recorded in [`KUBE_LABELS`]) are dropped, the rest go to [`LABELS`].
pub fn merge_into_k8s_node(calico: &Node, node: &mut K8sNode) -> Result<()> {
    let mut labels = calico.metadata.labels.clone();
    let mut extra = calico.metadata.annotations.clone();
    if let Some(raw) = extra.remove(KUBE_LABELS).filter(|raw| !raw.is_empty()) {
        let inherited: Option<BTreeMap<String, String>> =
            serde_json::from_str(&raw).map_err(|e| {
                DatastoreError::Store(format!(
                    "failed to unmarshal k8s node labels from {KUBE_LABELS} annotation: {e}"
                ))
            })?;
        for key in inherited.unwrap_or_default().keys() {
            labels.remove(key);
        }
    }
    let annotations = node.metadata.annotations.get_or_insert_with(BTreeMap::new);
    if labels.is_empty() {
        annotations.remove(LABELS);
    } else {
        annotations.insert(LABELS.to_string(), go_json(&labels)?);
    }
    if extra.is_empty() {
        annotations.remove(ANNOTATIONS);
    } else {
        annotations.insert(ANNOTATIONS.to_string(), go_json(&extra)?);
    }

    let spec = &calico.spec;
    set_or_remove(
        annotations,
        IPV4_VXLAN_TUNNEL_ADDR,
        &spec.ipv4_vxlan_tunnel_addr,
    );
    set_or_remove(annotations, VXLAN_TUNNEL_MAC, &spec.vxlan_tunnel_mac_addr);
    set_or_remove(
        annotations,
        IPV6_VXLAN_TUNNEL_ADDR,
        &spec.ipv6_vxlan_tunnel_addr,
    );
    set_or_remove(
        annotations,
        VXLAN_TUNNEL_MAC_V6,
        &spec.vxlan_tunnel_mac_addr_v6,
    );
    let bgp = spec.bgp.clone().unwrap_or_default();
    set_or_remove(annotations, IPV4_ADDRESS, &bgp.ipv4_address);
    set_or_remove(annotations, IPIP_TUNNEL_ADDR, &bgp.ipv4_ipip_tunnel_addr);
    set_or_remove(annotations, IPV6_ADDRESS, &bgp.ipv6_address);
    let asn = bgp.as_number.map(|a| a.to_string()).unwrap_or_default();
    set_or_remove(annotations, AS_NUMBER, &asn);
    set_or_remove(annotations, RR_CLUSTER_ID, &bgp.route_reflector_cluster_id);
    let wireguard = spec.wireguard.clone().unwrap_or_default();
    set_or_remove(
        annotations,
        WIREGUARD_IPV4_ADDR,
        &wireguard.interface_ipv4_address,
    );
    set_or_remove(
        annotations,
        WIREGUARD_IPV6_ADDR,
        &wireguard.interface_ipv6_address,
    );
    let status = &calico.status.0;
    set_or_remove(
        annotations,
        WIREGUARD_PUBLIC_KEY,
        &status.wireguard_public_key,
    );
    set_or_remove(
        annotations,
        WIREGUARD_PUBLIC_KEY_V6,
        &status.wireguard_public_key_v6,
    );
    if spec.interfaces.is_empty() {
        annotations.remove(INTERFACES);
    } else {
        annotations.insert(INTERFACES.to_string(), go_json(&spec.interfaces)?);
    }
    Ok(())
}

/// The Calico fields of a Kubernetes Node: what an update must see persisted.
fn calico_annotations(node: &K8sNode) -> BTreeMap<String, String> {
    const KEYS: &[&str] = &[
        IPV4_ADDRESS,
        IPV6_ADDRESS,
        AS_NUMBER,
        RR_CLUSTER_ID,
        IPIP_TUNNEL_ADDR,
        IPV4_VXLAN_TUNNEL_ADDR,
        VXLAN_TUNNEL_MAC,
        IPV6_VXLAN_TUNNEL_ADDR,
        VXLAN_TUNNEL_MAC_V6,
        WIREGUARD_IPV4_ADDR,
        WIREGUARD_IPV6_ADDR,
        WIREGUARD_PUBLIC_KEY,
        WIREGUARD_PUBLIC_KEY_V6,
        INTERFACES,
        LABELS,
        ANNOTATIONS,
    ];
    node.metadata
        .annotations
        .iter()
        .flatten()
        .filter(|(k, _)| KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Calico Nodes from Kubernetes Nodes.
pub struct NodeStore {
    api: Api<K8sNode>,
    use_pod_cidr: bool,
}

impl NodeStore {
    pub fn new(client: Client, use_pod_cidr: bool) -> Self {
        NodeStore {
            api: Api::all(client),
            use_pod_cidr,
        }
    }

    fn convert(&self, node: &K8sNode) -> Result<AnyResource> {
        node_to_calico(node, self.use_pod_cidr).map(AnyResource::from)
    }
}

#[async_trait]
impl KindStore for NodeStore {
    async fn create(&self, resource: AnyResource) -> Result<AnyResource> {
        Err(not_supported("Create", &ResourceKey::of(&resource), None))
    }

    /// Calico writes the annotations through the Node's status subresource: that is what
    /// calico-node's RBAC allows (`nodes/status` update, no `nodes` update), and the apiserver's
    /// node status strategy keeps metadata changes made there. Servers whose status writes keep
    /// only the status (the kube-emulator; any apiserver that resets metadata on status
    /// writes) would silently drop the change, so when the returned Node lacks what was written
    /// the same Node is written once more through the main resource.
    ///
    /// Like Calico, the live Node's resourceVersion is used, not the caller's: kubelet keeps
    /// changing Nodes, and calicoctl does its own revision check before an update.
    async fn update(&self, resource: AnyResource) -> Result<AnyResource> {
        let key = ResourceKey::of(&resource);
        let AnyResource::Node(calico) = &resource else {
            return Err(DatastoreError::Store(format!(
                "expected a Node, got a {}",
                resource.kind()
            )));
        };
        let mut live = self
            .api
            .get(&key.name)
            .await
            .map_err(|e| from_kube(e, Some(&key)))?;
        merge_into_k8s_node(calico, &mut live)?;
        let wanted = calico_annotations(&live);
        let pp = PostParams::default();
        let mut written = self
            .api
            .replace_status(&key.name, &pp, &live)
            .await
            .map_err(|e| from_kube(e, Some(&key)))?;
        if calico_annotations(&written) != wanted {
            live.metadata.resource_version = written.metadata.resource_version.clone();
            written = self
                .api
                .replace(&key.name, &pp, &live)
                .await
                .map_err(|e| from_kube(e, Some(&key)))?;
        }
        self.convert(&written)
    }

    async fn delete(&self, key: &ResourceKey, _uid: Option<&str>) -> Result<AnyResource> {
        Err(not_supported("Delete", key, None))
    }

    async fn get(&self, key: &ResourceKey) -> Result<AnyResource> {
        let node = self
            .api
            .get(&key.name)
            .await
            .map_err(|e| from_kube(e, Some(key)))?;
        self.convert(&node)
    }

    async fn list(&self, options: &ListOptions, revision: Option<&str>) -> Result<ResourceList> {
        let mut params = ListParams::default();
        if let (Some(name), false) = (&options.name, options.name_is_prefix) {
            params = params.fields(&name_selector(name));
        }
        let (nodes, revision) = kubeio::list_all(&self.api, params, revision).await?;
        let mut items = Vec::with_capacity(nodes.len());
        for node in &nodes {
            let item = self.convert(node)?;
            if options.matches(&ResourceKey::of(&item)) {
                items.push(item);
            }
        }
        Ok(ResourceList { items, revision })
    }

    async fn watch(&self, options: &ListOptions, revision: Option<&str>) -> Result<WatchStream> {
        let Some(revision) = watch_start(revision) else {
            let list = self.list(options, None).await?;
            return listing_first(self, options, list).await;
        };
        let mut params = WatchParams::default();
        if let (Some(name), false) = (&options.name, options.name_is_prefix) {
            params = params.fields(&name_selector(name));
        }
        let use_pod_cidr = self.use_pod_cidr;
        let filter = options.clone();
        kubeio::watch(
            &self.api,
            params,
            revision,
            Box::new(move |node: K8sNode| {
                let item = AnyResource::from(node_to_calico(&node, use_pod_cidr)?);
                Ok(if filter.matches(&ResourceKey::of(&item)) {
                    vec![item]
                } else {
                    Vec::new()
                })
            }),
            kubeio::NativeErrors,
        )
        .await
    }
}

/// The Node store as the backend registers it.
pub fn store(client: &Client, use_pod_cidr: bool) -> Option<(KindRef, Arc<dyn KindStore>)> {
    let kind = KindRef::lookup("Node")?;
    Some((kind, Arc::new(NodeStore::new(client.clone(), use_pod_cidr))))
}

#[cfg(test)]
#[path = "node_tests.rs"]
mod tests;
