//! Calico's IPAM allocator (libcalico-go's `AutoAssign`, `AssignIP`, `ReleaseByHandle` and
//! `IPsByHandle`) on any datastore, through an [`Ipam`] client.
//!
//! The algorithms are Calico's, step for step where a step shows in the datastore: the pools an
//! allocation may use, the host's affine blocks first (in the order the datastore lists their
//! affinities), a new block claimed through a pending affinity when none has room (at most
//! `maxBlocksPerHost`), an empty block of another host reclaimed after a minute, borrowing from
//! other hosts' blocks unless affinity is strict, the handle written before the block on
//! allocation, compare-and-swap writes retried up to [`DATASTORE_RETRIES`] times.
//!
//! Where Calico does more work than its result needs, this does less, with the same stored
//! bytes:
//! - borrowing looks only at blocks that exist (one list) instead of reading every block CIDR
//!   of a pool in turn;
//! - a handle is created without reading it first when it is new (the usual case: one handle
//!   per workload), and read only when it exists;
//! - concurrent [`Ipam::auto_assign`] calls for one host are allocated in batches, one block
//!   write for a batch instead of one compare-and-swap race per call (see [`Ipam`]);
//! - a handle is incremented by the number of addresses a block gave, not the number asked
//!   for (Calico's over-count never comes down again, so the handle would never be deleted;
//!   listed in `docs/compatibility.md`).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use calico_api::model::{
    AffinityState, AffinityType, AllocationBlock, BlockAffinity, BlockAffinityKey, BlockKey,
    HandleKey, IPAMConfig, IPAMHandle, IpVersion, ModelKey, ModelListOptions, ModelValue,
};
use calico_api::{parse_pool_cidr, AnyResource, IPPool, IPReservation};
use calico_datastore::backend::{ModelKv, ModelWrite, Read, ReadResult};
use calico_datastore::client::Client;
use calico_datastore::rules::after_list;
use calico_datastore::{DatastoreError, KindRef, ListOptions, ResourceKey};
use chrono::Utc;
use ipnet::IpNet;
use thiserror::Error;
use tokio::sync::oneshot;
use tracing::{debug, info, warn};

use crate::assign::{
    choose_pools, claim_affine_block, claimed_block, pending_affinity, AllowedUse, BlockWalk,
    ClaimError, PoolSelectionError,
};
use crate::block::{self, Affinity, BlockError, HostReserved, ReleaseOption};
use crate::query::{block_cidr_for, config_from, ipam_config, pool_for_ip, pools};
use crate::release::{
    self, release_block_affinity_at, ReleaseError, ReleaseOutcome, DATASTORE_RETRIES,
};
use crate::usage::{covers, reserved_cidrs};

/// How long after its claim an empty block of another host may be taken over
/// (Calico's `EmptyBlockMinReclaimAge`).
pub const EMPTY_BLOCK_MIN_RECLAIM_AGE_SECONDS: i64 = 60;

/// The block limit per host when neither the request nor the IPAM configuration sets one.
pub const DEFAULT_MAX_BLOCKS_PER_HOST: usize = 20;

