use calico_api::model::{HandleKey, IPAMHandle};
use futures::StreamExt;

use super::*;
use crate::client::Client;
use crate::kvbackend::KvBackend;
use crate::EmbeddedStore;

fn handle(n: i64) -> ModelValue {
    IPAMHandle {
        block: Some([("10.0.0.0/26".to_string(), n)].into()),
        ..Default::default()
    }
    .into()
}

#[tokio::test]
async fn counts_each_call_per_method_and_pages_as_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path().join("calico.db")).unwrap();
    let counting = Arc::new(CountingBackend::new(Arc::new(KvBackend::new(store))));
    // Usable under the client like any backend.
    let client = Client::new(counting.clone());
    assert!(client.backend().atomic_model_writes());
    assert!(client.backend().batched_reads());

    let keys: Vec<ModelKey> = (0..3)
        .map(|i| HandleKey::new(format!("h{i}")).into())
        .collect();
    for key in &keys {
        counting.create_model(key.clone(), handle(1)).await.unwrap();
    }
    let first = counting.get_model(&keys[0]).await.unwrap();
    let reads = keys.iter().cloned().map(Read::Model).collect();
    counting.read_batch(reads).await.unwrap();
    counting
        .write_models(vec![
            ModelWrite::Update(keys[0].clone(), handle(2), first.revision),
            ModelWrite::Delete(keys[1].clone(), None),
        ])
        .await
        .unwrap();
    let mut pages = counting
        .list_model_pages(&ModelListOptions::Handles, 1)
        .await
        .unwrap();
    let mut delivered = 0;
    while let Some(page) = pages.next().await {
        page.unwrap();
        delivered += 1;
    }
    assert_eq!(counting.round_trips(), 3 + 1 + 1 + 1 + delivered);
    let counts = counting.take();
    assert_eq!(counts.total, 6 + delivered);
    assert_eq!(
        counts.by_method,
        BTreeMap::from([
            (Method::CreateModel, 3),
            (Method::GetModel, 1),
            (Method::ReadBatch, 1),
            (Method::WriteModels, 1),
            (Method::ListModelPages, delivered),
        ])
    );
    assert_eq!(counting.round_trips(), 0);
    assert_eq!(Method::ReadBatch.to_string(), "read_batch");
}

/// A backend that reads a batch one by one (the trait's defaults): each read is a round trip.
struct Unbatched(Arc<dyn Backend>);

#[async_trait]
impl Backend for Unbatched {
    async fn create(&self, resource: AnyResource) -> Result<AnyResource> {
        self.0.create(resource).await
    }
    async fn update(&self, resource: AnyResource) -> Result<AnyResource> {
        self.0.update(resource).await
    }
    async fn apply(&self, resource: AnyResource) -> Result<AnyResource> {
        self.0.apply(resource).await
    }
    async fn delete(&self, key: &ResourceKey, revision: Option<&str>) -> Result<AnyResource> {
        self.0.delete(key, revision).await
    }
    async fn get(&self, key: &ResourceKey, revision: Option<&str>) -> Result<AnyResource> {
        self.0.get(key, revision).await
    }
    async fn list(&self, options: &ListOptions, revision: Option<&str>) -> Result<ResourceList> {
        self.0.list(options, revision).await
    }
    async fn watch(&self, options: &ListOptions, revision: Option<&str>) -> Result<WatchStream> {
        self.0.watch(options, revision).await
    }
    fn info(&self) -> DatastoreInfo {
        self.0.info()
    }
    async fn get_model(&self, key: &ModelKey) -> Result<ModelKv> {
        self.0.get_model(key).await
    }
}

#[tokio::test]
async fn an_unbatched_read_batch_counts_each_read_and_writes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path().join("calico.db")).unwrap();
    let inner: Arc<dyn Backend> = Arc::new(KvBackend::new(store));
    let key: ModelKey = HandleKey::new("h").into();
    inner.create_model(key.clone(), handle(1)).await.unwrap();
    let counting = CountingBackend::new(Arc::new(Unbatched(inner)));
    assert!(!counting.batched_reads() && !counting.atomic_model_writes());
    let missing: ModelKey = HandleKey::new("missing").into();
    let answers = counting
        .read_batch(vec![Read::Model(key.clone()), Read::Model(missing)])
        .await
        .unwrap();
    assert!(matches!(&answers[0], ReadResult::Model(Some(kv)) if kv.key == key));
    assert!(matches!(&answers[1], ReadResult::Model(None)));
    assert_eq!(
        counting.take().by_method,
        BTreeMap::from([(Method::ReadBatch, 2)])
    );
    let refused = counting
        .write_models(vec![ModelWrite::Delete(key.clone(), None)])
        .await;
    assert!(
        matches!(
            refused,
            Err(crate::DatastoreError::OperationNotSupported { .. })
        ),
        "{refused:?}"
    );
}
