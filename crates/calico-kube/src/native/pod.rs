//! WorkloadEndpoint: one per scheduled, pod-networked Pod (`resources/workloadendpoint.go`,
//! `conversion/workload_endpoint_default.go`).
//!
//! Read-only here. Calico's create and update only work in the CNI plugin's patch mode
//! (patching the pod's IP annotations), which calicoctl never uses, and are refused as Calico
//! refuses them outside it; delete is refused too (see [`WorkloadEndpointStore`]'s delete).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use calico_api::kinds::workloadendpoint::{
    IpNat, WorkloadEndpointIdentifiers, WorkloadEndpointPort, WorkloadEndpointSpec,
    ORCHESTRATOR_K8S, ORCHESTRATOR_LABEL,
};
use calico_api::{AnyResource, Protocol, WorkloadEndpoint};
use calico_datastore::{
    DatastoreError, KindRef, ListOptions, ResourceKey, ResourceList, ResourcePages, Result,
    WatchStream,
};
use futures::StreamExt;
use ipnet::IpNet;
use k8s_openapi::api::core::v1::{Container, Pod};
use kube::api::{ListParams, Patch, PatchParams, WatchParams};
use kube::{Api, Client};
use sha1::{Digest, Sha1};

use super::error::{from_kube, not_supported};
use super::kubeio::{self, calico_time, conversion_error, name_selector};
use super::profile::{NAMESPACE_PROFILE_PREFIX, SERVICE_ACCOUNT_PROFILE_PREFIX};
use super::qos::qos_controls;
use crate::store::{listing_first, watch_start, KindStore};

pub const POD_IP: &str = "cni.projectcalico.org/podIP";
pub const POD_IPS: &str = "cni.projectcalico.org/podIPs";
pub const AWS_POD_IPS: &str = "vpc.amazonaws.com/pod-ips";
pub const CONTAINER_ID: &str = "cni.projectcalico.org/containerID";
pub const FLOATING_IPS: &str = "cni.projectcalico.org/floatingIPs";
pub const ALLOWED_SOURCE_PREFIXES: &str = "cni.projectcalico.org/allowedSourcePrefixes";
pub const NETWORK_STATUS: &str = "k8s.v1.cni.cncf.io/network-status";
pub const NAMESPACE_LABEL: &str = "projectcalico.org/namespace";
pub const SERVICE_ACCOUNT_LABEL: &str = "projectcalico.org/serviceaccount";
/// Calico's refusal outside the CNI plugin's patch mode.
pub const UNSUPPORTED_PATCH_MODE: &str = "unsupported PatchMode: patchModeUnspecified";
/// Kubernetes pods have one endpoint.
const ENDPOINT: &str = "eth0";

/// Whether Calico shows the pod as a WorkloadEndpoint: scheduled and not host-networked.
pub fn is_workload_endpoint(pod: &Pod) -> bool {
    let spec = pod.spec.as_ref();
    !spec.and_then(|s| s.host_network).unwrap_or(false)
        && spec
            .and_then(|s| s.node_name.as_deref())
            .is_some_and(|n| !n.is_empty())
}

/// Whether the pod no longer owns its IPs: it ended, or it is being deleted and the CNI plugin
/// already released them (marked by blanking its IP annotation).
pub fn is_finished(pod: &Pod) -> bool {
    let annotations = pod.metadata.annotations.as_ref();
    let blanked = |key: &str| {
        annotations
            .and_then(|a| a.get(key))
            .is_some_and(String::is_empty)
    };
    if pod.metadata.deletion_timestamp.is_some() && (blanked(POD_IP) || blanked(AWS_POD_IPS)) {
        return true;
    }
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Failed" | "Succeeded" | "Completed")
    )
}

