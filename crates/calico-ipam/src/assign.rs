//! The first building blocks of Calico's IPAM allocator (libcalico-go's `AutoAssign`), without
//! IO: which IP pools an allocation may use for a node and namespace (`determinePools` and the
//! pool half of `prepareAffinityBlocksForHost`), and the order in which a host tries a pool's
//! blocks (`determineSeed` and `randomBlockGenerator`, with Go's `math/rand` in [`GoRand`]).
//!
//! With IO: claiming one block for a host ([`pending_affinity`], [`claim_affine_block`],
//! [`confirm_affinity`]).
//!
//! The allocator that puts these together is [`crate::allocate`].

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use calico_api::model::IpVersion;
use calico_api::{
    apply_storage_defaults, parse_pool_cidr, IPPool, ALLOWED_USE_LOAD_BALANCER, ALLOWED_USE_TUNNEL,
    ALLOWED_USE_WORKLOAD,
};
use calico_selector::Labels;
use ipnet::IpNet;
use thiserror::Error;

use crate::block::HostReserved;

mod claim;
mod go_rand;
mod go_rand_cooked;

pub use claim::{
    claim_affine_block, claimed_block, confirm_affinity, pending_affinity, ClaimError,
};
pub use go_rand::GoRand;

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

/// Whether a pool's node selector selects a node with these labels (Calico's `SelectsNode`;
/// an empty selector selects every node).
pub fn pool_selects_node<N: Labels + ?Sized>(
    pool: &IPPool,
    node_labels: &N,
) -> Result<bool, PoolSelectionError> {
    selects(&pool.spec.node_selector, node_labels)
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

/// The seed Calico's `determineSeed` gives a host's walk over a pool's blocks: the 32-bit FNV-1
/// hash of the host name, so that a host starts at the same block every time. `None` for blocks
/// of a single address (`/32`, `/128`), where Calico seeds with the current time instead (see
/// [`time_seed`]).
pub fn block_seed(block_size: u8, version: IpVersion, host: &str) -> Option<i64> {
    if block_size == address_bits(version) {
        return None;
    }
    Some(i64::from(fnv1_32(host.as_bytes())))
}

/// The current time in nanoseconds since the Unix epoch, the seed Calico uses for blocks of a
/// single address (saturating after the year 2262, as Go's `UnixNano` is undefined there).
pub fn time_seed() -> i64 {
    let now = chrono::Utc::now();
    now.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// Go's `hash/fnv` `New32` (FNV-1, not FNV-1a).
fn fnv1_32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |hash, byte| {
        hash.wrapping_mul(0x0100_0193) ^ u32::from(*byte)
    })
}

fn address_bits(version: IpVersion) -> u8 {
    match version {
        IpVersion::V4 => 32,
        IpVersion::V6 => 128,
    }
}

/// The blocks of a pool in the order a host tries them (Calico's `randomBlockGenerator`): from a
/// block picked with Go's `math/rand` seeded by [`block_seed`], onwards through the pool, round
/// to its first block, each block once.
#[derive(Clone, Debug)]
pub struct BlockWalk {
    version: IpVersion,
    /// The pool's first address.
    base: u128,
    block_size: u8,
    /// The index of the next block.
    next: u128,
    /// One less than the number of blocks (the number is a power of two).
    last: u128,
    /// How many blocks are still to come, less one; `None` when none are.
    left: Option<u128>,
}

impl BlockWalk {
    /// The walk over the `block_size` blocks of `pool` (any host bits cleared) with Go's random
    /// generator seeded by `seed`. Empty when the blocks are larger than the pool or
    /// `block_size` is longer than the address.
    pub fn new(pool: IpNet, block_size: u8, seed: i64) -> BlockWalk {
        let pool = pool.trunc();
        let version = IpVersion::of(&pool);
        let base = match pool.network() {
            IpAddr::V4(ip) => u128::from(u32::from(ip)),
            IpAddr::V6(ip) => u128::from(ip),
        };
        let mut walk = BlockWalk {
            version,
            base,
            block_size,
            next: 0,
            last: 0,
            left: None,
        };
        if block_size > address_bits(version) || block_size < pool.prefix_len() {
            return walk;
        }
        let index_bits = u32::from(block_size - pool.prefix_len());
        let Some(start) = GoRand::new(seed).below_power_of_two(index_bits) else {
            return walk;
        };
        walk.last = if index_bits == 128 {
            u128::MAX
        } else {
            (1u128 << index_bits) - 1
        };
        walk.next = start;
        walk.left = Some(walk.last);
        walk
    }

    /// The walk Calico's `randomBlockGenerator` gives `host` over `pool` (its CIDR and block
    /// size as stored, defaults applied): seeded by [`block_seed`], or by [`time_seed`] for
    /// blocks of one address. Empty if the CIDR does not parse, as Calico's is, or the block size
    /// is out of range.
    pub fn for_host(pool: &IPPool, host: &str) -> BlockWalk {
        let empty = BlockWalk {
            version: IpVersion::V4,
            base: 0,
            block_size: 32,
            next: 0,
            last: 0,
            left: None,
        };
        let Some(cidr) = parse_pool_cidr(&pool.spec.cidr) else {
            return empty;
        };
        let Ok(block_size) = u8::try_from(pool.spec.block_size) else {
            return empty;
        };
        let seed = block_seed(block_size, IpVersion::of(&cidr), host).unwrap_or_else(time_seed);
        BlockWalk::new(cidr, block_size, seed)
    }
}

impl BlockWalk {
    /// Of `cidrs`, those the walk visits, in the order it visits them (without walking every
    /// block of the pool: for finding the existing blocks among a large pool's).
    pub fn order_of(&self, cidrs: impl IntoIterator<Item = IpNet>) -> Vec<IpNet> {
        if self.left.is_none() {
            return Vec::new();
        }
        let host_bits = u32::from(address_bits(self.version) - self.block_size);
        let count = self.last.wrapping_add(1);
        let mut found: Vec<(u128, IpNet)> = cidrs
            .into_iter()
            .filter(|net| net.prefix_len() == self.block_size && IpVersion::of(net) == self.version)
            .filter_map(|net| {
                let address = match net.network() {
                    IpAddr::V4(ip) => u128::from(u32::from(ip)),
                    IpAddr::V6(ip) => u128::from(ip),
                };
                let offset = address.checked_sub(self.base)?;
                let index = offset.checked_shr(host_bits).unwrap_or(0);
                if index > self.last {
                    return None;
                }
                let position = if count == 0 {
                    index.wrapping_sub(self.next)
                } else {
                    (index + count - self.next) % count
                };
                Some((position, net.trunc()))
            })
            .collect();
        found.sort_by_key(|(position, _)| *position);
        found.dedup_by_key(|(position, _)| *position);
        found.into_iter().map(|(_, net)| net).collect()
    }
}

impl Iterator for BlockWalk {
    type Item = IpNet;

    fn next(&mut self) -> Option<IpNet> {
        let left = self.left?;
        self.left = left.checked_sub(1);
        let host_bits = u32::from(address_bits(self.version) - self.block_size);
        let offset = self.next.checked_shl(host_bits).unwrap_or(0);
        self.next = if self.next == self.last {
            0
        } else {
            self.next + 1
        };
        let address = self.base + offset;
        let net = match self.version {
            IpVersion::V4 => {
                IpNet::new(IpAddr::V4(Ipv4Addr::from(address as u32)), self.block_size)
            }
            IpVersion::V6 => IpNet::new(IpAddr::V6(Ipv6Addr::from(address)), self.block_size),
        };
        net.ok()
    }
}

#[cfg(test)]
mod tests;
