use super::*;
use crate::kinds::test_support::{assert_has, assert_unknown_field, field_reasons, round_trip};
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

fn config(name: &str, spec: BGPConfigurationSpec) -> Vec<(String, String)> {
    field_reasons(BGPConfiguration::new(name, spec).validate())
}

#[test]
fn global_only_fields_on_node_configurations() {
    let spec = BGPConfigurationSpec {
        node_to_node_mesh_enabled: Some(true),
        as_number: Some(AsNumber(64512)),
        service_load_balancer_ips: vec![ServiceIPBlock {
            cidr: "203.0.113.0/24".into(),
        }],
        service_external_ips: vec![ServiceIPBlock {
            cidr: "198.51.100.0/24".into(),
        }],
        service_cluster_ips: vec![ServiceIPBlock {
            cidr: "10.96.0.0/12".into(),
        }],
        node_mesh_password: Some(BGPPassword::default()),
        node_mesh_max_restart_time: Some(Duration::from_secs(60)),
        ..Default::default()
    };
    assert!(config("default", spec.clone()).is_empty());
    let errs = config("node.node1", spec);
    assert_eq!(errs.len(), 7, "{errs:?}");
    assert_has(
        &errs,
        "spec.nodeToNodeMeshEnabled",
        "Cannot set nodeToNodeMeshEnabled on a non default BGP Configuration.",
    );
    assert_has(
        &errs,
        "spec.asNumber",
        "Cannot set ASNumber on a non default BGP Configuration.",
    );
    assert_has(
        &errs,
        "spec.serviceClusterIPs",
        "Cannot set ServiceClusterIPs on a non default BGP Configuration.",
    );
    assert_has(
        &errs,
        "spec.nodeMeshMaxRestartTime",
        "Cannot set nodeMeshMaxRestartTime on a non default BGP Configuration.",
    );
    let node_level = BGPConfigurationSpec {
        log_severity_screen: "Debug".into(),
        listen_port: 1179,
        ..Default::default()
    };
    assert!(config("node.node1", node_level).is_empty());
}

#[test]
fn communities_and_prefix_advertisements() {
    let spec = BGPConfigurationSpec {
        communities: vec![
            Community {
                name: "ok".into(),
                value: "65536:1".into(),
            },
            Community {
                name: "Bad_Name".into(),
                value: "abc".into(),
            },
            Community {
                name: String::new(),
                value: "1:2:4294967296".into(),
            },
        ],
        ..Default::default()
    };
    let errs = config("default", spec);
    assert_has(
        &errs,
        "spec.communities[0].value",
        "invalid community value, expected 16 bit value",
    );
    assert_has(
        &errs,
        "spec.communities[1].value",
        "invalid community value or format used.",
    );
    assert_has(
        &errs,
        "spec.communities[1].name",
        "failed to validate Field: Name because of Tag: name ",
    );
    assert_has(
        &errs,
        "spec.communities[2].name",
        "failed to validate Field: Name because of Tag: required ",
    );
    assert_has(
        &errs,
        "spec.communities[2].value",
        "invalid community value, expected 32 bit value",
    );
    assert_has(
        &errs,
        "spec.communities",
        "communities are defined but not used in Spec.PrefixAdvertisement[].",
    );
    assert_has(
        &errs,
        "spec",
        "communities are defined but not used in prefixAdvertisements",
    );

    let spec = BGPConfigurationSpec {
        communities: vec![Community {
            name: "defined".into(),
            value: "100:200".into(),
        }],
        prefix_advertisements: vec![
            PrefixAdvertisement {
                cidr: "nonsense".into(),
                communities: vec!["defined".into(), "undefined".into(), "70000:1".into()],
            },
            PrefixAdvertisement {
                cidr: "10.0.0.1/24".into(),
                communities: vec![],
            },
        ],
        ..Default::default()
    };
    let errs = config("default", spec);
    assert_eq!(
        errs,
        [
            ("spec.prefixAdvertisements[0].cidr", "invalid CIDR value."),
            (
                "spec.prefixAdvertisements[0].communities[1]",
                "community used is invalid or not defined."
            ),
            (
                "spec.prefixAdvertisements[0].communities[2]",
                "invalid community value, expected 16 bit value"
            ),
            (
                "spec.prefixAdvertisements[1].cidr",
                "network is not strictly masked"
            ),
            (
                "spec.prefixAdvertisements[1].communities",
                "failed to validate Field: Communities because of Tag: required "
            ),
        ]
        .map(|(f, r)| (f.to_string(), r.to_string()))
    );
}

