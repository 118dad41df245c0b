//! The processors against what Calico's syncers delivered for the same datastore
//! (`tests/goldens/`, see its README): same keys, and values byte-identical to Go's JSON.

use std::collections::BTreeMap;

use calico_api::{decode_value_with, DecodeOptions};
use calico_datastore::{KindRef, ResourceKey};
use proptest::prelude::*;

use super::*;
use crate::types::{SourceKey, SourceKv, SourceValue};
use crate::{resource_types, SyncerKind, SyncerOptions};

const GOLDENS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/goldens");

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{GOLDENS}/{name}")).unwrap_or_default()
}

/// A stored document as the syncer reads it, metadata normalised as in the goldens.
fn source(path: &str, document: &str) -> Option<SourceKv> {
    let mut json: serde_json::Value = serde_json::from_str(document).ok()?;
    let meta = json.get_mut("metadata")?.as_object_mut()?;
    meta.insert("uid".into(), "UID".into());
    meta.insert("resourceVersion".into(), "RV".into());
    meta.insert("creationTimestamp".into(), "2024-01-01T00:00:00Z".into());
    let resource = decode_value_with(&json, DecodeOptions::STRICT).ok()?;
    let kind = KindRef::lookup(resource.kind())?;
    let key = ResourceKey::from_path(kind, path)?;
    Some(SourceKv {
        key: SourceKey::Resource(key),
        value: Some(SourceValue::Resource(resource)),
        revision: "1".into(),
    })
}

fn initial_sources() -> Vec<SourceKv> {
    let mut out = Vec::new();
    for line in read("datastore-initial.jsonl").lines() {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        let (Some(key), Some(value)) = (entry["key"].as_str(), entry["value"].as_str()) else {
            continue;
        };
        match source(key, value) {
            Some(kv) => out.push(kv),
            None => panic!("golden document did not decode: {key}"),
        }
    }
    // Calico's etcd driver lists this profile without storing it; so does ours.
    let allow = calico_datastore::codec::default_allow_profile()
        .and_then(|profile| profile.to_json_value().ok())
        .map(|json| json.to_string())
        .unwrap_or_default();
    out.extend(source(
        "/calico/resources/v3/projectcalico.org/profiles/projectcalico-default-allow",
        &allow,
    ));
    out
}

/// The processors Calico's syncer puts on each kind, as [`V1Processor`]s (so that values can
/// be compared byte for byte); `None`: passed through.
fn v1_processor(syncer: SyncerKind, kind: &str) -> Option<Box<dyn V1Processor>> {
    Some(match (syncer, kind) {
        (SyncerKind::Felix, "ClusterInformation") => Box::new(ConfigProcessor::cluster_info()),
        (SyncerKind::Felix, "FelixConfiguration") => Box::new(ConfigProcessor::felix()),
        (SyncerKind::Felix, "GlobalNetworkSet") => Box::new(GlobalNetworkSetProcessor::default()),
        (SyncerKind::Felix, "Node") => Box::new(FelixNodeProcessor),
        (SyncerKind::Felix, "WorkloadEndpoint") => Box::new(WorkloadEndpointProcessor),
        (SyncerKind::Felix, "NetworkSet") => Box::new(NetworkSetProcessor),
        (SyncerKind::Felix, "GlobalNetworkPolicy") => {
            Box::new(PolicyProcessor::global_network_policy())
        }
        (SyncerKind::Felix, "StagedGlobalNetworkPolicy") => {
            Box::new(PolicyProcessor::staged_global_network_policy())
        }
        (SyncerKind::Felix, "NetworkPolicy") => Box::new(PolicyProcessor::network_policy()),
        (SyncerKind::Felix, "StagedNetworkPolicy") => {
            Box::new(PolicyProcessor::staged_network_policy())
        }
        (SyncerKind::Felix, "Profile") => Box::new(ProfileProcessor),
        (SyncerKind::Felix, "Tier") => Box::new(TierProcessor),
        (SyncerKind::Felix, "HostEndpoint") => Box::new(HostEndpointProcessor::default()),
        (_, "IPPool") => Box::new(IpPoolProcessor::default()),
        _ => return None,
    })
}

fn followed(syncer: SyncerKind) -> Vec<&'static str> {
    resource_types(syncer, &SyncerOptions::default())
        .iter()
        .filter_map(|t| match &t.source {
            crate::Source::Resources(list) => Some(list.kind.kind()),
            _ => None,
        })
        .collect()
}

