//! BGPConfiguration, BGPPeer and BGPFilter.
//!
//! As for IPPool, validation applies Calico's Go validator (errors at the offending field, in
//! Calico's wording) and the CRD's CEL rules (errors at `spec` or at the rule), reporting both
//! where both apply.

use std::net::IpAddr;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::numorstring::AsNumber;
use crate::resource::{Kind, NoStatus, Resource, Scope};
use crate::serde_helpers::{is_false, is_zero_u16};
use crate::validation::checks::{self, Family};
use crate::validation::Validator;

/// The global BGPConfiguration; per-node ones are named `node.<node>`.
pub const DEFAULT_BGP_CONFIGURATION: &str = "default";

/// A Kubernetes `SecretKeySelector` (`LocalObjectReference` inline, then `key`, `optional`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeySelector {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default)]
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// Where a BGP password comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BGPPassword {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<SecretKeySelector>,
}

/// One service CIDR block (`serviceLoadBalancerIPs`, `serviceExternalIPs`, `serviceClusterIPs`
/// share this shape).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceIPBlock {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cidr: String,
}

/// A named BGP community value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Community {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// `aa:nn` (16-bit parts) or `aa:nn:mm` (32-bit parts).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
}

/// Communities to attach when advertising a CIDR.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrefixAdvertisement {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cidr: String,
    /// Community values or names from `spec.communities`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<String>,
}

/// `spec` of a BGPConfiguration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BGPConfigurationSpec {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub log_severity_screen: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_to_node_mesh_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_number: Option<AsNumber>,
    #[serde(
        rename = "serviceLoadBalancerIPs",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub service_load_balancer_ips: Vec<ServiceIPBlock>,
    #[serde(
        rename = "serviceExternalIPs",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub service_external_ips: Vec<ServiceIPBlock>,
    #[serde(
        rename = "serviceClusterIPs",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub service_cluster_ips: Vec<ServiceIPBlock>,
    /// `Enabled` or `Disabled`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_load_balancer_aggregation: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<Community>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefix_advertisements: Vec<PrefixAdvertisement>,
    #[serde(default, skip_serializing_if = "is_zero_u16")]
    pub listen_port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_mesh_password: Option<BGPPassword>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_mesh_max_restart_time: Option<Duration>,
    /// `None` or `NodeIP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored_interfaces: Vec<String>,
    #[serde(
        rename = "localWorkloadPeeringIPV4",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub local_workload_peering_ipv4: String,
    #[serde(
        rename = "localWorkloadPeeringIPV6",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub local_workload_peering_ipv6: String,
    /// `Enabled`, `Disabled`, `EnabledIPIPOnly` or `EnabledNoEncapOnly`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_cluster_routes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_normal_route_priority: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_normal_route_priority: Option<i64>,
}

/// `spec` of a BGPPeer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BGPPeerSpec {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node_selector: String,
    /// `<IP>`, `<IPv4>:<port>` or `[<IPv6>]:<port>`.
    #[serde(rename = "peerIP", default, skip_serializing_if = "String::is_empty")]
    pub peer_ip: String,
    /// 0 means unset (Go `omitempty` on a number).
    #[serde(default, skip_serializing_if = "is_zero_asn")]
    pub as_number: AsNumber,
    #[serde(
        rename = "localASNumber",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub local_as_number: Option<AsNumber>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub peer_selector: String,
    /// Deprecated in favour of `nextHopMode`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub keep_original_next_hop: bool,
    /// `Auto`, `Self` or `Keep`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<BGPPassword>,
    /// `UseNodeIP` or `None`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source_address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_restart_time: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive_time: Option<Duration>,
    #[serde(
        rename = "numAllowedLocalASNumbers",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub num_allowed_local_as_numbers: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_security: Option<u8>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reachable_by: String,
    /// Names of BGPFilters, applied in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub local_workload_selector: String,
    /// `Auto` or `Manual`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse_peering: Option<String>,
}

fn is_zero_asn(value: &AsNumber) -> bool {
    value.0 == 0
}

