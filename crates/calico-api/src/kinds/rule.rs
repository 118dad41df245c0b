//! Policy rules (`api/pkg/apis/projectcalico/v3/policy_common.go`): the match criteria and action
//! shared by every policy kind and by Profiles, with their validation (Calico's Go validator for
//! rules and entity rules, and the CEL rules the policy CRDs attach to them).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::numorstring::{Port, Protocol};
use crate::validation::{checks, gofmt, metadata, Validator};

/// Rule actions.
pub const RULE_ACTIONS: &[&str] = &["Allow", "Deny", "Log", "Pass"];
/// `PolicyType` values.
pub const POLICY_TYPE_INGRESS: &str = "Ingress";
/// `PolicyType` values.
pub const POLICY_TYPE_EGRESS: &str = "Egress";
/// All `PolicyType` values.
pub const POLICY_TYPES: &[&str] = &[POLICY_TYPE_INGRESS, POLICY_TYPE_EGRESS];
/// Most rules a policy or profile may have per direction (CRD `maxItems`).
pub const MAX_RULES: usize = 1024;

const MAX_NETS: usize = 256;
const MAX_PORTS: usize = 50;
const MAX_SELECTOR_LENGTH: usize = 1024;
const MAX_SERVICE_NAME_LENGTH: usize = 253;
const MAX_HTTP_ITEMS: usize = 20;
const MAX_HTTP_PATH_LENGTH: usize = 1024;

/// The message Calico gives when `global()` appears anywhere but an EntityRule's
/// `namespaceSelector`.
pub const GLOBAL_SELECTOR_MISUSE: &str =
    "global() can only be used in an EntityRule namespaceSelector";
const GLOBAL_SELECTOR_COMBINED: &str = "global() cannot be combined with other selectors";
const PORTS_NEED_PROTOCOL: &str =
    "rules that specify ports must set protocol to TCP or UDP or SCTP";
const NUMERIC_PORTS_NEED_PROTOCOL: &str =
    "rules with numeric port or port range must set protocol to TCP or UDP or SCTP";
const PORT_OUT_OF_RANGE: &str = "port range invalid, port number must be between 1 and 65535";
const CATCH_ALL_NEGATION: &str =
    "catch-all CIDR in negation creates logical contradiction (matches no traffic)";

/// A rule: match criteria and the action taken when they all match.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    /// `Allow`, `Deny`, `Log` or `Pass`; always written, even when empty.
    #[serde(default)]
    pub action: String,
    /// Restricts the rule to IPv4 (4) or IPv6 (6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp: Option<IcmpFields>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_protocol: Option<Protocol>,
    #[serde(rename = "notICMP", default, skip_serializing_if = "Option::is_none")]
    pub not_icmp: Option<IcmpFields>,
    /// Go's `omitzero`: left out when every field is empty.
    #[serde(default, skip_serializing_if = "EntityRule::is_empty")]
    pub source: EntityRule,
    #[serde(default, skip_serializing_if = "EntityRule::is_empty")]
    pub destination: EntityRule,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<RuleMetadata>,
}

/// ICMP type and code to match (`icmp` / `notICMP`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IcmpFields {
    /// 0–254.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<i64>,
    /// 0–255; requires `type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
}

/// The source or destination half of a rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EntityRule {
    /// Strictly masked CIDRs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nets: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub selector: String,
    /// May be exactly `global()`, alone of all selectors.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace_selector: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<ServiceMatch>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_nets: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub not_selector: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_ports: Vec<Port>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_accounts: Option<ServiceAccountMatch>,
}

impl EntityRule {
    /// Whether every field is empty (Go's zero value, which `omitzero` leaves out).
    pub fn is_empty(&self) -> bool {
        *self == EntityRule::default()
    }
}

/// A Kubernetes Service to match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceMatch {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

/// Service accounts to match, by name and/or label selector.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceAccountMatch {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub selector: String,
}

/// HTTP request criteria (application layer policy).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpMatch {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<HttpPath>,
}

/// One HTTP path match: exactly one of `exact` and `prefix`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpPath {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub exact: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
}

/// Free-form information attached to a rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleMetadata {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// Checks a list of rules (`ingress` or `egress`) at `name`.
pub fn validate_rules(v: &mut Validator, name: &'static str, rules: &[Rule]) {
    checks::schema_max_items(v, name, rules, MAX_RULES);
    v.each(name, rules, validate_rule);
}

