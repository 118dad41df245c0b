//! What Calico's IPAM does inside one allocation block (`libcalico-go/lib/ipam/ipam_block.go`),
//! on the stored [`AllocationBlock`] itself, without IO: hand out addresses from the head of
//! the free list, assign a given address, release addresses (through a cooldown attribute),
//! garbage-collect cooled-down addresses and unreferenced attributes, and the checks
//! `calicoctl ipam check` makes of a block.
//!
//! Hand-written because every step shows in the stored bytes Calico's components read back:
//! the order of the free list, which attribute an allocation points at, when `attributes`
//! becomes `[]` rather than staying `null`, the per-ordinal sequence numbers.
//!
//! A stored block may be malformed (a newer or a broken writer): every operation that changes
//! a block first checks its structure and refuses it with [`BlockError::Malformed`] when it is
//! broken in a way that could hand out an address twice, so allocation skips it and never
//! writes half of a change; the read-only helpers skip what they cannot make sense of;
//! [`validate`] makes all of `ipam check`'s checks. Nothing here panics on any block.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use calico_api::model::{AllocationAttribute, AllocationBlock};
use calico_api::Time;
use chrono::{DateTime, Utc};
use ipnet::IpNet;

/// The handle of the addresses Windows nodes reserve in each block (Calico's
/// `WindowsReservedHandle`); a block holding only these counts as empty.
pub const WINDOWS_RESERVED_HANDLE: &str = "windows-reserved-ipam-handle";

/// The largest block this library works on: 2^16 addresses (Calico's smallest allowed block
/// sizes are /20 for IPv4 and /116 for IPv6, 4,096 addresses).
const MAX_BLOCK_BITS: u8 = 16;

/// Why an operation on a block failed. The texts are Calico's where Calico has one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// The stored block is inconsistent; the text is `ipam check`'s.
    #[error("{0}")]
    Malformed(String),
    /// Strict affinity and the block belongs to another host.
    #[error("Block affinity ({found}) does not match provided ({host}:{affinity_type})")]
    AffinityMismatch {
        found: String,
        host: String,
        affinity_type: String,
    },
    /// [`assign`] under strict affinity, and the block belongs to another host.
    #[error("Block host affinity does not match")]
    HostAffinityMismatch,
    /// Strict affinity and the block has no affinity.
    #[error("Attempt to assign from block {0} with no affinity")]
    NoAffinity(String),
    /// The address is not inside the block.
    #[error("IP {ip} not in block {block}")]
    NotInBlock { ip: IpAddr, block: String },
    /// [`assign`] of an address already allocated (Calico's `ErrorResourceAlreadyExists`).
    #[error("resource already exists: {0} with error: Address already assigned in block")]
    AlreadyAssigned(IpAddr),
    /// A release named a sequence number other than the allocation's.
    #[error("requested sequence number ({requested}) does not match expected ({expected})")]
    BadSequenceNumber {
        ip: IpAddr,
        requested: u64,
        expected: u64,
    },
    /// A release named a handle other than the allocation's.
    #[error("requested handle ({requested}) does not match expected ({expected})")]
    BadHandle {
        ip: IpAddr,
        requested: String,
        expected: String,
    },
}

/// Whom a block is affine to: `host:<node>` or `virtual:<name>` (Calico's `AffinityConfig`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Affinity {
    /// `host` or `virtual`.
    pub affinity_type: String,
    /// The node (or virtual owner) name.
    pub host: String,
}

impl Affinity {
    /// A node's affinity.
    pub fn host(node: impl Into<String>) -> Self {
        Affinity {
            affinity_type: "host".into(),
            host: node.into(),
        }
    }

    /// The text a block stores: `<type>:<host>`.
    pub fn block_text(&self) -> String {
        format!("{}:{}", self.affinity_type, self.host)
    }

    /// The affinity a block's text names (`host:` or `virtual:`), if any.
    pub fn of_block(block: &AllocationBlock) -> Option<Affinity> {
        let text = block.affinity.as_deref()?;
        ["host", "virtual"].iter().find_map(|kind| {
            text.strip_prefix(kind)
                .and_then(|rest| rest.strip_prefix(':'))
                .map(|host| Affinity {
                    affinity_type: (*kind).to_string(),
                    host: host.to_string(),
                })
        })
    }
}