/// `spec` of a BGPFilter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BGPFilterSpec {
    #[serde(rename = "exportV4", default, skip_serializing_if = "Vec::is_empty")]
    pub export_v4: Vec<BGPFilterRule>,
    #[serde(rename = "importV4", default, skip_serializing_if = "Vec::is_empty")]
    pub import_v4: Vec<BGPFilterRule>,
    #[serde(rename = "exportV6", default, skip_serializing_if = "Vec::is_empty")]
    pub export_v6: Vec<BGPFilterRule>,
    #[serde(rename = "importV6", default, skip_serializing_if = "Vec::is_empty")]
    pub import_v6: Vec<BGPFilterRule>,
}

/// One BGP filter rule. Go's `BGPFilterRuleV4` and `BGPFilterRuleV6` have the same fields; the
/// family only changes validation, so one type serves both lists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BGPFilterRule {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cidr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_length: Option<BGPFilterPrefixLength>,
    /// `RemotePeers`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interface: String,
    /// `Equal`, `NotEqual`, `In` or `NotIn`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub match_operator: String,
    /// `eBGP` or `iBGP`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub peer_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub communities: Option<BGPFilterCommunityMatch>,
    #[serde(
        rename = "asPathPrefix",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub as_path_prefix: Vec<AsNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// `Accept` or `Reject`.
    #[serde(default)]
    pub action: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<BGPFilterOperation>,
}

/// IPv4 rules (same shape as IPv6 ones).
pub type BGPFilterRuleV4 = BGPFilterRule;
/// IPv6 rules (same shape as IPv4 ones).
pub type BGPFilterRuleV6 = BGPFilterRule;

/// Allowed prefix lengths of a matched route.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BGPFilterPrefixLength {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i32>,
}

/// Community match of a filter rule (exactly one value for now).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BGPFilterCommunityMatch {
    /// Written as `null` when unset (no `omitempty` in Go).
    #[serde(default)]
    pub values: Option<Vec<String>>,
}

/// One route modification; exactly one member must be set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BGPFilterOperation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_community: Option<BGPFilterAddCommunity>,
    #[serde(
        rename = "prependASPath",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub prepend_as_path: Option<BGPFilterPrependASPath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_priority: Option<BGPFilterSetPriority>,
}

/// Adds a community to the route.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BGPFilterAddCommunity {
    #[serde(default)]
    pub value: String,
}

/// Prepends AS numbers to the route's AS path.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BGPFilterPrependASPath {
    /// Written as `null` when unset (no `omitempty` in Go).
    #[serde(default)]
    pub prefix: Option<Vec<AsNumber>>,
}

/// Sets the route's priority.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BGPFilterSetPriority {
    #[serde(default)]
    pub value: i64,
}

/// Global (`default`) or per-node (`node.<name>`) BGP settings.
pub type BGPConfiguration = Resource<BGPConfigurationSpec>;
/// A BGP peering.
pub type BGPPeer = Resource<BGPPeerSpec>;
/// Route import/export rules referenced by BGPPeers.
pub type BGPFilter = Resource<BGPFilterSpec>;

/// The parts of a BGP community (`aa:nn` or `aa:nn:mm`, decimal digits), and whether it is a
/// large (three-part) community.
fn community_parts(value: &str) -> Option<(Vec<&str>, bool)> {
    let parts: Vec<&str> = value.split(':').collect();
    let digits = parts
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    match parts.len() {
        2 | 3 if digits => {
            let large = parts.len() == 3;
            Some((parts, large))
        }
        _ => None,
    }
}

/// Whether every part fits the community's width (16 bits, or 32 for large communities).
fn community_parts_fit(parts: &[&str], large: bool) -> bool {
    parts.iter().all(|p| {
        if large {
            p.parse::<u32>().is_ok()
        } else {
            p.parse::<u16>().is_ok()
        }
    })
}

/// The strict community syntax of the BGPFilter CRD: no leading zeros, parts within range.
pub fn is_bgp_filter_community(value: &str) -> bool {
    match community_parts(value) {
        Some((parts, large)) => {
            parts.iter().all(|p| p.len() == 1 || !p.starts_with('0'))
                && community_parts_fit(&parts, large)
        }
        None => false,
    }
}

