//! `-o ps`, `-o wide` and `-o custom-columns=`: calicoctl's tables.
//!
//! Each kind has default headings for ps and wide and a cell for every heading it knows,
//! rendered as calicoctl's Go templates render them: a missing pointer prints `<nil>`, a false
//! bool `false`, floats like Go's `%v`, lists joined with `,`. Cells read the resource's JSON,
//! so each definition says what an absent field prints.

use calico_api::AnyResource;
use serde_json::Value;

use crate::output::GetResult;
use crate::tabwriter::CALICOCTL;

/// Values some cells need from the datastore (the Node table's `(64512)` AS number).
#[derive(Clone, Debug, Default)]
pub struct Context {
    pub global_as_number: String,
}

/// How a heading's cell is computed from the resource JSON.
#[derive(Clone, Copy)]
enum Cell {
    /// A string field; absent prints nothing.
    Text(&'static str),
    /// A string field; absent or empty prints the fallback.
    TextOr(&'static str, &'static str),
    /// A Go pointer (or an `if`-guarded field): absent prints the fallback, present its value.
    Pointer(&'static str, &'static str),
    /// A Go `*float64`: absent prints the fallback, present Go's `%v` (`1e+06`).
    Float(&'static str, &'static str),
    /// A Go bool: absent is `false`.
    Bool(&'static str),
    /// A Go number: absent is `0`.
    Number(&'static str),
    /// `join <list or map> ","`.
    Join(&'static str),
    /// `joinAndTruncate <list> "," 80`.
    JoinTruncate(&'static str),
    /// Length of a list.
    Count(&'static str),
    /// Anything else.
    Custom(fn(&Value, &Context) -> String),
}

struct KindTable {
    kind: &'static str,
    ps: &'static [&'static str],
    wide: &'static [&'static str],
    cells: &'static [(&'static str, Cell)],
}

const NAME: (&str, Cell) = ("NAME", Cell::Text("/metadata/name"));
const NAMESPACE: (&str, Cell) = ("NAMESPACE", Cell::Text("/metadata/namespace"));

const POLICY_CELLS: &[(&str, Cell)] = &[
    NAME,
    NAMESPACE,
    ("ORDER", Cell::Float("/spec/order", "<nil>")),
    ("SELECTOR", Cell::Text("/spec/selector")),
    ("TIER", Cell::Text("/spec/tier")),
];

/// Global policies have no namespace column.
const GLOBAL_POLICY_CELLS: &[(&str, Cell)] = &[
    NAME,
    ("ORDER", Cell::Float("/spec/order", "<nil>")),
    ("SELECTOR", Cell::Text("/spec/selector")),
    ("TIER", Cell::Text("/spec/tier")),
];

const TABLES: &[KindTable] = &[
    KindTable {
        kind: "BGPConfiguration",
        ps: &["NAME", "LOGSEVERITY", "MESHENABLED", "ASNUMBER"],
        wide: &["NAME", "LOGSEVERITY", "MESHENABLED", "ASNUMBER"],
        cells: &[
            NAME,
            ("LOGSEVERITY", Cell::Text("/spec/logSeverityScreen")),
            (
                "MESHENABLED",
                Cell::Pointer("/spec/nodeToNodeMeshEnabled", "-"),
            ),
            ("ASNUMBER", Cell::Pointer("/spec/asNumber", "-")),
        ],
    },
    KindTable {
        kind: "BGPFilter",
        ps: &[
            "NAME",
            "NUMEXPORTV4",
            "NUMIMPORTV4",
            "NUMEXPORTV6",
            "NUMIMPORTV6",
        ],
        wide: &[
            "NAME",
            "NUMEXPORTV4",
            "NUMIMPORTV4",
            "NUMEXPORTV6",
            "NUMIMPORTV6",
        ],
        cells: &[
            NAME,
            ("NUMEXPORTV4", Cell::Count("/spec/exportV4")),
            ("NUMIMPORTV4", Cell::Count("/spec/importV4")),
            ("NUMEXPORTV6", Cell::Count("/spec/exportV6")),
            ("NUMIMPORTV6", Cell::Count("/spec/importV6")),
        ],
    },
    KindTable {
        kind: "BGPPeer",
        ps: &["NAME", "PEERIP", "NODE", "ASN"],
        wide: &["NAME", "PEERIP", "NODE", "ASN"],
        cells: &[
            NAME,
            ("PEERIP", Cell::Text("/spec/peerIP")),
            ("NODE", Cell::Custom(bgp_peer_node)),
            ("ASN", Cell::Number("/spec/asNumber")),
        ],
    },
    KindTable {
        kind: "CalicoNodeStatus",
        ps: &["NAME", "NODE"],
        wide: &["NAME", "NODE", "CLASSES"],
        cells: &[
            NAME,
            ("NODE", Cell::Text("/spec/node")),
            ("CLASSES", Cell::Join("/spec/classes")),
        ],
    },
    KindTable {
        kind: "ClusterInformation",
        ps: &[
            "NAME",
            "CLUSTERGUID",
            "CLUSTERTYPE",
            "CALICOVERSION",
            "DATASTOREREADY",
        ],
        wide: &[
            "NAME",
            "CLUSTERGUID",
            "CLUSTERTYPE",
            "CALICOVERSION",
            "DATASTOREREADY",
        ],
        cells: &[
            NAME,
            ("CLUSTERGUID", Cell::Text("/spec/clusterGUID")),
            ("CLUSTERTYPE", Cell::Text("/spec/clusterType")),
            ("CALICOVERSION", Cell::Text("/spec/calicoVersion")),
            (
                "DATASTOREREADY",
                Cell::Pointer("/spec/datastoreReady", "<nil>"),
            ),
        ],
    },
    KindTable {
        kind: "FelixConfiguration",
        ps: &["NAME"],
        wide: &["NAME"],
        cells: &[NAME],
    },
    KindTable {
        kind: "GlobalNetworkPolicy",
        ps: &["NAME", "TIER"],
        wide: &["NAME", "TIER", "ORDER", "SELECTOR"],
        cells: GLOBAL_POLICY_CELLS,
    },
    KindTable {
        kind: "GlobalNetworkSet",
        ps: &["NAME"],
        wide: &["NAME", "NETS"],
        cells: &[NAME, ("NETS", Cell::JoinTruncate("/spec/nets"))],
    },
    KindTable {
        kind: "HostEndpoint",
        ps: &["NAME", "NODE"],
        wide: &["NAME", "NODE", "INTERFACE", "IPS", "PROFILES"],
        cells: &[
            NAME,
            ("NODE", Cell::Text("/spec/node")),
            ("INTERFACE", Cell::Text("/spec/interfaceName")),
            ("IPS", Cell::Join("/spec/expectedIPs")),
            ("PROFILES", Cell::Join("/spec/profiles")),
        ],
    },
    KindTable {
        kind: "IPAMConfiguration",
        ps: &["NAME", "STRICTAFFINITY", "AUTOALLOCATEBLOCKS"],
        wide: &[
            "NAME",
            "STRICTAFFINITY",
            "AUTOALLOCATEBLOCKS",
            "MAXBLOCKSPERHOST",
        ],
        cells: &[
            NAME,
            ("STRICTAFFINITY", Cell::Bool("/spec/strictAffinity")),
            ("AUTOALLOCATEBLOCKS", Cell::Bool("/spec/autoAllocateBlocks")),
            ("MAXBLOCKSPERHOST", Cell::Number("/spec/maxBlocksPerHost")),
        ],
    },
    KindTable {
        kind: "IPPool",
        ps: &["NAME", "CIDR", "SELECTOR"],
        wide: &[
            "NAME",
            "CIDR",
            "NAT",
            "IPIPMODE",
            "VXLANMODE",
            "DISABLED",
            "DISABLEBGPEXPORT",
            "SELECTOR",
            "ASSIGNMENTMODE",
        ],
        cells: &[
            NAME,
            ("CIDR", Cell::Text("/spec/cidr")),
            ("NAT", Cell::Bool("/spec/natOutgoing")),
            ("IPIPMODE", Cell::TextOr("/spec/ipipMode", "Never")),
            ("VXLANMODE", Cell::TextOr("/spec/vxlanMode", "Never")),
            ("DISABLED", Cell::Bool("/spec/disabled")),
            ("DISABLEBGPEXPORT", Cell::Bool("/spec/disableBGPExport")),
            ("SELECTOR", Cell::Text("/spec/nodeSelector")),
            (
                "ASSIGNMENTMODE",
                Cell::Pointer("/spec/assignmentMode", "<nil>"),
            ),
        ],
    },
    KindTable {
        kind: "IPReservation",
        ps: &["NAME"],
        wide: &["NAME", "CIDRS"],
        cells: &[NAME, ("CIDRS", Cell::JoinTruncate("/spec/reservedCIDRs"))],
    },
    KindTable {
        kind: "KubeControllersConfiguration",
        ps: &["NAME"],
        wide: &["NAME"],
        cells: &[NAME],
    },
    KindTable {
        kind: "NetworkPolicy",
        ps: &["NAME", "TIER"],
        wide: &["NAME", "TIER", "ORDER", "SELECTOR"],
        cells: POLICY_CELLS,
    },
    KindTable {
        kind: "NetworkSet",
        ps: &["NAME"],
        wide: &["NAME", "NETS"],
        cells: &[NAME, NAMESPACE, ("NETS", Cell::JoinTruncate("/spec/nets"))],
    },
    KindTable {
        kind: "Node",
        ps: &["NAME"],
        wide: &["NAME", "ASN", "IPV4", "IPV6"],
        cells: &[
            NAME,
            ("ASN", Cell::Custom(node_as_number)),
            ("IPV4", Cell::Text("/spec/bgp/ipv4Address")),
            ("IPV6", Cell::Text("/spec/bgp/ipv6Address")),
        ],
    },
    KindTable {
        kind: "Profile",
        ps: &["NAME"],
        wide: &["NAME", "LABELS"],
        cells: &[NAME, ("LABELS", Cell::Join("/spec/labelsToApply"))],
    },
    KindTable {
        kind: "StagedGlobalNetworkPolicy",
        ps: &["NAME", "TIER"],
        wide: &["NAME", "TIER", "ORDER", "SELECTOR"],
        cells: GLOBAL_POLICY_CELLS,
    },
    KindTable {
        kind: "StagedKubernetesNetworkPolicy",
        ps: &["NAME"],
        wide: &["NAME", "PODSELECTOR"],
        cells: &[
            NAME,
            NAMESPACE,
            ("PODSELECTOR", Cell::Custom(label_selector_go_string)),
        ],
    },
    KindTable {
        kind: "StagedNetworkPolicy",
        ps: &["NAME", "TIER"],
        wide: &["NAME", "TIER", "ORDER", "SELECTOR"],
        cells: POLICY_CELLS,
    },
    KindTable {
        kind: "Tier",
        ps: &["NAME", "ORDER"],
        wide: &["NAME", "ORDER"],
        cells: &[NAME, ("ORDER", Cell::Float("/spec/order", "<nil>"))],
    },
    KindTable {
        kind: "WorkloadEndpoint",
        ps: &["WORKLOAD", "NODE", "NETWORKS", "INTERFACE"],
        wide: &[
            "NAME",
            "WORKLOAD",
            "NODE",
            "NETWORKS",
            "INTERFACE",
            "PROFILES",
            "NATS",
        ],
        cells: &[
            NAME,
            NAMESPACE,
            ("NODE", Cell::Text("/spec/node")),
            ("ORCHESTRATOR", Cell::Text("/spec/orchestrator")),
            ("WORKLOAD", Cell::Custom(workload_name)),
            ("NETWORKS", Cell::Join("/spec/ipNetworks")),
            ("NATS", Cell::Custom(ip_nats)),
            ("PROFILES", Cell::Join("/spec/profiles")),
            ("INTERFACE", Cell::Text("/spec/interfaceName")),
        ],
    },
];

fn table_for(kind: &str) -> Option<&'static KindTable> {
    TABLES.iter().find(|t| t.kind == kind)
}

/// Go's `%v` of a JSON scalar as the Go field would hold it.
fn go_text(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if n.is_f64() => {
            calico_manifest::yaml::go_float_g(n.as_f64().unwrap_or(0.0))
        }
        Value::Number(n) => n.to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(go_text).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.values().map(go_text).collect::<Vec<_>>().join(" ")
        ),
    }
}

