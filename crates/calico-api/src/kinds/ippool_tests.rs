use super::*;
use crate::kinds::test_support::{
    assert_has, assert_unknown_field, field_reasons, problems, round_trip, round_trip_as,
};
use crate::meta::Condition;
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

#[test]
fn cidr_presence_syntax_and_masking() {
    let errs = problems(&pool(""));
    assert_has(&errs, "spec.cidr", "IPPool CIDR must be specified");
    assert_has(&errs, "spec.cidr", "IPPool CIDR must be a valid subnet");
    assert_has(
        &problems(&pool("10.0.0.1")),
        "spec.cidr",
        "IPPool CIDR must be a valid subnet",
    );
    assert_has(
        &problems(&pool("10.0.0.0/33")),
        "spec.cidr",
        "IPPool CIDR must be a valid subnet",
    );

    let errs = problems(&pool("10.0.0.1/16"));
    assert_has(&errs, "spec.cidr", "IP pool CIDR is not strictly masked");
    assert_has(&errs, "spec", "IPPool CIDR must be strictly masked");
    assert_has(
        &problems(&pool(&"1".repeat(49))),
        "spec.cidr",
        "must be no more than 48 characters",
    );
}

#[test]
fn link_local_overlap_both_families() {
    let errs = problems(&pool("169.254.1.0/24"));
    assert_has(
        &errs,
        "spec.cidr",
        "IP pool range overlaps with IPv4 Link Local range 169.254.0.0/16",
    );
    assert_has(
        &errs,
        "spec",
        "IPPool CIDR overlaps with IPv4 link local range 169.254.0.0/16",
    );
    // The other direction: the pool contains the link-local range.
    let errs = problems(&pool("128.0.0.0/1"));
    assert_has(
        &errs,
        "spec.cidr",
        "IP pool range overlaps with IPv4 Link Local range 169.254.0.0/16",
    );
    let errs = problems(&pool("fe80::/64"));
    assert_has(
        &errs,
        "spec.cidr",
        "IP pool range overlaps with IPv6 Link Local range fe80::/10",
    );
    assert_has(
        &errs,
        "spec",
        "IPPool CIDR overlaps with IPv6 link local range fe80::/10",
    );
}

#[test]
fn pool_smaller_than_block_and_block_size_range() {
    let errs = problems(&pool("10.0.0.0/28"));
    assert_has(&errs, "spec.cidr", MSG_TOO_SMALL);
    assert_has(&errs, "spec", MSG_TOO_SMALL);
    let mut disabled = pool("10.0.0.0/28");
    disabled.spec.disabled = true;
    disabled.validate().unwrap();

    let mut small = pool("10.0.0.0/16");
    small.spec.block_size = 19;
    assert_has(
        &problems(&small),
        "spec",
        "blockSize must be between 20 and 32 for IPv4 pools, and between 116 and 128 for IPv6 pools",
    );
    let mut huge = pool("fd00::/64");
    huge.spec.block_size = 129;
    let errs = problems(&huge);
    assert_has(&errs, "spec.blockSize", "must be between 0 and 128");
    assert_has(
        &errs,
        "spec",
        "blockSize must be between 20 and 32 for IPv4 pools, and between 116 and 128 for IPv6 pools",
    );
}

#[test]
fn encapsulation_rules() {
    let mut v6 = pool("fd00::/64");
    v6.spec.ipip_mode = "Always".into();
    let errs = problems(&v6);
    assert_has(
        &errs,
        "spec.ipipMode",
        "IPIPMode other than 'Never' is not supported on an IPv6 IP pool",
    );
    assert_has(&errs, "spec", "IPIP is not supported on IPv6 pools");

    let mut both = pool("10.0.0.0/16");
    both.spec.ipip_mode = "Always".into();
    both.spec.vxlan_mode = "CrossSubnet".into();
    let errs = problems(&both);
    assert_has(
        &errs,
        "spec.ipipMode",
        "IPIPMode and VXLANMode cannot be enabled on LoadBalancer IP pool",
    );
    assert_has(
        &errs,
        "spec",
        "ipipMode and vxlanMode cannot both be enabled",
    );

    let mut bad = pool("10.0.0.0/16");
    bad.spec.vxlan_mode = "Sometimes".into();
    bad.spec.assignment_mode = Some("Whenever".into());
    let errs = problems(&bad);
    assert_has(
        &errs,
        "spec.vxlanMode",
        "must be one of 'Never', 'Always', 'CrossSubnet'",
    );
    assert_has(
        &errs,
        "spec.assignmentMode",
        "must be one of 'Automatic', 'Manual'",
    );
}

