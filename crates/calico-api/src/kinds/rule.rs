//! Policy rules (`api/pkg/apis/projectcalico/v3/policy_common.go`): the match criteria and action
//! shared by every policy kind and by Profiles, with their validation (Calico's Go validator for
//! rules and entity rules, and the CEL rules the policy CRDs attach to them).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::numorstring::{Port, Protocol, PROTOCOL_NAMES};
use crate::validation::{checks, metadata, Validator};

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
const SUBDOMAIN_NAME: &str = "name must consist of lower case alphanumeric characters, '-' or \
                              '.', and must start and end with an alphanumeric character";

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
    checks::max_items(v, name, rules, MAX_RULES);
    v.each(name, rules, validate_rule);
}

/// Checks one rule at the current path: Calico's Go rule checks plus the CRD's CEL rules.
pub fn validate_rule(v: &mut Validator, rule: &Rule) {
    v.field("action", |v| checks::one_of(v, &rule.action, RULE_ACTIONS));
    if let Some(version) = rule.ip_version {
        if version != 4 && version != 6 {
            v.error_at("ipVersion", version, "must be one of 4, 6");
        }
    }
    if let Some(protocol) = &rule.protocol {
        v.field("protocol", |v| validate_protocol(v, protocol));
    }
    if let Some(protocol) = &rule.not_protocol {
        v.field("notProtocol", |v| validate_protocol(v, protocol));
    }
    if let Some(icmp) = &rule.icmp {
        v.field("icmp", |v| validate_icmp(v, icmp));
    }
    if let Some(icmp) = &rule.not_icmp {
        v.field("notICMP", |v| validate_icmp(v, icmp));
    }
    rule_cel_checks(v, rule);
    v.field("source", |v| validate_entity_rule(v, &rule.source));
    v.field("destination", |v| {
        validate_entity_rule(v, &rule.destination)
    });
    check_ports_against_protocol(v, rule);
    check_nets(v, rule);
    if let Some(http) = &rule.http {
        v.field("http", |v| validate_http(v, http));
    }
    if let Some(meta) = &rule.metadata {
        v.field("metadata", |v| metadata::annotations(v, &meta.annotations));
    }
}

fn validate_protocol(v: &mut Validator, protocol: &Protocol) {
    match protocol.number() {
        Some(0) => v.error(protocol, "protocol number invalid"),
        Some(_) => {}
        None => {
            if !PROTOCOL_NAMES.contains(&protocol.to_string().as_str()) {
                v.error(protocol, "protocol name invalid");
            }
        }
    }
}

fn validate_icmp(v: &mut Validator, icmp: &IcmpFields) {
    if let Some(icmp_type) = icmp.icmp_type {
        v.field("type", |v| checks::in_range(v, icmp_type, 0, 254));
    }
    if let Some(code) = icmp.code {
        v.field("code", |v| checks::in_range(v, code, 0, 255));
        if icmp.icmp_type.is_none() {
            v.error_no_value("ICMP code specified without an ICMP type");
        }
    }
}

fn is_tcp(protocol: &Protocol) -> bool {
    protocol.to_string() == "TCP" || protocol.number() == Some(6)
}

/// The CEL rules on `Rule`, reported at the rule itself.
fn rule_cel_checks(v: &mut Validator, rule: &Rule) {
    if rule.http.is_some() {
        if rule.protocol.as_ref().is_some_and(|p| !is_tcp(p)) {
            v.error_no_value("rules with HTTP match must have protocol TCP or unset");
        }
        if rule.action != "Allow" {
            v.error_no_value("HTTP match is only valid on Allow rules");
        }
    }
    let destination = &rule.destination;
    if destination.services.is_some()
        && (!destination.ports.is_empty() || !destination.not_ports.is_empty())
    {
        v.error_no_value("ports and notPorts cannot be specified with services");
    }
    let icmp_protocol = rule
        .protocol
        .as_ref()
        .is_some_and(|p| p.is_icmp() || p.is_icmpv6());
    if rule.icmp.is_some() && !icmp_protocol {
        v.error_no_value("ICMP fields require protocol to be ICMP or ICMPv6");
    }
    for protocol in [&rule.protocol, &rule.not_protocol].into_iter().flatten() {
        match rule.ip_version {
            Some(version) if protocol.is_icmp() && version != 4 => {
                v.error_no_value("protocol ICMP requires ipVersion 4")
            }
            Some(version) if protocol.is_icmpv6() && version != 6 => {
                v.error_no_value("protocol ICMPv6 requires ipVersion 6")
            }
            _ => {}
        }
    }
}

