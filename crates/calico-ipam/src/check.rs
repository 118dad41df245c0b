//! `calicoctl ipam check`: cross-checks the IPAM data (blocks, handles, pools) against what
//! uses addresses (Calico Nodes' tunnel addresses, Calico-managed LoadBalancer Services,
//! WorkloadEndpoints), reports leaked and unallocated addresses, leaked and missing handles and
//! malformed blocks, and builds the report `ipam release --from-report` consumes.
//!
//! The analysis is a [`Checker`] fed one stage at a time, without IO; it writes the text Calico's
//! calicoctl prints as it goes, so a stage that fails leaves what was printed before it.
//! [`check`] reads the datastore and runs the stages in Calico's order. The Kubernetes Services
//! come from the caller (this crate does not talk to Kubernetes): a future awaited at the step
//! where Calico lists them.
//!
//! Where Calico prints from a Go map (leaked addresses, in-use addresses, handles) the order
//! is random there; here it is the order of the address or handle text. Nodes with equal
//! allocation counts are listed by name. A block Calico's check would crash on (an attribute
//! index that is negative, an `allocations` list shorter than the block) is reported instead
//! (see [`crate::block::validate`]).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::IpAddr;

use calico_api::model::{AllocationBlock, ModelKey};
use calico_api::{AnyResource, Node, WorkloadEndpoint};
use calico_datastore::client::Client;
use calico_datastore::{DatastoreError, KindRef, ModelListOptions, ModelValue, ResourceKey};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize};

use crate::block::{ordinal_to_ip, sequence_number_for, validate_at, WINDOWS_RESERVED_HANDLE};
use crate::query::list_of;

/// How many nodes the by-allocations listing names at most.
const NODES_TO_PRINT: usize = 20;

/// The owner name of an address a Windows node reserves in a block.
const WINDOWS_OWNER: &str = "Reserved for Windows";

/// What the check prints beyond the summary lines, and what the report says it was made by.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// Every allocated address, every address in use and every leaked handle
    /// (`--show-all-ips`; implies `show_problem_ips`).
    pub show_all_ips: bool,
    /// The addresses and handles that are problems (`--show-problem-ips`).
    pub show_problem_ips: bool,
    /// The calicoctl version the report names.
    pub version: String,
}

/// One allocated address, with what uses it: an entry of the report's `allocations`
/// (Calico's `Allocation`, with its JSON names and omissions).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub ip: String,
    /// The allocation's handle; empty when it has none (or is a Windows-reserved address).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub handle: String,
    /// The block's sequence number when the address was allocated (0 when not recorded).
    #[serde(
        rename = "sequenceNumber",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sequence_number: Option<u64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pod: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// The attribute `node`, else the block's host affinity.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node: String,
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub allocation_type: String,
    /// The attribute `timestamp`, as stored.
    #[serde(
        rename = "creationTimestamp",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub creation_timestamp: String,
    /// Something (a node, a Service, a workload) uses the address.
    #[serde(rename = "inUse", default)]
    pub in_use: bool,
    /// Allocated for a node other than the block's.
    #[serde(default, skip_serializing_if = "is_false")]
    pub borrowed: bool,
    /// Released, still in its cooldown.
    #[serde(rename = "coolingDown", default, skip_serializing_if = "is_false")]
    pub cooling_down: bool,
    /// Who uses it (`Workload(ns/name)`, `Node(name)`, a Service's name); `null` for none.
    #[serde(default)]
    pub owners: Option<Vec<String>>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// A handle no allocation refers to (Calico's `HandleInfo`, Go field names in the report).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandleInfo {
    #[serde(rename = "ID", default)]
    pub id: String,
    /// The stored object's UID: Calico fills it on Kubernetes; `null` on etcd. The backend's
    /// model list does not carry UIDs yet, so [`check`] always leaves it `None`.
    #[serde(rename = "UID", default)]
    pub uid: Option<String>,
    /// The revision the handle was read at (`ipam release` deletes it only at that revision).
    #[serde(rename = "Revision", default)]
    pub revision: String,
}

