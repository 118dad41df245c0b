#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use calico_api::model::{ModelKind, ModelValue};
use proptest::prelude::*;
use std::collections::VecDeque;

const S: u64 = 1_785_578_400_000_000_000;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn pod(name: &str, timestamp: &str) -> BTreeMap<String, String> {
    attrs(&[
        ("namespace", "default"),
        ("node", "node-a"),
        ("pod", name),
        ("timestamp", timestamp),
    ])
}

fn encode(block: &AllocationBlock) -> String {
    String::from_utf8(ModelValue::Block(block.clone()).encode().unwrap()).unwrap()
}

fn none(_: IpAddr) -> bool {
    false
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// The history of the example block in the IPAM notes, replayed step by step (the store bumps
/// the sequence number on every write; that is the caller's part).
#[test]
fn calicos_example_block_comes_out_byte_for_byte() {
    let node = Affinity::host("node-a");
    let mut block = new_block(
        "10.244.0.0/29".parse().unwrap(),
        Some(&node),
        Some(Time::parse("2026-08-01T10:00:00Z").unwrap()),
        S,
        None,
    );
    assert_eq!(
        encode(&block),
        r#"{"cidr":"10.244.0.0/29","affinity":"host:node-a","affinity_claim_time":"2026-08-01T10:00:00Z","allocations":[null,null,null,null,null,null,null,null],"unallocated":[0,1,2,3,4,5,6,7],"attributes":null,"sequenceNumber":1785578400000000000,"sequenceNumberForAllocation":{},"deleted":false}"#
    );
    let web0 = pod("web-0", "2026-08-01 10:00:01.123456789 +0000 UTC");
    let got = auto_assign(
        &mut block,
        1,
        Some("k8s-pod-network.4f1c0d9e"),
        &web0,
        Some(&node),
        &none,
    )
    .unwrap();
    assert_eq!(got, ["10.244.0.0/29".parse::<IpNet>().unwrap()]);
    block.sequence_number += 1;
    let tunnel = attrs(&[("node", "node-a"), ("type", "ipipTunnelAddress")]);
    auto_assign(
        &mut block,
        1,
        Some("ipip-tunnel-addr-node-a"),
        &tunnel,
        None,
        &none,
    )
    .unwrap();
    block.sequence_number += 1;
    let web1 = pod("web-1", "2026-08-01 10:02:00 +0000 UTC");
    auto_assign(
        &mut block,
        1,
        Some("k8s-pod-network.1111"),
        &web1,
        None,
        &none,
    )
    .unwrap();
    block.sequence_number += 1;
    let released = release(
        &mut block,
        &[ReleaseOption::address(ip("10.244.0.2"))],
        0,
        at("2026-08-01T10:02:30.5Z"),
    )
    .unwrap();
    assert_eq!(
        released.count_by_handle,
        BTreeMap::from([("k8s-pod-network.1111".to_string(), 1)])
    );
    block.sequence_number += 1;
    let web2 = pod("web-2", "2026-08-01 10:03:00.5 +0000 UTC");
    auto_assign(
        &mut block,
        1,
        Some("k8s-pod-network.9a8b7c6d"),
        &web2,
        None,
        &none,
    )
    .unwrap();
    block.sequence_number += 1;
    assert_eq!(
        encode(&block),
        r#"{"cidr":"10.244.0.0/29","affinity":"host:node-a","affinity_claim_time":"2026-08-01T10:00:00Z","allocations":[0,1,null,2,null,null,null,null],"unallocated":[4,5,6,7,2],"attributes":[{"handle_id":"k8s-pod-network.4f1c0d9e","secondary":{"namespace":"default","node":"node-a","pod":"web-0","timestamp":"2026-08-01 10:00:01.123456789 +0000 UTC"}},{"handle_id":"ipip-tunnel-addr-node-a","secondary":{"node":"node-a","type":"ipipTunnelAddress"}},{"handle_id":"k8s-pod-network.9a8b7c6d","secondary":{"namespace":"default","node":"node-a","pod":"web-2","timestamp":"2026-08-01 10:03:00.5 +0000 UTC"}}],"sequenceNumber":1785578400000000005,"sequenceNumberForAllocation":{"0":1785578400000000000,"1":1785578400000000001,"3":1785578400000000004},"deleted":false}"#
    );
    validate(&block).unwrap();
}

#[test]
fn releasing_the_last_address_leaves_an_empty_attribute_list_not_null() {
    let mut block = new_block("10.0.0.0/30".parse().unwrap(), None, None, 7, None);
    let one = attrs(&[("node", "n")]);
    let got = auto_assign(&mut block, 2, Some("h"), &one, None, &none).unwrap();
    assert_eq!(got.len(), 2);
    // One request, one shared attribute.
    assert_eq!(block.attributes.as_ref().map(Vec::len), Some(1));
    let out = release(
        &mut block,
        &[
            ReleaseOption::address(ip("10.0.0.1")),
            ReleaseOption::address(ip("10.0.0.0")),
            ReleaseOption::address(ip("10.0.0.3")),
        ],
        0,
        Utc::now(),
    )
    .unwrap();
    assert_eq!(out.unallocated, [ip("10.0.0.3")]);
    assert_eq!(out.released, 2);
    assert!(is_empty(&block));
    assert_eq!(block.attributes, Some(Vec::new()));
    // Released in ordinal order to the tail of the free list.
    assert_eq!(block.unallocated, Some(vec![2, 3, 0, 1]));
    assert_eq!(block.sequence_number_for_allocation, Some(BTreeMap::new()));
}

#[test]
fn a_cooldown_keeps_released_addresses_until_it_passes() {
    let mut block = new_block("10.0.0.0/30".parse().unwrap(), None, None, 1, None);
    auto_assign(&mut block, 1, Some("h"), &BTreeMap::new(), None, &none).unwrap();
    let then = at("2026-08-01T10:00:00Z");
    release(
        &mut block,
        &[ReleaseOption::address(ip("10.0.0.0"))],
        30,
        then,
    )
    .unwrap();
    assert!(!is_empty(&block), "cooling down is not empty");
    assert_eq!(block.unallocated, Some(vec![1, 2, 3]));
    // Released again while cooling down: reported as not allocated.
    let again = release(
        &mut block,
        &[ReleaseOption::address(ip("10.0.0.0"))],
        30,
        then,
    )
    .unwrap();
    assert_eq!(again.unallocated, [ip("10.0.0.0")]);
    assert!(!garbage_collect(&mut block, 30, at("2026-08-01T10:00:29Z")));
    assert!(garbage_collect(&mut block, 30, at("2026-08-01T10:00:31Z")));
    assert_eq!(block.unallocated, Some(vec![1, 2, 3, 0]));
    assert!(is_empty(&block));
}

#[test]
fn strict_affinity_and_assign_errors_are_calicos() {
    let node = Affinity::host("a");
    let mut block = new_block(
        "10.0.0.0/30".parse().unwrap(),
        Some(&Affinity::host("b")),
        None,
        1,
        None,
    );
    let err = auto_assign(&mut block, 1, None, &BTreeMap::new(), Some(&node), &none).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Block affinity (host:b) does not match provided (a:host)"
    );
    let err = assign(
        &mut block,
        ip("10.0.0.1"),
        None,
        &BTreeMap::new(),
        Some(&node),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "Block host affinity does not match");
    let mut unaffine = new_block("10.0.0.0/30".parse().unwrap(), None, None, 1, None);
    let err =
        auto_assign(&mut unaffine, 1, None, &BTreeMap::new(), Some(&node), &none).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Attempt to assign from block 10.0.0.0/30 with no affinity"
    );
    assign(
        &mut unaffine,
        ip("10.0.0.2"),
        Some("h"),
        &BTreeMap::new(),
        None,
    )
    .unwrap();
    assert_eq!(unaffine.unallocated, Some(vec![0, 1, 3]));
    let err = assign(
        &mut unaffine,
        ip("10.0.0.2"),
        Some("h"),
        &BTreeMap::new(),
        None,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "resource already exists: 10.0.0.2 with error: Address already assigned in block"
    );
    let err = assign(&mut unaffine, ip("10.0.1.2"), None, &BTreeMap::new(), None).unwrap_err();
    assert_eq!(err.to_string(), "IP 10.0.1.2 not in block 10.0.0.0/30");
}

