use std::collections::BTreeSet;
use std::sync::Arc;

use calico_api::decode_value;
use calico_datastore::client::Client;
use calico_datastore::{EmbeddedStore, KvBackend};
use serde_json::json;

use super::*;

fn client(path: &Path) -> Client {
    let store = EmbeddedStore::open(path).unwrap();
    Client::new(Arc::new(KvBackend::new(store)))
}

#[test]
fn requests_and_answers_survive_the_trip_through_a_file() {
    let mut args = AutoAssignArgs::workload("node-a", Some("h".into()));
    args.num6 = 2;
    args.ipv4_pools = vec!["10.0.0.0/24".parse().unwrap()];
    args.intended_use = AllowedUse::Tunnel;
    args.host_reserved = Some(HostReserved {
        start_of_block: 3,
        end_of_block: 1,
        handle: "windows-reserved-ipam-handle".into(),
        note: "windows".into(),
    });
    let bytes = serde_json::to_vec(&WireRequest::from_args(&args)).unwrap();
    let back = serde_json::from_slice::<WireRequest>(&bytes)
        .unwrap()
        .into_args();
    assert_eq!(format!("{back:?}"), format!("{args:?}"));

    let failed: Result<AutoAssignOutcome, AutoAssignError> = Err(AutoAssignError {
        partial: Box::default(),
        cause: Box::new(AssignError::BlockLimit),
    });
    let answer = WireAnswer::from_result(&failed).into_result().unwrap_err();
    assert_eq!(answer.to_string(), AssignError::BlockLimit.to_string());
    assert!(!answer.cause.is_not_found());
}

/// Several processes are simulated by clients of their own (each with its own connection to
/// the store and its own `Ipam`), sharing only the queue directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocations_of_many_processes_are_served_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("calico.db");
    let setup = client(&db);
    for doc in [
        json!({"apiVersion": "projectcalico.org/v3", "kind": "IPPool", "metadata": {"name": "p"},
               "spec": {"cidr": "10.0.0.0/16", "blockSize": 26, "ipipMode": "Never", "vxlanMode": "Never"}}),
        json!({"apiVersion": "projectcalico.org/v3", "kind": "Node", "metadata": {"name": "node-a"}, "spec": {}}),
    ] {
        setup.create(decode_value(doc).unwrap()).await.unwrap();
    }
    let queue = HostQueue::new(dir.path().join("queue"));
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let queue = queue.clone();
            let ipam = Ipam::new(client(&db));
            tokio::spawn(async move {
                queue
                    .auto_assign(
                        &ipam,
                        AutoAssignArgs::workload("node-a", Some(format!("pod-{i}"))),
                    )
                    .await
            })
        })
        .collect();
    let mut all = BTreeSet::new();
    for task in tasks {
        let outcome = task.await.unwrap().unwrap().unwrap();
        for ip in outcome.ips() {
            assert!(all.insert(ip.addr()), "{ip} handed out twice");
        }
    }
    assert_eq!(all.len(), 60);
    // Released the same way, each process with its handle and one that does not exist.
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let queue = queue.clone();
            let db = db.clone();
            tokio::spawn(async move {
                queue
                    .release_by_handles_with(
                        vec![format!("pod-{i}"), format!("legacy-{i}")],
                        move || async move { Ok(Ipam::new(client(&db))) },
                    )
                    .await
            })
        })
        .collect();
    for task in tasks {
        let results = task.await.unwrap().unwrap();
        assert!(results[0].is_ok(), "{results:?}");
        assert!(results[1].as_ref().unwrap_err().is_not_found());
    }
    let tally = crate::query::handle_tally(&setup).await.unwrap();
    assert!(tally.stored.is_empty(), "{tally:?}");
    assert_eq!(tally.allocated, 0);
    let left: Vec<_> = fs::read_dir(queue.dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != LOCK_FILE && name != HINTS_FILE)
        .collect();
    assert!(left.is_empty(), "left in the queue: {left:?}");
}