/// Calico's `isValidCommunity`: `false` when the syntax is wrong; a part too wide for the
/// community kind is reported (once per part) and still counts as valid syntax.
fn check_community_value(v: &mut Validator, go_name: &str, value: &str) -> bool {
    let Some((parts, large)) = community_parts(value) else {
        return false;
    };
    let bits = if large { 32 } else { 16 };
    for part in &parts {
        if !community_parts_fit(&[part], large) {
            v.go(
                go_name,
                value,
                format!("invalid community value, expected {bits} bit value"),
            );
        }
    }
    true
}

static IPV4_PORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\d+).(\d+).(\d+).(\d+):(\d+)$").unwrap_or_else(|_| unreachable!())
});
static IPV6_PORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[[0-9a-fA-F:.]+\]:(\d+)$").unwrap_or_else(|_| unreachable!()));

/// Calico's `processIPPort`: `<IP>`, `<IPv4>:<port>` or `[<IPv6>]:<port>` with a port of
/// 1–65535. Returns the address and the port (if one was given).
pub fn parse_ip_port(text: &str) -> Option<(IpAddr, Option<u16>)> {
    if IPV4_PORT.is_match(text) || IPV6_PORT.is_match(text) {
        let (host, port) = text.rsplit_once(':')?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = port.parse::<u16>().ok().filter(|p| *p >= 1)?;
        return host.parse::<IpAddr>().ok().map(|ip| (ip, Some(port)));
    }
    text.parse::<IpAddr>().ok().map(|ip| (ip, None))
}

const LOG_LEVELS: &[&str] = &["Trace", "Debug", "Info", "Warning", "Error", "Fatal"];
const ENABLED_DISABLED: &[&str] = &["Enabled", "Disabled"];
const BIND_MODES: &[&str] = &["None", "NodeIP"];
const PROGRAM_CLUSTER_ROUTES: &[&str] = &[
    "Enabled",
    "Disabled",
    "EnabledIPIPOnly",
    "EnabledNoEncapOnly",
];
static IGNORED_INTERFACE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_.*-]{1,15}$").unwrap_or_else(|_| unreachable!()));

impl Kind for BGPConfigurationSpec {
    const KIND: &'static str = "BGPConfiguration";
    const PLURAL: &'static str = "bgpconfigurations";
    const SCOPE: Scope = Scope::Cluster;
    type Status = NoStatus;

    /// The defaults of Calico's CRD, which its client applies on etcd before it validates.
    fn apply_defaults(resource: &mut Resource<Self>) {
        let spec = &mut resource.spec;
        if spec.log_severity_screen.is_empty() {
            spec.log_severity_screen = "Info".into();
        }
        if spec.service_load_balancer_aggregation.is_empty() {
            spec.service_load_balancer_aggregation = "Enabled".into();
        }
    }

    fn validate(resource: &Resource<Self>, v: &mut Validator) {
        let spec = &resource.spec;
        go_bgp_config_checks(spec, v);
        v.field("spec", |v| {
            schema_bgp_config_checks(spec, v);
            validate_mesh_settings(spec, v);
        });
    }
}

