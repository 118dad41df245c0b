#![allow(clippy::unwrap_used)]

use super::*;

fn net(text: &str) -> IpNet {
    text.parse().unwrap()
}

#[test]
fn block_names_are_calicos() {
    assert_eq!(cidr_to_name(&net("10.244.0.0/26")), "10-244-0-0-26");
    assert_eq!(cidr_to_name(&net("fd00:10:244::/122")), "fd00-10-244---122");
    assert_eq!(
        cidr_to_name(&net("2001:db8:0:0:1:0:0:40/122")),
        "2001-db8--1-0-0-40-122"
    );
    // Masked first, as the key is.
    assert_eq!(cidr_to_name(&net("10.244.0.7/26")), "10-244-0-0-26");
}

#[test]
fn affinity_names_and_the_long_host_hash() {
    assert_eq!(
        affinity_name("node-a", &net("10.244.0.0/26")),
        "node-a-10-244-0-0-26"
    );
    let cidr = net("10.244.0.0/26");
    let host = "h".repeat(240);
    let name = affinity_name(&host, &cidr);
    // 252 - len("10-244-0-0-26") - 13 = 226 host characters, then the block and 11 hex digits.
    let digest = Sha256::digest(format!("{host}+10-244-0-0-26").as_bytes());
    let hex = data_encoding::HEXLOWER.encode(&digest);
    assert_eq!(
        name,
        format!("{}-10-244-0-0-26-{}", "h".repeat(226), &hex[..11])
    );
    assert_eq!(name.len(), 252);
    // Just under the limit: kept whole.
    let host = "h".repeat(252 - 14);
    assert_eq!(affinity_name(&host, &cidr).len(), 252);
    let host = "h".repeat(253 - 14);
    assert_eq!(affinity_name(&host, &cidr).len(), 252);
}

#[test]
fn hostname_hash_matches_calicos_golden_value() {
    assert_eq!(
        hostname_hash("node-a"),
        "PY3TQE2E3XMTETLM2MJO3UITKPFB27YUJ4T4E5XGPEJON3SM4QAA"
    );
}

#[test]
fn handles_are_lower_cased_and_keep_their_id() {
    let key = ModelKey::Handle(HandleKey::new("K8s-Pod-Network.ABC"));
    let resource = to_resource(&key, &IPAMHandle::default().into()).unwrap();
    assert_eq!(resource.metadata().name, "k8s-pod-network.abc");
    let (back, _) = from_resource(&resource).unwrap();
    assert_eq!(back, key);
}

#[test]
fn affinities_carry_calicos_labels_and_read_back() {
    let key = ModelKey::BlockAffinity(BlockAffinityKey::new(
        net("fd00::/122"),
        "node-a",
        AffinityType::Virtual,
    ));
    let value: ModelValue = BlockAffinity {
        state: AffinityState::Pending,
        ..Default::default()
    }
    .into();
    let resource = to_resource(&key, &value).unwrap();
    let json = resource.to_json_value().unwrap();
    assert_eq!(
        json["metadata"]["labels"],
        serde_json::json!({
            "projectcalico.org/affinity-type": "virtual",
            "projectcalico.org/hostname-hash": "PY3TQE2E3XMTETLM2MJO3UITKPFB27YUJ4T4E5XGPEJON3SM4QAA",
            "projectcalico.org/ip-version": "6",
        })
    );
    assert_eq!(
        json["spec"],
        serde_json::json!({"state": "pending", "node": "node-a", "type": "virtual",
                           "cidr": "fd00::/122", "deleted": false})
    );
    assert_eq!(from_resource(&resource).unwrap(), (key, value));
}

#[test]
fn blocks_always_have_attributes_and_no_host_affinity() {
    let cidr = net("10.0.0.0/30");
    let key = ModelKey::Block(BlockKey::new(cidr));
    let value: ModelValue = AllocationBlock {
        cidr,
        affinity: None,
        affinity_claim_time: None,
        allocations: Some(vec![None; 4]),
        unallocated: Some(vec![0, 1, 2, 3]),
        attributes: None,
        sequence_number: 1_785_578_400_000_000_000,
        sequence_number_for_allocation: Some(BTreeMap::new()),
        deleted: false,
        host_affinity: Some("old-node".into()),
        unknown: Default::default(),
    }
    .into();
    let resource = to_resource(&key, &value).unwrap();
    let json = resource.to_json_value().unwrap();
    assert_eq!(json["metadata"]["name"], "10-0-0-0-30");
    assert_eq!(json["spec"]["attributes"], serde_json::json!([]));
    assert_eq!(json["spec"]["strictAffinity"], false);
    assert_eq!(
        json["spec"]["sequenceNumber"],
        1_785_578_400_000_000_000_u64
    );
    let (_, back) = from_resource(&resource).unwrap();
    let ModelValue::Block(back) = back else {
        panic!("not a block")
    };
    assert_eq!(back.attributes, Some(Vec::new()));
    assert_eq!(back.host_affinity, None);
}

#[test]
fn the_config_is_named_default() {
    let value: ModelValue = IPAMConfig {
        strict_affinity: true,
        max_blocks_per_host: 4,
        ..Default::default()
    }
    .into();
    let resource = to_resource(&ModelKey::Config, &value).unwrap();
    assert_eq!(resource.metadata().name, "default");
    assert_eq!(resource.kind(), "IPAMConfiguration");
    assert_eq!(from_resource(&resource).unwrap(), (ModelKey::Config, value));
}

#[test]
fn values_must_match_their_keys() {
    let key = ModelKey::Config;
    assert!(matches!(
        to_resource(&key, &IPAMHandle::default().into()),
        Err(DatastoreError::Validation(_))
    ));
}

#[test]
fn affinity_selectors_are_calicos() {
    assert_eq!(
        affinity_selector(AffinityType::Host, Some("node-a"), Some(IpVersion::V4)),
        "projectcalico.org/hostname-hash=PY3TQE2E3XMTETLM2MJO3UITKPFB27YUJ4T4E5XGPEJON3SM4QAA,\
         projectcalico.org/affinity-type=host,projectcalico.org/ip-version=4"
    );
    assert_eq!(
        affinity_selector(AffinityType::Virtual, None, None),
        "projectcalico.org/affinity-type=virtual"
    );
}