/// Checks one rule at the current path, as Calico's validator walks it: the Go checks of its
/// fields in struct order, then the rule's own Go checks; the CRD schema and CEL rules at their
/// JSON paths.
pub fn validate_rule(v: &mut Validator, rule: &Rule) {
    v.field("action", |v| {
        checks::schema_enum(v, &rule.action, RULE_ACTIONS)
    });
    if let Some(version) = rule.ip_version {
        if version != 4 && version != 6 {
            v.field("ipVersion", |v| v.schema_enum(&["4", "6"]));
        }
    }
    if let Some(protocol) = &rule.protocol {
        checks::protocol(v, protocol);
    }
    if let Some(icmp) = &rule.icmp {
        v.field("icmp", |v| validate_icmp(v, icmp));
    }
    if let Some(protocol) = &rule.not_protocol {
        checks::protocol(v, protocol);
    }
    if let Some(icmp) = &rule.not_icmp {
        v.field("notICMP", |v| validate_icmp(v, icmp));
    }
    v.field("source", |v| validate_entity_rule(v, &rule.source));
    v.field("destination", |v| {
        validate_entity_rule(v, &rule.destination)
    });
    if let Some(http) = &rule.http {
        v.field("http", |v| validate_http(v, http));
    }
    if let Some(meta) = &rule.metadata {
        metadata::annotations(v, &meta.annotations);
    }
    check_ports_against_protocol(v, rule);
    check_nets(v, rule);
    rule_cel_checks(v, rule);
}

/// ICMP type and code: Go's `gte`/`lte` tags, the schema's range, and the CEL rule.
fn validate_icmp(v: &mut Validator, icmp: &IcmpFields) {
    for (go_name, value, max) in [("Type", icmp.icmp_type, 254), ("Code", icmp.code, 255)] {
        match value {
            Some(value) if value < 0 => v.go_tag(go_name, value, "gte"),
            Some(value) if value > max => v.go_tag(go_name, value, "lte"),
            _ => {}
        }
    }
    // The schema's properties, in the CRD's (alphabetical) order.
    if let Some(code) = icmp.code {
        v.field("code", |v| {
            checks::schema_range(v, code, Some(0), Some(255))
        });
    }
    if let Some(icmp_type) = icmp.icmp_type {
        v.field("type", |v| {
            checks::schema_range(v, icmp_type, Some(0), Some(254))
        });
    }
    if icmp.code.is_some() && icmp.icmp_type.is_none() {
        v.cel("ICMP code specified without an ICMP type");
    }
}

fn is_tcp(protocol: &Protocol) -> bool {
    protocol.to_string() == "TCP" || protocol.number() == Some(6)
}

/// The CEL rules on `Rule`, reported at the rule itself.
fn rule_cel_checks(v: &mut Validator, rule: &Rule) {
    if rule.http.is_some() {
        if rule.protocol.as_ref().is_some_and(|p| !is_tcp(p)) {
            v.cel("rules with HTTP match must have protocol TCP or unset");
        }
        if rule.action != "Allow" {
            v.cel("HTTP match is only valid on Allow rules");
        }
    }
    let destination = &rule.destination;
    if destination.services.is_some()
        && (!destination.ports.is_empty() || !destination.not_ports.is_empty())
    {
        v.cel("ports and notPorts cannot be specified with services");
    }
    let icmp_protocol = rule
        .protocol
        .as_ref()
        .is_some_and(|p| p.is_icmp() || p.is_icmpv6());
    if rule.icmp.is_some() && !icmp_protocol {
        v.cel("ICMP fields require protocol to be ICMP or ICMPv6");
    }
    for protocol in [&rule.protocol, &rule.not_protocol].into_iter().flatten() {
        match rule.ip_version {
            Some(version) if protocol.is_icmp() && version != 4 => {
                v.cel("protocol ICMP requires ipVersion 4")
            }
            Some(version) if protocol.is_icmpv6() && version != 6 => {
                v.cel("protocol ICMPv6 requires ipVersion 6")
            }
            _ => {}
        }
    }
}