/// Calico's Go checks: the field tags in struct order, then its BGPConfiguration struct check
/// (community values, prefix advertisements).
fn go_bgp_config_checks(spec: &BGPConfigurationSpec, v: &mut Validator) {
    for blocks in [
        &spec.service_load_balancer_ips,
        &spec.service_external_ips,
        &spec.service_cluster_ips,
    ] {
        for block in blocks {
            if !block.cidr.is_empty() {
                checks::masked_net(v, "CIDR", &block.cidr);
            }
        }
    }
    for community in &spec.communities {
        if community.name.is_empty() {
            v.go_tag("Name", "", "required");
        } else if !checks::matches_name_pattern(&community.name) {
            v.go_tag("Name", &community.name, "name");
        }
        if community.value.is_empty() {
            v.go_tag("Value", "", "required");
        }
    }
    for pa in &spec.prefix_advertisements {
        if pa.cidr.is_empty() {
            v.go_tag("CIDR", "", "required");
        } else {
            checks::masked_net(v, "CIDR", &pa.cidr);
        }
        if pa.communities.is_empty() {
            v.go_tag("Communities", "[]", "required");
        }
    }
    for (i, iface) in spec.ignored_interfaces.iter().enumerate() {
        if iface == "*" || !IGNORED_INTERFACE.is_match(iface) {
            v.go_tag(
                &format!("IgnoredInterfaces[{i}]"),
                iface,
                "ignoredInterface",
            );
        }
    }
    for (go_name, address, family) in [
        (
            "LocalWorkloadPeeringIPV4",
            &spec.local_workload_peering_ipv4,
            Family::V4,
        ),
        (
            "LocalWorkloadPeeringIPV6",
            &spec.local_workload_peering_ipv6,
            Family::V6,
        ),
    ] {
        if !address.is_empty() {
            checks::ip_of_family(v, go_name, address, family);
        }
    }
    for (go_name, priority) in [
        ("IPv4NormalRoutePriority", spec.ipv4_normal_route_priority),
        ("IPv6NormalRoutePriority", spec.ipv6_normal_route_priority),
    ] {
        match priority {
            Some(p) if p < 1 => v.go_tag(go_name, p, "gte"),
            Some(p) if p > 2_147_483_646 => v.go_tag(go_name, p, "lte"),
            _ => {}
        }
    }
    // The struct check.
    for community in &spec.communities {
        if !check_community_value(v, "Spec.Communities[].Value", &community.value) {
            v.go(
                "Spec.Communities[].Value",
                &community.value,
                "invalid community value or format used.",
            );
        }
    }
    for pa in &spec.prefix_advertisements {
        if checks::parse_cidr_or_ip(&pa.cidr).is_none() {
            v.go(
                "Spec.PrefixAdvertisement[].CIDR",
                &pa.cidr,
                "invalid CIDR value.",
            );
        }
        for community in &pa.communities {
            let name = "Spec.PrefixAdvertisement[].Communities[]";
            if !check_community_value(v, name, community)
                && !spec.communities.iter().any(|d| &d.name == community)
            {
                v.go(name, community, "community used is invalid or not defined.");
            }
        }
    }
}

/// The CRD schema's checks, properties in the CRD's (alphabetical) order.
fn schema_bgp_config_checks(spec: &BGPConfigurationSpec, v: &mut Validator) {
    if let Some(mode) = spec.bind_mode.as_deref() {
        v.field("bindMode", |v| checks::schema_enum(v, mode, BIND_MODES));
    }
    checks::schema_max_items(v, "communities", &spec.communities, 500);
    v.each("communities", &spec.communities, |v, community| {
        v.field("name", |v| {
            checks::schema_max_length(v, &community.name, 253)
        });
        v.field("value", |v| {
            checks::schema_max_length(v, &community.value, 40);
            checks::schema_pattern(
                v,
                &community.value,
                &COMMUNITY_PATTERN,
                r"^(\d+):(\d+)$|^(\d+):(\d+):(\d+)$",
            );
        });
    });
    for (name, priority) in [
        ("ipv4NormalRoutePriority", spec.ipv4_normal_route_priority),
        ("ipv6NormalRoutePriority", spec.ipv6_normal_route_priority),
    ] {
        if let Some(priority) = priority {
            v.field(name, |v| {
                checks::schema_range(v, priority, Some(1), Some(2_147_483_646))
            });
        }
    }
    if spec.listen_port != 0 {
        v.field("listenPort", |v| {
            checks::schema_range(v, i64::from(spec.listen_port), Some(1), Some(65535))
        });
    }
    if !spec.log_severity_screen.is_empty() {
        v.field("logSeverityScreen", |v| {
            checks::one_of_ignore_case(v, &spec.log_severity_screen, LOG_LEVELS)
        });
    }
    checks::schema_max_items(v, "prefixAdvertisements", &spec.prefix_advertisements, 500);
    v.each(
        "prefixAdvertisements",
        &spec.prefix_advertisements,
        |v, pa| {
            v.field("cidr", |v| {
                checks::schema_cidr(v, &pa.cidr);
            });
            checks::schema_max_items(v, "communities", &pa.communities, 50);
        },
    );
    if let Some(routes) = spec.program_cluster_routes.as_deref() {
        v.field("programClusterRoutes", |v| {
            checks::schema_enum(v, routes, PROGRAM_CLUSTER_ROUTES)
        });
    }
    for (name, blocks) in [
        ("serviceClusterIPs", &spec.service_cluster_ips),
        ("serviceExternalIPs", &spec.service_external_ips),
    ] {
        v.each(name, blocks, |v, block| {
            v.field("cidr", |v| {
                checks::schema_cidr(v, &block.cidr);
            });
        });
    }
    if !spec.service_load_balancer_aggregation.is_empty() {
        v.field("serviceLoadBalancerAggregation", |v| {
            checks::schema_enum(v, &spec.service_load_balancer_aggregation, ENABLED_DISABLED)
        });
    }
    v.each(
        "serviceLoadBalancerIPs",
        &spec.service_load_balancer_ips,
        |v, block| {
            v.field("cidr", |v| {
                checks::schema_cidr(v, &block.cidr);
            });
        },
    );
}

