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

/// Calico's reason for a failed Go validation tag that has no custom message.
fn tag_failure(field: &str, tag: &str) -> String {
    format!("failed to validate Field: {field} because of Tag: {tag} ")
}

/// A selector-valued field: parses, and at most 1024 characters (CRD `maxLength`).
fn selector_field(v: &mut Validator, name: &'static str, selector: &str) {
    if !selector.is_empty() {
        v.field(name, |v| {
            checks::selector(v, selector);
            checks::max_length(v, selector, 1024);
        });
    }
}

/// An optional enumerated field.
fn enum_field(v: &mut Validator, name: &'static str, value: Option<&str>, allowed: &[&str]) {
    if let Some(value) = value {
        v.field(name, |v| checks::one_of(v, value, allowed));
    }
}

fn non_empty(value: &str) -> Option<&str> {
    (!value.is_empty()).then_some(value)
}

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
fn check_community_value(v: &mut Validator, value: &str) -> bool {
    let Some((parts, large)) = community_parts(value) else {
        return false;
    };
    let bits = if large { 32 } else { 16 };
    for part in &parts {
        if !community_parts_fit(&[part], large) {
            v.error(
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
        v.field("spec", |v| {
            validate_bgp_config_fields(spec, v);
            validate_communities(spec, v);
            validate_mesh_settings(spec, v);
            if resource.name() != DEFAULT_BGP_CONFIGURATION {
                reject_global_only_fields(spec, v);
            }
        });
    }
}

fn validate_bgp_config_fields(spec: &BGPConfigurationSpec, v: &mut Validator) {
    enum_field(
        v,
        "logSeverityScreen",
        non_empty(&spec.log_severity_screen),
        LOG_LEVELS,
    );
    for (name, blocks) in [
        ("serviceLoadBalancerIPs", &spec.service_load_balancer_ips),
        ("serviceExternalIPs", &spec.service_external_ips),
        ("serviceClusterIPs", &spec.service_cluster_ips),
    ] {
        v.each(name, blocks, |v, block| {
            if !block.cidr.is_empty() {
                v.field("cidr", |v| {
                    checks::masked_net(v, &block.cidr);
                });
            }
        });
    }
    enum_field(
        v,
        "serviceLoadBalancerAggregation",
        non_empty(&spec.service_load_balancer_aggregation),
        ENABLED_DISABLED,
    );
    enum_field(v, "bindMode", spec.bind_mode.as_deref(), BIND_MODES);
    v.each("ignoredInterfaces", &spec.ignored_interfaces, |v, iface| {
        if iface == "*" || !IGNORED_INTERFACE.is_match(iface) {
            v.error(iface, tag_failure("IgnoredInterfaces", "ignoredInterface"));
        }
    });
    for (name, address, family) in [
        (
            "localWorkloadPeeringIPV4",
            &spec.local_workload_peering_ipv4,
            Family::V4,
        ),
        (
            "localWorkloadPeeringIPV6",
            &spec.local_workload_peering_ipv6,
            Family::V6,
        ),
    ] {
        if !address.is_empty() {
            v.field(name, |v| {
                checks::ip_of_family(v, address, family);
            });
        }
    }
    enum_field(
        v,
        "programClusterRoutes",
        spec.program_cluster_routes.as_deref(),
        PROGRAM_CLUSTER_ROUTES,
    );
    for (name, priority) in [
        ("ipv4NormalRoutePriority", spec.ipv4_normal_route_priority),
        ("ipv6NormalRoutePriority", spec.ipv6_normal_route_priority),
    ] {
        if let Some(priority) = priority {
            v.field(name, |v| checks::in_range(v, priority, 1, 2_147_483_646));
        }
    }
}

fn validate_communities(spec: &BGPConfigurationSpec, v: &mut Validator) {
    checks::max_items(v, "communities", &spec.communities, 500);
    v.each("communities", &spec.communities, |v, community| {
        v.field("name", |v| {
            if community.name.is_empty() {
                v.error("", tag_failure("Name", "required"));
            } else if !checks::is_dns1123_subdomain(&community.name) {
                v.error(&community.name, tag_failure("Name", "name"));
            }
        });
        v.field("value", |v| {
            if community.value.is_empty() {
                v.error("", tag_failure("Value", "required"));
            } else if !check_community_value(v, &community.value) {
                v.error(&community.value, "invalid community value or format used.");
            }
            checks::max_length(v, &community.value, 40);
        });
    });
    if spec.prefix_advertisements.is_empty() && !spec.communities.is_empty() {
        v.field("communities", |v| {
            v.error_no_value("communities are defined but not used in Spec.PrefixAdvertisement[].")
        });
        v.error_no_value("communities are defined but not used in prefixAdvertisements");
    }
    checks::max_items(v, "prefixAdvertisements", &spec.prefix_advertisements, 500);
    v.each(
        "prefixAdvertisements",
        &spec.prefix_advertisements,
        |v, pa| validate_prefix_advertisement(pa, &spec.communities, v),
    );
}

fn validate_prefix_advertisement(
    pa: &PrefixAdvertisement,
    defined: &[Community],
    v: &mut Validator,
) {
    v.field("cidr", |v| {
        if pa.cidr.is_empty() {
            v.error("", tag_failure("CIDR", "required"));
        } else if checks::parse_cidr_or_ip(&pa.cidr).is_none() {
            v.error(&pa.cidr, "invalid CIDR value.");
        } else {
            checks::masked_net(v, &pa.cidr);
        }
    });
    if pa.communities.is_empty() {
        v.field("communities", |v| {
            v.error_no_value(tag_failure("Communities", "required"))
        });
    }
    checks::max_items(v, "communities", &pa.communities, 50);
    v.each("communities", &pa.communities, |v, community| {
        if !check_community_value(v, community) && !defined.iter().any(|d| &d.name == community) {
            v.error(community, "community used is invalid or not defined.");
        }
    });
}

fn validate_mesh_settings(spec: &BGPConfigurationSpec, v: &mut Validator) {
    if spec.node_to_node_mesh_enabled != Some(false) {
        return;
    }
    if spec.node_mesh_password.is_some() {
        v.field("nodeMeshPassword", |v| {
            v.error_no_value(
                "spec.NodeMeshPassword cannot be set if spec.NodeToNodeMesh is disabled",
            )
        });
        v.error_no_value("nodeMeshPassword cannot be set when nodeToNodeMeshEnabled is false");
    }
    if spec.node_mesh_max_restart_time.is_some() {
        v.field("nodeMeshMaxRestartTime", |v| {
            v.error_no_value(
                "spec.NodeMeshMaxRestartTime cannot be set if spec.NodeToNodeMesh is disabled",
            )
        });
        v.error_no_value(
            "nodeMeshMaxRestartTime cannot be set when nodeToNodeMeshEnabled is false",
        );
    }
}

/// Fields that only the `default` BGPConfiguration may set (`ValidateDefaultOnlyFields` in
/// libcalico-go's client).
fn reject_global_only_fields(spec: &BGPConfigurationSpec, v: &mut Validator) {
    let set = [
        (
            "nodeToNodeMeshEnabled",
            "nodeToNodeMeshEnabled",
            spec.node_to_node_mesh_enabled.is_some(),
        ),
        ("asNumber", "ASNumber", spec.as_number.is_some()),
        (
            "serviceLoadBalancerIPs",
            "ServiceLoadBalancerIPs",
            !spec.service_load_balancer_ips.is_empty(),
        ),
        (
            "serviceExternalIPs",
            "ServiceExternalIPs",
            !spec.service_external_ips.is_empty(),
        ),
        (
            "serviceClusterIPs",
            "ServiceClusterIPs",
            !spec.service_cluster_ips.is_empty(),
        ),
        (
            "nodeMeshPassword",
            "nodeMeshPassword",
            spec.node_mesh_password.is_some(),
        ),
        (
            "nodeMeshMaxRestartTime",
            "nodeMeshMaxRestartTime",
            spec.node_mesh_max_restart_time.is_some(),
        ),
    ];
    for (path, label, is_set) in set {
        if is_set {
            v.field(path, |v| {
                v.error_no_value(format!(
                    "Cannot set {label} on a non default BGP Configuration."
                ))
            });
        }
    }
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
        v.field("spec", |v| {
            validate_peer_fields(spec, v);
            validate_peer_combinations(spec, v);
            cel_peer_checks(spec, v);
        });
    }
}

fn validate_peer_fields(spec: &BGPPeerSpec, v: &mut Validator) {
    if !spec.node.is_empty() {
        v.field("node", |v| {
            if !checks::is_dns1123_subdomain(&spec.node) {
                v.error(&spec.node, tag_failure("Node", "name"));
            }
            checks::max_length(v, &spec.node, 253);
        });
    }
    selector_field(v, "nodeSelector", &spec.node_selector);
    selector_field(v, "peerSelector", &spec.peer_selector);
    selector_field(v, "localWorkloadSelector", &spec.local_workload_selector);
    if !spec.peer_ip.is_empty() {
        v.field("peerIP", |v| {
            if parse_ip_port(&spec.peer_ip).is_none() {
                v.error(&spec.peer_ip, tag_failure("PeerIP", "IP:port"));
            }
            checks::max_length(v, &spec.peer_ip, 64);
        });
    }
    if !spec.reachable_by.is_empty() {
        v.field("reachableBy", |v| {
            checks::max_length(v, &spec.reachable_by, 64)
        });
    }
    enum_field(
        v,
        "nextHopMode",
        spec.next_hop_mode.as_deref(),
        NEXT_HOP_MODES,
    );
    enum_field(
        v,
        "sourceAddress",
        non_empty(&spec.source_address),
        SOURCE_ADDRESSES,
    );
    enum_field(
        v,
        "reversePeering",
        spec.reverse_peering.as_deref(),
        REVERSE_PEERING,
    );
}

/// `validateBGPPeerSpec`: the mutually exclusive fields, in Calico's wording.
fn validate_peer_combinations(spec: &BGPPeerSpec, v: &mut Validator) {
    let has = |s: &str| !s.is_empty();
    let asn = spec.as_number.0;
    let lws = has(&spec.local_workload_selector);
    let rules: [(bool, &'static str, String, &str); 6] = [
        (
            has(&spec.node) && has(&spec.node_selector),
            "node",
            spec.node.clone(),
            "Node field must be empty when NodeSelector is specified",
        ),
        (
            has(&spec.peer_ip) && has(&spec.peer_selector),
            "peerIP",
            spec.peer_ip.clone(),
            "PeerIP field must be empty when PeerSelector is specified",
        ),
        (
            asn != 0 && has(&spec.peer_selector),
            "asNumber",
            asn.to_string(),
            "ASNumber field must be empty when PeerSelector is specified",
        ),
        (
            asn == 0 && lws,
            "asNumber",
            asn.to_string(),
            "ASNumber field must NOT be empty when LocalWorkloadSelector is specified",
        ),
        (
            has(&spec.peer_ip) && lws,
            "peerIP",
            spec.peer_ip.clone(),
            "PeerIP field must be empty when LocalWorkloadSelector is specified",
        ),
        (
            has(&spec.peer_selector) && lws,
            "peerSelector",
            spec.peer_selector.clone(),
            "PeerSelector field must be empty when LocalWorkloadSelector is specified",
        ),
    ];
    for (broken, field, value, reason) in rules {
        if broken {
            v.error_at(field, value, reason);
        }
    }
    if let Err(reason) = check_reachable_by(&spec.reachable_by, &spec.peer_ip) {
        v.error_at("reachableBy", &spec.reachable_by, reason);
    }
    if spec.keep_original_next_hop && spec.next_hop_mode.is_some() {
        v.error_at(
            "keepOriginalNextHop",
            spec.keep_original_next_hop,
            "The KeepOriginalNextHop field is deprecated. It must not be set to true when NextHopMode is configured.",
        );
    }
}

/// Calico's `validateReachableBy`.
fn check_reachable_by(reachable_by: &str, peer_ip: &str) -> Result<(), &'static str> {
    if reachable_by.is_empty() {
        return Ok(());
    }
    if peer_ip.is_empty() {
        // Calico's spelling.
        return Err("ReachablyBy field must be empty when PeerIP is empty");
    }
    let gateway = reachable_by
        .parse::<IpAddr>()
        .map_err(|_| "ReachableBy is invalid address")?;
    let (peer, _) = parse_ip_port(peer_ip).ok_or("PeerIP is invalid address")?;
    if gateway.is_ipv4() != peer.is_ipv4() {
        return Err("ReachableBy and PeerIP address family mismatched");
    }
    Ok(())
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
            v.error_no_value(message);
        }
    }
}

