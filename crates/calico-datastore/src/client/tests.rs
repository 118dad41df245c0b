use super::*;
use crate::key::KindRef;
use crate::{EmbeddedStore, KvBackend};
use calico_api::{decode_value, AnyResource};
use serde_json::json;

struct Fixture {
    _dir: tempfile::TempDir,
    client: Client,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path().join("calico.db")).unwrap();
    Fixture {
        _dir: dir,
        client: Client::new(Arc::new(KvBackend::new(store))),
    }
}

fn doc(value: serde_json::Value) -> AnyResource {
    decode_value(value).unwrap()
}

fn key(kind: &str, namespace: &str, name: &str) -> ResourceKey {
    ResourceKey::new(KindRef::lookup(kind).unwrap(), namespace, name)
}

fn pool(name: &str, cidr: &str) -> AnyResource {
    doc(
        json!({"apiVersion": "projectcalico.org/v3", "kind": "IPPool",
        "metadata": {"name": name}, "spec": {"cidr": cidr}}),
    )
}

#[tokio::test]
async fn create_stamps_identity_and_update_needs_it() {
    let f = fixture();
    let created = f.client.create(pool("p1", "10.0.0.0/16")).await.unwrap();
    let meta = created.metadata();
    assert_eq!(meta.uid.len(), 36);
    assert!(meta.creation_timestamp.is_some());
    assert!(!meta.resource_version.is_empty());

    let mut with_revision = pool("p2", "10.1.0.0/16");
    with_revision.metadata_mut().resource_version = "5".into();
    let err = f.client.create(with_revision).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "error with field Metadata.ResourceVersion = '5' (field must not be set for a Create request)"
    );

    let mut bare = pool("p1", "10.0.0.0/16");
    bare.metadata_mut().resource_version = meta.resource_version.clone();
    let err = f.client.update(bare).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "error with field Metadata.CreationTimestamp = '0001-01-01 00:00:00 +0000 UTC' (field must be set for an Update request)"
    );
}

#[tokio::test]
async fn pools_get_defaults_and_refuse_overlap_and_cidr_changes() {
    let f = fixture();
    let created = f.client.create(pool("p1", "10.0.0.0/16")).await.unwrap();
    let AnyResource::IPPool(stored) = &created else {
        panic!("not a pool")
    };
    assert_eq!(stored.spec.block_size, 26);
    assert_eq!(stored.spec.node_selector, "all()");

    let err = f
        .client
        .create(pool("p2", "10.0.128.0/17"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("overlaps with IPPool(p1)"),
        "{err}"
    );

    let mut moved = created.clone();
    if let AnyResource::IPPool(p) = &mut moved {
        p.spec.cidr = "10.9.0.0/16".into();
    }
    let err = f.client.update(moved).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "error with field IPPool.Spec.CIDR = '10.9.0.0/16' (IPPool CIDR cannot be modified)"
    );
}

#[tokio::test]
async fn ensure_initialized_creates_cluster_information_and_tiers() {
    let f = fixture();
    f.client.ensure_initialized("v3.32.0", "k8s").await.unwrap();
    let info = f
        .client
        .get(&key("ClusterInformation", "", "default"))
        .await
        .unwrap();
    let spec = info.to_json_value().unwrap()["spec"].clone();
    assert_eq!(spec["calicoVersion"], "v3.32.0");
    assert_eq!(spec["datastoreReady"], true);
    assert_eq!(spec["clusterGUID"].as_str().unwrap().len(), 32);
    for tier in ["default", "kube-admin", "kube-baseline"] {
        f.client.get(&key("Tier", "", tier)).await.unwrap();
    }

    // A lock (datastoreReady false) survives, the version moves on, types merge.
    let mut locked = info.to_json_value().unwrap();
    locked["spec"]["datastoreReady"] = json!(false);
    f.client.update(doc(locked)).await.unwrap();
    f.client.ensure_initialized("v3.33.0", "bgp").await.unwrap();
    let spec = f
        .client
        .get(&key("ClusterInformation", "", "default"))
        .await
        .unwrap()
        .to_json_value()
        .unwrap()["spec"]
        .clone();
    assert_eq!(spec["datastoreReady"], false);
    assert_eq!(spec["calicoVersion"], "v3.33.0");
    assert_eq!(spec["clusterType"], "k8s,bgp");

    let err = f
        .client
        .delete(&key("Tier", "", "default"), None)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "operation Delete is not supported on default: Cannot delete default tier"
    );
}