/// calicoctl's `joinAndTruncate`: maps become sorted `k=v`, items joined by `,`, cut to
/// `max` bytes with `...` when `max > 0`.
fn join(value: Option<&Value>, max: usize) -> String {
    let items: Vec<String> = match value {
        None | Some(Value::Null) => return String::new(),
        Some(Value::Object(map)) => {
            let mut pairs: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}={}", go_text(v)))
                .collect();
            pairs.sort();
            pairs
        }
        Some(Value::Array(items)) => items.iter().map(go_text).collect(),
        Some(other) => vec![go_text(other)],
    };
    join_and_truncate(&items, ",", max)
}

/// calicoctl's `joinAndTruncate`: the parts joined by `separator`, cut to `max` bytes ending in
/// `...` when longer (no limit when `max` is 0). Shared by tables and user templates.
pub fn join_and_truncate(parts: &[String], separator: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        out.push_str(part);
        if max > 0 && out.len() > max {
            let mut cut = max.saturating_sub(3);
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push_str("...");
            break;
        }
    }
    out
}

fn text_at(value: &Value, pointer: &str) -> String {
    value.pointer(pointer).map(go_text).unwrap_or_default()
}

fn bgp_peer_node(value: &Value, _: &Context) -> String {
    let node = text_at(value, "/spec/node");
    if !node.is_empty() {
        return node;
    }
    let selector = text_at(value, "/spec/nodeSelector");
    if !selector.is_empty() {
        return selector;
    }
    "(global)".into()
}

