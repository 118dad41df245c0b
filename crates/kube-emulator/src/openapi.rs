//! Minimal OpenAPI v3 documents: just enough for kubectl to see that every resource's PATCH takes
//! the `fieldValidation` query parameter, so it relies on server-side validation instead of
//! downloading schemas (no schemas are served; the emulator does not validate against them).

use serde_json::{json, Map, Value};

use crate::resources::ResourceDef;

fn gv_path(def: &ResourceDef) -> String {
    if def.group.is_empty() {
        format!("api/{}", def.version)
    } else {
        format!("apis/{}/{}", def.group, def.version)
    }
}

/// `GET /openapi/v3`: the index of group/version documents.
pub fn root(defs: &[ResourceDef], hash: u64) -> Value {
    let mut paths = Map::new();
    for d in defs {
        let p = gv_path(d);
        paths.insert(
            p.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={hash:016X}")}),
        );
    }
    json!({"paths": paths})
}

/// `GET /openapi/v3/<api/v1 | apis/g/v>`: one PATCH operation per resource, or None if unknown.
pub fn group_version(defs: &[ResourceDef], gv: &str) -> Option<Value> {
    let mut paths = Map::new();
    for d in defs.iter().filter(|d| gv_path(d) == gv) {
        let ns = if d.namespaced {
            "namespaces/{namespace}/"
        } else {
            ""
        };
        let path = format!("/{gv}/{ns}{}/{{name}}", d.plural);
        paths.insert(
            path,
            json!({
                "patch": {
                    "operationId": format!("patch{}", d.kind),
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": {"group": d.group, "version": d.version, "kind": d.kind},
                    "parameters": [
                        {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                        {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                        {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                    ],
                    "responses": {"200": {"description": "OK"}},
                }
            }),
        );
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}