/// Addresses Windows (or another caller) reserves at both ends of every new block (Calico's
/// `HostReservedAttr`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostReserved {
    /// How many addresses at the start of the block.
    pub start_of_block: usize,
    /// How many at its end.
    pub end_of_block: usize,
    /// The handle the reserved addresses carry.
    pub handle: String,
    /// The `note` attribute they carry.
    pub note: String,
}

/// One address to release, optionally only if it still has this handle / sequence number
/// (Calico's `ReleaseOptions`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseOption {
    pub address: IpAddr,
    /// Empty or `None`: any handle.
    pub handle: Option<String>,
    pub sequence_number: Option<u64>,
}

impl ReleaseOption {
    pub fn address(address: IpAddr) -> Self {
        ReleaseOption {
            address,
            handle: None,
            sequence_number: None,
        }
    }
}

/// What [`release`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Released {
    /// Addresses asked for that were not allocated (or already cooling down), in the order asked.
    pub unallocated: Vec<IpAddr>,
    /// Handle → how many of its addresses were released.
    pub count_by_handle: BTreeMap<String, usize>,
    /// How many addresses were released.
    pub released: usize,
}

/// Calico's `sanitizeHandle`: a handle is cut at its first `\r` (host-local migration once
/// wrote malformed handles).
pub fn sanitize_handle(handle: &str) -> &str {
    handle.split('\r').next().unwrap_or(handle)
}

/// How many addresses the block's CIDR holds, if the block is small enough to work on.
pub fn num_addresses(block: &AllocationBlock) -> Option<usize> {
    let host_bits = block.cidr.max_prefix_len() - block.cidr.prefix_len();
    (host_bits <= MAX_BLOCK_BITS).then(|| 1usize << host_bits)
}

/// The address at `ordinal` in the block.
pub fn ordinal_to_ip(block: &AllocationBlock, ordinal: usize) -> IpAddr {
    match block.cidr.network() {
        IpAddr::V4(base) => IpAddr::V4(u32::from(base).wrapping_add(ordinal as u32).into()),
        IpAddr::V6(base) => IpAddr::V6(u128::from(base).wrapping_add(ordinal as u128).into()),
    }
}

/// The ordinal of `ip` in the block, if it is inside it.
pub fn ip_to_ordinal(block: &AllocationBlock, ip: IpAddr) -> Option<usize> {
    let size = num_addresses(block)?;
    let offset = match (block.cidr.network(), ip) {
        (IpAddr::V4(base), IpAddr::V4(ip)) => u128::from(u32::from(ip).checked_sub(base.into())?),
        (IpAddr::V6(base), IpAddr::V6(ip)) => u128::from(ip).checked_sub(base.into())?,
        _ => return None,
    };
    usize::try_from(offset).ok().filter(|&o| o < size)
}

fn ordinal_key(ordinal: usize) -> String {
    ordinal.to_string()
}

/// The block's sequence number when `ordinal` was allocated (0 when none is recorded).
pub fn sequence_number_for(block: &AllocationBlock, ordinal: usize) -> u64 {
    block
        .sequence_number_for_allocation
        .as_ref()
        .and_then(|map| map.get(&ordinal_key(ordinal)).copied())
        .unwrap_or(0)
}

fn set_sequence_number_for(block: &mut AllocationBlock, ordinal: usize) {
    let current = block.sequence_number;
    block
        .sequence_number_for_allocation
        .get_or_insert_with(BTreeMap::new)
        .insert(ordinal_key(ordinal), current);
}

fn clear_sequence_number_for(block: &mut AllocationBlock, ordinal: usize) {
    if let Some(map) = block.sequence_number_for_allocation.as_mut() {
        map.remove(&ordinal_key(ordinal));
    }
}

