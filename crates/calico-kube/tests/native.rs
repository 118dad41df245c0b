//! The native kinds against the in-process kube-emulator: objects are seeded through the
//! Kubernetes API and read (and, for Nodes, written) through the stores.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use calico_api::{AnyResource, AsNumber, NetworkPolicy};
use calico_datastore::{
    Backend, DatastoreError, EmbeddedStore, KindRef, KvBackend, ListOptions, ResourceKey,
    ResourceList, WatchEvent, WatchStream,
};
use calico_kube::native::netpol::MergedNetworkPolicyStore;
use calico_kube::native::{self, NativeSettings};
use calico_kube::store::KindStore;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy as K8sNetworkPolicy;
use kube::api::{Api, PostParams};
use kube::Client;
use kube_emulator::{Config, Emulator, RunningEmulator};
use serde_json::json;

#[allow(clippy::unwrap_used, clippy::expect_used)]
async fn emulator() -> (RunningEmulator, Client) {
    let emulator = Emulator::start(Config::default())
        .await
        .expect("emulator starts");
    let url = emulator.url().parse().expect("emulator URL");
    let client = Client::try_from(kube::Config::new(url)).expect("client");
    (emulator, client)
}

#[allow(clippy::unwrap_used, clippy::expect_used)]
fn kind(name: &str) -> KindRef {
    KindRef::lookup(name).expect("registered kind")
}

#[allow(clippy::unwrap_used, clippy::expect_used)]
fn stores(client: &Client) -> BTreeMap<&'static str, Arc<dyn KindStore>> {
    native::stores(client, &NativeSettings::default())
        .into_iter()
        .map(|(k, s)| (k.kind(), s))
        .collect()
}

#[allow(clippy::unwrap_used, clippy::expect_used)]
async fn create<K>(api: &Api<K>, value: serde_json::Value) -> K
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let object: K = serde_json::from_value(value).expect("object");
    api.create(&PostParams::default(), &object)
        .await
        .expect("created")
}

#[allow(clippy::unwrap_used, clippy::expect_used)]
/// The next event other than a bookmark.
async fn next(watch: &mut WatchStream) -> WatchEvent {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), watch.next())
            .await
            .expect("an event in time")
            .expect("the watch goes on");
        if !matches!(event, WatchEvent::Bookmark { .. }) {
            return event;
        }
    }
}

fn names(list: &ResourceList) -> Vec<String> {
    list.items
        .iter()
        .map(|i| i.metadata().name.clone())
        .collect()
}