/// The four port lists of a rule with the names Calico reports them under.
fn port_lists(rule: &Rule) -> [(&'static str, &[Port]); 4] {
    [
        ("Source.Ports", &rule.source.ports),
        ("Source.NotPorts", &rule.source.not_ports),
        ("Destination.Ports", &rule.destination.ports),
        ("Destination.NotPorts", &rule.destination.not_ports),
    ]
}

/// Without a protocol only named ports are allowed; with a protocol that has no ports, none.
fn check_ports_against_protocol(v: &mut Validator, rule: &Rule) {
    for (name, ports) in port_lists(rule) {
        let reason = match &rule.protocol {
            None if ports.iter().any(|p| !p.is_named()) => NUMERIC_PORTS_NEED_PROTOCOL,
            Some(protocol) if !protocol.supports_ports() && !ports.is_empty() => {
                PORTS_NEED_PROTOCOL
            }
            _ => continue,
        };
        v.go(name, gofmt::slice(ports), reason);
    }
}

/// Whether `net` is a catch-all network (`0.0.0.0/0` written exactly so, or any spelling of
/// `::/0`), as Calico decides.
fn is_catch_all(text: &str, net: &ipnet::IpNet) -> bool {
    match net {
        ipnet::IpNet::V4(_) => text == "0.0.0.0/0",
        ipnet::IpNet::V6(v6) => v6.prefix_len() == 0 && v6.addr().is_unspecified(),
    }
}

/// Calico's per-rule net checks, in its order (source nets, source notNets, destination nets,
/// destination notNets): each net a CIDR with a prefix length, no catch-all in a negation, the
/// family matching `ipVersion`, and one family across the rule.
fn check_nets(v: &mut Validator, rule: &Rule) {
    let lists: [(&'static str, &[String]); 4] = [
        ("Source.Nets", &rule.source.nets),
        ("Source.NotNets", &rule.source.not_nets),
        ("Destination.Nets", &rule.destination.nets),
        ("Destination.NotNets", &rule.destination.not_nets),
    ];
    let (mut seen_v4, mut seen_v6) = (false, false);
    for (name, nets) in lists {
        let negated = name.ends_with("NotNets");
        let (mut v4, mut v6) = (false, false);
        for text in nets {
            let Some(net) = parse_prefixed_cidr(text) else {
                v.go(name, text, "invalid CIDR");
                continue;
            };
            v4 |= net.addr().is_ipv4();
            v6 |= net.addr().is_ipv6();
            if negated && is_catch_all(text, &net) {
                v.go(name, text, CATCH_ALL_NEGATION);
            }
        }
        let wrong_version = match rule.ip_version {
            Some(version) => (v4 && version != 4) || (v6 && version != 6),
            None => false,
        };
        if wrong_version {
            // Calico prints the rule's source nets here, whichever list is at fault.
            v.go(
                name,
                gofmt::slice(&rule.source.nets),
                "rule IP version doesn't match CIDR version",
            );
        }
        if (v4 && seen_v6) || (v6 && seen_v4) || (v4 && v6) {
            v.go(
                name,
                gofmt::slice(nets),
                "rule contains both IPv4 and IPv6 CIDRs",
            );
        }
        seen_v4 |= v4;
        seen_v6 |= v6;
    }
}

/// Parses a CIDR that must carry a prefix length (Go's `net.ParseCIDR`).
pub(crate) fn parse_prefixed_cidr(text: &str) -> Option<ipnet::IpNet> {
    text.contains('/')
        .then(|| checks::parse_cidr_or_ip(text))
        .flatten()
}

/// Whether `text` is the single token `global()`: Calico tokenizes the selector and wants
/// nothing else, so `(global())` is refused although it means the same.
fn is_bare_global(text: &str) -> bool {
    let blank = |c: char| c == ' ' || c == '\t';
    text.trim_matches(blank)
        .strip_prefix("global(")
        .is_some_and(|rest| rest.trim_start_matches(blank) == ")")
}

/// Checks a source or destination at the current path, in the order of Calico's `EntityRule`
/// fields, then its struct check, then the schema and CEL rules.
pub fn validate_entity_rule(v: &mut Validator, entity: &EntityRule) {
    v.each("nets", &entity.nets, |v, net| {
        let name = format!("Nets[{}]", v.current_index());
        checks::masked_net(v, &name, net);
    });
    if !entity.selector.is_empty() {
        checks::selector(v, "Selector", &entity.selector);
    }
    if !entity.namespace_selector.is_empty() {
        checks::selector(v, "NamespaceSelector", &entity.namespace_selector);
    }
    if let Some(services) = &entity.services {
        for (name, value) in [("Name", &services.name), ("Namespace", &services.namespace)] {
            if !value.is_empty() {
                checks::name_tag(v, name, value);
            }
        }
    }
    validate_ports(v, &entity.ports);
    v.each("notNets", &entity.not_nets, |v, net| {
        let name = format!("NotNets[{}]", v.current_index());
        checks::masked_net(v, &name, net);
    });
    if !entity.not_selector.is_empty() {
        checks::selector(v, "NotSelector", &entity.not_selector);
    }
    validate_ports(v, &entity.not_ports);
    if let Some(accounts) = &entity.service_accounts {
        if !accounts.selector.is_empty() {
            checks::selector(v, "Selector", &accounts.selector);
        }
    }
    let ns = &entity.namespace_selector;
    if ns.contains("global(") && ns != "global()" && !is_bare_global(ns) {
        v.go("NamespaceSelector field", ns, GLOBAL_SELECTOR_COMBINED);
    }
    // The schema, in the CRD's (alphabetical) property order.
    v.field("namespaceSelector", |v| {
        checks::schema_max_length(v, ns, MAX_SELECTOR_LENGTH)
    });
    checks::schema_max_items(v, "nets", &entity.nets, MAX_NETS);
    checks::schema_max_items(v, "notNets", &entity.not_nets, MAX_NETS);
    checks::schema_max_items(v, "notPorts", &entity.not_ports, MAX_PORTS);
    v.field("notSelector", |v| {
        checks::schema_max_length(v, &entity.not_selector, MAX_SELECTOR_LENGTH)
    });
    checks::schema_max_items(v, "ports", &entity.ports, MAX_PORTS);
    v.field("selector", |v| {
        checks::schema_max_length(v, &entity.selector, MAX_SELECTOR_LENGTH)
    });
    if let Some(services) = &entity.services {
        v.field("services", |v| {
            for (name, value) in [("name", &services.name), ("namespace", &services.namespace)] {
                v.field(name, |v| {
                    checks::schema_max_length(v, value, MAX_SERVICE_NAME_LENGTH)
                });
            }
        });
    }
    entity_cel_checks(v, entity);
}

/// Calico's `Port` struct check on each port of a list.
fn validate_ports(v: &mut Validator, ports: &[Port]) {
    for port in ports {
        if let Port::Range { min, max } = port {
            if min > max {
                v.go("Port", max, "port range invalid");
            }
            if *min < 1 {
                v.go("Port", min, PORT_OUT_OF_RANGE);
            } else if *max < 1 {
                v.go("Port", max, PORT_OUT_OF_RANGE);
            }
        }
    }
}

/// The CEL rules on `EntityRule`, reported at the entity rule itself.
fn entity_cel_checks(v: &mut Validator, entity: &EntityRule) {
    if entity.selector.contains("global(") {
        v.cel(GLOBAL_SELECTOR_MISUSE);
    }
    let Some(services) = &entity.services else {
        return;
    };
    if !entity.namespace_selector.is_empty() {
        v.cel("cannot specify NamespaceSelector and Services on the same rule");
    }
    if entity.service_accounts.is_some() {
        v.cel("cannot specify ServiceAccounts and Services on the same rule");
    }
    if services.name.is_empty() {
        v.cel("services must specify a service name");
    }
    if !entity.selector.is_empty() || !entity.not_selector.is_empty() {
        v.cel("cannot specify Selector/NotSelector and Services on the same rule");
    }
    if !entity.nets.is_empty() || !entity.not_nets.is_empty() {
        v.cel("cannot specify Nets/NotNets and Services on the same rule");
    }
}

/// Calico's HTTP match check (no duplicate methods; the first bad path: exactly one of `exact`
/// and `prefix`, starting with `/` and free of `?`, `#` and spaces), then the schema's limits.
fn validate_http(v: &mut Validator, http: &HttpMatch) {
    let mut seen = std::collections::BTreeSet::new();
    if !http.methods.iter().all(|m| seen.insert(m.as_str())) {
        let methods = gofmt::slice(&http.methods);
        v.go(
            "Methods",
            &methods,
            format!("Invalid methods (duplicates): {methods}"),
        );
    }
    if let Some(reason) = http_paths_problem(&http.paths) {
        let paths: Vec<String> = http
            .paths
            .iter()
            .map(|p| format!("{{{} {}}}", p.exact, p.prefix))
            .collect();
        v.go("Paths", gofmt::slice(&paths), reason);
    }
    checks::schema_max_items(v, "methods", &http.methods, MAX_HTTP_ITEMS);
    v.each("paths", &http.paths, |v, path| {
        for (name, value) in [("exact", &path.exact), ("prefix", &path.prefix)] {
            v.field(name, |v| {
                checks::schema_max_length(v, value, MAX_HTTP_PATH_LENGTH)
            });
        }
    });
    checks::schema_max_items(v, "paths", &http.paths, MAX_HTTP_ITEMS);
}

fn http_paths_problem(paths: &[HttpPath]) -> Option<String> {
    for path in paths {
        if !path.exact.is_empty() && !path.prefix.is_empty() {
            return Some("Invalid path match. Both 'exact' and 'prefix' are set".to_string());
        }
        let value = if path.exact.is_empty() {
            &path.prefix
        } else {
            &path.exact
        };
        if value.is_empty() {
            return Some("Invalid path match. Either 'exact' or 'prefix' must be set".to_string());
        }
        if !value.starts_with('/') || value.contains(['?', ' ', '#']) {
            return Some(format!(
                "Invalid path {value}. (must start with `/` and not contain `?` or `#`"
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests;