/// A new, empty block (Calico's `newBlock`): every ordinal free in ascending order, no
/// attributes (`null`), an empty sequence-number map, and the host-reserved addresses at both
/// ends allocated to one attribute when asked (no handle object is made for them).
pub fn new_block(
    cidr: IpNet,
    affinity: Option<&Affinity>,
    claim_time: Option<Time>,
    sequence_number: u64,
    reserved: Option<&HostReserved>,
) -> AllocationBlock {
    let cidr = cidr.trunc();
    let size = 1usize << (cidr.max_prefix_len() - cidr.prefix_len()).min(MAX_BLOCK_BITS);
    let mut allocations: Vec<Option<i64>> = vec![None; size];
    let mut unallocated: Vec<i64> = (0..size as i64).collect();
    let mut attributes = None;
    if let Some(reserved) = reserved.filter(|r| r.start_of_block + r.end_of_block <= size) {
        unallocated =
            (reserved.start_of_block as i64..(size - reserved.end_of_block) as i64).collect();
        let tail = size - reserved.end_of_block;
        for ordinal in (0..reserved.start_of_block).chain(tail..size) {
            allocations[ordinal] = Some(0);
        }
        attributes = Some(vec![AllocationAttribute {
            handle_id: Some(reserved.handle.clone()),
            secondary: BTreeMap::from([("note".to_string(), reserved.note.clone())]),
            ..Default::default()
        }]);
    }
    AllocationBlock {
        cidr,
        affinity: affinity.map(Affinity::block_text),
        affinity_claim_time: claim_time,
        allocations: Some(allocations),
        unallocated: Some(unallocated),
        attributes,
        sequence_number,
        sequence_number_for_allocation: Some(BTreeMap::new()),
        deleted: false,
        host_affinity: None,
        unknown: Default::default(),
    }
}

/// Checks a stored block as `calicoctl ipam check` does (`validateBlock`), with its texts;
/// a block whose `allocations` do not match its size (Calico's check would crash) is reported
/// too.
pub fn validate(block: &AllocationBlock) -> Result<(), BlockError> {
    validate_at(block, Utc::now())
}

/// [`validate`] as of `now` (for `releasedAt` in the future).
pub fn validate_at(block: &AllocationBlock, now: DateTime<Utc>) -> Result<(), BlockError> {
    check(block, Some(now))
}

/// What a change to a block needs of it: the right number of allocations, indexes that name
/// attributes, and a free list of distinct, free ordinals inside the block. Orphan attributes,
/// lost ordinals and future release times do not stop a change (garbage collection and `ipam
/// check` deal with them).
fn check_structure(block: &AllocationBlock) -> Result<(), BlockError> {
    check(block, None)
}

/// The checks of `ipam check` (all of them when `now` is given, else the structural ones), in
/// its order and with its texts.
fn check(block: &AllocationBlock, now: Option<DateTime<Utc>>) -> Result<(), BlockError> {
    let malformed = |text: String| Err(BlockError::Malformed(text));
    let Some(size) = num_addresses(block) else {
        return malformed(format!(
            "block {} is larger than any IP pool allows",
            block.cidr
        ));
    };
    let allocations = block.allocations.as_deref().unwrap_or_default();
    if allocations.len() != size {
        return malformed(format!(
            "expected {size} allocations in this block, but it has {}",
            allocations.len()
        ));
    }
    let attributes = block.attributes.as_deref().unwrap_or_default();
    let mut seen_attributes = HashSet::new();
    let mut allocated = HashSet::new();
    for (ordinal, index) in allocations.iter().enumerate() {
        let Some(index) = *index else { continue };
        if index < 0 || index as usize >= attributes.len() {
            return malformed(format!(
                "allocation {ordinal} indexes a nonexistent attribute {index}"
            ));
        }
        seen_attributes.insert(index as usize);
        allocated.insert(ordinal);
    }
    if let Some(now) = now {
        for (index, attribute) in attributes.iter().enumerate() {
            if !seen_attributes.contains(&index) {
                return malformed(format!(
                    "attribute index {index} exists but is not indexed by an allocation"
                ));
            }
            if attribute
                .released_at
                .is_some_and(|at| at.as_datetime() > now)
            {
                return malformed(format!(
                    "attribute index {index} has releasedAt in the future, suggesting clock skew"
                ));
            }
        }
    }
    let unallocated = block.unallocated.as_deref().unwrap_or_default();
    let mut free = HashSet::new();
    for &ordinal in unallocated {
        if ordinal < 0 || ordinal as usize >= allocations.len() {
            return malformed(format!(
                "ordinal {ordinal} appears in the Unallocated array but is out of the block"
            ));
        }
        if !free.insert(ordinal) {
            return malformed(format!(
                "ordinal {ordinal} appears more than once in Unallocated array"
            ));
        }
        if allocated.contains(&(ordinal as usize)) {
            return malformed(format!(
                "ordinal {ordinal} is allocated but appears in Unallocated"
            ));
        }
    }
    if now.is_some() && unallocated.len() + allocated.len() != size {
        return malformed(format!(
            "expected {size} addresses in this block, but Unallocated ({}) + Allocated ({}) = {}",
            unallocated.len(),
            allocated.len(),
            unallocated.len() + allocated.len()
        ));
    }
    Ok(())
}

