//! Server-side `Table` output (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), as kubectl get asks for it.

use serde_json::{json, Value};

use crate::resources::ResourceDef;

/// Go's `duration.HumanDuration`, as kubectl's AGE column prints it.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

fn age(obj: &Value) -> String {
    let ts = obj
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match chrono::DateTime::parse_from_rfc3339(ts) {
        Ok(t) => human_duration((chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds()),
        Err(_) => "<unknown>".into(),
    }
}

fn col(name: &str, ty: &str, format: &str, description: &str) -> Value {
    json!({"name": name, "type": ty, "format": format, "description": description, "priority": 0})
}

fn name_col() -> Value {
    col(
        "Name",
        "string",
        "name",
        "Name must be unique within a namespace.",
    )
}

fn age_col() -> Value {
    col("Age", "string", "", "CreationTimestamp is a timestamp representing the server time when this object was created.")
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// Evaluates a simple JSONPath (`.a.b`, `.a[0].b`) as additionalPrinterColumns use them.
fn simple_jsonpath<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = obj;
    for seg in path.trim_start_matches('.').split('.') {
        let (field, index) = match seg.split_once('[') {
            Some((f, rest)) => (f, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (seg, None),
        };
        if !field.is_empty() {
            cur = cur.get(field)?;
        }
        if let Some(i) = index {
            cur = cur.get(i)?;
        }
    }
    Some(cur)
}

fn node_status(obj: &Value) -> String {
    let ready = obj
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
        })
        .and_then(|c| c.get("status").and_then(Value::as_str).map(str::to_string));
    let mut s = match ready.as_deref() {
        Some("True") => "Ready".to_string(),
        Some("False") => "NotReady".to_string(),
        _ => "Unknown".to_string(),
    };
    if obj.pointer("/spec/unschedulable") == Some(&json!(true)) {
        s.push_str(",SchedulingDisabled");
    }
    s
}

fn node_roles(obj: &Value) -> String {
    let mut roles: Vec<String> = obj
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|l| {
            l.keys()
                .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    roles.sort();
    if roles.is_empty() {
        "<none>".into()
    } else {
        roles.join(",")
    }
}

fn pod_selector(obj: &Value) -> String {
    let labels: Vec<String> = obj
        .pointer("/spec/podSelector/matchLabels")
        .and_then(Value::as_object)
        .map(|l| {
            l.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    if labels.is_empty() {
        "<none>".into()
    } else {
        labels.join(",")
    }
}

/// Computes a row's cells from an object.
type Cells = Box<dyn Fn(&Value) -> Vec<Value>>;

/// Column definitions and a cell function for a resource.
fn columns(def: &ResourceDef) -> (Vec<Value>, Cells) {
    let name = |o: &Value| {
        json!(o
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default())
    };
    match (def.group.as_str(), def.plural.as_str()) {
        ("", "nodes") => (
            vec![name_col(), col("Status", "string", "", "The status of the node"), col("Roles", "string", "", "The roles of the node"), age_col(), col("Version", "string", "", "Kubelet Version reported by the node.")],
            Box::new(move |o| vec![name(o), json!(node_status(o)), json!(node_roles(o)), json!(age(o)), json!(text(o.pointer("/status/nodeInfo/kubeletVersion")))]),
        ),
        ("", "namespaces") => (
            vec![name_col(), col("Status", "string", "", "The status of the namespace"), age_col()],
            Box::new(move |o| vec![name(o), json!(text(o.pointer("/status/phase"))), json!(age(o))]),
        ),
        ("", "pods") => (
            vec![name_col(), col("Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic."), col("Status", "string", "", "The aggregate status of the containers in this pod."), col("Restarts", "string", "", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."), age_col()],
            Box::new(move |o| {
                let total = o.pointer("/spec/containers").and_then(Value::as_array).map_or(0, Vec::len);
                let ready = o
                    .pointer("/status/containerStatuses")
                    .and_then(Value::as_array)
                    .map_or(0, |cs| cs.iter().filter(|c| c.get("ready") == Some(&json!(true))).count());
                let phase = text(o.pointer("/status/phase"));
                vec![name(o), json!(format!("{ready}/{total}")), json!(if phase.is_empty() { "Pending".to_string() } else { phase }), json!("0"), json!(age(o))]
            }),
        ),
        ("", "serviceaccounts") => (
            vec![name_col(), col("Secrets", "string", "", "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use."), age_col()],
            Box::new(move |o| vec![name(o), json!(o.get("secrets").and_then(Value::as_array).map_or(0, Vec::len)), json!(age(o))]),
        ),
        ("networking.k8s.io", "networkpolicies") => (
            vec![name_col(), col("Pod-Selector", "string", "", "Pod selector"), age_col()],
            Box::new(move |o| vec![name(o), json!(pod_selector(o)), json!(age(o))]),
        ),
        ("apiextensions.k8s.io", "customresourcedefinitions") => (
            vec![name_col(), col("Created At", "date", "", "CreationTimestamp is a timestamp representing the server time when this object was created.")],
            Box::new(move |o| vec![name(o), json!(text(o.pointer("/metadata/creationTimestamp")))]),
        ),
        _ if !def.printer_columns.is_empty() => {
            let cols = def.printer_columns.clone();
            let mut defs = vec![name_col()];
            defs.extend(cols.iter().map(|(n, t, _)| col(n, t, "", "")));
            (
                defs,
                Box::new(move |o| {
                    let mut cells = vec![name(o)];
                    for (_, ty, path) in &cols {
                        let v = simple_jsonpath(o, path);
                        let cell = match (ty.as_str(), v) {
                            ("date", Some(Value::String(s))) => match chrono::DateTime::parse_from_rfc3339(s) {
                                Ok(t) => json!(human_duration((chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds())),
                                Err(_) => json!(s),
                            },
                            (_, Some(v)) => v.clone(),
                            (_, None) => Value::Null,
                        };
                        cells.push(cell);
                    }
                    cells
                }),
            )
        }
        _ => (vec![name_col(), age_col()], Box::new(move |o| vec![name(o), json!(age(o))])),
    }
}

/// Builds a `meta.k8s.io/v1` Table from objects; `include` is the `includeObject` query value.
pub fn table(def: &ResourceDef, objects: &[Value], list_meta: Value, include: &str) -> Value {
    let (column_defs, cells) = columns(def);
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut row = json!({"cells": cells(o)});
            match include {
                "None" => {}
                "Object" => row["object"] = o.clone(),
                _ => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": o.get("metadata").cloned().unwrap_or_else(|| json!({})),
                    })
                }
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": column_defs,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_like_go() {
        let cases = [
            (-5, "<invalid>"),
            (0, "0s"),
            (119, "119s"),
            (125, "2m5s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (50 * 3600, "2d2h"),
            (400 * 86400, "400d"),
            (3 * 365 * 86400, "3y"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn jsonpath_subset() {
        let o = json!({"spec": {"a": [{"b": 3}]}});
        assert_eq!(simple_jsonpath(&o, ".spec.a[0].b"), Some(&json!(3)));
        assert_eq!(simple_jsonpath(&o, ".spec.x"), None);
    }
}
