//! `metadata.managedFields` of custom resources, kept as a real API server keeps them for
//! `Update` operations (create, replace): each writer (its `fieldManager`, else its user agent
//! up to the first `/`, else `unknown`) owns the fields it set, written as FieldsV1 (`f:` per
//! field, `.` for a map that has members; lists are atomic, as in a CRD without list types).
//! A writer that changes a field takes it from whoever owned it; writers left with nothing are
//! dropped. Not kept: server-side apply, patches (they keep the stored entries), status
//! subresource writes, and built-in kinds (their lists are merged by key on a real server).

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

/// One field: the `f:` names down to it, ending in `.` for a map's own entry.
type Path = Vec<String>;

/// The manager of a request: `?fieldManager=`, else the user agent's product, else `unknown`.
pub fn manager(field_manager: Option<&str>, user_agent: Option<&str>) -> String {
    if let Some(manager) = field_manager.filter(|m| !m.is_empty()) {
        return manager.to_string();
    }
    match user_agent.and_then(|ua| ua.split('/').next()) {
        Some(product) if !product.is_empty() => product.to_string(),
        _ => "unknown".to_string(),
    }
}

/// Sets the managed fields of a created object: `manager` owns everything it sent.
pub fn on_create(object: &mut Value, manager: &str, status_subresource: bool, time: &str) {
    let fields = fields_of(object, status_subresource);
    let entries = if fields.is_empty() {
        Vec::new()
    } else {
        vec![entry(object, manager, &fields, time)]
    };
    set_entries(object, entries);
}

/// Sets the managed fields of `new`, which replaces `old`: `manager` owns what it changed and
/// what it owned before and still sent; others lose what `manager` changed. A write that
/// changes nothing keeps the stored entries.
pub fn on_update(
    old: &Value,
    new: &mut Value,
    manager: &str,
    status_subresource: bool,
    time: &str,
) {
    let old_entries: Vec<Value> = old
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let new_fields = fields_of(new, status_subresource);
    let changed: BTreeSet<Path> = new_fields
        .iter()
        .filter(|path| value_at(new, path) != value_at(old, path))
        .cloned()
        .collect();
    if changed.is_empty() && fields_of(old, status_subresource) == new_fields {
        set_entries(new, old_entries);
        return;
    }
    let mut entries = Vec::new();
    let mut mine: BTreeSet<Path> = changed.clone();
    for old_entry in old_entries {
        let owned = old_entry
            .get("fieldsV1")
            .map(parse_fields_v1)
            .unwrap_or_default();
        let still: BTreeSet<Path> = owned.intersection(&new_fields).cloned().collect();
        let is_mine = old_entry.get("manager").and_then(Value::as_str) == Some(manager)
            && old_entry.get("operation").and_then(Value::as_str) == Some("Update")
            && old_entry.get("subresource").is_none();
        if is_mine {
            mine.extend(still);
            continue;
        }
        let kept: BTreeSet<Path> = still.difference(&changed).cloned().collect();
        if kept.is_empty() {
            continue;
        }
        let mut kept_entry = old_entry;
        if let Some(map) = kept_entry.as_object_mut() {
            map.insert("fieldsV1".into(), fields_v1(&kept));
        }
        entries.push(kept_entry);
    }
    if !mine.is_empty() {
        entries.push(entry(new, manager, &mine, time));
    }
    set_entries(new, entries);
}

fn entry(object: &Value, manager: &str, fields: &BTreeSet<Path>, time: &str) -> Value {
    json!({
        "manager": manager,
        "operation": "Update",
        "apiVersion": object.get("apiVersion").cloned().unwrap_or(Value::Null),
        "time": time,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields_v1(fields),
    })
}

fn set_entries(object: &mut Value, entries: Vec<Value>) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        if entries.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(entries));
        }
    }
}

/// The fields an object sets: every top-level member but `apiVersion`, `kind`, `metadata` (of
/// which labels, annotations, finalizers and owner references count) and, with a status
/// subresource, `status`.
fn fields_of(object: &Value, status_subresource: bool) -> BTreeSet<Path> {
    let mut fields = BTreeSet::new();
    let Some(map) = object.as_object() else {
        return fields;
    };
    for (key, value) in map {
        match key.as_str() {
            "apiVersion" | "kind" => {}
            "status" if status_subresource => {}
            "metadata" => {
                let Some(meta) = value.as_object() else {
                    continue;
                };
                for field in ["labels", "annotations", "finalizers", "ownerReferences"] {
                    if let Some(value) = meta.get(field) {
                        let path = vec!["f:metadata".to_string(), format!("f:{field}")];
                        collect(value, path, &mut fields);
                    }
                }
            }
            _ => collect(value, vec![format!("f:{key}")], &mut fields),
        }
    }
    fields
}

