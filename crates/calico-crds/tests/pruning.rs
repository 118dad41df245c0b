//! What we write fits the schemas we generate: every field of a resource as calico-api encodes
//! it is declared, with a matching type. A field missing from a CRD schema would be silently
//! pruned by the API server, which is data loss, so this checks real documents (the examples
//! of every kind, and IPAM objects with the awkward shapes: `null` allocations, maps, times).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::{json, Value};

use calico_api::{AnyResource, KindInfo};
use calico_crds::{crds, Group, CRD_KINDS};

/// Problems of `value` against a structural `schema`.
fn check(schema: &Value, value: &Value, path: &str, problems: &mut Vec<String>) {
    let mut problem = |what: String| problems.push(format!("{path}: {what}"));
    if value.is_null() {
        if schema.get("nullable") != Some(&Value::Bool(true)) {
            problem("null, but not nullable".into());
        }
        return;
    }
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        if !(value.is_i64() || value.is_u64() || value.is_string()) {
            problem(format!("{value} is not an int or a string"));
        }
        return;
    }
    let ty = schema["type"].as_str().unwrap_or_default();
    let fits = match ty {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        _ => false,
    };
    if !fits {
        problem(format!("{value} is not of type {ty}"));
        return;
    }
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                let child = format!("{path}.{key}");
                if let Some(property) = schema.get("properties").and_then(|p| p.get(key)) {
                    check(property, member, &child, problems);
                } else if let Some(additional) = schema.get("additionalProperties") {
                    check(additional, member, &child, problems);
                } else {
                    problems.push(format!("{child}: not in the schema (would be pruned)"));
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check(&schema["items"], item, &format!("{path}[{i}]"), problems);
            }
        }
        _ => {}
    }
}

/// Checks a resource document against its CRD in `group`; metadata is the API server's.
fn check_document(group: Group, mut document: Value) -> Vec<String> {
    let kind = document["kind"].as_str().unwrap().to_string();
    let info = CRD_KINDS.iter().find(|k| k.kind == kind).unwrap();
    let name = match group {
        Group::CrdV1 => info.v1_plural(),
        Group::V3 => info.plural,
    };
    let crd = crds(group)
        .unwrap()
        .into_iter()
        .find(|crd| crd["spec"]["names"]["plural"] == name)
        .unwrap();
    document["metadata"] = json!({});
    let mut problems = Vec::new();
    check(
        common::schema_of(&crd),
        &document,
        &format!("{kind} ({})", group.name()),
        &mut problems,
    );
    problems
}

fn examples() -> Vec<AnyResource> {
    let dir = common::repo_root().join("examples/kinds");
    let mut resources = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let entries = calico_manifest::read_manifest(&path.to_string_lossy(), &text).unwrap();
        resources.extend(entries.into_iter().map(|e| e.resource));
    }
    resources
}

#[test]
fn every_example_fits_its_crd_in_both_groups() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for mut resource in examples() {
        if !CRD_KINDS.iter().any(|k| k.kind == resource.kind()) {
            continue;
        }
        // As written, and as the client writes it after defaulting.
        for _ in 0..2 {
            let document = resource.to_json_value().unwrap();
            for group in [Group::CrdV1, Group::V3] {
                problems.extend(check_document(group, document.clone()));
            }
            resource.apply_defaults();
        }
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} examples");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn decode(document: Value) -> AnyResource {
    let kind = document["kind"].as_str().unwrap();
    (KindInfo::lookup(kind).unwrap().decode)(&document, calico_api::DecodeOptions::STRICT).unwrap()
}

#[test]
fn ipam_objects_fit_their_crds() {
    let meta = json!({"name": "x"});
    let block = decode(json!({
        "apiVersion": "projectcalico.org/v3", "kind": "IPAMBlock", "metadata": meta,
        "spec": {
            "cidr": "10.244.1.0/30",
            "affinity": "host:node1",
            "affinityClaimTime": "2026-01-01T00:00:05Z",
            "allocations": [0, null, 1, null],
            "unallocated": [1, 3],
            "attributes": [
                {"handle_id": "k8s-pod-network.abc", "secondary": {"pod": "web-0"},
                 "alternateOwnerAttrs": {"pod": "web-1"}, "releasedAt": "2026-01-03T00:00:00Z"},
            ],
            "sequenceNumber": 7,
            "sequenceNumberForAllocation": {"0": 3},
            "deleted": false,
            "strictAffinity": false,
        },
    }));
    let empty_block = decode(json!({
        "apiVersion": "projectcalico.org/v3", "kind": "IPAMBlock", "metadata": meta,
        "spec": {"cidr": "10.244.2.0/26", "allocations": null, "unallocated": null,
                 "attributes": null, "sequenceNumberForAllocation": null},
    }));
    let handle = decode(json!({
        "apiVersion": "projectcalico.org/v3", "kind": "IPAMHandle", "metadata": meta,
        "spec": {"handleID": "k8s-pod-network.abc", "block": {"10.244.1.0/30": 1}, "deleted": false},
    }));
    let config = decode(json!({
        "apiVersion": "projectcalico.org/v3", "kind": "IPAMConfiguration", "metadata": {"name": "default"},
        "spec": {"strictAffinity": true, "maxBlocksPerHost": 4, "autoAllocateBlocks": true,
                 "kubeVirtVMAddressPersistence": "Enabled", "ipCooldownSeconds": 30},
    }));
    let AnyResource::BlockAffinity(affinity) = decode(json!({
        "apiVersion": "projectcalico.org/v3", "kind": "BlockAffinity", "metadata": meta,
        "spec": {"state": "confirmed", "node": "node1", "type": "host", "cidr": "10.244.1.0/30", "deleted": true},
    })) else {
        panic!("not a BlockAffinity");
    };
    let mut problems = Vec::new();
    for resource in [block, empty_block, handle, config] {
        let document = resource.to_json_value().unwrap();
        for group in [Group::CrdV1, Group::V3] {
            problems.extend(check_document(group, document.clone()));
        }
    }
    // v3 holds the boolean, v1 the string libcalico-go stores.
    let v3 = serde_json::to_value(&*affinity).unwrap();
    problems.extend(check_document(Group::V3, v3));
    let v1 = calico_api::block_affinity_to_storage_json(&affinity).unwrap();
    assert_eq!(v1["spec"]["deleted"], "true");
    problems.extend(check_document(Group::CrdV1, v1));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The checker itself notices unknown fields, wrong types and nulls where none are allowed
/// (`nodeSelector` is a plain string, never null).
#[test]
fn checker_reports_pruned_and_mistyped_fields() {
    let document = json!({
        "apiVersion": "projectcalico.org/v3", "kind": "IPPool", "metadata": {},
        "spec": {"cidr": 10, "nodeSelector": null, "bogus": true},
    });
    let problems = check_document(Group::V3, document);
    assert_eq!(problems.len(), 3, "{problems:?}");
    for path in [".spec.cidr", ".spec.bogus", ".spec.nodeSelector"] {
        assert!(
            problems.iter().any(|p| p.contains(path)),
            "{path}: {problems:?}"
        );
    }
}
