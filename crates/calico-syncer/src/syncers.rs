//! Calico's four syncers and the resource types each follows (libcalico-go's
//! `syncersv1/{felixsyncer,bgpsyncer,tunnelipsyncer,nodestatussyncer}`).

use std::fmt;
use std::str::FromStr;

use calico_api::model::ModelListOptions;
use calico_datastore::{KindRef, ListOptions};

use crate::resource_type::{ResourceType, Source, UpdateProcessor};

/// One of Calico's syncers, by the name Typha serves it under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SyncerKind {
    Felix,
    Bgp,
    TunnelIpAllocation,
    NodeStatus,
}

impl SyncerKind {
    pub const ALL: [SyncerKind; 4] = [
        SyncerKind::Felix,
        SyncerKind::Bgp,
        SyncerKind::TunnelIpAllocation,
        SyncerKind::NodeStatus,
    ];

    /// Typha's name for it.
    pub fn as_str(&self) -> &'static str {
        match self {
            SyncerKind::Felix => "felix",
            SyncerKind::Bgp => "bgp",
            SyncerKind::TunnelIpAllocation => "tunnel-ip-allocation",
            SyncerKind::NodeStatus => "node-status",
        }
    }
}

impl fmt::Display for SyncerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown syncer name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown syncer {0:?} (expected felix, bgp, tunnel-ip-allocation or node-status)")]
pub struct UnknownSyncer(pub String);

impl FromStr for SyncerKind {
    type Err = UnknownSyncer;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        SyncerKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| UnknownSyncer(name.to_string()))
    }
}

/// What decides a syncer's resource types besides its kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncerOptions {
    /// The datastore is Kubernetes (`kubernetes`): the Felix syncer also follows Kubernetes
    /// network policies, and so on.
    pub kubernetes: bool,
    /// Pod CIDRs come from Kubernetes (`CALICO_IPAM` off / `usePodCIDR`): no IPAM blocks or
    /// affinities are followed.
    pub use_pod_cidr: bool,
    /// The tunnel-IP syncer for one node only.
    pub node: Option<String>,
}

fn kind(name: &str) -> Option<Source> {
    KindRef::lookup(name).map(|kind| Source::Resources(ListOptions::all(kind)))
}

/// The update processor Calico's `syncer` puts on resource type `kind` (`None`: passed
/// through).
fn processor(
    syncer: SyncerKind,
    options: &SyncerOptions,
    kind: &str,
) -> Option<Box<dyn UpdateProcessor>> {
    use crate::processors as p;
    let processor: Box<dyn UpdateProcessor> = match (syncer, kind) {
        (SyncerKind::Felix, "ClusterInformation") => Box::new(p::ConfigProcessor::cluster_info()),
        (SyncerKind::Felix, "FelixConfiguration") => Box::new(p::ConfigProcessor::felix()),
        (SyncerKind::Felix, "GlobalNetworkSet") => {
            Box::new(p::GlobalNetworkSetProcessor::default())
        }
        (SyncerKind::Felix, "Node") => Box::new(p::FelixNodeProcessor::new(options.use_pod_cidr)),
        (SyncerKind::Felix, "WorkloadEndpoint") => Box::new(p::WorkloadEndpointProcessor),
        (SyncerKind::Felix, "NetworkSet") => Box::new(p::NetworkSetProcessor),
        (SyncerKind::Felix, "GlobalNetworkPolicy") => {
            Box::new(p::PolicyProcessor::global_network_policy())
        }
        (SyncerKind::Felix, "StagedGlobalNetworkPolicy") => {
            Box::new(p::PolicyProcessor::staged_global_network_policy())
        }
        (SyncerKind::Felix, "NetworkPolicy") => Box::new(p::PolicyProcessor::network_policy()),
        (SyncerKind::Felix, "StagedNetworkPolicy") => {
            Box::new(p::PolicyProcessor::staged_network_policy())
        }
        (SyncerKind::Felix, "StagedKubernetesNetworkPolicy") => {
            Box::new(p::PolicyProcessor::staged_kubernetes_network_policy())
        }
        (SyncerKind::Felix, "Profile") => Box::new(p::ProfileProcessor),
        (SyncerKind::Felix, "Tier") => Box::new(p::TierProcessor),
        (SyncerKind::Felix, "HostEndpoint") => Box::new(p::HostEndpointProcessor::default()),
        (SyncerKind::Felix | SyncerKind::Bgp | SyncerKind::TunnelIpAllocation, "IPPool") => {
            Box::new(p::IpPoolProcessor::default())
        }
        _ => return None,
    };
    Some(processor)
}

/// The resource types `syncer` follows, in Calico's order.
pub fn resource_types(syncer: SyncerKind, options: &SyncerOptions) -> Vec<ResourceType> {
    let kinds: &[&str] = match syncer {
        SyncerKind::Felix => &[
            "ClusterInformation",
            "FelixConfiguration",
            "GlobalNetworkPolicy",
            "StagedGlobalNetworkPolicy",
            "GlobalNetworkSet",
            "IPPool",
            "Node",
            "Profile",
            "WorkloadEndpoint",
            "NetworkPolicy",
            "StagedNetworkPolicy",
            "StagedKubernetesNetworkPolicy",
            "NetworkSet",
            "Tier",
            "HostEndpoint",
            "BGPConfiguration",
            "BGPPeer",
            // Calico's Felix syncer also follows LiveMigration (an internal kind); our
            // datastore has no such kind (`KindRef::lookup` does not know it), so none is
            // listed.
        ],
        SyncerKind::Bgp => &["IPPool", "BGPConfiguration", "Node", "BGPPeer", "BGPFilter"],
        SyncerKind::TunnelIpAllocation => &["IPPool", "Node"],
        SyncerKind::NodeStatus => &["CalicoNodeStatus"],
    };
    let mut types: Vec<ResourceType> = kinds
        .iter()
        .filter_map(|name| {
            let source = kind(name)?;
            Some(match processor(syncer, options, name) {
                Some(processor) => ResourceType {
                    source,
                    processor: Some(processor),
                    send_deletes_on_conn_fail: false,
                },
                None => ResourceType::new(source),
            })
        })
        .collect();
    if let (SyncerKind::TunnelIpAllocation, Some(node)) = (syncer, &options.node) {
        for resource_type in &mut types {
            if let Source::Resources(list) = &mut resource_type.source {
                if list.kind.kind() == "Node" {
                    list.name = Some(node.clone());
                }
            }
        }
    }
    // On Kubernetes (`options.kubernetes`) Calico's Felix syncer also follows Kubernetes
    // NetworkPolicies (through the NetworkPolicy processor, as kind KubernetesNetworkPolicy),
    // ClusterNetworkPolicies (through the GlobalNetworkPolicy processor), EndpointSlices and
    // Services. Our Kubernetes driver lists none of them as kinds of their own (its
    // NetworkPolicy view merges Kubernetes policies in as `knp.default.<name>` only when an
    // embedder registers it, and `KindRef::lookup` knows no such kinds), so they are not
    // followed yet.
    if !options.use_pod_cidr {
        match syncer {
            SyncerKind::Felix => types.push(ResourceType::new(Source::Models(
                ModelListOptions::all_blocks(),
            ))),
            SyncerKind::Bgp => types.push(ResourceType::new(Source::Models(
                ModelListOptions::BlockAffinities {
                    affinity_type: calico_api::model::AffinityType::Host,
                    host: None,
                    ip_version: None,
                },
            ))),
            _ => {}
        }
    }
    types
}