#[tokio::test]
async fn nodes_read_update_and_refuse_writes() {
    let (_emulator, client) = emulator().await;
    let nodes: Api<Node> = Api::all(client.clone());
    create(
        &nodes,
        json!({
            "metadata": {
                "name": "kind-worker",
                "labels": {"kubernetes.io/hostname": "kind-worker"},
                "annotations": {
                    "projectcalico.org/IPv4Address": "172.18.0.3/16",
                    "projectcalico.org/ASNumber": "64512",
                    "projectcalico.org/labels": "{\"rack\":\"r1\"}",
                    "unrelated": "kept"
                }
            },
            "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]},
            "status": {"addresses": [{"type": "InternalIP", "address": "172.18.0.3"}]}
        }),
    )
    .await;
    create(&nodes, json!({"metadata": {"name": "kind-control-plane"}})).await;
    let store = stores(&client)["Node"].clone();
    let key = ResourceKey::new(kind("Node"), "", "kind-worker");

    let AnyResource::Node(node) = store.get(&key).await.unwrap() else {
        panic!("not a Node");
    };
    assert_eq!(node.metadata.labels["rack"], "r1");
    assert_eq!(
        node.spec.bgp.as_ref().and_then(|b| b.as_number),
        Some(AsNumber(64512))
    );
    assert_eq!(node.status.0.pod_cidrs, vec!["10.244.1.0/24"]);

    let list = store
        .list(&ListOptions::all(kind("Node")), None)
        .await
        .unwrap();
    assert_eq!(names(&list), vec!["kind-control-plane", "kind-worker"]);
    assert!(!list.revision.is_empty());
    let one = ListOptions {
        name: Some("kind-worker".into()),
        ..ListOptions::all(kind("Node"))
    };
    assert_eq!(
        names(&store.list(&one, None).await.unwrap()),
        vec!["kind-worker"]
    );
    let missing = ListOptions {
        name: Some("nope".into()),
        ..ListOptions::all(kind("Node"))
    };
    assert!(store.list(&missing, None).await.unwrap().items.is_empty());

    // Update: Calico fields land in annotations, Kubernetes labels stay as they were.
    let mut changed = (*node).clone();
    changed.metadata.labels.insert("zone".into(), "z1".into());
    if let Some(bgp) = changed.spec.bgp.as_mut() {
        bgp.as_number = Some(AsNumber(65001));
        bgp.ipv4_address.clear();
    }
    changed.spec.ipv4_vxlan_tunnel_addr = "10.244.1.7".into();
    let AnyResource::Node(updated) = store.update(changed.into()).await.unwrap() else {
        panic!("not a Node");
    };
    assert_eq!(updated.metadata.labels["zone"], "z1");
    assert_ne!(
        updated.metadata.resource_version,
        node.metadata.resource_version
    );
    let live = nodes.get("kind-worker").await.unwrap();
    let annotations = live.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(annotations["projectcalico.org/ASNumber"], "65001");
    assert_eq!(
        annotations["projectcalico.org/IPv4VXLANTunnelAddr"],
        "10.244.1.7"
    );
    assert!(!annotations.contains_key("projectcalico.org/IPv4Address"));
    assert_eq!(
        annotations["projectcalico.org/labels"],
        r#"{"rack":"r1","zone":"z1"}"#
    );
    assert_eq!(annotations["unrelated"], "kept");
    assert_eq!(
        live.metadata.labels,
        Some(BTreeMap::from([(
            "kubernetes.io/hostname".to_string(),
            "kind-worker".to_string()
        )]))
    );
    // The pod CIDR (spec) and addresses (status) survive the write.
    assert_eq!(
        live.spec.and_then(|s| s.pod_cidr).as_deref(),
        Some("10.244.1.0/24")
    );
    assert!(live.status.and_then(|s| s.addresses).is_some());

    // A Calico label shadowed by a Kubernetes one is dropped on write (Calico warns about it).
    let mut shadowing = (*updated).clone();
    shadowing
        .metadata
        .labels
        .insert("kubernetes.io/hostname".into(), "renamed".into());
    let AnyResource::Node(after) = store.update(shadowing.into()).await.unwrap() else {
        panic!("not a Node");
    };
    assert_eq!(
        after.metadata.labels["kubernetes.io/hostname"],
        "kind-worker"
    );
    let annotations = nodes
        .get("kind-worker")
        .await
        .unwrap()
        .metadata
        .annotations
        .unwrap_or_default();
    assert_eq!(
        annotations["projectcalico.org/labels"],
        r#"{"rack":"r1","zone":"z1"}"#
    );
    let mut ghost = (*updated).clone();
    ghost.metadata.name = "ghost".into();
    let err = store.update(ghost.into()).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    let err = store
        .create(updated.as_ref().clone().into())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "operation Create is not supported on Node(kind-worker)"
    );
    let err = store.delete(&key, None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "operation Delete is not supported on Node(kind-worker)"
    );
    let err = store
        .get(&ResourceKey::new(kind("Node"), "", "nope"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "resource does not exist: Node(nope) with error: nodes \"nope\" not found"
    );
}

