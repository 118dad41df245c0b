//! The generated schemas are structural (what `apiextensions.k8s.io/v1` requires), checked on
//! the checked-in files independently of the generator's own check.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::Value;

use calico_crds::Manifest;
use common::{repo_root, schema_of, walk, yaml_documents};

const TYPES: &[&str] = &["object", "array", "string", "integer", "number", "boolean"];

fn problems_in(crd: &Value) -> Vec<String> {
    let name = crd["metadata"]["name"].as_str().unwrap_or("?").to_string();
    let mut problems = Vec::new();
    let mut report = |path: &str, what: &str| problems.push(format!("{name} `{path}`: {what}"));
    walk(schema_of(crd), "", &mut |path, node| {
        let Some(map) = node.as_object() else {
            report(path, "schema is not an object");
            return;
        };
        for key in [
            "$ref",
            "$defs",
            "definitions",
            "allOf",
            "oneOf",
            "not",
            "const",
            "$schema",
        ] {
            if map.contains_key(key) {
                report(path, &format!("has `{key}`"));
            }
        }
        if map.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
            if map.contains_key("type") {
                report(path, "int-or-string with a type");
            }
            return;
        }
        if map.contains_key("anyOf") {
            report(path, "anyOf outside an int-or-string node");
        }
        match map.get("type").and_then(Value::as_str) {
            Some(ty) if TYPES.contains(&ty) => {
                if ty == "array" && !map.get("items").is_some_and(Value::is_object) {
                    report(path, "array without items");
                }
            }
            _ => report(path, &format!("type {:?}", map.get("type"))),
        }
        match map.get("additionalProperties") {
            None | Some(Value::Object(_)) => {}
            Some(other) => report(path, &format!("additionalProperties: {other}")),
        }
        if map.contains_key("properties") && map.contains_key("additionalProperties") {
            report(path, "both properties and additionalProperties");
        }
    });
    problems
}

#[test]
fn checked_in_crds_are_structural() {
    for manifest in [Manifest::Crds, Manifest::V3Crds] {
        let text = std::fs::read_to_string(repo_root().join(manifest.path())).unwrap();
        let docs = yaml_documents(&text);
        assert_eq!(docs.len(), calico_crds::CRD_KINDS.len());
        let problems: Vec<String> = docs.iter().flat_map(problems_in).collect();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        for doc in &docs {
            assert_eq!(doc["apiVersion"], "apiextensions.k8s.io/v1");
            let root = schema_of(doc);
            assert_eq!(root["type"], "object");
            assert_eq!(root["properties"]["metadata"]["type"], "object");
        }
    }
}

/// The checker flags what it should (so a pass above means something).
#[test]
fn checker_catches_non_structural_schemas() {
    let crd = |schema: Value| serde_json::json!({"metadata": {"name": "x"}, "spec": {"versions": [{"schema": {"openAPIV3Schema": schema}}]}});
    let bad = [
        serde_json::json!({"type": "object", "properties": {"a": {}}}),
        serde_json::json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}}),
        serde_json::json!({"type": "object", "additionalProperties": false}),
        serde_json::json!({"type": ["string", "null"]}),
        serde_json::json!({"type": "array"}),
        serde_json::json!({"anyOf": [{"type": "string"}, {"type": "null"}]}),
    ];
    for schema in bad {
        assert!(!problems_in(&crd(schema.clone())).is_empty(), "{schema}");
    }
    let good = serde_json::json!({"type": "object", "properties": {
        "p": {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": true},
        "m": {"type": "object", "additionalProperties": {"type": "string"}},
        "n": {"type": "string", "nullable": true},
    }});
    assert_eq!(problems_in(&crd(good)), Vec::<String>::new());
}

/// The library refuses a schema it cannot make structural instead of writing it out.
#[test]
fn generator_checks_its_own_output() {
    let value = serde_json::json!({"type": "object", "properties": {"a": {}}});
    assert!(calico_crds::schema::check_structural(&value, "").is_err());
}
