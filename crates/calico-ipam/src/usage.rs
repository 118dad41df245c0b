//! How full each IP pool and block is (Calico's `GetUtilization`, `ipam.go` and `reserved.go`),
//! as `calicoctl ipam show` prints it, without IO: the caller lists pools, reservations and
//! blocks.
//!
//! Counts are exact (`u128`). Calico clamps them to Go's `int`, so for a pool of 2^63 addresses
//! or more (an IPv6 /64) it prints a capacity of 9.2234e+18 and a negative free count; we print
//! the true figures (listed in `docs/compatibility.md`). Below that the figures are Calico's.

use std::net::IpAddr;

use calico_api::model::AllocationBlock;
use calico_api::IPReservation;
use ipnet::IpNet;

use crate::block;

/// One block's figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockUsage {
    pub cidr: IpNet,
    /// Addresses in the block.
    pub capacity: u128,
    /// Addresses not on the free list (cooling down and Windows-reserved ones included):
    /// capacity minus the free list's length, so negative for a free list with duplicates,
    /// as Calico prints it.
    pub in_use: i128,
    /// Addresses an IPReservation covers, allocated or not.
    pub reserved: u128,
    /// Free addresses no reservation covers.
    pub available: u128,
}

/// One pool's figures, with its blocks'.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolUsage {
    /// The pool's name, or [`ORPHANED_BLOCKS`].
    pub name: String,
    pub cidr: IpNet,
    /// Addresses in the pool (0 for the orphaned blocks, which are not a pool).
    pub capacity: u128,
    pub in_use: i128,
    /// Addresses of the pool that reservations cover (overlaps counted once).
    pub reserved: u128,
    /// Free unreserved addresses in its blocks, plus unreserved space no block covers yet.
    pub available: u128,
    pub blocks: Vec<BlockUsage>,
}

impl PoolUsage {
    /// Whether this is the pseudo-pool of blocks that no pool holds any more.
    pub fn is_orphaned_blocks(&self) -> bool {
        self.name == ORPHANED_BLOCKS && self.cidr.prefix_len() == 0
    }
}

/// The name Calico gives the blocks that lie in no pool.
pub const ORPHANED_BLOCKS: &str = "orphaned allocation blocks";

/// The CIDRs of all reservations (Calico's `reservedCIDRs`): entries trimmed, bare addresses
/// as /32 or /128, empty and malformed entries skipped.
pub fn reserved_cidrs(reservations: &[IPReservation]) -> Vec<IpNet> {
    reservations
        .iter()
        .flat_map(|r| r.spec.reserved_cidrs.iter())
        .filter_map(|text| parse_cidr_or_ip(text.trim()))
        .collect()
}

/// A CIDR (host bits masked) or a bare address, as Calico's `ParseCIDROrIP`.
pub fn parse_cidr_or_ip(text: &str) -> Option<IpNet> {
    if text.is_empty() {
        return None;
    }
    if text.contains('/') {
        text.parse::<IpNet>().ok().map(|net| net.trunc())
    } else {
        text.parse::<IpAddr>().ok().map(IpNet::from)
    }
}

/// An address range as (family, first, last), the family being 4 or 6.
type Range = (u8, u128, u128);

fn range_of(net: &IpNet) -> Range {
    match net {
        IpNet::V4(v4) => (
            4,
            u128::from(u32::from(v4.network())),
            u128::from(u32::from(v4.broadcast())),
        ),
        IpNet::V6(v6) => (6, u128::from(v6.network()), u128::from(v6.broadcast())),
    }
}

fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    let (fa, a0, a1) = range_of(a);
    let (fb, b0, b1) = range_of(b);
    fa == fb && a0 <= b1 && b0 <= a1
}

fn size(range: &Range) -> u128 {
    // A whole IPv6 space does not fit; it is the only range that would overflow.
    (range.2 - range.1).saturating_add(1)
}

/// `from` minus every range in `holes`, as disjoint ranges.
fn subtract(from: Vec<Range>, holes: &[Range]) -> Vec<Range> {
    let mut left = from;
    for hole in holes {
        let mut next = Vec::with_capacity(left.len() + 1);
        for piece in left {
            if piece.0 != hole.0 || hole.2 < piece.1 || piece.2 < hole.1 {
                next.push(piece);
                continue;
            }
            if piece.1 < hole.1 {
                next.push((piece.0, piece.1, hole.1 - 1));
            }
            if hole.2 < piece.2 {
                next.push((piece.0, hole.2 + 1, piece.2));
            }
        }
        left = next;
    }
    left
}

