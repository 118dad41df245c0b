use std::collections::BTreeSet;
use std::sync::Arc;

use calico_api::decode_value;
use calico_datastore::{EmbeddedStore, KvBackend};
use proptest::prelude::*;
use serde_json::json;

use super::*;

fn client(dir: &tempfile::TempDir) -> Client {
    let store = EmbeddedStore::open(dir.path().join("calico.db")).unwrap();
    Client::new(Arc::new(KvBackend::new(store)))
}

fn net(text: &str) -> IpNet {
    text.parse().unwrap()
}

async fn pool(client: &Client, name: &str, cidr: &str, block_size: u8) {
    client
        .create(
            decode_value(json!({
                "apiVersion": "projectcalico.org/v3",
                "kind": "IPPool",
                "metadata": {"name": name},
                "spec": {"cidr": cidr, "blockSize": block_size, "ipipMode": "Never", "vxlanMode": "Never"},
            }))
            .unwrap(),
        )
        .await
        .unwrap();
}

async fn node(client: &Client, name: &str) {
    client
        .create(
            decode_value(json!({
                "apiVersion": "projectcalico.org/v3",
                "kind": "Node",
                "metadata": {"name": name},
                "spec": {},
            }))
            .unwrap(),
        )
        .await
        .unwrap();
}

async fn set_config(client: &Client, config: IPAMConfig) {
    client
        .backend()
        .apply_model(ModelKey::Config, ModelValue::Config(config))
        .await
        .unwrap();
}

/// No handle left, no address allocated.
async fn assert_all_released(client: &Client) {
    assert!(stored_handles(client).await.is_empty());
    for b in stored_blocks(client).await {
        assert!(
            block::in_use(&b).is_empty(),
            "{} still has addresses",
            b.cidr
        );
    }
}

/// An embedded store holding pool `p1` (`cidr`, `block_size`) and node `node-a`.
async fn with_pool(cidr: &str, block_size: u8) -> (tempfile::TempDir, Client) {
    let dir = tempfile::tempdir().unwrap();
    let client = client(&dir);
    pool(&client, "p1", cidr, block_size).await;
    node(&client, "node-a").await;
    (dir, client)
}

fn args(host: &str, handle: &str, num4: usize) -> AutoAssignArgs {
    let mut args = AutoAssignArgs::workload(host, Some(handle.to_string()));
    args.num4 = num4;
    args
}

async fn stored_blocks(client: &Client) -> Vec<AllocationBlock> {
    client
        .backend()
        .list_model(&ModelListOptions::all_blocks())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|kv| match kv.value {
            ModelValue::Block(b) => Some(b),
            _ => None,
        })
        .collect()
}

async fn stored_handles(client: &Client) -> BTreeMap<String, BTreeMap<String, i64>> {
    client
        .backend()
        .list_model(&ModelListOptions::Handles)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|kv| match (kv.key, kv.value) {
            (ModelKey::Handle(key), ModelValue::Handle(h)) => {
                Some((key.handle_id.clone(), h.block.unwrap_or_default()))
            }
            _ => None,
        })
        .collect()
}

/// The invariants of Calico's IPAM over what is stored: no address allocated twice (blocks
/// do not overlap), and every handle's per-block counts equal its allocations in the blocks.
async fn assert_consistent(client: &Client) {
    let blocks = stored_blocks(client).await;
    let mut seen = BTreeSet::new();
    let mut counted: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for b in &blocks {
        assert!(seen.insert(b.cidr), "block {} stored twice", b.cidr);
        block::validate(b).unwrap();
        for ordinal in 0..b.allocations.as_ref().map_or(0, Vec::len) {
            let Some(index) = b.allocations.as_ref().unwrap()[ordinal] else {
                continue;
            };
            let attribute = &b.attributes.as_ref().unwrap()[index as usize];
            if let Some(handle) = &attribute.handle_id {
                *counted
                    .entry(handle.clone())
                    .or_default()
                    .entry(b.cidr.to_string())
                    .or_default() += 1;
            }
        }
    }
    assert_eq!(stored_handles(client).await, counted);
}

