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
use crate::validation::{gofmt, ValidationError, Validator};

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
    go_pool_checks(spec, v);
    schema_pool_checks(spec, v);
    cel_pool_checks(spec, v);
}

/// Calico's Go checks, in its order: the field tags (`CIDR` as a masked network, the selectors),
/// then its IPPool struct check.
fn go_pool_checks(spec: &IPPoolSpec, v: &mut Validator) {
    if !spec.cidr.is_empty() {
        checks::masked_net(v, "CIDR", &spec.cidr);
    }
    if !spec.node_selector.is_empty() {
        checks::selector(v, "NodeSelector", &spec.node_selector);
    }
    if !spec.namespace_selector.is_empty() {
        checks::selector(v, "NamespaceSelector", &spec.namespace_selector);
    }
    if spec.cidr.is_empty() {
        v.go("IPpool.CIDR", &spec.cidr, "IPPool CIDR must be specified");
    } else {
        match checks::parse_cidr_or_ip(&spec.cidr) {
            None => {
                v.go(
                    "IPpool.CIDR",
                    &spec.cidr,
                    "IPPool CIDR must be a valid subnet",
                );
                return;
            }
            Some(net) if !checks::is_strictly_masked(&net) => {
                v.go(
                    "IPpool.CIDR",
                    &spec.cidr,
                    "IP pool CIDR is not strictly masked",
                );
            }
            Some(_) => {}
        }
    }
    for used in &spec.allowed_uses {
        if ![
            ALLOWED_USE_LOAD_BALANCER,
            ALLOWED_USE_WORKLOAD,
            ALLOWED_USE_TUNNEL,
        ]
        .contains(&used.as_str())
        {
            v.go(
                "IPpool.AllowedUses",
                gofmt::slice(&spec.allowed_uses),
                format!("unknown use: {used}"),
            );
        }
    }
}