static COMMUNITY_PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\d+):(\d+)$|^(\d+):(\d+):(\d+)$").unwrap_or_else(|_| unreachable!())
});

/// The CEL rules on the spec.
fn validate_mesh_settings(spec: &BGPConfigurationSpec, v: &mut Validator) {
    let mesh_off = spec.node_to_node_mesh_enabled == Some(false);
    if mesh_off && spec.node_mesh_password.is_some() {
        v.cel("nodeMeshPassword cannot be set when nodeToNodeMeshEnabled is false");
    }
    if mesh_off && spec.node_mesh_max_restart_time.is_some() {
        v.cel("nodeMeshMaxRestartTime cannot be set when nodeToNodeMeshEnabled is false");
    }
    if !spec.communities.is_empty() && spec.prefix_advertisements.is_empty() {
        v.cel("communities are defined but not used in prefixAdvertisements");
    }
}

/// Fields that only the `default` BGPConfiguration may set: the Calico client refuses them on
/// create and update before validating (`ValidateDefaultOnlyFields`).
pub fn bgp_configuration_default_only_fields(
    name: &str,
    spec: &BGPConfigurationSpec,
) -> Result<(), crate::validation::ValidationError> {
    let mut v = Validator::new();
    if name != DEFAULT_BGP_CONFIGURATION {
        let set = [
            (
                "NodeToNodeMeshEnabled",
                "nodeToNodeMeshEnabled",
                spec.node_to_node_mesh_enabled.is_some(),
            ),
            ("ASNumber", "ASNumber", spec.as_number.is_some()),
            (
                "ServiceLoadBalancerIPs",
                "ServiceLoadBalancerIPs",
                !spec.service_load_balancer_ips.is_empty(),
            ),
            (
                "ServiceExternalIPs",
                "ServiceExternalIPs",
                !spec.service_external_ips.is_empty(),
            ),
            (
                "ServiceClusterIPs",
                "ServiceClusterIPs",
                !spec.service_cluster_ips.is_empty(),
            ),
            (
                "NodeMeshPassword",
                "nodeMeshPassword",
                spec.node_mesh_password.is_some(),
            ),
            (
                "NodeMeshMaxRestartTime",
                "nodeMeshMaxRestartTime",
                spec.node_mesh_max_restart_time.is_some(),
            ),
        ];
        for (go_name, label, is_set) in set {
            if is_set {
                v.go_no_value(
                    format!("BGPConfiguration.Spec.{go_name}"),
                    format!("Cannot set {label} on a non default BGP Configuration."),
                );
            }
        }
    }
    v.finish()
}

const NEXT_HOP_MODES: &[&str] = &["Auto", "Self", "Keep"];
const SOURCE_ADDRESSES: &[&str] = &["UseNodeIP", "None"];
const REVERSE_PEERING: &[&str] = &["Auto", "Manual"];

impl Kind for BGPPeerSpec {
    const KIND: &'static str = "BGPPeer";
    const PLURAL: &'static str = "bgppeers";
    const SCOPE: Scope = Scope::Cluster;
    type Status = NoStatus;

    fn validate(resource: &Resource<Self>, v: &mut Validator) {
        let spec = &resource.spec;
        go_peer_checks(spec, v);
        v.field("spec", |v| {
            schema_peer_checks(spec, v);
            cel_peer_checks(spec, v);
        });
    }
}

