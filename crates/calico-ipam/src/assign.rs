//! The first building blocks of Calico's IPAM allocator (libcalico-go's `AutoAssign`), without
//! IO: which IP pools an allocation may use for a node and namespace (`determinePools` and the
//! pool half of `prepareAffinityBlocksForHost`).
//!
//! Not here yet: reading the node, choosing and claiming blocks, assigning addresses and
//! writing handles; nothing in calicoctl calls this module.

use std::collections::BTreeMap;

use calico_api::model::IpVersion;
use calico_api::{
    apply_storage_defaults, parse_pool_cidr, IPPool, ALLOWED_USE_LOAD_BALANCER, ALLOWED_USE_TUNNEL,
    ALLOWED_USE_WORKLOAD,
};
use calico_selector::Labels;
use ipnet::IpNet;
use thiserror::Error;

use crate::block::HostReserved;

/// What an allocation is for; a pool serves it only if its `allowedUses` lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllowedUse {
    Workload,
    Tunnel,
    LoadBalancer,
}

impl AllowedUse {
    /// The name `allowedUses` spells it with.
    pub fn as_str(self) -> &'static str {
        match self {
            AllowedUse::Workload => ALLOWED_USE_WORKLOAD,
            AllowedUse::Tunnel => ALLOWED_USE_TUNNEL,
            AllowedUse::LoadBalancer => ALLOWED_USE_LOAD_BALANCER,
        }
    }
}

/// Why no pool could be chosen; the texts are Calico's.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PoolSelectionError {
    /// No enabled pool of the family has blocks small enough for the host-reserved addresses.
    #[error("cannot find a qualified ippool")]
    NoQualifiedPool,
    /// A requested pool is not among the enabled pools (`net` is the requested network).
    #[error("the given pool ({0}) does not exist, or is not enabled")]
    RequestedPoolNotEnabled(IpNet),
    /// A pool's node or namespace selector does not parse.
    #[error("{0}")]
    Selector(#[from] calico_selector::ParseError),
    /// The host-reserved address counts leave no usable block size.
    #[error("HostReservedAttr has wrong parameters")]
    HostReservedAttr,
    /// No pool selects the node (and namespace).
    #[error("no configured Calico pools for node {0}")]
    NoPoolsForNode(String),
    /// Pools select the node, but none allows the use.
    #[error("cannot find a qualified ippool, no pools match the required use ({})", .0.as_str())]
    NoPoolForUse(AllowedUse),
}

/// The pools Calico's `GetEnabledPools` returns for a family, in the order given (Calico lists
/// them in name order): not being deleted, not disabled, not marked `Allocatable=False` by
/// kube-controllers, with a CIDR of the family; each with the defaults Calico's client fills
/// in on read (block size, allowed uses, node selector, assignment mode).
pub fn enabled_pools(pools: &[IPPool], version: IpVersion) -> Vec<IPPool> {
    pools
        .iter()
        .filter(|pool| pool.metadata.deletion_timestamp.is_none() && !pool.spec.disabled)
        .filter(|pool| {
            !pool.status.as_ref().is_some_and(|status| {
                status
                    .conditions
                    .iter()
                    .any(|c| c.condition_type == "Allocatable" && c.status == "False")
            })
        })
        .filter(|pool| {
            parse_pool_cidr(&pool.spec.cidr).is_some_and(|n| IpVersion::of(&n) == version)
        })
        .map(|pool| {
            let mut pool = pool.clone();
            apply_storage_defaults(&mut pool);
            pool
        })
        .collect()
}

/// The longest block prefix that still leaves room for the host-reserved addresses (Calico's
/// `getMaxPrefixLen`): the family's address length without reservations, otherwise that
/// length less the bit length of the reserved count.
pub fn max_prefix_len(
    version: IpVersion,
    reserved: Option<&HostReserved>,
) -> Result<i64, PoolSelectionError> {
    let bits: i64 = match version {
        IpVersion::V4 => 32,
        IpVersion::V6 => 128,
    };
    let Some(reserved) = reserved else {
        return Ok(bits);
    };
    let count = reserved.start_of_block + reserved.end_of_block;
    let max = if count == 0 {
        0
    } else {
        bits - i64::from(usize::BITS - count.leading_zeros())
    };
    if max <= 0 {
        return Err(PoolSelectionError::HostReservedAttr);
    }
    Ok(max)
}