/// The host-side interface Calico's CNI plugin names for a pod: the prefix (first of a
/// comma-separated `FELIX_INTERFACEPREFIX`, `cali` when empty) and 11 hex digits of
/// SHA-1(`<namespace>.<pod>`).
pub fn interface_name(prefix: &str, namespace: &str, pod: &str) -> String {
    let prefix = prefix
        .split(',')
        .next()
        .filter(|p| !p.is_empty())
        .unwrap_or("cali");
    let digest = Sha1::digest(format!("{namespace}.{pod}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{}", &hex[..11])
}

/// The pod's addresses from the first source that has any, each as its network (`/32` or
/// `/128` for a bare address). `Err` names an address that does not parse.
fn pod_ips(pod: &Pod) -> std::result::Result<Vec<IpNet>, String> {
    let status = pod.status.as_ref();
    let annotations = pod.metadata.annotations.clone().unwrap_or_default();
    let annotation = |key: &str| annotations.get(key).filter(|v| !v.is_empty());
    let from_status: Vec<String> = status
        .and_then(|s| s.pod_ips.as_ref())
        .map(|ips| ips.iter().map(|ip| ip.ip.clone()).collect())
        .unwrap_or_default();
    let texts: Vec<String> = if !from_status.is_empty() {
        from_status
    } else if let Some(ip) = status
        .and_then(|s| s.pod_ip.clone())
        .filter(|ip| !ip.is_empty())
    {
        vec![ip]
    } else if let Some(ips) = annotation(POD_IPS) {
        ips.split(',').map(String::from).collect()
    } else if let Some(ip) = annotation(POD_IP) {
        vec![ip.clone()]
    } else if let Some(ips) = annotation(AWS_POD_IPS) {
        ips.split(',').map(String::from).collect()
    } else {
        Vec::new()
    };
    texts
        .iter()
        .map(|text| {
            calico_api::validation::checks::parse_cidr_or_ip(text)
                .map(|net| net.trunc())
                .ok_or_else(|| format!("failed to parse pod IP {text:?}"))
        })
        .collect()
}

/// `cni.projectcalico.org/floatingIPs`: each external address NATs to the pod's address of
/// its family.
fn floating_ips(text: &str, pod_nets: &[IpNet]) -> std::result::Result<Vec<IpNat>, String> {
    let ips: Vec<String> =
        serde_json::from_str(text).map_err(|e| format!("failed to parse '{text}' as JSON: {e}"))?;
    let mut v4 = None;
    let mut v6 = None;
    for net in pod_nets {
        match net {
            IpNet::V4(n) if n.prefix_len() != 32 => {
                return Err(format!(
                    "PodIP {net} is not a valid IPv4: Mask size is {}, not 32",
                    n.prefix_len()
                ))
            }
            IpNet::V6(n) if n.prefix_len() != 128 => {
                return Err(format!(
                    "PodIP {net} is not a valid IPv6: Mask size is {}, not 128",
                    n.prefix_len()
                ))
            }
            IpNet::V4(n) => v4 = Some(n.addr().to_string()),
            IpNet::V6(n) => v6 = Some(n.addr().to_string()),
        }
    }
    Ok(ips
        .into_iter()
        .filter_map(|external| {
            let internal = if external.contains(':') { &v6 } else { &v4 };
            internal.clone().map(|internal_ip| IpNat {
                internal_ip,
                external_ip: external,
            })
        })
        .collect())
}

/// `cni.projectcalico.org/allowedSourcePrefixes`: a JSON list of CIDRs, normalised.
fn allowed_source_prefixes(text: &str) -> std::result::Result<Vec<String>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let prefixes: Vec<String> =
        serde_json::from_str(text).map_err(|e| format!("failed to parse '{text}' as JSON: {e}"))?;
    prefixes
        .iter()
        .map(|p| {
            p.parse::<IpNet>()
                .map(|net| net.trunc().to_string())
                .map_err(|e| format!("failed to parse '{p}' as a CIDR: {e}"))
        })
        .collect()
}

/// Named or host-mapped container ports (TCP when no protocol is given; unknown protocols are
/// skipped).
fn ports(containers: &[Container]) -> Vec<WorkloadEndpointPort> {
    let mut out = Vec::new();
    for port in containers.iter().flat_map(|c| c.ports.iter().flatten()) {
        let name = port.name.clone().unwrap_or_default();
        let host_port = port.host_port.unwrap_or(0);
        if port.container_port == 0 || (host_port == 0 && name.is_empty()) {
            continue;
        }
        let protocol = match port.protocol.as_deref() {
            Some("UDP") => "UDP",
            Some("SCTP") => "SCTP",
            Some("TCP" | "") | None => "TCP",
            Some(_) => continue,
        };
        out.push(WorkloadEndpointPort {
            name,
            protocol: Protocol::protocol_from_name(protocol),
            port: u16::try_from(port.container_port).unwrap_or(0),
            host_port: u16::try_from(host_port).unwrap_or(0),
            host_ip: port.host_ip.clone().unwrap_or_default(),
        });
    }
    out
}

/// `ksa.<namespace>.<serviceaccount>` (namespace `default` when empty).
pub fn service_account_profile_name(namespace: &str, service_account: &str) -> String {
    let namespace = if namespace.is_empty() {
        "default"
    } else {
        namespace
    };
    format!("{SERVICE_ACCOUNT_PROFILE_PREFIX}{namespace}.{service_account}")
}

