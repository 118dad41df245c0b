//! [`KubeBackend`]: the Kubernetes datastore as a [`calico_datastore::Backend`], dispatching each
//! kind to its [`KindStore`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use calico_api::kinds::KINDS;
use calico_api::model::{ModelKey, ModelListOptions, ModelValue};
use calico_api::AnyResource;
use calico_datastore::apiconfig::ApiConfigSpec;
use calico_datastore::{
    Backend, DatastoreError, DatastoreInfo, KindRef, ListOptions, ModelKv, ModelList,
    ModelWatchStream, ResourceKey, ResourceList, ResourcePages, Result, WatchStream,
};

use crate::config::{self, ConfigError, Connection};
use crate::crd::{CrdStore, NATIVE_KINDS};
use crate::ipam::IpamStore;
use crate::mode::{self, Mode};
use crate::native::{self, NativeSettings};
use crate::store::KindStore;

/// Kinds only Calico IPAM stores, not registered with `usePodCIDR` (host-local IPAM).
const IPAM_ONLY_KINDS: &[&str] = &["IPAMBlock", "IPAMHandle"];

/// How often `apply` re-reads and retries when it loses a race with another writer.
const APPLY_ATTEMPTS: usize = 5;
/// Pause between those attempts.
const APPLY_RETRY_DELAY: Duration = Duration::from_millis(50);

/// The Kubernetes datastore driver.
#[derive(Clone)]
pub struct KubeBackend {
    client: kube::Client,
    url: String,
    mode: Mode,
    stores: HashMap<KindRef, Arc<dyn KindStore>>,
    /// The IPAM model's stores; `None` with `usePodCIDR`.
    ipam: Option<Arc<IpamStore>>,
}

impl std::fmt::Debug for KubeBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kinds: Vec<&str> = self.stores.keys().map(|k| k.kind()).collect();
        kinds.sort_unstable();
        f.debug_struct("KubeBackend")
            .field("url", &self.url)
            .field("mode", &self.mode)
            .field("kinds", &kinds)
            .finish_non_exhaustive()
    }
}

impl KubeBackend {
    /// Connects as calicoctl would (kubeconfig, `k8s*` settings, in-cluster), decides the storage
    /// mode, and registers a store for every kind: custom resources, the native-backed kinds
    /// (Node, WorkloadEndpoint, Profile) and Kubernetes NetworkPolicies among NetworkPolicies.
    pub async fn connect(spec: &ApiConfigSpec) -> Result<KubeBackend, ConfigError> {
        let connection = config::connect(spec).await?;
        let mode = mode::detect(&connection.client, spec).await;
        let mut backend = KubeBackend::new(connection, mode);
        backend.add_native_kinds(&NativeSettings::from_env(spec.use_pod_cidr));
        if spec.use_pod_cidr {
            // Host-local IPAM: Calico registers no IPAM block/handle storage then, and none of
            // the IPAM model's.
            for kind in IPAM_ONLY_KINDS {
                if let Some(kind) = KindRef::lookup(kind) {
                    backend.unregister(kind);
                }
            }
            backend.ipam = None;
        }
        Ok(backend)
    }

    /// As [`KubeBackend::connect`], in `mode` whatever `calicoAPIGroup`/`CALICO_API_GROUP` and
    /// discovery say: the same cluster opened once per storage mode, as the
    /// `crd.projectcalico.org/v1` → `projectcalico.org/v3` migration needs it.
    pub async fn connect_mode(
        spec: &ApiConfigSpec,
        mode: Mode,
    ) -> Result<KubeBackend, ConfigError> {
        let mut spec = spec.clone();
        spec.calico_api_group = mode.api_version().to_string();
        KubeBackend::connect(&spec).await
    }

    /// A backend on an existing client, in a given mode, with the CRD stores registered.
    pub fn new(connection: Connection, mode: Mode) -> KubeBackend {
        let ipam = IpamStore::new(&connection.client, &connection.url, mode).map(Arc::new);
        let mut backend = KubeBackend {
            client: connection.client,
            url: connection.url,
            mode,
            stores: HashMap::new(),
            ipam,
        };
        for info in KINDS.iter().filter(|k| !NATIVE_KINDS.contains(&k.kind)) {
            let kind = KindRef(info);
            let store = CrdStore::new(backend.client.clone(), &backend.url, kind, mode);
            backend.register(kind, Arc::new(store));
        }
        backend
    }