/// The report `ipam check -o FILE` writes and `ipam release --from-report FILE` reads (Calico's
/// `CheckReport`): the cluster it was made on, every allocation and the leaked handles.
/// [`CheckReport::to_json`] writes Calico's bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    /// The calicoctl version that made the report.
    #[serde(default)]
    pub version: String,
    #[serde(rename = "clusterGUID", default)]
    pub cluster_guid: String,
    /// ClusterInformation's `datastoreReady` was `false` when the report was made.
    #[serde(rename = "datastoreLocked", default)]
    pub datastore_locked: bool,
    /// ClusterInformation's resource version when the report was made.
    #[serde(rename = "clusterInformationRevision", default)]
    pub cluster_information_revision: String,
    #[serde(rename = "clusterType", default)]
    pub cluster_type: String,
    /// Every allocated address (not only the problems), by address text.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub allocations: BTreeMap<String, Vec<Allocation>>,
    #[serde(
        rename = "leakedHandles",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub leaked_handles: Vec<HandleInfo>,
}

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

impl CheckReport {
    /// The report as Calico writes it: Go's indented JSON (two spaces, `<>&` escaped), no
    /// trailing newline.
    pub fn to_json(&self) -> Vec<u8> {
        // Strings, bools and integers only: serializing cannot fail.
        calico_api::json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Reads a report back.
    pub fn from_json(bytes: &[u8]) -> Result<CheckReport, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// What the check needs of a Kubernetes Service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceInfo {
    pub name: String,
    /// `spec.type`.
    pub service_type: String,
    /// `spec.loadBalancerClass`.
    pub load_balancer_class: Option<String>,
    /// `spec.loadBalancerIP`.
    pub load_balancer_ip: String,
    pub annotations: BTreeMap<String, String>,
    /// `status.loadBalancer.ingress[].ip`, empty where an ingress has none.
    pub ingress_ips: Vec<String>,
}

const LOAD_BALANCER: &str = "LoadBalancer";
const CALICO_LOAD_BALANCER_CLASS: &str = "calico";
const LOAD_BALANCER_ANNOTATIONS: [&str; 3] = [
    "projectcalico.org/ipv4pools",
    "projectcalico.org/ipv6pools",
    "projectcalico.org/loadBalancerIPs",
];

impl ServiceInfo {
    /// Whether Calico's LoadBalancer controller assigns this Service's addresses under
    /// `assign_ips` (`AllServices` or `RequestedServicesOnly`; kube-controllers'
    /// `IsCalicoManagedLoadBalancer`).
    pub fn is_calico_managed(&self, assign_ips: &str) -> bool {
        if self.service_type != LOAD_BALANCER {
            return false;
        }
        let class = self.load_balancer_class.as_deref();
        match assign_ips {
            "AllServices" => class.is_none_or(|c| c == CALICO_LOAD_BALANCER_CLASS),
            "RequestedServicesOnly" => {
                if class == Some(CALICO_LOAD_BALANCER_CLASS) {
                    return true;
                }
                let requested = LOAD_BALANCER_ANNOTATIONS
                    .iter()
                    .any(|a| self.annotations.get(*a).is_some_and(|v| !v.is_empty()))
                    || !self.load_balancer_ip.is_empty();
                requested && class.is_none()
            }
            _ => false,
        }
    }
}

/// `address/prefix` as Go's `net.ParseCIDR` reads it: the address as written and the prefix
/// length (decimal digits, at most the address's bits).
fn split_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (address, prefix) = text.split_once('/')?;
    let ip = address.parse::<IpAddr>().ok()?;
    let bits = if ip.is_ipv4() { 32 } else { 128 };
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix = prefix.parse::<u8>().ok().filter(|p| *p <= bits)?;
    Some((ip, prefix))
}

fn invalid_cidr(text: &str) -> String {
    format!("invalid CIDR address: {text}")
}

/// An IP address as Calico normalises one it reads from a resource (`ParseCIDROrIP`, then the
/// address printed as Go prints it: IPv4-mapped IPv6 as IPv4).
fn normalise_ip(text: &str) -> Result<String, String> {
    split_cidr(text)
        .map(|(ip, _)| ip)
        .or_else(|| text.parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical().to_string())
        .ok_or_else(|| invalid_cidr(text))
}