/// The four port lists of a rule with their JSON paths.
fn port_lists(rule: &Rule) -> [(&'static str, &'static str, &[Port]); 4] {
    [
        ("source", "ports", &rule.source.ports),
        ("source", "notPorts", &rule.source.not_ports),
        ("destination", "ports", &rule.destination.ports),
        ("destination", "notPorts", &rule.destination.not_ports),
    ]
}

/// Without a protocol only named ports are allowed; with a protocol that has no ports, none.
fn check_ports_against_protocol(v: &mut Validator, rule: &Rule) {
    for (side, list, ports) in port_lists(rule) {
        let reason = match &rule.protocol {
            None if ports.iter().any(|p| !p.is_named()) => NUMERIC_PORTS_NEED_PROTOCOL,
            Some(protocol) if !protocol.supports_ports() && !ports.is_empty() => {
                PORTS_NEED_PROTOCOL
            }
            _ => continue,
        };
        v.field(side, |v| v.field(list, |v| v.error_no_value(reason)));
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

/// Per-net syntax, then the family consistency of the rule's four net lists, in Calico's order
/// (source nets, source notNets, destination nets, destination notNets).
fn check_nets(v: &mut Validator, rule: &Rule) {
    let lists: [(&'static str, &'static str, &[String]); 4] = [
        ("source", "nets", &rule.source.nets),
        ("source", "notNets", &rule.source.not_nets),
        ("destination", "nets", &rule.destination.nets),
        ("destination", "notNets", &rule.destination.not_nets),
    ];
    let (mut seen_v4, mut seen_v6) = (false, false);
    for (side, list, nets) in lists {
        v.field(side, |v| {
            v.field(list, |v| {
                let negated = list == "notNets";
                let (v4, v6) = scan_nets(v, nets, negated);
                let wrong_version = match rule.ip_version {
                    Some(version) => (v4 && version != 4) || (v6 && version != 6),
                    None => false,
                };
                if wrong_version {
                    v.error_no_value("rule IP version doesn't match CIDR version");
                }
                if (v4 && seen_v6) || (v6 && seen_v4) || (v4 && v6) {
                    v.error_no_value("rule contains both IPv4 and IPv6 CIDRs");
                }
                seen_v4 |= v4;
                seen_v6 |= v6;
            })
        });
    }
}

/// Parses a CIDR that must carry a prefix length (Go's `net.ParseCIDR`).
pub(crate) fn parse_prefixed_cidr(text: &str) -> Option<ipnet::IpNet> {
    text.contains('/')
        .then(|| checks::parse_cidr_or_ip(text))
        .flatten()
}

/// Checks each net of one list and returns which families it holds. Calico wants a CIDR with a
/// prefix length here (a bare address is "invalid CIDR") and no host bits.
fn scan_nets(v: &mut Validator, nets: &[String], negated: bool) -> (bool, bool) {
    let (mut v4, mut v6) = (false, false);
    for (i, text) in nets.iter().enumerate() {
        v.index(i, |v| {
            let Some(net) = parse_prefixed_cidr(text) else {
                v.error(text, "invalid CIDR");
                return;
            };
            v4 |= net.addr().is_ipv4();
            v6 |= net.addr().is_ipv6();
            if !checks::is_strictly_masked(&net) {
                v.error(text, "network is not strictly masked");
            }
            if negated && is_catch_all(text, &net) {
                v.error(text, CATCH_ALL_NEGATION);
            }
        });
    }
    (v4, v6)
}

/// A selector field: parses and fits in 1024 characters (empty means "not set").
pub(crate) fn validate_selector_field(v: &mut Validator, name: &'static str, text: &str) {
    if text.is_empty() {
        return;
    }
    v.field(name, |v| {
        checks::max_length(v, text, MAX_SELECTOR_LENGTH);
        checks::selector(v, text);
    });
}

/// Selectors where `global()` has no meaning: Calico's CRD rules only police `selector`, but the
/// selector language reserves `global()` for an EntityRule's `namespaceSelector`.
fn reject_global(v: &mut Validator, name: &'static str, text: &str) {
    if text.contains("global(") {
        v.error_at(name, text, GLOBAL_SELECTOR_MISUSE);
    }
}

/// Whether `text` is the single token `global()`: Calico tokenizes the selector and wants
/// nothing else, so `(global())` is refused although it means the same.
fn is_bare_global(text: &str) -> bool {
    let blank = |c: char| c == ' ' || c == '\t';
    text.trim_matches(blank)
        .strip_prefix("global(")
        .is_some_and(|rest| rest.trim_start_matches(blank) == ")")
}

/// Checks the `namespaceSelector` of an entity rule: `global()` must stand alone.
fn validate_entity_namespace_selector(v: &mut Validator, text: &str) {
    if text.contains("global(") && !is_bare_global(text) {
        v.error_at("namespaceSelector", text, GLOBAL_SELECTOR_COMBINED);
    }
}

/// Checks a source or destination at the current path.
pub fn validate_entity_rule(v: &mut Validator, entity: &EntityRule) {
    checks::max_items(v, "nets", &entity.nets, MAX_NETS);
    checks::max_items(v, "notNets", &entity.not_nets, MAX_NETS);
    validate_selector_field(v, "selector", &entity.selector);
    validate_selector_field(v, "notSelector", &entity.not_selector);
    validate_selector_field(v, "namespaceSelector", &entity.namespace_selector);
    reject_global(v, "notSelector", &entity.not_selector);
    validate_entity_namespace_selector(v, &entity.namespace_selector);
    validate_ports(v, "ports", &entity.ports);
    validate_ports(v, "notPorts", &entity.not_ports);
    if let Some(services) = &entity.services {
        v.field("services", |v| validate_service_match(v, services));
    }
    if let Some(accounts) = &entity.service_accounts {
        v.field("serviceAccounts", |v| {
            validate_selector_field(v, "selector", &accounts.selector);
            reject_global(v, "selector", &accounts.selector);
        });
    }
    entity_cel_checks(v, entity);
}

fn validate_ports(v: &mut Validator, name: &'static str, ports: &[Port]) {
    checks::max_items(v, name, ports, MAX_PORTS);
    v.each(name, ports, |v, port| {
        if matches!(port, Port::Range { min: 0, .. }) {
            v.error(port, PORT_OUT_OF_RANGE);
        }
    });
}

fn validate_service_match(v: &mut Validator, services: &ServiceMatch) {
    for (name, value) in [("name", &services.name), ("namespace", &services.namespace)] {
        if value.is_empty() {
            continue;
        }
        v.field(name, |v| {
            checks::max_length(v, value, MAX_SERVICE_NAME_LENGTH);
            if !checks::is_dns1123_subdomain(value) {
                v.error(value, SUBDOMAIN_NAME);
            }
        });
    }
}

/// The CEL rules on `EntityRule`, reported at the entity rule itself.
fn entity_cel_checks(v: &mut Validator, entity: &EntityRule) {
    if entity.selector.contains("global(") {
        v.error_no_value(GLOBAL_SELECTOR_MISUSE);
    }
    let Some(services) = &entity.services else {
        return;
    };
    if !entity.namespace_selector.is_empty() {
        v.error_no_value("cannot specify NamespaceSelector and Services on the same rule");
    }
    if entity.service_accounts.is_some() {
        v.error_no_value("cannot specify ServiceAccounts and Services on the same rule");
    }
    if services.name.is_empty() {
        v.error_no_value("services must specify a service name");
    }
    if !entity.selector.is_empty() || !entity.not_selector.is_empty() {
        v.error_no_value("cannot specify Selector/NotSelector and Services on the same rule");
    }
    if !entity.nets.is_empty() || !entity.not_nets.is_empty() {
        v.error_no_value("cannot specify Nets/NotNets and Services on the same rule");
    }
}

/// Calico's HTTP match checks: no duplicate methods; each path has exactly one of `exact` and
/// `prefix`, starting with `/` and free of `?`, `#` and spaces.
fn validate_http(v: &mut Validator, http: &HttpMatch) {
    checks::max_items(v, "methods", &http.methods, MAX_HTTP_ITEMS);
    checks::max_items(v, "paths", &http.paths, MAX_HTTP_ITEMS);
    let mut seen = std::collections::BTreeSet::new();
    if !http.methods.iter().all(|m| seen.insert(m.as_str())) {
        let methods = format!("[{}]", http.methods.join(" "));
        v.error_at(
            "methods",
            &methods,
            format!("Invalid methods (duplicates): {methods}"),
        );
    }
    v.each("paths", &http.paths, |v, path| {
        for (name, value) in [("exact", &path.exact), ("prefix", &path.prefix)] {
            if !value.is_empty() {
                v.field(name, |v| checks::max_length(v, value, MAX_HTTP_PATH_LENGTH));
            }
        }
        let value = if path.exact.is_empty() {
            &path.prefix
        } else {
            &path.exact
        };
        if !path.exact.is_empty() && !path.prefix.is_empty() {
            v.error_no_value("Invalid path match. Both 'exact' and 'prefix' are set");
        } else if value.is_empty() {
            v.error_no_value("Invalid path match. Either 'exact' or 'prefix' must be set");
        } else if !value.starts_with('/') || value.contains(['?', ' ', '#']) {
            v.error(
                value,
                format!("Invalid path {value}. (must start with `/` and not contain `?` or `#`"),
            );
        }
    });
}

#[cfg(test)]
mod tests;