const FILTER_ACTIONS: &[&str] = &["Accept", "Reject"];
const MATCH_OPERATORS: &[&str] = &["Equal", "NotEqual", "In", "NotIn"];
const FILTER_SOURCES: &[&str] = &["RemotePeers"];
const PEER_TYPES: &[&str] = &["eBGP", "iBGP"];
const MAX_PRIORITY: i64 = 2_147_483_646;
const COMMUNITY_SYNTAX: &str =
    "must be a BGP community aa:nn (16-bit numbers) or aa:nn:mm (32-bit numbers)";
static FILTER_INTERFACE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_.*-]{1,15}$").unwrap_or_else(|_| unreachable!()));

impl Kind for BGPFilterSpec {
    const KIND: &'static str = "BGPFilter";
    const PLURAL: &'static str = "bgpfilters";
    const SCOPE: Scope = Scope::Cluster;
    type Status = NoStatus;

    fn validate(resource: &Resource<Self>, v: &mut Validator) {
        let spec = &resource.spec;
        v.field("spec", |v| {
            let lists = [
                ("exportV4", &spec.export_v4, Family::V4),
                ("importV4", &spec.import_v4, Family::V4),
                ("exportV6", &spec.export_v6, Family::V6),
                ("importV6", &spec.import_v6, Family::V6),
            ];
            for (name, rules, family) in lists {
                v.each(name, rules, |v, rule| validate_filter_rule(rule, family, v));
            }
        });
    }
}

