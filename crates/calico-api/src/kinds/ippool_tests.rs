use super::*;
use crate::kinds::test_support::{assert_unknown_field, round_trip, round_trip_as};
use serde_json::json;

fn full_pool() -> serde_json::Value {
    json!({
        "kind": "IPPool",
        "apiVersion": "projectcalico.org/v3",
        "metadata": {
            "name": "pool-a",
            "uid": "6c1f0a2e-1111-4d1e-9c11-2d3c4b5a6f70",
            "resourceVersion": "12",
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"zone": "a"}
        },
        "spec": {
            "cidr": "10.244.0.0/16",
            "vxlanMode": "CrossSubnet",
            "ipipMode": "Never",
            "natOutgoing": true,
            "disabled": true,
            "disableBGPExport": true,
            "blockSize": 24,
            "nodeSelector": "zone == 'a'",
            "namespaceSelector": "team == 'x'",
            "allowedUses": ["Workload"],
            "assignmentMode": "Manual"
        },
        "status": {"conditions": [{
            "type": "Allocatable",
            "status": "True",
            "observedGeneration": 3,
            "lastTransitionTime": "2026-01-02T03:04:05Z",
            "reason": "OK",
            "message": "pool is allocatable"
        }]}
    })
}

fn pool(cidr: &str) -> IPPool {
    let mut pool = IPPool::new(
        "pool",
        IPPoolSpec {
            cidr: cidr.into(),
            ..Default::default()
        },
    );
    pool.apply_defaults();
    pool
}

#[test]
fn round_trips_full_and_minimal_documents() {
    let p: IPPool = round_trip_as(&full_pool());
    p.validate().unwrap();
    let status = p.status.unwrap();
    assert_eq!(status.conditions[0].reason, "OK");
    round_trip(&json!({
        "kind": "IPPool",
        "apiVersion": "projectcalico.org/v3",
        "metadata": {"name": "p"},
        "spec": {"cidr": "10.0.0.0/8"}
    }));
    round_trip(&json!({
        "kind": "IPReservation",
        "apiVersion": "projectcalico.org/v3",
        "metadata": {"name": "r", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"reservedCIDRs": ["10.0.0.0/28", "10.1.0.7"]}
    }));
    round_trip(&json!({
        "kind": "IPReservation",
        "apiVersion": "projectcalico.org/v3",
        "metadata": {"name": "r"},
        "spec": {}
    }));
}

#[test]
fn writes_go_field_order() {
    let mut pool = IPPool::new(
        "default-ipv4-ippool",
        IPPoolSpec {
            cidr: "192.168.0.0/16".into(),
            ipip_mode: "Always".into(),
            nat_outgoing: true,
            ..Default::default()
        },
    );
    pool.apply_defaults();
    assert_eq!(
        serde_json::to_string(&pool).unwrap(),
        r#"{"kind":"IPPool","apiVersion":"projectcalico.org/v3","metadata":{"name":"default-ipv4-ippool"},"spec":{"cidr":"192.168.0.0/16","vxlanMode":"Never","ipipMode":"Always","natOutgoing":true,"blockSize":26,"nodeSelector":"all()","allowedUses":["Workload","Tunnel"],"assignmentMode":"Automatic"}}"#
    );
}

#[test]
fn unknown_nested_field_names_its_path() {
    let mut doc = full_pool();
    doc["status"]["conditions"][0]["severity"] = json!("high");
    assert_unknown_field(doc, "status.conditions[0].severity");
    let mut doc = full_pool();
    doc["spec"]["ipip"] = json!({"enabled": true});
    assert_unknown_field(doc, "spec.ipip");
}

#[test]
fn defaults_fill_every_unset_field_once() {
    let pool = pool("fd00:0:0::/64");
    let spec = &pool.spec;
    assert_eq!(spec.cidr, "fd00::/64");
    assert_eq!(spec.block_size, 122);
    assert_eq!(spec.node_selector, "all()");
    assert_eq!(spec.allowed_uses, ["Workload", "Tunnel"]);
    assert_eq!(spec.assignment_mode.as_deref(), Some("Automatic"));
    assert_eq!(
        (spec.ipip_mode.as_str(), spec.vxlan_mode.as_str()),
        ("Never", "Never")
    );
    assert!(!spec.nat_outgoing && !spec.disabled && !spec.disable_bgp_export);
    assert_eq!(self::pool("10.1.0.0/16").spec.block_size, 26);

    let mut again = pool.clone();
    again.apply_defaults();
    assert_eq!(again, pool);
}

#[test]
fn defaults_keep_what_is_set_and_unmasked_cidrs() {
    let mut pool = IPPool::new(
        "p",
        IPPoolSpec {
            cidr: "10.0.0.1/16".into(),
            vxlan_mode: "Always".into(),
            ipip_mode: "CrossSubnet".into(),
            block_size: 28,
            node_selector: "a == 'b'".into(),
            allowed_uses: vec!["LoadBalancer".into()],
            assignment_mode: Some("Manual".into()),
            ..Default::default()
        },
    );
    let before = pool.clone();
    pool.apply_defaults();
    assert_eq!(pool, before);

    // A bare IP is not a subnet: nothing derived from it.
    let pool = self::pool("10.0.0.1");
    assert_eq!(
        (pool.spec.cidr.as_str(), pool.spec.block_size),
        ("10.0.0.1", 0)
    );
}

#[test]
fn valid_pools_pass() {
    pool("192.168.0.0/16").validate().unwrap();
    pool("fd00:10:244::/48").validate().unwrap();
    let mut lb = pool("203.0.113.0/24");
    lb.spec.allowed_uses = vec!["LoadBalancer".into()];
    lb.validate().unwrap();
}
