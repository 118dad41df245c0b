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
//! - [`assign`]: the first pieces of Calico's allocator (`AutoAssign`): choosing the pools an
//!   allocation may use and the order a host tries a pool's blocks (without IO), and claiming
//!   one block for a host in the datastore. Not yet: finding a usable block or assigning.
//! - [`split`]: splitting an IP pool into equal, smaller pools (`calicoctl ipam split`).

pub mod assign;
pub mod block;
pub mod check;
pub mod config;
pub mod query;
pub mod release;
pub mod split;
pub mod usage;

pub use split::{split_cidr, split_pool, PoolRef, SplitError, SplitOutcome};
