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

impl NativeSettings {
    /// Settings as Calico takes them: `use_pod_cidr` from the datastore configuration
    /// (`USE_POD_CIDR`), the prefix from `FELIX_INTERFACEPREFIX`, which Calico reads from the
    /// environment when it names pod interfaces.
    pub fn from_env(use_pod_cidr: bool) -> Self {
        Self::with_prefix_setting(use_pod_cidr, std::env::var("FELIX_INTERFACEPREFIX").ok())
    }

    /// Settings with `FELIX_INTERFACEPREFIX` given (`None` or empty: `cali`).
    pub fn with_prefix_setting(use_pod_cidr: bool, prefix: Option<String>) -> Self {
        NativeSettings {
            use_pod_cidr,
            interface_prefix: prefix
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "cali".into()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_prefix_setting() {
        assert_eq!(
            NativeSettings::with_prefix_setting(false, None),
            NativeSettings::default()
        );
        assert_eq!(
            NativeSettings::with_prefix_setting(true, Some(String::new())).interface_prefix,
            "cali"
        );
        let settings = NativeSettings::with_prefix_setting(true, Some("tap,cali".into()));
        assert!(settings.use_pod_cidr);
        // The first entry of the list names pod interfaces.
        assert!(pod::interface_name(&settings.interface_prefix, "ns", "p").starts_with("tap"));
    }
}
