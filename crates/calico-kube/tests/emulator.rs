//! The driver against the in-process Kubernetes API emulator: the datastore conformance suite in
//! both storage modes, the stored format, client configuration and error texts. The conformance
//! suite also runs on a real kube-apiserver, with Calico's CRDs and with ours, in both modes.

// Test helpers: a failure to set up is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use calico_api::AnyResource;
use calico_datastore::apiconfig::ApiConfigSpec;
use calico_datastore::conformance::{self, Harness};
use calico_datastore::{
    Backend, DatastoreInfo, KindRef, ListOptions, ModelKey, ModelListOptions, ModelValue,
    ResourceKey, ResourceList, WatchStream,
};
use calico_kube::{KubeBackend, Mode};
use kube_emulator::{Config, Emulator, RunningEmulator};
use serde_json::{json, Value};

const V1_CRDS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../kube-emulator/tests/fixtures/calico-crds.yaml"
);
const V3_CRDS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/calico-v3-crds.yaml"
);

async fn emulator(config: Config) -> RunningEmulator {
    Emulator::start(config).await.unwrap()
}

async fn plain_emulator() -> RunningEmulator {
    emulator(Config::default()).await
}

/// Stores every CustomResourceDefinition of a manifest, as `kubectl apply -f` would.
fn load_crds(emu: &RunningEmulator, path: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    let crds = emu
        .store()
        .lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .unwrap();
    for doc in docs {
        if doc.get("kind") == Some(&json!("CustomResourceDefinition")) {
            emu.store().create(&crds, None, doc).unwrap();
        }
    }
}

fn spec_for(emu: &RunningEmulator) -> ApiConfigSpec {
    ApiConfigSpec {
        datastore_type: "kubernetes".into(),
        kubeconfig: emu.kubeconfig_path().display().to_string(),
        ..ApiConfigSpec::default()
    }
}

async fn backend_for(emu: &RunningEmulator) -> KubeBackend {
    KubeBackend::connect(&spec_for(emu)).await.unwrap()
}

/// The stored object, read straight from the emulator.
fn raw(
    emu: &RunningEmulator,
    group: &str,
    version: &str,
    plural: &str,
    ns: Option<&str>,
    name: &str,
) -> Value {
    let def = emu.store().lookup(group, version, plural).unwrap();
    emu.store().get(&def, ns, name).unwrap()
}

fn kind(name: &str) -> KindRef {
    KindRef::lookup(name).unwrap()
}

fn resource(doc: Value) -> AnyResource {
    calico_api::decode_value(doc).unwrap()
}

/// Kubernetes refuses objects in namespaces that do not exist; the suite invents namespaces, so
/// its creates make them first.
struct NamespacingBackend {
    inner: KubeBackend,
}

#[async_trait]
impl Backend for NamespacingBackend {
    async fn create(&self, resource: AnyResource) -> calico_datastore::Result<AnyResource> {
        let namespace = resource.metadata().namespace.clone();
        if !namespace.is_empty() {
            let api: kube::Api<k8s_openapi::api::core::v1::Namespace> =
                kube::Api::all(self.inner.client());
            let ns = serde_json::from_value(json!({"metadata": {"name": namespace}})).unwrap();
            let _ = api.create(&kube::api::PostParams::default(), &ns).await;
        }
        self.inner.create(resource).await
    }
    async fn update(&self, resource: AnyResource) -> calico_datastore::Result<AnyResource> {
        self.inner.update(resource).await
    }
    async fn apply(&self, resource: AnyResource) -> calico_datastore::Result<AnyResource> {
        self.inner.apply(resource).await
    }
    async fn delete(
        &self,
        key: &ResourceKey,
        revision: Option<&str>,
    ) -> calico_datastore::Result<AnyResource> {
        self.inner.delete(key, revision).await
    }
    async fn get(
        &self,
        key: &ResourceKey,
        revision: Option<&str>,
    ) -> calico_datastore::Result<AnyResource> {
        self.inner.get(key, revision).await
    }
    async fn list(
        &self,
        options: &ListOptions,
        revision: Option<&str>,
    ) -> calico_datastore::Result<ResourceList> {
        self.inner.list(options, revision).await
    }
    async fn watch(
        &self,
        options: &ListOptions,
        revision: Option<&str>,
    ) -> calico_datastore::Result<WatchStream> {
        self.inner.watch(options, revision).await
    }
    fn info(&self) -> DatastoreInfo {
        self.inner.info()
    }
}

struct KubeHarness {
    /// The emulator, or `None` on a real API server (its etcd is not ours to compact).
    emu: Option<RunningEmulator>,
    backend: Arc<NamespacingBackend>,
}

#[async_trait]
impl Harness for KubeHarness {
    async fn backend(&self) -> Arc<dyn Backend> {
        self.backend.clone()
    }

    fn reads_past_revisions(&self) -> bool {
        false
    }

    async fn compact(&self, _revision: &str) -> Option<()> {
        self.emu.as_ref()?.compact();
        Some(())
    }
}

/// The IPAM model checks' harness: the backend itself (they make no namespaces), and the
/// emulator to compact where there is one.
struct ModelHarness<'a>(Arc<KubeBackend>, Option<&'a RunningEmulator>);

#[async_trait]
impl Harness for ModelHarness<'_> {
    async fn backend(&self) -> Arc<dyn Backend> {
        self.0.clone()
    }

    async fn compact(&self, _revision: &str) -> Option<()> {
        self.1?.compact();
        Some(())
    }
}

impl KubeHarness {
    fn for_model(&self) -> ModelHarness<'_> {
        ModelHarness(Arc::new(self.backend.inner.clone()), self.emu.as_ref())
    }
}

