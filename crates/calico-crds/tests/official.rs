//! Our CRDs against Calico's official ones: same names, groups, kinds, plurals, short names,
//! scopes, versions and subresources, and the same schema properties with the same types.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use calico_crds::{crds, Group, CRD_KINDS};
use common::{crds_in, fixture, property_paths, schema_of, walk};

/// CRDs in Calico's files that we do not generate, and why.
const NOT_OURS: &[(&str, &str)] = &[(
    "clusternetworkpolicies.policy.networking.k8s.io",
    "the upstream network-policy-api CRD Calico bundles; not a Calico type",
)];

fn by_name(crds: Vec<Value>) -> BTreeMap<String, Value> {
    crds.into_iter()
        .map(|crd| (crd["metadata"]["name"].as_str().unwrap().to_string(), crd))
        .filter(|(name, _)| !NOT_OURS.iter().any(|(skip, _)| skip == name))
        .collect()
}

/// What the test compares besides the schema, as one JSON value per CRD so that a failure
/// shows both sides.
fn identity(crd: &Value) -> Value {
    let spec = &crd["spec"];
    let names = &spec["names"];
    let versions: Vec<Value> = spec["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let subresources: Vec<&String> = v
                .get("subresources")
                .and_then(Value::as_object)
                .map(|s| s.keys().collect())
                .unwrap_or_default();
            serde_json::json!({
                "name": v["name"],
                "served": v["served"],
                "storage": v["storage"],
                "subresources": subresources,
                "additionalPrinterColumns": v.get("additionalPrinterColumns").cloned().unwrap_or(Value::Array(vec![])),
                "selectableFields": v.get("selectableFields").cloned().unwrap_or(Value::Array(vec![])),
            })
        })
        .collect();
    serde_json::json!({
        "group": spec["group"],
        "scope": spec["scope"],
        "kind": names["kind"],
        "plural": names["plural"],
        "singular": names["singular"],
        "listKind": names["listKind"],
        "shortNames": names.get("shortNames").cloned().unwrap_or(Value::Array(vec![])),
        "versions": versions,
    })
}

/// Each property path with its type (`int-or-string` for those nodes).
fn typed_paths(schema: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk(schema, "", &mut |path, node| {
        let ty = if node.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
            "int-or-string".to_string()
        } else {
            node["type"].as_str().unwrap_or("<none>").to_string()
        };
        out.insert(path.to_string(), ty);
    });
    out
}

/// Each property path that has a `default:`, with it.
fn defaults(schema: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    walk(schema, "", &mut |path, node| {
        if let Some(value) = node.get("default") {
            out.insert(path.to_string(), value.clone());
        }
    });
    out
}

fn compare(group: Group, official_file: &str) {
    let ours = by_name(crds(group).unwrap());
    let official = by_name(crds_in(&fixture(official_file)));
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        official.keys().collect::<Vec<_>>(),
        "CRD names differ from {official_file}"
    );
    let mut problems = Vec::new();
    for (name, crd) in &ours {
        let theirs = &official[name];
        if identity(crd) != identity(theirs) {
            problems.push(format!(
                "{name}:\n  ours:     {}\n  official: {}",
                identity(crd),
                identity(theirs)
            ));
        }
        let (ours_paths, their_paths) = (
            property_paths(schema_of(crd)),
            property_paths(schema_of(theirs)),
        );
        let missing: BTreeSet<_> = their_paths.difference(&ours_paths).collect();
        let extra: BTreeSet<_> = ours_paths.difference(&their_paths).collect();
        if !missing.is_empty() || !extra.is_empty() {
            problems.push(format!(
                "{name}: properties missing {missing:?}, extra {extra:?}"
            ));
        }
        let (ours_defaults, their_defaults) =
            (defaults(schema_of(crd)), defaults(schema_of(theirs)));
        if ours_defaults != their_defaults {
            problems.push(format!(
                "{name}: defaults {ours_defaults:?}, official {their_defaults:?}"
            ));
        }
        let (ours_types, their_types) =
            (typed_paths(schema_of(crd)), typed_paths(schema_of(theirs)));
        for (path, ty) in &ours_types {
            if let Some(their) = their_types.get(path) {
                if their != ty {
                    problems.push(format!("{name}: `{path}` is {ty}, official {their}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn v1_crds_match_calico() {
    compare(Group::CrdV1, "calico-crds.yaml");
}

#[test]
fn v3_crds_match_calico() {
    compare(Group::V3, "calico-v3-crds.yaml");
}

/// Every stored kind has a CRD except those KDD keeps in core objects.
#[test]
fn every_kind_with_storage_has_a_crd() {
    let without_crd = ["Node", "Profile", "WorkloadEndpoint"];
    let expected: Vec<&str> = calico_api::KINDS
        .iter()
        .map(|k| k.kind)
        .filter(|k| !without_crd.contains(k))
        .collect();
    let ours: Vec<&str> = CRD_KINDS.iter().map(|k| k.kind).collect();
    assert_eq!(ours, expected);
    for kind in CRD_KINDS {
        let info = calico_api::KindInfo::lookup(kind.kind).unwrap();
        assert_eq!(info.plural, kind.plural);
        assert_eq!(info.scope, kind.scope);
    }
}