/// Calico's Go checks: the field tags in struct order, then its BGPPeer struct check.
fn go_peer_checks(spec: &BGPPeerSpec, v: &mut Validator) {
    if !spec.node.is_empty() {
        checks::name_tag(v, "Node", &spec.node);
    }
    if !spec.node_selector.is_empty() {
        checks::selector(v, "NodeSelector", &spec.node_selector);
    }
    if !spec.peer_ip.is_empty() && parse_ip_port(&spec.peer_ip).is_none() {
        v.go_tag("PeerIP", &spec.peer_ip, "IP:port");
    }
    if !spec.peer_selector.is_empty() {
        checks::selector(v, "PeerSelector", &spec.peer_selector);
    }
    if !spec.reachable_by.is_empty() && spec.reachable_by.parse::<IpAddr>().is_err() {
        v.go_tag("ReachableBy", &spec.reachable_by, "reachableBy");
    }
    for (i, filter) in spec.filters.iter().enumerate() {
        checks::name_tag(v, &format!("Filters[{i}]"), filter);
    }
    if !spec.local_workload_selector.is_empty() {
        checks::selector(v, "LocalWorkloadSelector", &spec.local_workload_selector);
    }
    if !spec.reachable_by.is_empty() && !spec.peer_ip.is_empty() {
        if let (Ok(gateway), Some((peer, _))) = (
            spec.reachable_by.parse::<IpAddr>(),
            parse_ip_port(&spec.peer_ip),
        ) {
            if gateway.is_ipv4() != peer.is_ipv4() {
                v.go(
                    "ReachableBy",
                    &spec.reachable_by,
                    "ReachableBy and PeerIP address family mismatched",
                );
            }
        }
    }
}

/// The CRD schema's checks, properties in the CRD's (alphabetical) order.
fn schema_peer_checks(spec: &BGPPeerSpec, v: &mut Validator) {
    v.field("localWorkloadSelector", |v| {
        checks::schema_max_length(v, &spec.local_workload_selector, 1024)
    });
    if let Some(mode) = spec.next_hop_mode.as_deref() {
        v.field("nextHopMode", |v| {
            checks::schema_enum(v, mode, NEXT_HOP_MODES)
        });
    }
    v.field("node", |v| checks::schema_max_length(v, &spec.node, 253));
    v.field("nodeSelector", |v| {
        checks::schema_max_length(v, &spec.node_selector, 1024)
    });
    v.field("peerIP", |v| {
        checks::schema_max_length(v, &spec.peer_ip, 64)
    });
    v.field("peerSelector", |v| {
        checks::schema_max_length(v, &spec.peer_selector, 1024)
    });
    v.field("reachableBy", |v| {
        checks::schema_max_length(v, &spec.reachable_by, 64)
    });
    if let Some(reverse) = spec.reverse_peering.as_deref() {
        v.field("reversePeering", |v| {
            checks::schema_enum(v, reverse, REVERSE_PEERING)
        });
    }
    if !spec.source_address.is_empty() {
        v.field("sourceAddress", |v| {
            checks::schema_enum(v, &spec.source_address, SOURCE_ADDRESSES)
        });
    }
}

/// The CEL rules of the BGPPeer CRD, all at `spec`.
fn cel_peer_checks(spec: &BGPPeerSpec, v: &mut Validator) {
    let has = |s: &str| !s.is_empty();
    let asn = spec.as_number.0 != 0;
    let lws = has(&spec.local_workload_selector);
    let rules = [
        (
            has(&spec.node) && has(&spec.node_selector),
            "node and nodeSelector cannot both be set",
        ),
        (
            has(&spec.peer_ip) && has(&spec.peer_selector),
            "peerIP and peerSelector cannot both be set",
        ),
        (
            has(&spec.peer_selector) && asn,
            "asNumber must be empty when peerSelector is set",
        ),
        (
            lws && has(&spec.peer_ip),
            "peerIP must be empty when localWorkloadSelector is set",
        ),
        (
            lws && has(&spec.peer_selector),
            "peerSelector must be empty when localWorkloadSelector is set",
        ),
        (
            lws && !asn,
            "asNumber is required when localWorkloadSelector is set",
        ),
        (
            has(&spec.reachable_by) && !has(&spec.peer_ip),
            "reachableBy must be empty when peerIP is empty",
        ),
        (
            spec.keep_original_next_hop && spec.next_hop_mode.is_some(),
            "keepOriginalNextHop and nextHopMode cannot both be set; keepOriginalNextHop is deprecated, use nextHopMode instead",
        ),
    ];
    for (broken, message) in rules {
        if broken {
            v.cel(message);
        }
    }
}

