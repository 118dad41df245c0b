use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::validate::*;
use super::*;
use crate::kinds::test_support::{
    assert_field_error, assert_unknown_field, decode_as, named_doc, round_trip_bytes,
};

/// A FelixConfiguration with every spec field set, exactly as Go's encoder writes it.
const FULL: &str = include_str!("../../../tests/fixtures/felixconfiguration-full.json");
/// The spec property names of the FelixConfiguration CRD schema.
const CRD_PROPERTIES: &str =
    include_str!("../../../tests/fixtures/felixconfiguration-crd-spec-properties.txt");

fn full() -> FelixConfiguration {
    decode_as(serde_json::from_str(FULL).unwrap())
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
