use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::validate::*;
use super::*;
use crate::kinds::test_support::{
    assert_field_error, assert_unknown_field, decode_as, field_reasons, named_doc, pair,
    round_trip_bytes,
};

/// A FelixConfiguration with every spec field set, exactly as Go's encoder writes it.
const FULL: &str = include_str!("../../../tests/fixtures/felixconfiguration-full.json");
/// The spec property names of the FelixConfiguration CRD schema.
const CRD_PROPERTIES: &str =
    include_str!("../../../tests/fixtures/felixconfiguration-crd-spec-properties.txt");

fn full() -> FelixConfiguration {
    decode_as(serde_json::from_str(FULL).unwrap())
}

/// The validation errors of a selector-scoped config with the given spec, as (path, reason).
fn errors_named(name: &str, spec: Value) -> Vec<(String, String)> {
    let fc: FelixConfiguration = decode_as(named_doc("FelixConfiguration", name, spec));
    field_reasons(fc.validate())
}

fn errors(spec: Value) -> Vec<(String, String)> {
    errors_named("zone-a", spec)
}

#[test]
fn full_document_round_trips_byte_for_byte() {
    let fc: FelixConfiguration = round_trip_bytes(FULL.trim_end());
    let original: Value = serde_json::from_str(FULL).unwrap();
    assert_eq!(serde_json::to_value(&fc).unwrap(), original);
}

#[test]
fn fields_match_the_crd_schema_exactly() {
    let expected: BTreeSet<&str> = CRD_PROPERTIES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    assert_eq!(expected.len(), 188);
    let spec = serde_json::to_value(&full().spec).unwrap();
    let written: BTreeSet<&str> = spec
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(written, expected);
}

#[test]
fn minimal_document_writes_bpf_log_level() {
    let minimal = r#"{"kind":"FelixConfiguration","apiVersion":"projectcalico.org/v3","metadata":{"name":"default"},"spec":{"bpfLogLevel":""}}"#;
    let fc: FelixConfiguration = round_trip_bytes(minimal);
    assert_eq!(fc.spec, FelixConfigurationSpec::default());
    // Calico always writes `bpfLogLevel`, but reading a document without it is fine.
    let without: FelixConfiguration =
        decode_as(named_doc("FelixConfiguration", "default", json!({})));
    assert_eq!(serde_json::to_string(&without).unwrap(), minimal);
    fc.validate().unwrap();
}

#[test]
fn empty_pointer_lists_are_kept() {
    // `failsafeOutboundHostPorts: []` means "no failsafe ports", unlike an absent field.
    let fc = full();
    assert_eq!(fc.spec.failsafe_outbound_host_ports, Some(vec![]));
    let written = serde_json::to_value(&fc.spec).unwrap();
    assert_eq!(written["failsafeOutboundHostPorts"], json!([]));
}

#[test]
fn unknown_nested_fields_name_their_path() {
    let cases = [
        (
            "/spec/bpfConntrackTimeouts",
            "tcpFoo",
            "spec.bpfConntrackTimeouts.tcpFoo",
        ),
        (
            "/spec/routeTableRanges/1",
            "mid",
            "spec.routeTableRanges[1].mid",
        ),
        (
            "/spec/failsafeInboundHostPorts/0",
            "cidr",
            "spec.failsafeInboundHostPorts[0].cidr",
        ),
        ("/spec", "iptablesLockFilePath", "spec.iptablesLockFilePath"),
    ];
    for (pointer, field, expected) in cases {
        let mut doc: Value = serde_json::from_str(FULL).unwrap();
        doc.pointer_mut(pointer).unwrap()[field] = json!("x");
        assert_unknown_field(doc, expected);
    }
}