/// The pools an allocation may draw from and all enabled pools of the family (Calico's
/// `determinePools`, given the pools and labels instead of reading them).
///
/// `requested` pools, when given, are used as they are (selectors and assignment mode are not
/// consulted), and each must be an enabled pool whose block size is at most `max_prefix_len`.
/// Otherwise the matching pools are the enabled `Automatic` pools whose node selector selects
/// `node_labels` and whose namespace selector selects `namespace_labels` (no namespace: no
/// labels). As in Calico, the block size limit only decides whether any pool qualifies and
/// which requested pools exist: the selector-matched pools are not filtered by it.
pub fn determine_pools<N, S>(
    pools: &[IPPool],
    requested: &[IpNet],
    version: IpVersion,
    node_labels: &N,
    namespace_labels: Option<&S>,
    max_prefix_len: i64,
) -> Result<(Vec<IPPool>, Vec<IPPool>), PoolSelectionError>
where
    N: Labels + ?Sized,
    S: Labels + ?Sized,
{
    let enabled = enabled_pools(pools, version);
    let qualified: Vec<(IpNet, &IPPool)> = enabled
        .iter()
        .filter(|pool| pool.spec.block_size <= max_prefix_len)
        .filter_map(|pool| Some((parse_pool_cidr(&pool.spec.cidr)?.trunc(), pool)))
        .collect();
    if qualified.is_empty() {
        return Err(PoolSelectionError::NoQualifiedPool);
    }
    if !requested.is_empty() {
        let chosen = requested
            .iter()
            .map(|net| {
                let net = net.trunc();
                qualified
                    .iter()
                    .rev()
                    .find(|(cidr, _)| *cidr == net)
                    .map(|(_, pool)| (*pool).clone())
                    .ok_or(PoolSelectionError::RequestedPoolNotEnabled(net))
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok((chosen, enabled));
    }
    let no_labels = BTreeMap::<String, String>::new();
    let mut matching = Vec::new();
    for pool in &enabled {
        if pool.spec.assignment_mode.as_deref() != Some("Automatic") {
            continue;
        }
        if !selects(&pool.spec.node_selector, node_labels)? {
            continue;
        }
        let namespace_selects = match namespace_labels {
            Some(labels) => selects(&pool.spec.namespace_selector, labels)?,
            None => selects(&pool.spec.namespace_selector, &no_labels)?,
        };
        if namespace_selects {
            matching.push(pool.clone());
        }
    }
    Ok((matching, enabled))
}

/// Whether a pool selector selects these labels (an empty selector selects everything).
fn selects<L: Labels + ?Sized>(selector: &str, labels: &L) -> Result<bool, PoolSelectionError> {
    if selector.is_empty() {
        return Ok(true);
    }
    Ok(calico_selector::parse(selector)?.evaluate(labels))
}

/// The pools that allow `use_` (Calico's `filterPoolsByUse`), in their order.
pub fn pools_for_use(pools: &[IPPool], use_: AllowedUse) -> Vec<IPPool> {
    pools
        .iter()
        .filter(|pool| pool.spec.allowed_uses.iter().any(|u| u == use_.as_str()))
        .cloned()
        .collect()
}

/// The pools an allocation for `host` may use, as `prepareAffinityBlocksForHost` chooses them
/// before it looks at the host's blocks.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolChoice {
    /// The pools that select the node (and namespace), or the requested ones, allowing the use.
    pub allowed: Vec<IPPool>,
    /// The pools that select the node (and namespace), or the requested ones, any use.
    pub selecting_node: Vec<IPPool>,
    /// Every enabled pool of the family.
    pub enabled: Vec<IPPool>,
}

/// Chooses the pools for an allocation on `host` as Calico does: the block size limit from the
/// host-reserved addresses, [`determine_pools`], then [`pools_for_use`]. For
/// [`AllowedUse::LoadBalancer`] Calico uses a virtual node without labels, so `node_labels` is
/// ignored. Fails with Calico's errors when no pool selects the node or none allows the use.
#[allow(clippy::too_many_arguments)]
pub fn choose_pools<N, S>(
    pools: &[IPPool],
    requested: &[IpNet],
    version: IpVersion,
    host: &str,
    node_labels: &N,
    namespace_labels: Option<&S>,
    reserved: Option<&HostReserved>,
    use_: AllowedUse,
) -> Result<PoolChoice, PoolSelectionError>
where
    N: Labels + ?Sized,
    S: Labels + ?Sized,
{
    let max = max_prefix_len(version, reserved)?;
    let (selecting_node, enabled) = if use_ == AllowedUse::LoadBalancer {
        let virtual_node = BTreeMap::<String, String>::new();
        determine_pools(
            pools,
            requested,
            version,
            &virtual_node,
            namespace_labels,
            max,
        )?
    } else {
        determine_pools(
            pools,
            requested,
            version,
            node_labels,
            namespace_labels,
            max,
        )?
    };
    if selecting_node.is_empty() {
        return Err(PoolSelectionError::NoPoolsForNode(host.to_string()));
    }
    let allowed = pools_for_use(&selecting_node, use_);
    if allowed.is_empty() {
        return Err(PoolSelectionError::NoPoolForUse(use_));
    }
    Ok(PoolChoice {
        allowed,
        selecting_node,
        enabled,
    })
}

#[cfg(test)]
mod tests;
