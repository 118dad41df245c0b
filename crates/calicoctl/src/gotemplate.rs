//! `-o go-template=` and `-o go-template-file=`: Go `text/template` (through gotmpl) run once
//! over the list of results, with calicoctl's `join`, `joinAndTruncate` and `config` functions.
//!
//! Templates name Go struct fields (`.ObjectMeta.Name`, `.Spec.CIDR`), so the JSON of each
//! result is re-keyed with the Go names: `metadata` becomes `ObjectMeta` (its fields are also
//! promoted, as Go promotes embedded fields: `.Name` works), and every other key is turned
//! into Go's exported spelling with Go's initialisms (`natOutgoing` → `NATOutgoing`,
//! `ipv4Address` → `IPv4Address`).

use std::collections::BTreeMap;
use std::sync::Arc;

use gotmpl::{Template, TemplateError, Value};
use serde_json::Value as Json;

/// Initialisms Go (and Calico's API) write in capitals.
const INITIALISMS: &[&str] = &[
    "acl", "api", "as", "bgp", "cidr", "cidrs", "cni", "cpu", "dns", "dscp", "guid", "html",
    "http", "https", "icmp", "id", "ip", "ipam", "ipip", "ips", "json", "mac", "mtu", "nat",
    "nats", "qps", "sctp", "tcp", "tls", "ttl", "udp", "uid", "uri", "url", "vni", "vxlan", "xdp",
];