/// Whether the reservations together cover every address of `net` (Calico's
/// `MatchesWholeCIDR`: a block reserved whole, even by several CIDRs, is skipped).
pub(crate) fn covers(reservations: &[IpNet], net: &IpNet) -> bool {
    let holes: Vec<Range> = reservations.iter().map(range_of).collect();
    subtract(vec![range_of(net)], &holes).is_empty()
}

fn block_usage(stored: &AllocationBlock, reservations: &[IpNet]) -> BlockUsage {
    let capacity = block::num_addresses(stored)
        .map_or_else(|| size(&range_of(&stored.cidr.trunc())), |n| n as u128);
    let free = stored.unallocated.as_deref().unwrap_or_default();
    let touching: Vec<&IpNet> = reservations
        .iter()
        .filter(|r| overlaps(r, &stored.cidr))
        .collect();
    let reserved_ip = |ip: IpAddr| touching.iter().any(|r| r.contains(&ip));
    let (reserved, available) = if touching.is_empty() {
        (0, free.len() as u128)
    } else {
        let size = block::num_addresses(stored).unwrap_or(0);
        let reserved = (0..size)
            .filter(|&o| reserved_ip(block::ordinal_to_ip(stored, o)))
            .count() as u128;
        (reserved, block::num_free(stored, &reserved_ip) as u128)
    };
    BlockUsage {
        cidr: stored.cidr,
        capacity,
        in_use: capacity as i128 - free.len() as i128,
        reserved,
        available,
    }
}

/// The figures `calicoctl ipam show` prints. `pools` are (name, CIDR) in list order (disabled
/// ones included); `wanted` names pools by name or CIDR text, empty for all, and then a last
/// [`ORPHANED_BLOCKS`] entry (`0.0.0.0/0`) holds the IPv4 blocks no pool overlaps (Calico
/// loses orphaned IPv6 blocks this way; so do we, to print what it prints). Each block counts
/// in the first pool it overlaps.
pub fn utilization(
    pools: &[(String, IpNet)],
    wanted: &[String],
    reservations: &[IpNet],
    blocks: &[AllocationBlock],
) -> Vec<PoolUsage> {
    let mut counter = UsageCounter::new(pools, wanted, reservations);
    for stored in blocks {
        counter.add_block(stored);
    }
    counter.finish()
}

/// [`utilization`] a block at a time, so a caller can read blocks page by page and keep only
/// their figures.
#[derive(Clone, Debug)]
pub struct UsageCounter {
    usage: Vec<PoolUsage>,
    reservations: Vec<IpNet>,
}

impl UsageCounter {
    /// Counts for `pools` (see [`utilization`]), no blocks yet.
    pub fn new(pools: &[(String, IpNet)], wanted: &[String], reservations: &[IpNet]) -> Self {
        let empty = |name: String, cidr: IpNet| PoolUsage {
            name,
            cidr,
            capacity: 0,
            in_use: 0,
            reserved: 0,
            available: 0,
            blocks: Vec::new(),
        };
        let mut usage: Vec<PoolUsage> = pools
            .iter()
            .filter(|(name, cidr)| {
                wanted.is_empty() || wanted.iter().any(|w| w == name || *w == cidr.to_string())
            })
            .map(|(name, cidr)| empty(name.clone(), cidr.trunc()))
            .collect();
        if wanted.is_empty() {
            usage.push(empty(
                ORPHANED_BLOCKS.into(),
                IpNet::V4(ipnet::Ipv4Net::default()),
            ));
        }
        UsageCounter {
            usage,
            reservations: reservations.to_vec(),
        }
    }

    /// Counts one block, in the first pool it overlaps (none: not counted).
    pub fn add_block(&mut self, stored: &AllocationBlock) {
        if let Some(pool) = self
            .usage
            .iter_mut()
            .find(|p| overlaps(&stored.cidr, &p.cidr))
        {
            pool.blocks.push(block_usage(stored, &self.reservations));
        }
    }

