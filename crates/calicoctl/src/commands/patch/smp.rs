//! Kubernetes strategic merge patch, as calicoctl applies it to a Calico resource.
//!
//! calicoctl patches the stored object with apimachinery's strategic merge patch against the
//! Go type. Calico's types declare no patch strategies, so apart from the directives this is a
//! JSON merge patch: objects merge, `null` removes a member, lists are replaced. Only the
//! object metadata has merge lists (`finalizers`, merged as a set, and `ownerReferences`,
//! merged by `uid`). The directives are honoured as apimachinery honours them:
//!
//! - `"$patch": "replace"` in an object: the object becomes the patch's object (without the
//!   directive); `"$patch": "delete"`: the object becomes empty (or goes, in a list or when
//!   new); any other value is an error worded as apimachinery's;
//! - `"$retainKeys": [...]`: members of the original that are not listed are removed, and the
//!   patch may only set listed members;
//! - `"$deleteFromPrimitiveList/<field>": [...]`: those values are removed from the list;
//! - `"$setElementOrder/<field>"` only orders merge lists and is dropped (the order of the
//!   result of a merge list is the original's followed by what the patch adds).
//!
//! Values the patch adds where the original has nothing are taken without their `null`
//! members and directives. Hand-written to match apimachinery's results; the error texts are
//! its texts.

use serde_json::{Map, Value};

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_LIST: &str = "$deleteFromPrimitiveList/";
const SET_ORDER: &str = "$setElementOrder/";

/// How a list field merges.
#[derive(Clone, Copy, PartialEq)]
enum ListStrategy {
    Replace,
    /// A set of scalars.
    MergeScalars,
    /// Objects merged by this key.
    MergeBy(&'static str),
}

/// The merge strategy of the list at `key` inside the object at `path`.
fn list_strategy(path: &[String], key: &str) -> ListStrategy {
    match (path, key) {
        ([meta], "finalizers") if meta == "metadata" => ListStrategy::MergeScalars,
        ([meta], "ownerReferences") if meta == "metadata" => ListStrategy::MergeBy("uid"),
        _ => ListStrategy::Replace,
    }
}

/// Applies `patch` to `original` (both JSON objects).
pub fn apply(original: Value, patch: Value) -> Result<Value, String> {
    let original = match original {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let patch = match patch {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        _ => return Err("invalid JSON document".into()),
    };
    merge_map(original, patch, &mut Vec::new()).map(Value::Object)
}

fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    path: &mut Vec<String>,
) -> Result<Map<String, Value>, String> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => {
                patch.remove(DIRECTIVE);
                Ok(patch)
            }
            Some("delete") => Ok(Map::new()),
            _ => Err(format!(
                "unknown patch type: {} in map: {}",
                go_text(directive),
                go_text(&Value::Object(patch))
            )),
        };
    }
    if let Some(retain) = patch.remove(RETAIN_KEYS) {
        let Value::Array(retain) = retain else {
            return Err("invalid patch format of retainKeys".into());
        };
        let retained = |key: &str| retain.iter().any(|k| k.as_str() == Some(key));
        let unlisted = patch.iter().any(|(key, value)| {
            !value.is_null()
                && !key.starts_with(DELETE_FROM_LIST)
                && !key.starts_with(SET_ORDER)
                && !retained(key)
        });
        if unlisted {
            return Err("invalid patch format of retainKeys".into());
        }
        original.retain(|key, _| retained(key));
    }
    patch.retain(|key, _| !key.starts_with(SET_ORDER));
    for (key, patch_value) in patch {
        if let Some(field) = key.strip_prefix(DELETE_FROM_LIST) {
            let Value::Array(remove) = patch_value else {
                return Err("invalid patch format of primitive list".into());
            };
            if let Some(Value::Array(items)) = original.get_mut(field) {
                items.retain(|item| !remove.contains(item));
            }
            continue;
        }
        if patch_value.is_null() {
            original.remove(&key);
            continue;
        }
        let merged = match (original.remove(&key), patch_value) {
            (Some(Value::Object(old)), Value::Object(new)) => {
                path.push(key.clone());
                let merged = merge_map(old, new, path);
                path.pop();
                Some(Value::Object(merged?))
            }
            (Some(Value::Array(old)), Value::Array(new)) => Some(Value::Array(merge_list(
                old,
                new,
                list_strategy(path, &key),
                path,
            )?)),
            (_, new) => without_directives(without_nulls(new)),
        };
        if let Some(value) = merged {
            original.insert(key, value);
        }
    }
    Ok(original)
}