#[tokio::test]
async fn nodes_watch() {
    let (_emulator, client) = emulator().await;
    let nodes: Api<Node> = Api::all(client.clone());
    create(&nodes, json!({"metadata": {"name": "n1"}})).await;
    let store = stores(&client)["Node"].clone();
    let mut watch = store
        .watch(&ListOptions::all(kind("Node")), None)
        .await
        .unwrap();
    let WatchEvent::Added(added) = next(&mut watch).await else {
        panic!("expected ADDED");
    };
    assert_eq!(added.metadata().name, "n1");
    // The listing's end, at a revision a watch can resume from.
    let WatchEvent::InitDone { revision } = next(&mut watch).await else {
        panic!("expected INIT-DONE");
    };
    assert!(!revision.is_empty());
    let mut live = nodes.get("n1").await.unwrap();
    live.metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert("projectcalico.org/ASNumber".into(), "64999".into());
    nodes
        .replace("n1", &PostParams::default(), &live)
        .await
        .unwrap();
    let WatchEvent::Modified { previous, current } = next(&mut watch).await else {
        panic!("expected MODIFIED");
    };
    assert_eq!(previous, None);
    let AnyResource::Node(current) = current else {
        panic!("not a Node");
    };
    assert_eq!(
        current.spec.bgp.and_then(|b| b.as_number),
        Some(AsNumber(64999))
    );
    nodes.delete("n1", &Default::default()).await.unwrap();
    assert!(matches!(next(&mut watch).await, WatchEvent::Deleted(_)));
}

fn pod_json(name: &str, node: Option<&str>, host_network: bool) -> serde_json::Value {
    json!({
        "metadata": {"name": name, "namespace": "prod", "labels": {"app": name}},
        "spec": {
            "nodeName": node, "hostNetwork": host_network, "serviceAccountName": "web-sa",
            "containers": [{"name": "c", "image": "nginx",
                            "ports": [{"containerPort": 80, "name": "http"}]}]
        },
        "status": {"podIP": "10.244.1.5", "podIPs": [{"ip": "10.244.1.5"}]}
    })
}