#[test]
fn a_wrong_handle_or_sequence_number_fails_the_whole_release() {
    let mut block = new_block("10.0.0.0/30".parse().unwrap(), None, None, 5, None);
    auto_assign(&mut block, 2, Some("h\r\n"), &BTreeMap::new(), None, &none).unwrap();
    let before = block.clone();
    let wrong_handle = ReleaseOption {
        address: ip("10.0.0.1"),
        handle: Some("other".into()),
        sequence_number: None,
    };
    let err = release(
        &mut block,
        &[ReleaseOption::address(ip("10.0.0.0")), wrong_handle],
        0,
        Utc::now(),
    )
    .unwrap_err();
    assert!(matches!(err, BlockError::BadHandle { ref expected, .. } if expected == "h"));
    let wrong_sequence = ReleaseOption {
        address: ip("10.0.0.0"),
        handle: Some("h".into()),
        sequence_number: Some(4),
    };
    let err = release(&mut block, &[wrong_sequence], 0, Utc::now()).unwrap_err();
    assert!(matches!(
        err,
        BlockError::BadSequenceNumber {
            requested: 4,
            expected: 5,
            ..
        }
    ));
    assert_eq!(block, before, "a refused release changes nothing");
    // The sanitised handle matches.
    assert_eq!(ips_by_handle(&block, "h").len(), 2);
    assert_eq!(
        release_by_handle(&mut block, "h", None, 0, Utc::now()).unwrap(),
        2
    );
    assert!(is_empty(&block));
}