/// One rule of either family (`validateBGPFilterRuleV4/V6`, the schema, and the CEL rules).
fn validate_filter_rule(rule: &BGPFilterRule, family: Family, v: &mut Validator) {
    let max_prefix: i64 = match family {
        Family::V4 => 32,
        Family::V6 => 128,
    };
    if !rule.cidr.is_empty() {
        v.field("cidr", |v| {
            checks::masked_net_of_family(v, &rule.cidr, family);
            checks::max_length(v, &rule.cidr, if family == Family::V4 { 18 } else { 43 });
        });
    }
    if let Some(lengths) = &rule.prefix_length {
        v.field("prefixLength", |v| {
            for (name, bound) in [("min", lengths.min), ("max", lengths.max)] {
                if let Some(bound) = bound {
                    v.field(name, |v| checks::in_range(v, bound.into(), 0, max_prefix));
                }
            }
        });
    }
    enum_field(v, "source", non_empty(&rule.source), FILTER_SOURCES);
    if !rule.interface.is_empty() {
        v.field("interface", |v| {
            if rule.interface != "*" && !FILTER_INTERFACE.is_match(&rule.interface) {
                v.error(
                    &rule.interface,
                    tag_failure("Interface", "bgpFilterInterface"),
                );
            }
        });
    }
    enum_field(
        v,
        "matchOperator",
        non_empty(&rule.match_operator),
        MATCH_OPERATORS,
    );
    enum_field(v, "peerType", non_empty(&rule.peer_type), PEER_TYPES);
    if let Some(communities) = &rule.communities {
        v.field("communities", |v| validate_community_match(communities, v));
    }
    if let Some(priority) = rule.priority {
        v.field("priority", |v| {
            checks::in_range(v, priority, 1, MAX_PRIORITY)
        });
    }
    v.field("action", |v| {
        checks::one_of(v, &rule.action, FILTER_ACTIONS)
    });
    checks::max_items(v, "operations", &rule.operations, 10);
    v.each("operations", &rule.operations, |v, op| {
        validate_operation(op, v)
    });
    validate_filter_rule_combinations(rule, v);
}

