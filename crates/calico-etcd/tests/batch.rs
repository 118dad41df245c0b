//! `read_batch` and `write_models` on etcd: one gRPC request each (counted by etcd itself, in
//! its `/metrics`), at one revision, and a prefix larger than one page read whole.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read as _, Write as _};
use std::sync::Arc;

use calico_api::model::{HandleKey, IPAMHandle, ModelKey, ModelListOptions, ModelValue};
use calico_datastore::counting::{CountingBackend, Method};
use calico_datastore::kv::{KvStore, RawRead, RawReadResult};
use calico_datastore::{Backend, KvBackend, ModelWrite, Read, ReadResult};
use calico_etcd::{EtcdSettings, EtcdStore};
use calico_test_support::EtcdServer;

/// How many KV requests (Range, Put, DeleteRange, Txn, Compact) etcd has been sent.
fn kv_requests(server: &EtcdServer) -> u64 {
    let address = server
        .endpoint()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.0\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text.lines()
        .filter(|line| {
            line.starts_with("grpc_server_started_total{")
                && line.contains("grpc_service=\"etcdserverpb.KV\"")
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

fn handle(n: i64) -> ModelValue {
    IPAMHandle {
        block: Some([("10.0.0.0/26".to_string(), n)].into()),
        ..Default::default()
    }
    .into()
}

fn handle_key(name: &str) -> ModelKey {
    HandleKey::new(name).into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_batch_and_write_models_are_one_request_each() {
    let server = EtcdServer::start();
    let mut settings = EtcdSettings::new([server.endpoint()]);
    settings.page_size = 100;
    let store = EtcdStore::connect(&settings).await.unwrap();
    let backend = Arc::new(CountingBackend::new(Arc::new(KvBackend::new(store))));
    for i in 0..3 {
        backend
            .create_model(handle_key(&format!("h{i}")), handle(i))
            .await
            .unwrap();
    }

    let before = kv_requests(&server);
    let answers = backend
        .read_batch(vec![
            Read::Model(handle_key("h0")),
            Read::Models(ModelListOptions::Handles),
            Read::Model(handle_key("missing")),
            Read::Model(ModelKey::Config),
        ])
        .await
        .unwrap();
    assert_eq!(kv_requests(&server) - before, 1, "read_batch");
    let ReadResult::Model(Some(h0)) = &answers[0] else {
        panic!("{answers:?}")
    };
    assert!(matches!(&answers[1], ReadResult::Models(list) if list.items.len() == 3));
    assert!(matches!(
        &answers[2..],
        [ReadResult::Model(None), ReadResult::Model(None)]
    ));

    let before = kv_requests(&server);
    let written = backend
        .write_models(vec![
            ModelWrite::Update(handle_key("h0"), handle(10), h0.revision.clone()),
            ModelWrite::Create(handle_key("h3"), handle(3)),
            ModelWrite::Delete(handle_key("h1"), None),
        ])
        .await
        .unwrap();
    assert_eq!(kv_requests(&server) - before, 1, "write_models");
    // One transaction: one revision for every write.
    assert!(written.iter().all(|kv| kv.revision == written[0].revision));
    assert!(written[0].revision.parse::<i64>().unwrap() > h0.revision.parse::<i64>().unwrap());

    // A refused transaction, and which write was refused, also take one request.
    let before = kv_requests(&server);
    let refused = backend
        .write_models(vec![
            ModelWrite::Create(handle_key("h4"), handle(4)),
            ModelWrite::Update(handle_key("h0"), handle(11), h0.revision.clone()),
        ])
        .await
        .unwrap_err();
    assert_eq!(kv_requests(&server) - before, 1, "a refused write_models");
    assert_eq!(
        refused.to_string(),
        "update conflict: IPAMHandleKey(id=h0)",
        "{refused:?}"
    );
    assert!(backend.get_model(&handle_key("h4")).await.is_err());

    let counts = backend.take();
    assert_eq!(counts.by_method.get(&Method::ReadBatch), Some(&1));
    assert_eq!(counts.by_method.get(&Method::WriteModels), Some(&2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefix_larger_than_a_page_is_read_whole() {
    let server = EtcdServer::start();
    let mut settings = EtcdSettings::new([server.endpoint()]);
    settings.page_size = 2;
    let store = EtcdStore::connect(&settings).await.unwrap();
    for i in 0..5 {
        store
            .put(&format!("/p/{i}"), format!("v{i}").into_bytes())
            .await
            .unwrap();
    }
    let raw = store
        .read_many(&[RawRead::Prefix("/p/".into()), RawRead::Key("/p/4".into())])
        .await
        .unwrap();
    let RawReadResult::Prefix(page) = &raw.results[0] else {
        panic!("{raw:?}")
    };
    assert_eq!(page.kvs.len(), 2, "one page per prefix in the transaction");
    assert!(page.more);
    assert!(matches!(&raw.results[1], RawReadResult::Key(Some(kv)) if kv.value == b"v4"));
    // More reads than one transaction carries: several, all at the first one's revision.
    let reads: Vec<RawRead> = (0..150)
        .map(|i| RawRead::Key(format!("/p/{}", i % 6)))
        .collect();
    let many = store.read_many(&reads).await.unwrap();
    assert_eq!(many.results.len(), 150);
    assert_eq!(many.revision, raw.revision);
    for (i, result) in many.results.iter().enumerate() {
        let expected = (i % 6 < 5).then(|| format!("v{}", i % 6).into_bytes());
        assert!(
            matches!(result, RawReadResult::Key(kv) if kv.as_ref().map(|kv| kv.value.clone()) == expected),
            "{i}: {result:?}"
        );
    }

    let backend = KvBackend::new(store);
    for i in 0..5 {
        backend
            .create_model(handle_key(&format!("h{i}")), handle(i))
            .await
            .unwrap();
    }
    let whole = backend
        .list_model(&ModelListOptions::Handles)
        .await
        .unwrap();
    let answers = backend
        .read_batch(vec![Read::Models(ModelListOptions::Handles)])
        .await
        .unwrap();
    let ReadResult::Models(batch) = &answers[0] else {
        panic!("{answers:?}")
    };
    assert_eq!(batch.items, whole.items);
    assert_eq!(batch.revision, whole.revision);
}