/// Why an allocation failed; the texts are Calico's.
#[derive(Debug, Error)]
pub enum AssignError {
    #[error("{0}")]
    Datastore(#[from] DatastoreError),
    #[error("{0}")]
    Pools(#[from] PoolSelectionError),
    #[error("{0}")]
    Claim(#[from] ClaimError),
    #[error("{0}")]
    Block(#[from] BlockError),
    #[error("{0}")]
    Release(#[from] ReleaseError),
    /// The host has as many blocks as it may and none has room.
    #[error("cannot allocate new block due to per host block limit")]
    BlockLimit,
    /// No pool has a block left to claim.
    #[error("No Free Blocks")]
    NoFreeBlocks,
    /// The affinity names a block that belongs to someone else (the affinity was deleted).
    #[error("Affinity is stale: {0}")]
    StaleAffinity(String),
    #[error("Max retries hit - excessive concurrent IPAM requests")]
    MaxRetries,
    /// [`Ipam::assign_ip`] of an address in no enabled pool (the newline is Calico's).
    #[error("The provided IP address is not in a configured pool\n")]
    NotInPool,
    /// Anything else, in Calico's words.
    #[error("{0}")]
    Other(String),
    /// An error another process met allocating for this one ([`crate::HostQueue`]), as text.
    #[error("{message}")]
    Queued { message: String, not_found: bool },
}

impl AssignError {
    fn is_conflict(&self) -> bool {
        match self {
            AssignError::Datastore(err) => err.is_conflict(),
            AssignError::Claim(ClaimError::Datastore(err)) => err.is_conflict(),
            AssignError::Release(ReleaseError::Datastore(err)) => err.is_conflict(),
            _ => false,
        }
    }

    /// Something the allocation needed (the node, a handle, a block) did not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            AssignError::Queued { not_found, .. } => *not_found,
            AssignError::Datastore(err) => err.is_not_found(),
            AssignError::Claim(ClaimError::Datastore(err)) => err.is_not_found(),
            _ => false,
        }
    }
}

/// What to allocate (Calico's `AutoAssignArgs`).
#[derive(Clone, Debug)]
pub struct AutoAssignArgs {
    pub num4: usize,
    pub num6: usize,
    /// The handle the addresses are recorded under (`None`: no handle).
    pub handle: Option<String>,
    /// The attributes stored with each allocation (`node`, `namespace`, `pod`, …).
    pub attrs: BTreeMap<String, String>,
    /// The node the addresses are for.
    pub hostname: String,
    /// Pools to use instead of those selecting the node (each must be enabled).
    pub ipv4_pools: Vec<IpNet>,
    pub ipv6_pools: Vec<IpNet>,
    /// This request's block limit (0: the IPAM configuration's, else 20).
    pub max_blocks_per_host: usize,
    /// Addresses to reserve at both ends of new blocks (Windows nodes).
    pub host_reserved: Option<HostReserved>,
    pub intended_use: AllowedUse,
    /// The workload's namespace labels, for the pools' namespace selectors.
    pub namespace_labels: Option<BTreeMap<String, String>>,
}

impl AutoAssignArgs {
    /// One IPv4 address for a workload on `hostname`, under `handle`.
    pub fn workload(hostname: impl Into<String>, handle: Option<String>) -> Self {
        AutoAssignArgs {
            num4: 1,
            num6: 0,
            handle,
            attrs: BTreeMap::new(),
            hostname: hostname.into(),
            ipv4_pools: Vec::new(),
            ipv6_pools: Vec::new(),
            max_blocks_per_host: 0,
            host_reserved: None,
            intended_use: AllowedUse::Workload,
            namespace_labels: None,
        }
    }
}

/// The addresses of one family an allocation got (Calico's `IPAMAssignments`).
#[derive(Clone, Debug, PartialEq)]
pub struct Assignments {
    pub version: IpVersion,
    /// With the block's prefix length (`10.0.0.5/26`).
    pub ips: Vec<IpNet>,
    pub requested: usize,
    /// Why fewer than requested were assigned, Calico's messages, each once.
    pub messages: Vec<String>,
    /// The handle of the host-reserved addresses, if the request had them.
    pub host_reserved_handle: Option<String>,
}

impl Assignments {
    fn new(version: IpVersion, requested: usize, reserved: Option<&HostReserved>) -> Self {
        Assignments {
            version,
            ips: Vec::new(),
            requested,
            messages: Vec::new(),
            host_reserved_handle: reserved.map(|r| r.handle.clone()),
        }
    }

    fn add_message(&mut self, message: String) {
        if !self.messages.contains(&message) {
            self.messages.push(message);
        }
    }

    /// Calico's `PartialFulfillmentError`: `None` when every requested address was assigned.
    pub fn partial_fulfillment_error(&self) -> Option<String> {
        if self.ips.len() >= self.requested {
            return None;
        }
        let mut text = format!(
            "Assigned {} out of {} requested IPv{} addresses",
            self.ips.len(),
            self.requested,
            self.version.number()
        );
        for message in &self.messages {
            text.push_str("; ");
            text.push_str(message);
        }
        if let Some(handle) = &self.host_reserved_handle {
            text.push_str("; HostReservedAttr: ");
            text.push_str(handle);
        }
        Some(text)
    }
}

/// What [`Ipam::auto_assign`] assigned, per family (`None`: the family was not asked for, or
/// not reached).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AutoAssignOutcome {
    pub v4: Option<Assignments>,
    pub v6: Option<Assignments>,
}

impl AutoAssignOutcome {
    /// Every address assigned, IPv4 first.
    pub fn ips(&self) -> Vec<IpNet> {
        self.v4
            .iter()
            .chain(self.v6.iter())
            .flat_map(|a| a.ips.iter().copied())
            .collect()
    }
}

/// A failed [`Ipam::auto_assign`]: the cause, and what had been assigned before it (which the
/// caller releases, as Calico's CNI plugin does).
#[derive(Debug, Error)]
#[error("{cause}")]
pub struct AutoAssignError {
    pub partial: Box<AutoAssignOutcome>,
    #[source]
    pub cause: Box<AssignError>,
}

impl AutoAssignError {
    fn new(partial: AutoAssignOutcome, cause: AssignError) -> Self {
        AutoAssignError {
            partial: Box::new(partial),
            cause: Box::new(cause),
        }
    }
}

/// One given address to allocate (Calico's `AssignIPArgs`).
#[derive(Clone, Debug)]
pub struct AssignIpArgs {
    pub ip: IpAddr,
    pub handle: Option<String>,
    pub attrs: BTreeMap<String, String>,
    pub hostname: String,
    /// When given, the address's pool must allow it.
    pub intended_use: Option<AllowedUse>,
    /// Addresses to reserve at both ends of a block this claims.
    pub host_reserved: Option<HostReserved>,
}

/// Calico's IPAM client over one datastore client.
///
/// Concurrent [`Ipam::auto_assign`] calls of one clone family for the same host and the same
/// kind of request (pools, use, limits, namespace) are combined: while one batch is being
/// allocated the next calls queue, and the queue is then allocated as one batch that reads the
/// pools, configuration and the host's blocks once and gives each caller its addresses in one
/// block write (each with its own handle and attributes, as if allocated one after another).
#[derive(Clone)]
pub struct Ipam {
    client: Client,
    combine: bool,
    queues: Arc<Mutex<HashMap<String, Vec<Waiter>>>>,
    /// Per host and family, the blocks it last allocated from: read with the allocation's
    /// first batch, so a steady-state allocation needs no second read.
    hints: Arc<Mutex<BTreeMap<String, Vec<IpNet>>>>,
}

fn hint_key(host: &str, version: IpVersion) -> String {
    format!("{host}/{}", version.number())
}

/// What one allocation of a batch gives.
pub type AutoAssignResult = Result<AutoAssignOutcome, AutoAssignError>;

/// A queued [`Ipam::auto_assign`] call.
struct Waiter {
    args: AutoAssignArgs,
    reply: oneshot::Sender<AutoAssignResult>,
}

/// What requests must share to be allocated in one batch: everything but the handle, the
/// attributes and the counts.
fn batch_key(args: &AutoAssignArgs) -> String {
    format!(
        "{:?}",
        (
            &args.hostname,
            args.intended_use,
            &args.ipv4_pools,
            &args.ipv6_pools,
            args.max_blocks_per_host,
            &args.host_reserved,
            &args.namespace_labels,
        )
    )
}

/// The reserved addresses (IPReservations) an allocation skips.
#[derive(Clone, Debug, Default)]
struct Reserved {
    cidrs: Vec<IpNet>,
}

impl Reserved {
    fn contains(&self, ip: IpAddr) -> bool {
        self.cidrs.iter().any(|c| c.contains(&ip))
    }

    fn covers(&self, net: &IpNet) -> bool {
        !self.cidrs.is_empty() && covers(&self.cidrs, net)
    }

    fn filter(&self) -> impl Fn(IpAddr) -> bool + '_ {
        move |ip| self.contains(ip)
    }
}

/// A block as read, garbage-collected as Calico's `blockFromBackend` does on every read.
#[derive(Clone, Debug)]
struct ReadBlock {
    block: AllocationBlock,
    revision: String,
}

fn unexpected(key: &ModelKey, value: &ModelValue) -> DatastoreError {
    DatastoreError::Store(format!(
        "unexpected value type {} for {key}",
        value.kind().go_name()
    ))
}

fn block_from(kv: ModelKv, config: &IPAMConfig) -> Result<ReadBlock, DatastoreError> {
    match kv.value {
        ModelValue::Block(mut block) => {
            block::garbage_collect(&mut block, config.ip_cooldown_seconds, Utc::now());
            Ok(ReadBlock {
                block,
                revision: kv.revision,
            })
        }
        other => Err(unexpected(&kv.key, &other)),
    }
}

fn affinity_type_of(use_: AllowedUse) -> AffinityType {
    if use_ == AllowedUse::LoadBalancer {
        AffinityType::Virtual
    } else {
        AffinityType::Host
    }
}

fn affinity_for(host: &str, use_: AllowedUse) -> Affinity {
    Affinity {
        affinity_type: affinity_type_of(use_).as_str().to_string(),
        host: host.to_string(),
    }
}

fn unexpected_answer() -> AssignError {
    AssignError::Other("unexpected batch answer".into())
}

/// The resources of a batched list that `pick` keeps, as the client gives them.
fn listed<T>(
    result: ReadResult,
    pick: fn(AnyResource) -> Option<T>,
) -> Result<Vec<T>, AssignError> {
    match result {
        ReadResult::Resources(list) => Ok(list
            .items
            .into_iter()
            .map(after_list)
            .filter_map(pick)
            .collect()),
        _ => Err(unexpected_answer()),
    }
}

/// Go's `%v` of a string slice: `[a b c]`.
fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

/// The pool (of `pools`) whose CIDR contains `ip` (Calico's `findContainingPool`).
fn containing_pool(pools: &[IPPool], ip: IpAddr) -> Option<&IPPool> {
    pools
        .iter()
        .find(|pool| parse_pool_cidr(&pool.spec.cidr).is_some_and(|net| net.contains(&ip)))
}

/// The state of one family's allocation between its steps (Calico's `blockAssignState`).
struct AssignState {
    host: String,
    affinity: Affinity,
    version: IpVersion,
    pools: Vec<IPPool>,
    remaining_affine: VecDeque<Affine>,
    reserved: Reserved,
    host_reserved: Option<HostReserved>,
    allow_new_claim: bool,
}

/// One of the host's affine blocks as listed: its affinity, and its block when read ahead
/// (`Some(None)`: it does not exist).
struct Affine {
    affinity: ModelKv,
    block: Option<Option<ModelKv>>,
}

/// What an allocation reads before it looks at blocks, in one batch.
struct Context {
    config: IPAMConfig,
    reservations: Vec<IPReservation>,
    /// Every pool, with the client's defaults.
    pools: Vec<IPPool>,
    /// The node's labels (none for a load balancer's virtual node).
    node_labels: BTreeMap<String, String>,
    /// The host's affinities of the family.
    affinities: Vec<ModelKv>,
    /// The blocks read with them on a hint (`None`: it does not exist).
    blocks: HashMap<IpNet, Option<ModelKv>>,
}

/// One caller's part of a family's allocation.
struct Share<'a> {
    /// Sanitised.
    handle: Option<String>,
    attrs: &'a BTreeMap<String, String>,
    num: usize,
    assigned: Assignments,
    /// Set when this caller's allocation failed on its own (the block limit).
    error: Option<AssignError>,
}

impl<'a> Share<'a> {
    fn new(args: &'a AutoAssignArgs, version: IpVersion, num: usize) -> Self {
        Share {
            handle: args
                .handle
                .as_deref()
                .map(|h| block::sanitize_handle(h).to_string()),
            attrs: &args.attrs,
            num,
            assigned: Assignments::new(version, num, args.host_reserved.as_ref()),
            error: None,
        }
    }

    fn remaining(&self) -> usize {
        if self.error.is_some() {
            return 0;
        }
        self.num.saturating_sub(self.assigned.ips.len())
    }
}