#[test]
fn windows_reserved_addresses_are_preallocated_and_do_not_count_as_use() {
    let reserved = HostReserved {
        start_of_block: 3,
        end_of_block: 1,
        handle: WINDOWS_RESERVED_HANDLE.into(),
        note: "windows".into(),
    };
    let block = new_block(
        "10.0.0.0/29".parse().unwrap(),
        None,
        None,
        1,
        Some(&reserved),
    );
    assert_eq!(
        block.allocations,
        Some(vec![
            Some(0),
            Some(0),
            Some(0),
            None,
            None,
            None,
            None,
            Some(0)
        ])
    );
    assert_eq!(block.unallocated, Some(vec![3, 4, 5, 6]));
    assert!(is_empty(&block));
    validate(&block).unwrap();
    assert_eq!(num_free(&block, &|a| a == ip("10.0.0.4")), 3);
}

#[test]
fn reserved_addresses_are_skipped_and_keep_their_place() {
    let mut block = new_block("10.0.0.0/29".parse().unwrap(), None, None, 1, None);
    let reserved = |a: IpAddr| a == ip("10.0.0.0") || a == ip("10.0.0.2");
    let got = auto_assign(&mut block, 2, None, &BTreeMap::new(), None, &reserved).unwrap();
    assert_eq!(
        got,
        [
            "10.0.0.1/29".parse::<IpNet>().unwrap(),
            "10.0.0.3/29".parse().unwrap()
        ]
    );
    assert_eq!(block.unallocated, Some(vec![0, 2, 4, 5, 6, 7]));
}

#[test]
fn malformed_blocks_are_reported_with_ipam_checks_texts() {
    let good = new_block("10.0.0.0/30".parse().unwrap(), None, None, 1, None);
    // (how to break it, `ipam check`'s text, whether changes refuse the block)
    type Case = (Box<dyn Fn(&mut AllocationBlock)>, &'static str, bool);
    let cases: Vec<Case> = vec![
        (
            Box::new(|b| b.allocations = Some(vec![None; 3])),
            "expected 4 allocations in this block, but it has 3",
            true,
        ),
        (
            Box::new(|b| {
                b.allocations = Some(vec![Some(2), None, None, None]);
                b.unallocated = Some(vec![1, 2, 3]);
            }),
            "allocation 0 indexes a nonexistent attribute 2",
            true,
        ),
        (
            Box::new(|b| b.attributes = Some(vec![AllocationAttribute::default()])),
            "attribute index 0 exists but is not indexed by an allocation",
            false,
        ),
        (
            Box::new(|b| b.unallocated = Some(vec![0, 1, 2, 4])),
            "ordinal 4 appears in the Unallocated array but is out of the block",
            true,
        ),
        (
            Box::new(|b| b.unallocated = Some(vec![0, 1, 1, 2])),
            "ordinal 1 appears more than once in Unallocated array",
            true,
        ),
        (
            Box::new(|b| b.unallocated = Some(vec![0, 1, 2])),
            "expected 4 addresses in this block, but Unallocated (3) + Allocated (0) = 3",
            false,
        ),
    ];
    for (corrupt, text, refused) in cases {
        let mut block = good.clone();
        corrupt(&mut block);
        assert_eq!(validate(&block).unwrap_err().to_string(), text);
        let before = block.clone();
        let assigned = auto_assign(&mut block, 1, None, &BTreeMap::new(), None, &none);
        assert_eq!(assigned.is_err(), refused, "{text}");
        if refused {
            assert!(!garbage_collect(&mut block, 0, Utc::now()));
            assert_eq!(block, before, "a malformed block is not changed");
        }
    }
}

/// One step of a random history.
#[derive(Clone, Debug)]
enum Step {
    Assign { num: usize, handle: u8 },
    Release { ordinals: Vec<usize> },
    ReleaseHandle { handle: u8 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1usize..6, 0u8..4).prop_map(|(num, handle)| Step::Assign { num, handle }),
        proptest::collection::vec(0usize..16, 1..5).prop_map(|ordinals| Step::Release { ordinals }),
        (0u8..4).prop_map(|handle| Step::ReleaseHandle { handle }),
    ]
}