#[tokio::test]
async fn workload_endpoints_from_pods() {
    let (_emulator, client) = emulator().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    create(&namespaces, json!({"metadata": {"name": "prod"}})).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "prod");
    create(&pods, pod_json("web-0", Some("kind-worker"), false)).await;
    create(&pods, pod_json("host-agent", Some("kind-worker"), true)).await;
    create(&pods, pod_json("pending", None, false)).await;
    let store = stores(&client)["WorkloadEndpoint"].clone();
    let wep_kind = kind("WorkloadEndpoint");

    let list = store
        .list(&ListOptions::in_namespace(wep_kind, "prod"), None)
        .await
        .unwrap();
    assert_eq!(names(&list), vec!["kind--worker-k8s-web--0-eth0"]);
    let all = store.list(&ListOptions::all(wep_kind), None).await.unwrap();
    assert_eq!(names(&all), names(&list));
    let prefix = ListOptions {
        name: Some("kind--worker-k8s-".into()),
        name_is_prefix: true,
        ..ListOptions::in_namespace(wep_kind, "prod")
    };
    assert_eq!(
        names(&store.list(&prefix, None).await.unwrap()),
        names(&list)
    );

    let key = ResourceKey::new(wep_kind, "prod", "kind--worker-k8s-web--0-eth0");
    let AnyResource::WorkloadEndpoint(wep) = store.get(&key).await.unwrap() else {
        panic!("not a WorkloadEndpoint");
    };
    assert_eq!(wep.spec.ip_networks, vec!["10.244.1.5/32"]);
    assert_eq!(wep.spec.profiles, vec!["kns.prod", "ksa.prod.web-sa"]);
    assert_eq!(wep.metadata.labels["app"], "web-0");

    // Names that do not match the pod (wrong node), host-networked pods and malformed names.
    for name in [
        "other-k8s-web--0-eth0",
        "kind--worker-k8s-host--agent-eth0",
        "kind--worker-k8s-missing-eth0",
    ] {
        let err = store
            .get(&ResourceKey::new(wep_kind, "prod", name))
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{name}: {err}");
    }
    let err = store
        .get(&ResourceKey::new(wep_kind, "prod", "kind-worker"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "resource does not exist: WorkloadEndpoint(prod/kind-worker) with error: malformed \
         WorkloadEndpoint name - unable to determine Pod name"
    );

    let err = store.update(wep.as_ref().clone().into()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "operation Update is not supported on WorkloadEndpoint(prod/kind--worker-k8s-web--0-eth0): \
         unsupported PatchMode: patchModeUnspecified"
    );

    // Watch from the list's revision: a new pod is reported, a host-networked one is not.
    let mut watch = store
        .watch(
            &ListOptions::in_namespace(wep_kind, "prod"),
            Some(&list.revision),
        )
        .await
        .unwrap();
    create(&pods, pod_json("host-agent-2", Some("kind-worker"), true)).await;
    create(&pods, pod_json("web-1", Some("kind-worker"), false)).await;
    let WatchEvent::Added(added) = next(&mut watch).await else {
        panic!("expected ADDED");
    };
    assert_eq!(added.metadata().name, "kind--worker-k8s-web--1-eth0");
    let err = store
        .watch(
            &ListOptions {
                name: Some("kind--worker-k8s-web--0-eth0".into()),
                ..ListOptions::all(wep_kind)
            },
            None,
        )
        .await
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("cannot watch a specific WorkloadEndpoint without a namespace")
    );

    // Delete, as Calico's: the pod's IP annotations are blanked through its status; the pod
    // stays. A UID that is not the pod's is refused (the server keeps UIDs immutable).
    assert!(store.delete(&key, Some("0000-not-the-uid")).await.is_err());
    let deleted = store.delete(&key, None).await.unwrap();
    assert_eq!(deleted.metadata().name, "kind--worker-k8s-web--0-eth0");
    let pod = pods.get("web-0").await.unwrap();
    let annotations = pod.metadata.annotations.unwrap_or_default();
    assert_eq!(annotations["cni.projectcalico.org/podIP"], "");
    assert_eq!(annotations["cni.projectcalico.org/podIPs"], "");
    let err = store
        .delete(
            &ResourceKey::new(wep_kind, "prod", "kind--worker-k8s-gone-eth0"),
            None,
        )
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn profiles_from_namespaces_and_service_accounts() {
    let (_emulator, client) = emulator().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    create(
        &namespaces,
        json!({"metadata": {"name": "prod", "labels": {"team": "payments"}}}),
    )
    .await;
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "prod");
    let sa = create(
        &accounts,
        json!({"metadata": {"name": "web-sa", "labels": {"tier": "front"}}}),
    )
    .await;
    let store = stores(&client)["Profile"].clone();
    let profile_kind = kind("Profile");

    let list = store
        .list(&ListOptions::all(profile_kind), None)
        .await
        .unwrap();
    let listed = names(&list);
    for expected in [
        "projectcalico-default-allow",
        "kns.default",
        "kns.kube-system",
        "kns.prod",
        "ksa.prod.web-sa",
    ] {
        assert!(listed.contains(&expected.to_string()), "{listed:?}");
    }
    let (ns_rev, sa_rev) = list.revision.split_once('/').unwrap();
    assert!(
        !ns_rev.is_empty() && !sa_rev.is_empty(),
        "{}",
        list.revision
    );

    let AnyResource::Profile(kns) = store
        .get(&ResourceKey::new(profile_kind, "", "kns.prod"))
        .await
        .unwrap()
    else {
        panic!("not a Profile");
    };
    assert_eq!(kns.spec.labels_to_apply["pcns.team"], "payments");
    assert!(kns.metadata.resource_version.ends_with('/'));
    let AnyResource::Profile(ksa) = store
        .get(&ResourceKey::new(profile_kind, "", "ksa.prod.web-sa"))
        .await
        .unwrap()
    else {
        panic!("not a Profile");
    };
    assert_eq!(ksa.spec.labels_to_apply["pcsa.tier"], "front");
    assert_eq!(
        ksa.metadata.resource_version,
        format!("/{}", sa.metadata.resource_version.unwrap_or_default())
    );
    assert_eq!(
        ksa.metadata.uid,
        calico_kube::uid::convert_uid(&sa.metadata.uid.unwrap_or_default()).unwrap()
    );
    let builtin = store
        .get(&ResourceKey::new(
            profile_kind,
            "",
            "projectcalico-default-allow",
        ))
        .await
        .unwrap();
    assert_eq!(builtin.metadata().resource_version, "1");
    let err = store
        .get(&ResourceKey::new(profile_kind, "", "kns.nope"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = store
        .delete(&ResourceKey::new(profile_kind, "", "kns.prod"), None)
        .await;
    assert_eq!(
        err.unwrap_err().to_string(),
        "operation Delete is not supported on Profile(kns.prod)"
    );

    // Watch from the composite revision: each side's change carries the latest of both.
    let mut watch = store
        .watch(&ListOptions::all(profile_kind), Some(&list.revision))
        .await
        .unwrap();
    let new_sa = create(&accounts, json!({"metadata": {"name": "db-sa"}})).await;
    let WatchEvent::Added(added) = next(&mut watch).await else {
        panic!("expected ADDED");
    };
    assert_eq!(added.metadata().name, "ksa.prod.db-sa");
    let new_sa_rev = new_sa.metadata.resource_version.unwrap_or_default();
    assert_eq!(
        added.metadata().resource_version,
        format!("{ns_rev}/{new_sa_rev}")
    );
    let ns = create(&namespaces, json!({"metadata": {"name": "dev"}})).await;
    let WatchEvent::Added(added) = next(&mut watch).await else {
        panic!("expected ADDED");
    };
    assert_eq!(added.metadata().name, "kns.dev");
    assert_eq!(
        added.metadata().resource_version,
        format!(
            "{}/{new_sa_rev}",
            ns.metadata.resource_version.unwrap_or_default()
        )
    );

    // From no revision: the built-in profile first, then the current ones.
    let mut fresh = store
        .watch(&ListOptions::all(profile_kind), None)
        .await
        .unwrap();
    let WatchEvent::Added(first) = next(&mut fresh).await else {
        panic!("expected ADDED");
    };
    assert_eq!(first.metadata().name, "projectcalico-default-allow");
}

/// The Calico side of NetworkPolicies, standing in for the custom-resource store.
struct EmbeddedKind(KvBackend<EmbeddedStore>);

#[async_trait]
impl KindStore for EmbeddedKind {
    async fn create(&self, resource: AnyResource) -> calico_datastore::Result<AnyResource> {
        self.0.create(resource).await
    }
    async fn update(&self, resource: AnyResource) -> calico_datastore::Result<AnyResource> {
        self.0.update(resource).await
    }
    async fn delete(
        &self,
        key: &ResourceKey,
        _uid: Option<&str>,
    ) -> calico_datastore::Result<AnyResource> {
        self.0.delete(key, None).await
    }
    async fn get(&self, key: &ResourceKey) -> calico_datastore::Result<AnyResource> {
        self.0.get(key, None).await
    }
    async fn list(
        &self,
        options: &ListOptions,
        revision: Option<&str>,
    ) -> calico_datastore::Result<ResourceList> {
        self.0.list(options, revision).await
    }
    async fn watch(
        &self,
        options: &ListOptions,
        revision: Option<&str>,
    ) -> calico_datastore::Result<WatchStream> {
        self.0.watch(options, revision).await
    }
}

#[tokio::test]
async fn kubernetes_network_policies_among_calico_ones() {
    let (_emulator, client) = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = EmbeddedStore::open(dir.path().join("store.db")).unwrap();
    let calico = Arc::new(EmbeddedKind(KvBackend::new(embedded)));
    let np_kind = kind("NetworkPolicy");
    let mut own = NetworkPolicy::new_namespaced("default", "allow-dns", Default::default());
    own.spec.selector = "all()".into();
    calico.create(own.into()).await.unwrap();
    let k8s: Api<K8sNetworkPolicy> = Api::namespaced(client.clone(), "default");
    create(
        &k8s,
        json!({"metadata": {"name": "deny-all"}, "spec": {"podSelector": {}}}),
    )
    .await;
    let store = MergedNetworkPolicyStore::new(calico, client.clone());

    let list = store
        .list(&ListOptions::in_namespace(np_kind, "default"), None)
        .await
        .unwrap();
    assert_eq!(names(&list), vec!["allow-dns", "knp.default.deny-all"]);
    assert!(list.revision.contains('/'), "{}", list.revision);
    let only_k8s = ListOptions {
        name: Some("knp.default.deny-all".into()),
        ..ListOptions::in_namespace(np_kind, "default")
    };
    assert_eq!(
        names(&store.list(&only_k8s, None).await.unwrap()),
        vec!["knp.default.deny-all"]
    );

    let key = ResourceKey::new(np_kind, "default", "knp.default.deny-all");
    let AnyResource::NetworkPolicy(knp) = store.get(&key).await.unwrap() else {
        panic!("not a NetworkPolicy");
    };
    assert_eq!(knp.spec.selector, "projectcalico.org/orchestrator == 'k8s'");
    assert_eq!(knp.spec.order, Some(1000.0));
    assert_eq!(knp.spec.types, vec!["Ingress"]);
    assert!(store
        .get(&ResourceKey::new(np_kind, "default", "allow-dns"))
        .await
        .is_ok());
    let missing = store
        .get(&ResourceKey::new(np_kind, "default", "knp.default.nope"))
        .await
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing}");

    let refusal = "kubernetes network policies must be managed through the kubernetes API";
    let err = store.update(knp.as_ref().clone().into()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "operation Update is not supported on NetworkPolicy(default/knp.default.deny-all): \
             {refusal}"
        )
    );
    let err = store.create(knp.as_ref().clone().into()).await.unwrap_err();
    assert!(err.to_string().ends_with(refusal), "{err}");
    let err = store.delete(&key, None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "operation Delete is not supported on NetworkPolicy(default/knp.default.deny-all): \
             {refusal}"
        )
    );

    // Watch from the composite list revision: a new Kubernetes policy shows up prefixed.
    let mut watch = store
        .watch(
            &ListOptions::in_namespace(np_kind, "default"),
            Some(&list.revision),
        )
        .await
        .unwrap();
    create(
        &k8s,
        json!({"metadata": {"name": "allow-web"},
               "spec": {"podSelector": {"matchLabels": {"app": "web"}},
                        "ingress": [{}]}}),
    )
    .await;
    let WatchEvent::Added(added) = next(&mut watch).await else {
        panic!("expected ADDED");
    };
    assert_eq!(added.metadata().name, "knp.default.allow-web");
    assert!(added.metadata().resource_version.contains('/'));
}

