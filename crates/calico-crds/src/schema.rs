//! JSON schemas from the Rust types, rewritten into Kubernetes structural schemas.
//!
//! schemars speaks JSON Schema 2020-12; a CRD needs the OpenAPI v3 subset the API server calls
//! structural: every node typed (int-or-string nodes excepted), no `$ref`, no unions beyond
//! int-or-string, `nullable` instead of a `null` type, and no `additionalProperties: false`
//! (`deny_unknown_fields` is a decoding rule of ours, pruning does that job on the server).

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::{Map, Value};

use crate::CrdError;

/// The schemas of one kind's `spec` and `status`.
#[derive(Clone, Debug)]
pub struct KindSchema {
    pub spec: Value,
    pub status: Option<Value>,
}

/// The structural schema of `T`; `kind` only labels errors.
pub(crate) fn schema_of<T: JsonSchema>(kind: &str) -> Result<Value, CrdError> {
    let mut settings = SchemaSettings::draft2020_12();
    // Structural schemas cannot refer to definitions.
    settings.inline_subschemas = true;
    let mut value = settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    if let Value::Object(root) = &mut value {
        root.remove("$schema");
        root.remove("$defs");
    }
    let error = |path: &str, reason: String| CrdError::NotStructural {
        kind: kind.to_string(),
        path: path.to_string(),
        reason,
    };
    make_structural(&mut value, "").map_err(|(path, reason)| error(&path, reason))?;
    check_structural(&value, "").map_err(|(path, reason)| error(&path, reason))?;
    Ok(value)
}

type Problem = (String, String);

/// Keywords that carry no meaning for the API server, or a meaning we do not want there:
/// schemars' `default` (serde's defaults) is not Calico's — the defaults Calico's CRDs carry are
/// set from a table afterwards (`schema_defaults` in the crate root) — and `required` follows
/// our decoder's leniency rules, not Calico's.
const DROPPED: &[&str] = &[
    "$schema",
    "$defs",
    "title",
    "description",
    "default",
    "examples",
    "required",
    "readOnly",
    "writeOnly",
    "deprecated",
    "uniqueItems",
];

fn make_structural(node: &mut Value, path: &str) -> Result<(), Problem> {
    let Value::Object(map) = node else {
        return Err((path.to_string(), format!("schema is not an object: {node}")));
    };
    for key in DROPPED {
        map.remove(*key);
    }
    if map.get("additionalProperties") == Some(&Value::Bool(false)) {
        map.remove("additionalProperties");
    }
    if let Some(value) = map.remove("const") {
        map.insert("enum".into(), Value::Array(vec![value]));
    }
    fold_union(map, path)?;
    fold_null_type(map, path)?;
    if let Some(Value::Array(values)) = map.get_mut("enum") {
        let before = values.len();
        values.retain(|v| !v.is_null());
        if values.len() != before {
            map.insert("nullable".into(), Value::Bool(true));
        }
    }
    if let Some(Value::String(format)) = map.get("format") {
        match openapi_format(format) {
            Some(kept) => {
                map.insert("format".into(), Value::String(kept.into()));
            }
            None => {
                map.remove("format");
            }
        }
    }
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        for (name, property) in properties.iter_mut() {
            make_structural(property, &format!("{path}.{name}"))?;
        }
    }
    if let Some(items) = map.get_mut("items") {
        make_structural(items, &format!("{path}[]"))?;
    }
    if let Some(additional @ Value::Object(_)) = map.get_mut("additionalProperties") {
        make_structural(additional, &format!("{path}{{}}"))?;
    }
    Ok(())
}

/// `type: [T, "null"]` (an `Option`) becomes `type: T` plus `nullable`.
fn fold_null_type(map: &mut Map<String, Value>, path: &str) -> Result<(), Problem> {
    let Some(Value::Array(types)) = map.get("type") else {
        return Ok(());
    };
    let non_null: Vec<Value> = types
        .iter()
        .filter(|t| t.as_str() != Some("null"))
        .cloned()
        .collect();
    let nullable = non_null.len() != types.len();
    match non_null.as_slice() {
        [single] => {
            map.insert("type".into(), single.clone());
        }
        _ => return Err((path.to_string(), format!("union of types {types:?}"))),
    }
    if nullable {
        map.insert("nullable".into(), Value::Bool(true));
    }
    Ok(())
}

/// Folds the unions schemars writes into forms a structural schema allows: an `Option` of a
/// complex type (`anyOf: [T, {type: null}]`) and an enum whose variants carry doc comments
/// (`oneOf: [{const: A}, {const: B}]`). The int-or-string union is left as it is.
fn fold_union(map: &mut Map<String, Value>, path: &str) -> Result<(), Problem> {
    if map.contains_key("x-kubernetes-int-or-string") {
        return Ok(());
    }
    let (key, variants) = match (map.remove("anyOf"), map.remove("oneOf")) {
        (Some(Value::Array(v)), None) => ("anyOf", v),
        (None, Some(Value::Array(v))) => ("oneOf", v),
        (None, None) => return Ok(()),
        _ => return Err((path.to_string(), "unsupported union".into())),
    };
    let is_null = |v: &Value| v.get("type").and_then(Value::as_str) == Some("null");
    let nullable = variants.iter().any(is_null);
    let mut rest: Vec<Value> = variants.into_iter().filter(|v| !is_null(v)).collect();
    for variant in &mut rest {
        if let Value::Object(variant) = variant {
            if let Some(value) = variant.remove("const") {
                variant.insert("enum".into(), Value::Array(vec![value]));
            }
        }
    }
    let all_string_enums = rest.len() > 1
        && rest.iter().all(|v| {
            v.get("enum")
                .and_then(Value::as_array)
                .is_some_and(|values| values.iter().all(Value::is_string))
        });
    if all_string_enums {
        let values: Vec<Value> = rest
            .iter()
            .filter_map(|v| v.get("enum").and_then(Value::as_array))
            .flatten()
            .cloned()
            .collect();
        map.insert("type".into(), Value::String("string".into()));
        map.insert("enum".into(), Value::Array(values));
    } else if let [single] = rest.as_slice() {
        let Value::Object(inner) = single else {
            return Err((path.to_string(), format!("{key} member is not a schema")));
        };
        for (k, v) in inner {
            map.entry(k.clone()).or_insert_with(|| v.clone());
        }
        // The member may be a union itself (an `Option` of a documented enum).
        fold_union(map, path)?;
    } else {
        return Err((path.to_string(), format!("{key} of {} schemas", rest.len())));
    }
    if nullable {
        map.insert("nullable".into(), Value::Bool(true));
    }
    Ok(())
}