    /// The pools' totals over their blocks and the space no block covers yet.
    pub fn finish(self) -> Vec<PoolUsage> {
        let mut usage = self.usage;
        let reserved_ranges: Vec<Range> = self.reservations.iter().map(range_of).collect();
        for pool in usage.iter_mut().filter(|p| !p.is_orphaned_blocks()) {
            let whole = range_of(&pool.cidr);
            let assignable = subtract(vec![whole], &reserved_ranges);
            let block_ranges: Vec<Range> = pool.blocks.iter().map(|b| range_of(&b.cidr)).collect();
            let outside_blocks: u128 = subtract(assignable.clone(), &block_ranges)
                .iter()
                .map(size)
                .sum();
            let assignable: u128 = assignable.iter().map(size).sum();
            pool.capacity = size(&whole);
            pool.reserved = pool.capacity - assignable;
            pool.in_use = pool.blocks.iter().map(|b| b.in_use).sum();
            pool.available = pool.blocks.iter().map(|b| b.available).sum::<u128>() + outside_blocks;
        }
        usage
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::collections::BTreeMap;

    fn net(text: &str) -> IpNet {
        text.parse().unwrap()
    }

    fn block_with(cidr: &str, used: usize) -> AllocationBlock {
        let mut b = block::new_block(net(cidr), None, None, 1, None);
        block::auto_assign(&mut b, used, Some("h"), &BTreeMap::new(), None, &|_| false).unwrap();
        b
    }

    #[test]
    fn pools_count_their_blocks_and_the_space_no_block_covers() {
        let pools = vec![
            ("p1".to_string(), net("10.0.0.0/24")),
            ("p2".to_string(), net("fd00::/120")),
        ];
        let blocks = vec![
            block_with("10.0.0.0/26", 5),
            block_with("10.0.0.64/26", 0),
            block_with("fd00::/122", 2),
            block_with("192.168.0.0/30", 1),
            block_with("fd99::/126", 1),
        ];
        let reservations = vec![net("10.0.0.0/30"), net("10.0.0.2/31"), net("10.0.0.200/32")];
        let usage = utilization(&pools, &[], &reservations, &blocks);
        assert_eq!(usage.len(), 3);
        let p1 = &usage[0];
        assert_eq!(
            (p1.capacity, p1.in_use, p1.reserved, p1.available),
            // 5 used; reserved .0-.3 and .200 (overlaps once); free: block 1 has 59 of which
            // none reserved (.0-.4 allocated), block 2 64, outside blocks 128 - 1 reserved.
            (256, 5, 5, 59 + 64 + 127)
        );
        assert_eq!(p1.blocks[0].reserved, 4);
        assert_eq!(p1.blocks[0].available, 59);
        let p2 = &usage[1];
        assert_eq!((p2.capacity, p2.in_use, p2.available), (256, 2, 62 + 192));
        let orphans = &usage[2];
        assert!(orphans.is_orphaned_blocks());
        // Calico's quirk: the orphaned IPv6 block is not reported anywhere.
        assert_eq!(orphans.blocks.len(), 1);
        assert_eq!(orphans.blocks[0].cidr, net("192.168.0.0/30"));
        assert_eq!(orphans.capacity, 0);
    }

    #[test]
    fn wanted_pools_by_name_or_cidr_and_no_orphans_then() {
        let pools = vec![
            ("p1".to_string(), net("10.0.0.0/24")),
            ("p2".to_string(), net("10.1.0.0/24")),
        ];
        let usage = utilization(&pools, &["10.1.0.0/24".to_string()], &[], &[]);
        assert_eq!(usage.len(), 1);
        assert_eq!(usage[0].name, "p2");
        assert_eq!(usage[0].available, 256);
    }

    #[test]
    fn a_slash_64_pool_gets_its_true_size() {
        let pools = vec![("big".to_string(), net("fd00::/64"))];
        let usage = utilization(&pools, &[], &[], &[block_with("fd00::/122", 3)]);
        assert_eq!(usage[0].capacity, 1u128 << 64);
        assert_eq!(usage[0].available, (1u128 << 64) - 3);
    }

    #[test]
    fn reservations_are_read_as_calico_reads_them() {
        let reservation: IPReservation = serde_json::from_value(serde_json::json!({
            "apiVersion": "projectcalico.org/v3", "kind": "IPReservation",
            "metadata": {"name": "r"},
            "spec": {"reservedCIDRs": [" 10.0.0.1 ", "10.0.1.7/24", "", "bogus", "fd00::1"]}
        }))
        .unwrap();
        assert_eq!(
            reserved_cidrs(&[reservation]),
            [net("10.0.0.1/32"), net("10.0.1.0/24"), net("fd00::1/128")]
        );
    }
}
