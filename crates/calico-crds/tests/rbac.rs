//! The KDD ClusterRole covers every Calico custom resource and nothing beyond what the driver
//! needs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use serde_json::Value;

use calico_crds::{crds, Group, Manifest};

/// (group, resource, verb) triples the role grants.
fn grants() -> BTreeSet<(String, String, String)> {
    let text = Manifest::RbacKdd.render().unwrap();
    let docs = common::yaml_documents(&text);
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["ClusterRole", "ServiceAccount", "ClusterRoleBinding"]
    );
    assert_eq!(docs[2]["roleRef"]["name"], docs[0]["metadata"]["name"]);
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let mut out = BTreeSet::new();
    for rule in docs[0]["rules"].as_array().unwrap() {
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                for verb in strings(&rule["verbs"]) {
                    out.insert((group.clone(), resource.clone(), verb));
                }
            }
        }
    }
    out
}

fn has(
    grants: &BTreeSet<(String, String, String)>,
    group: &str,
    resource: &str,
    verb: &str,
) -> bool {
    grants.contains(&(group.into(), resource.into(), verb.into()))
}

#[test]
fn role_covers_every_crd_of_both_groups() {
    let grants = grants();
    for group in [Group::CrdV1, Group::V3] {
        for crd in crds(group).unwrap() {
            let plural = crd["spec"]["names"]["plural"].as_str().unwrap();
            for verb in [
                "get", "list", "watch", "create", "update", "patch", "delete",
            ] {
                assert!(has(&grants, group.name(), plural, verb), "{plural} {verb}");
            }
            // calicoctl writes the main resource only, as Calico's client does.
            assert!(
                !has(&grants, group.name(), &format!("{plural}/status"), "update"),
                "{plural}/status"
            );
        }
    }
}

#[test]
fn core_resources_are_read_only_except_node_and_pod_status() {
    let grants = grants();
    let core: Vec<_> = grants
        .iter()
        .filter(|(group, _, _)| group.is_empty() || group == "networking.k8s.io")
        .collect();
    for (_, resource, verb) in &core {
        let write = !["get", "list", "watch"].contains(&verb.as_str());
        let allowed = resource == "nodes/status" || (resource == "pods/status" && verb == "patch");
        assert!(!write || allowed, "{resource} {verb}");
    }
    for resource in ["nodes", "pods", "namespaces", "serviceaccounts"] {
        assert!(has(&grants, "", resource, "list"), "{resource}");
    }
    assert!(has(
        &grants,
        "networking.k8s.io",
        "networkpolicies",
        "watch"
    ));
    assert!(!grants.iter().any(|(_, _, verb)| verb == "*"));
}