#[tokio::test]
async fn a_first_allocation_claims_the_hosts_block_and_later_ones_use_it() {
    let (_dir, client) = with_pool("10.0.0.0/24", 26).await;
    let ipam = Ipam::new(client.clone());

    let outcome = ipam.auto_assign(args("node-a", "h1", 1)).await.unwrap();
    let v4 = outcome.v4.clone().unwrap();
    assert_eq!(v4.ips.len(), 1);
    assert!(outcome.v6.is_none());
    assert_eq!(v4.partial_fulfillment_error(), None);
    // The block Calico's walk gives node-a first.
    let pool_kv = pools(&client).await.unwrap();
    let first = BlockWalk::for_host(&pool_kv[0], "node-a").next().unwrap();
    assert_eq!(v4.ips[0].prefix_len(), 26);
    assert!(first.contains(&v4.ips[0].addr()));
    assert_eq!(
        v4.ips[0].addr(),
        first.network(),
        "the head of the free list"
    );

    let blocks = stored_blocks(&client).await;
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].affinity.as_deref(), Some("host:node-a"));
    let affinity = client
        .backend()
        .get_model(&ModelKey::BlockAffinity(BlockAffinityKey::new(
            first,
            "node-a",
            AffinityType::Host,
        )))
        .await
        .unwrap();
    assert!(matches!(
        affinity.value,
        ModelValue::BlockAffinity(ref a) if a.state == AffinityState::Confirmed
    ));

    for i in 2..=5 {
        ipam.auto_assign(args("node-a", &format!("h{i}"), 1))
            .await
            .unwrap();
    }
    let more = ipam.auto_assign(args("node-a", "h1", 2)).await.unwrap();
    assert_eq!(more.ips().len(), 2);
    assert_eq!(stored_blocks(&client).await.len(), 1);
    let mut mine = ipam.ips_by_handle("h1").await.unwrap();
    mine.sort();
    assert_eq!(mine.len(), 3);
    assert_eq!(stored_handles(&client).await["h1"][&first.to_string()], 3);
    assert_consistent(&client).await;

    ipam.release_by_handle("h1").await.unwrap();
    assert!(!stored_handles(&client).await.contains_key("h1"));
    assert!(ipam.ips_by_handle("h1").await.unwrap_err().is_not_found());
    assert!(ipam
        .release_by_handle("h1")
        .await
        .unwrap_err()
        .is_not_found());
    assert_consistent(&client).await;
    // The released addresses go to the tail of the free list: the next allocation takes the
    // next never-used address.
    let next = ipam.auto_assign(args("node-a", "h9", 1)).await.unwrap();
    assert_eq!(
        next.ips()[0].addr(),
        block::ordinal_to_ip(&stored_blocks(&client).await[0], 7)
    );
}

#[tokio::test]
async fn an_unknown_node_or_no_pool_fails_with_calicos_words() {
    let dir = tempfile::tempdir().unwrap();
    let client = client(&dir);
    let ipam = Ipam::new(client.clone());
    node(&client, "node-a").await;
    let err = ipam.auto_assign(args("node-a", "h1", 1)).await.unwrap_err();
    assert_eq!(err.to_string(), "cannot find a qualified ippool");
    pool(&client, "p1", "10.0.0.0/24", 26).await;
    let err = ipam.auto_assign(args("node-x", "h1", 1)).await.unwrap_err();
    assert!(err.cause.is_not_found(), "{err}");
    let mut v6 = args("node-a", "h1", 0);
    v6.num6 = 1;
    let err = ipam.auto_assign(v6).await.unwrap_err();
    assert_eq!(err.to_string(), "cannot find a qualified ippool");
    assert!(stored_blocks(&client).await.is_empty());
}

#[tokio::test]
async fn the_block_limit_stops_a_host_without_borrowing() {
    let (_dir, client) = with_pool("10.0.0.0/28", 30).await;
    let ipam = Ipam::new(client.clone());
    let mut request = args("node-a", "h1", 4);
    request.max_blocks_per_host = 1;
    assert_eq!(
        ipam.auto_assign(request.clone()).await.unwrap().ips().len(),
        4
    );
    request.handle = Some("h2".into());
    request.num4 = 1;
    let err = ipam.auto_assign(request).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot allocate new block due to per host block limit"
    );
    let v4 = err.partial.v4.unwrap();
    assert_eq!(
        v4.partial_fulfillment_error().unwrap(),
        "Assigned 0 out of 1 requested IPv4 addresses; Need to allocate an IPAM block but could not - limit of 1 blocks reached for this node"
    );
    assert_eq!(stored_blocks(&client).await.len(), 1);
    assert_consistent(&client).await;
}