/// `podToDefaultWorkloadEndpoint`, for a pod [`is_workload_endpoint`] accepts. QoS annotation
/// problems are ignored (Calico logs them); other malformed annotations fail the conversion.
pub fn pod_to_workload_endpoint(
    pod: &Pod,
    interface_prefix: &str,
) -> std::result::Result<WorkloadEndpoint, String> {
    let meta = &pod.metadata;
    let namespace = meta.namespace.clone().unwrap_or_default();
    let name = meta.name.clone().unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    let node = spec.node_name.clone().unwrap_or_default();
    let service_account = spec.service_account_name.clone().unwrap_or_default();
    let annotations = meta.annotations.clone().unwrap_or_default();

    let mut profiles = vec![format!("{NAMESPACE_PROFILE_PREFIX}{namespace}")];
    if !service_account.is_empty() {
        profiles.push(service_account_profile_name(&namespace, &service_account));
    }
    let wep_name = WorkloadEndpointIdentifiers {
        node: &node,
        orchestrator: ORCHESTRATOR_K8S,
        endpoint: ENDPOINT,
        pod: &name,
        ..WorkloadEndpointIdentifiers::default()
    }
    .name()
    .map_err(|e| e.to_string())?;

    let mut nets = pod_ips(pod)?;
    if is_finished(pod) {
        // The IPs went back to the pool; the endpoint must not claim them any more.
        nets.clear();
    }
    let ip_nats = match annotations.get(FLOATING_IPS) {
        Some(text) if !nets.is_empty() => floating_ips(text, &nets)?,
        _ => Vec::new(),
    };
    let allow_spoofed_source_prefixes = annotations
        .get(ALLOWED_SOURCE_PREFIXES)
        .map(|text| allowed_source_prefixes(text))
        .transpose()?
        .unwrap_or_default();

    let mut labels: BTreeMap<String, String> = meta.labels.clone().unwrap_or_default();
    labels.insert(NAMESPACE_LABEL.into(), namespace.clone());
    labels.insert(ORCHESTRATOR_LABEL.into(), ORCHESTRATOR_K8S.into());
    // Label values are at most 63 characters; longer names only appear in the profile.
    if !service_account.is_empty() && service_account.len() < 63 {
        labels.insert(SERVICE_ACCOUNT_LABEL.into(), service_account.clone());
    }

    let mut all_ports = ports(&spec.containers);
    all_ports.extend(ports(spec.init_containers.as_deref().unwrap_or_default()));

    let mut wep = WorkloadEndpoint::new_namespaced(
        namespace.clone(),
        wep_name,
        WorkloadEndpointSpec {
            orchestrator: ORCHESTRATOR_K8S.into(),
            node,
            pod: name.clone(),
            container_id: annotations.get(CONTAINER_ID).cloned().unwrap_or_default(),
            endpoint: ENDPOINT.into(),
            interface_name: interface_name(interface_prefix, &namespace, &name),
            profiles,
            ip_networks: nets.iter().map(ToString::to_string).collect(),
            ports: all_ports,
            ip_nats,
            service_account_name: service_account,
            allow_spoofed_source_prefixes,
            qos_controls: qos_controls(&annotations).0,
            ..WorkloadEndpointSpec::default()
        },
    );
    wep.metadata.creation_timestamp = calico_time(meta.creation_timestamp.as_ref());
    // The pod's own UID: Calico does not convert it for endpoints.
    wep.metadata.uid = meta.uid.clone().unwrap_or_default();
    wep.metadata.generate_name = meta.generate_name.clone().unwrap_or_default();
    wep.metadata.resource_version = meta.resource_version.clone().unwrap_or_default();
    wep.metadata.labels = labels;
    if let Some(status) = annotations.get(NETWORK_STATUS) {
        wep.metadata
            .annotations
            .insert(NETWORK_STATUS.into(), status.clone());
    }
    Ok(wep)
}