/// A pool's CIDR as Go's `net.ParseCIDR` reads it (host bits dropped).
fn parse_cidr(text: &str) -> Result<IpNet, String> {
    split_cidr(text)
        .and_then(|(ip, prefix)| IpNet::new(ip, prefix).ok())
        .map(|net| net.trunc())
        .ok_or_else(|| invalid_cidr(text))
}

/// `Main:<handle> Extra:k=v,… [Alternate:k=v,…]`: an allocation's attribute as the check prints
/// it, or `<missing>` when the index names no attribute.
fn attribute_text(block: &AllocationBlock, index: i64) -> String {
    let Some(attribute) = usize::try_from(index)
        .ok()
        .and_then(|i| block.attributes.as_deref()?.get(i))
    else {
        return "<missing>".to_string();
    };
    let pairs = |map: &BTreeMap<String, String>| {
        map.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut text = format!(
        "Main:{} Extra:{}",
        attribute.handle_id.as_deref().unwrap_or("<none>"),
        pairs(&attribute.secondary)
    );
    if !attribute.alternate_owner_attrs.is_empty() {
        text.push_str(&format!(
            " Alternate:{}",
            pairs(&attribute.alternate_owner_attrs)
        ));
    }
    text
}

/// The addresses a Calico Node uses for tunnels (IPv4 VXLAN, WireGuard, IPIP), normalised.
fn node_ips(node: &Node) -> Result<Vec<String>, String> {
    let spec = &node.spec;
    let name = &node.metadata.name;
    let mut ips = Vec::new();
    let fields = [
        (
            "IPv4VXLANTunnelAddr",
            Some(spec.ipv4_vxlan_tunnel_addr.as_str()),
        ),
        (
            "Wireguard.InterfaceIPv4Address",
            spec.wireguard
                .as_ref()
                .map(|w| w.interface_ipv4_address.as_str()),
        ),
        (
            "IPv4IPIPTunnelAddr",
            spec.bgp.as_ref().map(|b| b.ipv4_ipip_tunnel_addr.as_str()),
        ),
    ];
    for (field, value) in fields {
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            continue;
        };
        let ip = normalise_ip(value)
            .map_err(|err| format!("failed to parse {field} ({value}) of node {name}: {err}"))?;
        ips.push(ip);
    }
    Ok(ips)
}

/// A workload's addresses (`spec.ipNetworks`), normalised.
fn workload_ips(workload: &WorkloadEndpoint) -> Result<Vec<String>, String> {
    let meta = &workload.metadata;
    workload
        .spec
        .ip_networks
        .iter()
        .map(|network| {
            normalise_ip(network).map_err(|err| {
                format!(
                    "failed to parse IP ({network}) of workload {}/{}: {err}",
                    meta.namespace, meta.name
                )
            })
        })
        .collect()
}

/// ClusterInformation's facts the report carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterFacts {
    pub cluster_guid: String,
    pub cluster_type: String,
    /// Its resource version.
    pub revision: String,
    /// `datastoreReady` is `false`.
    pub datastore_locked: bool,
}

/// The check's stages that read the datastore (or the cluster), in Calico's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Blocks,
    Pools,
    Nodes,
    Services,
    Workloads,
    Handles,
}

impl Stage {
    fn heading(self) -> &'static str {
        match self {
            Stage::Blocks => "Loading all IPAM blocks...",
            Stage::Pools => "Loading all IPAM pools...",
            Stage::Nodes => "Loading all nodes.",
            Stage::Services => "Loading all service load balancer IPs.",
            Stage::Workloads => "Loading all workload endpoints.",
            Stage::Handles => "Loading all handles",
        }
    }
}

/// The check's state between stages, and the text printed so far. Made by [`Checker::new`],
/// fed by [`Checker::start`] and the stage methods in Calico's order, ended by
/// [`Checker::finish`] (or [`Checker::fail`]).
#[derive(Debug)]
pub struct Checker {
    options: CheckOptions,
    cluster: ClusterFacts,
    out: String,
    allocations: BTreeMap<String, Vec<Allocation>>,
    /// Each allocation's attribute text (as `allocations`, in the same order), kept only when
    /// problems are printed.
    attribute_texts: BTreeMap<String, Vec<String>>,
    allocations_by_node: BTreeMap<String, usize>,
    /// Address → who uses it, in the order found.
    in_use: BTreeMap<String, Vec<String>>,
    handles_in_blocks: BTreeSet<String>,
    handles: BTreeMap<String, HandleInfo>,
    active_pools: Vec<IpNet>,
    /// The blocks the final validation must judge (see [`Checker::add_block`]).
    blocks: Vec<(ModelKey, AllocationBlock)>,
    block_count: usize,
    allocation_count: usize,
    /// What the blocks stage prints after its count.
    block_lines: String,
}

