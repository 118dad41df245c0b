//! Whatever a cluster holds in the annotations and names Calico reads, the conversions answer
//! with a value or an error, never a panic.

use std::collections::BTreeMap;

use calico_kube::native::{node, pod, qos};
use k8s_openapi::api::core::v1::{Node, Pod, PodSpec, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use proptest::prelude::*;

const NODE_ANNOTATIONS: &[&str] = &[
    node::IPV4_ADDRESS,
    node::IPV6_ADDRESS,
    node::AS_NUMBER,
    node::RR_CLUSTER_ID,
    node::IPIP_TUNNEL_ADDR,
    node::IPV4_VXLAN_TUNNEL_ADDR,
    node::VXLAN_TUNNEL_MAC,
    node::IPV6_VXLAN_TUNNEL_ADDR,
    node::VXLAN_TUNNEL_MAC_V6,
    node::WIREGUARD_IPV4_ADDR,
    node::WIREGUARD_IPV6_ADDR,
    node::WIREGUARD_PUBLIC_KEY,
    node::WIREGUARD_PUBLIC_KEY_V6,
    node::INTERFACES,
    node::LABELS,
    node::ANNOTATIONS,
    node::KUBE_LABELS,
];

const POD_ANNOTATIONS: &[&str] = &[
    pod::POD_IP,
    pod::POD_IPS,
    pod::AWS_POD_IPS,
    pod::CONTAINER_ID,
    pod::FLOATING_IPS,
    pod::ALLOWED_SOURCE_PREFIXES,
    pod::NETWORK_STATUS,
    qos::INGRESS_BANDWIDTH,
    qos::EGRESS_BANDWIDTH,
    qos::INGRESS_BURST,
    qos::EGRESS_BURST,
    qos::INGRESS_PEAKRATE,
    qos::EGRESS_PEAKRATE,
    qos::INGRESS_MINBURST,
    qos::EGRESS_MINBURST,
    qos::INGRESS_PACKET_RATE,
    qos::EGRESS_PACKET_RATE,
    qos::INGRESS_PACKET_BURST,
    qos::EGRESS_PACKET_BURST,
    qos::INGRESS_MAX_CONNECTIONS,
    "kubernetes.io/ingress-bandwidth",
    "kubernetes.io/egress-bandwidth",
    "qos.projectcalico.org/dscp",
];

/// Annotation values: mostly near-valid shapes (numbers, quantities, CIDRs, JSON), plus noise.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-fA-F:./eEkKMGiu+-]{0,24}",
        r#"\[?("[0-9a-z:./-]{0,20}",?){0,3}\]?"#,
        r#"\{("[a-z]{0,5}": ?"[a-z0-9./]{0,8}",?){0,3}\}?"#,
        ".{0,30}",
    ]
}

fn annotations(keys: &'static [&'static str]) -> impl Strategy<Value = BTreeMap<String, String>> {
    proptest::collection::vec((proptest::sample::select(keys), value()), 0..8)
        .prop_map(|pairs| pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

proptest! {
    #[test]
    fn quantities_never_panic(text in ".{0,40}") {
        let _ = qos::parse_quantity(&text);
    }

    #[test]
    fn quantity_shapes_never_panic(text in "[+-]?[0-9.]{0,40}(e-?[0-9]{0,6}|[KMGTPE]i?|[num])?") {
        let _ = qos::parse_quantity(&text);
    }

    #[test]
    fn workload_endpoint_names_never_panic(name in "[a-z0-9.-]{0,40}|.{0,20}") {
        let _ = pod::parse_workload_endpoint_name(&name);
    }

    #[test]
    fn node_annotations_never_panic(annotations in annotations(NODE_ANNOTATIONS), use_pod_cidr: bool, pod_cidr in value()) {
        let mut k8s = Node {
            metadata: ObjectMeta {
                name: Some("node-1".into()),
                annotations: Some(annotations),
                ..ObjectMeta::default()
            },
            ..Node::default()
        };
        k8s.spec = Some(k8s_openapi::api::core::v1::NodeSpec {
            pod_cidr: Some(pod_cidr.clone()),
            pod_cidrs: Some(vec![pod_cidr]),
            ..Default::default()
        });
        if let Ok(calico) = node::node_to_calico(&k8s, use_pod_cidr) {
            let mut back = k8s.clone();
            let _ = node::merge_into_k8s_node(&calico, &mut back);
        }
    }

    #[test]
    fn pod_annotations_never_panic(annotations in annotations(POD_ANNOTATIONS), ip in value(), phase in "(Running|Succeeded|Failed|Pending|)") {
        let k8s = Pod {
            metadata: ObjectMeta {
                name: Some("web-0".into()),
                namespace: Some("default".into()),
                annotations: Some(annotations),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                node_name: Some("node-1".into()),
                service_account_name: Some("sa".into()),
                ..PodSpec::default()
            }),
            status: Some(PodStatus {
                pod_ip: Some(ip),
                phase: Some(phase),
                ..PodStatus::default()
            }),
        };
        let _ = pod::pod_to_workload_endpoint(&k8s, "cali");
    }
}

fn label_selector(
) -> impl Strategy<Value = k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector> {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
    let labels = proptest::collection::btree_map(".{0,8}", ".{0,8}", 0..3);
    let requirement = (
        ".{0,8}",
        "(In|NotIn|Exists|DoesNotExist|Bogus|)",
        proptest::option::of(proptest::collection::vec(".{0,6}", 0..3)),
    )
        .prop_map(|(key, operator, values)| LabelSelectorRequirement {
            key,
            operator,
            values,
        });
    (
        proptest::option::of(labels),
        proptest::option::of(proptest::collection::vec(requirement, 0..3)),
    )
        .prop_map(|(match_labels, match_expressions)| LabelSelector {
            match_labels,
            match_expressions,
        })
}

proptest! {
    #[test]
    fn kubernetes_policies_never_panic(
        pod_selector in label_selector(),
        peer_pods in proptest::option::of(label_selector()),
        peer_namespaces in proptest::option::of(label_selector()),
        cidr in value(),
        except in proptest::collection::vec(value(), 0..2),
        port in proptest::option::of(prop_oneof![
            (0i32..70000).prop_map(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int),
            ".{0,10}".prop_map(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String),
        ]),
        end_port in proptest::option::of(-5i32..70000),
        protocol in proptest::option::of("(TCP|UDP|SCTP|tcp|ICMP|)"),
        types in proptest::option::of(proptest::collection::vec("(Ingress|Egress|Other)", 0..3)),
    ) {
        use k8s_openapi::api::networking::v1::{
            IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule,
            NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
        };
        let peer = NetworkPolicyPeer {
            pod_selector: peer_pods,
            namespace_selector: peer_namespaces,
            ip_block: Some(IPBlock { cidr, except: Some(except) }),
        };
        let ports = vec![NetworkPolicyPort { port, end_port, protocol }];
        let np = NetworkPolicy {
            metadata: ObjectMeta {
                name: Some("np".into()),
                namespace: Some("default".into()),
                ..ObjectMeta::default()
            },
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(pod_selector),
                ingress: Some(vec![NetworkPolicyIngressRule {
                    from: Some(vec![peer.clone()]),
                    ports: Some(ports.clone()),
                }]),
                egress: Some(vec![NetworkPolicyEgressRule {
                    to: Some(vec![peer]),
                    ports: Some(ports),
                }]),
                policy_types: types,
            }),
        };
        let _ = calico_kube::native::netpol::k8s_network_policy_to_calico(&np);
    }
}