async fn conformance_in(crds: &str, expected: Mode) {
    let emu = plain_emulator().await;
    load_crds(&emu, crds);
    let backend = backend_for(&emu).await;
    assert_eq!(backend.mode(), expected);
    let harness = KubeHarness {
        backend: Arc::new(NamespacingBackend { inner: backend }),
        emu: Some(emu),
    };
    if let Err(failures) = conformance::run_all(&harness).await {
        panic!("conformance failures:\n{failures}");
    }
    if let Err(failures) = conformance::run_model_checks(&harness.for_model()).await {
        panic!("IPAM model conformance failures:\n{failures}");
    }
}

/// A real kube-apiserver with the CRDs of `crds` installed by kubectl, and the driver on it (in
/// the mode it detects); the server and the kubeconfig's directory must outlive the driver.
async fn real_apiserver(
    crds: &str,
) -> (
    calico_test_support::kube_apiserver::KubeApiServer,
    tempfile::TempDir,
    KubeBackend,
) {
    use calico_test_support::kube_apiserver::{KubeApiServer, ADMIN_TOKEN};
    let server = tokio::task::spawn_blocking(KubeApiServer::start)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig, ADMIN_TOKEN);
    let applied = server
        .kubectl_as(ADMIN_TOKEN)
        .args(["apply", "-f", crds])
        .output()
        .unwrap();
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    for crd in String::from_utf8_lossy(&applied.stdout).lines() {
        let name = crd.split_whitespace().next().unwrap_or_default();
        let established = server
            .kubectl_as(ADMIN_TOKEN)
            .args(["wait", "--for=condition=Established", "--timeout=60s", name])
            .output()
            .unwrap();
        assert!(established.status.success(), "{name}");
    }
    let spec = ApiConfigSpec {
        datastore_type: "kubernetes".into(),
        kubeconfig: kubeconfig.display().to_string(),
        ..ApiConfigSpec::default()
    };
    let backend = KubeBackend::connect(&spec).await.unwrap();
    (server, dir, backend)
}

/// The same suite on a real kube-apiserver, with the CRDs of `crds` installed by kubectl.
async fn conformance_on_a_real_apiserver(crds: &str, expected: Mode) {
    let (server, _dir, backend) = real_apiserver(crds).await;
    assert_eq!(backend.mode(), expected);
    let harness = KubeHarness {
        backend: Arc::new(NamespacingBackend { inner: backend }),
        emu: None,
    };
    let result = conformance::run_all(&harness).await;
    let model_result = conformance::run_model_checks(&harness.for_model()).await;
    drop(server);
    if let Err(failures) = result {
        panic!("conformance failures on a real kube-apiserver ({crds}):\n{failures}");
    }
    if let Err(failures) = model_result {
        panic!("IPAM model conformance failures on a real kube-apiserver ({crds}):\n{failures}");
    }
}

