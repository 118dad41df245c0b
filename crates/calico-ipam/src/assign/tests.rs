use std::collections::BTreeMap;

use calico_api::meta::Condition;
use calico_api::{IPPool, IPPoolSpec, IPPoolStatus, Time};

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
