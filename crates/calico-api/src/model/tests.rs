use std::collections::BTreeMap;

use ipnet::IpNet;
use proptest::prelude::*;

use super::*;
use crate::meta::Time;

fn net(text: &str) -> IpNet {
    text.parse().unwrap()
}

fn round_trip(kind: ModelKind, stored: &str) -> ModelValue {
    let value = ModelValue::decode(kind, stored.as_bytes()).unwrap();
    assert_eq!(
        String::from_utf8(value.encode().unwrap()).unwrap(),
        stored,
        "bytes changed on a read-modify-write"
    );
    value
}

// Values below were written by Calico's own CNI plugin (calico-ipam) and calicoctl on a local
// etcd: two pods on node-a, a /29 IPv4 pool and a /122 IPv6 pool, strict affinity on.
const CALICO_V4_BLOCK: &str = r#"{"cidr":"10.244.165.136/29","affinity":"host:node-a","affinity_claim_time":"2026-12-05T21:53:49Z","allocations":[0,1,null,null,null,null,null,null],"unallocated":[2,3,4,5,6,7],"attributes":[{"handle_id":"k8s-pod-network.4f1c0d9e","secondary":{"namespace":"default","node":"node-a","pod":"web-0","timestamp":"2026-12-05 21:53:49.319541437 +0000 UTC"}},{"handle_id":"k8s-pod-network.9a8b","secondary":{"namespace":"default","node":"node-a","pod":"web-\u003c1\u003e\u0026","timestamp":"2026-12-05 21:53:49.428341624 +0000 UTC"}}],"sequenceNumber":1796507629334448043,"sequenceNumberForAllocation":{"0":1796507629334448041,"1":1796507629334448042},"deleted":false}"#;
const CALICO_HANDLE: &str = r#"{"block":{"10.244.165.136/29":1,"fd00:10:244:0:defe:d3d7:156e:ae80/122":1},"deleted":false}"#;
const CALICO_AFFINITY: &str = r#"{"state":"confirmed","deleted":false}"#;
const CALICO_CONFIG: &str = r#"{"strict_affinity":true,"auto_allocate_blocks":true,"kubeVirtVMAddressPersistence":"Enabled"}"#;

fn calico_v6_block() -> String {
    let nulls = vec!["null"; 62].join(",");
    let free: Vec<String> = (2..64).map(|i| i.to_string()).collect();
    format!(
        r#"{{"cidr":"fd00:10:244:0:defe:d3d7:156e:ae80/122","affinity":"host:node-a","affinity_claim_time":"2026-12-05T21:53:49Z","allocations":[0,1,{nulls}],"unallocated":[{}],"attributes":[{{"handle_id":"k8s-pod-network.4f1c0d9e","secondary":{{"namespace":"default","node":"node-a","pod":"web-0","timestamp":"2026-12-05 21:53:49.319541437 +0000 UTC"}}}}],"sequenceNumber":1796507629348723482,"sequenceNumberForAllocation":{{"0":1796507629348723480,"1":1796507629348723481}},"deleted":false}}"#,
        free.join(",")
    )
}

#[test]
fn calico_written_values_read_back_and_write_the_same_bytes() {
    let ModelValue::Block(block) = round_trip(ModelKind::Block, CALICO_V4_BLOCK) else {
        panic!("not a block");
    };
    assert_eq!(block.cidr, net("10.244.165.136/29"));
    assert_eq!(block.affinity.as_deref(), Some("host:node-a"));
    assert_eq!(block.sequence_number, 1_796_507_629_334_448_043);
    assert!(block.sequence_number > 1 << 53);
    let attributes = block.attributes.unwrap();
    assert_eq!(attributes[1].secondary["pod"], "web-<1>&");
    assert_eq!(
        block.allocations.unwrap()[..3],
        [Some(0), Some(1), None],
        "null entries are free addresses"
    );
    round_trip(ModelKind::Block, &calico_v6_block());

    let ModelValue::Handle(handle) = round_trip(ModelKind::Handle, CALICO_HANDLE) else {
        panic!("not a handle");
    };
    assert_eq!(handle.block.unwrap()["10.244.165.136/29"], 1);
    let ModelValue::BlockAffinity(affinity) = round_trip(ModelKind::BlockAffinity, CALICO_AFFINITY)
    else {
        panic!("not an affinity");
    };
    assert_eq!(affinity.state, AffinityState::Confirmed);
    let ModelValue::Config(config) = round_trip(ModelKind::Config, CALICO_CONFIG) else {
        panic!("not a config");
    };
    assert!(config.strict_affinity && config.auto_allocate_blocks);
    assert_eq!(config.max_blocks_per_host, 0);
}

