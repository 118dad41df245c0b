//! Every kind, and the one registry that lists them.
//!
//! To add a kind: define its spec (and status) in a module here, implement [`Kind`] for the
//! spec, add a `pub type Foo = Resource<FooSpec>;` alias, and add one line to
//! `kind_registry!` below. Decoding by `kind`, [`AnyResource`] and [`KINDS`] follow from it.

use serde::{Serialize, Serializer};

use crate::decode::{DecodeError, DecodeOptions};
use crate::meta::ObjectMeta;
use crate::resource::{Kind, Resource, Scope};
use crate::validation::ValidationError;

pub mod bgp;
pub mod cluster;
pub mod felix;
pub mod hostendpoint;
pub mod ipam;
pub mod ippool;
pub mod kubecontrollers;
pub mod node;
pub mod nodestatus;
pub mod policy;
pub mod profile;
pub mod rule;
pub mod sets;
pub mod staged_k8s_policy;
#[cfg(test)]
pub(crate) mod test_support;
pub mod tier;
pub mod workloadendpoint;

pub use bgp::*;
pub use cluster::*;
pub use felix::*;
pub use hostendpoint::*;
pub use ipam::*;
pub use ippool::*;
pub use kubecontrollers::*;
pub use node::*;
pub use nodestatus::*;
pub use policy::*;
pub use profile::*;
pub use rule::*;
pub use sets::*;
pub use staged_k8s_policy::*;
pub use tier::*;
pub use workloadendpoint::*;

/// What the registry knows of one kind.
pub struct KindInfo {
    /// `kind` as written in documents.
    pub kind: &'static str,
    /// Lower-case plural (etcd key segment, CRD plural).
    pub plural: &'static str,
    pub scope: Scope,
    /// Decodes a document of this kind.
    pub decode: fn(&serde_json::Value, DecodeOptions) -> Result<AnyResource, DecodeError>,
}

impl KindInfo {
    /// Finds a kind by its exact `kind` name.
    pub fn lookup(kind: &str) -> Option<&'static KindInfo> {
        KINDS.iter().find(|info| info.kind == kind)
    }

    /// Whether resources of this kind live in a namespace.
    pub fn is_namespaced(&self) -> bool {
        self.scope == Scope::Namespaced
    }
}

impl std::fmt::Debug for KindInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KindInfo")
            .field("kind", &self.kind)
            .field("plural", &self.plural)
            .field("scope", &self.scope)
            .finish()
    }
}

macro_rules! kind_registry {
    ($($kind:ident => $spec:ty),* $(,)?) => {
        /// A resource of any kind. Each is boxed: kinds differ widely in size
        /// (FelixConfiguration is kilobytes), and lists of endpoints must stay compact.
        #[derive(Clone, Debug, PartialEq)]
        pub enum AnyResource {
            $($kind(Box<Resource<$spec>>),)*
        }

        /// All kinds, in alphabetical order.
        pub static KINDS: &[KindInfo] = &[
            $(KindInfo {
                kind: <$spec as Kind>::KIND,
                plural: <$spec as Kind>::PLURAL,
                scope: <$spec as Kind>::SCOPE,
                decode: |value, options| {
                    crate::decode::decode_resource_with::<$spec>(value, options)
                        .map(|resource| AnyResource::$kind(Box::new(resource)))
                },
            },)*
        ];

        impl AnyResource {
            /// `kind`.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(AnyResource::$kind(_) => <$spec as Kind>::KIND,)*
                }
            }

            /// The registry entry for this resource's kind.
            pub fn info(&self) -> &'static KindInfo {
                KindInfo::lookup(self.kind()).unwrap_or(&KINDS[0])
            }

            pub fn metadata(&self) -> &ObjectMeta {
                match self {
                    $(AnyResource::$kind(r) => &r.metadata,)*
                }
            }

            pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
                match self {
                    $(AnyResource::$kind(r) => &mut r.metadata,)*
                }
            }

            /// Members a newer Calico stored that our types do not know (kept for writing back).
            pub fn unknown(&self) -> &crate::unknown::Unknown {
                match self {
                    $(AnyResource::$kind(r) => &r.unknown,)*
                }
            }

            /// Replaces the kept unknown members (e.g. to carry them over to an edited copy).
            pub fn set_unknown(&mut self, unknown: crate::unknown::Unknown) {
                match self {
                    $(AnyResource::$kind(r) => r.unknown = unknown,)*
                }
            }

            /// Applies the kind's client-side defaults.
            pub fn apply_defaults(&mut self) {
                match self {
                    $(AnyResource::$kind(r) => r.apply_defaults(),)*
                }
            }

            /// Validates the resource.
            pub fn validate(&self) -> Result<(), ValidationError> {
                match self {
                    $(AnyResource::$kind(r) => r.validate(),)*
                }
            }

            /// The resource as a JSON value (Calico's encoding).
            pub fn to_json_value(&self) -> Result<serde_json::Value, serde_json::Error> {
                serde_json::to_value(self)
            }
        }

        impl Serialize for AnyResource {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(AnyResource::$kind(r) => r.serialize(serializer),)*
                }
            }
        }

        $(
            impl From<Resource<$spec>> for AnyResource {
                fn from(resource: Resource<$spec>) -> Self {
                    AnyResource::$kind(Box::new(resource))
                }
            }
        )*
    };
}

kind_registry! {
    BGPConfiguration => BGPConfigurationSpec,
    BGPFilter => BGPFilterSpec,
    BGPPeer => BGPPeerSpec,
    BlockAffinity => BlockAffinitySpec,
    CalicoNodeStatus => CalicoNodeStatusSpec,
    ClusterInformation => ClusterInformationSpec,
    FelixConfiguration => FelixConfigurationSpec,
    GlobalNetworkPolicy => GlobalNetworkPolicySpec,
    GlobalNetworkSet => GlobalNetworkSetSpec,
    HostEndpoint => HostEndpointSpec,
    IPAMBlock => IPAMBlockSpec,
    IPAMConfiguration => IPAMConfigurationSpec,
    IPAMHandle => IPAMHandleSpec,
    IPPool => IPPoolSpec,
    IPReservation => IPReservationSpec,
    KubeControllersConfiguration => KubeControllersConfigurationSpec,
    NetworkPolicy => NetworkPolicySpec,
    NetworkSet => NetworkSetSpec,
    Node => NodeSpec,
    Profile => ProfileSpec,
    StagedGlobalNetworkPolicy => StagedGlobalNetworkPolicySpec,
    StagedKubernetesNetworkPolicy => StagedKubernetesNetworkPolicySpec,
    StagedNetworkPolicy => StagedNetworkPolicySpec,
    Tier => TierSpec,
    WorkloadEndpoint => WorkloadEndpointSpec,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_sorted_and_unique() {
        let names: Vec<_> = KINDS.iter().map(|k| k.kind).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
    }
}