/// What a finished check found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckOutcome {
    /// What Calico's calicoctl prints.
    pub output: String,
    /// How many problems were counted (the last line's figure).
    pub problems: usize,
    pub report: CheckReport,
}

/// A check that stopped: what was printed before, and why (Calico's error text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckFailure {
    pub output: String,
    pub error: String,
}

impl Checker {
    /// Starts a check: prints the heading.
    pub fn new(options: CheckOptions) -> Self {
        Checker {
            options,
            cluster: ClusterFacts::default(),
            out: "Checking IPAM for inconsistencies...\n\n".to_string(),
            allocations: BTreeMap::new(),
            attribute_texts: BTreeMap::new(),
            allocations_by_node: BTreeMap::new(),
            in_use: BTreeMap::new(),
            handles_in_blocks: BTreeSet::new(),
            handles: BTreeMap::new(),
            active_pools: Vec::new(),
            blocks: Vec::new(),
            block_count: 0,
            allocation_count: 0,
            block_lines: String::new(),
        }
    }

    fn show_problems(&self) -> bool {
        self.options.show_problem_ips || self.options.show_all_ips
    }

    /// What has been printed so far.
    pub fn output(&self) -> &str {
        &self.out
    }

    /// Stops with `error` (Calico's text), keeping what was printed.
    pub fn fail(self, error: impl Into<String>) -> CheckFailure {
        CheckFailure {
            output: self.out,
            error: error.into(),
        }
    }

    /// Notes ClusterInformation's facts for the report.
    pub fn cluster(&mut self, facts: ClusterFacts) {
        self.cluster = facts;
    }

    /// Prints the heading of a stage (before its data is read).
    pub fn start(&mut self, stage: Stage) {
        self.out.push_str(stage.heading());
        self.out.push('\n');
    }

    /// Records every allocation of the listed blocks (in list order).
    pub fn blocks(&mut self, blocks: Vec<(ModelKey, AllocationBlock)>) {
        for (key, block) in blocks {
            self.add_block(key, block);
        }
        self.end_blocks();
    }