#[test]
fn mesh_settings_need_the_mesh() {
    let spec = BGPConfigurationSpec {
        node_to_node_mesh_enabled: Some(false),
        node_mesh_password: Some(BGPPassword {
            secret_key_ref: Some(SecretKeySelector {
                name: "s".into(),
                key: "k".into(),
                optional: None,
            }),
        }),
        node_mesh_max_restart_time: Some(Duration::from_secs(120)),
        ..Default::default()
    };
    let errs = config("default", spec);
    assert_has(
        &errs,
        "spec.nodeMeshPassword",
        "spec.NodeMeshPassword cannot be set if spec.NodeToNodeMesh is disabled",
    );
    assert_has(
        &errs,
        "spec",
        "nodeMeshPassword cannot be set when nodeToNodeMeshEnabled is false",
    );
    assert_has(
        &errs,
        "spec.nodeMeshMaxRestartTime",
        "spec.NodeMeshMaxRestartTime cannot be set if spec.NodeToNodeMesh is disabled",
    );
    assert_has(
        &errs,
        "spec",
        "nodeMeshMaxRestartTime cannot be set when nodeToNodeMeshEnabled is false",
    );
}

#[test]
fn configuration_field_rules() {
    let spec = BGPConfigurationSpec {
        log_severity_screen: "info".into(),
        service_cluster_ips: vec![ServiceIPBlock {
            cidr: "10.96.0.1/12".into(),
        }],
        service_load_balancer_aggregation: "Sometimes".into(),
        bind_mode: Some("All".into()),
        ignored_interfaces: vec!["*".into(), "this-name-is-far-too-long".into()],
        local_workload_peering_ipv4: "fe80::1".into(),
        local_workload_peering_ipv6: "169.254.0.1".into(),
        program_cluster_routes: Some("Always".into()),
        ipv4_normal_route_priority: Some(0),
        ..Default::default()
    };
    let errs = config("default", spec);
    assert_has(
        &errs,
        "spec.logSeverityScreen",
        "must be one of 'Trace', 'Debug', 'Info', 'Warning', 'Error', 'Fatal'",
    );
    assert_has(
        &errs,
        "spec.serviceClusterIPs[0].cidr",
        "network is not strictly masked",
    );
    assert_has(
        &errs,
        "spec.serviceLoadBalancerAggregation",
        "must be one of 'Enabled', 'Disabled'",
    );
    assert_has(&errs, "spec.bindMode", "must be one of 'None', 'NodeIP'");
    for i in ["spec.ignoredInterfaces[0]", "spec.ignoredInterfaces[1]"] {
        assert_has(
            &errs,
            i,
            "failed to validate Field: IgnoredInterfaces because of Tag: ignoredInterface ",
        );
    }
    assert_has(
        &errs,
        "spec.localWorkloadPeeringIPV4",
        "invalid IPv4 address",
    );
    assert_has(
        &errs,
        "spec.localWorkloadPeeringIPV6",
        "invalid IPv6 address",
    );
    assert_has(
        &errs,
        "spec.programClusterRoutes",
        "must be one of 'Enabled', 'Disabled', 'EnabledIPIPOnly', 'EnabledNoEncapOnly'",
    );
    assert_has(
        &errs,
        "spec.ipv4NormalRoutePriority",
        "must be between 1 and 2147483646",
    );
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

#[test]
fn peer_exclusive_fields() {
    let errs = peer(BGPPeerSpec {
        node: "node1".into(),
        node_selector: "all()".into(),
        peer_ip: "192.0.2.1".into(),
        peer_selector: "rr == 'true'".into(),
        as_number: AsNumber(64512),
        keep_original_next_hop: true,
        next_hop_mode: Some("Self".into()),
        ..Default::default()
    });
    for (field, reason) in [
        ("spec.node", "Node field must be empty when NodeSelector is specified"),
        (
            "spec.peerIP",
            "PeerIP field must be empty when PeerSelector is specified",
        ),
        (
            "spec.asNumber",
            "ASNumber field must be empty when PeerSelector is specified",
        ),
        (
            "spec.keepOriginalNextHop",
            "The KeepOriginalNextHop field is deprecated. It must not be set to true when NextHopMode is configured.",
        ),
        ("spec", "node and nodeSelector cannot both be set"),
        ("spec", "peerIP and peerSelector cannot both be set"),
        ("spec", "asNumber must be empty when peerSelector is set"),
        (
            "spec",
            "keepOriginalNextHop and nextHopMode cannot both be set; keepOriginalNextHop is deprecated, use nextHopMode instead",
        ),
    ] {
        assert_has(&errs, field, reason);
    }
}

#[test]
fn peer_local_workload_rules() {
    let errs = peer(BGPPeerSpec {
        peer_ip: "192.0.2.1".into(),
        peer_selector: "rr == 'true'".into(),
        local_workload_selector: "app == 'router'".into(),
        ..Default::default()
    });
    for (field, reason) in [
        (
            "spec.asNumber",
            "ASNumber field must NOT be empty when LocalWorkloadSelector is specified",
        ),
        (
            "spec.peerIP",
            "PeerIP field must be empty when LocalWorkloadSelector is specified",
        ),
        (
            "spec.peerSelector",
            "PeerSelector field must be empty when LocalWorkloadSelector is specified",
        ),
        (
            "spec",
            "peerIP must be empty when localWorkloadSelector is set",
        ),
        (
            "spec",
            "peerSelector must be empty when localWorkloadSelector is set",
        ),
        (
            "spec",
            "asNumber is required when localWorkloadSelector is set",
        ),
    ] {
        assert_has(&errs, field, reason);
    }
}

#[test]
fn peer_addresses() {
    let errs = peer(BGPPeerSpec {
        reachable_by: "192.0.2.254".into(),
        ..Default::default()
    });
    assert_has(
        &errs,
        "spec.reachableBy",
        "ReachablyBy field must be empty when PeerIP is empty",
    );
    assert_has(
        &errs,
        "spec",
        "reachableBy must be empty when peerIP is empty",
    );

    let family = |peer_ip: &str, reachable_by: &str| {
        peer(BGPPeerSpec {
            peer_ip: peer_ip.into(),
            reachable_by: reachable_by.into(),
            as_number: AsNumber(1),
            ..Default::default()
        })
    };
    assert_has(
        &family("[2001:db8::1]:179", "192.0.2.254"),
        "spec.reachableBy",
        "ReachableBy and PeerIP address family mismatched",
    );
    assert_has(
        &family("192.0.2.1", "gateway"),
        "spec.reachableBy",
        "ReachableBy is invalid address",
    );
    let errs = family("192.0.2.1:0", "192.0.2.254");
    assert_has(
        &errs,
        "spec.peerIP",
        "failed to validate Field: PeerIP because of Tag: IP:port ",
    );
    assert_has(&errs, "spec.reachableBy", "PeerIP is invalid address");
}

#[test]
fn peer_field_rules() {
    let errs = peer(BGPPeerSpec {
        node: "Node_1".into(),
        node_selector: "has(%)".into(),
        next_hop_mode: Some("Never".into()),
        source_address: "Loopback".into(),
        reverse_peering: Some("Sometimes".into()),
        ..Default::default()
    });
    assert_has(
        &errs,
        "spec.node",
        "failed to validate Field: Node because of Tag: name ",
    );
    assert!(errs
        .iter()
        .any(|(f, r)| f == "spec.nodeSelector" && r.starts_with("invalid selector")));
    assert_has(
        &errs,
        "spec.nextHopMode",
        "must be one of 'Auto', 'Self', 'Keep'",
    );
    assert_has(
        &errs,
        "spec.sourceAddress",
        "must be one of 'UseNodeIP', 'None'",
    );
    assert_has(
        &errs,
        "spec.reversePeering",
        "must be one of 'Auto', 'Manual'",
    );
    let errs = peer(BGPPeerSpec {
        peer_selector: format!("a == '{}'", "x".repeat(1020)),
        ..Default::default()
    });
    assert_has(
        &errs,
        "spec.peerSelector",
        "must be no more than 1024 characters",
    );
}

fn filter(spec: BGPFilterSpec) -> Vec<(String, String)> {
    field_reasons(BGPFilter::new("f", spec).validate())
}

fn rule(action: &str) -> BGPFilterRule {
    BGPFilterRule {
        action: action.into(),
        ..Default::default()
    }
}

#[test]
fn filter_cidr_and_operator_rules() {
    let errs = filter(BGPFilterSpec {
        export_v4: vec![
            BGPFilterRule {
                cidr: "fd00::/8".into(),
                ..rule("Accept")
            },
            BGPFilterRule {
                match_operator: "Within".into(),
                prefix_length: Some(BGPFilterPrefixLength {
                    min: Some(-1),
                    max: Some(33),
                }),
                ..rule("Reject")
            },
        ],
        import_v6: vec![BGPFilterRule {
            cidr: "fd00::1/8".into(),
            match_operator: "Equal".into(),
            prefix_length: Some(BGPFilterPrefixLength {
                min: None,
                max: Some(128),
            }),
            ..rule("Accept")
        }],
        ..Default::default()
    });
    for (field, reason) in [
        ("spec.exportV4[0].cidr", "invalid IPv4 network"),
        (
            "spec.exportV4[0].cidr",
            "MatchOperator cannot be empty when CIDR is not",
        ),
        (
            "spec.exportV4[0]",
            "cidr and matchOperator must both be set or both be empty",
        ),
        (
            "spec.exportV4[1].matchOperator",
            "must be one of 'Equal', 'NotEqual', 'In', 'NotIn'",
        ),
        (
            "spec.exportV4[1].matchOperator",
            "CIDR cannot be empty when MatchOperator is not",
        ),
        (
            "spec.exportV4[1].prefixLength",
            "CIDR cannot be empty when PrefixLength is not",
        ),
        (
            "spec.exportV4[1]",
            "cidr is required when prefixLength is set",
        ),
        (
            "spec.exportV4[1].prefixLength.min",
            "must be between 0 and 32",
        ),
        (
            "spec.exportV4[1].prefixLength.max",
            "must be between 0 and 32",
        ),
        ("spec.importV6[0].cidr", "network is not strictly masked"),
    ] {
        assert_has(&errs, field, reason);
    }
    assert!(
        !errs
            .iter()
            .any(|(f, _)| f.starts_with("spec.importV6[0].prefixLength")),
        "{errs:?}"
    );
}

#[test]
fn filter_match_fields() {
    let errs = filter(BGPFilterSpec {
        import_v4: vec![BGPFilterRule {
            source: "LocalPeers".into(),
            interface: "eth 0".into(),
            peer_type: "IBGP".into(),
            communities: Some(BGPFilterCommunityMatch {
                values: Some(vec!["01:100".into(), "65536:1".into()]),
            }),
            priority: Some(0),
            ..rule("Drop")
        }],
        ..Default::default()
    });
    for (field, reason) in [
        ("spec.importV4[0].source", "must be one of 'RemotePeers'"),
        (
            "spec.importV4[0].interface",
            "failed to validate Field: Interface because of Tag: bgpFilterInterface ",
        ),
        ("spec.importV4[0].peerType", "must be one of 'eBGP', 'iBGP'"),
        (
            "spec.importV4[0].communities.values",
            "must have exactly 1 item, has 2",
        ),
        ("spec.importV4[0].communities.values[0]", COMMUNITY_SYNTAX),
        ("spec.importV4[0].communities.values[1]", COMMUNITY_SYNTAX),
        (
            "spec.importV4[0].priority",
            "must be between 1 and 2147483646",
        ),
        (
            "spec.importV4[0].action",
            "must be one of 'Accept', 'Reject'",
        ),
    ] {
        assert_has(&errs, field, reason);
    }
    assert!(is_bgp_filter_community("0:65535"));
    assert!(is_bgp_filter_community("4294967295:0:1"));
    assert!(!is_bgp_filter_community("4294967296:0:1"));
    assert!(!is_bgp_filter_community("1:2:3:4"));
}

#[test]
fn filter_operations() {
    let errs = filter(BGPFilterSpec {
        export_v6: vec![BGPFilterRule {
            operations: vec![
                BGPFilterOperation::default(),
                BGPFilterOperation {
                    add_community: Some(BGPFilterAddCommunity {
                        value: "1:2:3:4".into(),
                    }),
                    set_priority: Some(BGPFilterSetPriority { value: 0 }),
                    ..Default::default()
                },
                BGPFilterOperation {
                    prepend_as_path: Some(BGPFilterPrependASPath {
                        prefix: Some(vec![AsNumber(1); 11]),
                    }),
                    ..Default::default()
                },
            ],
            ..rule("Reject")
        }],
        ..Default::default()
    });
    for (field, reason) in [
        (
            "spec.exportV6[0]",
            "operations may only be used with action Accept",
        ),
        (
            "spec.exportV6[0].operations[0]",
            "exactly one operation must be set",
        ),
        (
            "spec.exportV6[0].operations[1]",
            "exactly one operation must be set",
        ),
        (
            "spec.exportV6[0].operations[1].addCommunity.value",
            COMMUNITY_SYNTAX,
        ),
        (
            "spec.exportV6[0].operations[1].setPriority.value",
            "must be between 1 and 2147483646",
        ),
        (
            "spec.exportV6[0].operations[2].prependASPath.prefix",
            "must have between 1 and 10 items, has 11",
        ),
    ] {
        assert_has(&errs, field, reason);
    }
}