const FILTER_ACTIONS: &[&str] = &["Accept", "Reject"];
const MATCH_OPERATORS: &[&str] = &["Equal", "NotEqual", "In", "NotIn"];
const FILTER_SOURCES: &[&str] = &["RemotePeers"];
const PEER_TYPES: &[&str] = &["eBGP", "iBGP"];
const MAX_PRIORITY: i64 = 2_147_483_646;
const BGP_FILTER_COMMUNITY_PATTERN: &str = "^(([0-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]):([0-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])|([0-9]|[1-9][0-9]{1,8}|[1-3][0-9]{9}|4[0-1][0-9]{8}|42[0-8][0-9]{7}|429[0-3][0-9]{6}|4294[0-8][0-9]{5}|42949[0-5][0-9]{4}|429496[0-6][0-9]{3}|4294967[0-1][0-9]{2}|42949672[0-8][0-9]|429496729[0-5]):([0-9]|[1-9][0-9]{1,8}|[1-3][0-9]{9}|4[0-1][0-9]{8}|42[0-8][0-9]{7}|429[0-3][0-9]{6}|4294[0-8][0-9]{5}|42949[0-5][0-9]{4}|429496[0-6][0-9]{3}|4294967[0-1][0-9]{2}|42949672[0-8][0-9]|429496729[0-5]):([0-9]|[1-9][0-9]{1,8}|[1-3][0-9]{9}|4[0-1][0-9]{8}|42[0-8][0-9]{7}|429[0-3][0-9]{6}|4294[0-8][0-9]{5}|42949[0-5][0-9]{4}|429496[0-6][0-9]{3}|4294967[0-1][0-9]{2}|42949672[0-8][0-9]|429496729[0-5]))$";
static FILTER_INTERFACE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_.*-]{1,15}$").unwrap_or_else(|_| unreachable!()));

impl Kind for BGPFilterSpec {
    const KIND: &'static str = "BGPFilter";
    const PLURAL: &'static str = "bgpfilters";
    const SCOPE: Scope = Scope::Cluster;
    type Status = NoStatus;

    fn validate(resource: &Resource<Self>, v: &mut Validator) {
        let spec = &resource.spec;
        // Go's struct order: ExportV4, ImportV4, ExportV6, ImportV6.
        let lists = [
            ("exportV4", &spec.export_v4, Family::V4),
            ("importV4", &spec.import_v4, Family::V4),
            ("exportV6", &spec.export_v6, Family::V6),
            ("importV6", &spec.import_v6, Family::V6),
        ];
        for (_, rules, family) in lists {
            for rule in rules.iter() {
                go_filter_rule(rule, family, v);
            }
        }
        v.field("spec", |v| {
            for (name, rules, family) in lists {
                v.each(name, rules, |v, rule| schema_filter_rule(rule, family, v));
            }
        });
    }
}

/// Calico's Go tags on one rule, in struct order.
fn go_filter_rule(rule: &BGPFilterRule, family: Family, v: &mut Validator) {
    if !rule.cidr.is_empty() {
        checks::masked_net_of_family(v, "CIDR", &rule.cidr, family);
    }
    if let Some(lengths) = &rule.prefix_length {
        let tag = match family {
            Family::V4 => "bgpFilterPrefixLengthV4",
            Family::V6 => "bgpFilterPrefixLengthV6",
        };
        let max = if family == Family::V4 { 32 } else { 128 };
        for (go_name, bound) in [("Min", lengths.min), ("Max", lengths.max)] {
            if let Some(bound) = bound {
                if !(0..=max).contains(&i64::from(bound)) {
                    v.go_tag(go_name, bound, tag);
                }
            }
        }
    }
    if !rule.source.is_empty() {
        checks::one_of_tag(v, "Source", &rule.source, FILTER_SOURCES);
    }
    if !rule.interface.is_empty()
        && rule.interface != "*"
        && !FILTER_INTERFACE.is_match(&rule.interface)
    {
        v.go_tag("Interface", &rule.interface, "bgpFilterInterface");
    }
    if !rule.peer_type.is_empty() {
        checks::one_of_tag(v, "PeerType", &rule.peer_type, PEER_TYPES);
    }
    match rule.priority {
        Some(p) if p < 1 => v.go_tag("Priority", p, "gte"),
        Some(p) if p > MAX_PRIORITY => v.go_tag("Priority", p, "lte"),
        _ => {}
    }
    if rule.action.is_empty() {
        v.go_tag("Action", "", "required");
    }
}