    /// Records one block's allocations (blocks come in list order, possibly page by page;
    /// [`Checker::end_blocks`] prints them). Only a block the final validation could find
    /// invalid is kept: one that fails it already, or that has release times to judge.
    pub fn add_block(&mut self, key: ModelKey, block: AllocationBlock) {
        // What this stage prints goes after its count, known at the end.
        std::mem::swap(&mut self.out, &mut self.block_lines);
        self.out.push_str(&format!(
            " IPAM block {} affinity={}:\n",
            block.cidr,
            block.affinity.as_deref().unwrap_or("<none>")
        ));
        let allocations = block.allocations.as_deref().unwrap_or_default();
        for (ordinal, index) in allocations.iter().enumerate() {
            if let Some(index) = *index {
                self.allocation_count += 1;
                self.record_allocation(&block, ordinal, index);
            }
        }
        std::mem::swap(&mut self.out, &mut self.block_lines);
        self.block_count += 1;
        let judged_later = block
            .attributes
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|a| a.released_at.is_some());
        // As of the end of time, no release time is in the future: the other rules only.
        if judged_later || validate_at(&block, DateTime::<Utc>::MAX_UTC).is_err() {
            self.blocks.push((key, block));
        }
    }

    /// Prints the blocks stage: the count, each block (and, with the flags, its addresses),
    /// the allocations.
    pub fn end_blocks(&mut self) {
        self.out
            .push_str(&format!("Found {} IPAM blocks.\n", self.block_count));
        let lines = std::mem::take(&mut self.block_lines);
        self.out.push_str(&lines);
        self.out.push_str(&format!(
            "IPAM blocks record {} allocations.\n\n",
            self.allocation_count
        ));
    }

    fn record_allocation(&mut self, block: &AllocationBlock, ordinal: usize, index: i64) {
        let ip = ordinal_to_ip(block, ordinal).to_string();
        let block_host = block
            .affinity
            .as_deref()
            .and_then(|a| a.strip_prefix("host:"))
            .unwrap_or_default();
        let mut allocation = Allocation {
            ip: ip.clone(),
            node: block_host.to_string(),
            ..Allocation::default()
        };
        let attribute = usize::try_from(index)
            .ok()
            .and_then(|i| block.attributes.as_deref()?.get(i));
        if let Some(attribute) = attribute {
            match attribute.handle_id.as_deref() {
                Some(WINDOWS_RESERVED_HANDLE) => self.record_in_use(&ip, WINDOWS_OWNER),
                Some(handle) => {
                    allocation.handle = handle.to_string();
                    self.handles_in_blocks.insert(handle.to_string());
                }
                None => {}
            }
            allocation.cooling_down = attribute.released_at.is_some();
            let attr = |name: &str| {
                attribute
                    .secondary
                    .get(name)
                    .filter(|v| !v.is_empty())
                    .cloned()
            };
            if let Some(node) = attr("node") {
                allocation.node = node;
            }
            allocation.pod = attr("pod").unwrap_or_default();
            allocation.namespace = attr("namespace").unwrap_or_default();
            allocation.allocation_type = attr("type").unwrap_or_default();
            allocation.creation_timestamp = attr("timestamp").unwrap_or_default();
        }
        allocation.sequence_number = Some(sequence_number_for(block, ordinal));
        allocation.borrowed = allocation.node != block_host;
        *self
            .allocations_by_node
            .entry(allocation.node.clone())
            .or_default() += 1;
        // Only printed with the flags; not worth building for every address otherwise.
        if self.show_problems() {
            let text = attribute_text(block, index);
            if self.options.show_all_ips {
                self.out
                    .push_str(&format!("  {ip} allocated; attrs {text}\n"));
            }
            self.attribute_texts
                .entry(ip.clone())
                .or_default()
                .push(text);
        }
        self.allocations.entry(ip).or_default().push(allocation);
    }

    /// Notes that `owner` uses `ip`, and marks its allocations (those recorded so far) in use.
    fn record_in_use(&mut self, ip: &str, owner: &str) {
        if self.options.show_all_ips {
            self.out.push_str(&format!("  {ip} belongs to {owner}\n"));
        }
        self.in_use
            .entry(ip.to_string())
            .or_default()
            .push(owner.to_string());
        for allocation in self.allocations.get_mut(ip).into_iter().flatten() {
            allocation.in_use = true;
            allocation
                .owners
                .get_or_insert_with(Vec::new)
                .push(owner.to_string());
        }
    }

    /// Notes that `owner` uses each of `ips`; returns how many.
    fn record_owner(&mut self, owner: &str, ips: &[String]) -> usize {
        for ip in ips {
            self.record_in_use(ip, owner);
        }
        ips.len()
    }

    /// Notes the enabled pools (`(cidr as stored, disabled)`, in list order).
    pub fn pools<'a>(
        &mut self,
        pools: impl IntoIterator<Item = (&'a str, bool)>,
    ) -> Result<(), String> {
        for (cidr, disabled) in pools {
            if disabled {
                continue;
            }
            self.out.push_str(&format!("  {cidr}\n"));
            let net =
                parse_cidr(cidr).map_err(|err| format!("failed to parse IP pool CIDR: {err}"))?;
            self.active_pools.push(net);
        }
        self.out.push_str(&format!(
            "Found {} active IP pools.\n\n",
            self.active_pools.len()
        ));
        Ok(())
    }

    /// Notes the Calico Nodes' tunnel addresses.
    pub fn nodes(&mut self, nodes: &[Node]) -> Result<(), String> {
        let mut count = 0;
        for node in nodes {
            count += self.record_owner(&format!("Node({})", node.metadata.name), &node_ips(node)?);
        }
        self.out
            .push_str(&format!("Found {count} node tunnel IPs.\n\n"));
        Ok(())
    }

    /// Notes the addresses of the LoadBalancer Services Calico manages; `assign_ips` is
    /// KubeControllersConfiguration's `loadBalancer.assignIPs`, `None` when that controller
    /// is not configured (the Services are then skipped).
    pub fn services(&mut self, services: &[ServiceInfo], assign_ips: Option<&str>) {
        match assign_ips {
            None => self.out.push_str(
                "No configuration for LoadBalancer kubecontroller found, skipping service check\n",
            ),
            Some(assign_ips) => {
                let mut count = 0;
                for service in services.iter().filter(|s| s.is_calico_managed(assign_ips)) {
                    count += 1;
                    self.record_owner(&service.name, &service.ingress_ips);
                }
                self.out
                    .push_str(&format!("Found {count} service load balancer(s).\n"));
            }
        }
        self.out.push('\n');
    }

    /// Notes the WorkloadEndpoints' addresses.
    pub fn workloads(&mut self, workloads: &[WorkloadEndpoint]) -> Result<(), String> {
        let mut count = 0;
        for workload in workloads {
            let owner = format!(
                "Workload({}/{})",
                workload.metadata.namespace, workload.metadata.name
            );
            count += self.record_owner(&owner, &workload_ips(workload)?);
        }
        self.out.push_str(&format!("Found {count} workload IPs.\n"));
        self.out.push_str(&format!(
            "Workloads and nodes are using {} IPs.\n\n",
            self.in_use.len()
        ));
        Ok(())
    }

    /// Notes the stored handles.
    pub fn handles(&mut self, handles: impl IntoIterator<Item = HandleInfo>) {
        for handle in handles {
            self.handles.insert(handle.id.clone(), handle);
        }
    }

    /// Runs the cross-checks and block validations (`now` judges future release times) and
    /// finishes the report.
    pub fn finish(mut self, now: DateTime<Utc>) -> CheckOutcome {
        self.top_nodes();
        let mut problems = self.leaked_ips() + self.unallocated_ips();
        problems += self.leaked_handles_and_missing();
        problems += self.invalid_blocks(now);
        self.out
            .push_str(&format!("Check complete; found {problems} problems.\n"));
        let leaked_handles = self
            .handles
            .iter()
            .filter(|(id, _)| !self.handles_in_blocks.contains(*id))
            .map(|(_, info)| info.clone())
            .collect();
        let report = CheckReport {
            version: self.options.version.clone(),
            cluster_guid: self.cluster.cluster_guid.clone(),
            datastore_locked: self.cluster.datastore_locked,
            cluster_information_revision: self.cluster.revision.clone(),
            cluster_type: self.cluster.cluster_type.clone(),
            allocations: self.allocations,
            leaked_handles,
        };
        CheckOutcome {
            output: self.out,
            problems,
            report,
        }
    }

    fn top_nodes(&mut self) {
        self.out.push_str(&format!(
            "Looking for top (up to {NODES_TO_PRINT}) nodes by allocations...\n"
        ));
        let mut nodes: Vec<(&String, usize)> = self
            .allocations_by_node
            .iter()
            .map(|(node, count)| (node, *count))
            .collect();
        nodes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        for (node, count) in nodes.iter().take(NODES_TO_PRINT) {
            self.out
                .push_str(&format!("  {node} has {count} allocations\n"));
        }
        if let (Some(first), Some(middle)) = (nodes.first(), nodes.get(nodes.len() / 2)) {
            self.out.push_str(&format!(
                "Node with most allocations has {}; median is {}\n",
                first.1, middle.1
            ));
        }
        self.out.push('\n');
    }

    fn leaked_ips(&mut self) -> usize {
        self.out
            .push_str("Scanning for IPs that are allocated but not actually in use...\n");
        let mut leaked = 0;
        for (ip, allocations) in &self.allocations {
            if self.in_use.contains_key(ip) || allocations.iter().any(|a| a.cooling_down) {
                continue;
            }
            if self.show_problems() {
                for text in self.attribute_texts.get(ip).into_iter().flatten() {
                    self.out.push_str(&format!("  {ip} leaked; attrs {text}\n"));
                }
            }
            leaked += 1;
        }
        self.out.push_str(&format!(
            "Found {leaked} IPs that are allocated in IPAM but not actually in use.\n"
        ));
        leaked
    }

    fn unallocated_ips(&mut self) -> usize {
        self.out.push_str(
            "Scanning for IPs that are in use by a workload or node but not allocated in IPAM...\n",
        );
        let show = self.show_problems();
        let (mut outside_pools, mut unallocated) = (0, 0);
        for (ip, owners) in &self.in_use {
            if show && owners.len() > 1 {
                self.out.push_str(&format!("  {ip} has multiple owners.\n"));
            }
            if self.allocations.contains_key(ip) {
                continue;
            }
            let address = ip.parse::<IpAddr>().ok().map(|a| a.to_canonical());
            let in_pool = address.is_some_and(|a| self.active_pools.iter().any(|p| p.contains(&a)));
            for owner in owners.iter().filter(|_| show) {
                if in_pool {
                    self.out.push_str(&format!(
                        "  {ip} in use by {owner} and in active IPAM pool but has no IPAM allocation.\n"
                    ));
                } else {
                    self.out.push_str(&format!(
                        "  {ip} in use by {owner} is not in any active IP pool.\n"
                    ));
                }
            }
            if in_pool {
                unallocated += 1;
            } else {
                outside_pools += 1;
            }
        }
        self.out.push_str(&format!(
            "Found {outside_pools} in-use IPs that are not in active IP pools.\n"
        ));
        self.out.push_str(&format!(
            "Found {unallocated} in-use IPs that are in active IP pools but have no corresponding IPAM allocation.\n\n"
        ));
        outside_pools + unallocated
    }

    /// Counts the leaked handles (problems) and prints the handles blocks name that do not
    /// exist (not counted, as in Calico).
    fn leaked_handles_and_missing(&mut self) -> usize {
        self.out
            .push_str("Scanning for IPAM handles with no matching IPs...\n");
        let (mut leaked, mut good) = (0, 0);
        for id in self.handles.keys() {
            if self.handles_in_blocks.contains(id) {
                good += 1;
                continue;
            }
            if self.options.show_all_ips {
                self.out
                    .push_str(&format!("  {id} doesn't have any active IPs.\n"));
            }
            leaked += 1;
        }
        self.out.push_str(&format!(
            "Found {leaked} handles with no matching IPs (and {good} handles with matches).\n"
        ));
        self.out
            .push_str("Scanning for IPs with missing handle...\n");
        let mut missing = 0;
        for id in &self.handles_in_blocks {
            if self.handles.contains_key(id) {
                continue;
            }
            if self.show_problems() {
                self.out
                    .push_str(&format!("  {id} is in use in a block but doesn't exist.\n"));
            }
            missing += 1;
        }
        self.out.push_str(&format!(
            "Found {missing} handles mentioned in blocks with no matching handle resource.\n"
        ));
        leaked
    }

    fn invalid_blocks(&mut self, now: DateTime<Utc>) -> usize {
        self.out.push_str("Validating IPAMBlock structures...\n");
        let mut invalid = 0;
        for (key, block) in &self.blocks {
            if let Err(err) = validate_at(block, now) {
                self.out
                    .push_str(&format!("  IPAMBlock {key} is invalid: {err}\n"));
                invalid += 1;
            }
        }
        self.out
            .push_str(&format!("Found {invalid} invalid IPAMBlocks.\n"));
        invalid
    }
}