fn validate_community_match(communities: &BGPFilterCommunityMatch, v: &mut Validator) {
    let values = communities.values.as_deref().unwrap_or_default();
    if values.len() != 1 {
        v.field("values", |v| {
            v.error_no_value(format!("must have exactly 1 item, has {}", values.len()))
        });
    }
    v.each("values", values, |v, value| community_syntax(v, value));
}

fn community_syntax(v: &mut Validator, value: &str) {
    if !is_bgp_filter_community(value) {
        v.error(value, COMMUNITY_SYNTAX);
    }
    checks::max_length(v, value, 32);
}

fn validate_operation(op: &BGPFilterOperation, v: &mut Validator) {
    let set = usize::from(op.add_community.is_some())
        + usize::from(op.prepend_as_path.is_some())
        + usize::from(op.set_priority.is_some());
    if set != 1 {
        v.error_no_value("exactly one operation must be set");
    }
    if let Some(add) = &op.add_community {
        v.field("addCommunity", |v| {
            v.field("value", |v| community_syntax(v, &add.value))
        });
    }
    if let Some(prepend) = &op.prepend_as_path {
        v.field("prependASPath", |v| {
            let prefix = prepend.prefix.as_deref().unwrap_or_default();
            if prefix.is_empty() || prefix.len() > 10 {
                v.field("prefix", |v| {
                    v.error_no_value(format!(
                        "must have between 1 and 10 items, has {}",
                        prefix.len()
                    ))
                });
            }
        });
    }
    if let Some(priority) = &op.set_priority {
        v.field("setPriority", |v| {
            v.field("value", |v| {
                checks::in_range(v, priority.value, 1, MAX_PRIORITY)
            })
        });
    }
}

/// Go's `validateBGPFilterRule` (at the fields) and the CRD's CEL rules (at the rule).
fn validate_filter_rule_combinations(rule: &BGPFilterRule, v: &mut Validator) {
    let cidr = !rule.cidr.is_empty();
    let operator = !rule.match_operator.is_empty();
    if cidr && !operator {
        v.error_at(
            "cidr",
            &rule.cidr,
            "MatchOperator cannot be empty when CIDR is not",
        );
    }
    if !cidr && operator {
        v.error_at(
            "matchOperator",
            &rule.match_operator,
            "CIDR cannot be empty when MatchOperator is not",
        );
    }
    if !cidr && rule.prefix_length.is_some() {
        v.field("prefixLength", |v| {
            v.error_no_value("CIDR cannot be empty when PrefixLength is not")
        });
    }
    if cidr != operator {
        v.error_no_value("cidr and matchOperator must both be set or both be empty");
    }
    if !cidr && rule.prefix_length.is_some() {
        v.error_no_value("cidr is required when prefixLength is set");
    }
    if !rule.operations.is_empty() && rule.action != "Accept" {
        v.error_no_value("operations may only be used with action Accept");
    }
}

#[cfg(test)]
#[path = "bgp_tests.rs"]
mod tests;
