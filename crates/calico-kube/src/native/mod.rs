//! Kinds backed by native Kubernetes objects: Node (Nodes), WorkloadEndpoint (Pods), Profile
//! (Namespaces and ServiceAccounts), and Kubernetes NetworkPolicies shown among Calico
//! NetworkPolicies.
//!
//! Each submodule holds the pure conversion (unit-tested on its own) and the [`KindStore`]
//! over a `kube::Client`.

pub mod error;
pub mod kubeio;
pub mod netpol;
pub mod node;
pub mod pod;
pub mod profile;
pub mod qos;

use std::sync::Arc;

use calico_datastore::KindRef;

use crate::store::KindStore;

/// Settings of the native kinds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NativeSettings {
    /// Host-local IPAM (`USE_POD_CIDR`): Node tunnel addresses come from the pod CIDR.
    pub use_pod_cidr: bool,
    /// Felix's interface prefix (`FELIX_INTERFACEPREFIX`; the first of a comma-separated list
    /// names pod interfaces).
    pub interface_prefix: String,
}

impl Default for NativeSettings {
    fn default() -> Self {
        NativeSettings {
            use_pod_cidr: false,
            interface_prefix: "cali".into(),
        }
    }
}

/// The Node, WorkloadEndpoint and Profile stores. (NetworkPolicy is served by
/// [`netpol::MergedNetworkPolicyStore`] wrapped around the custom-resource store.)
pub fn stores(
    client: &kube::Client,
    settings: &NativeSettings,
) -> Vec<(KindRef, Arc<dyn KindStore>)> {
    [
        node::store(client, settings.use_pod_cidr),
        pod::store(client, &settings.interface_prefix),
        profile::store(client),
    ]
    .into_iter()
    .flatten()
    .collect()
}