#[test]
fn bad_durations_and_ports_fail_to_decode() {
    for (field, value) in [
        ("reportingInterval", json!("30")),
        ("natPortRange", json!("2000:1000")),
        ("iptablesMarkMask", json!(4294967296u64)),
    ] {
        let doc = named_doc("FelixConfiguration", "default", json!({field: value}));
        assert_field_error(doc, &format!("spec.{field}"));
    }
}

#[test]
fn defaults_fill_unset_fields_only() {
    let mut fc = FelixConfiguration::new("default", FelixConfigurationSpec::default());
    fc.apply_defaults();
    assert_eq!(fc.spec.floating_ips.as_deref(), Some("Disabled"));
    assert_eq!(
        fc.spec.bpf_connect_time_load_balancing.as_deref(),
        Some("TCP")
    );
    assert_eq!(
        fc.spec.bpf_host_networked_nat_without_ctlb.as_deref(),
        Some("Enabled")
    );
    // The CRD's defaults, which Calico's client applies on etcd.
    assert_eq!(fc.spec.nftables_mode.as_deref(), Some("Auto"));
    assert_eq!(
        fc.spec.nftables_flow_table_offload.as_deref(),
        Some("Disabled")
    );
    let once = fc.clone();
    fc.apply_defaults();
    assert_eq!(fc, once);

    let mut set = FelixConfiguration::new("default", FelixConfigurationSpec::default());
    set.spec.nftables_mode = Some("Enabled".into());
    set.spec.nftables_flow_table_offload = Some("Enabled".into());
    set.spec.floating_ips = Some("Enabled".into());
    set.spec.bpf_connect_time_load_balancing = Some("Disabled".into());
    set.spec.bpf_host_networked_nat_without_ctlb = Some("Disabled".into());
    let before = set.clone();
    set.apply_defaults();
    assert_eq!(set, before);
}

#[test]
fn deprecated_ctlb_flag_overrides_the_new_fields() {
    for (enabled, mode) in [(true, "Enabled"), (false, "Disabled")] {
        let mut fc = FelixConfiguration::new("default", FelixConfigurationSpec::default());
        fc.spec.bpf_connect_time_load_balancing_enabled = Some(enabled);
        fc.spec.bpf_connect_time_load_balancing = Some("TCP".into());
        fc.spec.bpf_host_networked_nat_without_ctlb = Some("Enabled".into());
        fc.apply_defaults();
        assert_eq!(
            fc.spec.bpf_connect_time_load_balancing.as_deref(),
            Some(mode)
        );
        assert_eq!(
            fc.spec.bpf_host_networked_nat_without_ctlb.as_deref(),
            Some("Disabled")
        );
        assert_eq!(
            fc.spec.bpf_connect_time_load_balancing_enabled,
            Some(enabled)
        );
        let once = fc.clone();
        fc.apply_defaults();
        assert_eq!(fc, once);
    }
}

#[test]
fn full_document_breaks_only_the_route_table_rule() {
    let mut fc = full();
    let err = fc.validate().unwrap_err();
    let fields: Vec<_> = err
        .fields
        .iter()
        .map(|f| (f.field.as_str(), f.reason.as_str()))
        .collect();
    assert_eq!(fields, [("spec", ROUTE_TABLE_RANGE_AND_RANGES)]);
    fc.spec.route_table_range = None;
    fc.validate().unwrap();
}

#[test]
fn case_insensitive_and_exact_enums() {
    assert_eq!(
        errors(
            json!({"chainInsertMode": "append", "logSeverityScreen": "debug", "bpfLogLevel": "OFF"})
        ),
        []
    );
    assert_eq!(
        errors(json!({"chainInsertMode": "Sideways"})),
        [pair(
            "spec.chainInsertMode",
            "must be one of 'Insert', 'Append' (any case)"
        )]
    );
    assert_eq!(
        errors(json!({"workloadSourceSpoofing": "Some"})),
        [pair(
            "spec.workloadSourceSpoofing",
            "must be one of 'Disabled', 'Any' (any case)"
        )]
    );
    assert_eq!(
        errors(json!({"ipForwarding": "enabled", "bpfAttachType": "XDP", "floatingIPs": ""})),
        [
            pair("spec.ipForwarding", "must be one of 'Enabled', 'Disabled'"),
            pair("spec.bpfAttachType", "must be one of 'TC', 'TCX', 'Netkit'"),
            pair("spec.floatingIPs", "must be one of 'Enabled', 'Disabled'"),
        ]
    );
    assert_eq!(
        errors(json!({"iptablesBackend": "legacy"})),
        [pair(
            "spec.iptablesBackend",
            "must be one of 'Legacy', 'NFT', 'Auto'"
        )]
    );
}

