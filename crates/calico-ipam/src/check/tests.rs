#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use calico_api::model::BlockKey;
use serde_json::json;

fn block(value: serde_json::Value) -> (ModelKey, AllocationBlock) {
    let block: AllocationBlock = serde_json::from_value(value).unwrap();
    (ModelKey::Block(BlockKey::new(block.cidr)), block)
}

fn workload(namespace: &str, name: &str, ips: &[&str]) -> WorkloadEndpoint {
    serde_json::from_value(json!({
        "apiVersion": "projectcalico.org/v3",
        "kind": "WorkloadEndpoint",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"node": "node-a", "ipNetworks": ips}
    }))
    .unwrap()
}

fn node(name: &str, spec: serde_json::Value) -> Node {
    serde_json::from_value(json!({
        "apiVersion": "projectcalico.org/v3",
        "kind": "Node",
        "metadata": {"name": name},
        "spec": spec
    }))
    .unwrap()
}

fn handle(id: &str, revision: &str) -> HandleInfo {
    HandleInfo {
        id: id.into(),
        uid: None,
        revision: revision.into(),
    }
}

fn contains_all(output: &str, parts: &[&str]) {
    for part in parts {
        assert!(output.contains(part), "{part:?} not in\n{output}");
    }
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-06T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// What a check prints from the point its scans start (the listing stages are covered by
/// the goldens).
fn scans(output: &str) -> &str {
    let at = output.find("Looking for top").unwrap();
    &output[at..]
}

struct Data {
    blocks: Vec<(ModelKey, AllocationBlock)>,
    pools: Vec<(&'static str, bool)>,
    nodes: Vec<Node>,
    services: Vec<ServiceInfo>,
    assign_ips: Option<&'static str>,
    workloads: Vec<WorkloadEndpoint>,
    handles: Vec<HandleInfo>,
}

impl Default for Data {
    fn default() -> Self {
        Data {
            blocks: vec![],
            pools: vec![("10.0.0.0/16", false)],
            nodes: vec![],
            services: vec![],
            assign_ips: None,
            workloads: vec![],
            handles: vec![],
        }
    }
}

fn run(options: CheckOptions, data: Data) -> CheckOutcome {
    let mut checker = Checker::new(options);
    checker.cluster(ClusterFacts {
        cluster_guid: "guid".into(),
        cluster_type: "k8s".into(),
        revision: "12".into(),
        datastore_locked: true,
    });
    checker.start(Stage::Blocks);
    checker.blocks(data.blocks);
    checker.start(Stage::Pools);
    checker.pools(data.pools).unwrap();
    checker.start(Stage::Nodes);
    checker.nodes(&data.nodes).unwrap();
    checker.start(Stage::Services);
    checker.services(&data.services, data.assign_ips);
    checker.start(Stage::Workloads);
    checker.workloads(&data.workloads).unwrap();
    checker.start(Stage::Handles);
    checker.handles(data.handles);
    checker.finish(now())
}

fn all() -> CheckOptions {
    CheckOptions {
        show_all_ips: true,
        show_problem_ips: true,
        version: "v0".into(),
    }
}

fn pod_attribute(handle: &str, pod: &str) -> serde_json::Value {
    json!({"handle_id": handle, "secondary": {"namespace": "ns", "node": "node-a", "pod": pod,
        "timestamp": "2026-12-05 21:57:33.999115904 +0000 UTC"}})
}

#[test]
fn a_clean_cluster_has_no_problems_and_a_full_report() {
    let outcome = run(
        CheckOptions::default(),
        Data {
            blocks: vec![block(json!({
                "cidr": "10.0.0.0/30", "affinity": "host:node-a",
                "allocations": [0, null, null, null], "unallocated": [1, 2, 3],
                "attributes": [pod_attribute("h0", "web-0")],
                "sequenceNumber": 5, "sequenceNumberForAllocation": {"0": 4}
            }))],
            workloads: vec![workload("ns", "wep-0", &["10.0.0.0/32"])],
            handles: vec![handle("h0", "3")],
            ..Data::default()
        },
    );
    assert_eq!(outcome.problems, 0);
    assert!(outcome
        .output
        .ends_with("Found 0 invalid IPAMBlocks.\nCheck complete; found 0 problems.\n"));
    assert_eq!(
        String::from_utf8(outcome.report.to_json()).unwrap(),
        r#"{
  "version": "",
  "clusterGUID": "guid",
  "datastoreLocked": true,
  "clusterInformationRevision": "12",
  "clusterType": "k8s",
  "allocations": {
    "10.0.0.0": [
      {
        "ip": "10.0.0.0",
        "handle": "h0",
        "sequenceNumber": 4,
        "pod": "web-0",
        "namespace": "ns",
        "node": "node-a",
        "creationTimestamp": "2026-12-05 21:57:33.999115904 +0000 UTC",
        "inUse": true,
        "owners": [
          "Workload(ns/wep-0)"
        ]
      }
    ]
  }
}"#
    );
}

#[test]
fn every_problem_kind_is_found_and_counted() {
    let outcome = run(
        all(),
        Data {
            blocks: vec![block(json!({
                "cidr": "10.0.0.0/30", "affinity": "host:node-a",
                "allocations": [0, 1, 2, null], "unallocated": [3],
                "attributes": [
                    pod_attribute("h-used", "web-0"),
                    pod_attribute("h-leaky", "leaky"),
                    {"handle_id": "h-cool", "releasedAt": "2026-12-05T23:59:00Z"}
                ],
                "sequenceNumber": 5, "sequenceNumberForAllocation": {}
            }))],
            pools: vec![("10.0.0.0/16", false), ("10.9.0.0/16", true)],
            workloads: vec![
                workload("ns", "wep-0", &["10.0.0.0/32", "10.0.5.5/32"]),
                workload("ns", "wep-1", &["10.9.0.1", "10.0.0.0"]),
            ],
            handles: vec![handle("h-used", "3"), handle("h-gone", "4")],
            ..Data::default()
        },
    );
    assert_eq!(
        scans(&outcome.output),
        "Looking for top (up to 20) nodes by allocations...
  node-a has 3 allocations
Node with most allocations has 3; median is 3

Scanning for IPs that are allocated but not actually in use...
  10.0.0.1 leaked; attrs Main:h-leaky Extra:namespace=ns,node=node-a,pod=leaky,timestamp=2026-12-05 21:57:33.999115904 +0000 UTC
Found 1 IPs that are allocated in IPAM but not actually in use.
Scanning for IPs that are in use by a workload or node but not allocated in IPAM...
  10.0.0.0 has multiple owners.
  10.0.5.5 in use by Workload(ns/wep-0) and in active IPAM pool but has no IPAM allocation.
  10.9.0.1 in use by Workload(ns/wep-1) is not in any active IP pool.
Found 1 in-use IPs that are not in active IP pools.
Found 1 in-use IPs that are in active IP pools but have no corresponding IPAM allocation.

Scanning for IPAM handles with no matching IPs...
  h-gone doesn't have any active IPs.
Found 1 handles with no matching IPs (and 1 handles with matches).
Scanning for IPs with missing handle...
  h-cool is in use in a block but doesn't exist.
  h-leaky is in use in a block but doesn't exist.
Found 2 handles mentioned in blocks with no matching handle resource.
Validating IPAMBlock structures...
Found 0 invalid IPAMBlocks.
Check complete; found 4 problems.
"
    );
    let report = &outcome.report;
    assert_eq!(report.leaked_handles, vec![handle("h-gone", "4")]);
    let used = &report.allocations["10.0.0.0"][0];
    assert_eq!(
        used.owners.as_deref(),
        Some(
            &[
                "Workload(ns/wep-0)".to_string(),
                "Workload(ns/wep-1)".to_string()
            ][..]
        )
    );
    assert!(report.allocations["10.0.0.2"][0].cooling_down);
    assert_eq!(report.allocations["10.0.0.1"][0].owners, None);
}

#[test]
fn malformed_blocks_are_reported_not_panicked_on() {
    let outcome = run(
        all(),
        Data {
            blocks: vec![
                // Fewer allocations than addresses (Calico's check would crash).
                block(json!({
                    "cidr": "10.0.0.0/30", "affinity": "host:node-a",
                    "allocations": [0], "unallocated": [1, 2, 3],
                    "attributes": [pod_attribute("h0", "a")],
                    "sequenceNumber": 1, "sequenceNumberForAllocation": {}
                })),
                // An attribute index past the attributes, and a negative one.
                block(json!({
                    "cidr": "10.0.0.4/30", "affinity": null,
                    "allocations": [7, -1, null, null], "unallocated": [2, 3],
                    "attributes": null,
                    "sequenceNumber": 1, "sequenceNumberForAllocation": null
                })),
                // More allocations than addresses: the extra one is recorded past the block.
                block(json!({
                    "cidr": "10.0.0.8/31", "affinity": "host:node-b",
                    "allocations": [null, null, 0], "unallocated": [0, 1],
                    "attributes": [{"secondary": {"node": "node-b"}}],
                    "sequenceNumber": 1, "sequenceNumberForAllocation": {}
                })),
            ],
            // A handle whose block does not exist.
            handles: vec![handle("h-nowhere", "9"), handle("h0", "2")],
            ..Data::default()
        },
    );
    let output = &outcome.output;
    contains_all(
        output,
        &[
            "  10.0.0.4 allocated; attrs <missing>\n",
            "  10.0.0.5 allocated; attrs <missing>\n",
            "  10.0.0.10 allocated; attrs Main:<none> Extra:node=node-b\n",
            "  IPAMBlock BlockKey(cidr=10.0.0.0/30) is invalid: expected 4 allocations in this block, but it has 1\n",
            "  IPAMBlock BlockKey(cidr=10.0.0.4/30) is invalid: allocation 0 indexes a nonexistent attribute 7\n",
            "  IPAMBlock BlockKey(cidr=10.0.0.8/31) is invalid: expected 2 allocations in this block, but it has 3\n",
            "  h-nowhere doesn't have any active IPs.\n",
            "   has 2 allocations\n",
        ],
    );
    // Four leaked addresses, one leaked handle, three invalid blocks.
    assert!(output.ends_with("Found 3 invalid IPAMBlocks.\nCheck complete; found 8 problems.\n"));
    // The allocations of an unaffine block with no attribute have no node.
    assert_eq!(outcome.report.allocations["10.0.0.4"][0].node, "");
    assert!(!outcome.report.allocations["10.0.0.4"][0].borrowed);
}

proptest::proptest! {
    /// Any block, however broken, is checked without a panic, and every allocation it holds
    /// is in the report.
    #[test]
    fn any_block_is_checked_without_a_panic(
        prefix in 26u8..=32,
        allocations in proptest::collection::vec(proptest::option::of(-2i64..5), 0..70),
        unallocated in proptest::collection::vec(-2i64..70, 0..70),
        attributes in 0usize..4,
        affinity in proptest::option::of("(host|virtual):[a-c]"),
    ) {
        let attributes: Vec<serde_json::Value> = (0..attributes)
            .map(|i| json!({"handle_id": format!("h{i}"), "secondary": {"node": format!("n{i}")}}))
            .collect();
        let count = allocations.iter().filter(|a| a.is_some()).count();
        let outcome = run(all(), Data {
            blocks: vec![block(json!({
                "cidr": format!("10.0.0.0/{prefix}"), "affinity": affinity,
                "allocations": allocations, "unallocated": unallocated,
                "attributes": attributes,
                "sequenceNumber": 1, "sequenceNumberForAllocation": {}
            }))],
            workloads: vec![workload("ns", "w", &["10.0.0.1/32", "10.0.0.2"])],
            ..Data::default()
        });
        let recorded: usize = outcome.report.allocations.values().map(Vec::len).sum();
        proptest::prop_assert_eq!(recorded, count);
        let expected_count = format!("IPAM blocks record {count} allocations.");
        proptest::prop_assert!(outcome.output.contains(&expected_count));
    }
}

#[test]
fn windows_reserved_addresses_are_in_use_without_being_marked() {
    let outcome = run(
        all(),
        Data {
            blocks: vec![block(json!({
                "cidr": "10.0.0.0/30", "affinity": "host:win",
                "allocations": [0, null, null, 0], "unallocated": [1, 2],
                "attributes": [{"handle_id": "windows-reserved-ipam-handle",
                    "secondary": {"note": "windows host reserved"}}],
                "sequenceNumber": 1, "sequenceNumberForAllocation": {}
            }))],
            ..Data::default()
        },
    );
    assert!(outcome.output.contains(
        " IPAM block 10.0.0.0/30 affinity=host:win:\n  10.0.0.0 belongs to Reserved for Windows\n  10.0.0.0 allocated; attrs Main:windows-reserved-ipam-handle Extra:note=windows host reserved\n"
    ));
    assert!(outcome
        .output
        .contains("Found 0 IPs that are allocated in IPAM but not actually in use.\n"));
    // Recorded in use before the allocation itself, so the allocation is not marked.
    let reserved = &outcome.report.allocations["10.0.0.0"][0];
    assert!(!reserved.in_use);
    assert_eq!(reserved.handle, "");
    assert_eq!(reserved.node, "win");
    assert_eq!(outcome.problems, 0);
}

#[test]
fn node_tunnel_and_service_addresses_are_in_use() {
    let service = |name: &str, class: Option<&str>, ips: &[&str]| ServiceInfo {
        name: name.into(),
        service_type: "LoadBalancer".into(),
        load_balancer_class: class.map(str::to_string),
        ingress_ips: ips.iter().map(|s| s.to_string()).collect(),
        ..ServiceInfo::default()
    };
    let outcome = run(
        all(),
        Data {
            nodes: vec![node(
                "node-a",
                json!({"ipv4VXLANTunnelAddr": "10.0.1.1",
                    "bgp": {"ipv4Address": "192.168.0.1/24", "ipv4IPIPTunnelAddr": "10.0.1.2"},
                    "wireguard": {"interfaceIPv4Address": "10.0.1.3"}}),
            )],
            services: vec![
                service("lb", None, &["10.0.2.1", ""]),
                service("other-class", Some("metallb"), &["10.0.2.2"]),
            ],
            assign_ips: Some("AllServices"),
            ..Data::default()
        },
    );
    contains_all(
        &outcome.output,
        &[
            "  10.0.1.1 belongs to Node(node-a)\n  10.0.1.3 belongs to Node(node-a)\n  10.0.1.2 belongs to Node(node-a)\nFound 3 node tunnel IPs.\n",
            "  10.0.2.1 belongs to lb\n   belongs to lb\nFound 1 service load balancer(s).\n\n",
            // The ingress without an address counts as outside every pool, as in Calico.
            "Found 1 in-use IPs that are not in active IP pools.\n",
            "Workloads and nodes are using 5 IPs.\n",
        ],
    );
}

#[test]
fn calico_managed_load_balancers() {
    let svc = |class: Option<&str>, annotation: bool, ip: &str| ServiceInfo {
        name: "s".into(),
        service_type: "LoadBalancer".into(),
        load_balancer_class: class.map(str::to_string),
        load_balancer_ip: ip.into(),
        annotations: if annotation {
            BTreeMap::from([(
                "projectcalico.org/ipv4pools".to_string(),
                "[\"p\"]".to_string(),
            )])
        } else {
            BTreeMap::new()
        },
        ingress_ips: vec![],
    };
    assert!(svc(None, false, "").is_calico_managed("AllServices"));
    assert!(svc(Some("calico"), false, "").is_calico_managed("AllServices"));
    assert!(!svc(Some("x"), false, "").is_calico_managed("AllServices"));
    assert!(!svc(None, false, "").is_calico_managed("RequestedServicesOnly"));
    assert!(svc(Some("calico"), false, "").is_calico_managed("RequestedServicesOnly"));
    assert!(svc(None, true, "").is_calico_managed("RequestedServicesOnly"));
    assert!(svc(None, false, "1.2.3.4").is_calico_managed("RequestedServicesOnly"));
    assert!(!svc(Some("x"), true, "").is_calico_managed("RequestedServicesOnly"));
    assert!(!svc(None, false, "").is_calico_managed(""));
    let cluster_ip = ServiceInfo {
        service_type: "ClusterIP".into(),
        ..svc(None, false, "")
    };
    assert!(!cluster_ip.is_calico_managed("AllServices"));
}

#[test]
fn addresses_are_normalised_as_calico_does() {
    for (text, want) in [
        ("10.0.0.1/32", "10.0.0.1"),
        ("10.0.0.1", "10.0.0.1"),
        ("::ffff:10.0.0.1", "10.0.0.1"),
        ("fd00:0::1/128", "fd00::1"),
    ] {
        assert_eq!(normalise_ip(text).unwrap(), want);
    }
    for text in ["10.0.0.1/33", "nope", "10.0.0.1/", "10.0.0.1/+3"] {
        assert_eq!(
            normalise_ip(text).unwrap_err(),
            format!("invalid CIDR address: {text}")
        );
    }
    assert_eq!(
        parse_cidr("10.1.2.3/16").unwrap(),
        "10.1.0.0/16".parse::<IpNet>().unwrap()
    );
    assert!(parse_cidr("10.1.2.3").is_err());
}

#[test]
fn unparsable_addresses_stop_the_check_with_calicos_texts() {
    let mut checker = Checker::new(CheckOptions::default());
    checker.start(Stage::Nodes);
    assert_eq!(
        checker
            .nodes(&[node("n", json!({"ipv4VXLANTunnelAddr": "bad"}))])
            .unwrap_err(),
        "failed to parse IPv4VXLANTunnelAddr (bad) of node n: invalid CIDR address: bad"
    );
    assert_eq!(
        checker
            .workloads(&[workload("ns", "w", &["10.0.0.1/40"])])
            .unwrap_err(),
        "failed to parse IP (10.0.0.1/40) of workload ns/w: invalid CIDR address: 10.0.0.1/40"
    );
    assert_eq!(
        checker.pools([("10.0.0.0/99", false)]).unwrap_err(),
        "failed to parse IP pool CIDR: invalid CIDR address: 10.0.0.0/99"
    );
    let failure = checker.fail("boom");
    assert_eq!(
        failure.output,
        "Checking IPAM for inconsistencies...\n\nLoading all nodes.\n  10.0.0.0/99\n"
    );
    assert_eq!(failure.error, "boom");
}

#[test]
fn top_nodes_by_count_then_name_with_the_median() {
    let allocations: Vec<serde_json::Value> = (0..24).map(|i| json!(i)).collect();
    let attributes: Vec<serde_json::Value> = (0..24)
        .map(|i| json!({"secondary": {"node": format!("n{:02}", i % 22)}}))
        .collect();
    let outcome = run(
        CheckOptions::default(),
        Data {
            blocks: vec![block(json!({
                "cidr": "10.0.0.0/27", "affinity": null,
                "allocations": allocations.iter().cloned().chain((24..32).map(|_| json!(null))).collect::<Vec<_>>(),
                "unallocated": (24..32).collect::<Vec<_>>(),
                "attributes": attributes,
                "sequenceNumber": 1, "sequenceNumberForAllocation": {}
            }))],
            ..Data::default()
        },
    );
    let top = scans(&outcome.output);
    assert!(top.starts_with(
        "Looking for top (up to 20) nodes by allocations...\n  n00 has 2 allocations\n  n01 has 2 allocations\n  n02 has 1 allocations\n"
    ));
    assert_eq!(top.matches(" allocations\n").count(), 20);
    assert!(
        top.contains("  n19 has 1 allocations\nNode with most allocations has 2; median is 1\n\n")
    );
}

#[test]
fn the_report_reads_back_and_escapes_as_go_does() {
    let report = CheckReport {
        version: "v<1>&".into(),
        allocations: BTreeMap::from([(
            "10.0.0.1".to_string(),
            vec![Allocation {
                ip: "10.0.0.1".into(),
                sequence_number: Some(0),
                borrowed: true,
                ..Allocation::default()
            }],
        )]),
        leaked_handles: vec![handle("h", "7")],
        ..CheckReport::default()
    };
    let bytes = report.to_json();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains(r#""version": "v\u003c1\u003e\u0026","#));
    assert!(text.contains(
        "\"sequenceNumber\": 0,\n        \"inUse\": false,\n        \"borrowed\": true,\n        \"owners\": null\n"
    ));
    assert!(text.contains("\"ID\": \"h\",\n      \"UID\": null,\n      \"Revision\": \"7\"\n"));
    assert_eq!(CheckReport::from_json(&bytes).unwrap(), report);
    let sparse =
        CheckReport::from_json(br#"{"allocations": null, "leakedHandles": null}"#).unwrap();
    assert_eq!(sparse, CheckReport::default());
    assert!(!String::from_utf8(CheckReport::default().to_json())
        .unwrap()
        .contains("leakedHandles"));
}

mod store {
    use std::sync::Arc;

    use calico_api::decode_value;
    use calico_api::model::{HandleKey, IPAMHandle};
    use calico_datastore::{EmbeddedStore, KvBackend};

    use super::*;

    fn client(dir: &tempfile::TempDir) -> Client {
        let store = EmbeddedStore::open(dir.path().join("calico.db")).unwrap();
        Client::new(Arc::new(KvBackend::new(store)))
    }

    async fn no_services() -> Result<Vec<ServiceInfo>, String> {
        Ok(vec![])
    }

    async fn create(client: &Client, value: serde_json::Value) {
        client.create(decode_value(value).unwrap()).await.unwrap();
    }

    /// The datastore read in Calico's order, each failure after what was printed before it.
    #[tokio::test]
    async fn check_reads_the_datastore_and_stops_where_calico_stops() {
        let dir = tempfile::tempdir().unwrap();
        let client = client(&dir);
        let failure = check(&client, CheckOptions::default(), no_services())
            .await
            .unwrap_err();
        assert_eq!(failure.output, "Checking IPAM for inconsistencies...\n\n");
        assert_eq!(
            failure.error,
            "resource does not exist: ClusterInformation(default) with error: <nil>"
        );

        client.ensure_initialized("", "").await.unwrap();
        let (key, block) = block(json!({
            "cidr": "10.0.0.0/30", "affinity": "host:node-a",
            "allocations": [0, null, null, null], "unallocated": [1, 2, 3],
            "attributes": [pod_attribute("h0", "web-0")],
            "sequenceNumber": 5, "sequenceNumberForAllocation": {"0": 4}
        }));
        let backend = client.backend();
        backend
            .create_model(key, ModelValue::Block(block))
            .await
            .unwrap();
        for id in ["h0", "h-leaked"] {
            backend
                .create_model(
                    ModelKey::Handle(HandleKey::new(id)),
                    ModelValue::Handle(IPAMHandle::default()),
                )
                .await
                .unwrap();
        }
        create(
            &client,
            json!({"kind": "IPPool", "apiVersion": "projectcalico.org/v3",
                "metadata": {"name": "p"}, "spec": {"cidr": "10.0.0.0/16"}}),
        )
        .await;

        // The Services are listed first, then the KubeControllersConfiguration is read.
        let failure = check(&client, CheckOptions::default(), async {
            Err::<Vec<ServiceInfo>, _>("services: forbidden".to_string())
        })
        .await
        .unwrap_err();
        assert_eq!(failure.error, "services: forbidden");
        assert!(failure
            .output
            .ends_with("Found 0 node tunnel IPs.\n\nLoading all service load balancer IPs.\n"));
        let failure = check(&client, CheckOptions::default(), no_services())
            .await
            .unwrap_err();
        assert_eq!(
            failure.error,
            "resource does not exist: KubeControllersConfiguration(default) with error: <nil>"
        );

        create(
            &client,
            json!({"kind": "KubeControllersConfiguration", "apiVersion": "projectcalico.org/v3",
                "metadata": {"name": "default"},
                "spec": {"controllers": {"loadBalancer": {"assignIPs": "AllServices"}}}}),
        )
        .await;
        let services = async {
            Ok(vec![ServiceInfo {
                name: "lb".into(),
                service_type: "LoadBalancer".into(),
                ingress_ips: vec!["10.0.0.0".into()],
                ..ServiceInfo::default()
            }])
        };
        let (outcome, unreadable) = check(&client, all(), services).await.unwrap();
        assert!(unreadable.is_empty());
        contains_all(
            &outcome.output,
            &[
                " IPAM block 10.0.0.0/30 affinity=host:node-a:\n",
                "  10.0.0.0 belongs to lb\nFound 1 service load balancer(s).\n",
                "  h-leaked doesn't have any active IPs.\nFound 1 handles with no matching IPs (and 1 handles with matches).\n",
                "Check complete; found 1 problems.\n",
            ],
        );
        let report = &outcome.report;
        assert_eq!(report.leaked_handles.len(), 1);
        assert_eq!(report.leaked_handles[0].id, "h-leaked");
        assert!(!report.leaked_handles[0].revision.is_empty());
        assert!(!report.cluster_guid.is_empty());
        assert!(!report.datastore_locked);
        assert_eq!(
            report.allocations["10.0.0.0"][0].owners,
            Some(vec!["lb".to_string()])
        );
    }
}