#[tokio::test]
async fn default_allow_profile_is_built_in() {
    let f = fixture();
    let profile = f
        .client
        .get(&key("Profile", "", "projectcalico-default-allow"))
        .await
        .unwrap();
    assert_eq!(profile.metadata().resource_version, "1");
    let list = f
        .client
        .list(&ListOptions::all(KindRef::lookup("Profile").unwrap()))
        .await
        .unwrap();
    assert_eq!(list.items.len(), 1);
    let err = f
        .client
        .delete(&key("Profile", "", "projectcalico-default-allow"), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot be deleted"), "{err}");
}

#[tokio::test]
async fn deleting_a_node_deletes_what_belongs_to_it() {
    let f = fixture();
    f.client
        .create(doc(
            json!({"apiVersion": "projectcalico.org/v3", "kind": "Node",
            "metadata": {"name": "n1"}, "spec": {}}),
        ))
        .await
        .unwrap();
    for (name, node) in [("n1-eth0", "n1"), ("n2-eth0", "n2")] {
        f.client
            .create(doc(
                json!({"apiVersion": "projectcalico.org/v3", "kind": "HostEndpoint",
                "metadata": {"name": name},
                "spec": {"node": node, "interfaceName": "eth0"}}),
            ))
            .await
            .unwrap();
    }
    f.client.delete(&key("Node", "", "n1"), None).await.unwrap();
    assert!(f
        .client
        .get(&key("HostEndpoint", "", "n1-eth0"))
        .await
        .unwrap_err()
        .is_not_found());
    f.client
        .get(&key("HostEndpoint", "", "n2-eth0"))
        .await
        .unwrap();
}

#[tokio::test]
async fn bgp_peers_need_their_filters() {
    let f = fixture();
    let peer = doc(
        json!({"apiVersion": "projectcalico.org/v3", "kind": "BGPPeer",
        "metadata": {"name": "peer"},
        "spec": {"peerIP": "192.0.2.1", "asNumber": 64512, "filters": ["f1"]}}),
    );
    let err = f.client.create(peer.clone()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "error with field spec.filters = 'f1' (BGPFilter(s) not found)"
    );
    f.client
        .create(doc(
            json!({"apiVersion": "projectcalico.org/v3", "kind": "BGPFilter",
            "metadata": {"name": "f1"}, "spec": {}}),
        ))
        .await
        .unwrap();
    f.client.create(peer).await.unwrap();
}

#[tokio::test]
async fn a_pool_is_disabled_before_it_is_deleted() {
    let f = fixture();
    f.client.create(pool("p1", "10.0.0.0/16")).await.unwrap();
    let kind = KindRef::lookup("IPPool").unwrap();
    let mut watch = f.client.watch(&ListOptions::all(kind), None).await.unwrap();
    let deleted = f
        .client
        .delete(&key("IPPool", "", "p1"), None)
        .await
        .unwrap();
    let AnyResource::IPPool(deleted) = deleted else {
        panic!("not a pool")
    };
    assert!(deleted.spec.disabled);
    use futures::StreamExt;
    let mut seen = Vec::new();
    for _ in 0..4 {
        match watch.next().await.unwrap() {
            crate::WatchEvent::Added(_) => seen.push("ADDED"),
            crate::WatchEvent::InitDone { .. } => seen.push("INIT-DONE"),
            crate::WatchEvent::Modified { current, .. } => {
                let AnyResource::IPPool(p) = current else {
                    panic!()
                };
                assert!(p.spec.disabled);
                seen.push("MODIFIED");
            }
            crate::WatchEvent::Deleted(_) => seen.push("DELETED"),
            crate::WatchEvent::Error(e) => panic!("{e}"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, ["ADDED", "INIT-DONE", "MODIFIED", "DELETED"]);
}

#[tokio::test]
async fn policies_need_their_tier_and_keep_it_from_being_deleted() {
    let f = fixture();
    let policy = |tier: &str| {
        doc(
            json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
            "metadata": {"name": "p"}, "spec": {"tier": tier, "selector": "all()"}}),
        )
    };
    let err = f.client.create(policy("security")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "resource does not exist: Tier(security) with error: <nil>"
    );
    f.client
        .create(doc(
            json!({"apiVersion": "projectcalico.org/v3", "kind": "Tier",
            "metadata": {"name": "security"}, "spec": {"order": 100}}),
        ))
        .await
        .unwrap();
    let created = f.client.create(policy("security")).await.unwrap();
    assert_eq!(
        created
            .metadata()
            .labels
            .get("projectcalico.org/tier")
            .map(String::as_str),
        Some("security")
    );
    let err = f
        .client
        .delete(&key("Tier", "", "security"), None)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "operation delete is not supported on security: Cannot delete a non-empty tier"
    );
    f.client
        .delete(&key("GlobalNetworkPolicy", "", "p"), None)
        .await
        .unwrap();
    f.client
        .delete(&key("Tier", "", "security"), None)
        .await
        .unwrap();
    // The client remembered the tier for the policy writes above; deleting it forgets it.
    let err = f.client.create(policy("security")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "resource does not exist: Tier(security) with error: <nil>"
    );
}

