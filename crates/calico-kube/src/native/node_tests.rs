use super::*;
use serde_json::json;

#[allow(clippy::unwrap_used, clippy::expect_used)]
fn k8s_node(value: serde_json::Value) -> K8sNode {
    serde_json::from_value(value).expect("a Node")
}

fn full_node() -> K8sNode {
    k8s_node(json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {
            "name": "kind-worker",
            "uid": "01234567-89ab-4def-8123-456789abcdef",
            "resourceVersion": "4711",
            "creationTimestamp": "2026-01-02T03:04:05Z",
            "labels": {"kubernetes.io/hostname": "kind-worker", "shared": "k8s"},
            "annotations": {
                IPV4_ADDRESS: "172.18.0.3/16",
                IPV6_ADDRESS: "fc00:f853:ccd:e793::3/64",
                AS_NUMBER: "1.10",
                RR_CLUSTER_ID: "224.0.0.1",
                IPIP_TUNNEL_ADDR: "10.244.1.1",
                IPV4_VXLAN_TUNNEL_ADDR: "10.244.1.2",
                VXLAN_TUNNEL_MAC: "66:7e:fd:0a:4c:5b",
                IPV6_VXLAN_TUNNEL_ADDR: "fd00:10:244::1",
                VXLAN_TUNNEL_MAC_V6: "66:7e:fd:0a:4c:5c",
                WIREGUARD_IPV4_ADDR: "10.244.1.3",
                WIREGUARD_IPV6_ADDR: "fd00:10:244::3",
                WIREGUARD_PUBLIC_KEY: "jlkVyQYooZYzI2wFfNhSZez5eWh44yfq1wKVjLvSXgY=",
                INTERFACES: "[{\"name\":\"eth0\",\"addresses\":[\"172.18.0.3\",\"bogus\"],\"mtu\":1500}]",
                LABELS: "{\"calico-only\":\"yes\",\"shared\":\"calico\"}",
                ANNOTATIONS: "{\"note\":\"kept\"}",
                "unrelated": "x"
            }
        },
        "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24", "fd00:10:244:1::/64"]},
        "status": {"addresses": [
            {"type": "InternalIP", "address": "172.18.0.3"},
            {"type": "Hostname", "address": "kind-worker"},
            {"type": "ExternalIP", "address": "203.0.113.9"}
        ]}
    }))
}

#[test]
fn converts_every_annotation() {
    let node = node_to_calico(&full_node(), false).unwrap();
    assert_eq!(node.metadata.name, "kind-worker");
    assert_eq!(node.metadata.resource_version, "4711");
    assert_eq!(node.metadata.uid, "01234567-89ab-4def-8123-456789abcdef");
    assert_eq!(
        node.metadata.creation_timestamp.map(|t| t.to_string()),
        Some("2026-01-02T03:04:05Z".into())
    );
    // Kubernetes labels win over Calico ones of the same key.
    assert_eq!(node.metadata.labels["shared"], "k8s");
    assert_eq!(node.metadata.labels["calico-only"], "yes");
    assert_eq!(
        node.metadata.labels["kubernetes.io/hostname"],
        "kind-worker"
    );
    assert_eq!(node.metadata.annotations["note"], "kept");
    assert_eq!(
        node.metadata.annotations[KUBE_LABELS],
        r#"{"kubernetes.io/hostname":"kind-worker","shared":"k8s"}"#
    );
    let bgp = node.spec.bgp.clone().unwrap();
    assert_eq!(bgp.ipv4_address, "172.18.0.3/16");
    assert_eq!(bgp.ipv6_address, "fc00:f853:ccd:e793::3/64");
    // Dotted AS numbers: 1.10 = 65536 + 10.
    assert_eq!(bgp.as_number, Some(AsNumber(65546)));
    assert_eq!(bgp.route_reflector_cluster_id, "224.0.0.1");
    assert_eq!(bgp.ipv4_ipip_tunnel_addr, "10.244.1.1");
    assert_eq!(node.spec.ipv4_vxlan_tunnel_addr, "10.244.1.2");
    assert_eq!(node.spec.vxlan_tunnel_mac_addr, "66:7e:fd:0a:4c:5b");
    assert_eq!(node.spec.ipv6_vxlan_tunnel_addr, "fd00:10:244::1");
    assert_eq!(node.spec.vxlan_tunnel_mac_addr_v6, "66:7e:fd:0a:4c:5c");
    let wireguard = node.spec.wireguard.clone().unwrap();
    assert_eq!(wireguard.interface_ipv4_address, "10.244.1.3");
    assert_eq!(wireguard.interface_ipv6_address, "fd00:10:244::3");
    assert_eq!(
        node.status.0.wireguard_public_key,
        "jlkVyQYooZYzI2wFfNhSZez5eWh44yfq1wKVjLvSXgY="
    );
    assert_eq!(
        node.status.0.pod_cidrs,
        vec!["10.244.1.0/24", "fd00:10:244:1::/64"]
    );
    assert_eq!(
        node.spec.orch_refs,
        vec![OrchRef {
            node_name: "kind-worker".into(),
            orchestrator: "k8s".into()
        }]
    );
    let addresses: Vec<(&str, &str)> = node
        .spec
        .addresses
        .iter()
        .map(|a| (a.address.as_str(), a.address_type.as_str()))
        .collect();
    assert_eq!(
        addresses,
        vec![
            ("172.18.0.3/16", "CalicoNodeIP"),
            ("fc00:f853:ccd:e793::3/64", "CalicoNodeIP"),
            ("172.18.0.3", "InternalIP"),
            ("203.0.113.9", "ExternalIP"),
        ]
    );
    assert_eq!(
        node.spec.interfaces,
        vec![NodeInterface {
            name: "eth0".into(),
            addresses: vec!["172.18.0.3".into()]
        }]
    );
    // Calico's CalicoNodeIP addresses keep the host bits of the BGP address; Calico's
    // validator does not look inside `addresses`, so the converted node is valid as it is
    // (and `label node` can write it back).
    assert!(node.validate().is_ok(), "{:?}", node.validate());
}