/// The identifiers a WorkloadEndpoint name holds (`names.ParseWorkloadEndpointName`): segments
/// split at single dashes, `--` standing for a dash inside one. `None` when the name has more
/// segments than any orchestrator uses.
pub fn parse_workload_endpoint_name(name: &str) -> Option<ParsedName> {
    if name.is_empty() {
        return None;
    }
    let bytes = name.as_bytes();
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 1;
    while i < bytes.len() {
        if bytes[i] == b'-' {
            if i + 1 < bytes.len() && bytes[i + 1] == b'-' {
                i += 2;
                continue;
            }
            parts.push(name[start..i].replace("--", "-"));
            start = i + 1;
        }
        i += 1;
    }
    parts.push(name[start..].replace("--", "-"));
    if parts.len() > 4 {
        return None;
    }
    let mut parsed = ParsedName::default();
    let mut parts = parts.into_iter();
    parsed.node = parts.next().unwrap_or_default();
    parsed.orchestrator = parts.next().unwrap_or_default();
    let third = parts.next().unwrap_or_default();
    parsed.endpoint = parts.next().unwrap_or_default();
    match parsed.orchestrator.as_str() {
        "k8s" => parsed.pod = third,
        "cni" => parsed.container_id = third,
        // libnetwork repeats the orchestrator; other orchestrators name a workload.
        "libnetwork" => {}
        _ => parsed.workload = third,
    }
    Some(parsed)
}

/// What [`parse_workload_endpoint_name`] finds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedName {
    pub node: String,
    pub orchestrator: String,
    pub pod: String,
    pub container_id: String,
    pub workload: String,
    pub endpoint: String,
}

/// WorkloadEndpoints from Pods.
pub struct WorkloadEndpointStore {
    client: Client,
    interface_prefix: String,
}

impl WorkloadEndpointStore {
    pub fn new(client: Client, interface_prefix: String) -> Self {
        WorkloadEndpointStore {
            client,
            interface_prefix,
        }
    }

    fn api(&self, namespace: Option<&str>) -> Api<Pod> {
        match namespace.filter(|ns| !ns.is_empty()) {
            Some(ns) => Api::namespaced(self.client.clone(), ns),
            None => Api::all(self.client.clone()),
        }
    }

    /// The pod a WorkloadEndpoint name (exact, not a prefix) stands for, if it names one.
    fn pod_of(options: &ListOptions) -> Option<String> {
        options
            .name
            .as_deref()
            .filter(|_| !options.name_is_prefix)
            .and_then(parse_workload_endpoint_name)
            .map(|parsed| parsed.pod)
            .filter(|pod| !pod.is_empty())
    }
}

/// Converts a pod and keeps its endpoint if `options` selects it.
fn convert_and_filter(pod: &Pod, prefix: &str, options: &ListOptions) -> Result<Vec<AnyResource>> {
    if !is_workload_endpoint(pod) {
        return Ok(Vec::new());
    }
    let wep = pod_to_workload_endpoint(pod, prefix).map_err(|e| {
        let name = format!(
            "{}/{}",
            pod.metadata.namespace.as_deref().unwrap_or_default(),
            pod.metadata.name.as_deref().unwrap_or_default()
        );
        conversion_error("Pod", &name, e)
    })?;
    let item = AnyResource::from(wep);
    Ok(if options.matches(&ResourceKey::of(&item)) {
        vec![item]
    } else {
        Vec::new()
    })
}

fn malformed(key: &ResourceKey) -> DatastoreError {
    DatastoreError::DoesNotExist {
        key: key.clone(),
        cause: Some("malformed WorkloadEndpoint name - unable to determine Pod name".into()),
    }
}

#[async_trait]
impl KindStore for WorkloadEndpointStore {
    async fn create(&self, resource: AnyResource) -> Result<AnyResource> {
        Err(not_supported(
            "Create",
            &ResourceKey::of(&resource),
            Some(UNSUPPORTED_PATCH_MODE),
        ))
    }

    async fn update(&self, resource: AnyResource) -> Result<AnyResource> {
        Err(not_supported(
            "Update",
            &ResourceKey::of(&resource),
            Some(UNSUPPORTED_PATCH_MODE),
        ))
    }

    /// As Calico's WorkloadEndpointClient.Delete: the pod's IP annotations are set to empty
    /// strings through the status subresource (the CNI plugin's teardown signal: Felix then
    /// treats the pod as having lost its addresses), the container ID is left in place, and
    /// the endpoint is returned as the patched pod shows it.
    async fn delete(&self, key: &ResourceKey, uid: Option<&str>) -> Result<AnyResource> {
        let parsed = parse_workload_endpoint_name(&key.name).unwrap_or_default();
        if parsed.pod.is_empty() {
            return Err(malformed(key));
        }
        let mut metadata = serde_json::json!({
            "annotations": {POD_IP: "", POD_IPS: ""},
        });
        if let Some(uid) = uid.filter(|u| !u.is_empty()) {
            metadata["uid"] = serde_json::Value::from(uid);
        }
        let patch = serde_json::json!({ "metadata": metadata });
        let pod = self
            .api(Some(&key.namespace))
            .patch_status(
                &parsed.pod,
                &PatchParams::default(),
                &Patch::Strategic(patch),
            )
            .await
            .map_err(|e| from_kube(e, Some(key)))?;
        let all = ListOptions {
            namespace: Some(key.namespace.clone()),
            ..ListOptions::all(key.kind)
        };
        convert_and_filter(&pod, &self.interface_prefix, &all)?
            .pop()
            .ok_or_else(|| DatastoreError::does_not_exist(key))
    }

