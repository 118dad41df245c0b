//! Helpers shared by the integration tests.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

/// The repository root (the checked-in manifests live under `manifests/`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Calico's official files, copied from `shared/reference/` so the tests need nothing outside
/// the repository.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The documents of a multi-document YAML file.
pub fn yaml_documents(text: &str) -> Vec<Value> {
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! { max_events: 10_000_000, max_nodes: 10_000_000 },
    };
    serde_saphyr::from_multiple_with_options::<Value>(text, options)
        .unwrap()
        .into_iter()
        .filter(|doc| !doc.is_null())
        .collect()
}

/// The CustomResourceDefinitions of a file (the official v3 file holds other objects too).
pub fn crds_in(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    yaml_documents(&text)
        .into_iter()
        .filter(|doc| doc["kind"] == "CustomResourceDefinition")
        .collect()
}

/// Every property path of a schema: `spec.egress[].destination.ports`, maps as `{}`.
pub fn property_paths(schema: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    walk(schema, "", &mut |path, _| {
        if !path.is_empty() {
            out.insert(path.to_string());
        }
    });
    out
}

/// Calls `visit` on every schema node with its path.
pub fn walk(schema: &Value, path: &str, visit: &mut dyn FnMut(&str, &Value)) {
    visit(path, schema);
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            let child = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            walk(property, &child, visit);
        }
    }
    if let Some(items) = schema.get("items") {
        walk(items, &format!("{path}[]"), visit);
    }
    if let Some(additional) = schema.get("additionalProperties") {
        if additional.is_object() {
            walk(additional, &format!("{path}{{}}"), visit);
        }
    }
}

/// The only version's `openAPIV3Schema`.
pub fn schema_of(crd: &Value) -> &Value {
    &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
}