/// The OpenAPI format kept for a schemars format; `None` drops it (Rust-only widths such as
/// `uint16` mean nothing to the API server; `minimum`/`maximum` carry the range).
fn openapi_format(format: &str) -> Option<&'static str> {
    match format {
        "int8" | "int16" | "int32" | "uint8" | "uint16" => Some("int32"),
        "int64" | "uint32" | "uint64" | "int" | "uint" => Some("int64"),
        "double" => Some("double"),
        "float" => Some("float"),
        "date-time" => Some("date-time"),
        _ => None,
    }
}

const TYPES: &[&str] = &["object", "array", "string", "integer", "number", "boolean"];

/// Checks the rules of a structural schema that the rewrite above is meant to establish.
pub fn check_structural(node: &Value, path: &str) -> Result<(), Problem> {
    let problem = |reason: &str| Err((path.to_string(), reason.to_string()));
    let Value::Object(map) = node else {
        return problem("schema is not an object");
    };
    for key in ["$ref", "$defs", "allOf", "not", "prefixItems", "const"] {
        if map.contains_key(key) {
            return problem(&format!("has `{key}`"));
        }
    }
    let int_or_string = map.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    if int_or_string {
        if map.contains_key("type") {
            return problem("int-or-string node with a type");
        }
        let expected = serde_json::json!([{"type": "integer"}, {"type": "string"}]);
        if map.get("anyOf") != Some(&expected) || map.contains_key("oneOf") {
            return problem("int-or-string node with an unexpected union");
        }
        return Ok(());
    }
    if map.contains_key("anyOf") || map.contains_key("oneOf") {
        return problem("union");
    }
    let Some(ty) = map.get("type").and_then(Value::as_str) else {
        return problem("no type");
    };
    if !TYPES.contains(&ty) {
        return problem(&format!("type {ty}"));
    }
    if map.get("additionalProperties") == Some(&Value::Bool(false)) {
        return problem("additionalProperties: false");
    }
    if map.contains_key("properties") && map.contains_key("additionalProperties") {
        return problem("both properties and additionalProperties");
    }
    if ty == "array" && !map.get("items").is_some_and(Value::is_object) {
        return problem("array without a single items schema");
    }
    if let Some(Value::Object(properties)) = map.get("properties") {
        for (name, property) in properties {
            check_structural(property, &format!("{path}.{name}"))?;
        }
    }
    if let Some(items) = map.get("items") {
        check_structural(items, &format!("{path}[]"))?;
    }
    match map.get("additionalProperties") {
        None => {}
        Some(additional @ Value::Object(_)) => {
            check_structural(additional, &format!("{path}{{}}"))?;
        }
        Some(_) => return problem("additionalProperties is not a schema"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use schemars::JsonSchema;
    use serde_json::json;

    use super::schema_of;

    /// Shapes the calico-api types may grow into, beyond those they use today.
    #[allow(dead_code)]
    #[derive(JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Sample {
        /// Doc comments become no description.
        plain_name: String,
        #[serde(default)]
        count: u16,
        inner: Option<Inner>,
        labels: BTreeMap<String, String>,
        mode: Option<Mode>,
        port: Option<calico_api::Port>,
        list: Vec<Option<i64>>,
        #[serde(skip)]
        skipped: bool,
    }

    #[allow(dead_code)]
    #[derive(JsonSchema)]
    struct Inner {
        flag: bool,
    }

    #[allow(dead_code)]
    #[derive(JsonSchema)]
    enum Mode {
        /// Documented variants make schemars write a `oneOf`.
        Always,
        /// Second.
        Never,
    }

    #[test]
    fn rewrites_schemars_output_into_a_structural_schema() {
        let schema = schema_of::<Sample>("Sample").unwrap();
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {
                    "plainName": {"type": "string"},
                    "count": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 65535},
                    "inner": {"type": "object", "nullable": true, "properties": {"flag": {"type": "boolean"}}},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "mode": {"type": "string", "nullable": true, "enum": ["Always", "Never"]},
                    "port": {
                        "anyOf": [{"type": "integer"}, {"type": "string"}],
                        "x-kubernetes-int-or-string": true,
                        "nullable": true,
                    },
                    "list": {"type": "array", "items": {"type": "integer", "format": "int64", "nullable": true}},
                },
            })
        );
    }

    #[allow(dead_code)]
    #[derive(JsonSchema)]
    #[serde(untagged)]
    enum Either {
        Number(i32),
        Text(String),
    }

    #[test]
    fn refuses_unions_it_cannot_express() {
        let err = schema_of::<Either>("Either").unwrap_err().to_string();
        assert!(
            err.contains("Either") && err.contains("not structural"),
            "{err}"
        );
    }
}