#[test]
fn the_reference_examples_round_trip() {
    // ipam.md §1.2: a used /29 with a released ordinal and a fresh block.
    round_trip(
        ModelKind::Block,
        r#"{"cidr":"10.244.0.0/29","affinity":"host:node-a","affinity_claim_time":"2026-08-01T10:00:00Z","allocations":[0,1,null,2,null,null,null,null],"unallocated":[4,5,6,7,2],"attributes":[{"handle_id":"k8s-pod-network.4f1c0d9e","secondary":{"namespace":"default","node":"node-a","pod":"web-0","timestamp":"2026-08-01 10:00:01.123456789 +0000 UTC"}},{"handle_id":"ipip-tunnel-addr-node-a","secondary":{"node":"node-a","type":"ipipTunnelAddress"}},{"handle_id":"k8s-pod-network.9a8b7c6d","secondary":{"namespace":"default","node":"node-a","pod":"web-2","timestamp":"2026-08-01 10:03:00.5 +0000 UTC"}}],"sequenceNumber":1785578400000000005,"sequenceNumberForAllocation":{"0":1785578400000000000,"1":1785578400000000001,"3":1785578400000000004},"deleted":false}"#,
    );
    round_trip(
        ModelKind::Block,
        r#"{"cidr":"10.244.0.8/29","affinity":"host:node-a","affinity_claim_time":"2026-08-01T10:00:00Z","allocations":[null,null,null,null,null,null,null,null],"unallocated":[0,1,2,3,4,5,6,7],"attributes":null,"sequenceNumber":1785578400000000000,"sequenceNumberForAllocation":{},"deleted":false}"#,
    );
    // A legacy block: host affinity, no claim time, attributes with a released marker.
    round_trip(
        ModelKind::Block,
        r#"{"cidr":"fd00::/126","affinity":null,"allocations":[0,null,null,null],"unallocated":[1,2,3],"attributes":[{"handle_id":"","alternateOwnerAttrs":{"pod":"b"},"releasedAt":"2026-01-01T00:00:00Z"}],"sequenceNumber":18446744073709551615,"sequenceNumberForAllocation":null,"deleted":false,"hostAffinity":"node-b"}"#,
    );
}

#[test]
fn a_fresh_unaffine_block_is_written_as_go_writes_it() {
    let block = AllocationBlock {
        cidr: net("10.0.0.0/30"),
        affinity: None,
        affinity_claim_time: None,
        allocations: Some(vec![None; 4]),
        unallocated: Some(vec![0, 1, 2, 3]),
        attributes: None,
        sequence_number: 9_007_199_254_740_993,
        sequence_number_for_allocation: Some(BTreeMap::new()),
        deleted: false,
        host_affinity: None,
        unknown: Default::default(),
    };
    assert_eq!(
        String::from_utf8(ModelValue::Block(block).encode().unwrap()).unwrap(),
        r#"{"cidr":"10.0.0.0/30","affinity":null,"allocations":[null,null,null,null],"unallocated":[0,1,2,3],"attributes":null,"sequenceNumber":9007199254740993,"sequenceNumberForAllocation":{},"deleted":false}"#
    );
}