#[tokio::test]
async fn lists_are_paged() {
    let (_emulator, client) = emulator().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for i in 0..5 {
        create(
            &namespaces,
            json!({"metadata": {"name": format!("ns-{i}")}}),
        )
        .await;
    }
    let (items, revision) = native::kubeio::list_in_pages(&namespaces, Default::default(), None, 2)
        .await
        .unwrap();
    // The emulator's four built-in namespaces and the five created ones.
    assert_eq!(items.len(), 9);
    assert!(!revision.is_empty());
}

#[tokio::test]
async fn watches_from_compacted_revisions_end_with_an_error() {
    let (emulator, client) = emulator().await;
    let nodes: Api<Node> = Api::all(client.clone());
    let first = create(&nodes, json!({"metadata": {"name": "n1"}})).await;
    create(&nodes, json!({"metadata": {"name": "n2"}})).await;
    emulator.compact();
    let store = stores(&client)["Node"].clone();
    let old = first.metadata.resource_version.unwrap_or_default();
    let mut watch = store
        .watch(&ListOptions::all(kind("Node")), Some(&old))
        .await
        .unwrap();
    let WatchEvent::Error(err) = next(&mut watch).await else {
        panic!("expected an error");
    };
    assert!(matches!(err, DatastoreError::Compacted { .. }), "{err:?}");
    let end = tokio::time::timeout(Duration::from_secs(10), watch.next()).await;
    assert!(matches!(end, Ok(None)), "the watch ends");
}