/// Runs the sources through the syncer's processors as its cache would: the last value per
/// key, deletes of keys never delivered dropped.
fn run(syncer: SyncerKind, sources: &[SourceKv]) -> BTreeMap<String, Vec<u8>> {
    let kinds = followed(syncer);
    let mut processors: BTreeMap<&str, Option<Box<dyn V1Processor>>> = kinds
        .iter()
        .map(|kind| (*kind, v1_processor(syncer, kind)))
        .collect();
    let mut state = BTreeMap::new();
    for kv in sources {
        let SourceKey::Resource(key) = &kv.key else {
            continue;
        };
        let kind = key.kind.kind();
        let Some(slot) = processors.get_mut(kind) else {
            continue;
        };
        let emitted = match slot {
            Some(processor) => processor.process_v1(kv).unwrap_or_default(),
            None => vec![passthrough(kv)],
        };
        for e in emitted {
            match e.go_bytes() {
                Some(bytes) => state.insert(e.key.path(), bytes),
                None => state.remove(&e.key.path()),
            };
        }
    }
    state
}

/// The golden's `new` lines: key and the value's raw bytes as Go printed them.
fn golden(name: &str) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for line in read(name).lines() {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        let Some(key) = entry["key"].as_str() else {
            continue;
        };
        let Some(start) = line.find(",\"value\":") else {
            continue;
        };
        let raw = &line[start + 9..line.len() - 1];
        out.insert(key.to_string(), raw.as_bytes().to_vec());
    }
    out
}

fn compare(syncer: SyncerKind, golden_file: &str) {
    let got = run(syncer, &initial_sources());
    let want = golden(golden_file);
    assert!(!want.is_empty(), "{golden_file} is empty");
    eprintln!("{golden_file}: {} keys compared", want.len());
    let mut problems = Vec::new();
    for (key, bytes) in &want {
        match got.get(key) {
            None => problems.push(format!("missing {key}")),
            Some(ours) if ours != bytes => problems.push(format!(
                "{key}:\n  calico: {}\n  ours:   {}",
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(ours)
            )),
            _ => {}
        }
    }
    for key in got.keys() {
        if !want.contains_key(key) {
            problems.push(format!("extra {key}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn felix_initial_sync_matches_calico() {
    compare(SyncerKind::Felix, "felix-initial.jsonl");
}

#[test]
fn bgp_initial_sync_matches_calico() {
    compare(SyncerKind::Bgp, "bgp-initial.jsonl");
}

#[test]
fn node_status_initial_sync_matches_calico() {
    compare(SyncerKind::NodeStatus, "nodestatus-initial.jsonl");
}

#[test]
fn update_processor_trait_gives_the_same_json() {
    // The boxed processors syncers.rs wires in deliver the same values (as JSON).
    let sources = initial_sources();
    let want = run(SyncerKind::Felix, &sources);
    let mut types = resource_types(SyncerKind::Felix, &SyncerOptions::default());
    let mut got = BTreeMap::new();
    for kv in &sources {
        let SourceKey::Resource(key) = &kv.key else {
            continue;
        };
        for t in &mut types {
            let crate::Source::Resources(list) = &t.source else {
                continue;
            };
            if list.kind.kind() != key.kind.kind() {
                continue;
            }
            let out = match &mut t.processor {
                Some(p) => p.process(kv).unwrap_or_default(),
                None => vec![kv.passthrough()],
            };
            for s in out {
                match s.value {
                    // Re-read from text so that 1000000 and 1000000.0 compare equal.
                    Some(v) => got.insert(
                        s.key.path(),
                        serde_json::from_slice(
                            &calico_api::json::to_vec(&v.to_json()).unwrap_or_default(),
                        )
                        .unwrap_or_default(),
                    ),
                    None => got.remove(&s.key.path()),
                };
            }
        }
    }
    let want: BTreeMap<String, serde_json::Value> = want
        .into_iter()
        .map(|(k, v)| (k, serde_json::from_slice(&v).unwrap_or_default()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn dash_separated_names() {
    assert_eq!(
        endpoints::dash_separated("worker--1-k8s-frontend--5d8c7b9f4--x2kqp-eth0", 4),
        Some(vec![
            "worker-1".to_string(),
            "k8s".into(),
            "frontend-5d8c7b9f4-x2kqp".into(),
            "eth0".into()
        ])
    );
    assert_eq!(endpoints::dash_separated("a-b", 4), None);
}

proptest! {
    #[test]
    fn felix_config_fields_never_panic(value in any::<i64>(), text in ".{0,20}") {
        for (_, _, field) in felix_fields::FELIX_FIELDS {
            let _ = config::format_field(*field, &serde_json::json!(value));
            let _ = config::format_field(*field, &serde_json::json!(text));
            let _ = config::format_field(*field, &serde_json::json!([text, value]));
            let _ = config::format_field(*field, &serde_json::json!({"min": value, "net": text}));
        }
    }

    #[test]
    fn workload_names_never_panic(name in "[a-z-]{0,30}") {
        let _ = endpoints::dash_separated(&name, 4);
    }
}