    /// Registers the kinds backed by native objects. NetworkPolicies are Calico's custom
    /// resources alone, as in Calico's KDD at the reference snapshot: Kubernetes
    /// NetworkPolicies are not shown among them (an embedder that wants the older releases'
    /// `knp.default.<name>` view can register
    /// [`MergedNetworkPolicyStore`](crate::native::netpol::MergedNetworkPolicyStore) itself).
    pub fn add_native_kinds(&mut self, settings: &NativeSettings) {
        for (kind, store) in native::stores(&self.client, settings) {
            self.register(kind, store);
        }
    }

    /// Serves `kind` with `store`, replacing any store registered for it.
    pub fn register(&mut self, kind: KindRef, store: Arc<dyn KindStore>) {
        self.stores.insert(kind, store);
    }

    /// Stops serving `kind` (its operations then fail with `OperationNotSupported`).
    pub fn unregister(&mut self, kind: KindRef) {
        self.stores.remove(&kind);
    }

    /// The Kubernetes client (for the native stores and for diagnostics).
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// The storage mode in use.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The API server URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether a store serves `kind`.
    pub fn serves(&self, kind: KindRef) -> bool {
        self.stores.contains_key(&kind)
    }

    fn store(
        &self,
        kind: KindRef,
        operation: &str,
        identifier: String,
    ) -> Result<&Arc<dyn KindStore>> {
        self.stores
            .get(&kind)
            .ok_or_else(|| DatastoreError::OperationNotSupported {
                operation: operation.to_string(),
                identifier,
                reason: None,
            })
    }

    fn store_for(&self, key: &ResourceKey, operation: &str) -> Result<&Arc<dyn KindStore>> {
        self.store(key.kind, operation, key.to_string())
    }

    /// The IPAM model's stores, or Calico's refusal when it does not store them
    /// (`usePodCIDR`: host-local IPAM).
    fn ipam(&self, operation: &str, identifier: String) -> Result<&IpamStore> {
        self.ipam
            .as_deref()
            .ok_or_else(|| DatastoreError::OperationNotSupported {
                operation: operation.to_string(),
                identifier,
                reason: None,
            })
    }
}

#[async_trait]
impl Backend for KubeBackend {
    async fn create(&self, resource: AnyResource) -> Result<AnyResource> {
        let key = ResourceKey::of(&resource);
        self.store_for(&key, "Create")?.create(resource).await
    }

    async fn update(&self, resource: AnyResource) -> Result<AnyResource> {
        let key = ResourceKey::of(&resource);
        self.store_for(&key, "Update")?.update(resource).await
    }

