//! IPPool and IPReservation: the address ranges Calico IPAM allocates from, and the addresses it
//! must never hand out.
//!
//! IPPool validation reproduces both of Calico's layers: the Go struct validator
//! (`validateIPPoolSpec`, errors at the offending field) and the CEL rules of the v3 CRD (errors
//! at `spec`). Where both cover the same problem Calico reports both, and so do we.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::meta::Condition;
use crate::resource::{Kind, NoStatus, Resource, Scope};
use crate::serde_helpers::{is_false, is_zero_i64};
use crate::validation::checks::{self, Family};
use crate::validation::{ValidationError, Validator};

/// Encapsulation modes accepted by `ipipMode` and `vxlanMode`.
pub const ENCAP_MODES: &[&str] = &["Never", "Always", "CrossSubnet"];
/// The `Never` encapsulation mode (the default).
pub const ENCAP_NEVER: &str = "Never";
/// Allowed use: workload (pod) addresses.
pub const ALLOWED_USE_WORKLOAD: &str = "Workload";
/// Allowed use: tunnel device addresses.
pub const ALLOWED_USE_TUNNEL: &str = "Tunnel";
/// Allowed use: LoadBalancer service addresses (exclusive of the other uses).
pub const ALLOWED_USE_LOAD_BALANCER: &str = "LoadBalancer";
/// Values of `assignmentMode`.
pub const ASSIGNMENT_MODES: &[&str] = &["Automatic", "Manual"];
/// The selector that matches every node.
pub const ALL_SELECTOR: &str = "all()";

/// Default block prefix length for IPv4 pools.
pub const DEFAULT_BLOCK_SIZE_V4: i64 = 26;
/// Default block prefix length for IPv6 pools.
pub const DEFAULT_BLOCK_SIZE_V6: i64 = 122;

const MSG_TOO_SMALL: &str = "IP pool size is too small for use with Calico IPAM. It must be equal to or greater than the block size.";

/// `spec` of an IPPool.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IPPoolSpec {
    /// The pool's network, strictly masked.
    #[serde(default)]
    pub cidr: String,
    /// `Never`, `Always` or `CrossSubnet`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub vxlan_mode: String,
    /// `Never`, `Always` or `CrossSubnet`; must be `Never` on IPv6 pools.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ipip_mode: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub nat_outgoing: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    #[serde(rename = "disableBGPExport", default, skip_serializing_if = "is_false")]
    pub disable_bgp_export: bool,
    /// Prefix length of the pool's blocks; 0 means the family default.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub block_size: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node_selector: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace_selector: String,
    /// `Workload`, `Tunnel`, `LoadBalancer`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_uses: Vec<String>,
    /// `Automatic` or `Manual` (Go pointer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment_mode: Option<String>,
}

/// `status` of an IPPool (a Go pointer: absent until a controller writes it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IPPoolStatus {
    /// Conditions keyed by `type` (Calico sets `Allocatable`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// `spec` of an IPReservation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IPReservationSpec {
    /// CIDRs or bare IPs that IPAM must not allocate.
    #[serde(
        rename = "reservedCIDRs",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub reserved_cidrs: Vec<String>,
}

/// An IP pool.
pub type IPPool = Resource<IPPoolSpec>;
/// Addresses excluded from IPAM.
pub type IPReservation = Resource<IPReservationSpec>;

/// Parses a pool CIDR the way Calico's client does: `a/len` only (a bare IP is not a subnet).
pub fn parse_pool_cidr(text: &str) -> Option<IpNet> {
    if text.contains('/') {
        text.parse().ok()
    } else {
        None
    }
}

/// The default block size for a family.
pub fn default_block_size(family: Family) -> i64 {
    match family {
        Family::V4 => DEFAULT_BLOCK_SIZE_V4,
        Family::V6 => DEFAULT_BLOCK_SIZE_V6,
    }
}

