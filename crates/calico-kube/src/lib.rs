//! Calico's Kubernetes datastore driver (KDD), on kube-rs.
//!
//! - [`config`]: a `kube::Config` from calicoctl's settings (kubeconfig, `K8S_*`, contexts).
//! - [`mode`]: which storage mode the cluster uses (`crd.projectcalico.org/v1` or native
//!   `projectcalico.org/v3` custom resources), chosen as Calico chooses it.
//! - [`uid`]: Calico's UID bit-reversal between v3 objects and their backing objects.
//! - [`store`]: the per-kind storage trait the backend dispatches to.
//! - [`crd`]: kinds stored as custom resources, in either mode.
//! - [`error`]: Kubernetes errors as Calico's datastore errors.
//! - [`ipam`]: the IPAM model (blocks, affinities, handles, the IPAM configuration) as
//!   Calico's KDD stores it.
//! - [`native`]: kinds backed by native objects: Node, WorkloadEndpoint (Pods), Profile
//!   (Namespaces and ServiceAccounts), Kubernetes NetworkPolicies.
//! - [`resilience`]: a deadline on every request, bounded retries of what is safe to retry.
//! - [`backend`]: [`KubeBackend`], the [`calico_datastore::Backend`] implementation.

pub mod backend;
pub mod config;
pub mod crd;
pub mod error;
pub mod ipam;
pub mod mode;
pub mod native;
pub mod resilience;
pub mod store;
pub mod uid;

pub use backend::KubeBackend;
pub use config::{ConfigError, Connection};
pub use mode::Mode;
pub use store::KindStore;