const OUR_V1_CRDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../manifests/crds.yaml");
const OUR_V3_CRDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../manifests/v3-crds.yaml");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_on_a_real_apiserver_with_calicos_crds() {
    conformance_on_a_real_apiserver(V1_CRDS, Mode::V1).await;
    conformance_on_a_real_apiserver(V3_CRDS, Mode::V3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_on_a_real_apiserver_with_our_crds() {
    conformance_on_a_real_apiserver(OUR_V1_CRDS, Mode::V1).await;
    conformance_on_a_real_apiserver(OUR_V3_CRDS, Mode::V3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_v1_crds() {
    conformance_in(V1_CRDS, Mode::V1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_v3_crds() {
    conformance_in(V3_CRDS, Mode::V3).await;
}

fn gnp() -> AnyResource {
    resource(json!({
        "apiVersion": "projectcalico.org/v3",
        "kind": "GlobalNetworkPolicy",
        "metadata": {
            "name": "allow-dns",
            "uid": "01234567-89ab-4def-8123-456789abcdef",
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"projectcalico.org/tier": "default", "team": "net"},
        },
        "spec": {"tier": "default", "order": 10, "selector": "all()", "types": ["Egress"]}
    }))
}

#[tokio::test]
async fn v1_storage_format() {
    let emu = plain_emulator().await;
    load_crds(&emu, V1_CRDS);
    let backend = backend_for(&emu).await;
    let created = backend.create(gnp()).await.unwrap();
    let stored = raw(
        &emu,
        "crd.projectcalico.org",
        "v1",
        "globalnetworkpolicies",
        None,
        "allow-dns",
    );
    assert_eq!(
        stored["metadata"]["labels"],
        json!({"projectcalico.org/tier": "default"})
    );
    let annotation: Value = serde_json::from_str(
        stored["metadata"]["annotations"]["projectcalico.org/metadata"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        annotation,
        json!({"name": "allow-dns", "creationTimestamp": "2026-01-01T00:00:00Z",
               "labels": {"projectcalico.org/tier": "default", "team": "net"}})
    );
    // The v3 UID is the bit-reversed UID Kubernetes gave the custom resource.
    let cr_uid = stored["metadata"]["uid"].as_str().unwrap();
    assert_eq!(
        created.metadata().uid,
        calico_kube::uid::convert_uid(cr_uid).unwrap()
    );
    assert_eq!(created.metadata().labels["team"], "net");
    assert_eq!(
        created.metadata().creation_timestamp,
        gnp().metadata().creation_timestamp
    );

    // IPAMConfiguration is an IPAMConfig; BlockAffinity's deleted is a string.
    backend
        .create(resource(json!({
            "apiVersion": "projectcalico.org/v3", "kind": "IPAMConfiguration",
            "metadata": {"name": "default"},
            "spec": {"strictAffinity": true, "maxBlocksPerHost": 3}
        })))
        .await
        .unwrap();
    let stored = raw(
        &emu,
        "crd.projectcalico.org",
        "v1",
        "ipamconfigs",
        None,
        "default",
    );
    assert_eq!(stored["kind"], "IPAMConfig");
    assert_eq!(stored["spec"]["maxBlocksPerHost"], 3);
    backend
        .create(resource(json!({
            "apiVersion": "projectcalico.org/v3", "kind": "BlockAffinity",
            "metadata": {"name": "node-1-10-0-0-0-26"},
            "spec": {"state": "confirmed", "node": "node-1", "cidr": "10.0.0.0/26"}
        })))
        .await
        .unwrap();
    let stored = raw(
        &emu,
        "crd.projectcalico.org",
        "v1",
        "blockaffinities",
        None,
        "node-1-10-0-0-0-26",
    );
    assert_eq!(stored["spec"]["deleted"], "false");
    let key = ResourceKey::new(kind("BlockAffinity"), "", "node-1-10-0-0-0-26");
    let read = backend.get(&key, None).await.unwrap();
    assert_eq!(read.to_json_value().unwrap()["spec"]["deleted"], false);
}

#[tokio::test]
async fn v3_storage_format() {
    let emu = plain_emulator().await;
    load_crds(&emu, V3_CRDS);
    let backend = backend_for(&emu).await;
    assert_eq!(backend.mode(), Mode::V3);
    let created = backend.create(gnp()).await.unwrap();
    let stored = raw(
        &emu,
        "projectcalico.org",
        "v3",
        "globalnetworkpolicies",
        None,
        "allow-dns",
    );
    assert_eq!(stored["metadata"]["labels"]["team"], "net");
    assert_eq!(stored["metadata"].get("annotations"), None);
    assert_eq!(created.metadata().uid, stored["metadata"]["uid"]);
    backend
        .create(resource(json!({
            "apiVersion": "projectcalico.org/v3", "kind": "IPAMConfiguration",
            "metadata": {"name": "default"}, "spec": {"strictAffinity": false}
        })))
        .await
        .unwrap();
    let stored = raw(
        &emu,
        "projectcalico.org",
        "v3",
        "ipamconfigurations",
        None,
        "default",
    );
    assert_eq!(stored["kind"], "IPAMConfiguration");
    assert!(backend
        .info()
        .location
        .ends_with(", projectcalico.org/v3 custom resources"));
    assert_eq!(backend.info().datastore_type, "kubernetes");
}

/// An update writes the main resource only, as Calico's customResourceClient.Update does: where
/// the CRD has a status subresource, the status its controllers wrote stays.
#[tokio::test]
async fn updates_leave_the_status_to_its_subresource() {
    for (crds, group, version) in [
        (V1_CRDS, "crd.projectcalico.org", "v1"),
        (V3_CRDS, "projectcalico.org", "v3"),
    ] {
        let emu = plain_emulator().await;
        load_crds(&emu, crds);
        let backend = backend_for(&emu).await;
        let pool = backend
            .create(resource(json!({
                "apiVersion": "projectcalico.org/v3", "kind": "IPPool",
                "metadata": {"name": "pool-a"},
                "spec": {"cidr": "10.0.0.0/16"}
            })))
            .await
            .unwrap();
        let mut doc = pool.to_json_value().unwrap();
        doc["spec"]["disabled"] = json!(true);
        doc["status"] = json!({"conditions": [{"type": "Allocatable", "status": "False",
            "lastTransitionTime": "2026-01-01T00:00:00Z", "reason": "Disabled", "message": "m"}]});
        let updated = backend.update(resource(doc)).await.unwrap();
        let json = updated.to_json_value().unwrap();
        assert_eq!(json["spec"]["disabled"], true, "{group}");
        assert!(
            json["status"].get("conditions").is_none(),
            "{group}: {json}"
        );
        let stored = raw(&emu, group, version, "ippools", None, "pool-a");
        assert_eq!(stored["spec"]["disabled"], true, "{group}");
        assert!(
            stored
                .get("status")
                .is_none_or(|s| s.get("conditions").is_none()),
            "{group}: {stored}"
        );
    }
}

#[tokio::test]
async fn lists_page_filter_and_keep_revisions() {
    let emu = plain_emulator().await;
    load_crds(&emu, V1_CRDS);
    let backend = backend_for(&emu).await;
    for i in 0..1203 {
        let name = format!("set-{i:04}");
        emu.store()
            .create(
                &emu.store()
                    .lookup("crd.projectcalico.org", "v1", "globalnetworksets")
                    .unwrap(),
                None,
                json!({"apiVersion": "crd.projectcalico.org/v1", "kind": "GlobalNetworkSet",
                       "metadata": {"name": name}, "spec": {"nets": []}}),
            )
            .unwrap();
    }
    let sets = kind("GlobalNetworkSet");
    let all = backend.list(&ListOptions::all(sets), None).await.unwrap();
    assert_eq!(all.items.len(), 1203);
    assert_eq!(all.revision, emu.store().current_rv().to_string());
    use futures::StreamExt;
    // Page by page: the API server's pages of 500, each carrying the list's revision.
    let pages: Vec<_> = backend
        .list_pages(&ListOptions::all(sets), 500)
        .await
        .unwrap()
        .collect()
        .await;
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| p.as_ref().unwrap().items.len())
        .collect();
    assert_eq!(sizes, [500, 500, 203]);
    assert!(pages
        .iter()
        .all(|p| p.as_ref().unwrap().revision == all.revision));
    let paged: Vec<AnyResource> = pages.into_iter().flat_map(|p| p.unwrap().items).collect();
    assert_eq!(paged, all.items);
    let prefixed = ListOptions {
        name: Some("set-11".into()),
        name_is_prefix: true,
        ..ListOptions::all(sets)
    };
    assert_eq!(
        backend.list(&prefixed, None).await.unwrap().items.len(),
        100
    );
    let exact = ListOptions {
        name: Some("set-0007".into()),
        ..ListOptions::all(sets)
    };
    let one = backend.list(&exact, Some(&all.revision)).await.unwrap();
    assert_eq!(one.items.len(), 1);
    assert_eq!(one.items[0].metadata().name, "set-0007");
}

#[tokio::test]
async fn unknown_kinds_are_not_supported() {
    let emu = plain_emulator().await;
    let mut backend = backend_for(&emu).await;
    let key = ResourceKey::new(kind("Node"), "", "node-1");
    // Served from core Nodes once connected...
    let err = backend.get(&key, None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "resource does not exist: Node(node-1) with error: nodes \"node-1\" not found"
    );
    // ...and refused once no store serves the kind.
    backend.unregister(kind("Node"));
    let err = backend.get(&key, None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "operation Get is not supported on Node(node-1)"
    );
}

// ---- errors -------------------------------------------------------------------------------

#[tokio::test]
async fn error_texts() {
    let emu = plain_emulator().await;
    let backend = backend_for(&emu).await;
    // No CRDs at all: discovery says v1; lists are empty and single resources do not exist,
    // in client-go's words, as with Calico's client.
    assert_eq!(backend.mode(), Mode::V1);
    let pools = ListOptions::all(kind("IPPool"));
    assert!(backend.list(&pools, None).await.unwrap().items.is_empty());
    let missing = ResourceKey::new(kind("IPPool"), "", "p1");
    let err = backend.get(&missing, None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "resource does not exist: IPPool(p1) with error: the server could not find the requested resource (get IPPools.crd.projectcalico.org p1)"
    );

    load_crds(&emu, V1_CRDS);
    let key = ResourceKey::new(kind("IPPool"), "", "pool-a");
    let err = backend.get(&key, None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "resource does not exist: IPPool(pool-a) with error: ippools.crd.projectcalico.org \"pool-a\" not found"
    );
    let err = backend.delete(&key, None).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    let pool = resource(json!({
        "apiVersion": "projectcalico.org/v3", "kind": "IPPool",
        "metadata": {"name": "pool-a"}, "spec": {"cidr": "10.0.0.0/16"}
    }));
    let created = backend.create(pool.clone()).await.unwrap();
    let err = backend.create(pool.clone()).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("resource already exists: IPPool(pool-a) with error: "),
        "{err}"
    );
    let updated = backend.update(created.clone()).await.unwrap();
    let mut changed = updated.clone();
    changed.metadata_mut().labels.insert("x".into(), "y".into());
    backend.update(changed.clone()).await.unwrap();
    let err = backend.update(changed).await.unwrap_err();
    assert_eq!(err.to_string(), "update conflict: IPPool(pool-a)");
    // No revision at all: Kubernetes refuses the update of a custom resource.
    let mut blind = created.clone();
    blind.metadata_mut().resource_version.clear();
    blind.metadata_mut().labels.insert("z".into(), "1".into());
    let err = backend.update(blind).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    // apply works over whatever is there.
    let applied = backend.apply(pool).await.unwrap();
    assert_eq!(applied.metadata().uid, created.metadata().uid);
}

#[tokio::test]
async fn unreachable_server_is_one_line() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let spec = ApiConfigSpec {
        k8s_api_endpoint: format!("http://127.0.0.1:{port}"),
        ..ApiConfigSpec::default()
    };
    let backend = KubeBackend::connect(&spec).await.unwrap();
    // Discovery failed, so v1.
    assert_eq!(backend.mode(), Mode::V1);
    let err = backend
        .list(&ListOptions::all(kind("IPPool")), None)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("connection refused to http://127.0.0.1:{port}")
    );
}

#[tokio::test]
async fn wrong_token_is_unauthorized() {
    let emu = emulator(Config {
        tls: true,
        token: Some("right".into()),
        ..Config::default()
    })
    .await;
    load_crds(&emu, V1_CRDS);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = write_kubeconfig(dir.path(), &emu, "    token: wrong\n");
    let spec = ApiConfigSpec {
        kubeconfig,
        ..ApiConfigSpec::default()
    };
    let backend = KubeBackend::connect(&spec).await.unwrap();
    let err = backend
        .list(&ListOptions::all(kind("IPPool")), None)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "connection is unauthorized: Unauthorized");
    assert!(!format!("{err:?}").contains("wrong"));
}