fn policy(kind: &str, name: &str, spec: serde_json::Value) -> AnyResource {
    let mut metadata = json!({"name": name});
    if kind == "NetworkPolicy" || kind == "StagedNetworkPolicy" {
        metadata["namespace"] = json!("default");
    }
    doc(
        json!({"apiVersion": "projectcalico.org/v3", "kind": kind, "metadata": metadata, "spec": spec}),
    )
}

/// The stored bytes of a key, as Calico's etcd layout keeps them.
async fn stored_spec(f: &Fixture, k: &ResourceKey) -> serde_json::Value {
    let resource = f.client.backend().get(k, None).await.unwrap();
    resource.to_json_value().unwrap()["spec"].clone()
}

#[tokio::test]
async fn policies_are_stored_in_the_default_tier_with_calicos_crd_defaults() {
    let f = fixture();
    f.client.ensure_initialized("", "").await.unwrap();
    for kind in [
        "NetworkPolicy",
        "GlobalNetworkPolicy",
        "StagedNetworkPolicy",
        "StagedGlobalNetworkPolicy",
    ] {
        let created = f
            .client
            .create(policy(kind, "p1", json!({"selector": "all()"})))
            .await
            .unwrap();
        let ns = created.metadata().namespace.clone();
        let spec = stored_spec(&f, &key(kind, &ns, "p1")).await;
        assert_eq!(spec["tier"], json!("default"), "{kind}");
        assert_eq!(spec["types"], json!(["Ingress"]), "{kind}");
        let staged = kind.starts_with("Staged");
        assert_eq!(spec.get("stagedAction").is_some(), staged, "{kind}");
        if staged {
            assert_eq!(spec["stagedAction"], json!("Set"));
        }
    }
}

#[tokio::test]
async fn reads_print_what_is_stored() {
    let f = fixture();
    // Written without the client (as an older Calico or etcdctl would): no defaults.
    let tier = doc(json!({"apiVersion": "projectcalico.org/v3", "kind": "Tier",
        "metadata": {"name": "t1", "uid": "u", "creationTimestamp": "2024-01-01T00:00:00Z"}, "spec": {}}));
    f.client.backend().create(tier).await.unwrap();
    let mut gnp = policy("GlobalNetworkPolicy", "g1", json!({"selector": "all()"}));
    gnp.metadata_mut().uid = "u2".into();
    f.client.backend().create(gnp).await.unwrap();

    // Calico's Get of a Tier defaults nothing; its List fills in order and action.
    let got = f.client.get(&key("Tier", "", "t1")).await.unwrap();
    assert_eq!(got.to_json_value().unwrap()["spec"], json!({}));
    let listed = f
        .client
        .list(&ListOptions::all(KindRef::lookup("Tier").unwrap()))
        .await
        .unwrap();
    assert_eq!(
        listed.items[0].to_json_value().unwrap()["spec"],
        json!({"order": 1000000, "defaultAction": "Deny"})
    );

    // A policy gets its tier label, and nothing else: no `types`, no `tier`.
    let got = f
        .client
        .get(&key("GlobalNetworkPolicy", "", "g1"))
        .await
        .unwrap();
    let value = got.to_json_value().unwrap();
    assert_eq!(value["spec"], json!({"selector": "all()"}));
    assert_eq!(
        value["metadata"]["labels"],
        json!({"projectcalico.org/tier": "default"})
    );
}

