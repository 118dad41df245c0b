//! The config processor (`NewConfigUpdateProcessor`): a FelixConfiguration or ClusterInformation
//! becomes one v1 config key per spec field (`/calico/v1/config/<Name>` for `default`,
//! `/calico/v1/host/<node>/config/<Name>` for `node.<node>`), unset fields deleted. Values are
//! strings formatted as Calico's Go code formats them (hand-written to match Go byte for byte:
//! `%v` of floats and slices, `strings.Join`, durations in seconds).

use std::collections::{BTreeMap, BTreeSet};

use calico_api::json::format_go_float;
use calico_api::AnyResource;
use serde_json::Value;

use super::felix_fields::FELIX_FIELDS;
use super::json::GoJson;
use super::keys::{global_config, host_config, parse_cidr_or_ip, READY_FLAG};
use super::{error, passthrough, resource_of, Emitted, V1Processor};
use crate::resource_type::ProcessError;
use crate::types::SourceKv;

/// How a spec field's value becomes its v1 config string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    /// A Go `string`: as is; empty means unset.
    Text,
    /// A Go `*string` (or a string enum): as is, even empty.
    PtrText,
    /// A bool or a number (`%v`), or a number-or-string (`String()`).
    Plain,
    /// A duration, in seconds (`%v` of a float64).
    Seconds,
    /// A duration, in milliseconds.
    Millis,
    /// `[]string`, comma-joined.
    List,
    /// `map[string]string` as `k=v,` pairs.
    Map,
    /// `[]ProtoPort` as `proto[:net]:port`, `none` when empty.
    ProtoPorts,
    RouteTableRange,
    RouteTableRanges,
    HealthTimeoutOverrides,
    ConntrackTimeouts,
    /// `[]numorstring.Port` printed with `%v` (`[a b]`).
    PortList,
    /// ClusterInformation's `datastoreReady`: the ready flag, a boolean.
    ReadyFlag,
}

const CLUSTER_INFO_FIELDS: &[(&str, &str, Field)] = &[
    ("clusterGUID", "ClusterGUID", Field::Text),
    ("clusterType", "ClusterType", Field::Text),
    ("calicoVersion", "CalicoVersion", Field::Text),
    ("datastoreReady", "DatastoreReady", Field::ReadyFlag),
    ("variant", "Variant", Field::Text),
];

const ANNOTATION_PREFIX: &str = "config.projectcalico.org/";

/// Which resource the processor handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavour {
    Felix,
    ClusterInfo,
}

/// Calico's config update processor for FelixConfiguration or ClusterInformation.
#[derive(Debug)]
pub struct ConfigProcessor {
    flavour: Flavour,
    /// Names set through annotations so far (deleted again when an update drops them).
    additional: BTreeSet<String>,
}

enum Scope {
    Global,
    Node(String),
    SelectorScoped,
}

impl ConfigProcessor {
    /// `NewFelixConfigUpdateProcessor`.
    pub fn felix() -> Self {
        ConfigProcessor {
            flavour: Flavour::Felix,
            additional: BTreeSet::new(),
        }
    }

    /// `NewClusterInfoUpdateProcessor` (annotations ignored; `datastoreReady` is the ready flag).
    pub fn cluster_info() -> Self {
        ConfigProcessor {
            flavour: Flavour::ClusterInfo,
            additional: BTreeSet::new(),
        }
    }

    fn fields(&self) -> &'static [(&'static str, &'static str, Field)] {
        match self.flavour {
            Flavour::Felix => FELIX_FIELDS,
            Flavour::ClusterInfo => CLUSTER_INFO_FIELDS,
        }
    }

    fn key(&self, scope: &Scope, name: &str, field: Option<Field>) -> Option<String> {
        let ready = self.flavour == Flavour::ClusterInfo && field == Some(Field::ReadyFlag);
        match scope {
            Scope::Global if ready => Some(READY_FLAG.to_string()),
            Scope::Node(_) if ready => None,
            Scope::Node(node) => Some(host_config(node, name)),
            _ => Some(global_config(name)),
        }
    }
}

fn scope_of(name: &str) -> Scope {
    if name == "default" {
        Scope::Global
    } else if let Some(node) = name.strip_prefix("node.") {
        Scope::Node(node.to_string())
    } else {
        Scope::SelectorScoped
    }
}