/// The CRD schema and CEL rules on one rule, properties in the CRD's (alphabetical) order.
fn schema_filter_rule(rule: &BGPFilterRule, family: Family, v: &mut Validator) {
    let max_prefix: i64 = match family {
        Family::V4 => 32,
        Family::V6 => 128,
    };
    v.field("action", |v| {
        checks::schema_enum(v, &rule.action, FILTER_ACTIONS)
    });
    if !rule.cidr.is_empty() {
        v.field("cidr", |v| {
            checks::schema_cidr(v, &rule.cidr);
            checks::schema_max_length(v, &rule.cidr, if family == Family::V4 { 18 } else { 43 });
        });
    }
    if let Some(communities) = &rule.communities {
        v.field("communities", |v| validate_community_match(communities, v));
    }
    v.field("interface", |v| {
        checks::schema_max_length(v, &rule.interface, 15)
    });
    if !rule.match_operator.is_empty() {
        v.field("matchOperator", |v| {
            checks::schema_enum(v, &rule.match_operator, MATCH_OPERATORS)
        });
    }
    checks::schema_max_items(v, "operations", &rule.operations, 10);
    v.each("operations", &rule.operations, |v, op| {
        validate_operation(op, v)
    });
    if !rule.peer_type.is_empty() {
        v.field("peerType", |v| {
            checks::schema_enum(v, &rule.peer_type, PEER_TYPES)
        });
    }
    if let Some(lengths) = &rule.prefix_length {
        v.field("prefixLength", |v| {
            for (name, bound) in [("max", lengths.max), ("min", lengths.min)] {
                if let Some(bound) = bound {
                    v.field(name, |v| {
                        checks::schema_range(v, bound.into(), Some(0), Some(max_prefix))
                    });
                }
            }
        });
    }
    if let Some(priority) = rule.priority {
        v.field("priority", |v| {
            checks::schema_range(v, priority, Some(1), Some(MAX_PRIORITY))
        });
    }
    if !rule.source.is_empty() {
        v.field("source", |v| {
            checks::schema_enum(v, &rule.source, FILTER_SOURCES)
        });
    }
    let cidr = !rule.cidr.is_empty();
    let operator = !rule.match_operator.is_empty();
    if cidr != operator {
        v.cel("cidr and matchOperator must both be set or both be empty");
    }
    if !cidr && rule.prefix_length.is_some() {
        v.cel("cidr is required when prefixLength is set");
    }
    if !rule.operations.is_empty() && rule.action != "Accept" {
        v.cel("operations may only be used with action Accept");
    }
}

fn validate_community_match(communities: &BGPFilterCommunityMatch, v: &mut Validator) {
    let values = communities.values.as_deref().unwrap_or_default();
    if values.len() > 1 {
        v.schema_at("values", "must have at most 1 item");
    }
    v.each("values", values, |v, value| community_syntax(v, value));
}

fn community_syntax(v: &mut Validator, value: &str) {
    checks::schema_max_length(v, value, 32);
    if !is_bgp_filter_community(value) {
        let path = v.path();
        v.schema(format!(
            "{path} in body should match '{BGP_FILTER_COMMUNITY_PATTERN}'"
        ));
    }
}

fn validate_operation(op: &BGPFilterOperation, v: &mut Validator) {
    if let Some(add) = &op.add_community {
        v.field("addCommunity", |v| {
            v.field("value", |v| community_syntax(v, &add.value))
        });
    }
    if let Some(prepend) = &op.prepend_as_path {
        v.field("prependASPath", |v| {
            let prefix = prepend.prefix.as_deref().unwrap_or_default();
            checks::schema_max_items(v, "prefix", prefix, 10);
        });
    }
    if let Some(priority) = &op.set_priority {
        v.field("setPriority", |v| {
            v.field("value", |v| {
                checks::schema_range(v, priority.value, Some(1), Some(MAX_PRIORITY))
            })
        });
    }
}

#[cfg(test)]
#[path = "bgp_tests.rs"]
mod tests;
