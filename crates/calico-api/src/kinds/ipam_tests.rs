use super::*;
use crate::kinds::test_support::{
    assert_has, assert_unknown_field, field_reasons, round_trip, round_trip_as,
};
use serde_json::json;

fn doc(kind: &str, name: &str, spec: Value) -> Value {
    json!({
        "kind": kind,
        "apiVersion": "projectcalico.org/v3",
        "metadata": {
            "name": name,
            "uid": "0b1a4c2e-4b7a-4d1e-9c11-2d3c4b5a6f70",
            "resourceVersion": "7",
            "creationTimestamp": "2026-01-01T00:00:00Z"
        },
        "spec": spec
    })
}

fn full_block() -> Value {
    doc(
        "IPAMBlock",
        "10-244-1-0-30",
        json!({
            "cidr": "10.244.1.0/30",
            "affinity": "host:node1",
            "affinityClaimTime": "2026-01-01T00:00:05Z",
            "allocations": [0, null, 1, null],
            "unallocated": [1, 3],
            "attributes": [
                {
                    "handle_id": "k8s-pod-network.abc123",
                    "secondary": {"namespace": "prod", "node": "node1", "pod": "web-0"},
                    "alternateOwnerAttrs": {"pod": "web-0-target"}
                },
                {
                    "handle_id": "ipip-tunnel-addr-node1",
                    "secondary": {"node": "node1", "type": "ipipTunnelAddress"},
                    "releasedAt": "2026-01-03T00:00:00Z"
                }
            ],
            "sequenceNumber": 7,
            "sequenceNumberForAllocation": {"0": 3, "2": 7},
            "deleted": true,
            "strictAffinity": true
        }),
    )
}

#[test]
fn block_round_trips_with_null_allocations() {
    let block: IPAMBlock = round_trip_as(&full_block());
    assert_eq!(
        block.spec.allocations,
        Some(vec![Some(0), None, Some(1), None])
    );
    assert_eq!(
        block.spec.attributes.unwrap()[0].handle_id.as_deref(),
        Some("k8s-pod-network.abc123")
    );
    // Go writes nil slices and maps as null; they must stay null.
    round_trip(&doc(
        "IPAMBlock",
        "10-0-0-0-30",
        json!({
            "cidr": "10.0.0.0/30",
            "allocations": null,
            "unallocated": null,
            "attributes": null,
            "sequenceNumber": 0,
            "sequenceNumberForAllocation": null,
            "deleted": false,
            "strictAffinity": false
        }),
    ));
}

#[test]
fn block_writes_every_non_omitempty_field_in_go_order() {
    let block = IPAMBlock::new(
        "10-0-0-0-30",
        IPAMBlockSpec {
            cidr: "10.0.0.0/30".into(),
            allocations: Some(vec![Some(0), None, None, None]),
            unallocated: Some(vec![1, 2, 3]),
            attributes: Some(vec![AllocationAttribute {
                handle_id: Some("h".into()),
                secondary: [("node".to_string(), "n".to_string())].into(),
                ..Default::default()
            }]),
            sequence_number: 1,
            sequence_number_for_allocation: Some([("0".to_string(), 1)].into()),
            ..Default::default()
        },
    );
    assert_eq!(
        serde_json::to_string(&block).unwrap(),
        r#"{"kind":"IPAMBlock","apiVersion":"projectcalico.org/v3","metadata":{"name":"10-0-0-0-30"},"spec":{"cidr":"10.0.0.0/30","allocations":[0,null,null,null],"unallocated":[1,2,3],"attributes":[{"handle_id":"h","secondary":{"node":"n"}}],"sequenceNumber":1,"sequenceNumberForAllocation":{"0":1},"deleted":false,"strictAffinity":false}}"#
    );
}

#[test]
fn unknown_nested_fields_name_their_path() {
    let mut block = full_block();
    block["spec"]["attributes"][1]["owner"] = json!("x");
    assert_unknown_field(block, "spec.attributes[1].owner");
    let mut handle = doc("IPAMHandle", "h", json!({"handleID": "h", "block": {}}));
    handle["spec"]["blocks"] = json!({});
    assert_unknown_field(handle, "spec.blocks");
}

