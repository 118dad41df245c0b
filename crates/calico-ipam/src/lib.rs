//! Calico's IP address management (IPAM) on any datastore the `calico-datastore` client reaches.
//!
//! - [`split`]: splitting an IP pool into equal, smaller pools (`calicoctl ipam split`).

pub mod split;

pub use split::{split_cidr, split_pool, PoolRef, SplitError, SplitOutcome};