/// Gives each share the addresses a round assigned it; returns how many there were.
fn record(shares: &mut [Share<'_>], got: Vec<(usize, Vec<IpNet>)>) -> usize {
    let mut total = 0;
    for (i, ips) in got {
        total += ips.len();
        if let Some(share) = shares.get_mut(i) {
            share.assigned.ips.extend(ips);
        }
    }
    total
}

fn add_message_to_wanting(shares: &mut [Share<'_>], message: &str) {
    for share in shares.iter_mut().filter(|s| s.remaining() > 0) {
        share.assigned.add_message(message.to_string());
    }
}

impl Ipam {
    /// An IPAM client combining concurrent allocations (see [`Ipam`]).
    pub fn new(client: Client) -> Ipam {
        Ipam {
            client,
            combine: true,
            queues: Arc::default(),
            hints: Arc::default(),
        }
    }

    /// Whether concurrent allocations are combined (on by default; off, each call runs on its
    /// own, exactly as Calico's client does).
    pub fn with_combining(mut self, combine: bool) -> Ipam {
        self.combine = combine;
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The blocks each host last allocated from (per family), for [`Ipam::set_block_hints`]
    /// in another process ([`crate::HostQueue`] keeps them in its directory). Only a hint: a
    /// wrong one costs a read.
    pub fn block_hints(&self) -> BTreeMap<String, Vec<IpNet>> {
        self.hints.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Takes block hints from [`Ipam::block_hints`].
    pub fn set_block_hints(&self, hints: BTreeMap<String, Vec<IpNet>>) {
        *self.hints.lock().unwrap_or_else(|e| e.into_inner()) = hints;
    }

    fn hinted(&self, host: &str, version: IpVersion) -> Vec<IpNet> {
        self.hints
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&hint_key(host, version))
            .cloned()
            .unwrap_or_default()
    }

    fn remember(&self, host: &str, version: IpVersion, blocks: Vec<IpNet>) {
        let mut hints = self.hints.lock().unwrap_or_else(|e| e.into_inner());
        if blocks.is_empty() {
            hints.remove(&hint_key(host, version));
        } else {
            hints.insert(hint_key(host, version), blocks);
        }
    }

    /// Allocates addresses from the pools the host may use (Calico's `AutoAssign`): IPv4 first;
    /// when IPv4 fails, IPv6 is not tried. A family that gets fewer addresses than requested
    /// without an error says why in its messages
    /// ([`Assignments::partial_fulfillment_error`]).
    pub async fn auto_assign(&self, args: AutoAssignArgs) -> AutoAssignResult {
        info!(
            num4 = args.num4,
            num6 = args.num6,
            host = %args.hostname,
            "auto-assigning addresses"
        );
        if !self.combine || tokio::runtime::Handle::try_current().is_err() {
            return self
                .assign_batch(vec![args])
                .await
                .pop()
                .unwrap_or_else(|| {
                    Err(AutoAssignError::new(
                        AutoAssignOutcome::default(),
                        AssignError::Other("no allocation was made".into()),
                    ))
                });
        }
        let key = batch_key(&args);
        let (reply, answer) = oneshot::channel();
        let lead = {
            let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
            match queues.get_mut(&key) {
                Some(queue) => {
                    queue.push(Waiter { args, reply });
                    false
                }
                None => {
                    queues.insert(key.clone(), vec![Waiter { args, reply }]);
                    true
                }
            }
        };
        if lead {
            // The batches run on their own task, so that a caller that gives up waiting does
            // not strand the others' addresses.
            let this = self.clone();
            tokio::spawn(async move { this.lead(key).await });
        }
        answer.await.unwrap_or_else(|_| {
            Err(AutoAssignError::new(
                AutoAssignOutcome::default(),
                AssignError::Other("the allocation task ended without an answer".into()),
            ))
        })
    }

    /// Several allocations at once (as concurrent [`Ipam::auto_assign`] calls would be),
    /// combined where they share a host and kind of request; the answers in the order asked.
    pub async fn auto_assign_batch(&self, requests: Vec<AutoAssignArgs>) -> Vec<AutoAssignResult> {
        let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, args) in requests.iter().enumerate() {
            let key = batch_key(args);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(i),
                None => groups.push((key, vec![i])),
            }
        }
        let mut slots: Vec<Option<AutoAssignResult>> = (0..requests.len()).map(|_| None).collect();
        let mut requests: Vec<Option<AutoAssignArgs>> = requests.into_iter().map(Some).collect();
        for (_, members) in groups {
            let batch: Vec<AutoAssignArgs> = members
                .iter()
                .filter_map(|&i| requests.get_mut(i).and_then(Option::take))
                .collect();
            for (i, result) in members.into_iter().zip(self.assign_batch(batch).await) {
                if let Some(slot) = slots.get_mut(i) {
                    *slot = Some(result);
                }
            }
        }
        slots
            .into_iter()
            .map(|slot| {
                slot.unwrap_or_else(|| {
                    Err(AutoAssignError::new(
                        AutoAssignOutcome::default(),
                        AssignError::Other("no allocation was made".into()),
                    ))
                })
            })
            .collect()
    }

    /// Allocates the queue `key` batch by batch until it is empty.
    async fn lead(&self, key: String) {
        loop {
            let batch = {
                let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
                let taken = queues.get_mut(&key).map(std::mem::take).unwrap_or_default();
                if taken.is_empty() {
                    queues.remove(&key);
                    return;
                }
                taken
            };
            debug!(requests = batch.len(), "allocating a batch");
            let (args, replies): (Vec<_>, Vec<_>) =
                batch.into_iter().map(|w| (w.args, w.reply)).unzip();
            let results = self.assign_batch(args).await;
            for (reply, result) in replies.into_iter().zip(results) {
                // A caller that stopped waiting gets nothing; its addresses stay allocated
                // under its handle, as after a lost answer.
                let _ = reply.send(result);
            }
        }
    }

    /// [`Ipam::auto_assign`] for requests of one batch key, family by family.
    async fn assign_batch(&self, batch: Vec<AutoAssignArgs>) -> Vec<AutoAssignResult> {
        let mut outcomes: Vec<AutoAssignOutcome> = vec![AutoAssignOutcome::default(); batch.len()];
        let mut errors: Vec<Option<AssignError>> = (0..batch.len()).map(|_| None).collect();
        for version in [IpVersion::V4, IpVersion::V6] {
            let mut members = Vec::new();
            for (i, args) in batch.iter().enumerate() {
                let (num, requested) = match version {
                    IpVersion::V4 => (args.num4, &args.ipv4_pools),
                    IpVersion::V6 => (args.num6, &args.ipv6_pools),
                };
                if num == 0 || errors[i].is_some() {
                    continue;
                }
                if requested.iter().any(|p| IpVersion::of(p) != version) {
                    let (this, other) = match version {
                        IpVersion::V4 => ("IPv4", "IPv6"),
                        IpVersion::V6 => ("IPv6", "IPv4"),
                    };
                    // Calico drops the IPv4 addresses already assigned here (they leak); ours
                    // hands them back for the caller to release.
                    errors[i] = Some(AssignError::Other(format!(
                        "provided {this} IPPools list contains one or more {other} IPPools"
                    )));
                    continue;
                }
                members.push((i, num));
            }
            let Some(&(first, _)) = members.first() else {
                continue;
            };
            let requested = match version {
                IpVersion::V4 => &batch[first].ipv4_pools,
                IpVersion::V6 => &batch[first].ipv6_pools,
            };
            let mut shares: Vec<Share<'_>> = members
                .iter()
                .map(|&(i, num)| Share::new(&batch[i], version, num))
                .collect();
            if let Err(err) = self
                .assign_family(&batch[first], version, requested, &mut shares)
                .await
            {
                if shares.len() == 1 {
                    shares[0].error = Some(err);
                } else {
                    // Each caller still short gets its own answer, as if it had been alone.
                    debug!(error = %err, "a batch failed: allocating its callers one by one");
                    for (share, &(i, _)) in shares.iter_mut().zip(&members) {
                        if share.remaining() == 0 {
                            continue;
                        }
                        if let Err(err) = self
                            .assign_family(
                                &batch[i],
                                version,
                                requested,
                                std::slice::from_mut(share),
                            )
                            .await
                        {
                            share.error = Some(err);
                        }
                    }
                }
            }
            for (share, &(i, _)) in shares.into_iter().zip(&members) {
                if let Some(err) = share.error {
                    errors[i] = Some(err);
                }
                match version {
                    IpVersion::V4 => outcomes[i].v4 = Some(share.assigned),
                    IpVersion::V6 => outcomes[i].v6 = Some(share.assigned),
                }
            }
        }
        outcomes
            .into_iter()
            .zip(errors)
            .map(|(partial, error)| match error {
                Some(cause) => Err(AutoAssignError::new(partial, cause)),
                None => Ok(partial),
            })
            .collect()
    }

    /// The node's labels (Calico reads the Calico Node; a missing node fails the allocation).
    async fn node_labels(&self, host: &str) -> Result<BTreeMap<String, String>, AssignError> {
        let kind = KindRef::lookup("Node")
            .ok_or_else(|| AssignError::Other("kind Node is not registered".into()))?;
        match self.client.get(&ResourceKey::new(kind, "", host)).await? {
            AnyResource::Node(node) => Ok(node.metadata.labels.clone()),
            _ => Err(AssignError::Other(
                "Datastore returned malformed node object".into(),
            )),
        }
    }

    /// Calico's `autoAssign` for one family, for every share at once (`args` gives what they
    /// have in common). An error returned ends the whole family; the block limit is set on
    /// each share it stopped.
    async fn assign_family(
        &self,
        args: &AutoAssignArgs,
        version: IpVersion,
        requested_pools: &[IpNet],
        shares: &mut [Share<'_>],
    ) -> Result<(), AssignError> {
        let host = args.hostname.as_str();
        let affinity = affinity_for(host, args.intended_use);
        let mut context = self.read_context(args, version).await?;
        let read_ahead = std::mem::take(&mut context.blocks);
        let config = context.config.clone();
        let reserved = Reserved {
            cidrs: reserved_cidrs(&context.reservations),
        };
        let (pools, affine) = self
            .prepare_affine_blocks(context, args, version, requested_pools, &affinity)
            .await?;
        let affine = self.prefetch_blocks(affine, read_ahead).await;
        let mut affine_cidrs: Vec<IpNet> = affine
            .iter()
            .filter_map(|a| match &a.affinity.key {
                ModelKey::BlockAffinity(key) => Some(key.cidr()),
                _ => None,
            })
            .collect();
        let mut blocks_owned = affine.len();
        let mut max_blocks = args.max_blocks_per_host;
        let config_max = usize::try_from(config.max_blocks_per_host).unwrap_or(0);
        // The more restrictive of the request's and the configuration's limits; either may be
        // unset (0).
        if max_blocks == 0 || (config_max > 0 && max_blocks > config_max) {
            max_blocks = config_max;
        }
        if max_blocks == 0 {
            max_blocks = DEFAULT_MAX_BLOCKS_PER_HOST;
        }
        let mut state = AssignState {
            host: host.to_string(),
            affinity: affinity.clone(),
            version,
            pools,
            remaining_affine: affine.into(),
            reserved,
            host_reserved: args.host_reserved.clone(),
            allow_new_claim: true,
        };
        let strict = config.strict_affinity.then_some(&affinity);
        let mut stop = false;
        while shares.iter().any(|s| s.remaining() > 0) {
            if blocks_owned >= max_blocks {
                state.allow_new_claim = false;
            }
            let (mut read, newly_claimed) = match self
                .find_or_claim_block(&config, &mut state)
                .await
            {
                Ok(found) => found,
                Err(AssignError::NoFreeBlocks) => {
                    if config.strict_affinity {
                        add_message_to_wanting(
                            shares,
                            "No more free affine blocks and strict affinity enabled",
                        );
                    }
                    break;
                }
                Err(AssignError::BlockLimit) => {
                    warn!(
                        blocks_owned,
                        max_blocks, "unable to allocate a new IPAM block: the host has its limit"
                    );
                    add_message_to_wanting(shares, &format!(
                        "Need to allocate an IPAM block but could not - limit of {max_blocks} blocks reached for this node"
                    ));
                    for share in shares.iter_mut().filter(|s| s.remaining() > 0) {
                        share.error = Some(AssignError::BlockLimit);
                    }
                    self.remember(host, version, affine_cidrs);
                    return Ok(());
                }
                Err(err) => return Err(err),
            };
            if newly_claimed {
                blocks_owned += 1;
                affine_cidrs.push(read.block.cidr.trunc());
            }
            for _ in 0..DATASTORE_RETRIES {
                match self
                    .assign_round(&read, shares, strict, &state.reserved)
                    .await
                {
                    Ok(_) => break,
                    Err(err) if err.is_conflict() => {
                        debug!(cidr = %read.block.cidr, "block changed under us: reading it again");
                        let key = ModelKey::Block(BlockKey::new(read.block.cidr));
                        match self.client.backend().get_model(&key).await {
                            Ok(kv) => read = block_from(kv, &config)?,
                            Err(err) => {
                                warn!(error = %err, "failed to read the block again after a conflict");
                                break;
                            }
                        }
                    }
                    Err(err) => {
                        warn!(error = %err, cidr = %read.block.cidr, "failed to assign addresses in the block");
                        add_message_to_wanting(
                            shares,
                            "Failed to assign IPs in newly allocated block",
                        );
                        // A block that cannot be used (malformed, another's under strict
                        // affinity) is passed over, as Calico does; a write the datastore
                        // refuses would be refused in every block, and Calico would claim
                        // block after block up to the host's limit: stop instead.
                        if !matches!(err, AssignError::Block(_)) {
                            stop = true;
                        }
                        break;
                    }
                }
            }
            if stop {
                break;
            }
            // A block that is now full (or failed) is not offered again: find_or_claim_block
            // goes on to the next affine block or a new one.
        }
        self.remember(host, version, affine_cidrs);
        if !config.strict_affinity {
            for share in shares.iter_mut().filter(|s| s.remaining() > 0) {
                self.borrow(&config, &state, share).await?;
            }
        }
        Ok(())
    }

    /// Reads what an allocation needs before it looks at blocks — the IPAM configuration, the
    /// reservations, the pools, the node and the host's affinities of the family — in one
    /// batch (one round trip where the driver can, as etcd and the embedded store can).
    async fn read_context(
        &self,
        args: &AutoAssignArgs,
        version: IpVersion,
    ) -> Result<Context, AssignError> {
        let kind = |name: &str| {
            KindRef::lookup(name)
                .ok_or_else(|| AssignError::Other(format!("kind {name} is not registered")))
        };
        let host = args.hostname.as_str();
        let load_balancer = args.intended_use == AllowedUse::LoadBalancer;
        let node_key = ResourceKey::new(kind("Node")?, "", host);
        let mut reads = vec![
            Read::Model(ModelKey::Config),
            Read::Resources(ListOptions::all(kind("IPReservation")?)),
            Read::Resources(ListOptions::all(kind("IPPool")?)),
            Read::Models(ModelListOptions::BlockAffinities {
                affinity_type: affinity_type_of(args.intended_use),
                host: Some(host.to_string()),
                ip_version: Some(version),
            }),
        ];
        if !load_balancer {
            reads.push(Read::Resource(node_key.clone()));
        }
        let hinted = self.hinted(host, version);
        reads.extend(
            hinted
                .iter()
                .map(|cidr| Read::Model(ModelKey::Block(BlockKey::new(*cidr)))),
        );
        let mut results = self.client.backend().read_batch(reads).await?.into_iter();
        let mut next = || {
            results
                .next()
                .ok_or_else(|| AssignError::Other("a batched read answered too little".into()))
        };
        let ReadResult::Model(config) = next()? else {
            return Err(unexpected_answer());
        };
        let config = config_from(config)?;
        let reservations = listed(next()?, |item| match item {
            AnyResource::IPReservation(r) => Some(*r),
            _ => None,
        })?;
        let pools = listed(next()?, |item| match item {
            AnyResource::IPPool(p) => Some(*p),
            _ => None,
        })?;
        let ReadResult::Models(affinities) = next()? else {
            return Err(unexpected_answer());
        };
        let node_labels = if load_balancer {
            BTreeMap::new()
        } else {
            match next()? {
                ReadResult::Resource(Some(AnyResource::Node(node))) => node.metadata.labels,
                ReadResult::Resource(Some(_)) => {
                    return Err(AssignError::Other(
                        "Datastore returned malformed node object".into(),
                    ))
                }
                // Read again for the driver's own not-found error.
                _ => self.node_labels(host).await?,
            }
        };
        let mut blocks = HashMap::new();
        for cidr in hinted {
            if let Some(ReadResult::Model(found)) = results.next() {
                blocks.insert(cidr, found);
            }
        }
        Ok(Context {
            config,
            reservations,
            pools,
            node_labels,
            affinities: affinities.items,
            blocks,
        })
    }

    /// The host's affine blocks with their blocks: those `read_ahead` holds as read, the rest
    /// read in one batch.
    async fn prefetch_blocks(
        &self,
        affinities: Vec<ModelKv>,
        mut read_ahead: HashMap<IpNet, Option<ModelKv>>,
    ) -> Vec<Affine> {
        let cidr_of = |kv: &ModelKv| match &kv.key {
            ModelKey::BlockAffinity(key) => Some(key.cidr()),
            _ => None,
        };
        let missing: Vec<IpNet> = affinities
            .iter()
            .filter_map(cidr_of)
            .filter(|cidr| !read_ahead.contains_key(cidr))
            .collect();
        if !missing.is_empty() {
            let reads = missing
                .iter()
                .map(|cidr| Read::Model(ModelKey::Block(BlockKey::new(*cidr))))
                .collect();
            match self.client.backend().read_batch(reads).await {
                Ok(blocks) => {
                    for (cidr, block) in missing.into_iter().zip(blocks) {
                        if let ReadResult::Model(found) = block {
                            read_ahead.insert(cidr, found);
                        }
                    }
                }
                Err(err) => {
                    debug!(error = %err, "reading the affine blocks ahead failed: reading them one by one");
                }
            }
        }
        affinities
            .into_iter()
            .map(|affinity| {
                let block = cidr_of(&affinity).and_then(|cidr| read_ahead.remove(&cidr));
                Affine { affinity, block }
            })
            .collect()
    }

    /// Claims the block of `affinity_key` for its host in one transaction: the affinity created
    /// confirmed and the block created affine to the host (Calico's pending affinity, block
    /// creation and confirmation, with no moment in between for a crash to leave behind).
    /// `None` when the affinity or the block already exists: then Calico's steps sort it out.
    async fn claim_at_once(
        &self,
        config: &IPAMConfig,
        state: &AssignState,
        affinity_key: &BlockAffinityKey,
    ) -> Result<Option<ReadBlock>, AssignError> {
        let block = claimed_block(affinity_key, state.host_reserved.as_ref());
        let cidr = affinity_key.cidr();
        let confirmed = BlockAffinity {
            state: AffinityState::Confirmed,
            ..BlockAffinity::default()
        };
        let writes = vec![
            ModelWrite::Create(
                ModelKey::BlockAffinity(affinity_key.clone()),
                ModelValue::BlockAffinity(confirmed),
            ),
            ModelWrite::Create(
                ModelKey::Block(BlockKey::new(cidr)),
                ModelValue::Block(block),
            ),
        ];
        match self.client.backend().write_models(writes).await {
            Ok(written) => match written.into_iter().nth(1) {
                Some(kv) => {
                    info!(%cidr, "claimed a new block");
                    Ok(Some(block_from(kv, config)?))
                }
                None => Err(AssignError::Other(
                    "a transaction answered too little".into(),
                )),
            },
            Err(err) if err.is_already_exists() => {
                debug!(%cidr, error = %err, "the affinity or block exists: claiming step by step");
                Ok(None)
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Calico's `prepareAffinityBlocksForHost`: the pools to use and the host's affine blocks in
    /// them; affinities to blocks of pools that no longer select the node are released when the
    /// blocks are empty.
    async fn prepare_affine_blocks(
        &self,
        context: Context,
        args: &AutoAssignArgs,
        version: IpVersion,
        requested_pools: &[IpNet],
        affinity: &Affinity,
    ) -> Result<(Vec<IPPool>, Vec<ModelKv>), AssignError> {
        let host = args.hostname.as_str();
        let config = &context.config;
        let node_labels = context.node_labels;
        let choice = choose_pools(
            &context.pools,
            requested_pools,
            version,
            host,
            &node_labels,
            args.namespace_labels.as_ref(),
            args.host_reserved.as_ref(),
            args.intended_use,
        )?;
        let mut allowed = Vec::new();
        let mut others = Vec::new();
        for kv in context.affinities {
            let ModelKey::BlockAffinity(key) = &kv.key else {
                continue;
            };
            let cidr = key.cidr();
            if containing_pool(&choice.allowed, cidr.network()).is_some() {
                allowed.push(kv);
            } else {
                others.push(cidr);
            }
        }
        for cidr in others {
            if containing_pool(&choice.selecting_node, cidr.network()).is_some() {
                continue;
            }
            let Some(pool) = pool_for_ip(&choice.enabled, cidr.network(), false) else {
                warn!(%cidr, "no pool found for block, skipping");
                continue;
            };
            match crate::assign::pool_selects_node(pool, &node_labels) {
                Ok(false) => {}
                Ok(true) => continue,
                Err(err) => {
                    warn!(pool = %pool.metadata.name, error = %err, "failed to determine if node matches pool, skipping");
                    continue;
                }
            }
            for _ in 0..DATASTORE_RETRIES {
                match release_block_affinity_at(&self.client, config, affinity, cidr, true, None)
                    .await
                {
                    Ok(()) => {
                        info!(%cidr, "released affine block that no longer selects this host");
                        break;
                    }
                    Err(ReleaseError::ClaimConflict(_)) | Err(ReleaseError::NotEmpty(_)) => break,
                    Err(err) if err.is_not_found() => break,
                    Err(err) => {
                        warn!(%cidr, error = %err, "error releasing block, trying again");
                    }
                }
            }
        }
        Ok((choice.allowed, allowed))
    }

    /// Calico's `findOrClaimBlock` with one free address wanted: an affine block with room, or
    /// a newly claimed one (`true`).
    async fn find_or_claim_block(
        &self,
        config: &IPAMConfig,
        state: &mut AssignState,
    ) -> Result<(ReadBlock, bool), AssignError> {
        while let Some(Affine {
            affinity: listed,
            block: mut prefetched,
        }) = state.remaining_affine.pop_front()
        {
            let ModelKey::BlockAffinity(affinity_key) = &listed.key else {
                continue;
            };
            let cidr = affinity_key.cidr();
            if state.reserved.covers(&cidr) {
                debug!(%cidr, "ignoring block, it is entirely reserved");
                continue;
            }
            let key = listed.key.clone();
            // The first try uses the affinity as listed (and its block as read ahead); a retry
            // reads them again.
            let mut known = Some(listed);
            for _ in 0..DATASTORE_RETRIES {
                let affinity = match known.take() {
                    Some(kv) => kv,
                    None => match self.client.backend().get_model(&key).await {
                        Ok(kv) => kv,
                        Err(err) => {
                            warn!(%cidr, error = %err, "error getting affinity");
                            break;
                        }
                    },
                };
                match self
                    .block_from_affinity(
                        config,
                        affinity,
                        state.host_reserved.as_ref(),
                        &state.affinity,
                        prefetched.take(),
                    )
                    .await
                {
                    Ok(read) => {
                        let free = block::num_free(&read.block, &state.reserved.filter());
                        if free >= 1 {
                            return Ok((read, false));
                        }
                        debug!(%cidr, "affine block is full");
                        break;
                    }
                    Err(err) if err.is_conflict() => continue,
                    Err(err) => {
                        warn!(%cidr, error = %err, "couldn't get block for affinity, trying the next one");
                        break;
                    }
                }
            }
        }
        info!(
            host = state.host,
            "ran out of existing affine blocks for host"
        );
        if !state.allow_new_claim {
            return Err(AssignError::BlockLimit);
        }
        if !config.auto_allocate_blocks {
            return Err(AssignError::Other("failed to find or claim a block".into()));
        }
        for _ in 0..DATASTORE_RETRIES {
            let subnet = self.find_usable_block(config, state).await?;
            info!(%subnet, "found an unclaimed block");
            let affinity_key = BlockAffinityKey::new(
                subnet,
                state.host.as_str(),
                affinity_type_of_text(&state.affinity),
            );
            let mut next_block = false;
            for _ in 0..DATASTORE_RETRIES {
                if self.client.backend().atomic_model_writes() {
                    if let Some(read) = self.claim_at_once(config, state, &affinity_key).await? {
                        let free = block::num_free(&read.block, &state.reserved.filter());
                        if free >= 1 {
                            return Ok((read, true));
                        }
                        return Err(AssignError::Other(format!(
                            "Block '{}' has {free} free ips which is less than 1 ips required.",
                            read.block.cidr
                        )));
                    }
                }
                let pending = match pending_affinity(&self.client, affinity_key.clone()).await {
                    Ok(pending) => pending,
                    Err(ClaimError::Datastore(err)) if err.is_conflict() => continue,
                    Err(err) => return Err(err.into()),
                };
                match self
                    .block_from_affinity(
                        config,
                        pending,
                        state.host_reserved.as_ref(),
                        &state.affinity,
                        None,
                    )
                    .await
                {
                    Ok(read) => {
                        let free = block::num_free(&read.block, &state.reserved.filter());
                        if free >= 1 {
                            return Ok((read, true));
                        }
                        // Another allocator of this host claimed the block first and filled
                        // it meanwhile. Calico fails the allocation here; ours looks for
                        // another block.
                        debug!(cidr = %read.block.cidr, "the block filled up under us, finding another");
                        next_block = true;
                        break;
                    }
                    Err(err) if err.is_conflict() => continue,
                    Err(AssignError::Claim(ClaimError::Conflict { .. }))
                    | Err(AssignError::StaleAffinity(_)) => {
                        debug!(%subnet, "block taken by someone else, finding another");
                        next_block = true;
                        break;
                    }
                    Err(err) => return Err(err),
                }
            }
            if !next_block {
                // The inner retries ran out; Calico looks for a block again.
                continue;
            }
        }
        Err(AssignError::MaxRetries)
    }

    /// Calico's `getBlockFromAffinity`: the affinity's block, claimed when it does not exist;
    /// a stale affinity (its block belongs to someone else) is deleted; an unconfirmed one is
    /// confirmed after rewriting the block (so concurrent writers of the old revision fail).
    async fn block_from_affinity(
        &self,
        config: &IPAMConfig,
        affinity_kv: ModelKv,
        host_reserved: Option<&HostReserved>,
        owner: &Affinity,
        prefetched: Option<Option<ModelKv>>,
    ) -> Result<ReadBlock, AssignError> {
        let ModelKey::BlockAffinity(key) = &affinity_kv.key else {
            return Err(unexpected(&affinity_kv.key, &affinity_kv.value).into());
        };
        let ModelValue::BlockAffinity(value) = &affinity_kv.value else {
            return Err(unexpected(&affinity_kv.key, &affinity_kv.value).into());
        };
        let cidr = key.cidr();
        let block_key = ModelKey::Block(BlockKey::new(cidr));
        let backend = self.client.backend();
        let found = match prefetched {
            Some(Some(kv)) => Ok(kv),
            Some(None) => Err(DatastoreError::ModelDoesNotExist {
                key: block_key.clone(),
                cause: None,
            }),
            None => backend.get_model(&block_key).await,
        };
        let kv = match found {
            Ok(kv) => kv,
            Err(err) if err.is_not_found() => {
                info!(%cidr, "the affinity's block does not exist: claiming it");
                let mut pending = value.clone();
                pending.state = AffinityState::Pending;
                let pending = backend
                    .update_model(
                        affinity_kv.key.clone(),
                        ModelValue::BlockAffinity(pending),
                        &affinity_kv.revision,
                    )
                    .await?;
                let claimed = claim_affine_block(&self.client, &pending, host_reserved).await?;
                return Ok(block_from(claimed, config)?);
            }
            Err(err) => return Err(err.into()),
        };
        let read = block_from(kv, config)?;
        if read.block.affinity.as_deref() != Some(owner.block_text().as_str()) {
            warn!(%cidr, affinity = ?read.block.affinity, "block does not match the affinity: deleting the stale affinity");
            backend
                .delete_model(&affinity_kv.key, Some(&affinity_kv.revision))
                .await?;
            return Err(AssignError::StaleAffinity(format!(
                "{} {}",
                affinity_kv.key,
                value.state.as_str()
            )));
        }
        if value.state != AffinityState::Confirmed && value.state != AffinityState::Unset {
            info!(%cidr, "affinity has not been confirmed: confirming it");
            let mut pending = value.clone();
            pending.state = AffinityState::Pending;
            let pending = backend
                .update_model(
                    affinity_kv.key.clone(),
                    ModelValue::BlockAffinity(pending),
                    &affinity_kv.revision,
                )
                .await?;
            let mut rewritten = read.block.clone();
            rewritten.sequence_number = rewritten.sequence_number.wrapping_add(1);
            let written = backend
                .update_model(block_key, ModelValue::Block(rewritten), &read.revision)
                .await?;
            let mut confirmed = value.clone();
            confirmed.state = AffinityState::Confirmed;
            backend
                .update_model(
                    pending.key.clone(),
                    ModelValue::BlockAffinity(confirmed),
                    &pending.revision,
                )
                .await?;
            return Ok(block_from(written, config)?);
        }
        Ok(read)
    }

    /// Calico's `findUsableBlock`: the first block CIDR (in each pool's walk for this host)
    /// with no block, or with a block of this host that has room; else an empty block of
    /// another host claimed over a minute ago, taken from it; else [`AssignError::NoFreeBlocks`].
    async fn find_usable_block(
        &self,
        config: &IPAMConfig,
        state: &AssignState,
    ) -> Result<IpNet, AssignError> {
        if state.pools.is_empty() {
            return Err(AssignError::Other(format!(
                "no configured Calico pools for {}:{}",
                state.affinity.affinity_type, state.affinity.host
            )));
        }
        let listed = self
            .client
            .backend()
            .list_model(&ModelListOptions::all_blocks())
            .await?;
        struct Info {
            free: usize,
            affinity: Option<Affinity>,
            empty: bool,
            claim_time: Option<chrono::DateTime<Utc>>,
            sequence_number: u64,
        }
        let now = Utc::now();
        let mut existing: HashMap<IpNet, Info> = HashMap::with_capacity(listed.items.len());
        for kv in listed.items {
            let ModelValue::Block(mut stored) = kv.value else {
                continue;
            };
            block::garbage_collect(&mut stored, config.ip_cooldown_seconds, now);
            existing.insert(
                stored.cidr.trunc(),
                Info {
                    free: block::num_free(&stored, &state.reserved.filter()),
                    affinity: Affinity::of_block(&stored),
                    empty: block::is_empty(&stored),
                    claim_time: stored.affinity_claim_time.map(|t| t.as_datetime()),
                    sequence_number: stored.sequence_number,
                },
            );
        }
        let mut reclaimable: Vec<(IpNet, &Info)> = Vec::new();
        for pool in &state.pools {
            for subnet in BlockWalk::for_host(pool, &state.host) {
                if state.reserved.covers(&subnet) {
                    continue;
                }
                match existing.get(&subnet) {
                    None => return Ok(subnet),
                    Some(info)
                        if info.affinity.as_ref() == Some(&state.affinity) && info.free != 0 =>
                    {
                        return Ok(subnet)
                    }
                    Some(info) if info.empty && info.free != 0 => reclaimable.push((subnet, info)),
                    Some(_) => {}
                }
            }
        }
        for (cidr, info) in reclaimable {
            if let Some(claimed) = info.claim_time {
                let age = now.signed_duration_since(claimed);
                if age < chrono::Duration::seconds(EMPTY_BLOCK_MIN_RECLAIM_AGE_SECONDS) {
                    info!(%cidr, "block was claimed less than a minute ago by another node, not reclaiming it");
                    continue;
                }
            }
            let Some(owner) = &info.affinity else {
                // Calico releases the affinity of an unaffine block by an empty host, which
                // always fails; the block is passed over.
                warn!(%cidr, "failed to release affinity while trying to reclaim block: no host");
                continue;
            };
            match release_block_affinity_at(
                &self.client,
                config,
                owner,
                cidr,
                true,
                Some(info.sequence_number),
            )
            .await
            {
                Ok(()) => {
                    info!(%cidr, "reclaimed empty block");
                    return Ok(cidr);
                }
                Err(err) => {
                    warn!(%cidr, error = %err, "failed to release affinity while trying to reclaim block");
                }
            }
        }
        warn!("no free blocks found in any pool");
        Err(AssignError::NoFreeBlocks)
    }

    /// Calico's `assignFromExistingBlock` for every share still short: addresses from the head
    /// of the block's free list for each in turn (each with its own attribute), the handles
    /// incremented first, then the block written with one compare-and-swap (the handles
    /// decremented again if that fails). Returns how many addresses were assigned (0: the
    /// block is full).
    async fn assign_round(
        &self,
        read: &ReadBlock,
        shares: &mut [Share<'_>],
        strict: Option<&Affinity>,
        reserved: &Reserved,
    ) -> Result<usize, AssignError> {
        let mut updated = read.block.clone();
        let mut got: Vec<(usize, Vec<IpNet>)> = Vec::new();
        for (i, share) in shares.iter().enumerate() {
            let wanted = share.remaining();
            if wanted == 0 {
                continue;
            }
            let ips = block::auto_assign(
                &mut updated,
                wanted,
                share.handle.as_deref(),
                share.attrs,
                strict,
                &reserved.filter(),
            )?;
            if ips.is_empty() {
                break;
            }
            got.push((i, ips));
        }
        if got.is_empty() {
            return Ok(0);
        }
        let cidr = updated.cidr.trunc();
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for (i, ips) in &got {
            let Some(handle) = shares[*i].handle.as_deref() else {
                continue;
            };
            match counts.iter_mut().find(|(h, _)| *h == handle) {
                Some((_, n)) => *n += ips.len(),
                None => counts.push((handle, ips.len())),
            }
        }
        updated.sequence_number = updated.sequence_number.wrapping_add(1);
        if self.client.backend().atomic_model_writes() {
            // New handles and the block in one transaction; a handle that exists already is
            // incremented step by step below instead.
            let mut writes: Vec<ModelWrite> = counts
                .iter()
                .map(|(handle, n)| {
                    let mut blocks = BTreeMap::new();
                    blocks.insert(cidr.to_string(), *n as i64);
                    ModelWrite::Create(
                        ModelKey::Handle(HandleKey::new(*handle)),
                        ModelValue::Handle(IPAMHandle {
                            block: Some(blocks),
                            ..IPAMHandle::default()
                        }),
                    )
                })
                .collect();
            writes.push(ModelWrite::Update(
                ModelKey::Block(BlockKey::new(cidr)),
                ModelValue::Block(updated.clone()),
                read.revision.clone(),
            ));
            match self.client.backend().write_models(writes).await {
                Ok(_) => return Ok(record(shares, got)),
                Err(err) if err.is_already_exists() => {
                    debug!(error = %err, "a handle exists: incrementing it step by step");
                }
                Err(err) => return Err(err.into()),
            }
        }
        let increments = futures::future::join_all(
            counts
                .iter()
                .map(|(handle, n)| self.increment_handle(handle, cidr, *n)),
        )
        .await;
        let mut failed = None;
        let mut incremented = Vec::new();
        for (result, count) in increments.into_iter().zip(&counts) {
            match result {
                Ok(()) => incremented.push(*count),
                Err(err) => {
                    failed.get_or_insert(err);
                }
            }
        }
        let written = match failed {
            Some(err) => Err(err),
            None => self
                .client
                .backend()
                .update_model(
                    ModelKey::Block(BlockKey::new(cidr)),
                    ModelValue::Block(updated),
                    &read.revision,
                )
                .await
                .map(|_| ())
                .map_err(AssignError::from),
        };
        if let Err(err) = written {
            for (handle, n) in incremented {
                if let Err(undo) =
                    release::decrement_handle(&self.client, handle, cidr, n as i64, None).await
                {
                    warn!(error = %undo, handle, "failed to decrement handle");
                }
            }
            return Err(err);
        }
        Ok(record(shares, got))
    }

    /// Calico's `incrementHandle`: `num` more addresses in `cidr` on the handle, created when
    /// it does not exist.
    async fn increment_handle(
        &self,
        handle_id: &str,
        cidr: IpNet,
        num: usize,
    ) -> Result<(), AssignError> {
        let key = ModelKey::Handle(HandleKey::new(handle_id));
        let backend = self.client.backend();
        let block_text = cidr.to_string();
        // Most handles are new: try to create first, read only if it exists.
        let mut known: Option<ModelKv> = None;
        for _ in 0..DATASTORE_RETRIES {
            let Some(kv) = known.take() else {
                let mut blocks = BTreeMap::new();
                blocks.insert(block_text.clone(), num as i64);
                let handle = IPAMHandle {
                    block: Some(blocks),
                    ..IPAMHandle::default()
                };
                match backend
                    .create_model(key.clone(), ModelValue::Handle(handle))
                    .await
                {
                    Ok(_) => return Ok(()),
                    Err(err) if err.is_already_exists() => {
                        match backend.get_model(&key).await {
                            Ok(kv) => known = Some(kv),
                            Err(err) if err.is_not_found() => continue,
                            Err(err) => return Err(err.into()),
                        }
                        continue;
                    }
                    Err(err) => {
                        warn!(error = %err, "failed to create handle, retrying");
                        continue;
                    }
                }
            };
            let ModelValue::Handle(mut handle) = kv.value else {
                return Err(unexpected(&kv.key, &kv.value).into());
            };
            *handle
                .block
                .get_or_insert_with(BTreeMap::new)
                .entry(block_text.clone())
                .or_insert(0) += num as i64;
            match backend
                .update_model(key.clone(), ModelValue::Handle(handle), &kv.revision)
                .await
            {
                Ok(_) => return Ok(()),
                Err(err) if err.is_not_found() => continue,
                Err(err) => {
                    warn!(error = %err, "failed to update handle, retrying");
                    match backend.get_model(&key).await {
                        Ok(kv) => known = Some(kv),
                        Err(err) if err.is_not_found() => {}
                        Err(err) => return Err(err.into()),
                    }
                }
            }
        }
        Err(AssignError::MaxRetries)
    }

    /// Calico's borrowing phase for one share: addresses from blocks of the pools that exist,
    /// in each pool's walk order for this host, whoever they belong to. Only blocks that exist
    /// are read.
    async fn borrow(
        &self,
        config: &IPAMConfig,
        state: &AssignState,
        share: &mut Share<'_>,
    ) -> Result<(), AssignError> {
        info!(
            remaining = share.remaining(),
            "assigning from non-affine blocks"
        );
        let listed = self
            .client
            .backend()
            .list_model(&ModelListOptions::Blocks {
                ip_version: Some(state.version),
            })
            .await?;
        let existing: HashSet<IpNet> = listed
            .items
            .iter()
            .filter_map(|kv| match &kv.value {
                ModelValue::Block(b) => Some(b.cidr.trunc()),
                _ => None,
            })
            .collect();
        let mut exhausted = Vec::new();
        for pool in &state.pools {
            if share.remaining() == 0 {
                break;
            }
            let walk = BlockWalk::for_host(pool, &state.host);
            for cidr in walk.order_of(existing.iter().copied()) {
                if share.remaining() == 0 {
                    break;
                }
                if state.reserved.covers(&cidr) {
                    continue;
                }
                let key = ModelKey::Block(BlockKey::new(cidr));
                for _ in 0..DATASTORE_RETRIES {
                    let read = match self.client.backend().get_model(&key).await {
                        Ok(kv) => block_from(kv, config)?,
                        Err(err) => {
                            warn!(%cidr, error = %err, "failed to get non-affine block");
                            break;
                        }
                    };
                    match self
                        .assign_round(&read, std::slice::from_mut(share), None, &state.reserved)
                        .await
                    {
                        Ok(n) => {
                            if n > 0 {
                                info!(%cidr, "assigned addresses from a non-affine block");
                            }
                            break;
                        }
                        Err(err) if err.is_conflict() => continue,
                        Err(err) => {
                            warn!(%cidr, error = %err, "failed to assign from non-affine block");
                            break;
                        }
                    }
                }
            }
            if share.remaining() > 0 {
                warn!(pool = %pool.spec.cidr, "all addresses exhausted in pool");
                exhausted.push(pool.spec.cidr.clone());
            }
        }
        if !exhausted.is_empty() {
            share.assigned.add_message(format!(
                "No IPs available in pools: {}",
                go_list(&exhausted)
            ));
        }
        Ok(())
    }

    /// Allocates one given address (Calico's `AssignIP`), claiming its block for the host when
    /// the block does not exist yet.
    pub async fn assign_ip(&self, args: AssignIpArgs) -> Result<(), AssignError> {
        let host = args.hostname.as_str();
        let ip = args.ip.to_canonical();
        let use_ = args.intended_use.unwrap_or(AllowedUse::Workload);
        let owner = affinity_for(host, use_);
        info!(%ip, host, "assigning address");
        let all = pools(&self.client).await?;
        let Some(pool) = pool_for_ip(&all, ip, true) else {
            return Err(AssignError::NotInPool);
        };
        if let Some(use_) = args.intended_use {
            if !pool.spec.allowed_uses.iter().any(|u| u == use_.as_str()) {
                return Err(AssignError::Other(format!(
                    "IP address {ip} is in IP pool {:?}, which is not allowed for use {:?} (allowedUses: {})",
                    pool.metadata.name,
                    use_.as_str(),
                    go_list(&pool.spec.allowed_uses)
                )));
            }
        }
        let config = ipam_config(&self.client).await?;
        let cidr = block_cidr_for(ip, pool.spec.block_size).ok_or_else(|| {
            AssignError::Other(format!("invalid block size on pool {}", pool.metadata.name))
        })?;
        let key = ModelKey::Block(BlockKey::new(cidr));
        let handle = args.handle.as_deref().map(block::sanitize_handle);
        for _ in 0..DATASTORE_RETRIES {
            let read = match self.client.backend().get_model(&key).await {
                Ok(kv) => block_from(kv, &config)?,
                Err(err) if err.is_not_found() => {
                    debug!(%ip, "the address's block does not exist yet: claiming it");
                    let affinity_key = BlockAffinityKey::new(cidr, host, affinity_type_of(use_));
                    let pending = match pending_affinity(&self.client, affinity_key).await {
                        Ok(pending) => pending,
                        Err(ClaimError::Datastore(err)) if err.is_conflict() => continue,
                        Err(err) => return Err(err.into()),
                    };
                    match claim_affine_block(&self.client, &pending, args.host_reserved.as_ref())
                        .await
                    {
                        Ok(kv) => block_from(kv, &config)?,
                        // Calico's claim-conflict check never matches here (a pointer type
                        // test), so another host's claim is returned as the error.
                        Err(ClaimError::Datastore(err)) if err.is_conflict() => continue,
                        Err(err) => return Err(err.into()),
                    }
                }
                Err(err) => return Err(err.into()),
            };
            let mut updated = read.block.clone();
            let strict = config.strict_affinity.then_some(&owner);
            block::assign(&mut updated, ip, handle, &args.attrs, strict)?;
            if let Some(handle) = handle {
                self.increment_handle(handle, cidr, 1)
                    .await
                    .map_err(|err| {
                        AssignError::Other(format!("failed to increment handle: {err}"))
                    })?;
            }
            updated.sequence_number = updated.sequence_number.wrapping_add(1);
            match self
                .client
                .backend()
                .update_model(key.clone(), ModelValue::Block(updated), &read.revision)
                .await
            {
                Ok(_) => return Ok(()),
                Err(err) => {
                    if let Some(handle) = handle {
                        if let Err(undo) =
                            release::decrement_handle(&self.client, handle, cidr, 1, None).await
                        {
                            warn!(error = %undo, handle, "failed to decrement handle");
                        }
                    }
                    if err.is_conflict() {
                        continue;
                    }
                    return Err(err.into());
                }
            }
        }
        Err(AssignError::MaxRetries)
    }

    /// Releases addresses (Calico's `ReleaseIPs`, see [`release::release_ips`]).
    pub async fn release_ips(
        &self,
        options: &[ReleaseOption],
    ) -> Result<ReleaseOutcome, ReleaseError> {
        release::release_ips(&self.client, options).await
    }

    /// Releases every address of a handle (Calico's `ReleaseByHandle`), block by block; the
    /// handle is counted down and deleted when none are left. A missing handle is an error
    /// whose `is_not_found()` holds.
    pub async fn release_by_handle(&self, handle: &str) -> Result<(), ReleaseError> {
        self.release_by_handles(vec![handle.to_string()])
            .await
            .pop()
            .unwrap_or(Ok(()))
    }

    /// [`Ipam::release_by_handle`] for several handles at once, in their order: the handles
    /// and the configuration read in one batch, then block by block every handle's addresses
    /// in that block released with one write (and, where the driver writes several objects
    /// at once, the handles counted down in the same transaction).
    pub async fn release_by_handles(&self, handles: Vec<String>) -> Vec<Result<(), ReleaseError>> {
        let handles: Vec<String> = handles
            .iter()
            .map(|h| block::sanitize_handle(h).to_string())
            .collect();
        let mut reads: Vec<Read> = handles
            .iter()
            .map(|h| Read::Model(ModelKey::Handle(HandleKey::new(h.as_str()))))
            .collect();
        reads.push(Read::Model(ModelKey::Config));
        let mut results = match self.client.backend().read_batch(reads).await {
            Ok(results) => results,
            Err(err) => {
                return handles
                    .iter()
                    .map(|_| Err(ReleaseError::Datastore(err.clone())))
                    .collect()
            }
        };
        let config = match results.pop() {
            Some(ReadResult::Model(found)) => config_from(found),
            _ => ipam_config(&self.client).await,
        };
        let config = match config {
            Ok(config) => config,
            Err(err) => {
                return handles
                    .iter()
                    .map(|_| Err(ReleaseError::Datastore(err.clone())))
                    .collect()
            }
        };
        let mut outcome: Vec<Result<(), ReleaseError>> = Vec::with_capacity(handles.len());
        let mut stored: HashMap<String, ModelKv> = HashMap::new();
        // Block → the handles with addresses there, in order.
        let mut by_block: BTreeMap<IpNet, Vec<String>> = BTreeMap::new();
        for (handle, result) in handles.iter().zip(results) {
            let kv = match result {
                ReadResult::Model(Some(kv)) => kv,
                _ => {
                    outcome.push(Err(ReleaseError::Datastore(
                        DatastoreError::ModelDoesNotExist {
                            key: ModelKey::Handle(HandleKey::new(handle.as_str())),
                            cause: None,
                        },
                    )));
                    continue;
                }
            };
            let ModelValue::Handle(value) = &kv.value else {
                outcome.push(Err(ReleaseError::Datastore(unexpected(&kv.key, &kv.value))));
                continue;
            };
            for cidr in value
                .block
                .iter()
                .flatten()
                .filter_map(|(text, _)| text.parse::<IpNet>().ok())
            {
                let group = by_block.entry(cidr.trunc()).or_default();
                if !group.contains(handle) {
                    group.push(handle.clone());
                }
            }
            stored.insert(handle.clone(), kv);
            outcome.push(Ok(()));
        }
        // At most this many handles share one transaction (etcd takes 128 operations).
        const PER_WRITE: usize = 100;
        for (cidr, group) in by_block {
            for chunk in group.chunks(PER_WRITE) {
                if let Err(err) = release::release_handles_from_block(
                    &self.client,
                    &config,
                    chunk,
                    cidr,
                    &mut stored,
                )
                .await
                {
                    let text = err.to_string();
                    for (handle, result) in handles.iter().zip(outcome.iter_mut()) {
                        if chunk.contains(handle) && result.is_ok() {
                            *result = Err(ReleaseError::Queued {
                                message: text.clone(),
                                not_found: err.is_not_found(),
                            });
                        }
                    }
                }
            }
        }
        outcome
    }

    /// A handle and the IPAM configuration, read in one batch; a missing handle is the
    /// driver's not-found error.
    async fn handle_and_config(
        &self,
        handle: &str,
    ) -> Result<(ModelKv, IPAMConfig), DatastoreError> {
        let key = ModelKey::Handle(HandleKey::new(handle));
        let reads = vec![Read::Model(key.clone()), Read::Model(ModelKey::Config)];
        let mut results = self.client.backend().read_batch(reads).await?.into_iter();
        let handle = match results.next() {
            Some(ReadResult::Model(Some(kv))) => kv,
            // Read again for the driver's own not-found error.
            _ => self.client.backend().get_model(&key).await?,
        };
        let config = match results.next() {
            Some(ReadResult::Model(found)) => config_from(found)?,
            _ => ipam_config(&self.client).await?,
        };
        Ok((handle, config))
    }

    /// The addresses allocated to a handle (Calico's `IPsByHandle`); blocks that cannot be read
    /// are skipped.
    pub async fn ips_by_handle(&self, handle: &str) -> Result<Vec<IpAddr>, DatastoreError> {
        let (kv, config) = self.handle_and_config(handle).await?;
        let ModelValue::Handle(stored) = &kv.value else {
            return Err(unexpected(&kv.key, &kv.value));
        };
        let mut ips = Vec::new();
        for text in stored.block.iter().flatten().map(|(text, _)| text) {
            let Ok(cidr) = text.parse::<IpNet>() else {
                continue;
            };
            let block_key = ModelKey::Block(BlockKey::new(cidr.trunc()));
            match self.client.backend().get_model(&block_key).await {
                Ok(kv) => match block_from(kv, &config) {
                    Ok(read) => ips.extend(block::ips_by_handle(&read.block, handle)),
                    Err(err) => {
                        warn!(%cidr, error = %err, "couldn't read block referenced by handle")
                    }
                },
                Err(err) => {
                    warn!(%cidr, handle, error = %err, "couldn't read block referenced by handle")
                }
            }
        }
        Ok(ips)
    }
}

fn affinity_type_of_text(affinity: &Affinity) -> AffinityType {
    if affinity.affinity_type == "virtual" {
        AffinityType::Virtual
    } else {
        AffinityType::Host
    }
}

#[cfg(test)]
mod tests;
