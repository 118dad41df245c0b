use std::collections::BTreeMap;

use calico_api::meta::Condition;
use calico_api::{IPPool, IPPoolSpec, IPPoolStatus, Time};

use std::net::IpAddr;

use super::*;

fn pool(name: &str, cidr: &str) -> IPPool {
    IPPool::new(
        name,
        IPPoolSpec {
            cidr: cidr.into(),
            ..IPPoolSpec::default()
        },
    )
}

fn with(name: &str, cidr: &str, edit: impl FnOnce(&mut IPPoolSpec)) -> IPPool {
    let mut p = pool(name, cidr);
    edit(&mut p.spec);
    p
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

fn names(pools: &[IPPool]) -> Vec<&str> {
    pools.iter().map(|p| p.metadata.name.as_str()).collect()
}

fn net(text: &str) -> IpNet {
    text.parse().unwrap()
}

const NONE: Option<&BTreeMap<String, String>> = None;

fn matching(pools: &[IPPool], node: &BTreeMap<String, String>) -> Vec<String> {
    let (m, _) = determine_pools(pools, &[], IpVersion::V4, node, NONE, 32).unwrap();
    names(&m).into_iter().map(String::from).collect()
}

#[test]
fn enabled_pools_skip_disabled_deleting_unallocatable_and_other_family_and_fill_defaults() {
    let mut deleting = pool("deleting", "10.1.0.0/16");
    deleting.metadata.deletion_timestamp = Some(Time::now());
    let allocatable = |name: &str, cidr: &str, status: &str| {
        let mut p = pool(name, cidr);
        p.status = Some(IPPoolStatus {
            conditions: vec![Condition {
                condition_type: "Allocatable".into(),
                status: status.into(),
                ..Condition::default()
            }],
        });
        p
    };
    let pools = vec![
        pool("a", "10.0.0.0/16"),
        with("disabled", "10.9.0.0/16", |s| s.disabled = true),
        deleting,
        allocatable("unallocatable", "10.2.0.0/16", "False"),
        allocatable("allocatable", "10.3.0.0/16", "True"),
        pool("v6", "fd00::/48"),
        pool("bad", "10.5.0.0"),
    ];
    let v4 = enabled_pools(&pools, IpVersion::V4);
    assert_eq!(names(&v4), ["a", "allocatable"]);
    assert_eq!(v4[0].spec.block_size, 26);
    assert_eq!(v4[0].spec.allowed_uses, ["Workload", "Tunnel"]);
    assert_eq!(v4[0].spec.node_selector, "all()");
    assert_eq!(v4[0].spec.assignment_mode.as_deref(), Some("Automatic"));
    let v6 = enabled_pools(&pools, IpVersion::V6);
    assert_eq!(names(&v6), ["v6"]);
    assert_eq!(v6[0].spec.block_size, 122);
}

#[test]
fn node_selector_picks_pools_for_the_node_labels() {
    let pools = vec![
        pool("any", "10.0.0.0/16"),
        with("rack1", "10.1.0.0/16", |s| {
            s.node_selector = "rack == 'r1'".into()
        }),
        with("none", "10.2.0.0/16", |s| s.node_selector = "!all()".into()),
    ];
    assert_eq!(
        matching(&pools, &labels(&[("rack", "r1")])),
        ["any", "rack1"]
    );
    assert_eq!(matching(&pools, &labels(&[("rack", "r2")])), ["any"]);
}

#[test]
fn namespace_selector_sees_the_namespace_labels_or_none() {
    let pools = vec![
        pool("any", "10.0.0.0/16"),
        with("prod", "10.1.0.0/16", |s| {
            s.namespace_selector = "env == 'prod'".into()
        }),
        with("unlabelled", "10.2.0.0/16", |s| {
            s.namespace_selector = "!has(env)".into()
        }),
    ];
    let node = labels(&[]);
    let prod = labels(&[("env", "prod")]);
    let (m, _) = determine_pools(&pools, &[], IpVersion::V4, &node, Some(&prod), 32).unwrap();
    assert_eq!(names(&m), ["any", "prod"]);
    assert_eq!(matching(&pools, &node), ["any", "unlabelled"]);
}

#[test]
fn manual_pools_are_only_used_when_requested() {
    let pools = vec![
        pool("auto", "10.0.0.0/16"),
        with("manual", "10.1.0.0/16", |s| {
            s.assignment_mode = Some("Manual".into())
        }),
    ];
    let node = labels(&[]);
    assert_eq!(matching(&pools, &node), ["auto"]);
    let (m, enabled) = determine_pools(
        &pools,
        &[net("10.1.0.0/16")],
        IpVersion::V4,
        &node,
        NONE,
        32,
    )
    .unwrap();
    assert_eq!(names(&m), ["manual"]);
    assert_eq!(names(&enabled), ["auto", "manual"]);
}

#[test]
fn requested_pools_ignore_selectors_and_must_be_enabled() {
    let pools = vec![
        with("elsewhere", "10.0.0.0/16", |s| {
            s.node_selector = "!all()".into()
        }),
        with("disabled", "10.1.0.0/16", |s| s.disabled = true),
    ];
    let node = labels(&[]);
    // A request names the network; host bits are ignored as Calico's `Network()` does.
    let (m, _) = determine_pools(
        &pools,
        &[net("10.0.1.0/16")],
        IpVersion::V4,
        &node,
        NONE,
        32,
    )
    .unwrap();
    assert_eq!(names(&m), ["elsewhere"]);
    for missing in ["10.1.0.0/16", "10.7.0.0/16", "10.0.0.0/17"] {
        let err =
            determine_pools(&pools, &[net(missing)], IpVersion::V4, &node, NONE, 32).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("the given pool ({missing}) does not exist, or is not enabled")
        );
    }
}