/// The attribute an allocated ordinal points at (`None` when free or out of range).
fn attribute_of(block: &AllocationBlock, ordinal: usize) -> Option<&AllocationAttribute> {
    let index = (*block.allocations.as_ref()?.get(ordinal)?)?;
    block.attributes.as_ref()?.get(usize::try_from(index).ok()?)
}

/// Whether every allocated address belongs to the Windows-reserved handle (Calico's `empty`):
/// such a block may be released. An address cooling down is not empty.
pub fn is_empty(block: &AllocationBlock) -> bool {
    let allocations = block.allocations.as_deref().unwrap_or_default();
    allocations
        .iter()
        .enumerate()
        .filter(|(_, index)| index.is_some())
        .all(|(ordinal, _)| {
            attribute_of(block, ordinal)
                .and_then(|a| a.handle_id.as_deref())
                .is_some_and(|h| h.to_lowercase() == WINDOWS_RESERVED_HANDLE)
        })
}

/// Free addresses that `reserved` does not cover (Calico's `NumFreeAddresses`).
pub fn num_free(block: &AllocationBlock, reserved: &dyn Fn(IpAddr) -> bool) -> usize {
    block
        .unallocated
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|&o| usize::try_from(o).ok())
        .filter(|&o| !reserved(ordinal_to_ip(block, o)))
        .count()
}

/// The allocated addresses, in ordinal order.
pub fn in_use(block: &AllocationBlock) -> Vec<IpAddr> {
    block
        .allocations
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter(|(_, index)| index.is_some())
        .map(|(ordinal, _)| ordinal_to_ip(block, ordinal))
        .collect()
}

/// The addresses allocated to `handle` (sanitised handles compared), in ordinal order.
pub fn ips_by_handle(block: &AllocationBlock, handle: &str) -> Vec<IpAddr> {
    let allocations = block.allocations.as_deref().unwrap_or_default();
    (0..allocations.len())
        .filter(|&ordinal| {
            attribute_of(block, ordinal)
                .and_then(|a| a.handle_id.as_deref())
                .is_some_and(|h| sanitize_handle(h) == handle)
        })
        .map(|ordinal| ordinal_to_ip(block, ordinal))
        .collect()
}

fn check_affinity(
    block: &AllocationBlock,
    strict: Option<&Affinity>,
    mismatch: impl FnOnce(&str, &Affinity) -> BlockError,
) -> Result<(), BlockError> {
    let Some(wanted) = strict else {
        return Ok(());
    };
    match block.affinity.as_deref() {
        Some(found) if found != wanted.block_text() => Err(mismatch(found, wanted)),
        Some(_) => Ok(()),
        None => Err(BlockError::NoAffinity(block.cidr.to_string())),
    }
}

/// Points an (in-range) ordinal's allocation at attribute `index`.
fn point(block: &mut AllocationBlock, ordinal: usize, index: i64) {
    if let Some(slot) = block
        .allocations
        .as_mut()
        .and_then(|all| all.get_mut(ordinal))
    {
        *slot = Some(index);
    }
}

/// The index of the attribute `{handle, secondary: attrs}`, added at the end if no equal one
/// exists (Calico's `findOrAddAttribute`: the allocations of one request share one entry).
fn find_or_add_attribute(
    block: &mut AllocationBlock,
    handle: Option<&str>,
    attrs: &BTreeMap<String, String>,
) -> i64 {
    let wanted = AllocationAttribute {
        handle_id: handle.map(str::to_string),
        secondary: attrs.clone(),
        ..Default::default()
    };
    let attributes = block.attributes.get_or_insert_with(Vec::new);
    if let Some(index) = attributes.iter().position(|a| *a == wanted) {
        return index as i64;
    }
    attributes.push(wanted);
    attributes.len() as i64 - 1
}