fn node_as_number(value: &Value, context: &Context) -> String {
    match value.pointer("/spec/bgp") {
        None | Some(Value::Null) => String::new(),
        Some(bgp) => match bgp.get("asNumber") {
            Some(asn) if !asn.is_null() => go_text(asn),
            _ => format!("({})", context.global_as_number),
        },
    }
}

fn workload_name(value: &Value, _: &Context) -> String {
    let workload = text_at(value, "/spec/workload");
    if workload.is_empty() {
        text_at(value, "/spec/pod")
    } else {
        workload
    }
}

/// `join .Spec.IPNATs ","`: each IPNAT prints as Go's `{internal external}`.
fn ip_nats(value: &Value, _: &Context) -> String {
    let Some(Value::Array(nats)) = value.pointer("/spec/ipNATs") else {
        return String::new();
    };
    nats.iter()
        .map(|nat| {
            format!(
                "{{{} {}}}",
                text_at(nat, "/internalIP"),
                text_at(nat, "/externalIP")
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The generated Go `String()` of a Kubernetes LabelSelector, which calicoctl prints for the
/// StagedKubernetesNetworkPolicy pod selector.
fn label_selector_go_string(value: &Value, _: &Context) -> String {
    let selector = value
        .pointer("/spec/podSelector")
        .cloned()
        .unwrap_or(Value::Null);
    let mut labels: Vec<(String, String)> = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), go_text(v))).collect())
        .unwrap_or_default();
    labels.sort();
    let labels: String = labels.iter().map(|(k, v)| format!("{k}: {v},")).collect();
    let expressions: String = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|e| {
                    let values = e
                        .get("values")
                        .and_then(Value::as_array)
                        .map(|v| v.iter().map(go_text).collect::<Vec<_>>().join(" "))
                        .unwrap_or_default();
                    format!(
                        "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{values}],}},",
                        text_at(e, "/key"),
                        text_at(e, "/operator")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{{expressions}}},}}"
    )
}