// ---- configuration --------------------------------------------------------------------------

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A kubeconfig for `emu` trusting its CA, with the given `user:` body.
fn write_kubeconfig(dir: &Path, emu: &RunningEmulator, user: &str) -> String {
    let ca = emu
        .client_identity()
        .map(|id| format!("    certificate-authority-data: {}\n", b64(&id.ca_pem)))
        .unwrap_or_default();
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: emu\n  cluster:\n    server: {}\n{ca}\
         contexts:\n- name: emu\n  context: {{cluster: emu, user: me}}\ncurrent-context: emu\n\
         users:\n- name: me\n  user:\n{user}",
        emu.url()
    );
    let path = dir.join(format!("kubeconfig-{}", uuid::Uuid::new_v4()));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

async fn can_list(spec: &ApiConfigSpec) -> Result<(), String> {
    let backend = KubeBackend::connect(spec)
        .await
        .map_err(|e| e.to_string())?;
    backend
        .list(&ListOptions::all(kind("IPPool")), None)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

async fn tls_emulator(token: Option<&str>) -> RunningEmulator {
    let emu = emulator(Config {
        tls: true,
        token: token.map(str::to_string),
        ..Config::default()
    })
    .await;
    load_crds(&emu, V1_CRDS);
    emu
}

#[tokio::test]
async fn kubeconfig_with_token() {
    let emu = tls_emulator(Some("s3cret")).await;
    let dir = tempfile::tempdir().unwrap();
    let spec = ApiConfigSpec {
        kubeconfig: write_kubeconfig(dir.path(), &emu, "    token: s3cret\n"),
        ..ApiConfigSpec::default()
    };
    can_list(&spec).await.unwrap();
    // k8sAPIToken overrides the kubeconfig's credentials.
    let spec = ApiConfigSpec {
        kubeconfig: write_kubeconfig(dir.path(), &emu, "    token: nope\n"),
        k8s_api_token: "s3cret".into(),
        ..ApiConfigSpec::default()
    };
    can_list(&spec).await.unwrap();
    // tokenFile.
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s3cret").unwrap();
    let spec = ApiConfigSpec {
        kubeconfig: write_kubeconfig(
            dir.path(),
            &emu,
            &format!("    tokenFile: {}\n", token_file.display()),
        ),
        ..ApiConfigSpec::default()
    };
    can_list(&spec).await.unwrap();
}

#[tokio::test]
async fn client_certificates_from_kubeconfig_and_files() {
    let emu = tls_emulator(None).await;
    // The emulator's own kubeconfig carries the client certificate.
    can_list(&spec_for(&emu)).await.unwrap();

    // K8S_API_ENDPOINT + K8S_CERT_FILE/K8S_KEY_FILE/K8S_CA_FILE, no kubeconfig.
    let id = emu.client_identity().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| -> String {
        let path: PathBuf = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let spec = ApiConfigSpec {
        k8s_api_endpoint: emu.url().to_string(),
        k8s_cert_file: file("cert.pem", &id.cert_pem),
        k8s_key_file: file("key.pem", &id.key_pem),
        k8s_ca_file: file("ca.pem", &id.ca_pem),
        ..ApiConfigSpec::default()
    };
    can_list(&spec).await.unwrap();
    // Without the client certificate the handshake fails.
    let spec = ApiConfigSpec {
        k8s_cert_file: String::new(),
        k8s_key_file: String::new(),
        ..spec
    };
    let err = can_list(&spec).await.unwrap_err();
    assert!(
        err.ends_with(": received fatal alert: CertificateRequired"),
        "{err}"
    );
    // Insecure skip verify: no CA needed.
    let spec = ApiConfigSpec {
        k8s_api_endpoint: emu.url().to_string(),
        k8s_cert_file: file("cert2.pem", &id.cert_pem),
        k8s_key_file: file("key2.pem", &id.key_pem),
        k8s_insecure_skip_tls_verify: true,
        ..ApiConfigSpec::default()
    };
    can_list(&spec).await.unwrap();
}

#[tokio::test]
async fn exec_credential_plugin() {
    let emu = tls_emulator(Some("exec-token")).await;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("credential.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"exec-token\"}}'\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let user = format!(
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n",
        script.display()
    );
    let spec = ApiConfigSpec {
        kubeconfig: write_kubeconfig(dir.path(), &emu, &user),
        ..ApiConfigSpec::default()
    };
    can_list(&spec).await.unwrap();
}

fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn context_selection_and_endpoint_override() {
    let emu = plain_emulator().await;
    load_crds(&emu, V1_CRDS);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: dead\n  cluster: {{server: '{}'}}\n\
             - name: live\n  cluster: {{server: '{}'}}\nusers:\n- name: u\n  user: {{}}\n\
             contexts:\n- name: dead\n  context: {{cluster: dead, user: u}}\n\
             - name: live\n  context: {{cluster: live, user: u}}\ncurrent-context: dead\n",
            dead_url(),
            emu.url()
        ),
    )
    .unwrap();
    let spec = ApiConfigSpec {
        kubeconfig: path.display().to_string(),
        ..ApiConfigSpec::default()
    };
    assert!(can_list(&spec)
        .await
        .unwrap_err()
        .starts_with("connection refused to "));
    let with_context = ApiConfigSpec {
        k8s_current_context: "live".into(),
        ..spec.clone()
    };
    can_list(&with_context).await.unwrap();
    let with_endpoint = ApiConfigSpec {
        k8s_api_endpoint: emu.url().to_string(),
        ..spec
    };
    can_list(&with_endpoint).await.unwrap();
}