/// Hands out up to `num` free addresses from the head of the free list, skipping (and keeping
/// in place) those `reserved` covers (Calico's block-level `autoAssign`). They share one
/// attribute and get the block's current sequence number; they are returned with the block's
/// prefix length (`10.0.0.5/26`). With `strict` set, the block must be affine to that owner.
pub fn auto_assign(
    block: &mut AllocationBlock,
    num: usize,
    handle: Option<&str>,
    attrs: &BTreeMap<String, String>,
    strict: Option<&Affinity>,
    reserved: &dyn Fn(IpAddr) -> bool,
) -> Result<Vec<IpNet>, BlockError> {
    check_structure(block)?;
    check_affinity(block, strict, |found, wanted| {
        BlockError::AffinityMismatch {
            found: found.to_string(),
            host: wanted.host.clone(),
            affinity_type: wanted.affinity_type.clone(),
        }
    })?;
    let prefix = block.cidr.prefix_len();
    let free = block.unallocated.take().unwrap_or_default();
    let mut kept = Vec::with_capacity(free.len());
    let mut taken = Vec::new();
    for ordinal in free {
        // Validated: every free ordinal is inside the block.
        let at = ordinal as usize;
        if taken.len() >= num || reserved(ordinal_to_ip(block, at)) {
            kept.push(ordinal);
        } else {
            taken.push(at);
        }
    }
    block.unallocated = Some(kept);
    let mut ips = Vec::with_capacity(taken.len());
    if taken.is_empty() {
        return Ok(ips);
    }
    let index = find_or_add_attribute(block, handle, attrs);
    for ordinal in taken {
        point(block, ordinal, index);
        set_sequence_number_for(block, ordinal);
        if let Ok(ip) = IpNet::new(ordinal_to_ip(block, ordinal), prefix) {
            ips.push(ip);
        }
    }
    Ok(ips)
}

/// Allocates one given address (Calico's block-level `assign`).
pub fn assign(
    block: &mut AllocationBlock,
    ip: IpAddr,
    handle: Option<&str>,
    attrs: &BTreeMap<String, String>,
    strict: Option<&Affinity>,
) -> Result<(), BlockError> {
    check_structure(block)?;
    check_affinity(block, strict, |_, _| BlockError::HostAffinityMismatch)?;
    let ordinal = ip_to_ordinal(block, ip).ok_or_else(|| BlockError::NotInBlock {
        ip,
        block: block.cidr.to_string(),
    })?;
    // Calico records the sequence number before it finds the address taken.
    set_sequence_number_for(block, ordinal);
    if attribute_of(block, ordinal).is_some() {
        return Err(BlockError::AlreadyAssigned(ip));
    }
    let index = find_or_add_attribute(block, handle, attrs);
    point(block, ordinal, index);
    if let Some(free) = block.unallocated.as_mut() {
        if let Some(position) = free.iter().position(|&o| o == ordinal as i64) {
            free.remove(position);
        }
    }
    Ok(())
}

/// Adds the attribute that released addresses point at while they cool down.
fn add_cooldown_attribute(block: &mut AllocationBlock, now: DateTime<Utc>) -> i64 {
    let attributes = block.attributes.get_or_insert_with(Vec::new);
    attributes.push(AllocationAttribute {
        released_at: Some(Time::from_datetime(now)),
        ..Default::default()
    });
    attributes.len() as i64 - 1
}

/// Releases addresses (Calico's block-level `release`): a wrong sequence number or handle
/// fails the whole block and changes nothing; free or cooling-down addresses are reported
/// back; the released ones point at one new cooldown attribute, and [`garbage_collect`] runs
/// at once.
pub fn release(
    block: &mut AllocationBlock,
    options: &[ReleaseOption],
    cooldown_seconds: i64,
    now: DateTime<Utc>,
) -> Result<Released, BlockError> {
    check_structure(block)?;
    // One option per address (the last given wins, as Go's map does), in the order given.
    let mut unique: Vec<&ReleaseOption> = Vec::new();
    for option in options {
        match unique.iter_mut().find(|o| o.address == option.address) {
            Some(existing) => *existing = option,
            None => unique.push(option),
        }
    }
    let mut outcome = Released::default();
    let mut ordinals = Vec::new();
    for option in unique {
        let ordinal =
            ip_to_ordinal(block, option.address).ok_or_else(|| BlockError::NotInBlock {
                ip: option.address,
                block: block.cidr.to_string(),
            })?;
        let stored = sequence_number_for(block, ordinal);
        if let Some(requested) = option.sequence_number.filter(|&r| r != stored) {
            return Err(BlockError::BadSequenceNumber {
                ip: option.address,
                requested,
                expected: stored,
            });
        }
        let Some(attribute) = attribute_of(block, ordinal).filter(|a| a.released_at.is_none())
        else {
            outcome.unallocated.push(option.address);
            continue;
        };
        let handle = attribute
            .handle_id
            .as_deref()
            .map(sanitize_handle)
            .unwrap_or_default()
            .to_string();
        if let Some(requested) = option.handle.as_deref().filter(|h| !h.is_empty()) {
            if requested != handle {
                return Err(BlockError::BadHandle {
                    ip: option.address,
                    requested: requested.to_string(),
                    expected: handle,
                });
            }
        }
        if !handle.is_empty() {
            *outcome.count_by_handle.entry(handle).or_default() += 1;
        }
        ordinals.push(ordinal);
    }
    if ordinals.is_empty() {
        return Ok(outcome);
    }
    let cooldown = add_cooldown_attribute(block, now);
    for &ordinal in &ordinals {
        point(block, ordinal, cooldown);
        set_sequence_number_for(block, ordinal);
    }
    outcome.released = ordinals.len();
    garbage_collect(block, cooldown_seconds, now);
    Ok(outcome)
}