    async fn get(&self, key: &ResourceKey) -> Result<AnyResource> {
        let parsed = parse_workload_endpoint_name(&key.name).unwrap_or_default();
        if parsed.pod.is_empty() {
            return Err(malformed(key));
        }
        let pod = self
            .api(Some(&key.namespace))
            .get(&parsed.pod)
            .await
            .map_err(|e| from_kube(e, Some(key)))?;
        let exact = ListOptions {
            namespace: Some(key.namespace.clone()),
            name: Some(key.name.clone()),
            ..ListOptions::all(key.kind)
        };
        convert_and_filter(&pod, &self.interface_prefix, &exact)?
            .pop()
            .ok_or_else(|| DatastoreError::does_not_exist(key))
    }

    async fn list(&self, options: &ListOptions, revision: Option<&str>) -> Result<ResourceList> {
        let mut params = ListParams::default();
        if let (Some(name), false) = (&options.name, options.name_is_prefix) {
            let Some(pod) = Self::pod_of(options) else {
                let key = ResourceKey::new(
                    options.kind,
                    options.namespace.clone().unwrap_or_default(),
                    name.clone(),
                );
                return Err(malformed(&key));
            };
            params = params.fields(&name_selector(&pod));
        }
        let api = self.api(options.namespace.as_deref());
        let (pods, revision) = kubeio::list_all(&api, params, revision).await?;
        let mut items = Vec::new();
        for pod in &pods {
            items.extend(convert_and_filter(pod, &self.interface_prefix, options)?);
        }
        Ok(ResourceList { items, revision })
    }

    /// Pods are read and converted a page at a time (WorkloadEndpoint lists are the long ones).
    async fn list_pages(&self, options: &ListOptions, page_size: usize) -> Result<ResourcePages> {
        if options.name.is_some() && !options.name_is_prefix {
            let list = self.list(options, None).await?;
            return Ok(Box::pin(futures::stream::iter([Ok(list)])));
        }
        let api = self.api(options.namespace.as_deref());
        let page_size = u32::try_from(page_size).unwrap_or(u32::MAX).max(1);
        let prefix = self.interface_prefix.clone();
        let options = options.clone();
        let pages = kubeio::pages(api, ListParams::default(), None, page_size).map(move |page| {
            let (pods, revision) = page?;
            let mut items = Vec::new();
            for pod in &pods {
                items.extend(convert_and_filter(pod, &prefix, &options)?);
            }
            Ok(ResourceList { items, revision })
        });
        Ok(Box::pin(pages))
    }

    async fn watch(&self, options: &ListOptions, revision: Option<&str>) -> Result<WatchStream> {
        let Some(revision) = watch_start(revision) else {
            let list = self.list(options, None).await?;
            return listing_first(self, options, list).await;
        };
        let mut params = WatchParams::default();
        if options.name.is_some() && !options.name_is_prefix {
            if options.namespace.as_deref().unwrap_or_default().is_empty() {
                return Err(DatastoreError::Store(
                    "cannot watch a specific WorkloadEndpoint without a namespace".into(),
                ));
            }
            if let Some(pod) = Self::pod_of(options) {
                params = params.fields(&name_selector(&pod));
            }
        }
        let api = self.api(options.namespace.as_deref());
        let prefix = self.interface_prefix.clone();
        let filter = options.clone();
        kubeio::watch(
            &api,
            params,
            revision,
            Box::new(move |pod: Pod| convert_and_filter(&pod, &prefix, &filter)),
            kubeio::NativeErrors,
        )
        .await
    }
}

/// The WorkloadEndpoint store as the backend registers it.
pub fn store(client: &Client, interface_prefix: &str) -> Option<(KindRef, Arc<dyn KindStore>)> {
    let kind = KindRef::lookup("WorkloadEndpoint")?;
    let store = WorkloadEndpointStore::new(client.clone(), interface_prefix.to_string());
    Some((kind, Arc::new(store)))
}

#[cfg(test)]
#[path = "pod_tests.rs"]
mod tests;