/// What Calico's client fills in on every pool it reads (`Get` and `List`): `blockSize` when 0
/// and the CIDR parses, `allowedUses`, `nodeSelector`, `ipipMode`, `vxlanMode` and
/// `assignmentMode` when missing. Unlike the write-side defaults the CIDR is left as stored.
pub fn apply_storage_defaults(pool: &mut IPPool) {
    let spec = &mut pool.spec;
    if spec.block_size == 0 {
        if let Some(net) = parse_pool_cidr(&spec.cidr) {
            spec.block_size = default_block_size(Family::of_net(&net));
        }
    }
    if spec.allowed_uses.is_empty() {
        spec.allowed_uses = vec![ALLOWED_USE_WORKLOAD.into(), ALLOWED_USE_TUNNEL.into()];
    }
    if spec.node_selector.is_empty() {
        spec.node_selector = ALL_SELECTOR.to_string();
    }
    if spec.ipip_mode.is_empty() {
        spec.ipip_mode = ENCAP_NEVER.to_string();
    }
    if spec.vxlan_mode.is_empty() {
        spec.vxlan_mode = ENCAP_NEVER.to_string();
    }
    if spec.assignment_mode.is_none() {
        spec.assignment_mode = Some(ASSIGNMENT_MODES[0].to_string());
    }
}

fn encap_enabled(mode: &str) -> bool {
    !mode.is_empty() && mode != ENCAP_NEVER
}

impl IPPoolSpec {
    /// Whether `allowedUses` lists `use_name`.
    pub fn has_use(&self, use_name: &str) -> bool {
        self.allowed_uses.iter().any(|u| u == use_name)
    }

    /// Whether this is a LoadBalancer pool.
    pub fn is_load_balancer(&self) -> bool {
        self.has_use(ALLOWED_USE_LOAD_BALANCER)
    }

    /// `blockSize`, or the family default when it is 0.
    pub fn effective_block_size(&self, family: Family) -> i64 {
        if self.block_size == 0 {
            default_block_size(family)
        } else {
            self.block_size
        }
    }
}

impl Kind for IPPoolSpec {
    const KIND: &'static str = "IPPool";
    const PLURAL: &'static str = "ippools";
    const SCOPE: Scope = Scope::Cluster;
    type Status = Option<IPPoolStatus>;

    /// Calico's client defaults (when reading, see [`apply_storage_defaults`]):
    /// - `cidr` rewritten in canonical form (e.g. compressed IPv6), but only when it is already
    ///   strictly masked, so an unmasked CIDR is kept for validation to report;
    /// - `blockSize` 26 (IPv4) or 122 (IPv6) when 0 and the CIDR parses;
    /// - `nodeSelector` `all()`; `allowedUses` `[Workload, Tunnel]`; `assignmentMode`
    ///   `Automatic`; `ipipMode` and `vxlanMode` `Never`.
    fn apply_defaults(resource: &mut Resource<Self>) {
        let spec = &mut resource.spec;
        if let Some(net) = parse_pool_cidr(&spec.cidr) {
            if checks::is_strictly_masked(&net) {
                spec.cidr = net.to_string();
            }
            if spec.block_size == 0 {
                spec.block_size = default_block_size(Family::of_net(&net));
            }
        }
        if spec.node_selector.is_empty() {
            spec.node_selector = ALL_SELECTOR.to_string();
        }
        if spec.allowed_uses.is_empty() {
            spec.allowed_uses = vec![ALLOWED_USE_WORKLOAD.into(), ALLOWED_USE_TUNNEL.into()];
        }
        if spec.assignment_mode.is_none() {
            spec.assignment_mode = Some(ASSIGNMENT_MODES[0].to_string());
        }
        if spec.ipip_mode.is_empty() {
            spec.ipip_mode = ENCAP_NEVER.to_string();
        }
        if spec.vxlan_mode.is_empty() {
            spec.vxlan_mode = ENCAP_NEVER.to_string();
        }
    }