#[test]
fn go_map_key_order_and_claim_time_seconds() {
    let mut seqs = BTreeMap::new();
    for ordinal in [0u64, 1, 2, 10, 11] {
        seqs.insert(ordinal.to_string(), 100 + ordinal);
    }
    let block = AllocationBlock {
        cidr: net("10.0.0.0/28"),
        affinity: Some("virtual:load-balancer".into()),
        affinity_claim_time: Some(Time::parse("2026-01-02T03:04:05.999+02:00").unwrap()),
        allocations: Some(vec![]),
        unallocated: Some(vec![]),
        attributes: Some(vec![]),
        sequence_number: 1,
        sequence_number_for_allocation: Some(seqs),
        deleted: true,
        host_affinity: None,
        unknown: Default::default(),
    };
    assert_eq!(
        String::from_utf8(ModelValue::Block(block).encode().unwrap()).unwrap(),
        r#"{"cidr":"10.0.0.0/28","affinity":"virtual:load-balancer","affinity_claim_time":"2026-01-02T01:04:05Z","allocations":[],"unallocated":[],"attributes":[],"sequenceNumber":1,"sequenceNumberForAllocation":{"0":100,"1":101,"10":110,"11":111,"2":102},"deleted":true}"#
    );
}

#[test]
fn affinities_handles_and_config_are_written_as_go_writes_them() {
    let encode = |value: ModelValue| String::from_utf8(value.encode().unwrap()).unwrap();
    assert_eq!(
        encode(
            BlockAffinity {
                state: AffinityState::PendingDeletion,
                ..Default::default()
            }
            .into()
        ),
        r#"{"state":"pendingDeletion","deleted":false}"#
    );
    // Old releases stored nothing: read as `{}`, state "" (treated as confirmed by IPAM).
    let ModelValue::BlockAffinity(empty) =
        ModelValue::decode(ModelKind::BlockAffinity, b"").unwrap()
    else {
        panic!("not an affinity");
    };
    assert_eq!(empty.state, AffinityState::Unset);
    assert_eq!(encode(empty.into()), r#"{"state":"","deleted":false}"#);
    assert_eq!(
        encode(IPAMHandle::default().into()),
        r#"{"block":null,"deleted":false}"#
    );
    assert_eq!(encode(IPAMConfig::default().into()), "{}");
    assert_eq!(
        encode(
            IPAMConfig {
                strict_affinity: true,
                max_blocks_per_host: 4,
                kube_virt_vm_address_persistence: Some("Enabled".into()),
                ip_cooldown_seconds: 30,
                ..Default::default()
            }
            .into()
        ),
        r#"{"strict_affinity":true,"maxBlocksPerHost":4,"kubeVirtVMAddressPersistence":"Enabled","ipCooldownSeconds":30}"#
    );
}

#[test]
fn unknown_members_from_a_newer_calico_are_written_back() {
    let stored = r#"{"cidr":"10.0.0.0/31","affinity":null,"allocations":[0,null],"unallocated":[1],"attributes":[{"handle_id":"h","secondary":{"node":"n"},"futureAttr":{"a":"\u003c","b":1}}],"sequenceNumber":3,"sequenceNumberForAllocation":{"0":3},"deleted":false,"futureTop":[1,2]}"#;
    let ModelValue::Block(mut block) = round_trip(ModelKind::Block, stored) else {
        panic!("not a block");
    };
    assert_eq!(block.unknown.members().len(), 2);
    block.sequence_number = 4;
    let written = String::from_utf8(ModelValue::Block(block).encode().unwrap()).unwrap();
    assert_eq!(
        written,
        stored.replace(r#""sequenceNumber":3"#, r#""sequenceNumber":4"#)
    );
    round_trip(
        ModelKind::Config,
        r#"{"strict_affinity":true,"somethingNew":"x"}"#,
    );
    round_trip(
        ModelKind::BlockAffinity,
        r#"{"state":"confirmed","deleted":false,"claimedBy":"x"}"#,
    );
}

#[test]
fn go_decoding_rules_apply() {
    // Case-insensitive names and null as the zero value, as json.Unmarshal reads them.
    let ModelValue::Config(config) = ModelValue::decode(
        ModelKind::Config,
        br#"{"Strict_Affinity":true,"maxblocksperhost":null}"#,
    )
    .unwrap() else {
        panic!("not a config");
    };
    assert!(config.strict_affinity);
    // A bare address is a host network, as Calico's ParseCIDROrIP reads it.
    let ModelValue::Block(block) =
        ModelValue::decode(ModelKind::Block, br#"{"cidr":"10.1.2.3"}"#).unwrap()
    else {
        panic!("not a block");
    };
    assert_eq!(block.cidr, net("10.1.2.3/32"));
    assert_eq!(block.allocations, None);
}

#[test]
fn malformed_values_are_errors_not_panics() {
    for (kind, bytes) in [
        (ModelKind::Block, "not json"),
        (ModelKind::Block, ""),
        (ModelKind::Block, r#"{"cidr":"10.0.0.0/33"}"#),
        (
            ModelKind::Block,
            r#"{"cidr":"10.0.0.0/24","sequenceNumber":"1"}"#,
        ),
        (
            ModelKind::Block,
            r#"{"cidr":"10.0.0.0/24","sequenceNumber":-1}"#,
        ),
        (
            ModelKind::Block,
            r#"{"cidr":"10.0.0.0/24","allocations":["a"]}"#,
        ),
        (ModelKind::Block, "[]"),
        (ModelKind::Handle, r#"{"block":{"x":"1"}}"#),
        (ModelKind::BlockAffinity, r#"{"state":7}"#),
        (ModelKind::Config, r#"{"maxBlocksPerHost":1.5}"#),
    ] {
        assert!(
            ModelValue::decode(kind, bytes.as_bytes()).is_err(),
            "{kind:?} {bytes} was accepted"
        );
    }
    let err = ModelValue::decode(
        ModelKind::Block,
        br#"{"cidr":"10.0.0.0/24","sequenceNumber":"1"}"#,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("sequenceNumber"),
        "error does not name the field: {err}"
    );
}

#[test]
fn keys_have_calicos_paths_and_names() {
    let block = ModelKey::Block(BlockKey::new(net("10.0.0.5/26")));
    assert_eq!(
        block.default_path(),
        "/calico/ipam/v2/assignment/ipv4/block/10.0.0.0-26"
    );
    assert_eq!(block.to_string(), "BlockKey(cidr=10.0.0.0/26)");
    let v6 = ModelKey::Block(BlockKey::new(net("fd00:10:244:0:defe:d3d7:156e:ae80/122")));
    assert_eq!(
        v6.default_path(),
        "/calico/ipam/v2/assignment/ipv6/block/fd00:10:244:0:defe:d3d7:156e:ae80-122"
    );
    assert_eq!(
        ModelKey::Block(BlockKey::new(net("fd00::/122"))).default_path(),
        "/calico/ipam/v2/assignment/ipv6/block/fd00::-122"
    );
    let affinity = ModelKey::BlockAffinity(BlockAffinityKey::new(
        net("fd00:10:244:0:defe:d3d7:156e:ae80/122"),
        "node-a",
        AffinityType::Host,
    ));
    assert_eq!(
        affinity.default_path(),
        "/calico/ipam/v2/host/node-a/ipv6/block/fd00:10:244:0:defe:d3d7:156e:ae80-122"
    );
    assert_eq!(
        affinity.to_string(),
        "BlockAffinityKey(cidr=fd00:10:244:0:defe:d3d7:156e:ae80/122, host=node-a, affinityType=host)"
    );
    let virtual_key = ModelKey::BlockAffinity(BlockAffinityKey::new(
        net("10.0.0.0/26"),
        "load-balancer",
        AffinityType::Virtual,
    ));
    assert_eq!(
        virtual_key.default_path(),
        "/calico/ipam/v2/virtual/load-balancer/ipv4/block/10.0.0.0-26"
    );
    let handle = ModelKey::Handle(HandleKey::new("k8s-pod-network.4f1c0d9e"));
    assert_eq!(
        handle.default_path(),
        "/calico/ipam/v2/handle/k8s-pod-network.4f1c0d9e"
    );
    assert_eq!(
        handle.to_string(),
        "IPAMHandleKey(id=k8s-pod-network.4f1c0d9e)"
    );
    assert_eq!(ModelKey::Config.default_path(), "/calico/ipam/v2/config");
    assert_eq!(ModelKey::Config.to_string(), "IPAMConfigKey()");
    for key in [block, v6, affinity, virtual_key, handle, ModelKey::Config] {
        assert_eq!(ModelKey::from_path(&key.default_path()), Some(key));
    }
}

#[test]
fn key_parsing_follows_calicos_patterns() {
    let parse = ModelKey::from_path;
    // The leading slash is optional, the CIDR is masked, `ipv.` is not checked against it.
    assert_eq!(
        parse("calico/ipam/v2/assignment/ipv6/block/10.0.0.1-26"),
        Some(ModelKey::Block(BlockKey::new(net("10.0.0.0/26"))))
    );
    assert_eq!(
        parse("/calico/ipam/v2/@/h/ipvX/block/10.0.0.0-26"),
        Some(ModelKey::BlockAffinity(BlockAffinityKey::new(
            net("10.0.0.0/26"),
            "h",
            AffinityType::At
        )))
    );
    for bad in [
        "",
        "/",
        "/calico/ipam/v2/assignment/ipv4/block/",
        "/calico/ipam/v2/assignment/ipv4/block/10.0.0.0-33",
        "/calico/ipam/v2/assignment/ipv4/block/10.0.0.0-026",
        "/calico/ipam/v2/assignment/ipv4/block/10.0.0.0-+6",
        "/calico/ipam/v2/assignment/ipv4/block/010.0.0.0-26",
        "/calico/ipam/v2/assignment/ipv4/block/fe80::1%eth0-64",
        "/calico/ipam/v2/assignment/ipv44/block/10.0.0.0-26",
        "/calico/ipam/v2/assignment/ipv\n/block/10.0.0.0-26",
        "/calico/ipam/v2/assignment/ipv4/block/10.0.0.0-26/x",
        "/calico/ipam/v2/other/h/ipv4/block/10.0.0.0-26",
        "/calico/ipam/v2/host//ipv4/block/10.0.0.0-26",
        "/calico/ipam/v2/host/node-a",
        "/calico/ipam/v2/handle/",
        "/calico/ipam/v2/handle/a/b",
        "/calico/ipam/v2/config/x",
        "/calico/resources/v3/projectcalico.org/ipamblocks/10-0-0-0-26",
    ] {
        assert_eq!(parse(bad), None, "{bad:?} parsed");
    }
}

#[test]
fn list_options_select_their_keys() {
    let host = ModelListOptions::affinities_of("node-a", None);
    assert_eq!(host.path_prefix(), "/calico/ipam/v2/host/node-a");
    // The prefix also reaches node-ab: the key filter leaves it out.
    assert!(host
        .key_from_path("/calico/ipam/v2/host/node-ab/ipv4/block/10.0.0.0-26")
        .is_none());
    assert!(host
        .key_from_path("/calico/ipam/v2/host/node-a/ipv4/block/10.0.0.0-26")
        .is_some());
    let v6 = ModelListOptions::affinities_of("node-a", Some(IpVersion::V6));
    assert_eq!(v6.path_prefix(), "/calico/ipam/v2/host/node-a/ipv6/block");
    assert!(v6
        .key_from_path("/calico/ipam/v2/host/node-a/ipv4/block/10.0.0.0-26")
        .is_none());
    assert_eq!(
        ModelListOptions::all_affinities().path_prefix(),
        "/calico/ipam/v2/host/"
    );
    assert_eq!(
        ModelListOptions::all_blocks().path_prefix(),
        "/calico/ipam/v2/assignment/"
    );
    assert_eq!(
        ModelListOptions::Blocks {
            ip_version: Some(IpVersion::V4)
        }
        .path_prefix(),
        "/calico/ipam/v2/assignment/ipv4/"
    );
    assert_eq!(
        ModelListOptions::Handles.path_prefix(),
        "/calico/ipam/v2/handle/"
    );
    assert!(ModelListOptions::Handles
        .key_from_path("/calico/ipam/v2/config")
        .is_none());
}

fn any_cidr() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<u32>(), 0u8..=32).prop_map(|(a, len)| IpNet::new(
            std::net::Ipv4Addr::from(a).into(),
            len
        )
        .unwrap()),
        (any::<u128>(), 0u8..=128).prop_map(|(a, len)| IpNet::new(
            std::net::Ipv6Addr::from(a).into(),
            len
        )
        .unwrap()),
    ]
}

fn any_key() -> impl Strategy<Value = ModelKey> {
    let segment = "[^/]{1,20}";
    prop_oneof![
        any_cidr().prop_map(|c| ModelKey::Block(BlockKey::new(c))),
        (
            any_cidr(),
            segment,
            prop_oneof![
                Just(AffinityType::Host),
                Just(AffinityType::Virtual),
                Just(AffinityType::At)
            ]
        )
            .prop_map(|(c, h, t)| ModelKey::BlockAffinity(BlockAffinityKey::new(c, h, t))),
        segment.prop_map(|id| ModelKey::Handle(HandleKey::new(id))),
        Just(ModelKey::Config),
    ]
}

fn any_map<V: Strategy>(values: V) -> impl Strategy<Value = BTreeMap<String, V::Value>>
where
    V::Value: std::fmt::Debug,
{
    proptest::collection::btree_map("[a-z0-9<>&\u{2028}\"\\\\ -]{0,8}", values, 0..4)
}

fn any_block() -> impl Strategy<Value = AllocationBlock> {
    let attribute = (
        proptest::option::of(".{0,12}"),
        any_map(".{0,12}"),
        any_map("[a-z]{0,4}"),
        proptest::option::of(0i64..4_000_000_000),
    )
        .prop_map(
            |(handle_id, secondary, alternate, released)| AllocationAttribute {
                handle_id,
                secondary,
                alternate_owner_attrs: alternate,
                released_at: released
                    .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                    .map(Time::from_datetime),
            },
        );
    (
        any_cidr(),
        proptest::option::of("(host|virtual):[a-z0-9.-]{1,10}"),
        proptest::option::of(proptest::collection::vec(
            proptest::option::of(any::<i64>()),
            0..16,
        )),
        proptest::option::of(proptest::collection::vec(any::<i64>(), 0..16)),
        proptest::option::of(proptest::collection::vec(attribute, 0..4)),
        any::<u64>(),
        proptest::option::of(any_map(any::<u64>())),
        any::<bool>(),
        proptest::option::of("[a-z]{0,6}"),
        proptest::option::of(0i64..4_000_000_000),
    )
        .prop_map(
            |(
                cidr,
                affinity,
                allocations,
                unallocated,
                attributes,
                seq,
                seqs,
                deleted,
                host,
                claim,
            )| {
                AllocationBlock {
                    cidr,
                    affinity,
                    affinity_claim_time: claim
                        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                        .map(Time::from_datetime),
                    allocations,
                    unallocated,
                    attributes,
                    sequence_number: seq,
                    sequence_number_for_allocation: seqs,
                    deleted,
                    host_affinity: host,
                    unknown: Default::default(),
                }
            },
        )
}

proptest! {
    #[test]
    fn keys_round_trip_through_their_paths(key in any_key()) {
        prop_assert_eq!(ModelKey::from_path(&key.default_path()), Some(key));
    }

    #[test]
    fn key_parsing_never_panics(path in ".{0,60}", tail in "[-0-9a-f:./@]{0,40}") {
        let _ = ModelKey::from_path(&path);
        for root in [
            "/calico/ipam/v2/assignment/ipv4/block/",
            "/calico/ipam/v2/host/n/ipv6/block/",
            "/calico/ipam/v2/handle/",
            "/calico/ipam/v2/",
        ] {
            let path = format!("{root}{tail}");
            if let Some(key) = ModelKey::from_path(&path) {
                // What parses formats to a key that parses to itself.
                prop_assert_eq!(ModelKey::from_path(&key.default_path()), Some(key));
            }
        }
    }

    #[test]
    fn blocks_round_trip_exactly(block in any_block()) {
        let value = ModelValue::Block(block);
        let bytes = value.encode().unwrap();
        let decoded = ModelValue::decode(ModelKind::Block, &bytes).unwrap();
        prop_assert_eq!(&decoded, &value);
        prop_assert_eq!(decoded.encode().unwrap(), bytes);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        for kind in [ModelKind::Block, ModelKind::BlockAffinity, ModelKind::Handle, ModelKind::Config] {
            let _ = ModelValue::decode(kind, &bytes);
        }
    }
}