#[test]
fn numeric_bounds() {
    assert_eq!(
        errors(json!({"debugPort": 65535, "wireguardRoutingRulePriority": 1, "goGCThreshold": -1})),
        []
    );
    assert_eq!(
        errors(json!({
            "logActionRateLimitBurst": 10000,
            "debugPort": 65536,
            "ipv4ElevatedRoutePriority": 0,
            "wireguardListeningPortV6": 0,
            "wireguardRoutingRulePriority": 32766,
            "bpfMaglevMaxServices": 3001,
            "bpfMapSizeConntrackCleanupQueue": 0,
            "goMaxProcs": -2
        })),
        [
            pair("spec.logActionRateLimitBurst", "must be between 0 and 9999"),
            pair("spec.debugPort", "must be between 0 and 65535"),
            pair(
                "spec.ipv4ElevatedRoutePriority",
                "must be between 1 and 2147483646"
            ),
            pair(
                "spec.wireguardListeningPortV6",
                "must be between 1 and 65535"
            ),
            pair(
                "spec.wireguardRoutingRulePriority",
                "must be between 1 and 32765"
            ),
            pair("spec.bpfMaglevMaxServices", "must be between 1 and 3000"),
            pair(
                "spec.bpfMapSizeConntrackCleanupQueue",
                "must be greater than or equal to 1"
            ),
            pair("spec.goMaxProcs", "must be greater than or equal to -1"),
        ]
    );
}

#[test]
fn patterns_and_key_value_lists() {
    assert_eq!(
        errors(json!({"logActionRateLimit": "0/second", "logPrefix": "calico$"})),
        [
            pair(
                "spec.logActionRateLimit",
                r"must match the pattern '^[1-9]\d{0,3}/(?:second|minute|hour|day)$'"
            ),
            pair(
                "spec.logPrefix",
                "must match the pattern '^([a-zA-Z0-9%: /_-])*$'"
            ),
        ]
    );
    assert_eq!(errors(json!({"logActionRateLimit": "9999/day"})), []);
    // Matches the key=value list syntax but not the CRD pattern.
    assert_eq!(
        errors(json!({"featureDetectOverride": "SNATFullyRandom=maybe"})),
        [pair(
            "spec.featureDetectOverride",
            "must match the pattern '^([a-zA-Z0-9-_]+=(true|false|),)*([a-zA-Z0-9-_]+=(true|false|))?$'"
        )]
    );
    // Fails both the pattern and Go's keyValueList tag.
    assert_eq!(
        errors(json!({"featureGates": "NoValue"})),
        [
            pair(
                "spec.featureGates",
                "must match the pattern '^([a-zA-Z0-9-_]+=([^=]+),)*([a-zA-Z0-9-_]+=([^=]+))?$'"
            ),
            pair(
                "spec.featureGates",
                "must be a comma-separated list of key=value pairs"
            ),
        ]
    );
    assert_eq!(
        errors(json!({"prometheusMetricsHost": "metrics host"})),
        [pair(
            "spec.prometheusMetricsHost",
            "invalid Prometheus metrics host"
        )]
    );
    assert_eq!(
        errors(json!({"bpfConntrackTimeouts": {"tcpSynSent": "soon", "tcpFinsSeen": "Auto"}})),
        [pair(
            "spec.bpfConntrackTimeouts.tcpSynSent",
            "must match the pattern '^(([0-9]*(\\.[0-9]*)?(ms|s|h|m|us)+)+|Auto)$'"
        )]
    );
}