#[tokio::test]
async fn a_host_borrows_from_another_hosts_block_unless_affinity_is_strict() {
    let (_dir, client) = with_pool("10.0.0.0/30", 30).await;
    node(&client, "node-b").await;
    let ipam = Ipam::new(client.clone());
    ipam.auto_assign(args("node-a", "a1", 2)).await.unwrap();

    set_config(
        &client,
        IPAMConfig {
            strict_affinity: true,
            auto_allocate_blocks: true,
            ..IPAMConfig::default()
        },
    )
    .await;
    let strict = ipam.auto_assign(args("node-b", "b1", 1)).await.unwrap();
    assert_eq!(
        strict.v4.unwrap().partial_fulfillment_error().unwrap(),
        "Assigned 0 out of 1 requested IPv4 addresses; No more free affine blocks and strict affinity enabled"
    );

    set_config(
        &client,
        IPAMConfig {
            auto_allocate_blocks: true,
            ..IPAMConfig::default()
        },
    )
    .await;
    let borrowed = ipam.auto_assign(args("node-b", "b1", 3)).await.unwrap();
    let v4 = borrowed.v4.unwrap();
    assert_eq!(v4.ips.len(), 2);
    assert_eq!(
        v4.partial_fulfillment_error().unwrap(),
        "Assigned 2 out of 3 requested IPv4 addresses; No IPs available in pools: [10.0.0.0/30]"
    );
    let blocks = stored_blocks(&client).await;
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].affinity.as_deref(), Some("host:node-a"));
    assert_consistent(&client).await;
}

