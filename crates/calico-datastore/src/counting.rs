//! [`CountingBackend`]: a [`Backend`] that counts the datastore round trips of another, for
//! tests and benchmarks (`Client::new(Arc::new(CountingBackend::new(inner)))`).
//!
//! Every call is one round trip, except: a paged list counts one per page delivered, a watch
//! one when it starts (its events are not counted), and a [`Backend::read_batch`] one when the
//! inner backend reads a batch in one ([`Backend::batched_reads`]), else one per read. What a
//! driver does inside one call (a Kubernetes list the API server pages, a batch prefix read
//! too large for one etcd transaction, the Kubernetes driver's read before a guarded delete)
//! is not seen.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use calico_api::model::{ModelKey, ModelListOptions, ModelValue};
use calico_api::AnyResource;
use futures::StreamExt;

use crate::backend::{
    Backend, DatastoreInfo, ModelKv, ModelList, ModelPages, ModelWatchStream, ModelWrite, Read,
    ReadResult, ResourceList, ResourcePages, WatchStream,
};
use crate::error::Result;
use crate::key::{ListOptions, ResourceKey};

/// The [`Backend`] methods that reach the datastore.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    Create,
    Update,
    Apply,
    Delete,
    Get,
    List,
    ListPages,
    Watch,
    GetModel,
    CreateModel,
    UpdateModel,
    ApplyModel,
    DeleteModel,
    ListModel,
    ListModelPages,
    WatchModel,
    ReadBatch,
    WriteModels,
}

impl Method {
    /// Every method, in declaration order.
    pub const ALL: [Method; 18] = [
        Method::Create,
        Method::Update,
        Method::Apply,
        Method::Delete,
        Method::Get,
        Method::List,
        Method::ListPages,
        Method::Watch,
        Method::GetModel,
        Method::CreateModel,
        Method::UpdateModel,
        Method::ApplyModel,
        Method::DeleteModel,
        Method::ListModel,
        Method::ListModelPages,
        Method::WatchModel,
        Method::ReadBatch,
        Method::WriteModels,
    ];