#[test]
fn interfaces_and_regular_expressions() {
    assert_eq!(
        errors(json!({
            "wireguardInterfaceName": "a-very-long-interface",
            "iptablesNATOutgoingInterfaceFilter": "eth*",
            "bpfForceTrackPacketsFromIfaces": ["docker+", "br ext"],
            "bpfLogFilters": {"*": "tcp", "all": "udp", "sixteen-chars-xx": "icmp"},
            "bpfDataIfacePattern": "(eth",
            "mtuIfacePattern": "^eth[0-9]+$"
        })),
        [
            pair("spec.wireguardInterfaceName", "invalid interface name"),
            pair(
                "spec.iptablesNATOutgoingInterfaceFilter",
                "invalid interface filter"
            ),
            pair(
                "spec.bpfForceTrackPacketsFromIfaces[1]",
                "invalid interface filter"
            ),
            pair("spec.bpfLogFilters.*", "invalid interface name"),
            pair(
                "spec.bpfLogFilters.sixteen-chars-xx",
                "invalid interface name"
            ),
            pair("spec.bpfDataIfacePattern", "invalid regular expression"),
        ]
    );
}

#[test]
fn addresses_report_go_and_cel_errors() {
    assert_eq!(
        errors(json!({
            "natOutgoingAddress": "fd00::1",
            "deviceRouteSourceAddress": "10.0.0.1",
            "deviceRouteSourceAddressIPv6": "10.0.0.2"
        })),
        [
            pair("spec.natOutgoingAddress", "is not a valid IPv4 address"),
            pair("spec", NAT_OUTGOING_ADDRESS_CEL),
            pair(
                "spec.deviceRouteSourceAddressIPv6",
                "is not a valid IPv6 address"
            ),
            pair("spec", DEVICE_ROUTE_SOURCE_ADDRESS_IPV6_CEL),
        ]
    );
    let long = format!("10.0.0.1{}", " ".repeat(40));
    assert_eq!(
        errors(json!({"deviceRouteSourceAddress": long})),
        [
            pair(
                "spec.deviceRouteSourceAddress",
                "must be no more than 45 characters"
            ),
            pair(
                "spec.deviceRouteSourceAddress",
                "is not a valid IPv4 address"
            ),
            pair("spec", DEVICE_ROUTE_SOURCE_ADDRESS_CEL),
        ]
    );
}

#[test]
fn cidr_lists_and_openstack_region() {
    assert_eq!(
        errors(json!({
            "externalNodesList": ["10.0.0.0/8", "fd00::/64", "bogus"],
            "bpfDSROptoutCIDRs": ["10.0.0.0/33"],
            "bpfExcludeCIDRsFromNAT": ["fd00::1"],
            "openstackRegion": "Region_One"
        })),
        [
            pair("spec.externalNodesList[1]", "has invalid IPv6 CIDR"),
            pair("spec.externalNodesList[2]", "has invalid CIDR(s)"),
            pair("spec.bpfDSROptoutCIDRs[0]", "invalid CIDR or IP address"),
            pair("spec.openstackRegion", "must be a valid DNS label"),
        ]
    );
    assert_eq!(
        errors(json!({"openstackRegion": "r".repeat(47)})),
        [pair("spec.openstackRegion", "is too long")]
    );
    assert_eq!(errors(json!({"openstackRegion": "r".repeat(46)})), []);
}