// ---- mode ---------------------------------------------------------------------------------

#[tokio::test]
async fn mode_setting_overrides_discovery() {
    let emu = plain_emulator().await;
    load_crds(&emu, V1_CRDS);
    let mut spec = spec_for(&emu);
    assert_eq!(KubeBackend::connect(&spec).await.unwrap().mode(), Mode::V1);
    spec.calico_api_group = "ProjectCalico.org/v3".into();
    let backend = KubeBackend::connect(&spec).await.unwrap();
    assert_eq!(backend.mode(), Mode::V3);
    // The v3 CRDs are not there: empty lists, missing resources.
    assert!(backend
        .list(&ListOptions::all(kind("IPPool")), None)
        .await
        .unwrap()
        .items
        .is_empty());
    let err = backend
        .get(&ResourceKey::new(kind("IPPool"), "", "p1"), None)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "resource does not exist: IPPool(p1) with error: the server could not find the requested resource (get ippools.projectcalico.org p1)"
    );

    let emu = plain_emulator().await;
    load_crds(&emu, V3_CRDS);
    let mut spec = spec_for(&emu);
    assert_eq!(KubeBackend::connect(&spec).await.unwrap().mode(), Mode::V3);
    spec.calico_api_group = "crd.projectcalico.org/v1".into();
    assert_eq!(KubeBackend::connect(&spec).await.unwrap().mode(), Mode::V1);
    // Both groups served (an aggregated API server in front of v1 CRDs): v1.
    load_crds(&emu, V1_CRDS);
    assert_eq!(
        KubeBackend::connect(&spec_for(&emu)).await.unwrap().mode(),
        Mode::V1
    );
}