fn merge_list(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    strategy: ListStrategy,
    path: &mut Vec<String>,
) -> Result<Vec<Value>, String> {
    match strategy {
        ListStrategy::Replace => Ok(patch),
        ListStrategy::MergeScalars => {
            for item in patch {
                if !original.contains(&item) {
                    original.push(item);
                }
            }
            Ok(original)
        }
        ListStrategy::MergeBy(merge_key) => {
            for item in patch {
                let Value::Object(mut item) = item else {
                    continue;
                };
                let Some(id) = item.get(merge_key).cloned() else {
                    return Err(format!(
                        "map: {} does not contain declared merge key: {merge_key}",
                        go_text(&Value::Object(item))
                    ));
                };
                let position = original.iter().position(|o| o.get(merge_key) == Some(&id));
                match item.get(DIRECTIVE).and_then(Value::as_str) {
                    Some("delete") => {
                        if let Some(i) = position {
                            original.remove(i);
                        }
                        continue;
                    }
                    Some("replace") => {
                        item.remove(DIRECTIVE);
                        return Ok(vec![Value::Object(item)]);
                    }
                    _ => {}
                }
                match position {
                    Some(i) => {
                        let old = match original[i].take() {
                            Value::Object(map) => map,
                            _ => Map::new(),
                        };
                        original[i] = Value::Object(merge_map(old, item, path)?);
                    }
                    None => {
                        if let Some(value) = without_directives(Value::Object(item)) {
                            original.push(value);
                        }
                    }
                }
            }
            Ok(original)
        }
    }
}

/// `value` without `null` object members, at any depth.
fn without_nulls(mut value: Value) -> Value {
    calico_api::decode::strip_null_members(&mut value);
    value
}

/// `value` without objects that carry a `$patch` directive (`None` when `value` is one).
fn without_directives(value: Value) -> Option<Value> {
    match value {
        Value::Object(map) => {
            if map.contains_key(DIRECTIVE) {
                return None;
            }
            Some(Value::Object(
                map.into_iter()
                    .filter_map(|(k, v)| without_directives(v).map(|v| (k, v)))
                    .collect(),
            ))
        }
        Value::Array(items) => Some(Value::Array(
            items.into_iter().filter_map(without_directives).collect(),
        )),
        other => Some(other),
    }
}

/// Go's `%v` of a decoded JSON value (`map[a:1 b:[x y]]`), for error texts.
fn go_text(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => calico_api::json::format_go_float(n.as_f64().unwrap_or(0.0), 'g'),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(go_text).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let body: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{k}:{}", go_text(v)))
                .collect();
            format!("map[{}]", body.join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patched(original: Value, patch: Value) -> Value {
        apply(original, patch).unwrap()
    }

    #[test]
    fn merges_objects_replaces_lists_and_removes_nulls() {
        let original =
            json!({"spec": {"order": 10, "selector": "all()", "ingress": [{"action": "Allow"}]}});
        let result = patched(
            original,
            json!({"spec": {"order": null, "ingress": [{"action": "Deny"}], "types": ["Egress"]}}),
        );
        assert_eq!(
            result,
            json!({"spec": {"selector": "all()", "ingress": [{"action": "Deny"}], "types": ["Egress"]}})
        );
    }

    #[test]
    fn replace_and_delete_directives() {
        let original =
            json!({"metadata": {"labels": {"a": "b"}}, "spec": {"order": 1, "selector": "x"}});
        let result = patched(
            original.clone(),
            json!({"spec": {"$patch": "replace", "selector": "y"}}),
        );
        assert_eq!(result["spec"], json!({"selector": "y"}));
        let result = patched(
            original,
            json!({"metadata": {"labels": {"$patch": "delete"}}}),
        );
        assert_eq!(result["metadata"], json!({"labels": {}}));
    }

    #[test]
    fn unknown_directive_is_refused_in_apimachinery_words() {
        let err = apply(json!({"spec": {}}), json!({"spec": {"$patch": "bogus"}})).unwrap_err();
        assert_eq!(err, "unknown patch type: bogus in map: map[$patch:bogus]");
    }

    #[test]
    fn retain_keys() {
        let original = json!({"spec": {"order": 1, "selector": "x", "types": ["Ingress"]}});
        let result = patched(
            original.clone(),
            json!({"spec": {"$retainKeys": ["selector"], "selector": "y"}}),
        );
        assert_eq!(result["spec"], json!({"selector": "y"}));
        let err = apply(
            original,
            json!({"spec": {"$retainKeys": ["selector"], "order": 2}}),
        )
        .unwrap_err();
        assert_eq!(err, "invalid patch format of retainKeys");
    }

    #[test]
    fn metadata_merge_lists() {
        let original = json!({"metadata": {"finalizers": ["a"], "ownerReferences": [{"uid": "1", "name": "x"}]}});
        let result = patched(
            original,
            json!({"metadata": {
                "finalizers": ["b", "a"],
                "ownerReferences": [{"uid": "1", "kind": "K"}, {"uid": "2"}],
            }}),
        );
        assert_eq!(
            result["metadata"],
            json!({"finalizers": ["a", "b"], "ownerReferences": [{"uid": "1", "name": "x", "kind": "K"}, {"uid": "2"}]})
        );
        let result = patched(
            result,
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
        );
        assert_eq!(result["metadata"]["finalizers"], json!(["b"]));
    }

    #[test]
    fn new_values_lose_directives_and_nulls() {
        let result = patched(
            json!({"spec": {}}),
            json!({"spec": {"ingress": [{"$patch": "delete"}], "egress": [{"action": "Allow", "source": null}]}}),
        );
        assert_eq!(
            result["spec"],
            json!({"ingress": [], "egress": [{"action": "Allow"}]})
        );
    }

    #[test]
    fn null_patch_changes_nothing_and_non_objects_are_refused() {
        assert_eq!(patched(json!({"a": 1}), Value::Null), json!({"a": 1}));
        assert_eq!(
            apply(json!({}), json!([1])).unwrap_err(),
            "invalid JSON document"
        );
    }
}