fn render_cell(cell: Cell, value: &Value, context: &Context) -> String {
    match cell {
        Cell::Text(pointer) => text_at(value, pointer),
        Cell::TextOr(pointer, fallback) => {
            let text = text_at(value, pointer);
            if text.is_empty() {
                fallback.to_string()
            } else {
                text
            }
        }
        Cell::Pointer(pointer, fallback) => match value.pointer(pointer) {
            None | Some(Value::Null) => fallback.to_string(),
            Some(v) => go_text(v),
        },
        Cell::Float(pointer, fallback) => match value.pointer(pointer).and_then(Value::as_f64) {
            None => fallback.to_string(),
            Some(f) => calico_manifest::yaml::go_float_g(f),
        },
        Cell::Bool(pointer) => value
            .pointer(pointer)
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .to_string(),
        Cell::Number(pointer) => value
            .pointer(pointer)
            .map(go_text)
            .unwrap_or_else(|| "0".into()),
        Cell::Join(pointer) => join(value.pointer(pointer), 0),
        Cell::JoinTruncate(pointer) => join(value.pointer(pointer), 80),
        Cell::Count(pointer) => value
            .pointer(pointer)
            .and_then(Value::as_array)
            .map_or(0, Vec::len)
            .to_string(),
        Cell::Custom(f) => f(value, context),
    }
}