#[test]
fn invalid_annotations_are_ignored() {
    let node = k8s_node(json!({
        "metadata": {"name": "n1", "annotations": {
            IPV4_ADDRESS: "172.18.0.300/16",
            IPV6_ADDRESS: "10.0.0.1/24",
            AS_NUMBER: "not-a-number",
            IPIP_TUNNEL_ADDR: "10.0.0.0/8x",
            VXLAN_TUNNEL_MAC: "zz:zz",
            IPV4_VXLAN_TUNNEL_ADDR: "fd00::1",
            RR_CLUSTER_ID: "10.0.0.1/24",
            INTERFACES: "not json",
            LABELS: "{broken"
        }}
    }));
    let calico = node_to_calico(&node, false).unwrap();
    assert_eq!(calico.spec.bgp, None);
    assert_eq!(calico.spec.wireguard, None);
    assert!(calico.spec.vxlan_tunnel_mac_addr.is_empty());
    assert!(calico.spec.ipv4_vxlan_tunnel_addr.is_empty());
    assert!(calico.spec.interfaces.is_empty());
    assert!(calico.spec.addresses.is_empty());
    // No Kubernetes labels: Go marshals the nil map as null.
    assert_eq!(calico.metadata.annotations[KUBE_LABELS], "null");
    assert_eq!(calico.metadata.labels, BTreeMap::new());
}

#[test]
fn pod_cidr_gives_tunnel_addresses_with_host_local_ipam() {
    let mut node = full_node();
    let calico = node_to_calico(&node, true).unwrap();
    let bgp = calico.spec.bgp.unwrap();
    assert_eq!(bgp.ipv4_ipip_tunnel_addr, "10.244.1.1");
    // A WireGuard key exists, so WireGuard gets the same address (and no IPv6 one).
    assert_eq!(
        calico.spec.wireguard,
        Some(NodeWireguardSpec {
            interface_ipv4_address: "10.244.1.1".into(),
            interface_ipv6_address: String::new()
        })
    );
    if let Some(spec) = node.spec.as_mut() {
        spec.pod_cidr = Some("10.244.7.0/24".into());
    }
    if let Some(a) = node.metadata.annotations.as_mut() {
        a.remove(WIREGUARD_PUBLIC_KEY);
    }
    let calico = node_to_calico(&node, true).unwrap();
    assert_eq!(calico.spec.bgp.unwrap().ipv4_ipip_tunnel_addr, "10.244.7.1");
    assert_eq!(calico.spec.wireguard, None);
    if let Some(spec) = node.spec.as_mut() {
        spec.pod_cidr = Some("bogus".into());
    }
    assert!(node_to_calico(&node, true).is_err());
}

#[test]
fn merge_writes_annotations_and_keeps_k8s_labels() {
    let live = full_node();
    let mut calico = node_to_calico(&live, false).unwrap();
    calico.metadata.labels.insert("rack".into(), "r1".into());
    calico.metadata.labels.remove("calico-only");
    calico.metadata.annotations.remove("note");
    let bgp = calico.spec.bgp.get_or_insert_with(NodeBgpSpec::default);
    bgp.as_number = Some(AsNumber(64512));
    bgp.ipv6_address.clear();
    calico.spec.wireguard = None;
    calico.spec.vxlan_tunnel_mac_addr_v6.clear();
    calico.status.0.wireguard_public_key.clear();

    let mut node = live.clone();
    merge_into_k8s_node(&calico, &mut node).unwrap();
    let a = node.metadata.annotations.clone().unwrap();
    // Inherited Kubernetes labels are not copied into the Calico label annotation.
    assert_eq!(a[LABELS], r#"{"rack":"r1"}"#);
    assert!(!a.contains_key(ANNOTATIONS));
    assert!(!a.contains_key(KUBE_LABELS));
    assert_eq!(a[AS_NUMBER], "64512");
    assert!(!a.contains_key(IPV6_ADDRESS));
    assert!(!a.contains_key(WIREGUARD_IPV4_ADDR));
    assert!(!a.contains_key(WIREGUARD_IPV6_ADDR));
    assert!(!a.contains_key(WIREGUARD_PUBLIC_KEY));
    assert!(!a.contains_key(VXLAN_TUNNEL_MAC_V6));
    assert_eq!(a[IPV4_ADDRESS], "172.18.0.3/16");
    assert_eq!(a["unrelated"], "x");
    assert_eq!(node.metadata.labels, live.metadata.labels);

    // Reading it back gives the Calico node that was written.
    let round = node_to_calico(&node, false).unwrap();
    assert_eq!(round.metadata.labels["rack"], "r1");
    assert!(!round.metadata.labels.contains_key("calico-only"));
    assert_eq!(round.spec.bgp, calico.spec.bgp);

    // Without BGP every BGP annotation goes.
    calico.spec.bgp = None;
    merge_into_k8s_node(&calico, &mut node).unwrap();
    let a = node.metadata.annotations.clone().unwrap();
    for key in [IPV4_ADDRESS, IPIP_TUNNEL_ADDR, AS_NUMBER, RR_CLUSTER_ID] {
        assert!(!a.contains_key(key), "{key}");
    }

    // A corrupt bookkeeping annotation is an error, not a silent label leak.
    calico
        .metadata
        .annotations
        .insert(KUBE_LABELS.into(), "{".into());
    assert!(merge_into_k8s_node(&calico, &mut node).is_err());
}
