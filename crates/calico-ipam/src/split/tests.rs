use std::sync::Arc;

use calico_api::decode_value;
use calico_datastore::{EmbeddedStore, KvBackend};
use proptest::prelude::*;
use serde_json::json;

use super::*;

#[test]
fn splits_v4_and_v6_in_address_order() {
    let parts: Vec<String> = split_cidr("10.0.1.0/24", 4)
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        parts,
        [
            "10.0.1.0/26",
            "10.0.1.64/26",
            "10.0.1.128/26",
            "10.0.1.192/26"
        ]
    );
    let parts: Vec<String> = split_cidr("fd00::/120", 2)
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(parts, ["fd00::/121", "fd00::80/121"]);
    // Host bits are masked, as Calico masks them.
    assert_eq!(
        split_cidr("10.0.1.7/24", 2).unwrap()[0].to_string(),
        "10.0.1.0/25"
    );
}

#[test]
fn refuses_what_calico_refuses() {
    assert_eq!(
        split_cidr("10.0.1.0/24", 3).unwrap_err().to_string(),
        "number to split CIDR into is not a valid power of 2: 3"
    );
    assert_eq!(
        split_cidr("10.0.1.0/24", 1).unwrap_err().to_string(),
        "number to split CIDR into is not a valid power of 2: 1"
    );
    assert_eq!(
        split_cidr("10.0.1.0/24", 512).unwrap_err().to_string(),
        "the CIDR 10.0.1.0/24 is not large enough to be split into 512 parts"
    );
    assert_eq!(
        split_cidr("nonsense", 2).unwrap_err().to_string(),
        "error reading CIDR nonsense before attempting to split it"
    );
}

proptest! {
    #[test]
    fn split_never_panics_and_covers_the_pool(a in any::<u32>(), len in 0u8..=32, parts in any::<u64>()) {
        let cidr = format!("{}/{len}", std::net::Ipv4Addr::from(a));
        if let Ok(nets) = split_cidr(&cidr, parts) {
            prop_assert_eq!(nets.len() as u64, parts);
            let whole: IpNet = cidr.parse::<IpNet>().unwrap().trunc();
            prop_assert!(nets.iter().all(|n| whole.contains(n)));
        }
    }
}

#[test]
fn long_names_are_cut_as_calico_cuts_them() {
    let old = "a".repeat(250);
    let name = split_name(&old, 3);
    assert_eq!(name, format!("split-{}-3", "a".repeat(245)));
    assert_eq!(split_name("pool", 0), "split-pool-0");
}

async fn client() -> (tempfile::TempDir, Client) {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path().join("calico.db")).unwrap();
    (dir, Client::new(Arc::new(KvBackend::new(store))))
}

fn pool(name: &str, cidr: &str) -> AnyResource {
    let ipip = if cidr.contains(':') {
        "Never"
    } else {
        "Always"
    };
    decode_value(json!({
        "kind": "IPPool", "apiVersion": "projectcalico.org/v3",
        "metadata": {"name": name},
        "spec": {"cidr": cidr, "ipipMode": ipip, "natOutgoing": true}
    }))
    .unwrap()
}

#[tokio::test]
async fn split_needs_a_locked_datastore_then_replaces_the_pool() {
    let (_dir, client) = client().await;
    client.ensure_initialized("", "").await.unwrap();
    client.create(pool("p1", "10.0.1.0/24")).await.unwrap();
    let by_cidr = PoolRef::Cidr("10.0.1.0/24".into());

    let err = split_pool(&client, &by_cidr, 4).await.unwrap_err();
    assert!(matches!(err, SplitError::NotLocked), "{err}");

    client.set_datastore_ready(false).await.unwrap();
    let err = split_pool(&client, &PoolRef::Cidr("10.0.2.0/24".into()), 4)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unable to find IP pool  covering the specified CIDR 10.0.2.0/24"
    );
    let err = split_pool(&client, &by_cidr, 3).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "error splitting the CIDR 10.0.1.0/24 into 3 CIDRs: number to split CIDR into is not a valid power of 2: 3"
    );

    let outcome = split_pool(&client, &by_cidr, 4).await.unwrap();
    assert_eq!(outcome.old_name, "p1");
    let kind = KindRef::lookup("IPPool").unwrap();
    let listed = client.list(&ListOptions::all(kind)).await.unwrap().items;
    let mut got: Vec<(String, String, bool, bool)> = listed
        .into_iter()
        .map(|r| as_pool(r).unwrap())
        .map(|p| {
            (
                p.metadata.name,
                p.spec.cidr,
                p.spec.disabled,
                p.spec.nat_outgoing,
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("split-p1-0".into(), "10.0.1.0/26".into(), false, true),
            ("split-p1-1".into(), "10.0.1.64/26".into(), false, true),
            ("split-p1-2".into(), "10.0.1.128/26".into(), false, true),
            ("split-p1-3".into(), "10.0.1.192/26".into(), false, true),
        ]
    );
}

#[tokio::test]
async fn split_by_name_and_missing_name() {
    let (_dir, client) = client().await;
    client.ensure_initialized("", "").await.unwrap();
    client.create(pool("p2", "fd00::/120")).await.unwrap();
    client.set_datastore_ready(false).await.unwrap();
    let err = split_pool(&client, &PoolRef::Name("nope".into()), 2)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unable to find IP pool with name nope: resource does not exist"),
        "{err}"
    );
    let outcome = split_pool(&client, &PoolRef::Name("p2".into()), 2)
        .await
        .unwrap();
    let cidrs: Vec<&str> = outcome
        .created
        .iter()
        .map(|p| p.spec.cidr.as_str())
        .collect();
    assert_eq!(cidrs, ["fd00::/121", "fd00::80/121"]);
    assert!(matches!(
        split_pool(&client, &PoolRef::Name(String::new()), 2).await,
        Err(SplitError::NoPoolGiven)
    ));
}