/// Kubernetes bookmarks become `Bookmark`s; a watch the server closes ends without an error.
#[tokio::test]
async fn native_watches_pass_bookmarks_on_and_end_with_the_server() {
    let (_emulator, client) = emulator().await;
    let nodes: Api<Node> = Api::all(client.clone());
    let first = create(&nodes, json!({"metadata": {"name": "n1"}})).await;
    let from = first.metadata.resource_version.unwrap_or_default();
    let mut watch = native::kubeio::watch(
        &nodes,
        kube::api::WatchParams::default().timeout(1),
        &from,
        Box::new(|_: Node| Ok(Vec::new())),
        native::kubeio::NativeErrors,
    )
    .await
    .unwrap();
    let mut events = Vec::new();
    while let Some(event) = tokio::time::timeout(Duration::from_secs(10), watch.next())
        .await
        .expect("the watch ends with the server's")
    {
        events.push(event);
    }
    let [WatchEvent::Bookmark { revision }] = events.as_slice() else {
        panic!("expected one bookmark, got {events:?}");
    };
    assert!(revision.parse::<u64>().unwrap() >= from.parse::<u64>().unwrap());
}

#[tokio::test]
async fn workload_endpoint_watch_reports_deletions() {
    let (_emulator, client) = emulator().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    create(&namespaces, json!({"metadata": {"name": "prod"}})).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "prod");
    create(&pods, pod_json("web-0", Some("kind-worker"), false)).await;
    let store = stores(&client)["WorkloadEndpoint"].clone();
    let one = ListOptions {
        name: Some("kind--worker-k8s-web--0-eth0".into()),
        ..ListOptions::in_namespace(kind("WorkloadEndpoint"), "prod")
    };
    let mut watch = store.watch(&one, None).await.unwrap();
    assert!(matches!(next(&mut watch).await, WatchEvent::Added(_)));
    assert!(matches!(
        next(&mut watch).await,
        WatchEvent::InitDone { .. }
    ));
    let deleted = pods.delete("web-0", &Default::default()).await.unwrap();
    let WatchEvent::Deleted(gone) = next(&mut watch).await else {
        panic!("expected DELETED");
    };
    assert_eq!(gone.metadata().name, "kind--worker-k8s-web--0-eth0");
    // The deletion's revision, so a watch can resume after it.
    let deleted_rv = deleted
        .left()
        .and_then(|p| p.metadata.resource_version)
        .unwrap_or_default();
    assert!(
        gone.metadata().resource_version.parse::<u64>().unwrap_or(0)
            >= deleted_rv.parse::<u64>().unwrap_or(0)
    );
}