fn kind(name: &str) -> Result<KindRef, String> {
    KindRef::lookup(name).ok_or_else(|| format!("kind {name} is not registered"))
}

/// Runs the check on the datastore `client` reaches, in Calico's order: ClusterInformation,
/// blocks, pools, nodes, Services (`services`, awaited there, with the
/// KubeControllersConfiguration `default`), WorkloadEndpoints, handles. Values that could not
/// be read are left out, as Calico's list leaves them out; their errors are returned with the
/// outcome (`unreadable`) so the caller can say so.
pub async fn check<F>(
    client: &Client,
    options: CheckOptions,
    services: F,
) -> Result<(CheckOutcome, Vec<DatastoreError>), CheckFailure>
where
    F: Future<Output = Result<Vec<ServiceInfo>, String>>,
{
    let mut checker = Checker::new(options);
    match gather(client, &mut checker, services).await {
        Ok(unreadable) => Ok((checker.finish(Utc::now()), unreadable)),
        Err(error) => Err(checker.fail(error)),
    }
}

/// How many blocks the check reads at a time (a /26 block is 3–5 KB stored).
const PAGE: usize = 500;

/// How many handles it reads at a time: they are small (50–100 bytes), and every limited read
/// costs etcd 3.4 a walk over the keys left in the range, so fewer, larger reads.
const HANDLE_PAGE: usize = 10_000;