/// A watch the server closes (its timeout) ends without an error and is not reopened; the
/// caller resumes from the last revision it saw and misses nothing.
#[tokio::test]
async fn a_watch_the_server_closes_ends_and_resumes() {
    use calico_datastore::WatchEvent;
    use futures::StreamExt;
    let emu = plain_emulator().await;
    load_crds(&emu, V1_CRDS);
    let mut backend = backend_for(&emu).await;
    let sets = kind("GlobalNetworkSet");
    // A store whose server-side watches end after a second.
    let store = calico_kube::crd::CrdStore::new(backend.client(), backend.url(), sets, Mode::V1)
        .with_watch_timeout(1);
    backend.register(sets, Arc::new(store));
    let start = backend.list(&ListOptions::all(sets), None).await.unwrap();
    let mut watch = backend
        .watch(&ListOptions::all(sets), Some(&start.revision))
        .await
        .unwrap();
    let mut last = None;
    loop {
        let event = tokio::time::timeout(std::time::Duration::from_secs(10), watch.next())
            .await
            .expect("the watch ends with the server's");
        match event {
            None => break,
            Some(WatchEvent::Bookmark { revision }) => last = Some(revision),
            Some(other) => panic!("unexpected event {other:?}"),
        }
    }
    // The emulator's bookmark at the watch's end: where to resume.
    let last = last.expect("a bookmark before the end");
    backend
        .create(resource(json!({
            "apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkSet",
            "metadata": {"name": "late"}, "spec": {"nets": []}
        })))
        .await
        .unwrap();
    let mut resumed = backend
        .watch(&ListOptions::all(sets), Some(&last))
        .await
        .unwrap();
    let event = tokio::time::timeout(std::time::Duration::from_secs(10), resumed.next())
        .await
        .unwrap()
        .unwrap();
    match event {
        WatchEvent::Added(r) => assert_eq!(r.metadata().name, "late"),
        other => panic!("unexpected event {other:?}"),
    }
}

#[tokio::test]
async fn delete_with_a_stale_uid_is_does_not_exist() {
    use calico_kube::KindStore;
    for (crds, mode) in [(V1_CRDS, Mode::V1), (V3_CRDS, Mode::V3)] {
        let emu = plain_emulator().await;
        load_crds(&emu, crds);
        let backend = backend_for(&emu).await;
        let store = calico_kube::crd::CrdStore::new(
            backend.client(),
            backend.url(),
            kind("GlobalNetworkSet"),
            mode,
        );
        let created = store
            .create(resource(json!({
                "apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkSet",
                "metadata": {"name": "x"}, "spec": {"nets": []}
            })))
            .await
            .unwrap();
        let key = ResourceKey::of(&created);
        let err = store
            .delete(&key, Some("01234567-89ab-4def-8123-456789abcdef"))
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{err}");
        assert!(err.to_string().contains("UID in precondition"), "{err}");
        // The object's own (v3) UID matches, in either mode.
        let deleted = store
            .delete(&key, Some(&created.metadata().uid))
            .await
            .unwrap();
        assert_eq!(deleted.metadata().name, "x");
    }
}

/// The IPAM model in each storage mode: `(CRDs, group, version, config plural, config kind)`.
const IPAM_MODES: [(&str, &str, &str, &str, &str); 2] = [
    (
        V1_CRDS,
        "crd.projectcalico.org",
        "v1",
        "ipamconfigs",
        "IPAMConfig",
    ),
    (
        V3_CRDS,
        "projectcalico.org",
        "v3",
        "ipamconfigurations",
        "IPAMConfiguration",
    ),
];

fn model(doc: Value, kind: calico_api::model::ModelKind) -> ModelValue {
    ModelValue::decode(kind, doc.to_string().as_bytes()).unwrap()
}

