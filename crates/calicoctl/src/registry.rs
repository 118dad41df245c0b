//! The names calicoctl accepts for each kind on the command line (`calicoctl get pools`).

use calico_datastore::KindRef;

/// Kinds calicoctl manages, with every alias it accepts (all lower-case; the lower-cased kind
/// itself is always accepted too).
const ALIASES: &[(&str, &[&str])] = &[
    (
        "BGPConfiguration",
        &[
            "bgpconfiguration",
            "bgpconfigurations",
            "bgpconfig",
            "bgpconfigs",
        ],
    ),
    (
        "BGPFilter",
        &["bgpfilter", "bgpfilters", "bgpf", "bgpfs", "bf", "bfs"],
    ),
    (
        "BGPPeer",
        &["bgppeer", "bgppeers", "bgpp", "bgpps", "bp", "bps"],
    ),
    (
        "CalicoNodeStatus",
        &[
            "caliconodestatus",
            "caliconodestatuses",
            "nodestatus",
            "nodestatuses",
        ],
    ),
    (
        "ClusterInformation",
        &[
            "clusterinformation",
            "clusterinformations",
            "clusterinfo",
            "clusterinfos",
        ],
    ),
    (
        "FelixConfiguration",
        &[
            "felixconfiguration",
            "felixconfigurations",
            "felixconfig",
            "felixconfigs",
        ],
    ),
    (
        "GlobalNetworkPolicy",
        &[
            "globalnetworkpolicy",
            "globalnetworkpolicies",
            "gnp",
            "gnps",
        ],
    ),
    (
        "GlobalNetworkSet",
        &["globalnetworkset", "globalnetworksets", "gnetsets"],
    ),
    (
        "HostEndpoint",
        &["hostendpoint", "hostendpoints", "hep", "heps"],
    ),
    (
        "IPAMConfiguration",
        &[
            "ipamconfiguration",
            "ipamconfigurations",
            "ipamconfig",
            "ipamconfigs",
        ],
    ),
    (
        "IPPool",
        &["ippool", "ippools", "ipp", "ipps", "pool", "pools"],
    ),
    (
        "IPReservation",
        &[
            "ipreservation",
            "ipreservations",
            "reservation",
            "reservations",
        ],
    ),
    (
        "KubeControllersConfiguration",
        &[
            "kubecontrollersconfiguration",
            "kubecontrollersconfigurations",
            "kubecontrollersconfig",
            "kubecontrollersconfigs",
        ],
    ),
    (
        "NetworkPolicy",
        &[
            "networkpolicy",
            "networkpolicies",
            "policy",
            "np",
            "policies",
            "pol",
            "pols",
        ],
    ),
    ("NetworkSet", &["networkset", "networksets", "netsets"]),
    ("Node", &["node", "nodes", "no", "nos"]),
    ("Profile", &["profile", "profiles", "pro", "pros"]),
    (
        "StagedGlobalNetworkPolicy",
        &[
            "stagedglobalnetworkpolicy",
            "stagedglobalnetworkpolicies",
            "sgnp",
            "sgnps",
        ],
    ),
    (
        "StagedKubernetesNetworkPolicy",
        &[
            "stagedkubernetesnetworkpolicy",
            "stagedkubernetesnetworkpolicies",
            "stagedkubernetespolicy",
            "sknp",
            "stagedkubernetespolicies",
            "skpol",
            "skpols",
        ],
    ),
    (
        "StagedNetworkPolicy",
        &[
            "stagednetworkpolicy",
            "stagednetworkpolicies",
            "stagedpolicy",
            "snp",
            "stagedpolicies",
            "spol",
            "spols",
        ],
    ),
    ("Tier", &["tier", "tiers"]),
    (
        "WorkloadEndpoint",
        &["workloadendpoint", "workloadendpoints", "wep", "weps"],
    ),
];

/// Whether calicoctl manages this kind (IPAM objects and BlockAffinity it does not).
pub fn is_managed(kind: &str) -> bool {
    ALIASES.iter().any(|(k, _)| *k == kind)
}

/// The kind a command-line word names, matched case-insensitively as calicoctl does.
pub fn resolve_kind(word: &str) -> Option<KindRef> {
    let lower = word.to_lowercase();
    ALIASES
        .iter()
        .find(|(kind, aliases)| kind.to_lowercase() == lower || aliases.contains(&lower.as_str()))
        .and_then(|(kind, _)| KindRef::lookup(kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alias_is_unique() {
        let mut seen = std::collections::HashSet::new();
        for (kind, aliases) in ALIASES {
            for alias in aliases
                .iter()
                .copied()
                .chain([kind.to_lowercase().as_str()])
            {
                assert!(
                    seen.insert(alias.to_string()) || alias == kind.to_lowercase(),
                    "{alias}"
                );
            }
        }
    }
}