fn collect(value: &Value, path: Path, fields: &mut BTreeSet<Path>) {
    match value.as_object() {
        Some(map) if !map.is_empty() => {
            let mut own = path.clone();
            own.push(".".into());
            fields.insert(own);
            for (key, member) in map {
                let mut child = path.clone();
                child.push(format!("f:{key}"));
                collect(member, child, fields);
            }
        }
        _ => {
            fields.insert(path);
        }
    }
}

/// The value a field path names (`.`: the map itself, only whether it is there).
fn value_at<'a>(object: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut current = object;
    for step in path {
        if step == "." {
            return current.as_object().map(|_| &Value::Null);
        }
        let name = step.strip_prefix("f:")?;
        current = current.get(name)?;
    }
    Some(current)
}

fn fields_v1(fields: &BTreeSet<Path>) -> Value {
    let mut root = Map::new();
    for path in fields {
        let mut node = &mut root;
        for step in path {
            let next = node
                .entry(step.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            match next.as_object_mut() {
                Some(map) => node = map,
                None => break,
            }
        }
    }
    Value::Object(root)
}

fn parse_fields_v1(value: &Value) -> BTreeSet<Path> {
    fn walk(value: &Value, path: &mut Path, fields: &mut BTreeSet<Path>) {
        match value.as_object() {
            Some(map) if !map.is_empty() => {
                for (key, member) in map {
                    path.push(key.clone());
                    walk(member, path, fields);
                    path.pop();
                }
            }
            _ => {
                if !path.is_empty() {
                    fields.insert(path.clone());
                }
            }
        }
    }
    let mut fields = BTreeSet::new();
    walk(value, &mut Vec::new(), &mut fields);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(cidr: &str, uses: &[&str]) -> Value {
        json!({
            "apiVersion": "projectcalico.org/v3",
            "kind": "IPPool",
            "metadata": {"name": "p", "labels": {"a": "1"}},
            "spec": {"cidr": cidr, "allowedUses": uses, "nodeSelector": "all()"},
        })
    }

    #[test]
    fn a_create_owns_what_it_sent_as_the_real_server_writes_it() {
        let mut object = pool("10.0.0.0/16", &["Workload"]);
        on_create(&mut object, "Go-http-client", true, "t1");
        assert_eq!(
            object["metadata"]["managedFields"],
            json!([{
                "manager": "Go-http-client",
                "operation": "Update",
                "apiVersion": "projectcalico.org/v3",
                "time": "t1",
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:metadata": {"f:labels": {".": {}, "f:a": {}}},
                    "f:spec": {".": {}, "f:allowedUses": {}, "f:cidr": {}, "f:nodeSelector": {}},
                },
            }])
        );
    }

    #[test]
    fn another_writer_takes_what_it_changes() {
        let mut old = pool("10.0.0.0/16", &["Workload"]);
        on_create(&mut old, "kubectl-create", true, "t1");
        let mut new = pool("10.0.0.0/16", &["Workload", "Tunnel"]);
        on_update(&old, &mut new, "Go-http-client", true, "t2");
        let entries = new["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0]["manager"], "kubectl-create");
        assert_eq!(entries[0]["time"], "t1");
        assert!(entries[0]["fieldsV1"]["f:spec"]
            .get("f:allowedUses")
            .is_none());
        assert_eq!(entries[0]["fieldsV1"]["f:spec"]["f:cidr"], json!({}));
        assert_eq!(entries[1]["manager"], "Go-http-client");
        assert_eq!(
            entries[1]["fieldsV1"],
            json!({"f:spec": {"f:allowedUses": {}}})
        );
        // Nothing changed: the entries stay as they were.
        let mut same = new.clone();
        on_update(&new, &mut same, "Go-http-client", true, "t3");
        assert_eq!(
            same["metadata"]["managedFields"],
            new["metadata"]["managedFields"]
        );
    }

    #[test]
    fn managers_come_from_the_request() {
        assert_eq!(
            manager(Some("kubectl-create"), Some("kubectl/v1.30")),
            "kubectl-create"
        );
        assert_eq!(manager(None, Some("Go-http-client/1.1")), "Go-http-client");
        assert_eq!(manager(None, None), "unknown");
    }
}