#[test]
fn block_size_limit_decides_qualification_but_not_selector_matches() {
    let pools = vec![
        with("small", "10.0.0.0/16", |s| s.block_size = 31),
        with("big", "10.1.0.0/16", |s| s.block_size = 26),
    ];
    let node = labels(&[]);
    let (m, _) = determine_pools(&pools, &[], IpVersion::V4, &node, NONE, 30).unwrap();
    assert_eq!(names(&m), ["small", "big"]);
    let err = determine_pools(
        &pools,
        &[net("10.0.0.0/16")],
        IpVersion::V4,
        &node,
        NONE,
        30,
    )
    .unwrap_err();
    assert_eq!(
        err,
        PoolSelectionError::RequestedPoolNotEnabled(net("10.0.0.0/16"))
    );
    let err = determine_pools(&pools, &[], IpVersion::V4, &node, NONE, 25).unwrap_err();
    assert_eq!(err.to_string(), "cannot find a qualified ippool");
    let err = determine_pools(&[], &[], IpVersion::V4, &node, NONE, 32).unwrap_err();
    assert_eq!(err, PoolSelectionError::NoQualifiedPool);
}

#[test]
fn a_bad_selector_is_an_error() {
    let pools = vec![with("bad", "10.0.0.0/16", |s| {
        s.node_selector = "rack ==".into()
    })];
    let err = determine_pools(&pools, &[], IpVersion::V4, &labels(&[]), NONE, 32).unwrap_err();
    assert!(matches!(err, PoolSelectionError::Selector(_)), "{err:?}");
}

fn reserved(start: usize, end: usize) -> HostReserved {
    HostReserved {
        start_of_block: start,
        end_of_block: end,
        handle: "windows-reserved-ipam-handle".into(),
        note: "windows".into(),
    }
}

#[test]
fn max_prefix_len_leaves_room_for_host_reserved_addresses() {
    assert_eq!(max_prefix_len(IpVersion::V4, None), Ok(32));
    assert_eq!(max_prefix_len(IpVersion::V6, None), Ok(128));
    // Windows reserves 3 at the start and 1 at the end: 4 needs 3 bits.
    assert_eq!(max_prefix_len(IpVersion::V4, Some(&reserved(3, 1))), Ok(29));
    assert_eq!(
        max_prefix_len(IpVersion::V6, Some(&reserved(3, 1))),
        Ok(125)
    );
    assert_eq!(max_prefix_len(IpVersion::V4, Some(&reserved(2, 1))), Ok(30));
    let err = max_prefix_len(IpVersion::V4, Some(&reserved(0, 0))).unwrap_err();
    assert_eq!(err.to_string(), "HostReservedAttr has wrong parameters");
}

/// [`choose_pools`] for `node-a` with these node labels, no namespace, requested pools or
/// reserved addresses.
fn choose(
    pools: &[IPPool],
    node: &BTreeMap<String, String>,
    use_: AllowedUse,
) -> Result<PoolChoice, PoolSelectionError> {
    choose_pools(pools, &[], IpVersion::V4, "node-a", node, NONE, None, use_)
}