#[tokio::test]
async fn felix_bgp_and_kube_controllers_get_the_crd_defaults() {
    let f = fixture();
    let config = |kind: &str, spec: serde_json::Value| {
        doc(json!({"apiVersion": "projectcalico.org/v3", "kind": kind,
            "metadata": {"name": "default"}, "spec": spec}))
    };
    f.client
        .create(config("FelixConfiguration", json!({})))
        .await
        .unwrap();
    f.client
        .create(config("BGPConfiguration", json!({})))
        .await
        .unwrap();
    f.client
        .create(config(
            "KubeControllersConfiguration",
            json!({"controllers": {"migration": {}}}),
        ))
        .await
        .unwrap();
    let felix = stored_spec(&f, &key("FelixConfiguration", "", "default")).await;
    assert_eq!(felix["nftablesMode"], json!("Auto"));
    assert_eq!(felix["nftablesFlowTableOffload"], json!("Disabled"));
    let bgp = stored_spec(&f, &key("BGPConfiguration", "", "default")).await;
    assert_eq!(
        bgp,
        json!({"logSeverityScreen": "Info", "serviceLoadBalancerAggregation": "Enabled"})
    );
    let kcc = stored_spec(&f, &key("KubeControllersConfiguration", "", "default")).await;
    assert_eq!(kcc["healthChecks"], json!("Enabled"));
    assert_eq!(
        kcc["controllers"]["migration"],
        json!({"policyNameMigrator": "Enabled"})
    );
}