proptest! {
    /// Random assign / release / release-by-handle histories on a /28 agree with a small model
    /// (a FIFO free list and an owner per ordinal), and the block stays valid throughout: no
    /// address is handed out twice.
    #[test]
    fn histories_agree_with_a_model(steps in proptest::collection::vec(step(), 1..40)) {
        let mut block = new_block("10.1.0.16/28".parse().unwrap(), None, None, 100, None);
        let mut free: VecDeque<usize> = (0..16).collect();
        let mut owner: Vec<Option<u8>> = vec![None; 16];
        let now = Utc::now();
        for step in steps {
            match step {
                Step::Assign { num, handle } => {
                    let name = format!("h{handle}");
                    let got = auto_assign(&mut block, num, Some(&name), &BTreeMap::new(), None, &none).unwrap();
                    let expected: Vec<usize> = (0..num.min(free.len())).filter_map(|_| free.pop_front()).collect();
                    let got: Vec<usize> = got.iter().map(|n| ip_to_ordinal(&block, n.addr()).unwrap()).collect();
                    prop_assert_eq!(&got, &expected);
                    for o in expected {
                        prop_assert!(owner[o].is_none(), "ordinal {} handed out twice", o);
                        owner[o] = Some(handle);
                    }
                }
                Step::Release { ordinals } => {
                    let options: Vec<ReleaseOption> = ordinals.iter().map(|&o| ReleaseOption::address(ordinal_to_ip(&block, o))).collect();
                    let out = release(&mut block, &options, 0, now).unwrap();
                    let mut released: Vec<usize> = ordinals.iter().copied().filter(|&o| owner[o].is_some()).collect();
                    released.sort_unstable();
                    released.dedup();
                    prop_assert_eq!(out.released, released.len());
                    for o in released {
                        owner[o] = None;
                        free.push_back(o);
                    }
                }
                Step::ReleaseHandle { handle } => {
                    let count = release_by_handle(&mut block, &format!("h{handle}"), None, 0, now).unwrap();
                    let mine: Vec<usize> = (0..16).filter(|&o| owner[o] == Some(handle)).collect();
                    prop_assert_eq!(count, mine.len());
                    for o in mine {
                        owner[o] = None;
                        free.push_back(o);
                    }
                }
            }
            prop_assert!(validate(&block).is_ok(), "{:?}", validate(&block));
            let stored_free: Vec<usize> = block.unallocated.clone().unwrap_or_default().iter().map(|&o| o as usize).collect();
            prop_assert_eq!(stored_free, free.iter().copied().collect::<Vec<_>>());
            for (o, who) in owner.iter().enumerate() {
                let handles = who.map(|h| format!("h{h}"));
                let stored = attribute_of(&block, o).and_then(|a| a.handle_id.clone());
                prop_assert_eq!(stored, handles);
            }
            prop_assert_eq!(is_empty(&block), owner.iter().all(Option::is_none));
            // Stored bytes read back as the same block.
            let bytes = ModelValue::Block(block.clone()).encode().unwrap();
            let ModelValue::Block(back) = ModelValue::decode(ModelKind::Block, &bytes).unwrap() else { unreachable!() };
            prop_assert_eq!(&back, &block);
        }
    }

    /// No block, however broken, makes an operation panic.
    #[test]
    fn no_block_makes_an_operation_panic(
        prefix in 24u8..33,
        allocations in proptest::option::of(proptest::collection::vec(proptest::option::of(-2i64..6), 0..20)),
        unallocated in proptest::option::of(proptest::collection::vec(-2i64..20, 0..20)),
        attributes in 0usize..4,
        released in any::<bool>(),
        ops in proptest::collection::vec(0u8..5, 1..5),
    ) {
        let mut block = new_block(IpNet::new(ip("10.2.0.0"), prefix).unwrap(), None, None, 3, None);
        block.allocations = allocations;
        block.unallocated = unallocated;
        block.attributes = Some((0..attributes).map(|i| AllocationAttribute {
            handle_id: Some(format!("h{i}")),
            released_at: (released && i == 0).then(Time::now),
            ..Default::default()
        }).collect());
        for op in ops {
            let _ = match op {
                0 => auto_assign(&mut block, 3, Some("h0"), &BTreeMap::new(), None, &none).map(|_| ()),
                1 => release(&mut block, &[ReleaseOption::address(ip("10.2.0.1"))], 0, Utc::now()).map(|_| ()),
                2 => release_by_handle(&mut block, "h1", None, -1, Utc::now()).map(|_| ()),
                3 => assign(&mut block, ip("10.2.0.3"), None, &BTreeMap::new(), None),
                _ => { garbage_collect(&mut block, 0, Utc::now()); Ok(()) }
            };
            let _ = (is_empty(&block), in_use(&block), ips_by_handle(&block, "h0"), num_free(&block, &none), validate(&block));
        }
    }
}
