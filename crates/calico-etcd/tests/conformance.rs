//! The driver conformance suite on `KvBackend<EtcdStore>`.

use calico_datastore::conformance::{self, KvHarness};
use calico_etcd::{EtcdSettings, EtcdStore};
use calico_test_support::EtcdServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_the_conformance_suite() {
    let server = EtcdServer::start();
    let mut settings = EtcdSettings::new([server.endpoint()]);
    // Small pages, so every list in the suite crosses page boundaries.
    settings.page_size = 2;
    let store = EtcdStore::connect(&settings).await.unwrap();
    let harness = KvHarness::new(store, server);
    if let Err(failures) = conformance::run_all(&harness).await {
        panic!("conformance failures:\n{failures}");
    }
    if let Err(failures) = conformance::run_model_checks(&harness).await {
        panic!("IPAM model conformance failures:\n{failures}");
    }
}