#[tokio::test]
async fn a_pool_delete_at_a_stale_revision_writes_nothing() {
    let f = fixture();
    let created = f.client.create(pool("p1", "10.0.0.0/16")).await.unwrap();
    let current = created.metadata().resource_version.clone();
    let k = key("IPPool", "", "p1");
    let err = f.client.delete(&k, Some("999")).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    let after = f.client.get(&k).await.unwrap();
    assert_eq!(after.metadata().resource_version, current);
    let AnyResource::IPPool(after) = after else {
        panic!("not a pool")
    };
    assert!(!after.spec.disabled);
    // At the current revision the pool is disabled, then deleted.
    f.client.delete(&k, Some(&current)).await.unwrap();
    assert!(f.client.get(&k).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn a_node_delete_at_a_stale_revision_keeps_its_dependents() {
    let f = fixture();
    let node = doc(json!({"apiVersion": "projectcalico.org/v3", "kind": "Node",
        "metadata": {"name": "n1"}, "spec": {}}));
    let node = f.client.create(node).await.unwrap();
    let hep = doc(
        json!({"apiVersion": "projectcalico.org/v3", "kind": "HostEndpoint",
        "metadata": {"name": "h1"}, "spec": {"node": "n1", "interfaceName": "eth0"}}),
    );
    f.client.create(hep).await.unwrap();
    let err = f
        .client
        .delete(&key("Node", "", "n1"), Some("999"))
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
    f.client.get(&key("HostEndpoint", "", "h1")).await.unwrap();
    let revision = node.metadata().resource_version.clone();
    f.client
        .delete(&key("Node", "", "n1"), Some(&revision))
        .await
        .unwrap();
    assert!(f
        .client
        .get(&key("HostEndpoint", "", "h1"))
        .await
        .unwrap_err()
        .is_not_found());
}

/// Records what the cascades ask of the IPAM layer, and what still exists when they ask.
#[derive(Default)]
struct RecordingIpam {
    calls: std::sync::Mutex<Vec<String>>,
    /// Fails `remove_host` with this error (by kind: "unsupported" or "store").
    fail_remove_host: Option<&'static str>,
}

impl RecordingIpam {
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl IpamCascade for RecordingIpam {
    async fn release_ips(&self, client: &Client, ips: &[std::net::IpAddr]) -> Result<()> {
        let weps = client
            .list(&ListOptions::all(
                KindRef::lookup("WorkloadEndpoint").unwrap(),
            ))
            .await?
            .items
            .len();
        let mut ips: Vec<String> = ips.iter().map(|ip| ip.to_string()).collect();
        ips.sort();
        self.calls.lock().unwrap().push(format!(
            "release_ips {} (endpoints left: {weps})",
            ips.join(",")
        ));
        Ok(())
    }

    async fn remove_host(&self, client: &Client, host: &str) -> Result<()> {
        let weps = client
            .list(&ListOptions::all(
                KindRef::lookup("WorkloadEndpoint").unwrap(),
            ))
            .await?
            .items
            .len();
        self.calls
            .lock()
            .unwrap()
            .push(format!("remove_host {host} (endpoints left: {weps})"));
        match self.fail_remove_host {
            Some("unsupported") => Err(DatastoreError::OperationNotSupported {
                operation: "RemoveIPAMHost".into(),
                identifier: host.into(),
                reason: None,
            }),
            Some(_) => Err(DatastoreError::Store("IPAM is down".into())),
            None => Ok(()),
        }
    }

    async fn release_pool_affinities(&self, client: &Client, cidr: &str) -> Result<()> {
        let pool = client.get(&key("IPPool", "", "p1")).await?;
        let AnyResource::IPPool(pool) = pool else {
            panic!("not a pool")
        };
        self.calls.lock().unwrap().push(format!(
            "release_pool_affinities {cidr} (disabled: {})",
            pool.spec.disabled
        ));
        Ok(())
    }
}

async fn node_with_endpoints(f: &Fixture) {
    f.client
        .create(doc(
            json!({"apiVersion": "projectcalico.org/v3", "kind": "Node",
            "metadata": {"name": "n1"},
            "spec": {"bgp": {"ipv4Address": "192.0.2.10/24", "ipv4IPIPTunnelAddr": "10.0.0.1"},
                     "ipv4VXLANTunnelAddr": "10.0.0.2", "ipv6VXLANTunnelAddr": "fd00::2",
                     "wireguard": {"interfaceIPv4Address": "10.0.0.3"}}}),
        ))
        .await
        .unwrap();
    for (node, ip) in [("n1", "10.0.1.5/32"), ("n2", "10.0.2.5/32")] {
        f.client
            .create(doc(json!({"apiVersion": "projectcalico.org/v3", "kind": "WorkloadEndpoint",
                "metadata": {"name": format!("{node}-k8s-pod-eth0"), "namespace": "default"},
                "spec": {"node": node, "orchestrator": "k8s", "endpoint": "eth0",
                         "pod": "pod", "interfaceName": "cali1", "ipNetworks": [ip, "fd00::1:5/128"]}})))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn deleting_a_node_releases_its_addresses_and_ipam_host_in_calicos_order() {
    let f = fixture();
    let ipam = Arc::new(RecordingIpam::default());
    let client = f.client.clone().with_ipam(ipam.clone());
    node_with_endpoints(&f).await;
    client.delete(&key("Node", "", "n1"), None).await.unwrap();
    assert_eq!(
        ipam.calls(),
        [
            // The node's endpoint addresses and IPv4 tunnel addresses, before its endpoints go.
            "release_ips 10.0.0.1,10.0.0.2,10.0.0.3,10.0.1.5,fd00::1:5 (endpoints left: 2)",
            "remove_host n1 (endpoints left: 1)",
        ]
    );
    client
        .get(&key("WorkloadEndpoint", "default", "n2-k8s-pod-eth0"))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_ipam_layer_without_support_is_passed_over_and_an_ipam_failure_stops_the_delete() {
    let f = fixture();
    node_with_endpoints(&f).await;
    let unsupported = Arc::new(RecordingIpam {
        fail_remove_host: Some("unsupported"),
        ..Default::default()
    });
    let failing = Arc::new(RecordingIpam {
        fail_remove_host: Some("store"),
        ..Default::default()
    });
    let err = f
        .client
        .clone()
        .with_ipam(failing)
        .delete(&key("Node", "", "n1"), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("IPAM is down"), "{err}");
    f.client.get(&key("Node", "", "n1")).await.unwrap();
    f.client
        .clone()
        .with_ipam(unsupported)
        .delete(&key("Node", "", "n1"), None)
        .await
        .unwrap();
    assert!(f
        .client
        .get(&key("Node", "", "n1"))
        .await
        .unwrap_err()
        .is_not_found());
}

#[tokio::test]
async fn deleting_a_pool_releases_its_affinities_after_disabling_it() {
    let f = fixture();
    let ipam = Arc::new(RecordingIpam::default());
    let client = f.client.clone().with_ipam(ipam.clone());
    client.create(pool("p1", "10.0.0.0/16")).await.unwrap();
    client.delete(&key("IPPool", "", "p1"), None).await.unwrap();
    // Already disabled: the affinities are still released.
    let mut disabled = pool("p1", "10.0.0.0/16");
    if let AnyResource::IPPool(p) = &mut disabled {
        p.spec.disabled = true;
    }
    client.create(disabled).await.unwrap();
    client.delete(&key("IPPool", "", "p1"), None).await.unwrap();
    assert_eq!(
        ipam.calls(),
        [
            "release_pool_affinities 10.0.0.0/16 (disabled: true)",
            "release_pool_affinities 10.0.0.0/16 (disabled: true)",
        ]
    );
}

#[tokio::test]
async fn dry_run_checks_everything_and_writes_nothing() {
    let f = fixture();
    let dry = f.client.dry_run();
    assert!(dry.is_dry_run() && !f.client.is_dry_run());
    let would = dry.create(pool("p1", "10.0.0.0/16")).await.unwrap();
    assert!(would.metadata().resource_version.is_empty());
    assert!(f
        .client
        .get(&key("IPPool", "", "p1"))
        .await
        .unwrap_err()
        .is_not_found());

    let stored = f.client.create(pool("p1", "10.0.0.0/16")).await.unwrap();
    assert!(dry
        .create(pool("p1", "10.0.0.0/16"))
        .await
        .unwrap_err()
        .is_already_exists());
    assert!(
        dry.create(pool("p2", "10.0.1.0/24")).await.is_err(),
        "overlap"
    );

    // An update at a stale revision conflicts; at the current one it writes nothing.
    let mut update = stored.clone();
    if let AnyResource::IPPool(p) = &mut update {
        p.spec.disabled = true;
    }
    let mut stale = update.clone();
    stale.metadata_mut().resource_version = format!("{}0", stored.metadata().resource_version);
    assert!(matches!(
        dry.update(stale).await,
        Err(DatastoreError::UpdateConflict { .. })
    ));
    dry.update(update).await.unwrap();
    let now = f.client.get(&key("IPPool", "", "p1")).await.unwrap();
    assert_eq!(
        now.metadata().resource_version,
        stored.metadata().resource_version
    );

    // Delete: the resource must exist (at the revision given), and stays.
    dry.delete(&key("IPPool", "", "p1"), None).await.unwrap();
    assert!(dry
        .delete(&key("IPPool", "", "p9"), None)
        .await
        .unwrap_err()
        .is_not_found());
    assert!(f.client.get(&key("IPPool", "", "p1")).await.is_ok());

    // A tier created in dry run counts for the dry run's later policies.
    let tier = doc(json!({"apiVersion": "projectcalico.org/v3", "kind": "Tier",
        "metadata": {"name": "t1"}, "spec": {"order": 10}}));
    dry.create(tier).await.unwrap();
    let policy = doc(
        json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
        "metadata": {"name": "t1.p"}, "spec": {"tier": "t1"}}),
    );
    dry.create(policy.clone()).await.unwrap();
    assert!(f.client.create(policy).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn update_if_changed_leaves_an_unchanged_resource_alone() {
    let f = fixture();
    let stored = f.client.create(pool("p1", "10.0.0.0/16")).await.unwrap();
    let same = f
        .client
        .update_if_changed(stored.clone(), &stored)
        .await
        .unwrap();
    assert_eq!(
        same.metadata().resource_version,
        stored.metadata().resource_version
    );
    let mut labelled = stored.clone();
    labelled
        .metadata_mut()
        .labels
        .insert("a".into(), "b".into());
    let written = f.client.update_if_changed(labelled, &stored).await.unwrap();
    assert_ne!(
        written.metadata().resource_version,
        stored.metadata().resource_version
    );
}