/// `natOutgoing` → `NATOutgoing`, `ipv4Address` → `IPv4Address`, `peerIP` → `PeerIP`.
pub fn go_field_name(json_name: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    for c in json_name.chars() {
        if c.is_ascii_uppercase()
            && !current.is_empty()
            && !current.ends_with(|p: char| p.is_ascii_uppercase())
        {
            words.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
        .iter()
        .map(|word| {
            let lower = word.to_ascii_lowercase();
            let trimmed = lower.trim_end_matches(|c: char| c.is_ascii_digit());
            if let Some(version) = lower.strip_prefix("ipv") {
                format!("IPv{version}")
            } else if INITIALISMS.contains(&lower.as_str()) {
                if lower == "ips" || lower == "cidrs" || lower == "nats" {
                    format!("{}s", lower[..lower.len() - 1].to_ascii_uppercase())
                } else {
                    lower.to_ascii_uppercase()
                }
            } else if INITIALISMS.contains(&trimmed) && trimmed != lower {
                lower.to_ascii_uppercase()
            } else {
                let mut chars = word.chars();
                match chars.next() {
                    Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                    None => String::new(),
                }
            }
        })
        .collect()
}

/// JSON fields that hold Go maps, whose keys are data and keep their spelling.
const MAP_FIELDS: &[&str] = &[
    "annotations",
    "labels",
    "labelsToApply",
    "matchLabels",
    "nodeSelectorTerms",
    "secondary",
    "alternateOwnerAttrs",
    "block",
    "sequenceNumberForAllocation",
    "bpfLogFilters",
    "environmentVars",
];

fn convert_map_values(map: &serde_json::Map<String, Json>) -> Value {
    let converted: BTreeMap<Arc<str>, Value> = map
        .iter()
        .map(|(k, v)| (Arc::from(k.as_str()), convert(v)))
        .collect();
    Value::Map(Arc::new(converted))
}

fn convert(value: &Json) -> Value {
    match value {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                Value::Uint(u)
            } else {
                Value::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        Json::String(s) => Value::String(Arc::from(s.as_str())),
        Json::Array(items) => Value::List(items.iter().map(convert).collect::<Vec<_>>().into()),
        Json::Object(map) => {
            let converted: BTreeMap<Arc<str>, Value> = map
                .iter()
                .map(|(k, v)| {
                    let field = match v {
                        Json::Object(inner) if MAP_FIELDS.contains(&k.as_str()) => {
                            convert_map_values(inner)
                        }
                        other => convert(other),
                    };
                    (Arc::from(go_field_name(k).as_str()), field)
                })
                .collect();
            Value::Map(Arc::new(converted))
        }
    }
}

/// A resource or list as Go's struct would present it to a template.
fn object_view(value: &Json) -> Value {
    let Json::Object(top) = value else {
        return convert(value);
    };
    let mut fields: BTreeMap<Arc<str>, Value> = BTreeMap::new();
    for (key, field) in top {
        match key.as_str() {
            "metadata" => {
                let meta = convert(field);
                // Embedded ObjectMeta/ListMeta fields are promoted in Go.
                if let Value::Map(inner) = &meta {
                    for (k, v) in inner.iter() {
                        fields.insert(k.clone(), v.clone());
                    }
                }
                let name = if top.contains_key("items") {
                    "ListMeta"
                } else {
                    "ObjectMeta"
                };
                fields.insert(Arc::from(name), meta);
            }
            "items" => {
                let items: Vec<Value> = field
                    .as_array()
                    .map(|list| list.iter().map(object_view).collect())
                    .unwrap_or_default();
                fields.insert(Arc::from("Items"), Value::List(items.into()));
            }
            other => {
                fields.insert(Arc::from(go_field_name(other).as_str()), convert(field));
            }
        }
    }
    Value::Map(Arc::new(fields))
}

fn exec_error(message: impl Into<String>) -> TemplateError {
    TemplateError::Exec(message.into())
}

/// calicoctl's `joinAndTruncate` over template values.
fn join_values(items: &Value, separator: &str, max: usize) -> String {
    let parts: Vec<String> = match items {
        Value::Nil => return String::new(),
        Value::Map(map) => {
            let mut pairs: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
            pairs.sort();
            pairs
        }
        Value::List(list) => list.iter().map(ToString::to_string).collect(),
        other => vec![other.to_string()],
    };
    crate::table::join_and_truncate(&parts, separator, max)
}

/// Runs a user template over the results (already JSON) with calicoctl's functions.
pub fn render(
    template: &str,
    results: &[Json],
    global_as_number: String,
) -> Result<String, String> {
    let data = Value::List(results.iter().map(object_view).collect::<Vec<_>>().into());
    let parsed = Template::new("get")
        .func("join", |args: &[Value]| {
            let [items, separator] = args else {
                return Err(exec_error("join needs a list and a separator"));
            };
            let separator = separator.as_str().unwrap_or_default().to_string();
            Ok(Value::String(Arc::from(
                join_values(items, &separator, 0).as_str(),
            )))
        })
        .func("joinAndTruncate", |args: &[Value]| {
            let [items, separator, max] = args else {
                return Err(exec_error(
                    "joinAndTruncate needs a list, a separator and a length",
                ));
            };
            let separator = separator.as_str().unwrap_or_default().to_string();
            let max = usize::try_from(max.as_int().unwrap_or(0)).unwrap_or(0);
            Ok(Value::String(Arc::from(
                join_values(items, &separator, max).as_str(),
            )))
        })
        .func("config", move |args: &[Value]| {
            match args
                .first()
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
            {
                Some(name) if name == "asnumber" => {
                    Ok(Value::String(Arc::from(global_as_number.as_str())))
                }
                _ => Err(exec_error("unhandled config type")),
            }
        })
        .parse(template)
        .map_err(|e| e.to_string())?;
    parsed.execute_to_string(&data).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_names() {
        for (json_name, go) in [
            ("cidr", "CIDR"),
            ("natOutgoing", "NATOutgoing"),
            ("ipipMode", "IPIPMode"),
            ("vxlanMode", "VXLANMode"),
            ("nodeSelector", "NodeSelector"),
            ("ipv4Address", "IPv4Address"),
            ("asNumber", "ASNumber"),
            ("peerIP", "PeerIP"),
            ("ipNetworks", "IPNetworks"),
            ("ipNATs", "IPNATs"),
            ("expectedIPs", "ExpectedIPs"),
            ("disableBGPExport", "DisableBGPExport"),
            ("clusterGUID", "ClusterGUID"),
            ("vxlanTunnelMACAddr", "VXLANTunnelMACAddr"),
            ("labelsToApply", "LabelsToApply"),
            ("apiVersion", "APIVersion"),
            ("interfaceName", "InterfaceName"),
        ] {
            assert_eq!(go_field_name(json_name), go, "{json_name}");
        }
    }

    #[test]
    fn renders_over_the_result_list() {
        let pool = json!({"kind": "IPPool", "apiVersion": "projectcalico.org/v3",
            "metadata": {"name": "p1"}, "spec": {"cidr": "10.0.0.0/16", "natOutgoing": true}});
        let list = json!({"kind": "IPPoolList", "apiVersion": "projectcalico.org/v3",
            "metadata": {"resourceVersion": "7"}, "items": [pool]});
        let out = render(
            "{{range .}}{{range .Items}}{{.ObjectMeta.Name}} {{.Spec.CIDR}} {{.Spec.NATOutgoing}} {{.Name}}\n{{end}}{{end}}",
            &[list],
            "64512".into(),
        )
        .unwrap();
        assert_eq!(out, "p1 10.0.0.0/16 true p1\n");
        let out = render(
            r#"{{range .}}{{join .Labels ","}}|{{config "asnumber"}}{{end}}"#,
            &[json!({"kind": "Tier", "metadata": {"name": "t", "labels": {"b": "2", "a": "1"}}})],
            "65000".into(),
        )
        .unwrap();
        assert_eq!(out, "a=1,b=2|65000");
    }
}