impl V1Processor for ConfigProcessor {
    fn process_v1(&mut self, kv: &SourceKv) -> Result<Vec<Emitted>, ProcessError> {
        let (key, value) = resource_of(kv)?;
        let scope = scope_of(&key.name);
        if let Scope::SelectorScoped = scope {
            return Ok(vec![passthrough(kv)]);
        }
        let Some(resource) = value else {
            let mut out = Vec::new();
            for (_, name, field) in self.fields() {
                if let Some(path) = self.key(&scope, name, Some(*field)) {
                    out.push(Emitted::v1(path, None));
                }
            }
            for name in &self.additional {
                if let Some(path) = self.key(&scope, name, None) {
                    out.push(Emitted::v1(path, None));
                }
            }
            return Ok(out);
        };
        let spec = match (self.flavour, resource) {
            (Flavour::Felix, AnyResource::FelixConfiguration(r)) => serde_json::to_value(&r.spec),
            (Flavour::ClusterInfo, AnyResource::ClusterInformation(r)) => {
                serde_json::to_value(&r.spec)
            }
            _ => return Err(error(kv, "Spec is missing or incorrect type")),
        }
        .map_err(|e| error(kv, e.to_string()))?;
        let mut overrides: BTreeMap<String, String> = BTreeMap::new();
        if self.flavour == Flavour::Felix {
            for (k, v) in &resource.metadata().annotations {
                if let Some(name) = k.strip_prefix(ANNOTATION_PREFIX) {
                    overrides.insert(name.to_string(), v.clone());
                }
            }
        }
        let mut out = Vec::new();
        for (json_name, name, field) in self.fields() {
            let Some(path) = self.key(&scope, name, Some(*field)) else {
                continue;
            };
            if let Some(v) = overrides.remove(*name) {
                out.push(Emitted::v1(path, Some(GoJson::str(v))));
                continue;
            }
            let value = spec.get(*json_name).and_then(|v| format_field(*field, v));
            out.push(Emitted::v1(path, value));
        }
        let additional: Vec<String> = self.additional.iter().cloned().collect();
        for name in additional {
            let value = overrides.remove(&name).map(GoJson::str);
            if let Some(path) = self.key(&scope, &name, None) {
                out.push(Emitted::v1(path, value));
            }
        }
        for (name, value) in overrides {
            if let Some(path) = self.key(&scope, &name, None) {
                out.push(Emitted::v1(path, Some(GoJson::str(value))));
            }
            self.additional.insert(name);
        }
        Ok(out)
    }

    fn on_start(&mut self) {
        self.additional.clear();
    }
}

/// A field's JSON value as Calico's v1 config value (`None`: unset, the key is deleted).
pub(crate) fn format_field(field: Field, value: &Value) -> Option<GoJson> {
    if value.is_null() {
        return None;
    }
    let text = match field {
        Field::ReadyFlag => return value.as_bool().map(GoJson::Bool),
        Field::Text => match value.as_str()? {
            "" => return None,
            s => s.to_string(),
        },
        Field::PtrText => value.as_str()?.to_string(),
        Field::Plain => plain(value),
        Field::Seconds => {
            let nanos = duration_nanos(value)?;
            let secs = (nanos / 1_000_000_000) as f64 + (nanos % 1_000_000_000) as f64 / 1e9;
            format_go_float(secs, 'g')
        }
        Field::Millis => {
            let nanos = duration_nanos(value)?;
            let ms = (nanos / 1_000_000) as f64 + (nanos % 1_000_000) as f64 / 1e6;
            format_go_float(ms, 'g')
        }
        Field::List => strings(value).join(","),
        Field::Map => value
            .as_object()?
            .iter()
            .map(|(k, v)| format!("{k}={},", v.as_str().unwrap_or_default()))
            .collect(),
        Field::ProtoPorts => proto_ports(value.as_array()?),
        Field::RouteTableRange => range(value),
        Field::RouteTableRanges => value
            .as_array()?
            .iter()
            .map(range)
            .collect::<Vec<_>>()
            .join(","),
        Field::HealthTimeoutOverrides => {
            let items = value.as_array()?;
            if items.is_empty() {
                return None;
            }
            items
                .iter()
                .map(|item| {
                    format!(
                        "{}={}",
                        item.get("name").and_then(Value::as_str).unwrap_or_default(),
                        item.get("timeout").and_then(Value::as_str).unwrap_or("0s")
                    )
                })
                .collect::<Vec<_>>()
                .join(",")
        }
        Field::ConntrackTimeouts => {
            const NAMES: [(&str, &str); 8] = [
                ("creationGracePeriod", "CreationGracePeriod"),
                ("tcpSynSent", "TCPSynSent"),
                ("tcpEstablished", "TCPEstablished"),
                ("tcpFinsSeen", "TCPFinsSeen"),
                ("tcpResetSeen", "TCPResetSeen"),
                ("udpTimeout", "UDPTimeout"),
                ("genericTimeout", "GenericTimeout"),
                ("icmpTimeout", "ICMPTimeout"),
            ];
            NAMES
                .iter()
                .filter_map(|(json, go)| {
                    value
                        .get(*json)
                        .and_then(Value::as_str)
                        .map(|v| format!("{go}={v}"))
                })
                .collect::<Vec<_>>()
                .join(",")
        }
        Field::PortList => format!(
            "[{}]",
            value
                .as_array()?
                .iter()
                .map(plain)
                .collect::<Vec<_>>()
                .join(" ")
        ),
    };
    Some(GoJson::String(text))
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| items.iter().map(plain).collect())
        .unwrap_or_default()
}

fn duration_nanos(value: &Value) -> Option<i64> {
    calico_api::Duration::parse(value.as_str()?)
        .ok()
        .map(|d| d.as_nanos())
}

fn range(value: &Value) -> String {
    let get = |name: &str| value.get(name).and_then(Value::as_i64).unwrap_or(0);
    format!("{}-{}", get("min"), get("max"))
}

fn proto_ports(items: &[Value]) -> String {
    if items.is_empty() {
        return "none".to_string();
    }
    items
        .iter()
        .map(|pp| {
            let protocol = pp
                .get("protocol")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_lowercase();
            let port = pp.get("port").and_then(Value::as_u64).unwrap_or(0);
            match pp.get("net").and_then(Value::as_str).unwrap_or_default() {
                "" => format!("{protocol}:{port}"),
                net => {
                    let v6 = parse_cidr_or_ip(net).is_some_and(|(ip, _)| ip.is_ipv6());
                    if v6 {
                        format!("{protocol}:[{net}]:{port}")
                    } else {
                        format!("{protocol}:{net}:{port}")
                    }
                }
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}