#[tokio::test]
async fn merged_policy_watch_carries_both_revisions() {
    let (_emulator, client) = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let calico = Arc::new(EmbeddedKind(KvBackend::new(
        EmbeddedStore::open(dir.path().join("store.db")).unwrap(),
    )));
    let np_kind = kind("NetworkPolicy");
    let store = MergedNetworkPolicyStore::new(calico.clone(), client.clone());
    let list = store.list(&ListOptions::all(np_kind), None).await.unwrap();
    let (crd_rev, k8s_rev) = list.revision.split_once('/').unwrap();
    let (crd_rev, k8s_rev) = (crd_rev.to_string(), k8s_rev.to_string());
    let mut watch = store
        .watch(&ListOptions::all(np_kind), Some(&list.revision))
        .await
        .unwrap();
    let mut own = NetworkPolicy::new_namespaced("default", "allow-dns", Default::default());
    own.spec.selector = "all()".into();
    let created = store.create(own.into()).await.unwrap();
    let WatchEvent::Added(added) = next(&mut watch).await else {
        panic!("expected ADDED");
    };
    assert_eq!(added.metadata().name, "allow-dns");
    assert_eq!(
        added.metadata().resource_version,
        format!("{}/{k8s_rev}", created.metadata().resource_version)
    );
    assert_ne!(crd_rev, created.metadata().resource_version);
}
