//! `additionalPrinterColumns` of the `projectcalico.org/v3` CRDs, as Calico ships them.

use crate::kinds::PrinterColumn;

pub const BGPPEER_COLUMNS: &[PrinterColumn] = &[
    PrinterColumn {
        name: "Node Selector",
        type_: "string",
        json_path: ".spec.nodeSelector",
        description: "Selector for the nodes that should have this peering",
    },
    PrinterColumn {
        name: "Node",
        type_: "string",
        json_path: ".spec.node",
        description:
            "The node name identifying the Calico node instance that is targeted by this peer",
    },
    PrinterColumn {
        name: "Local ASN",
        type_: "string",
        json_path: ".spec.localASNumber",
        description: "The optional Local AS Number to use when peering with this remote peer",
    },
    PrinterColumn {
        name: "Peer Selector",
        type_: "string",
        json_path: ".spec.peerSelector",
        description: "Selector for the remote nodes to peer with",
    },
    PrinterColumn {
        name: "Peer IP",
        type_: "string",
        json_path: ".spec.peerIP",
        description: "The IP address of the peer followed by an optional port number to peer with",
    },
    PrinterColumn {
        name: "Peer ASN",
        type_: "string",
        json_path: ".spec.asNumber",
        description: "The AS Number of the peer",
    },
];
pub const BLOCKAFFINITY_COLUMNS: &[PrinterColumn] = &[
    PrinterColumn {
        name: "CIDR",
        type_: "string",
        json_path: ".spec.cidr",
        description: "The block CIDR",
    },
    PrinterColumn {
        name: "Node",
        type_: "string",
        json_path: ".spec.node",
        description: "The node the block is affine to",
    },
    PrinterColumn {
        name: "Type",
        type_: "string",
        json_path: ".spec.type",
        description: "The type of block affinity",
    },
];
pub const CALICONODESTATUS_COLUMNS: &[PrinterColumn] = &[
    PrinterColumn {
        name: "Node",
        type_: "string",
        json_path: ".spec.node",
        description: "The name of the node",
    },
    PrinterColumn {
        name: "Classes",
        type_: "string",
        json_path: ".spec.classes",
        description: "The types of information to monitor for this calico/node",
    },
];
pub const CLUSTERINFORMATION_COLUMNS: &[PrinterColumn] = &[
    PrinterColumn {
        name: "Version",
        type_: "string",
        json_path: ".spec.calicoVersion",
        description: "The version of Calico that the cluster is running",
    },
    PrinterColumn {
        name: "Ready",
        type_: "boolean",
        json_path: ".spec.datastoreReady",
        description: "Whether the datastore is ready for use",
    },
    PrinterColumn {
        name: "Types",
        type_: "string",
        json_path: ".spec.clusterType",
        description: "The types associated with the cluster",
    },
];
pub const GLOBALNETWORKPOLICY_COLUMNS: &[PrinterColumn] = &[
    PrinterColumn {
        name: "Tier",
        type_: "string",
        json_path: ".spec.tier",
        description: "",
    },
    PrinterColumn {
        name: "Order",
        type_: "number",
        json_path: ".spec.order",
        description: "",
    },
    PrinterColumn {
        name: "Age",
        type_: "date",
        json_path: ".metadata.creationTimestamp",
        description: "",
    },
];
pub const GLOBALNETWORKSET_COLUMNS: &[PrinterColumn] = &[PrinterColumn {
    name: "Age",
    type_: "date",
    json_path: ".metadata.creationTimestamp",
    description: "",
}];
pub const HOSTENDPOINT_COLUMNS: &[PrinterColumn] = &[
    PrinterColumn { name: "Node", type_: "string", json_path: ".spec.node", description: "The node name identifying the Calico node instance that is targeted by this HostEndpoint" },
    PrinterColumn { name: "Interface", type_: "string", json_path: ".spec.interfaceName", description: "The name of the interface that is targeted by this HostEndpoint" },
];
pub const IPAMBLOCK_COLUMNS: &[PrinterColumn] = &[
    PrinterColumn {
        name: "CIDR",
        type_: "string",
        json_path: ".spec.cidr",
        description: "The block CIDR",
    },
    PrinterColumn {
        name: "Affinity",
        type_: "string",
        json_path: ".spec.affinity",
        description: "The block affinity",
    },
    PrinterColumn {
        name: "ClaimTime",
        type_: "date",
        json_path: ".spec.affinityClaimTime",
        description: "The time at which affinity was claimed",
    },
];
pub const IPAMCONFIGURATION_COLUMNS: &[PrinterColumn] = &[
    PrinterColumn {
        name: "StrictAffinity",
        type_: "boolean",
        json_path: ".spec.strictAffinity",
        description: "Whether borrowing IP addresses is allowed",
    },
    PrinterColumn {
        name: "MaxBlocksPerHost",
        type_: "integer",
        json_path: ".spec.maxBlocksPerHost",
        description: "The max number of blocks that can be affine to each host",
    },
    PrinterColumn {
        name: "AutoAllocateBlocks",
        type_: "boolean",
        json_path: ".spec.autoAllocateBlocks",
        description: "Whether or not to auto allocate blocks to hosts",
    },
];
pub const IPAMHANDLE_COLUMNS: &[PrinterColumn] = &[PrinterColumn {
    name: "ID",
    type_: "string",
    json_path: ".spec.handleID",
    description: "The handle ID",
}];
pub const IPPOOL_COLUMNS: &[PrinterColumn] = &[
    PrinterColumn {
        name: "CIDR",
        type_: "string",
        json_path: ".spec.cidr",
        description: "The pool CIDR",
    },
    PrinterColumn {
        name: "VXLAN",
        type_: "string",
        json_path: ".spec.vxlanMode",
        description: "The VXLAN mode for this pool",
    },
    PrinterColumn {
        name: "IPIP",
        type_: "string",
        json_path: ".spec.ipipMode",
        description: "The IPIP mode for this pool",
    },
    PrinterColumn {
        name: "NAT",
        type_: "boolean",
        json_path: ".spec.natOutgoing",
        description: "Whether outgoing NAT is enabled for this pool",
    },
    PrinterColumn {
        name: "Allocatable",
        type_: "string",
        json_path: ".status.conditions[?(@.type=='Allocatable')].status",
        description: "Whether or not this pool is available for IP allocations",
    },
    PrinterColumn {
        name: "Age",
        type_: "date",
        json_path: ".metadata.creationTimestamp",
        description: "The age of the pool",
    },
];
pub const NETWORKPOLICY_COLUMNS: &[PrinterColumn] = &[
    PrinterColumn {
        name: "Tier",
        type_: "string",
        json_path: ".spec.tier",
        description: "",
    },
    PrinterColumn {
        name: "Order",
        type_: "number",
        json_path: ".spec.order",
        description: "",
    },
];
pub const STAGEDGLOBALNETWORKPOLICY_COLUMNS: &[PrinterColumn] = &[
    PrinterColumn {
        name: "Tier",
        type_: "string",
        json_path: ".spec.tier",
        description: "",
    },
    PrinterColumn {
        name: "Order",
        type_: "number",
        json_path: ".spec.order",
        description: "",
    },
];
pub const STAGEDNETWORKPOLICY_COLUMNS: &[PrinterColumn] = &[
    PrinterColumn {
        name: "Tier",
        type_: "string",
        json_path: ".spec.tier",
        description: "",
    },
    PrinterColumn {
        name: "Order",
        type_: "number",
        json_path: ".spec.order",
        description: "",
    },
];
pub const TIER_COLUMNS: &[PrinterColumn] = &[
    PrinterColumn {
        name: "Order",
        type_: "integer",
        json_path: ".spec.order",
        description: "Order in which the tier is applied",
    },
    PrinterColumn {
        name: "DefaultAction",
        type_: "string",
        json_path: ".spec.defaultAction",
        description: "Default action for the tier",
    },
    PrinterColumn {
        name: "Status",
        type_: "string",
        json_path: ".status.conditions[?(@.type=='Ready')].reason",
        description: "Current status of the tier",
    },
];