/// Each kind's custom resource as Calico's KDD writes it: names, labels, the v1 metadata
/// annotation, the spec (v1 affinities' `deleted` a string), and revisions that are the
/// objects' resourceVersions.
#[tokio::test]
async fn ipam_model_storage_format() {
    use calico_api::model::{AffinityType, BlockAffinityKey, BlockKey, HandleKey, ModelKind as K};
    for (crds, group, version, config_plural, config_kind) in IPAM_MODES {
        let emu = plain_emulator().await;
        load_crds(&emu, crds);
        let backend = backend_for(&emu).await;
        let v1 = version == "v1";
        let stored = |plural: &str, name: &str| raw(&emu, group, version, plural, None, name);

        let block_doc = json!({"cidr": "10.244.0.0/29", "affinity": "host:node-a",
               "affinity_claim_time": "2026-08-01T10:00:00Z",
               "allocations": [0, null, null, null, null, null, null, null],
               "unallocated": [1, 2, 3, 4, 5, 6, 7],
               "attributes": [{"handle_id": "k8s-pod-network.4f1c0d9e",
                               "secondary": {"node": "node-a", "pod": "web-0"}}],
               "sequenceNumber": 1785578400000000005_u64,
               "sequenceNumberForAllocation": {"0": 1785578400000000004_u64},
               "deleted": false});
        let key = ModelKey::Block(BlockKey::new("10.244.0.0/29".parse().unwrap()));
        let created = backend
            .create_model(key, model(block_doc.clone(), K::Block))
            .await
            .unwrap();
        let cr = stored("ipamblocks", "10-244-0-0-29");
        assert_eq!(cr["kind"], "IPAMBlock");
        assert_eq!(cr["apiVersion"], format!("{group}/{version}"));
        assert_eq!(cr["metadata"]["resourceVersion"], created.revision.as_str());
        // The spec: the etcd value's fields but the claim time's name, and the deprecated
        // `strictAffinity`.
        let mut spec = block_doc;
        let fields = spec.as_object_mut().unwrap();
        let claim_time = fields.remove("affinity_claim_time").unwrap();
        fields.insert("affinityClaimTime".into(), claim_time);
        fields.insert("strictAffinity".into(), json!(false));
        assert_eq!(cr["spec"], spec);
        assert_eq!(cr["metadata"].get("labels"), None);
        if v1 {
            // Calico's metadata annotation: nothing left of an IPAM object's metadata.
            assert_eq!(
                cr["metadata"]["annotations"],
                json!({"projectcalico.org/metadata": "{}"})
            );
        } else {
            assert_eq!(cr["metadata"].get("annotations"), None);
        }

        let key = ModelKey::BlockAffinity(BlockAffinityKey::new(
            "10.244.0.0/26".parse().unwrap(),
            "node-a",
            AffinityType::Host,
        ));
        let created = backend
            .create_model(key, model(json!({"state": "confirmed"}), K::BlockAffinity))
            .await
            .unwrap();
        let cr = stored("blockaffinities", "node-a-10-244-0-0-26");
        assert_eq!(cr["kind"], "BlockAffinity");
        assert_eq!(cr["metadata"]["resourceVersion"], created.revision.as_str());
        let labels = json!({
            "projectcalico.org/affinity-type": "host",
            "projectcalico.org/hostname-hash": "PY3TQE2E3XMTETLM2MJO3UITKPFB27YUJ4T4E5XGPEJON3SM4QAA",
            "projectcalico.org/ip-version": "4",
        });
        assert_eq!(cr["metadata"]["labels"], labels);
        let deleted = if v1 { json!("false") } else { json!(false) };
        assert_eq!(
            cr["spec"],
            json!({"state": "confirmed", "node": "node-a", "type": "host",
                   "cidr": "10.244.0.0/26", "deleted": deleted})
        );
        if v1 {
            let annotation = cr["metadata"]["annotations"]["projectcalico.org/metadata"]
                .as_str()
                .unwrap();
            assert_eq!(
                serde_json::from_str::<Value>(annotation).unwrap(),
                json!({ "labels": labels })
            );
        }

        let key = ModelKey::Handle(HandleKey::new("K8s-Pod-Network.4F1C"));
        backend
            .create_model(
                key.clone(),
                model(json!({"block": {"10.244.0.0/29": 1}}), K::Handle),
            )
            .await
            .unwrap();
        let cr = stored("ipamhandles", "k8s-pod-network.4f1c");
        assert_eq!(cr["kind"], "IPAMHandle");
        assert_eq!(
            cr["spec"],
            json!({"handleID": "K8s-Pod-Network.4F1C", "block": {"10.244.0.0/29": 1},
                   "deleted": false})
        );
        // The ID keeps its case on the way back, in a get and in a list.
        assert_eq!(backend.get_model(&key).await.unwrap().key, key);
        let handles = backend
            .list_model(&ModelListOptions::Handles)
            .await
            .unwrap();
        assert_eq!(handles.items[0].key, key);
        // Handle IDs differing only in case collide.
        let err = backend
            .create_model(
                ModelKey::Handle(HandleKey::new("k8s-pod-network.4f1c")),
                model(json!({"block": {}}), K::Handle),
            )
            .await
            .unwrap_err();
        assert!(err.is_already_exists(), "{err}");

        let config = model(
            json!({"strict_affinity": true, "auto_allocate_blocks": true,
                   "kubeVirtVMAddressPersistence": "Enabled"}),
            K::Config,
        );
        let applied = backend
            .apply_model(ModelKey::Config, config.clone())
            .await
            .unwrap();
        let cr = stored(config_plural, "default");
        assert_eq!(cr["kind"], config_kind);
        assert_eq!(cr["metadata"]["resourceVersion"], applied.revision.as_str());
        let mut spec = json!({"strictAffinity": true, "autoAllocateBlocks": true,
                              "kubeVirtVMAddressPersistence": "Enabled"});
        if !v1 {
            // The v3 CRD's default, filled in by the API server.
            spec["maxBlocksPerHost"] = json!(0);
        }
        assert_eq!(cr["spec"], spec);
        let read = backend.get_model(&ModelKey::Config).await.unwrap();
        assert_eq!(read.value, config);
    }
}