/// Releases every address of `handle` (only those allocated at `sequence_number`, when given),
/// as Calico's block-level `releaseByHandle` does; returns how many were released.
pub fn release_by_handle(
    block: &mut AllocationBlock,
    handle: &str,
    sequence_number: Option<u64>,
    cooldown_seconds: i64,
    now: DateTime<Utc>,
) -> Result<usize, BlockError> {
    check_structure(block)?;
    let allocations = block.allocations.as_deref().unwrap_or_default();
    let matching: Vec<usize> = (0..allocations.len())
        .filter(|&ordinal| {
            attribute_of(block, ordinal)
                .and_then(|a| a.handle_id.as_deref())
                .is_some_and(|h| sanitize_handle(h) == handle)
        })
        .filter(|&ordinal| sequence_number.is_none_or(|s| s == sequence_number_for(block, ordinal)))
        .collect();
    let has_handle = block
        .attributes
        .as_deref()
        .unwrap_or_default()
        .iter()
        .any(|a| a.handle_id.as_deref().map(sanitize_handle) == Some(handle));
    if !has_handle {
        return Ok(0);
    }
    if !matching.is_empty() {
        let cooldown = add_cooldown_attribute(block, now);
        for &ordinal in &matching {
            point(block, ordinal, cooldown);
        }
    }
    garbage_collect(block, cooldown_seconds, now);
    Ok(matching.len())
}

/// Frees the addresses whose cooldown has passed (released before `now - cooldown_seconds`;
/// always when the cooldown is negative) by appending them to the free list's tail, then
/// drops the attributes nothing points at and renumbers the rest (Calico's `garbageCollect`,
/// the only place addresses return to the free list). Returns whether the block changed.
/// A malformed block is left alone.
pub fn garbage_collect(
    block: &mut AllocationBlock,
    cooldown_seconds: i64,
    now: DateTime<Utc>,
) -> bool {
    if check_structure(block).is_err() {
        return false;
    }
    let threshold = now - chrono::Duration::seconds(cooldown_seconds.max(0));
    let was_null = block.attributes.is_none();
    let attributes = block.attributes.take().unwrap_or_default();
    let had_attributes = attributes.len();
    let mut allocations = block.allocations.take().unwrap_or_default();
    let mut changed = false;
    let mut used = vec![false; attributes.len()];
    for (ordinal, slot) in allocations.iter_mut().enumerate() {
        let Some(index) = *slot else { continue };
        let index = index as usize;
        let expired = attributes
            .get(index)
            .and_then(|a| a.released_at)
            .is_some_and(|at| cooldown_seconds < 0 || at.as_datetime() < threshold);
        if expired {
            *slot = None;
            block
                .unallocated
                .get_or_insert_with(Vec::new)
                .push(ordinal as i64);
            clear_sequence_number_for(block, ordinal);
            changed = true;
        } else if let Some(flag) = used.get_mut(index) {
            *flag = true;
        }
    }
    let kept = used.iter().filter(|&&u| u).count();
    if kept == had_attributes {
        block.attributes = if was_null { None } else { Some(attributes) };
    } else {
        let mut renumbered = vec![None; had_attributes];
        let mut compacted = Vec::with_capacity(kept);
        for (old, attribute) in attributes.into_iter().enumerate() {
            if used.get(old).copied().unwrap_or(false) {
                renumbered[old] = Some(compacted.len() as i64);
                compacted.push(attribute);
            }
        }
        for slot in allocations.iter_mut() {
            if let Some(index) = *slot {
                *slot = renumbered.get(index as usize).copied().flatten();
            }
        }
        block.attributes = Some(compacted);
        changed = true;
    }
    block.allocations = Some(allocations);
    changed
}

#[cfg(test)]
mod tests;