#[tokio::test]
async fn an_empty_block_of_another_host_is_reclaimed_once_a_minute_old() {
    let (_dir, client) = with_pool("10.0.0.0/30", 30).await;
    node(&client, "node-b").await;
    let ipam = Ipam::new(client.clone());
    ipam.auto_assign(args("node-a", "a1", 1)).await.unwrap();
    ipam.release_by_handle("a1").await.unwrap();
    // Claimed just now: node-b may not take it, and borrows from it instead.
    let b1 = ipam.auto_assign(args("node-b", "b1", 1)).await.unwrap();
    assert_eq!(b1.ips().len(), 1);
    ipam.release_by_handle("b1").await.unwrap();
    assert_eq!(
        stored_blocks(&client).await[0].affinity.as_deref(),
        Some("host:node-a")
    );
    // Make the claim old.
    let key = ModelKey::Block(BlockKey::new(net("10.0.0.0/30")));
    let kv = client.backend().get_model(&key).await.unwrap();
    let ModelValue::Block(mut old) = kv.value else {
        panic!("not a block")
    };
    old.affinity_claim_time = Some(calico_api::Time::from_datetime(
        Utc::now() - chrono::Duration::seconds(120),
    ));
    client
        .backend()
        .update_model(key, ModelValue::Block(old), &kv.revision)
        .await
        .unwrap();
    let b2 = ipam.auto_assign(args("node-b", "b2", 1)).await.unwrap();
    assert_eq!(b2.ips().len(), 1);
    let blocks = stored_blocks(&client).await;
    assert_eq!(blocks[0].affinity.as_deref(), Some("host:node-b"));
    let affinities = client
        .backend()
        .list_model(&ModelListOptions::all_affinities())
        .await
        .unwrap();
    let hosts: Vec<String> = affinities
        .items
        .iter()
        .filter_map(|kv| match &kv.key {
            ModelKey::BlockAffinity(k) => Some(k.host.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(hosts, ["node-b"]);
    assert_consistent(&client).await;
}

#[tokio::test]
async fn assigning_a_given_address_claims_its_block_and_refuses_it_twice() {
    let (_dir, client) = with_pool("10.0.0.0/24", 26).await;
    let ipam = Ipam::new(client.clone());
    let request = AssignIpArgs {
        ip: "10.0.0.70".parse().unwrap(),
        handle: Some("h1".into()),
        attrs: BTreeMap::new(),
        hostname: "node-a".into(),
        intended_use: Some(AllowedUse::Workload),
        host_reserved: None,
    };
    ipam.assign_ip(request.clone()).await.unwrap();
    let blocks = stored_blocks(&client).await;
    assert_eq!(blocks[0].cidr, net("10.0.0.64/26"));
    assert_eq!(blocks[0].affinity.as_deref(), Some("host:node-a"));
    assert_eq!(
        ipam.ips_by_handle("h1").await.unwrap(),
        ["10.0.0.70".parse::<IpAddr>().unwrap()]
    );
    let again = ipam.assign_ip(request.clone()).await.unwrap_err();
    assert_eq!(
        again.to_string(),
        "resource already exists: 10.0.0.70 with error: Address already assigned in block"
    );
    let outside = AssignIpArgs {
        ip: "10.9.0.1".parse().unwrap(),
        ..request.clone()
    };
    assert_eq!(
        ipam.assign_ip(outside).await.unwrap_err().to_string(),
        "The provided IP address is not in a configured pool\n"
    );
    let lb = AssignIpArgs {
        intended_use: Some(AllowedUse::LoadBalancer),
        ip: "10.0.0.71".parse().unwrap(),
        ..request
    };
    assert_eq!(
        ipam.assign_ip(lb).await.unwrap_err().to_string(),
        "IP address 10.0.0.71 is in IP pool \"p1\", which is not allowed for use \"LoadBalancer\" (allowedUses: [Workload Tunnel])"
    );
    assert_consistent(&client).await;
}

#[tokio::test]
async fn dual_stack_assigns_both_families() {
    let dir = tempfile::tempdir().unwrap();
    let client = client(&dir);
    pool(&client, "p4", "10.0.0.0/24", 26).await;
    pool(&client, "p6", "fd00::/112", 122).await;
    node(&client, "node-a").await;
    let ipam = Ipam::new(client.clone());
    let mut request = args("node-a", "h1", 1);
    request.num6 = 1;
    let outcome = ipam.auto_assign(request).await.unwrap();
    assert_eq!(outcome.v4.unwrap().ips.len(), 1);
    let v6 = outcome.v6.unwrap();
    assert_eq!(v6.ips.len(), 1);
    assert_eq!(v6.ips[0].prefix_len(), 122);
    assert_eq!(stored_handles(&client).await["h1"].len(), 2);
    assert_consistent(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_allocations_on_one_node_never_share_an_address() {
    for combine in [true, false] {
        concurrent_allocations(combine).await;
    }
}

async fn concurrent_allocations(combine: bool) {
    let (_dir, client) = with_pool("10.0.0.0/24", 28).await;
    node(&client, "node-b").await;
    let ipam = Ipam::new(client.clone()).with_combining(combine);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let ipam = ipam.clone();
        let host = if i % 4 == 0 { "node-b" } else { "node-a" };
        tasks.push(tokio::spawn(async move {
            ipam.auto_assign(args(host, &format!("h{i}"), 1)).await
        }));
    }
    let mut all = BTreeSet::new();
    for task in tasks {
        let outcome = task.await.unwrap().unwrap();
        for ip in outcome.ips() {
            assert!(all.insert(ip.addr()), "{ip} handed out twice");
        }
    }
    assert_eq!(all.len(), 40);
    assert_consistent(&client).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let ipam = ipam.clone();
        tasks.push(tokio::spawn(async move {
            ipam.release_by_handle(&format!("h{i}")).await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_all_released(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_for_one_host_is_combined_into_a_few_block_writes() {
    let (_dir, client) = with_pool("10.0.0.0/16", 24).await;
    let ipam = Ipam::new(client.clone());
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let ipam = ipam.clone();
            tokio::spawn(async move {
                let mut request = args("node-a", &format!("pod-{i}"), 1);
                request.attrs.insert("pod".into(), format!("pod-{i}"));
                ipam.auto_assign(request).await
            })
        })
        .collect();
    let mut all = BTreeSet::new();
    for task in tasks {
        for ip in task.await.unwrap().unwrap().ips() {
            assert!(all.insert(ip.addr()), "{ip} handed out twice");
        }
    }
    assert_eq!(all.len(), 200);
    let blocks = stored_blocks(&client).await;
    assert_eq!(blocks.len(), 1, "one /24 block holds them all");
    // Each caller has its own attribute (its handle and pod), as one by one.
    assert_eq!(blocks[0].attributes.as_ref().unwrap().len(), 200);
    let key = ModelKey::Block(BlockKey::new(blocks[0].cidr));
    let writes = client.backend().get_model(&key).await.unwrap();
    let ModelValue::Block(stored) = writes.value else {
        panic!("not a block")
    };
    // The block was created with a sequence number from its claim time; each write adds one.
    let created = stored
        .sequence_number_for_allocation
        .as_ref()
        .and_then(|m| m.values().min().copied())
        .unwrap();
    let block_writes = stored.sequence_number - created;
    assert!(
        block_writes < 40,
        "{block_writes} block writes for 200 allocations"
    );
    assert_consistent(&client).await;
}

#[tokio::test]
async fn many_handles_are_released_together_block_by_block() {
    let (_dir, client) = with_pool("10.0.0.0/24", 29).await;
    let ipam = Ipam::new(client.clone());
    // Twelve addresses over two /29 blocks; h0 has addresses in both.
    ipam.auto_assign(args("node-a", "h0", 6)).await.unwrap();
    for i in 1..=6 {
        ipam.auto_assign(args("node-a", &format!("h{i}"), 1))
            .await
            .unwrap();
    }
    assert_eq!(stored_blocks(&client).await.len(), 2);
    let mut handles: Vec<String> = (0..=6).map(|i| format!("h{i}")).collect();
    handles.insert(3, "nobody".to_string());
    let results = ipam.release_by_handles(handles).await;
    assert_eq!(results.len(), 8);
    for (i, result) in results.iter().enumerate() {
        if i == 3 {
            assert!(result.as_ref().unwrap_err().is_not_found());
        } else {
            assert!(result.is_ok(), "{result:?}");
        }
    }
    assert_all_released(&client).await;
}

#[derive(Clone, Debug)]
enum Op {
    Assign {
        host: usize,
        handle: usize,
        num: usize,
    },
    Release {
        handle: usize,
    },
    ReleaseHostAffinities {
        host: usize,
    },
    ReleaseOne {
        handle: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..3usize, 0..6usize, 1..4usize).prop_map(|(host, handle, num)| Op::Assign { host, handle, num }),
        1 => (0..6usize).prop_map(|handle| Op::Release { handle }),
        1 => (0..6usize).prop_map(|handle| Op::ReleaseOne { handle }),
        1 => (0..3usize).prop_map(|host| Op::ReleaseHostAffinities { host }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Random assigns, releases and releases of a host's affinities on three hosts sharing a
    /// small pool agree with a model that only tracks which addresses each handle holds: every address the allocator returns is
    /// free in the model, the handles' stored counts match the blocks, and releasing a handle
    /// frees exactly its addresses.
    #[test]
    fn allocations_agree_with_a_model(ops in proptest::collection::vec(op(), 1..25)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let client = client(&dir);
            pool(&client, "p1", "10.0.0.0/27", 29).await;
            for host in 0..3 {
                node(&client, &format!("node-{host}")).await;
            }
            let ipam = Ipam::new(client.clone());
            let mut model: BTreeMap<usize, BTreeSet<IpAddr>> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Assign { host, handle, num } => {
                        let used: usize = model.values().map(BTreeSet::len).sum();
                        let outcome = ipam
                            .auto_assign(args(&format!("node-{host}"), &format!("h{handle}"), num))
                            .await;
                        let ips = match outcome {
                            Ok(outcome) => outcome.ips(),
                            Err(err) => {
                                assert!(matches!(*err.cause, AssignError::BlockLimit), "{err}");
                                err.partial.ips()
                            }
                        };
                        // Only a full pool gives fewer than asked (32 addresses, no limit hit
                        // with 4 blocks and 3 hosts).
                        if ips.len() < num {
                            assert_eq!(used + ips.len(), 32);
                        }
                        for ip in ips {
                            assert!(net("10.0.0.0/27").contains(&ip.addr()));
                            for held in model.values() {
                                assert!(!held.contains(&ip.addr()), "{ip} handed out twice");
                            }
                            model.entry(handle).or_default().insert(ip.addr());
                        }
                    }
                    Op::Release { handle } => {
                        let result = ipam.release_by_handle(&format!("h{handle}")).await;
                        match model.remove(&handle) {
                            Some(_) => result.unwrap(),
                            None => assert!(result.unwrap_err().is_not_found()),
                        }
                    }
                    Op::ReleaseHostAffinities { host } => {
                        // Blocks in use lose their affinity and stay; empty ones go.
                        release::release_host_affinities(&client, &format!("node-{host}"), false)
                            .await
                            .unwrap();
                    }
                    Op::ReleaseOne { handle } => {
                        let Some(ip) = model.get(&handle).and_then(|s| s.iter().next().copied()) else {
                            continue;
                        };
                        let outcome = ipam
                            .release_ips(&[ReleaseOption {
                                address: ip,
                                handle: Some(format!("h{handle}")),
                                sequence_number: None,
                            }])
                            .await
                            .unwrap();
                        assert!(outcome.unallocated.is_empty());
                        let held = model.entry(handle).or_default();
                        held.remove(&ip);
                        if held.is_empty() {
                            model.remove(&handle);
                        }
                    }
                }
                for (handle, held) in &model {
                    let mut stored = ipam.ips_by_handle(&format!("h{handle}")).await.unwrap();
                    stored.sort();
                    assert_eq!(&stored.into_iter().collect::<BTreeSet<_>>(), held);
                }
                assert_consistent(&client).await;
            }
        });
    }
}