#[test]
fn allowed_uses_filter_the_selected_pools() {
    let pools = vec![
        pool("default", "10.0.0.0/16"),
        with("lb", "10.1.0.0/16", |s| {
            s.allowed_uses = vec!["LoadBalancer".into()]
        }),
        with("tunnel", "10.2.0.0/16", |s| {
            s.allowed_uses = vec!["Tunnel".into()]
        }),
    ];
    let node = labels(&[]);
    let workload = choose(&pools, &node, AllowedUse::Workload).unwrap();
    assert_eq!(names(&workload.allowed), ["default"]);
    assert_eq!(names(&workload.selecting_node), ["default", "lb", "tunnel"]);
    assert_eq!(
        names(&choose(&pools, &node, AllowedUse::Tunnel).unwrap().allowed),
        ["default", "tunnel"]
    );
    assert_eq!(
        names(
            &choose(&pools, &node, AllowedUse::LoadBalancer)
                .unwrap()
                .allowed
        ),
        ["lb"]
    );
}

#[test]
fn choose_pools_reports_calicos_errors() {
    let node = labels(&[("rack", "r1")]);
    let pools = vec![with("elsewhere", "10.0.0.0/16", |s| {
        s.node_selector = "rack == 'r2'".into()
    })];
    let err = choose(&pools, &node, AllowedUse::Workload).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no configured Calico pools for node node-a"
    );
    let pools = vec![pool("default", "10.0.0.0/16")];
    let err = choose(&pools, &node, AllowedUse::LoadBalancer).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot find a qualified ippool, no pools match the required use (LoadBalancer)"
    );
}

#[test]
fn load_balancer_pools_are_chosen_for_a_virtual_node_without_labels() {
    let node = labels(&[("rack", "r1")]);
    let pools = vec![
        with("lb-rack", "10.1.0.0/16", |s| {
            s.allowed_uses = vec!["LoadBalancer".into()];
            s.node_selector = "rack == 'r1'".into();
        }),
        with("lb-all", "10.2.0.0/16", |s| {
            s.allowed_uses = vec!["LoadBalancer".into()]
        }),
    ];
    let choice = choose(&pools, &node, AllowedUse::LoadBalancer).unwrap();
    assert_eq!(names(&choice.allowed), ["lb-all"]);
}

// The expected numbers below come from Go 1.26's math/rand and math/big (rand.New(rand.NewSource
// seed), big.Int.Rand), run on amd64 as Calico's randomBlockGenerator runs them.

#[test]
fn go_rand_gives_gos_sequence() {
    let cases: [(i64, [u64; 3]); 8] = [
        (
            0,
            [
                8717895732742165505,
                2259404117704393152,
                6050128673802995827,
            ],
        ),
        (
            1,
            [
                5577006791947779410,
                8674665223082153551,
                15352856648520921629,
            ],
        ),
        (
            -1,
            [
                12868334305193165484,
                9773543399016688047,
                3094056749125766625,
            ],
        ),
        (
            42,
            [
                12663951391086054483,
                9832119173398632219,
                5571782338101878760,
            ],
        ),
        // Seeds are taken modulo 2^31 - 1: these equal 0, -1 and 1.
        (
            2147483647,
            [
                8717895732742165505,
                2259404117704393152,
                6050128673802995827,
            ],
        ),
        (
            -2147483648,
            [
                12868334305193165484,
                9773543399016688047,
                3094056749125766625,
            ],
        ),
        (
            i64::MAX,
            [
                5577006791947779410,
                8674665223082153551,
                15352856648520921629,
            ],
        ),
        (
            i64::MIN,
            [
                7681445645332086223,
                16000530077514976911,
                17971378070088983720,
            ],
        ),
    ];
    for (seed, expected) in cases {
        let mut rng = GoRand::new(seed);
        let got: Vec<u64> = (0..3).map(|_| rng.uint64()).collect();
        assert_eq!(got, expected, "seed {seed}");
    }
    // Past one turn of the 607-value register.
    let mut rng = GoRand::new(1);
    for _ in 0..700 {
        rng.uint64();
    }
    assert_eq!(rng.uint64(), 9889876019586549186);
}

