use super::*;

use crate::kinds::test_support::{assert_unknown_field, field_reasons, round_trip};
use serde_json::{json, Value};

fn doc(kind: &str, name: &str, spec: Value) -> Value {
    json!({
        "kind": kind,
        "apiVersion": "projectcalico.org/v3",
        "metadata": {"name": name, "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": spec
    })
}

fn full_config() -> Value {
    doc(
        "BGPConfiguration",
        "default",
        json!({
            "logSeverityScreen": "Info",
            "nodeToNodeMeshEnabled": true,
            "asNumber": 64512,
            "serviceLoadBalancerIPs": [{"cidr": "203.0.113.0/24"}],
            "serviceExternalIPs": [{"cidr": "198.51.100.0/24"}, {"cidr": "2001:db8::/64"}],
            "serviceClusterIPs": [{"cidr": "10.96.0.0/12"}],
            "serviceLoadBalancerAggregation": "Disabled",
            "communities": [{"name": "bgp-large", "value": "64512:300:100"}],
            "prefixAdvertisements": [
                {"cidr": "172.218.4.0/26", "communities": ["bgp-large", "64512:120"]}
            ],
            "listenPort": 1790,
            "nodeMeshPassword": {"secretKeyRef": {"name": "bgp-secrets", "key": "mesh", "optional": false}},
            "nodeMeshMaxRestartTime": "2m0s",
            "bindMode": "NodeIP",
            "ignoredInterfaces": ["iface-*", "docker0"],
            "localWorkloadPeeringIPV4": "169.254.0.179",
            "localWorkloadPeeringIPV6": "fe80::179",
            "programClusterRoutes": "EnabledIPIPOnly",
            "ipv4NormalRoutePriority": 1024,
            "ipv6NormalRoutePriority": 1024
        }),
    )
}

fn full_peer() -> Value {
    // Every field set, so not a valid combination.
    doc(
        "BGPPeer",
        "rack1-tor",
        json!({
            "node": "rack1-host1",
            "nodeSelector": "rack == 'rack-1'",
            "peerIP": "[2001:db8::1]:1179",
            "asNumber": 64513,
            "localASNumber": 64514,
            "peerSelector": "role == 'rr'",
            "keepOriginalNextHop": true,
            "nextHopMode": "Self",
            "password": {"secretKeyRef": {"name": "bgp-secrets", "key": "rack1"}},
            "sourceAddress": "None",
            "maxRestartTime": "15s",
            "keepaliveTime": "20s",
            "numAllowedLocalASNumbers": 2,
            "ttlSecurity": 1,
            "reachableBy": "2001:db8::fe",
            "filters": ["export-only-pods"],
            "localWorkloadSelector": "app == 'router'",
            "reversePeering": "Manual"
        }),
    )
}

fn full_rule() -> Value {
    json!({
        "cidr": "10.0.0.0/8",
        "prefixLength": {"min": 16, "max": 24},
        "source": "RemotePeers",
        "interface": "eth*",
        "matchOperator": "In",
        "peerType": "eBGP",
        "communities": {"values": ["65000:100"]},
        "asPathPrefix": [65000, 65001],
        "priority": 512,
        "action": "Accept",
        "operations": [
            {"addCommunity": {"value": "65000:1:2"}},
            {"prependASPath": {"prefix": [65000]}},
            {"setPriority": {"value": 100}}
        ]
    })
}

fn full_filter() -> Value {
    let mut v6 = full_rule();
    v6["cidr"] = json!("fd00::/8");
    v6["prefixLength"] = json!({"min": 48, "max": 64});
    doc(
        "BGPFilter",
        "export-only-pods",
        json!({
            "exportV4": [full_rule(), {"action": "Reject"}],
            "importV4": [{"cidr": "192.168.0.0/16", "matchOperator": "NotIn", "action": "Reject"}],
            "exportV6": [v6],
            "importV6": [{"action": "Accept", "operations": [{"setPriority": {"value": 1}}]}]
        }),
    )
}

#[test]
fn round_trips_full_and_minimal_documents() {
    round_trip(&full_config()).validate().unwrap();
    round_trip(&full_peer());
    round_trip(&full_filter()).validate().unwrap();
    for kind in ["BGPConfiguration", "BGPPeer", "BGPFilter"] {
        round_trip(&doc(kind, "minimal", json!({})));
    }
    // Go writes nil `values`/`prefix` slices as null.
    round_trip(&doc(
        "BGPFilter",
        "nulls",
        json!({"exportV4": [{
            "action": "Accept",
            "communities": {"values": null},
            "operations": [{"prependASPath": {"prefix": null}}]
        }]}),
    ));
}

#[test]
fn writes_go_field_order() {
    let peer = BGPPeer::new(
        "tor",
        BGPPeerSpec {
            node_selector: "all()".into(),
            peer_ip: "192.0.2.1".into(),
            as_number: AsNumber(64512),
            source_address: "UseNodeIP".into(),
            max_restart_time: Some(Duration::from_secs(90)),
            reachable_by: "192.0.2.254".into(),
            ..Default::default()
        },
    );
    assert_eq!(
        serde_json::to_string(&peer).unwrap(),
        r#"{"kind":"BGPPeer","apiVersion":"projectcalico.org/v3","metadata":{"name":"tor"},"spec":{"nodeSelector":"all()","peerIP":"192.0.2.1","asNumber":64512,"sourceAddress":"UseNodeIP","maxRestartTime":"1m30s","reachableBy":"192.0.2.254"}}"#
    );
    let config = BGPConfiguration::new(
        "default",
        BGPConfigurationSpec {
            log_severity_screen: "Info".into(),
            node_to_node_mesh_enabled: Some(false),
            as_number: Some(AsNumber(65000)),
            service_cluster_ips: vec![ServiceIPBlock {
                cidr: "10.96.0.0/12".into(),
            }],
            listen_port: 179,
            bind_mode: Some("NodeIP".into()),
            ..Default::default()
        },
    );
    assert_eq!(
        serde_json::to_string(&config.spec).unwrap(),
        r#"{"logSeverityScreen":"Info","nodeToNodeMeshEnabled":false,"asNumber":65000,"serviceClusterIPs":[{"cidr":"10.96.0.0/12"}],"listenPort":179,"bindMode":"NodeIP"}"#
    );
    let rule = BGPFilterRule {
        cidr: "10.0.0.0/8".into(),
        match_operator: "Equal".into(),
        action: "Accept".into(),
        prefix_length: Some(BGPFilterPrefixLength {
            min: Some(8),
            max: None,
        }),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_string(&rule).unwrap(),
        r#"{"cidr":"10.0.0.0/8","prefixLength":{"min":8},"matchOperator":"Equal","action":"Accept"}"#
    );
}

#[test]
fn unknown_nested_fields_name_their_path() {
    let mut peer = full_peer();
    peer["spec"]["password"]["secretKeyRef"]["namespace"] = json!("x");
    assert_unknown_field(peer, "spec.password.secretKeyRef.namespace");
    let mut filter = full_filter();
    filter["spec"]["exportV4"][0]["operations"][1]["prependASPath"]["times"] = json!(2);
    assert_unknown_field(filter, "spec.exportV4[0].operations[1].prependASPath.times");
}

#[test]
fn bgp_configuration_gets_the_crd_defaults_and_peers_none() {
    // What Calico's client stored for `spec: {}` (measured on etcd).
    let mut config = BGPConfiguration::new("default", BGPConfigurationSpec::default());
    config.apply_defaults();
    assert_eq!(
        config.spec,
        BGPConfigurationSpec {
            log_severity_screen: "Info".into(),
            service_load_balancer_aggregation: "Enabled".into(),
            ..BGPConfigurationSpec::default()
        }
    );
    let mut set = BGPConfiguration::new(
        "default",
        BGPConfigurationSpec {
            log_severity_screen: "Debug".into(),
            service_load_balancer_aggregation: "Disabled".into(),
            ..BGPConfigurationSpec::default()
        },
    );
    let before = set.clone();
    set.apply_defaults();
    assert_eq!(set, before);
    let mut peer = BGPPeer::new("p", BGPPeerSpec::default());
    peer.apply_defaults();
    assert_eq!(peer.spec, BGPPeerSpec::default());
}

#[test]
fn ip_port_parsing_matches_calico() {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(parse_ip_port("192.0.2.1"), Some((ip("192.0.2.1"), None)));
    assert_eq!(
        parse_ip_port("192.0.2.1:1179"),
        Some((ip("192.0.2.1"), Some(1179)))
    );
    assert_eq!(
        parse_ip_port("[2001:db8::1]:179"),
        Some((ip("2001:db8::1"), Some(179)))
    );
    assert_eq!(
        parse_ip_port("2001:db8::1"),
        Some((ip("2001:db8::1"), None))
    );
    assert_eq!(parse_ip_port("192.0.2.1:0"), None);
    assert_eq!(parse_ip_port("192.0.2.1:70000"), None);
    assert_eq!(parse_ip_port("[192.0.2.1]"), None);
    assert_eq!(parse_ip_port("router.example"), None);
    assert_eq!(parse_ip_port(""), None);
}

fn peer(spec: BGPPeerSpec) -> Vec<(String, String)> {
    field_reasons(BGPPeer::new("peer", spec).validate())
}

#[test]
fn valid_peers_pass() {
    let errs = peer(BGPPeerSpec {
        node: "node1".into(),
        peer_ip: "192.0.2.1:179".into(),
        as_number: AsNumber(64512),
        reachable_by: "192.0.2.254".into(),
        next_hop_mode: Some("Keep".into()),
        ..Default::default()
    });
    assert!(errs.is_empty(), "{errs:?}");
    let errs = peer(BGPPeerSpec {
        node_selector: "all()".into(),
        peer_selector: "route-reflector == 'true'".into(),
        ..Default::default()
    });
    assert!(errs.is_empty(), "{errs:?}");
}