    fn validate(resource: &Resource<Self>, v: &mut Validator) {
        v.field("spec", |v| validate_pool_spec(&resource.spec, v));
        if let Some(status) = &resource.status {
            v.field("status", |v| checks::conditions(v, &status.conditions));
        }
    }
}

fn validate_pool_spec(spec: &IPPoolSpec, v: &mut Validator) {
    let net = v.field("cidr", |v| go_pool_cidr(&spec.cidr, v));
    schema_pool_checks(spec, v);
    if let Some(net) = net {
        go_pool_checks(spec, &net, v);
    }
    cel_pool_checks(spec, v);
}

/// The CIDR presence and syntax checks; `Some` when the rest of the Go checks can run.
fn go_pool_cidr(cidr: &str, v: &mut Validator) -> Option<IpNet> {
    if cidr.is_empty() {
        v.error(cidr, "IPPool CIDR must be specified");
    }
    let net = parse_pool_cidr(cidr);
    if net.is_none() {
        v.error(cidr, "IPPool CIDR must be a valid subnet");
    }
    checks::max_length(v, cidr, 48);
    net
}

/// Enumerations, ranges, lengths and selector syntax (Go tags and the CRD schema).
fn schema_pool_checks(spec: &IPPoolSpec, v: &mut Validator) {
    for (name, mode) in [
        ("vxlanMode", &spec.vxlan_mode),
        ("ipipMode", &spec.ipip_mode),
    ] {
        if !mode.is_empty() {
            v.field(name, |v| checks::one_of(v, mode, ENCAP_MODES));
        }
    }
    if !(0..=128).contains(&spec.block_size) {
        v.field("blockSize", |v| {
            checks::in_range(v, spec.block_size, 0, 128);
        });
    }
    for (name, selector) in [
        ("nodeSelector", &spec.node_selector),
        ("namespaceSelector", &spec.namespace_selector),
    ] {
        if !selector.is_empty() {
            v.field(name, |v| {
                checks::selector(v, selector);
                checks::max_length(v, selector, 1024);
            });
        }
    }
    checks::max_items(v, "allowedUses", &spec.allowed_uses, 10);
    let load_balancer = spec.is_load_balancer();
    v.each("allowedUses", &spec.allowed_uses, |v, used| {
        match used.as_str() {
            ALLOWED_USE_LOAD_BALANCER => {}
            ALLOWED_USE_WORKLOAD | ALLOWED_USE_TUNNEL if load_balancer => v.error(
                used,
                format!("LoadBalancer cannot be used at the same time as: {used}"),
            ),
            ALLOWED_USE_WORKLOAD | ALLOWED_USE_TUNNEL => {}
            other => v.error(other, format!("unknown use: {other}")),
        };
    });
    if let Some(mode) = &spec.assignment_mode {
        v.field("assignmentMode", |v| {
            checks::one_of(v, mode, ASSIGNMENT_MODES)
        });
    }
}

const V4_LINK_LOCAL: Ipv4Addr = Ipv4Addr::new(169, 254, 0, 0);
const V6_LINK_LOCAL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0);

fn link_local_net(family: Family) -> IpNet {
    match family {
        Family::V4 => IpNet::new(IpAddr::V4(V4_LINK_LOCAL), 16),
        Family::V6 => IpNet::new(IpAddr::V6(V6_LINK_LOCAL), 10),
    }
    .unwrap_or_else(|_| unreachable!())
}