/// The CRD schema's checks, properties in the CRD's (alphabetical) order.
fn schema_pool_checks(spec: &IPPoolSpec, v: &mut Validator) {
    v.each("allowedUses", &spec.allowed_uses, |v, used| {
        checks::schema_enum(
            v,
            used,
            &[
                ALLOWED_USE_WORKLOAD,
                ALLOWED_USE_TUNNEL,
                ALLOWED_USE_LOAD_BALANCER,
            ],
        )
    });
    checks::schema_max_items(v, "allowedUses", &spec.allowed_uses, 10);
    if let Some(mode) = &spec.assignment_mode {
        v.field("assignmentMode", |v| {
            checks::schema_enum(v, mode, ASSIGNMENT_MODES)
        });
    }
    v.field("blockSize", |v| {
        checks::schema_range(v, spec.block_size, Some(0), Some(128))
    });
    v.field("cidr", |v| {
        checks::schema_cidr(v, &spec.cidr);
        checks::schema_max_length(v, &spec.cidr, 48);
    });
    if !spec.ipip_mode.is_empty() {
        v.field("ipipMode", |v| {
            checks::schema_enum(v, &spec.ipip_mode, ENCAP_MODES)
        });
    }
    v.field("namespaceSelector", |v| {
        checks::schema_max_length(v, &spec.namespace_selector, 1024)
    });
    v.field("nodeSelector", |v| {
        checks::schema_max_length(v, &spec.node_selector, 1024)
    });
    if !spec.vxlan_mode.is_empty() {
        v.field("vxlanMode", |v| {
            checks::schema_enum(v, &spec.vxlan_mode, ENCAP_MODES)
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

/// The CEL rules of the IPPool CRD, all reported at `spec`.
fn cel_pool_checks(spec: &IPPoolSpec, v: &mut Validator) {
    let load_balancer = spec.is_load_balancer();
    // Rules that read `cidr(self.cidr)` fail to evaluate when the CIDR does not parse; Calico
    // then reports the evaluation error in the rule's place.
    let cidr_error = cel_cidr_error(&spec.cidr);
    let mut fail = |broken: bool, message: &str| {
        if broken {
            v.cel(message);
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
    let ipip = |message: &str| match &cidr_error {
        Some(err) => format!("{err} evaluating rule: {message}"),
        None => message.to_string(),
    };
    fail(
        encap_enabled(&spec.ipip_mode) && (family == Some(Family::V6) || cidr_error.is_some()),
        &ipip("IPIP is not supported on IPv6 pools"),
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
    match (net, cidr_error) {
        (Some(net), _) => cel_pool_network_checks(spec, &net, v),
        (None, Some(err)) => {
            for message in [
                "IPPool CIDR must be strictly masked",
                "IPPool CIDR overlaps with IPv4 link local range 169.254.0.0/16",
                "IPPool CIDR overlaps with IPv6 link local range fe80::/10",
            ] {
                v.cel(format!("{err} evaluating rule: {message}"));
            }
            if spec.block_size != 0 {
                v.cel(format!(
                    "{err} evaluating rule: blockSize must be between 20 and 32 for IPv4 pools, \
                     and between 116 and 128 for IPv6 pools"
                ));
            }
            if !spec.disabled {
                v.cel(format!("{err} evaluating rule: {MSG_TOO_SMALL}"));
            }
        }
        (None, None) => {}
    }
}

/// The error Calico's CEL library gives when `cidr()` cannot parse `text` (Go's
/// `netip.ParsePrefix` texts, hand-written to match), or `None` when it parses.
pub fn cel_cidr_error(text: &str) -> Option<String> {
    let problem = netip_parse_prefix_problem(text)?;
    Some(format!(
        "network address parse error during conversion from string: network address parse \
         error during conversion from string: netip.ParsePrefix({}): {problem}",
        checks::go_quote(text)
    ))
}

/// Why Go's `netip.ParsePrefix` refuses `text`, or `None` when it accepts it.
fn netip_parse_prefix_problem(text: &str) -> Option<String> {
    let Some((addr, bits)) = text.rsplit_once('/') else {
        return Some("no '/'".to_string());
    };
    let Ok(ip) = addr.parse::<std::net::IpAddr>() else {
        return Some(format!(
            "ParseAddr({}): unable to parse IP",
            checks::go_quote(addr)
        ));
    };
    let digits_ok = !bits.is_empty()
        && bits.len() <= 3
        && bits.bytes().all(|b| b.is_ascii_digit())
        && !(bits.len() > 1 && bits.starts_with('0'));
    if !digits_ok {
        return Some(format!("bad bits after slash: {}", checks::go_quote(bits)));
    }
    let max = if ip.is_ipv4() { 32 } else { 128 };
    match bits.parse::<u32>() {
        Ok(n) if n <= max => None,
        _ => Some("prefix length out of range".to_string()),
    }
}

fn cel_pool_network_checks(spec: &IPPoolSpec, net: &IpNet, v: &mut Validator) {
    let family = Family::of_net(net);
    if !checks::is_strictly_masked(net) {
        v.cel("IPPool CIDR must be strictly masked");
    }
    // The CEL rule tests the address as written (not the masked network) in one direction and
    // the link-local base address in the other.
    let link_local = link_local_net(family);
    if link_local.contains(&net.addr()) || net.contains(&link_local.network()) {
        v.cel(match family {
            Family::V4 => "IPPool CIDR overlaps with IPv4 link local range 169.254.0.0/16",
            Family::V6 => "IPPool CIDR overlaps with IPv6 link local range fe80::/10",
        });
    }
    let (low, high) = match family {
        Family::V4 => (20, 32),
        Family::V6 => (116, 128),
    };
    if spec.block_size != 0 && !(low..=high).contains(&spec.block_size) {
        v.cel(
            "blockSize must be between 20 and 32 for IPv4 pools, and between 116 and 128 for IPv6 pools",
        );
    }
    if !spec.disabled && i64::from(net.prefix_len()) > spec.effective_block_size(family) {
        v.cel(MSG_TOO_SMALL);
    }
}

/// The IPPool update rules that need the stored object (CEL `self == oldSelf` on `spec.cidr`
/// and `spec.blockSize`). Compares the values as given, so apply defaults to both first.
pub fn validate_ippool_update(old: &IPPool, new: &IPPool) -> Result<(), ValidationError> {
    let mut v = Validator::new();
    if old.spec.cidr != new.spec.cidr {
        v.go(
            "IPPool.Spec.CIDR",
            &new.spec.cidr,
            "IPPool CIDR cannot be modified",
        );
    }
    if old.spec.block_size != new.spec.block_size {
        v.go(
            "IPPool.Spec.BlockSize",
            new.spec.block_size,
            "IPPool BlockSize cannot be modified",
        );
    }
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
                v.go(
                    "IPPool.Spec.CIDR",
                    &new.spec.cidr,
                    format!(
                        "IPPool({}) CIDR overlaps with IPPool({}) CIDR {}",
                        new.name(),
                        other.name(),
                        other.spec.cidr
                    ),
                );
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
        let cidrs = &resource.spec.reserved_cidrs;
        if cidrs.iter().any(|c| checks::parse_cidr_or_ip(c).is_none()) {
            v.go_tag("ReservedCIDRs", gofmt::slice(cidrs), "cidrs");
        }
        v.field("spec", |v| {
            v.each("reservedCIDRs", cidrs, |v, cidr| {
                checks::schema_cidr(v, cidr);
            })
        });
    }
}

#[cfg(test)]
#[path = "ippool_tests.rs"]
mod tests;