#[test]
fn block_seed_is_the_fnv1_hash_of_the_host_except_for_single_address_blocks() {
    assert_eq!(block_seed(26, IpVersion::V4, "node-a"), Some(568266999));
    assert_eq!(block_seed(26, IpVersion::V4, "node-b"), Some(568266996));
    assert_eq!(block_seed(122, IpVersion::V6, "worker-1"), Some(2999756865));
    assert_eq!(block_seed(26, IpVersion::V4, ""), Some(2166136261));
    assert_eq!(block_seed(32, IpVersion::V4, "node-a"), None);
    assert_eq!(block_seed(128, IpVersion::V6, "node-a"), None);
    assert_eq!(block_seed(32, IpVersion::V6, "node-a"), Some(568266999));
}

#[test]
fn random_start_below_a_power_of_two_is_gos_big_int_rand() {
    // (host, bits, Go's first index): one word, two words and three words of limit.
    let cases: [(&str, u32, u128); 16] = [
        ("node-a", 0, 0),
        ("node-a", 1, 1),
        ("node-a", 5, 10),
        ("node-a", 10, 698),
        ("node-a", 16, 57290),
        ("node-a", 32, 2193285066),
        ("node-a", 58, 251070522519304890),
        ("node-a", 63, 4862756540946692794),
        ("node-a", 64, 6184260463428163074),
        ("node-a", 65, 23309500614656244410),
        ("node-a", 70, 908753216152714721978),
        ("node-a", 128, 149346660713644415429737021678460189370),
        ("node-b", 5, 31),
        ("node-b", 10, 873),
        ("", 65, 17130459029863087192),
        ("worker-1", 128, 297353808018054857989942298794805673593),
    ];
    for (host, bits, expected) in cases {
        let seed = block_seed(26, IpVersion::V4, host).unwrap();
        let got = GoRand::new(seed).below_power_of_two(bits);
        assert_eq!(got, Some(expected), "{host:?} 2^{bits}");
    }
    assert_eq!(GoRand::new(1).below_power_of_two(129), None);
}

fn first_blocks(pool: &IPPool, host: &str, count: usize) -> Vec<String> {
    BlockWalk::for_host(pool, host)
        .take(count)
        .map(|net| net.to_string())
        .collect()
}

#[test]
fn walks_reproduce_the_blocks_calico_claimed_in_the_oracle_goldens() {
    // 01-one-allocation (and 02): node-a's first block in pool-v4 10.0.0.0/16, blockSize 26.
    let pool_v4 = with("pool-v4", "10.0.0.0/16", |s| s.block_size = 26);
    assert_eq!(first_blocks(&pool_v4, "node-a", 1), ["10.0.174.128/26"]);
    // 07-node-deletion: pool-v4 10.4.0.0/16, node-a and node-b.
    let pool_v4 = with("pool-v4", "10.4.0.0/16", |s| s.block_size = 26);
    assert_eq!(first_blocks(&pool_v4, "node-a", 1), ["10.4.174.128/26"]);
    assert_eq!(first_blocks(&pool_v4, "node-b", 1), ["10.4.218.64/26"]);
    // 05-dual-stack: node-a in pool-v4 10.2.0.0/16 (/26) and pool-v6 fd00:10:2::/64 (/122).
    let pool_v4 = with("pool-v4", "10.2.0.0/16", |s| s.block_size = 26);
    let pool_v6 = with("pool-v6", "fd00:10:2::/64", |s| s.block_size = 122);
    assert_eq!(first_blocks(&pool_v4, "node-a", 1), ["10.2.174.128/26"]);
    assert_eq!(
        first_blocks(&pool_v6, "node-a", 1),
        ["fd00:10:2:0:defe:d3d7:156e:ae80/122"]
    );
    // 03-borrowed: a pool that is one block has only that block to offer.
    let small = with("pool-small", "10.1.0.0/26", |s| s.block_size = 26);
    assert_eq!(first_blocks(&small, "node-b", 5), ["10.1.0.0/26"]);
}

