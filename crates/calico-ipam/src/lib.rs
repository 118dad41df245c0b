//! Calico's IP address management (IPAM) on any datastore the `calico-datastore` client reaches.
//!
//! - [`block`]: what Calico's IPAM does inside one allocation block (assign, release, cooldown,
//!   garbage collection, `ipam check`'s block checks), without IO.
//! - [`usage`]: how full each pool and block is (`ipam show`), without IO.
//! - [`config`]: changing the IPAM settings (`ipam configure`).
//! - [`query`]: reading the IPAM configuration, pools, blocks, usage, borrowed addresses and
//!   one address's assignment from the datastore (`ipam show`).
//! - [`check`]: `calicoctl ipam check`: cross-checking allocations, handles and blocks against
//!   the addresses nodes, Services and workloads use, and the report `ipam release` reads.
//! - [`release`]: releasing addresses and block affinities in the datastore (`ipam release`,
//!   and the Node and IPPool delete cascades through [`release::Cascade`]).
//! - [`assign`]: the IO-free parts of Calico's allocator (choosing the pools an allocation may
//!   use, the order a host tries a pool's blocks) and claiming one block for a host.
//! - [`allocate`]: the allocator itself, [`Ipam`]: `AutoAssign`, `AssignIP`, `ReleaseIPs`,
//!   `ReleaseByHandle`, `IPsByHandle`.
//! - [`host_queue`]: [`HostQueue`], allocations of several processes on one host combined
//!   through a shared directory (a CNI plugin's pods).
//! - [`split`]: splitting an IP pool into equal, smaller pools (`calicoctl ipam split`).

pub mod allocate;
pub mod assign;
pub mod block;
pub mod check;
pub mod config;
pub mod host_queue;
pub mod query;
pub mod release;
pub mod split;
pub mod usage;

pub use allocate::{
    AssignError, AssignIpArgs, Assignments, AutoAssignArgs, AutoAssignError, AutoAssignOutcome,
    AutoAssignResult, Ipam,
};
pub use host_queue::{HostQueue, QueueError};
pub use split::{split_cidr, split_pool, PoolRef, SplitError, SplitOutcome};