    /// Create, and when the name is taken, update over the live object's revision and UID;
    /// conflicts (another writer got in between) and a deletion in between are retried.
    async fn apply(&self, resource: AnyResource) -> Result<AnyResource> {
        let key = ResourceKey::of(&resource);
        let store = self.store_for(&key, "Apply")?;
        let mut last_error = None;
        for attempt in 0..APPLY_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(APPLY_RETRY_DELAY).await;
            }
            let mut fresh = resource.clone();
            let meta = fresh.metadata_mut();
            meta.resource_version.clear();
            match store.create(fresh).await {
                Err(DatastoreError::AlreadyExists { .. }) => {}
                other => return other,
            }
            let live = match store.get(&key).await {
                Ok(live) => live,
                Err(error @ DatastoreError::DoesNotExist { .. }) => {
                    last_error = Some(error);
                    continue;
                }
                Err(error) => return Err(error),
            };
            let mut replacement = resource.clone();
            let live_meta = live.metadata();
            let meta = replacement.metadata_mut();
            meta.resource_version = live_meta.resource_version.clone();
            meta.uid = live_meta.uid.clone();
            if meta.creation_timestamp.is_none() {
                meta.creation_timestamp = live_meta.creation_timestamp;
            }
            match store.update(replacement).await {
                Err(
                    error @ (DatastoreError::UpdateConflict { .. }
                    | DatastoreError::DoesNotExist { .. }),
                ) => {
                    last_error = Some(error);
                }
                other => return other,
            }
        }
        Err(last_error.unwrap_or(DatastoreError::UpdateConflict { key, detail: None }))
    }

    /// Kubernetes deletes have no revision precondition in Calico's KDD (only a UID one), but
    /// this trait promises that a delete at a stale revision fails: so with a revision the
    /// live object is read first and a different revision is an `UpdateConflict`; the delete
    /// then carries the live UID as a precondition, so an object recreated in between is not
    /// deleted. A modification between the read and the delete is not detected.
    async fn delete(&self, key: &ResourceKey, revision: Option<&str>) -> Result<AnyResource> {
        let store = self.store_for(key, "Delete")?;
        match revision.filter(|r| !r.is_empty()) {
            None => store.delete(key, None).await,
            Some(revision) => {
                let live = store.get(key).await?;
                let live_meta = live.metadata();
                if live_meta.resource_version != revision {
                    return Err(DatastoreError::UpdateConflict {
                        key: key.clone(),
                        detail: Some(format!(
                            "resource version '{revision}' is out of date (latest: {}). Delete it \
                             by name, or update the resource YAML/JSON, to delete the current version",
                            live_meta.resource_version
                        )),
                    });
                }
                let uid = Some(live_meta.uid.as_str()).filter(|u| !u.is_empty());
                store.delete(key, uid).await
            }
        }
    }

    /// Kubernetes reads ignore the revision: always the latest object.
    async fn get(&self, key: &ResourceKey, _revision: Option<&str>) -> Result<AnyResource> {
        self.store_for(key, "Get")?.get(key).await
    }

    async fn list(&self, options: &ListOptions, revision: Option<&str>) -> Result<ResourceList> {
        self.store(options.kind, "List", options.kind.kind().to_string())?
            .list(options, revision)
            .await
    }

    async fn list_pages(&self, options: &ListOptions, page_size: usize) -> Result<ResourcePages> {
        self.store(options.kind, "List", options.kind.kind().to_string())?
            .list_pages(options, page_size)
            .await
    }

    async fn watch(&self, options: &ListOptions, revision: Option<&str>) -> Result<WatchStream> {
        self.store(options.kind, "Watch", options.kind.kind().to_string())?
            .watch(options, revision)
            .await
    }

    /// The IPAM model is stored as Calico's KDD stores it ([`crate::ipam`]); with `usePodCIDR`
    /// (host-local IPAM) Calico registers none of its stores, and every IPAM model operation
    /// is refused with `OperationNotSupported`, as there.
    async fn get_model(&self, key: &ModelKey) -> Result<ModelKv> {
        self.ipam("Get", key.to_string())?.get(key).await
    }

    async fn create_model(&self, key: ModelKey, value: ModelValue) -> Result<ModelKv> {
        self.ipam("Create", key.to_string())?
            .create(key, value)
            .await
    }

    async fn update_model(
        &self,
        key: ModelKey,
        value: ModelValue,
        revision: &str,
    ) -> Result<ModelKv> {
        self.ipam("Update", key.to_string())?
            .update(key, value, revision)
            .await
    }

    async fn apply_model(&self, key: ModelKey, value: ModelValue) -> Result<ModelKv> {
        self.ipam("Apply", key.to_string())?.apply(key, value).await
    }

    async fn delete_model(&self, key: &ModelKey, revision: Option<&str>) -> Result<ModelKv> {
        self.ipam("Delete", key.to_string())?
            .delete(key, revision)
            .await
    }

    async fn list_model(&self, options: &ModelListOptions) -> Result<ModelList> {
        self.ipam("List", format!("{:?}", options.kind()))?
            .list(options)
            .await
    }

    async fn watch_model(
        &self,
        options: &ModelListOptions,
        revision: Option<&str>,
    ) -> Result<ModelWatchStream> {
        self.ipam("Watch", format!("{:?}", options.kind()))?
            .watch(options, revision)
            .await
    }

    fn info(&self) -> DatastoreInfo {
        DatastoreInfo {
            datastore_type: "kubernetes",
            location: format!("{}, {} custom resources", self.url, self.mode),
        }
    }
}