/// Calico's two-step delete, a get that finishes one left half-done, which lists show soft-
/// deleted objects, and the affinity names Kubernetes makes collide.
#[tokio::test]
async fn ipam_model_soft_delete_and_collisions() {
    for (crds, ..) in IPAM_MODES {
        let emu = plain_emulator().await;
        load_crds(&emu, crds);
        soft_delete_and_collisions(&backend_for(&emu).await).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipam_model_soft_delete_and_collisions_on_a_real_apiserver() {
    for (crds, ..) in IPAM_MODES {
        let (_server, _dir, backend) = real_apiserver(crds).await;
        soft_delete_and_collisions(&backend).await;
    }
}

/// Whether the custom resource `name` of the v3 kind `kind` is stored.
async fn stored_object(backend: &KubeBackend, kind_name: &str, name: &str) -> bool {
    match backend
        .get(&ResourceKey::new(kind(kind_name), "", name), None)
        .await
    {
        Ok(_) => true,
        Err(err) if err.is_not_found() => false,
        Err(err) => panic!("{err}"),
    }
}

async fn soft_delete_and_collisions(backend: &KubeBackend) {
    use calico_api::model::{AffinityType, BlockAffinityKey, HandleKey, ModelKind as K};
    // Delete: marked, then gone; the value returned is the marked one.
    let key = ModelKey::Handle(HandleKey::new("h1"));
    let handle = model(json!({"block": {"10.0.0.0/26": 1}}), K::Handle);
    backend.create_model(key.clone(), handle).await.unwrap();
    let deleted = backend.delete_model(&key, None).await.unwrap();
    assert_eq!(
        deleted.value,
        model(
            json!({"block": {"10.0.0.0/26": 1}, "deleted": true}),
            K::Handle
        )
    );
    assert!(!stored_object(backend, "IPAMHandle", "h1").await);

    // A handle left marked deleted (a writer stopped between the steps): listed as it is,
    // and a get deletes it and reports it missing.
    let key = ModelKey::Handle(HandleKey::new("h2"));
    let created = backend
        .create_model(key.clone(), model(json!({"block": {}}), K::Handle))
        .await
        .unwrap();
    backend
        .update_model(
            key.clone(),
            model(json!({"block": {}, "deleted": true}), K::Handle),
            &created.revision,
        )
        .await
        .unwrap();
    let listed = backend
        .list_model(&ModelListOptions::Handles)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    let err = backend.get_model(&key).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "resource does not exist: IPAMHandleKey(id=h2) with error: Resource was deleted"
    );
    assert!(!stored_object(backend, "IPAMHandle", "h2").await);

    // Affinity lists leave marked affinities out.
    let cidr = "10.0.0.0/26".parse().unwrap();
    let host_key = ModelKey::BlockAffinity(BlockAffinityKey::new(cidr, "n1", AffinityType::Host));
    let created = backend
        .create_model(
            host_key.clone(),
            model(json!({"state": "confirmed"}), K::BlockAffinity),
        )
        .await
        .unwrap();
    let of_n1 = ModelListOptions::affinities_of("n1", None);
    assert_eq!(backend.list_model(&of_n1).await.unwrap().items.len(), 1);
    backend
        .update_model(
            host_key.clone(),
            model(
                json!({"state": "confirmed", "deleted": true}),
                K::BlockAffinity,
            ),
            &created.revision,
        )
        .await
        .unwrap();
    assert!(backend.list_model(&of_n1).await.unwrap().items.is_empty());
    assert!(backend
        .get_model(&host_key)
        .await
        .unwrap_err()
        .is_not_found());

    // The affinity type is not part of the name: host and virtual affinities of one block
    // and host collide, as in Calico.
    backend
        .create_model(
            host_key,
            model(json!({"state": "confirmed"}), K::BlockAffinity),
        )
        .await
        .unwrap();
    let virtual_key =
        ModelKey::BlockAffinity(BlockAffinityKey::new(cidr, "n1", AffinityType::Virtual));
    let err = backend
        .create_model(
            virtual_key,
            model(json!({"state": "pending"}), K::BlockAffinity),
        )
        .await
        .unwrap_err();
    assert!(err.is_already_exists(), "{err}");

    // A host name too long for an object name: cut and hashed, listed by its label.
    // (Dotted: each label of a name has at most 63 characters.)
    let long_host = format!("{}example.com", "nnnnnnnnn.".repeat(24));
    let long_key = ModelKey::BlockAffinity(BlockAffinityKey::new(
        cidr,
        long_host.as_str(),
        AffinityType::Host,
    ));
    backend
        .create_model(
            long_key.clone(),
            model(json!({"state": "pending"}), K::BlockAffinity),
        )
        .await
        .unwrap();
    let mine = backend
        .list_model(&ModelListOptions::affinities_of(long_host.clone(), None))
        .await
        .unwrap();
    assert_eq!(
        mine.items.iter().map(|kv| &kv.key).collect::<Vec<_>>(),
        [&long_key]
    );
    let name = calico_kube::ipam::affinity_name(&long_host, &cidr);
    assert_eq!(name.len(), 252);
    assert!(stored_object(backend, "BlockAffinity", &name).await);
}

/// A stored object Calico could not read either: reported by lists with its object, not listed.
#[tokio::test]
async fn ipam_model_unreadable_objects_are_reported() {
    let emu = plain_emulator().await;
    load_crds(&emu, V3_CRDS);
    let backend = backend_for(&emu).await;
    let def = emu
        .store()
        .lookup("projectcalico.org", "v3", "ipamhandles")
        .unwrap();
    emu.store()
        .create(
            &def,
            None,
            json!({"apiVersion": "projectcalico.org/v3", "kind": "IPAMHandle",
                   "metadata": {"name": "broken"},
                   "spec": {"handleID": "broken", "block": {"10.0.0.0/26": "one"}}}),
        )
        .unwrap();
    let handles = backend
        .list_model(&ModelListOptions::Handles)
        .await
        .unwrap();
    assert!(handles.items.is_empty());
    assert!(
        matches!(
            handles.unreadable.as_slice(),
            [calico_datastore::DatastoreError::ParsingEntry { key, .. }] if key == "ipamhandles/broken"
        ),
        "{:?}",
        handles.unreadable
    );
}

/// With host-local IPAM (`usePodCIDR`) Calico registers no IPAM storage: every IPAM model
/// operation is refused.
#[tokio::test]
async fn ipam_model_is_refused_with_use_pod_cidr() {
    let emu = plain_emulator().await;
    load_crds(&emu, V1_CRDS);
    let spec = ApiConfigSpec {
        use_pod_cidr: true,
        ..spec_for(&emu)
    };
    let backend = KubeBackend::connect(&spec).await.unwrap();
    let err = backend.get_model(&ModelKey::Config).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "operation Get is not supported on IPAMConfigKey()"
    );
    assert!(matches!(
        backend.list_model(&ModelListOptions::Handles).await,
        Err(calico_datastore::DatastoreError::OperationNotSupported { .. })
    ));
}