/// Whether two networks share an address (Calico's `IsNetOverlap`).
pub fn nets_overlap(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// `validateIPPoolSpec`'s checks that need the parsed network.
fn go_pool_checks(spec: &IPPoolSpec, net: &IpNet, v: &mut Validator) {
    let family = Family::of_net(net);
    let load_balancer = spec.is_load_balancer();
    v.field("ipipMode", |v| {
        if family == Family::V6 && encap_enabled(&spec.ipip_mode) {
            v.error(
                &spec.ipip_mode,
                "IPIPMode other than 'Never' is not supported on an IPv6 IP pool",
            );
        }
        let any_encap = encap_enabled(&spec.ipip_mode) || encap_enabled(&spec.vxlan_mode);
        if encap_enabled(&spec.ipip_mode) && encap_enabled(&spec.vxlan_mode) {
            // Calico's wording, although the rule applies to every pool.
            v.error(
                &spec.ipip_mode,
                "IPIPMode and VXLANMode cannot be enabled on LoadBalancer IP pool",
            );
        }
        if load_balancer && any_encap {
            v.error(
                &spec.ipip_mode,
                "Neither IPIPMode nor VXLANMode can be enabled on AllowedUses LoadBalancer IP pool",
            );
        }
    });
    v.field("cidr", |v| {
        if !spec.disabled && i64::from(net.prefix_len()) > spec.effective_block_size(family) {
            v.error(&spec.cidr, MSG_TOO_SMALL);
        }
        if !checks::is_strictly_masked(net) {
            v.error(&spec.cidr, "IP pool CIDR is not strictly masked");
        }
        if nets_overlap(net, &link_local_net(family)) {
            let reason = match family {
                Family::V4 => "IP pool range overlaps with IPv4 Link Local range 169.254.0.0/16",
                Family::V6 => "IP pool range overlaps with IPv6 Link Local range fe80::/10",
            };
            v.error(&spec.cidr, reason);
        }
    });
    if load_balancer && spec.disable_bgp_export {
        // Calico's wording (the rule forbids `true`).
        v.error_at(
            "disableBGPExport",
            spec.disable_bgp_export,
            "IP Pool with AllowedUse LoadBalancer must have DisableBGPExport set to true",
        );
    }
    if load_balancer && spec.node_selector != ALL_SELECTOR {
        v.error_at(
            "nodeSelector",
            &spec.node_selector,
            "IP Pool with AllowedUse LoadBalancer must have node selector set to all()",
        );
    }
}

/// The CEL rules of the IPPool CRD, all reported at `spec`.
fn cel_pool_checks(spec: &IPPoolSpec, v: &mut Validator) {
    let load_balancer = spec.is_load_balancer();
    let mut fail = |broken: bool, message: &str| {
        if broken {
            v.error_no_value(message);
        }
    };
    fail(
        encap_enabled(&spec.ipip_mode) && encap_enabled(&spec.vxlan_mode),
        "ipipMode and vxlanMode cannot both be enabled",
    );
    fail(
        load_balancer && (encap_enabled(&spec.ipip_mode) || encap_enabled(&spec.vxlan_mode)),
        "LoadBalancer IP pool cannot have IPIP or VXLAN enabled",
    );
    fail(
        load_balancer && (spec.has_use(ALLOWED_USE_WORKLOAD) || spec.has_use(ALLOWED_USE_TUNNEL)),
        "LoadBalancer cannot be combined with Workload or Tunnel allowed uses",
    );
    let net = parse_pool_cidr(&spec.cidr);
    let family = net.as_ref().map(Family::of_net);
    fail(
        family == Some(Family::V6) && encap_enabled(&spec.ipip_mode),
        "IPIP is not supported on IPv6 pools",
    );
    fail(
        load_balancer && spec.disable_bgp_export,
        "LoadBalancer IP pools cannot disable BGP export",
    );
    fail(
        load_balancer && spec.node_selector != ALL_SELECTOR,
        "IP Pool with AllowedUse LoadBalancer must have nodeSelector set to all()",
    );
    fail(
        spec.has_use(ALLOWED_USE_TUNNEL) && !spec.namespace_selector.is_empty(),
        "IP Pool with AllowedUse Tunnel cannot have namespaceSelector",
    );
    fail(
        spec.node_selector.contains("global("),
        "global() selector is not valid for IPPool nodeSelector",
    );
    fail(
        spec.namespace_selector.contains("global("),
        "global() selector is not valid for IPPool namespaceSelector",
    );
    if let Some(net) = net {
        cel_pool_network_checks(spec, &net, v);
    }
}

fn cel_pool_network_checks(spec: &IPPoolSpec, net: &IpNet, v: &mut Validator) {
    let family = Family::of_net(net);
    if !checks::is_strictly_masked(net) {
        v.error_no_value("IPPool CIDR must be strictly masked");
    }
    // The CEL rule tests the address as written (not the masked network) in one direction and
    // the link-local base address in the other.
    let link_local = link_local_net(family);
    if link_local.contains(&net.addr()) || net.contains(&link_local.network()) {
        v.error_no_value(match family {
            Family::V4 => "IPPool CIDR overlaps with IPv4 link local range 169.254.0.0/16",
            Family::V6 => "IPPool CIDR overlaps with IPv6 link local range fe80::/10",
        });
    }
    let (low, high) = match family {
        Family::V4 => (20, 32),
        Family::V6 => (116, 128),
    };
    if spec.block_size != 0 && !(low..=high).contains(&spec.block_size) {
        v.error_no_value(
            "blockSize must be between 20 and 32 for IPv4 pools, and between 116 and 128 for IPv6 pools",
        );
    }
    if !spec.disabled && i64::from(net.prefix_len()) > spec.effective_block_size(family) {
        v.error_no_value(MSG_TOO_SMALL);
    }
}

/// The IPPool update rules that need the stored object (CEL `self == oldSelf` on `spec.cidr`
/// and `spec.blockSize`). Compares the values as given, so apply defaults to both first.
pub fn validate_ippool_update(old: &IPPool, new: &IPPool) -> Result<(), ValidationError> {
    let mut v = Validator::new();
    v.field("spec", |v| {
        if old.spec.cidr != new.spec.cidr {
            v.error_at(
                "cidr",
                &new.spec.cidr,
                "CIDR cannot be changed; follow IP pool migration guide to avoid corruption.",
            );
        }
        if old.spec.block_size != new.spec.block_size {
            v.error_at(
                "blockSize",
                new.spec.block_size,
                "Block size cannot be changed; follow IP pool migration guide to avoid corruption.",
            );
        }
    });
    v.finish()
}

/// Calico's create-time check that a new pool overlaps no existing pool (other than one with the
/// same name). Pools whose CIDR does not parse are skipped, as Calico does.
pub fn ippool_overlap(new: &IPPool, existing: &[IPPool]) -> Result<(), ValidationError> {
    let mut v = Validator::new();
    if let Some(net) = parse_pool_cidr(&new.spec.cidr) {
        for other in existing.iter().filter(|o| o.name() != new.name()) {
            let Some(other_net) = parse_pool_cidr(&other.spec.cidr) else {
                continue;
            };
            if nets_overlap(&net, &other_net) {
                v.field("spec", |v| {
                    v.error_at(
                        "cidr",
                        &new.spec.cidr,
                        format!(
                            "IPPool({}) CIDR overlaps with IPPool({}) CIDR {}",
                            new.name(),
                            other.name(),
                            other.spec.cidr
                        ),
                    )
                });
            }
        }
    }
    v.finish()
}

impl Kind for IPReservationSpec {
    const KIND: &'static str = "IPReservation";
    const PLURAL: &'static str = "ipreservations";
    const SCOPE: Scope = Scope::Cluster;
    type Status = NoStatus;

    fn validate(resource: &Resource<Self>, v: &mut Validator) {
        v.field("spec", |v| {
            v.each("reservedCIDRs", &resource.spec.reserved_cidrs, |v, cidr| {
                checks::cidr(v, cidr);
            })
        });
    }
}

#[cfg(test)]
#[path = "ippool_tests.rs"]
mod tests;
