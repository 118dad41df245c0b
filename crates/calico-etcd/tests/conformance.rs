//! The driver conformance suite on `KvBackend<EtcdStore>`.

use std::sync::Arc;

use async_trait::async_trait;
use calico_datastore::kv::KvStore;
use calico_datastore::{Backend, KvBackend};
use calico_etcd::{EtcdSettings, EtcdStore};
use calico_test_support::EtcdServer;

struct EtcdHarness {
    _server: EtcdServer,
    backend: Arc<KvBackend<EtcdStore>>,
}

#[async_trait]
impl calico_datastore::conformance::Harness for EtcdHarness {
    async fn backend(&self) -> Arc<dyn Backend> {
        self.backend.clone()
    }

    async fn compact(&self, revision: &str) -> Option<()> {
        let revision = revision.parse().ok()?;
        self.backend.store().compact(revision).await.ok()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_the_conformance_suite() {
    let server = EtcdServer::start();
    let mut settings = EtcdSettings::new([server.endpoint()]);
    // Small pages, so every list in the suite crosses page boundaries.
    settings.page_size = 2;
    let store = EtcdStore::connect(&settings).await.unwrap();
    let harness = EtcdHarness {
        _server: server,
        backend: Arc::new(KvBackend::new(store)),
    };
    if let Err(failures) = calico_datastore::conformance::run_all(&harness).await {
        panic!("conformance failures:\n{failures}");
    }
}