/// Which columns to print.
pub enum Columns {
    Ps,
    Wide,
    Custom(Vec<String>),
}

/// Renders one table per result, each followed by an empty line.
pub fn render(
    results: &[GetResult],
    columns: &Columns,
    print_namespace: bool,
    context: &Context,
) -> Result<String, String> {
    let mut out = String::new();
    for result in results {
        let (kind, items): (&str, Vec<&AnyResource>) = match result {
            GetResult::Object(resource) => (resource.kind(), vec![resource]),
            GetResult::List { kind, items, .. } => (kind, items.iter().collect()),
        };
        let Some(table) = table_for(kind) else {
            return Err(format!("resource type '{kind}' has no table format"));
        };
        let mut headings: Vec<&str> = match columns {
            Columns::Ps => table.ps.to_vec(),
            Columns::Wide => table.wide.to_vec(),
            Columns::Custom(names) => names.iter().map(String::as_str).collect(),
        };
        let namespaced = calico_datastore::KindRef::lookup(kind).is_some_and(|k| k.is_namespaced());
        if print_namespace && namespaced && !matches!(columns, Columns::Custom(_)) {
            headings.insert(0, "NAMESPACE");
        }
        let mut cells = Vec::with_capacity(headings.len());
        for heading in &headings {
            let cell = table
                .cells
                .iter()
                .find(|(name, _)| name == heading)
                .map(|(_, cell)| *cell)
                .or_else(|| (*heading == "NAMESPACE" && namespaced).then_some(NAMESPACE.1));
            match cell {
                Some(cell) => cells.push(cell),
                None => {
                    let valid: Vec<&str> = table.cells.iter().map(|(name, _)| *name).collect();
                    return Err(format!(
                        "unknown heading {heading}, valid values are: {}",
                        valid.join(", ")
                    ));
                }
            }
        }
        let mut text = String::new();
        for heading in &headings {
            text.push_str(heading);
            text.push('\t');
        }
        text.push('\n');
        for item in items {
            let value = item.to_json_value().map_err(|e| e.to_string())?;
            for cell in &cells {
                text.push_str(&render_cell(*cell, &value, context));
                text.push('\t');
            }
            text.push('\n');
        }
        out.push_str(&CALICOCTL.format(&text));
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn joins_like_calicoctl() {
        assert_eq!(join(Some(&json!(["a", "b"])), 0), "a,b");
        assert_eq!(join(Some(&json!({"z": "1", "a": "2"})), 0), "a=2,z=1");
        assert_eq!(join(None, 0), "");
        let long: Vec<String> = (0..30).map(|i| format!("10.0.{i}.0/24")).collect();
        let joined = join(Some(&json!(long)), 80);
        assert_eq!(joined.len(), 80);
        assert!(joined.ends_with("..."));
    }

    #[test]
    fn go_values() {
        let order = |v: Value| {
            render_cell(
                Cell::Float("/o", "<nil>"),
                &json!({ "o": v }),
                &Context::default(),
            )
        };
        assert_eq!(order(json!(1000000)), "1e+06");
        assert_eq!(order(json!(100)), "100");
        assert_eq!(order(json!(100.5)), "100.5");
        assert_eq!(order(Value::Null), "<nil>");
        assert_eq!(
            label_selector_go_string(
                &json!({"spec": {"podSelector": {"matchLabels": {"b": "2", "a": "1"},
                    "matchExpressions": [{"key": "k", "operator": "In", "values": ["x", "y"]}]}}}),
                &Context::default()
            ),
            "&LabelSelector{MatchLabels:map[string]string{a: 1,b: 2,},MatchExpressions:[]LabelSelectorRequirement{LabelSelectorRequirement{Key:k,Operator:In,Values:[x y],},},}"
        );
    }

    #[test]
    fn every_default_heading_has_a_cell() {
        for table in TABLES {
            for heading in table.ps.iter().chain(table.wide) {
                assert!(
                    table.cells.iter().any(|(name, _)| name == heading),
                    "{} lacks {heading}",
                    table.kind
                );
            }
        }
    }
}
