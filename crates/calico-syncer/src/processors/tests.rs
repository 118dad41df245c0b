//! The processors against what Calico's syncers delivered for the same datastore
//! (`tests/goldens/`, see its README): same keys, and values byte-identical to Go's JSON.

use std::collections::BTreeMap;

use calico_api::{decode_value_with, DecodeOptions};
use calico_datastore::{KindRef, ListOptions, ResourceKey};
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

/// The stored documents of `<dir>datastore-initial.jsonl`, plus the built-in profile.
fn initial_sources(dir: &str) -> Vec<SourceKv> {
    let mut out = Vec::new();
    for line in read(&format!("{dir}datastore-initial.jsonl")).lines() {
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

/// The key of a stored path, whatever its kind.
fn key_of_path(path: &str) -> Option<ResourceKey> {
    calico_api::KINDS.iter().find_map(|info| {
        let kind = KindRef::lookup(info.kind)?;
        ResourceKey::from_path(kind, path)
    })
}

/// `<dir>datastore-changes.jsonl` (what etcd's watch saw) as source updates, each with its own
/// revision.
fn change_sources(dir: &str) -> Vec<SourceKv> {
    let mut out = Vec::new();
    for (i, line) in read(&format!("{dir}datastore-changes.jsonl"))
        .lines()
        .enumerate()
    {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        let Some(path) = entry["key"].as_str() else {
            continue;
        };
        let mut kv = match entry["value"].as_str() {
            Some(value) => source(path, value),
            None => key_of_path(path).map(|key| SourceKv {
                key: SourceKey::Resource(key),
                value: None,
                revision: String::new(),
            }),
        };
        match &mut kv {
            Some(kv) => kv.revision = format!("{}", i + 2),
            None => panic!("golden change did not decode: {line}"),
        }
        out.extend(kv);
    }
    out
}

/// The processors Calico's syncer puts on each kind, as [`V1Processor`]s (so that values can
/// be compared byte for byte); `None`: passed through.
fn v1_processor(
    syncer: SyncerKind,
    options: &SyncerOptions,
    kind: &str,
) -> Option<Box<dyn V1Processor>> {
    Some(match (syncer, kind) {
        (SyncerKind::Felix, "ClusterInformation") => Box::new(ConfigProcessor::cluster_info()),
        (SyncerKind::Felix, "FelixConfiguration") => Box::new(ConfigProcessor::felix()),
        (SyncerKind::Felix, "GlobalNetworkSet") => Box::new(GlobalNetworkSetProcessor::default()),
        (SyncerKind::Felix, "Node") => Box::new(FelixNodeProcessor::new(options.use_pod_cidr)),
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
        (SyncerKind::Felix, "StagedKubernetesNetworkPolicy") => {
            Box::new(PolicyProcessor::staged_kubernetes_network_policy())
        }
        (SyncerKind::Felix, "Profile") => Box::new(ProfileProcessor),
        (SyncerKind::Felix, "Tier") => Box::new(TierProcessor),
        (SyncerKind::Felix, "HostEndpoint") => Box::new(HostEndpointProcessor::default()),
        (_, "IPPool") => Box::new(IpPoolProcessor::default()),
        _ => return None,
    })
}

/// One update a syncer delivers: `new`, `updated` or `deleted`, the key and the value's bytes.
type Line = (String, String, Option<Vec<u8>>);

/// A syncer's resource types with the processors as [`V1Processor`]s, and what its watcher
/// caches delivered so far (Calico's `watcherCache`: an emitted value for a known key is
/// `updated` unless its revision is unchanged; deletes only of known keys).
struct Sim {
    types: Vec<(ListOptions, Option<Box<dyn V1Processor>>)>,
    delivered: BTreeMap<String, (String, Vec<u8>)>,
}

impl Sim {
    fn new(syncer: SyncerKind, options: &SyncerOptions) -> Self {
        let types = resource_types(syncer, options)
            .into_iter()
            .filter_map(|t| match t.source {
                crate::Source::Resources(list) => {
                    let processor = v1_processor(syncer, options, list.kind.kind());
                    Some((list, processor))
                }
                _ => None,
            })
            .collect();
        Sim {
            types,
            delivered: BTreeMap::new(),
        }
    }

    fn apply(&mut self, kv: &SourceKv) -> Vec<Line> {
        let SourceKey::Resource(key) = &kv.key else {
            return Vec::new();
        };
        let Some((_, slot)) = self.types.iter_mut().find(|(list, _)| list.matches(key)) else {
            return Vec::new();
        };
        let emitted = match slot {
            Some(processor) => processor.process_v1(kv).unwrap_or_default(),
            None => vec![passthrough(kv)],
        };
        let mut lines = Vec::new();
        for e in emitted {
            let path = e.key.path();
            match e.go_bytes() {
                Some(bytes) => {
                    let kind = match self.delivered.get(&path) {
                        Some((revision, _)) if *revision == kv.revision => continue,
                        Some(_) => "updated",
                        None => "new",
                    };
                    self.delivered
                        .insert(path.clone(), (kv.revision.clone(), bytes.clone()));
                    lines.push((kind.to_string(), path, Some(bytes)));
                }
                None => {
                    if self.delivered.remove(&path).is_some() {
                        lines.push(("deleted".to_string(), path, None));
                    }
                }
            }
        }
        lines
    }

    fn state(&self) -> BTreeMap<String, Vec<u8>> {
        self.delivered
            .iter()
            .map(|(k, (_, v))| (k.clone(), v.clone()))
            .collect()
    }
}

/// Runs the sources through the syncer's processors as its caches would: the last value per
/// key.
fn run(
    syncer: SyncerKind,
    options: &SyncerOptions,
    sources: &[SourceKv],
) -> BTreeMap<String, Vec<u8>> {
    let mut sim = Sim::new(syncer, options);
    for kv in sources {
        sim.apply(kv);
    }
    sim.state()
}

/// A golden file's update lines, the value as the raw bytes Go printed.
fn golden_lines(name: &str) -> Vec<Line> {
    let mut out = Vec::new();
    for line in read(name).lines() {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        let (Some(kind), Some(key)) = (entry["type"].as_str(), entry["key"].as_str()) else {
            continue;
        };
        let value = line
            .find(",\"value\":")
            .map(|start| line.as_bytes()[start + 9..line.len() - 1].to_vec());
        out.push((kind.to_string(), key.to_string(), value));
    }
    out
}

/// The golden's `new` lines: key and the value's raw bytes as Go printed them.
fn golden(name: &str) -> BTreeMap<String, Vec<u8>> {
    golden_lines(name)
        .into_iter()
        .filter_map(|(_, key, value)| Some((key, value?)))
        .collect()
}

fn dir_of(golden_file: &str) -> &str {
    golden_file.rfind('/').map_or("", |at| &golden_file[..=at])
}

fn tunnel_options() -> SyncerOptions {
    SyncerOptions {
        node: Some("worker-1".into()),
        ..SyncerOptions::default()
    }
}

fn compare(syncer: SyncerKind, options: &SyncerOptions, golden_file: &str) {
    let got = run(syncer, options, &initial_sources(dir_of(golden_file)));
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

/// Shows a line for a failure message.
fn show((kind, key, value): &Line) -> String {
    match value {
        Some(bytes) => format!("{kind} {key} {}", String::from_utf8_lossy(bytes)),
        None => format!("{kind} {key}"),
    }
}

/// Drives the processors with the initial state, then with the datastore's changes, and
/// compares what the caches deliver after the initial sync with the golden (as a multiset: the
/// order between resource types depends on which cache's watch fires first).
fn compare_changes(syncer: SyncerKind, options: &SyncerOptions, golden_file: &str) {
    let dir = dir_of(golden_file);
    let mut sim = Sim::new(syncer, options);
    for kv in initial_sources(dir) {
        sim.apply(&kv);
    }
    let mut got: Vec<String> = change_sources(dir)
        .iter()
        .flat_map(|kv| sim.apply(kv))
        .map(|line| show(&line))
        .collect();
    let mut want: Vec<String> = golden_lines(golden_file).iter().map(show).collect();
    assert!(!want.is_empty(), "{golden_file} is empty");
    eprintln!("{golden_file}: {} updates compared", want.len());
    got.sort();
    want.sort();
    let missing: Vec<&String> = want.iter().filter(|l| !got.contains(l)).collect();
    let extra: Vec<&String> = got.iter().filter(|l| !want.contains(l)).collect();
    assert!(
        got == want,
        "missing:\n{}\nextra:\n{}",
        missing
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        extra
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn felix_initial_sync_matches_calico() {
    compare(
        SyncerKind::Felix,
        &SyncerOptions::default(),
        "felix-initial.jsonl",
    );
}

#[test]
fn bgp_initial_sync_matches_calico() {
    compare(
        SyncerKind::Bgp,
        &SyncerOptions::default(),
        "bgp-initial.jsonl",
    );
}

#[test]
fn tunnel_initial_sync_matches_calico() {
    compare(
        SyncerKind::TunnelIpAllocation,
        &tunnel_options(),
        "tunnel-initial.jsonl",
    );
}

#[test]
fn node_status_initial_sync_matches_calico() {
    compare(
        SyncerKind::NodeStatus,
        &SyncerOptions::default(),
        "nodestatus-initial.jsonl",
    );
}

#[test]
fn felix_changes_match_calico() {
    compare_changes(
        SyncerKind::Felix,
        &SyncerOptions::default(),
        "felix-changes.jsonl",
    );
}

#[test]
fn bgp_changes_match_calico() {
    compare_changes(
        SyncerKind::Bgp,
        &SyncerOptions::default(),
        "bgp-changes.jsonl",
    );
}

#[test]
fn tunnel_changes_match_calico() {
    compare_changes(
        SyncerKind::TunnelIpAllocation,
        &tunnel_options(),
        "tunnel-changes.jsonl",
    );
}

#[test]
fn node_status_changes_match_calico() {
    compare_changes(
        SyncerKind::NodeStatus,
        &SyncerOptions::default(),
        "nodestatus-changes.jsonl",
    );
}

fn pod_cidr_options() -> SyncerOptions {
    SyncerOptions {
        use_pod_cidr: true,
        ..SyncerOptions::default()
    }
}

#[test]
fn pod_cidr_initial_sync_matches_calico() {
    compare(
        SyncerKind::Felix,
        &pod_cidr_options(),
        "podcidr/felix-initial.jsonl",
    );
}

#[test]
fn pod_cidr_changes_match_calico() {
    compare_changes(
        SyncerKind::Felix,
        &pod_cidr_options(),
        "podcidr/felix-changes.jsonl",
    );
}

#[test]
fn policies_initial_sync_matches_calico() {
    compare(
        SyncerKind::Felix,
        &SyncerOptions::default(),
        "policies/felix-initial.jsonl",
    );
}

#[test]
fn policies_changes_match_calico() {
    compare_changes(
        SyncerKind::Felix,
        &SyncerOptions::default(),
        "policies/felix-changes.jsonl",
    );
}

#[test]
fn update_processor_trait_gives_the_same_json() {
    // The boxed processors syncers.rs wires in deliver the same values (as JSON).
    let sources = initial_sources("");
    let want = run(SyncerKind::Felix, &SyncerOptions::default(), &sources);
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

#[test]
fn qos_controls_in_go_order() {
    let qos: calico_api::kinds::workloadendpoint::QosControls = serde_json::from_value(
        serde_json::json!({"egressBandwidth": 2000, "ingressBandwidth": 1000, "dscp": "AF11",
            "ingressMaxConnections": 5, "egressPacketRate": 0}),
    )
    .unwrap_or_default();
    assert_eq!(
        String::from_utf8(endpoints::qos_controls(&qos).to_go_bytes()).unwrap_or_default(),
        r#"{"ingressBandwidth":1000,"egressBandwidth":2000,"ingressMaxConnections":5,"dscp":"AF11"}"#
    );
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