async fn gather<F>(
    client: &Client,
    checker: &mut Checker,
    services: F,
) -> Result<Vec<DatastoreError>, String>
where
    F: Future<Output = Result<Vec<ServiceInfo>, String>>,
{
    let text = |err: DatastoreError| err.to_string();
    let info = client
        .get(&ResourceKey::new(
            kind("ClusterInformation")?,
            "",
            "default",
        ))
        .await
        .map_err(text)?;
    if let AnyResource::ClusterInformation(info) = &info {
        checker.cluster(ClusterFacts {
            cluster_guid: info.spec.cluster_guid.clone(),
            cluster_type: info.spec.cluster_type.clone(),
            revision: info.metadata.resource_version.clone(),
            datastore_locked: info.spec.datastore_ready == Some(false),
        });
    }
    let mut unreadable = Vec::new();

    checker.start(Stage::Blocks);
    let list_blocks = |err: DatastoreError| format!("failed to list IPAM blocks: {err}");
    let mut pages = client
        .backend()
        .list_model_pages(&ModelListOptions::all_blocks(), PAGE)
        .await
        .map_err(list_blocks)?;
    while let Some(page) = pages.next().await {
        let page = page.map_err(list_blocks)?;
        unreadable.extend(page.unreadable);
        for kv in page.items {
            if let ModelValue::Block(block) = kv.value {
                checker.add_block(kv.key, block);
            }
        }
    }
    checker.end_blocks();

    checker.start(Stage::Pools);
    let pools = crate::query::pools(client)
        .await
        .map_err(|err| format!("failed to load IP pools: {err}"))?;
    checker.pools(
        pools
            .iter()
            .map(|pool| (pool.spec.cidr.as_str(), pool.spec.disabled)),
    )?;

    checker.start(Stage::Nodes);
    let nodes = list_of(client, "Node", |item| match item {
        AnyResource::Node(node) => Some(*node),
        _ => None,
    })
    .await
    .map_err(|err| format!("failed to list nodes: {err}"))?;
    checker.nodes(&nodes)?;

    checker.start(Stage::Services);
    let services = services.await?;
    let controllers = client
        .get(&ResourceKey::new(
            kind("KubeControllersConfiguration")?,
            "",
            "default",
        ))
        .await
        .map_err(text)?;
    let assign_ips = match &controllers {
        AnyResource::KubeControllersConfiguration(config) => config
            .spec
            .controllers
            .load_balancer
            .as_ref()
            .map(|lb| lb.assign_ips.clone()),
        _ => None,
    };
    checker.services(&services, assign_ips.as_deref());

    checker.start(Stage::Workloads);
    let workloads = list_of(client, "WorkloadEndpoint", |item| match item {
        AnyResource::WorkloadEndpoint(workload) => Some(*workload),
        _ => None,
    })
    .await
    .map_err(|err| format!("failed to list workload endpoints: {err}"))?;
    checker.workloads(&workloads)?;

    checker.start(Stage::Handles);
    let list_handles = |err: DatastoreError| format!("failed to list handles: {err}");
    let mut pages = client
        .backend()
        .list_model_pages(&ModelListOptions::Handles, HANDLE_PAGE)
        .await
        .map_err(list_handles)?;
    while let Some(page) = pages.next().await {
        let page = page.map_err(list_handles)?;
        unreadable.extend(page.unreadable);
        checker.handles(page.items.into_iter().filter_map(|kv| match kv.key {
            ModelKey::Handle(key) => Some(HandleInfo {
                id: key.handle_id,
                uid: kv.uid,
                revision: kv.revision,
            }),
            _ => None,
        }));
    }
    Ok(unreadable)
}

#[cfg(test)]
mod tests;