#[test]
fn a_walk_goes_on_from_the_start_round_the_pool_once() {
    let pool = net("10.0.0.0/27");
    // node-b's start in 32 blocks is the last one: the walk wraps to the first.
    let seed = block_seed(30, IpVersion::V4, "node-b").unwrap();
    let walk: Vec<IpNet> = BlockWalk::new(pool, 30, seed).collect();
    assert_eq!(walk.len(), 8);
    let seed = block_seed(32, IpVersion::V4, "node-b").unwrap_or(0);
    assert_eq!(BlockWalk::new(pool, 32, seed).count(), 32);
    let big = net("10.0.0.0/24");
    let seed = block_seed(29, IpVersion::V4, "node-b").unwrap();
    let blocks: Vec<String> = BlockWalk::new(big, 29, seed)
        .map(|n| n.to_string())
        .collect();
    assert_eq!(blocks.len(), 32);
    assert_eq!(blocks[0], "10.0.0.248/29");
    assert_eq!(blocks[1], "10.0.0.0/29");
    assert_eq!(blocks[31], "10.0.0.240/29");
    let mut sorted = blocks.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 32);
}

#[test]
fn walks_without_blocks_are_empty() {
    // Blocks larger than the pool, longer than the address, or a pool CIDR that does not parse.
    assert_eq!(BlockWalk::new(net("10.0.0.0/16"), 8, 1).count(), 0);
    assert_eq!(BlockWalk::new(net("10.0.0.0/16"), 33, 1).count(), 0);
    let bad = with("bad", "10.0.0.0", |s| s.block_size = 26);
    assert_eq!(BlockWalk::for_host(&bad, "node-a").count(), 0);
    // A whole-address-space walk with one-address blocks still starts and steps.
    let all = net("::/0");
    let mut walk = BlockWalk::new(all, 128, 1);
    let first = walk.next().unwrap();
    let second = walk.next().unwrap();
    assert_eq!(first.prefix_len(), 128);
    let (IpAddr::V6(a), IpAddr::V6(b)) = (first.addr(), second.addr()) else {
        panic!("not IPv6: {first} {second}");
    };
    assert_eq!(u128::from(a).wrapping_add(1), u128::from(b));
}

mod claims {
    use std::sync::Arc;

    use calico_api::model::{
        AffinityState, AffinityType, AllocationBlock, BlockAffinity, BlockAffinityKey, BlockKey,
    };
    use calico_datastore::backend::ModelKv;
    use calico_datastore::client::Client;
    use calico_datastore::{EmbeddedStore, KvBackend, ModelKey, ModelValue};

    use super::super::*;
    use super::{net, reserved};
    use crate::block::{new_block, Affinity};

    fn client(dir: &tempfile::TempDir) -> Client {
        let store = EmbeddedStore::open(dir.path().join("calico.db")).unwrap();
        Client::new(Arc::new(KvBackend::new(store)))
    }

    fn key(host: &str) -> BlockAffinityKey {
        BlockAffinityKey::new(net("10.0.174.128/26"), host, AffinityType::Host)
    }

    fn state(kv: &ModelKv) -> AffinityState {
        match &kv.value {
            ModelValue::BlockAffinity(value) => value.state.clone(),
            other => panic!("not an affinity: {other:?}"),
        }
    }

    async fn stored_state(client: &Client, host: &str) -> Option<AffinityState> {
        let kv = client
            .backend()
            .get_model(&ModelKey::BlockAffinity(key(host)))
            .await;
        kv.ok().map(|kv| state(&kv))
    }

    async fn stored_block(client: &Client) -> AllocationBlock {
        let kv = client
            .backend()
            .get_model(&ModelKey::Block(BlockKey::new(net("10.0.174.128/26"))))
            .await
            .unwrap();
        match kv.value {
            ModelValue::Block(block) => block,
            other => panic!("not a block: {other:?}"),
        }
    }