    /// The trait method's name.
    pub fn name(self) -> &'static str {
        match self {
            Method::Create => "create",
            Method::Update => "update",
            Method::Apply => "apply",
            Method::Delete => "delete",
            Method::Get => "get",
            Method::List => "list",
            Method::ListPages => "list_pages",
            Method::Watch => "watch",
            Method::GetModel => "get_model",
            Method::CreateModel => "create_model",
            Method::UpdateModel => "update_model",
            Method::ApplyModel => "apply_model",
            Method::DeleteModel => "delete_model",
            Method::ListModel => "list_model",
            Method::ListModelPages => "list_model_pages",
            Method::WatchModel => "watch_model",
            Method::ReadBatch => "read_batch",
            Method::WriteModels => "write_models",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Round trips counted since the last reset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoundTrips {
    pub total: u64,
    /// Per method, only those with at least one.
    pub by_method: BTreeMap<Method, u64>,
}

impl RoundTrips {
    /// The round trips of the given methods together.
    pub fn of(&self, methods: &[Method]) -> u64 {
        methods
            .iter()
            .filter_map(|method| self.by_method.get(method))
            .sum()
    }
}

#[derive(Default)]
struct Counters([AtomicU64; Method::ALL.len()]);

impl Counters {
    fn add(&self, method: Method, n: u64) {
        self.0[method as usize].fetch_add(n, Ordering::Relaxed);
    }

    fn read(&self, reset: bool) -> RoundTrips {
        let mut counts = RoundTrips::default();
        for method in Method::ALL {
            let counter = &self.0[method as usize];
            let n = if reset {
                counter.swap(0, Ordering::Relaxed)
            } else {
                counter.load(Ordering::Relaxed)
            };
            if n > 0 {
                counts.total += n;
                counts.by_method.insert(method, n);
            }
        }
        counts
    }
}

/// A [`Backend`] delegating every call to `inner` and counting its round trips.
pub struct CountingBackend {
    inner: Arc<dyn Backend>,
    counters: Arc<Counters>,
}

impl CountingBackend {
    pub fn new(inner: Arc<dyn Backend>) -> Self {
        CountingBackend {
            inner,
            counters: Arc::default(),
        }
    }

    /// The backend counted.
    pub fn inner(&self) -> &Arc<dyn Backend> {
        &self.inner
    }

    /// Round trips so far (since the last [`CountingBackend::take`]).
    pub fn round_trips(&self) -> u64 {
        self.counters.read(false).total
    }

    /// Round trips so far, per method.
    pub fn counts(&self) -> RoundTrips {
        self.counters.read(false)
    }

    /// Round trips so far, per method, and starts counting again from zero.
    pub fn take(&self) -> RoundTrips {
        self.counters.read(true)
    }

    fn count(&self, method: Method) {
        self.counters.add(method, 1);
    }
}

#[async_trait]
impl Backend for CountingBackend {
    async fn create(&self, resource: AnyResource) -> Result<AnyResource> {
        self.count(Method::Create);
        self.inner.create(resource).await
    }

    async fn update(&self, resource: AnyResource) -> Result<AnyResource> {
        self.count(Method::Update);
        self.inner.update(resource).await
    }

    async fn apply(&self, resource: AnyResource) -> Result<AnyResource> {
        self.count(Method::Apply);
        self.inner.apply(resource).await
    }

    async fn delete(&self, key: &ResourceKey, revision: Option<&str>) -> Result<AnyResource> {
        self.count(Method::Delete);
        self.inner.delete(key, revision).await
    }

    async fn get(&self, key: &ResourceKey, revision: Option<&str>) -> Result<AnyResource> {
        self.count(Method::Get);
        self.inner.get(key, revision).await
    }

    async fn list(&self, options: &ListOptions, revision: Option<&str>) -> Result<ResourceList> {
        self.count(Method::List);
        self.inner.list(options, revision).await
    }

    async fn list_pages(&self, options: &ListOptions, page_size: usize) -> Result<ResourcePages> {
        let pages = self.inner.list_pages(options, page_size).await?;
        let counters = self.counters.clone();
        Ok(Box::pin(pages.inspect(move |_| {
            counters.add(Method::ListPages, 1);
        })))
    }

    async fn watch(&self, options: &ListOptions, revision: Option<&str>) -> Result<WatchStream> {
        self.count(Method::Watch);
        self.inner.watch(options, revision).await
    }

    fn info(&self) -> DatastoreInfo {
        self.inner.info()
    }

    async fn legacy_policy_names(&self) -> Result<Vec<(ResourceKey, AnyResource)>> {
        // One range read per policy kind.
        self.counters.add(Method::List, 4);
        self.inner.legacy_policy_names().await
    }

    async fn get_model(&self, key: &ModelKey) -> Result<ModelKv> {
        self.count(Method::GetModel);
        self.inner.get_model(key).await
    }

    async fn create_model(&self, key: ModelKey, value: ModelValue) -> Result<ModelKv> {
        self.count(Method::CreateModel);
        self.inner.create_model(key, value).await
    }

    async fn update_model(
        &self,
        key: ModelKey,
        value: ModelValue,
        revision: &str,
    ) -> Result<ModelKv> {
        self.count(Method::UpdateModel);
        self.inner.update_model(key, value, revision).await
    }

    async fn apply_model(&self, key: ModelKey, value: ModelValue) -> Result<ModelKv> {
        self.count(Method::ApplyModel);
        self.inner.apply_model(key, value).await
    }

    async fn delete_model(&self, key: &ModelKey, revision: Option<&str>) -> Result<ModelKv> {
        self.count(Method::DeleteModel);
        self.inner.delete_model(key, revision).await
    }

    async fn list_model(&self, options: &ModelListOptions) -> Result<ModelList> {
        self.count(Method::ListModel);
        self.inner.list_model(options).await
    }

    async fn list_model_pages(
        &self,
        options: &ModelListOptions,
        page_size: usize,
    ) -> Result<ModelPages> {
        let pages = self.inner.list_model_pages(options, page_size).await?;
        let counters = self.counters.clone();
        Ok(Box::pin(pages.inspect(move |_| {
            counters.add(Method::ListModelPages, 1);
        })))
    }

    async fn watch_model(
        &self,
        options: &ModelListOptions,
        revision: Option<&str>,
    ) -> Result<ModelWatchStream> {
        self.count(Method::WatchModel);
        self.inner.watch_model(options, revision).await
    }

    async fn read_batch(&self, reads: Vec<Read>) -> Result<Vec<ReadResult>> {
        let trips = if self.inner.batched_reads() {
            u64::from(!reads.is_empty())
        } else {
            reads.len() as u64
        };
        self.counters.add(Method::ReadBatch, trips);
        self.inner.read_batch(reads).await
    }

    fn batched_reads(&self) -> bool {
        self.inner.batched_reads()
    }

    fn atomic_model_writes(&self) -> bool {
        self.inner.atomic_model_writes()
    }

    async fn write_models(&self, writes: Vec<ModelWrite>) -> Result<Vec<ModelKv>> {
        self.counters
            .add(Method::WriteModels, u64::from(!writes.is_empty()));
        self.inner.write_models(writes).await
    }
}

#[cfg(test)]
mod tests;
