//! Kubernetes NetworkPolicies shown as Calico NetworkPolicies named `knp.default.<name>`,
//! read-only (`conversion.go` `K8sNetworkPolicyToCalico`).
//!
//! Calico's KDD at HEAD keeps them apart: a separate internal kind, KubernetesNetworkPolicy,
//! named without prefix and only listed and watched by Felix's syncer, while the v3
//! NetworkPolicy client serves the CRDs alone, and so does our backend by default. Earlier
//! releases (and kube-controllers' copies in etcd mode) showed them among NetworkPolicies as
//! `knp.default.<name>`: [`MergedNetworkPolicyStore`] offers that view, with the composite
//! `<crdRV>/<k8sRV>` list and watch revisions those releases used, to embedders that register
//! it; the conversion itself is what a syncer needs for Felix's KubernetesNetworkPolicy.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use calico_api::kinds::policy::{NetworkPolicySpec, DEFAULT_TIER};
use calico_api::kinds::rule::{EntityRule, Rule};
use calico_api::{AnyResource, NetworkPolicy, Port, Protocol};
use calico_datastore::{
    DatastoreError, ListOptions, ResourceKey, ResourceList, Result, WatchStream,
};
use ipnet::IpNet;
use k8s_openapi::api::networking::v1::{
    NetworkPolicy as K8sNetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{ListParams, WatchParams};
use kube::{Api, Client};

use super::error::{from_kube, not_supported};
use super::kubeio::{self, calico_time, conversion_error, name_selector};
use crate::store::{listing_first, watch_start, KindStore};
use crate::uid::convert_uid;

/// Names of Kubernetes policies among Calico ones.
pub const K8S_POLICY_PREFIX: &str = "knp.default.";
/// Kubernetes policies sit at this order, after most Calico ones.
pub const K8S_POLICY_ORDER: f64 = 1000.0;
/// Why writes to them are refused (calicoctl's words).
pub const READ_ONLY_REASON: &str =
    "kubernetes network policies must be managed through the kubernetes API";
const ORCHESTRATOR_SELECTOR: &str = "projectcalico.org/orchestrator == 'k8s'";

#[derive(Clone, Copy, PartialEq, Eq)]
enum SelectorFor {
    Pods,
    Namespaces,
}

/// `k8sSelectorToCalico`: pod selectors always include the k8s-orchestrator term; an empty
/// namespace selector selects every namespace (`all()`), an absent one none is given (`""`).
fn selector_to_calico(selector: Option<&LabelSelector>, kind: SelectorFor) -> String {
    let mut terms = Vec::new();
    if kind == SelectorFor::Pods {
        terms.push(ORCHESTRATOR_SELECTOR.to_string());
    }
    let Some(selector) = selector else {
        return terms.join(" && ");
    };
    let labels = selector.match_labels.clone().unwrap_or_default();
    let expressions = selector.match_expressions.clone().unwrap_or_default();
    if kind == SelectorFor::Namespaces && labels.is_empty() && expressions.is_empty() {
        return "all()".into();
    }
    for (key, value) in &labels {
        terms.push(format!("{key} == '{value}'"));
    }
    for e in &expressions {
        let values = e.values.clone().unwrap_or_default().join("', '");
        match e.operator.as_str() {
            "In" => terms.push(format!("{} in {{ '{values}' }}", e.key)),
            "NotIn" => terms.push(format!("{} not in {{ '{values}' }}", e.key)),
            "Exists" => terms.push(format!("has({})", e.key)),
            "DoesNotExist" => terms.push(format!("! has({})", e.key)),
            _ => {}
        }
    }
    terms.join(" && ")
}

/// A peer's selector, namespace selector, nets and excluded nets. A CIDR that does not parse
/// ends the conversion where it is, leaving what was gathered so far, as Calico does.
#[derive(Default)]
struct PeerFields {
    selector: String,
    namespace_selector: String,
    nets: Vec<String>,
    not_nets: Vec<String>,
}

fn peer_fields(peer: Option<&NetworkPolicyPeer>) -> PeerFields {
    let mut out = PeerFields::default();
    let Some(peer) = peer else {
        return out;
    };
    if let Some(block) = &peer.ip_block {
        let Ok(net) = block.cidr.parse::<IpNet>() else {
            return out;
        };
        out.nets = vec![net.trunc().to_string()];
        for except in block.except.iter().flatten() {
            let Ok(net) = except.parse::<IpNet>() else {
                return out;
            };
            out.not_nets.push(net.trunc().to_string());
        }
        return out;
    }
    out.selector = selector_to_calico(peer.pod_selector.as_ref(), SelectorFor::Pods);
    out.namespace_selector =
        selector_to_calico(peer.namespace_selector.as_ref(), SelectorFor::Namespaces);
    out
}

/// A port and its range end as Calico's port type; `Ok(None)` when no port is given (every
/// port of the protocol).
fn port_to_calico(port: &NetworkPolicyPort) -> std::result::Result<Option<Port>, String> {
    let Some(value) = &port.port else {
        return Ok(None);
    };
    let mut text = match value {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => s.clone(),
    };
    if let Some(end) = port.end_port {
        text = format!("{text}:{end}");
    }
    Port::parse(&text)
        .map(Some)
        .map_err(|e| format!("invalid port {text}: {e}"))
}

/// `SimplifyPorts`: the fewest ranges covering the numeric ports, named ports kept first.
pub fn simplify_ports(ports: Vec<Port>) -> Vec<Port> {
    if ports.len() <= 1 {
        return ports;
    }
    let mut out = Vec::new();
    let mut numbers: Vec<u32> = Vec::new();
    for port in &ports {
        match port {
            Port::Named(_) => out.push(port.clone()),
            Port::Range { min, max } => numbers.extend(u32::from(*min)..=u32::from(*max)),
        }
    }
    if numbers.len() <= 1 {
        return ports;
    }
    numbers.sort_unstable();
    let mut iter = numbers.into_iter().peekable();
    while let Some(first) = iter.next() {
        let mut last = first;
        while let Some(&next) = iter.peek() {
            if next > last + 1 {
                break;
            }
            last = next;
            iter.next();
        }
        let (Ok(min), Ok(max)) = (u16::try_from(first), u16::try_from(last)) else {
            continue;
        };
        out.push(Port::Range { min, max });
    }
    out
}

/// `k8sRuleToCalico`: one Allow rule per protocol (sorted) and peer. `Err` when a port is
/// malformed; Calico then drops the whole Kubernetes rule.
fn rule_to_calico(
    peers: &[NetworkPolicyPeer],
    ports: &[NetworkPolicyPort],
    ingress: bool,
) -> std::result::Result<Vec<Rule>, String> {
    // `None` ports for a protocol means every port; the "" protocol means any protocol.
    let mut by_protocol: BTreeMap<String, Option<Vec<Port>>> = BTreeMap::new();
    if ports.is_empty() {
        by_protocol.insert(String::new(), None);
    }
    for port in ports {
        // TCP is the Kubernetes default, made explicit because Calico needs a protocol to
        // match ports.
        let protocol =
            Protocol::protocol_from_name(port.protocol.as_deref().unwrap_or("TCP")).to_string();
        match port_to_calico(port)? {
            None => {
                by_protocol.insert(protocol, None);
            }
            Some(p) => match by_protocol.get_mut(&protocol) {
                None => {
                    by_protocol.insert(protocol, Some(vec![p]));
                }
                Some(Some(list)) => list.push(p),
                // Already every port of this protocol.
                Some(None) => {}
            },
        }
    }
    let peers: Vec<Option<&NetworkPolicyPeer>> = if peers.is_empty() {
        vec![None]
    } else {
        peers.iter().map(Some).collect()
    };
    let mut rules = Vec::new();
    for (protocol, ports) in by_protocol {
        let ports = simplify_ports(ports.unwrap_or_default());
        let protocol = (!protocol.is_empty()).then(|| Protocol::protocol_from_name(&protocol));
        for peer in &peers {
            let fields = peer_fields(*peer);
            let entity = EntityRule {
                selector: fields.selector,
                namespace_selector: fields.namespace_selector,
                nets: fields.nets,
                not_nets: fields.not_nets,
                ..EntityRule::default()
            };
            let (source, destination) = if ingress {
                (
                    entity,
                    EntityRule {
                        ports: ports.clone(),
                        ..EntityRule::default()
                    },
                )
            } else {
                (
                    EntityRule::default(),
                    EntityRule {
                        ports: ports.clone(),
                        ..entity
                    },
                )
            };
            rules.push(Rule {
                action: "Allow".into(),
                protocol: protocol.clone(),
                source,
                destination,
                ..Rule::default()
            });
        }
    }
    Ok(rules)
}

/// `K8sNetworkPolicyToCalico`. Rules that cannot be converted are dropped (the apiserver
/// validated them, so this does not happen in practice); a UID that is not a UUID fails.
pub fn k8s_network_policy_to_calico(np: &K8sNetworkPolicy) -> Result<NetworkPolicy> {
    let meta = &np.metadata;
    let name = meta.name.clone().unwrap_or_default();
    let namespace = meta.namespace.clone().unwrap_or_default();
    let spec = np.spec.clone().unwrap_or_default();
    let mut ingress = Vec::new();
    for rule in spec.ingress.iter().flatten() {
        let peers = rule.from.clone().unwrap_or_default();
        let ports = rule.ports.clone().unwrap_or_default();
        if let Ok(rules) = rule_to_calico(&peers, &ports, true) {
            ingress.extend(rules);
        }
    }
    let mut egress = Vec::new();
    for rule in spec.egress.iter().flatten() {
        let peers = rule.to.clone().unwrap_or_default();
        let ports = rule.ports.clone().unwrap_or_default();
        if let Ok(rules) = rule_to_calico(&peers, &ports, false) {
            egress.extend(rules);
        }
    }
    let types_given = spec.policy_types.clone().unwrap_or_default();
    let mut types = Vec::new();
    for wanted in ["Ingress", "Egress"] {
        if types_given.iter().any(|t| t == wanted) {
            types.push(wanted.to_string());
        }
    }
    // Clusters from before `policyTypes` existed mean ingress only.
    if types.is_empty() {
        types.push("Ingress".into());
    }
    let uid = match meta.uid.as_deref().filter(|u| !u.is_empty()) {
        None => String::new(),
        Some(uid) => convert_uid(uid).ok_or_else(|| {
            conversion_error(
                "NetworkPolicy",
                &format!("{namespace}/{name}"),
                format!("failed to parse UID for resource: invalid UUID {uid:?}"),
            )
        })?,
    };
    // The policy's own selector is a struct in Kubernetes' Go types: absent means empty.
    let pod_selector = spec.pod_selector.clone().unwrap_or_default();
    let mut policy = NetworkPolicy::new_namespaced(
        namespace,
        format!("{K8S_POLICY_PREFIX}{name}"),
        NetworkPolicySpec {
            tier: DEFAULT_TIER.into(),
            order: Some(K8S_POLICY_ORDER),
            ingress,
            egress,
            selector: selector_to_calico(Some(&pod_selector), SelectorFor::Pods),
            types,
            ..NetworkPolicySpec::default()
        },
    );
    policy.metadata.uid = uid;
    policy.metadata.creation_timestamp = calico_time(meta.creation_timestamp.as_ref());
    policy.metadata.resource_version = meta.resource_version.clone().unwrap_or_default();
    Ok(policy)
}

/// Calico NetworkPolicies from the wrapped store (the custom resources) plus the Kubernetes
/// ones as `knp.default.<name>`.
pub struct MergedNetworkPolicyStore {
    calico: Arc<dyn KindStore>,
    client: Client,
}

impl MergedNetworkPolicyStore {
    pub fn new(calico: Arc<dyn KindStore>, client: Client) -> Self {
        MergedNetworkPolicyStore { calico, client }
    }

    fn api(&self, namespace: Option<&str>) -> Api<K8sNetworkPolicy> {
        match namespace.filter(|ns| !ns.is_empty()) {
            Some(ns) => Api::namespaced(self.client.clone(), ns),
            None => Api::all(self.client.clone()),
        }
    }
}

fn is_k8s_policy(name: &str) -> bool {
    name.starts_with(K8S_POLICY_PREFIX)
}

fn refuse(operation: &str, key: &ResourceKey) -> DatastoreError {
    not_supported(operation, key, Some(READ_ONLY_REASON))
}

/// Whether an exact-name selection can only match one side (`Some(true)`: Kubernetes).
fn only_side(options: &ListOptions) -> Option<bool> {
    match (&options.name, options.name_is_prefix) {
        (Some(name), false) => Some(is_k8s_policy(name)),
        (Some(prefix), true) if is_k8s_policy(prefix) => Some(true),
        (Some(prefix), true) if !K8S_POLICY_PREFIX.starts_with(prefix.as_str()) => Some(false),
        _ => None,
    }
}

fn convert_k8s(np: &K8sNetworkPolicy, options: &ListOptions) -> Result<Vec<AnyResource>> {
    let item = AnyResource::from(k8s_network_policy_to_calico(np)?);
    Ok(if options.matches(&ResourceKey::of(&item)) {
        vec![item]
    } else {
        Vec::new()
    })
}

#[async_trait]
impl KindStore for MergedNetworkPolicyStore {
    async fn create(&self, resource: AnyResource) -> Result<AnyResource> {
        let key = ResourceKey::of(&resource);
        if is_k8s_policy(&key.name) {
            return Err(refuse("Create", &key));
        }
        self.calico.create(resource).await
    }

    async fn update(&self, resource: AnyResource) -> Result<AnyResource> {
        let key = ResourceKey::of(&resource);
        if is_k8s_policy(&key.name) {
            return Err(refuse("Update", &key));
        }
        self.calico.update(resource).await
    }

    async fn delete(&self, key: &ResourceKey, uid: Option<&str>) -> Result<AnyResource> {
        if is_k8s_policy(&key.name) {
            return Err(refuse("Delete", key));
        }
        self.calico.delete(key, uid).await
    }

    async fn get(&self, key: &ResourceKey) -> Result<AnyResource> {
        let Some(name) = key.name.strip_prefix(K8S_POLICY_PREFIX) else {
            return self.calico.get(key).await;
        };
        let np = self
            .api(Some(&key.namespace))
            .get(name)
            .await
            .map_err(|e| from_kube(e, Some(key)))?;
        k8s_network_policy_to_calico(&np).map(AnyResource::from)
    }

    async fn list(&self, options: &ListOptions, revision: Option<&str>) -> Result<ResourceList> {
        let (crd_rev, k8s_rev) = kubeio::split_composite(revision);
        let side = only_side(options);
        let mut items = Vec::new();
        let mut crd_list_rev = crd_rev.clone().unwrap_or_default();
        if side != Some(true) {
            let list = self.calico.list(options, crd_rev.as_deref()).await?;
            items.extend(list.items);
            crd_list_rev = list.revision;
        }
        let mut k8s_list_rev = k8s_rev.clone().unwrap_or_default();
        if side != Some(false) {
            let mut params = ListParams::default();
            if let (Some(name), false) = (&options.name, options.name_is_prefix) {
                if let Some(k8s_name) = name.strip_prefix(K8S_POLICY_PREFIX) {
                    params = params.fields(&name_selector(k8s_name));
                }
            }
            let api = self.api(options.namespace.as_deref());
            let (policies, rev) = kubeio::list_all(&api, params, k8s_rev.as_deref()).await?;
            for np in &policies {
                items.extend(convert_k8s(np, options)?);
            }
            k8s_list_rev = rev;
        }
        Ok(ResourceList {
            items,
            revision: format!("{crd_list_rev}/{k8s_list_rev}"),
        })
    }

    async fn watch(&self, options: &ListOptions, revision: Option<&str>) -> Result<WatchStream> {
        let Some(revision) = watch_start(revision) else {
            let list = self.list(options, None).await?;
            return listing_first(self, options, list).await;
        };
        let (crd_rev, k8s_rev) = kubeio::split_composite(Some(revision));
        let side = only_side(options);
        let crd_watch = if side == Some(true) {
            kubeio::silent()
        } else {
            self.calico.watch(options, crd_rev.as_deref()).await?
        };
        let k8s_watch = if side == Some(false) {
            kubeio::silent()
        } else {
            let mut params = WatchParams::default();
            if let (Some(name), false) = (&options.name, options.name_is_prefix) {
                if let Some(k8s_name) = name.strip_prefix(K8S_POLICY_PREFIX) {
                    params = params.fields(&name_selector(k8s_name));
                }
            }
            let filter = options.clone();
            kubeio::watch(
                &self.api(options.namespace.as_deref()),
                params,
                k8s_rev.as_deref().unwrap_or_default(),
                Box::new(move |np: K8sNetworkPolicy| convert_k8s(&np, &filter)),
                kubeio::NativeErrors,
            )
            .await?
        };
        fn whole(rv: &str) -> String {
            rv.to_string()
        }
        Ok(kubeio::merge_composite(
            crd_watch,
            k8s_watch,
            (crd_rev, k8s_rev),
            whole,
            whole,
        ))
    }
}

#[cfg(test)]
#[path = "netpol_tests.rs"]
mod tests;