#[test]
fn block_validation() {
    let decoded = round_trip(&full_block());
    decoded.validate().unwrap();
    let mut block = IPAMBlock::new(
        "b",
        IPAMBlockSpec {
            cidr: "10.0.0.0".into(),
            affinity: Some("node:node1".into()),
            ..Default::default()
        },
    );
    let errs = field_reasons(block.validate());
    assert_has(&errs, "spec.cidr", "must be of type cidr");
    assert_has(
        &errs,
        "spec.affinity",
        "must match '^(host|virtual):[a-zA-Z0-9\\.\\-_]+$'",
    );
    block.spec.cidr = "fd00::/122".into();
    block.spec.affinity = Some("virtual:load-balancer".into());
    block.validate().unwrap();
}

#[test]
fn handle_and_config_round_trip() {
    round_trip(&doc(
        "IPAMHandle",
        "k8s-pod-network.abc",
        json!({"handleID": "k8s-pod-network.ABC", "block": {"10.0.0.0/26": 2}, "deleted": true}),
    ))
    .validate()
    .unwrap();
    round_trip(&doc(
        "IPAMHandle",
        "h",
        json!({"handleID": "", "block": null, "deleted": false}),
    ));
    round_trip(&doc(
        "IPAMConfiguration",
        "default",
        json!({
            "strictAffinity": true,
            "maxBlocksPerHost": 4,
            "autoAllocateBlocks": true,
            "kubeVirtVMAddressPersistence": "Disabled",
            "ipCooldownSeconds": 30
        }),
    ))
    .validate()
    .unwrap();
    round_trip(&doc(
        "IPAMConfiguration",
        "default",
        json!({"strictAffinity": false, "autoAllocateBlocks": false}),
    ));
}

fn affinity(deleted: bool) -> BlockAffinity {
    BlockAffinity::new(
        "node1-10-0-0-0-26",
        BlockAffinitySpec {
            state: "confirmed".into(),
            node: "node1".into(),
            affinity_type: "host".into(),
            cidr: "10.0.0.0/26".into(),
            deleted,
        },
    )
}

#[test]
fn block_affinity_storage_form_uses_a_string() {
    let stored = block_affinity_to_storage_json(&affinity(false)).unwrap();
    assert_eq!(stored["spec"]["deleted"], json!("false"));
    assert_eq!(stored["spec"]["state"], json!("confirmed"));
    assert_eq!(
        block_affinity_from_storage_json(stored).unwrap(),
        affinity(false)
    );

    let stored = block_affinity_to_storage_json(&affinity(true)).unwrap();
    assert_eq!(stored["spec"]["deleted"], json!("true"));
    assert_eq!(
        block_affinity_from_storage_json(stored).unwrap(),
        affinity(true)
    );

    let mut legacy = block_affinity_to_storage_json(&affinity(false)).unwrap();
    legacy["spec"]["deleted"] = json!("");
    assert!(
        !block_affinity_from_storage_json(legacy)
            .unwrap()
            .spec
            .deleted
    );

    let mut broken = block_affinity_to_storage_json(&affinity(false)).unwrap();
    broken["spec"]["deleted"] = json!("maybe");
    match block_affinity_from_storage_json(broken) {
        Err(DecodeError::Field { path, .. }) => assert_eq!(path, "spec.deleted"),
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn ipam_kinds_have_no_defaults() {
    let mut block = IPAMBlock::new("b", IPAMBlockSpec::default());
    block.apply_defaults();
    assert_eq!(block, IPAMBlock::new("b", IPAMBlockSpec::default()));
    let mut config = IPAMConfiguration::new("default", IPAMConfigurationSpec::default());
    config.apply_defaults();
    assert!(!config.spec.auto_allocate_blocks && config.spec.max_blocks_per_host == 0);
    let mut aff = affinity(false);
    aff.spec.affinity_type.clear();
    aff.apply_defaults();
    assert!(aff.spec.affinity_type.is_empty());
}