#[test]
fn load_balancer_rules() {
    let mut lb = pool("203.0.113.0/24");
    lb.spec.allowed_uses = vec!["LoadBalancer".into(), "Workload".into()];
    lb.spec.vxlan_mode = "Always".into();
    lb.spec.disable_bgp_export = true;
    lb.spec.node_selector = "zone == 'a'".into();
    let errs = problems(&lb);
    assert_has(
        &errs,
        "spec.ipipMode",
        "Neither IPIPMode nor VXLANMode can be enabled on AllowedUses LoadBalancer IP pool",
    );
    assert_has(
        &errs,
        "spec.allowedUses[1]",
        "LoadBalancer cannot be used at the same time as: Workload",
    );
    assert_has(
        &errs,
        "spec.disableBGPExport",
        "IP Pool with AllowedUse LoadBalancer must have DisableBGPExport set to true",
    );
    assert_has(
        &errs,
        "spec.nodeSelector",
        "IP Pool with AllowedUse LoadBalancer must have node selector set to all()",
    );
    for message in [
        "LoadBalancer IP pool cannot have IPIP or VXLAN enabled",
        "LoadBalancer cannot be combined with Workload or Tunnel allowed uses",
        "LoadBalancer IP pools cannot disable BGP export",
        "IP Pool with AllowedUse LoadBalancer must have nodeSelector set to all()",
    ] {
        assert_has(&errs, "spec", message);
    }
}

#[test]
fn uses_and_selectors() {
    let mut p = pool("10.0.0.0/16");
    p.spec.allowed_uses = vec!["Tunnel".into(), "Bogus".into()];
    p.spec.namespace_selector = "team == 'a'".into();
    p.spec.node_selector = "global()".into();
    let errs = problems(&p);
    assert_has(&errs, "spec.allowedUses[1]", "unknown use: Bogus");
    assert_has(
        &errs,
        "spec",
        "IP Pool with AllowedUse Tunnel cannot have namespaceSelector",
    );
    assert_has(
        &errs,
        "spec",
        "global() selector is not valid for IPPool nodeSelector",
    );

    let mut p = pool("10.0.0.0/16");
    p.spec.allowed_uses = vec!["Workload".into(); 11];
    p.spec.namespace_selector = "global() && x == 'y'".into();
    let errs = problems(&p);
    assert_has(
        &errs,
        "spec.allowedUses",
        "must have at most 10 items, has 11",
    );
    assert_has(
        &errs,
        "spec",
        "global() selector is not valid for IPPool namespaceSelector",
    );

    let mut p = pool("10.0.0.0/16");
    p.spec.node_selector = "has(%)".into();
    let errs = problems(&p);
    assert!(
        errs.iter()
            .any(|(f, r)| f == "spec.nodeSelector" && r.starts_with("invalid selector")),
        "{errs:?}"
    );
}

#[test]
fn status_conditions_are_checked() {
    let mut p = pool("10.0.0.0/16");
    p.status = Some(IPPoolStatus {
        conditions: vec![Condition {
            condition_type: "Allocatable".into(),
            status: "Maybe".into(),
            ..Default::default()
        }],
    });
    let errs = problems(&p);
    assert_has(
        &errs,
        "status.conditions[0].status",
        "must be one of 'True', 'False', 'Unknown'",
    );
    assert_has(&errs, "status.conditions[0].reason", "Required value");
    assert_has(
        &errs,
        "status.conditions[0].lastTransitionTime",
        "Required value",
    );
}

#[test]
fn update_rules_need_the_old_pool() {
    let old = pool("10.0.0.0/16");
    validate_ippool_update(&old, &old.clone()).unwrap();
    let mut new = pool("10.1.0.0/16");
    new.spec.block_size = 28;
    let errs = field_reasons(validate_ippool_update(&old, &new));
    assert_eq!(
        errs,
        [
            (
                "spec.cidr".to_string(),
                "CIDR cannot be changed; follow IP pool migration guide to avoid corruption."
                    .to_string()
            ),
            (
                "spec.blockSize".to_string(),
                "Block size cannot be changed; follow IP pool migration guide to avoid corruption."
                    .to_string()
            ),
        ]
    );
}

#[test]
fn overlap_with_existing_pools() {
    let mut new = pool("10.0.0.0/16");
    new.metadata.name = "new".into();
    let mut same_name = pool("10.0.0.0/8");
    same_name.metadata.name = "new".into();
    let mut disjoint = pool("10.1.0.0/16");
    disjoint.metadata.name = "disjoint".into();
    let mut v6 = pool("fd00::/8");
    v6.metadata.name = "v6".into();
    let mut broken = pool("nonsense");
    broken.metadata.name = "broken".into();
    let others = vec![same_name, disjoint, v6, broken];
    ippool_overlap(&new, &others).unwrap();

    let mut wide = pool("10.0.0.0/8");
    wide.metadata.name = "wide".into();
    let errs = field_reasons(ippool_overlap(&new, &[wide]));
    assert_eq!(
        errs,
        [(
            "spec.cidr".to_string(),
            "IPPool(new) CIDR overlaps with IPPool(wide) CIDR 10.0.0.0/8".to_string()
        )]
    );
}

#[test]
fn reservations_must_be_cidrs_or_ips() {
    let reservation = IPReservation::new(
        "r",
        IPReservationSpec {
            reserved_cidrs: vec!["10.0.1.0/33".into(), "10.0.0.7".into(), "fd00::/64".into()],
        },
    );
    assert_eq!(
        field_reasons(reservation.validate()),
        [(
            "spec.reservedCIDRs[0]".to_string(),
            "invalid CIDR or IP address".to_string()
        )]
    );
}