#[test]
fn port_rules() {
    assert_eq!(
        errors(
            json!({"natPortRange": 0, "bpfPSNATPorts": "0:100", "kubeNodePortRanges": [30000, "http"]})
        ),
        [
            pair(
                "spec.natPortRange",
                "port range invalid, port number must be between 1 and 65535"
            ),
            pair(
                "spec.bpfPSNATPorts",
                "port range invalid, port number must be between 1 and 65535"
            ),
            pair(
                "spec.kubeNodePortRanges[1]",
                "node port ranges should not contain named ports"
            ),
        ]
    );
    let eight: Vec<Value> = (1..=8).map(|i| json!(30000 + i)).collect();
    assert_eq!(
        errors(json!({"kubeNodePortRanges": eight})),
        [pair(
            "spec.kubeNodePortRanges",
            "must have at most 7 items, has 8"
        )]
    );
}

#[test]
fn route_table_rules() {
    assert_eq!(
        errors(json!({"routeTableRange": {"min": 0, "max": 250}})),
        [pair("spec.routeTableRange", ROUTE_TABLE_RANGE_CEL)]
    );
    assert_eq!(
        errors(json!({"routeTableRange": {"min": 10, "max": 251}})),
        [pair("spec.routeTableRange", ROUTE_TABLE_RANGE_CEL)]
    );
    assert_eq!(
        errors(json!({"routeTableRange": {"min": 1, "max": 250}})),
        []
    );
    assert_eq!(
        errors(json!({"routeTableRanges": [
            {"min": 0, "max": 5},
            {"min": 10, "max": 5},
            {"min": 1, "max": 4294967296u64}
        ]})),
        [
            pair("spec.routeTableRanges[0]", ROUTE_TABLE_RANGES_MIN_CEL),
            pair("spec.routeTableRanges[1]", ROUTE_TABLE_RANGES_ORDER_CEL),
            pair("spec.routeTableRanges[2].max", "max index too high"),
            pair("spec.routeTableRanges", "targets too many tables"),
        ]
    );
    assert_eq!(
        errors(json!({"routeTableRanges": [{"min": 1, "max": 65535}]})),
        []
    );
    assert_eq!(
        errors(
            json!({"routeTableRanges": [{"min": 1, "max": 65535}, {"min": 70000, "max": 70000}]})
        ),
        [pair("spec.routeTableRanges", "targets too many tables")]
    );
    assert_eq!(
        errors(json!({"routeTableRange": {"min": 1, "max": 250}, "routeTableRanges": []})),
        [pair("spec", ROUTE_TABLE_RANGE_AND_RANGES)]
    );
}

#[test]
fn health_timeout_overrides() {
    assert_eq!(
        errors(json!({"healthTimeoutOverrides": [
            {"name": "Calc Graph_1", "timeout": "30s"},
            {"name": "bad/name", "timeout": "-1s"}
        ]})),
        [
            pair(
                "spec.healthTimeoutOverrides[1].name",
                "name should match regex ^[a-zA-Z0-9_ -]+$"
            ),
            pair(
                "spec.healthTimeoutOverrides[1].timeout",
                "Timeout should not be negative"
            ),
        ]
    );
}

#[test]
fn node_selector_only_on_selector_scoped_configs() {
    let selector = json!({"nodeSelector": "zone == 'a'"});
    assert_eq!(errors_named("zone-a", selector.clone()), []);
    for name in ["default", "node.worker-1"] {
        assert_eq!(
            errors_named(name, selector.clone()),
            [pair("spec.nodeSelector", NODE_SELECTOR_FORBIDDEN)]
        );
    }
    assert_eq!(errors_named("default", json!({})), []);
    let long = format!("zone == '{}'", "a".repeat(1020));
    assert_eq!(
        errors(json!({"nodeSelector": long})),
        [pair(
            "spec.nodeSelector",
            "must be no more than 1024 characters"
        )]
    );
}

#[test]
fn node_selector_must_parse() {
    let found = errors(json!({"nodeSelector": "zone = 'a'"}));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, "spec.nodeSelector");
    assert!(found[0].1.starts_with("invalid selector"), "{}", found[0].1);
}