    async fn put_block(client: &Client, owner: Option<&str>) {
        let owner = owner.map(Affinity::host);
        let block = new_block(net("10.0.174.128/26"), owner.as_ref(), None, 7, None);
        client
            .backend()
            .create_model(
                ModelKey::Block(BlockKey::new(net("10.0.174.128/26"))),
                ModelValue::Block(block),
            )
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_pending_affinity_is_created_or_marked_pending_unless_confirmed() {
        let dir = tempfile::tempdir().unwrap();
        let client = client(&dir);
        let first = pending_affinity(&client, key("node-a")).await.unwrap();
        assert_eq!(state(&first), AffinityState::Pending);
        let again = pending_affinity(&client, key("node-a")).await.unwrap();
        assert_eq!(state(&again), AffinityState::Pending);
        // An affinity pending deletion (or stored without a state) becomes pending again.
        let backend = client.backend();
        let deleting = BlockAffinity {
            state: AffinityState::PendingDeletion,
            ..BlockAffinity::default()
        };
        backend
            .update_model(
                again.key.clone(),
                ModelValue::BlockAffinity(deleting),
                &again.revision,
            )
            .await
            .unwrap();
        let revived = pending_affinity(&client, key("node-a")).await.unwrap();
        assert_eq!(state(&revived), AffinityState::Pending);
        let confirmed = confirm_affinity(&client, &revived).await.unwrap();
        assert_eq!(state(&confirmed), AffinityState::Confirmed);
        let kept = pending_affinity(&client, key("node-a")).await.unwrap();
        assert_eq!(state(&kept), AffinityState::Confirmed);
        assert_eq!(kept.revision, confirmed.revision);
    }

    #[tokio::test]
    async fn claiming_creates_the_affine_block_and_confirms_the_affinity() {
        let dir = tempfile::tempdir().unwrap();
        let client = client(&dir);
        let before = chrono::Utc::now().timestamp();
        let pending = pending_affinity(&client, key("node-a")).await.unwrap();
        let claimed = claim_affine_block(&client, &pending, Some(&reserved(3, 1)))
            .await
            .unwrap();
        assert_eq!(
            claimed.key,
            ModelKey::Block(BlockKey::new(net("10.0.174.128/26")))
        );
        let block = stored_block(&client).await;
        assert_eq!(block.affinity.as_deref(), Some("host:node-a"));
        let claim_time = block.affinity_claim_time.as_ref().unwrap();
        assert!(claim_time.as_datetime().timestamp() >= before);
        assert!(block.sequence_number > 1 << 53);
        // The host-reserved addresses are allocated; the rest are free.
        assert_eq!(block.unallocated.as_ref().unwrap().len(), 60);
        assert_eq!(
            stored_state(&client, "node-a").await,
            Some(AffinityState::Confirmed)
        );
    }

    #[tokio::test]
    async fn a_block_already_affine_to_the_host_is_kept_and_the_affinity_confirmed() {
        let dir = tempfile::tempdir().unwrap();
        let client = client(&dir);
        put_block(&client, Some("node-a")).await;
        let pending = pending_affinity(&client, key("node-a")).await.unwrap();
        claim_affine_block(&client, &pending, None).await.unwrap();
        assert_eq!(stored_block(&client).await.sequence_number, 7);
        assert_eq!(
            stored_state(&client, "node-a").await,
            Some(AffinityState::Confirmed)
        );
    }

    #[tokio::test]
    async fn another_hosts_block_is_a_conflict_and_the_pending_affinity_goes() {
        let dir = tempfile::tempdir().unwrap();
        let client = client(&dir);
        put_block(&client, Some("node-b")).await;
        let pending = pending_affinity(&client, key("node-a")).await.unwrap();
        let err = claim_affine_block(&client, &pending, None)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "10.0.174.128/26 already claimed by host:node-b"
        );
        assert_eq!(stored_state(&client, "node-a").await, None);
        assert_eq!(stored_block(&client).await.sequence_number, 7);
    }

    #[tokio::test]
    async fn a_block_without_affinity_is_a_conflict_too() {
        let dir = tempfile::tempdir().unwrap();
        let client = client(&dir);
        put_block(&client, None).await;
        let pending = pending_affinity(&client, key("node-a")).await.unwrap();
        let err = claim_affine_block(&client, &pending, None)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "10.0.174.128/26 already claimed");
    }

    #[tokio::test]
    async fn confirming_a_stale_affinity_succeeds_only_if_someone_confirmed_it() {
        let dir = tempfile::tempdir().unwrap();
        let client = client(&dir);
        let stale = pending_affinity(&client, key("node-a")).await.unwrap();
        // Another process marks it pending again: the stale revision loses, still pending.
        let current = pending_affinity(&client, key("node-a")).await.unwrap();
        assert_ne!(stale.revision, current.revision);
        let err = confirm_affinity(&client, &stale).await.unwrap_err();
        assert!(matches!(err, ClaimError::Datastore(_)), "{err:?}");
        // Once the other process confirms it, the stale confirmation returns its result.
        let confirmed = confirm_affinity(&client, &current).await.unwrap();
        let late = confirm_affinity(&client, &stale).await.unwrap();
        assert_eq!(late.revision, confirmed.revision);
        assert_eq!(state(&late), AffinityState::Confirmed);
    }
}
