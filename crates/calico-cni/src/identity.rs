//! Who the plugin is working for, as Calico's CNI utilities work it out: the node name, the
//! workload's identifiers from `CNI_ARGS`, the WorkloadEndpoint name (checked as Calico checks
//! it), the IPAM handle and the allocation attributes.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::args::{self, ArgsError, Target};
use crate::netconf::NetConf;

/// Calico's default node-name file.
pub const DEFAULT_NODENAME_FILE: &str = "/var/lib/calico/nodename";

/// The node name: `nodename`, else the content of `nodename_file` (default
/// `/var/lib/calico/nodename`, used as it is), else the deprecated `hostname`, else the host's
/// name, trimmed and in lower case.
pub fn nodename(conf: &NetConf) -> String {
    if !conf.nodename.is_empty() {
        return conf.nodename.clone();
    }
    let file = if conf.nodename_file.is_empty() {
        DEFAULT_NODENAME_FILE
    } else {
        conf.nodename_file.as_str()
    };
    match std::fs::read(Path::new(file)) {
        Ok(content) if !content.is_empty() => {
            return String::from_utf8_lossy(&content).into_owned();
        }
        Ok(_) => {}
        Err(e) => tracing::info!(file, error = %e, "no node name file"),
    }
    if !conf.hostname.is_empty() {
        tracing::warn!("Configuration option 'hostname' is deprecated, use 'nodename' instead");
        return conf.hostname.clone();
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_lowercase())
        .unwrap_or_default()
}

/// The workload's identifiers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identifiers {
    /// `k8s` when both `K8S_POD_NAMESPACE` and `K8S_POD_NAME` are given, else `cni`.
    pub orchestrator: &'static str,
    pub node: String,
    pub container_id: String,
    pub endpoint: String,
    /// Empty outside Kubernetes.
    pub pod: String,
    /// `default` outside Kubernetes (or `CNI_TEST_NAMESPACE`).
    pub namespace: String,
}

impl Identifiers {
    /// Reads `CNI_ARGS` as Calico's `GetIdentifiers` does.
    pub fn from_args(
        cni_args: &str,
        container_id: &str,
        ifname: &str,
        node: &str,
    ) -> Result<Identifiers, ArgsError> {
        let k8s = args::load(cni_args, Target::Kubernetes)?;
        let (pod, namespace) = (k8s.get("K8S_POD_NAME"), k8s.get("K8S_POD_NAMESPACE"));
        let mut ids = Identifiers {
            orchestrator: "k8s",
            node: node.to_string(),
            container_id: container_id.to_string(),
            endpoint: ifname.to_string(),
            pod: pod.to_string(),
            namespace: namespace.to_string(),
        };
        if namespace.is_empty() || pod.is_empty() {
            ids.orchestrator = "cni";
            ids.pod = String::new();
            ids.namespace = "default".into();
            if let Ok(test) = args::load(cni_args, Target::CniTest) {
                let namespace = test.get("CNI_TEST_NAMESPACE");
                if !namespace.is_empty() {
                    ids.namespace = namespace.to_string();
                }
            }
        }
        Ok(ids)
    }

    /// The WorkloadEndpoint name (Calico computes it, and refuses what it cannot name).
    pub fn workload_endpoint_name(&self) -> Result<String, String> {
        if self.node.is_empty() {
            return Err("error with field node (field should be assigned)".into());
        }
        let middle = match self.orchestrator {
            "k8s" => ("pod", &self.pod),
            _ => ("containerID", &self.container_id),
        };
        let segments = [
            ("node", &self.node),
            ("orchestrator", &self.orchestrator.to_string()),
            middle,
            ("endpoint", &self.endpoint),
        ];
        let mut parts = Vec::new();
        for (field, value) in segments {
            if value.is_empty() {
                return Err(format!(
                    "error with field {field} = '' (field should be assigned)"
                ));
            }
            if value.starts_with('-') {
                return Err(format!(
                    "error with field {field} = '{value}' (field must not begin with a '-')"
                ));
            }
            if value.ends_with('-') {
                return Err(format!(
                    "error with field {field} = '{value}' (field must not end with a '-')"
                ));
            }
            parts.push(value.replace('-', "--"));
        }
        Ok(parts.join("-"))
    }

    /// The handle of an older Calico (before the network-name handle), released on DEL too.
    pub fn legacy_handle(&self) -> String {
        if self.orchestrator == "k8s" {
            format!("{}.{}", self.namespace, self.pod)
        } else {
            self.container_id.clone()
        }
    }
}

/// The IPAM handle: `<network name>.<container ID>`.
pub fn handle_id(network: &str, container_id: &str) -> String {
    format!("{network}.{container_id}")
}

/// Go's `time.Time.String()` of a UTC time: `2026-12-05 21:57:33.999115904 +0000 UTC`
/// (fraction without trailing zeros, none at all for a whole second).
pub fn go_time_string(time: DateTime<Utc>) -> String {
    let mut text = time.format("%Y-%m-%d %H:%M:%S").to_string();
    let nanos = time.timestamp_subsec_nanos();
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push_str(" +0000 UTC");
    text
}

/// The attributes Calico attaches to an allocation: `node`, `timestamp`, and for a pod
/// `pod` and `namespace`.
pub fn attributes(ids: &Identifiers, now: DateTime<Utc>) -> BTreeMap<String, String> {
    let mut attrs = BTreeMap::new();
    attrs.insert("node".to_string(), ids.node.clone());
    attrs.insert("timestamp".to_string(), go_time_string(now));
    if !ids.pod.is_empty() {
        attrs.insert("pod".to_string(), ids.pod.clone());
        attrs.insert("namespace".to_string(), ids.namespace.clone());
    }
    attrs
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_node_name_comes_from_the_configuration_then_the_file_then_hostname(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("nodename");
        std::fs::write(&file, "node-from-file")?;
        let mut conf = NetConf {
            nodename: "node-a".into(),
            nodename_file: file.display().to_string(),
            hostname: "old-host".into(),
            ..NetConf::default()
        };
        assert_eq!(nodename(&conf), "node-a");
        conf.nodename.clear();
        // The file's content is used as it is, as Calico does.
        assert_eq!(nodename(&conf), "node-from-file");
        conf.nodename_file = dir.path().join("missing").display().to_string();
        assert_eq!(nodename(&conf), "old-host");
        conf.hostname.clear();
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")?;
        assert_eq!(nodename(&conf), host.trim().to_lowercase());
        Ok(())
    }

    #[test]
    fn times_print_as_go_prints_them() {
        let time = Utc.timestamp_opt(1_796_507_853, 999_115_904).single();
        assert_eq!(
            time.map(go_time_string).as_deref(),
            Some("2026-12-05 21:57:33.999115904 +0000 UTC")
        );
        let whole = Utc.timestamp_opt(1_796_507_853, 0).single();
        assert_eq!(
            whole.map(go_time_string).as_deref(),
            Some("2026-12-05 21:57:33 +0000 UTC")
        );
        let tenth = Utc.timestamp_opt(1_796_507_853, 100_000_000).single();
        assert_eq!(
            tenth.map(go_time_string).as_deref(),
            Some("2026-12-05 21:57:33.1 +0000 UTC")
        );
    }

    #[test]
    fn kubernetes_and_plain_cni_workloads() -> Result<(), ArgsError> {
        let pod = Identifiers::from_args(
            "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0",
            "abc",
            "eth0",
            "node-a",
        )?;
        assert_eq!(pod.orchestrator, "k8s");
        assert_eq!(
            pod.workload_endpoint_name().as_deref(),
            Ok("node--a-k8s-web--0-eth0")
        );
        assert_eq!(pod.legacy_handle(), "default.web-0");
        let plain = Identifiers::from_args("", "abc", "eth0", "n1")?;
        assert_eq!(plain.orchestrator, "cni");
        assert_eq!(plain.namespace, "default");
        assert_eq!(
            plain.workload_endpoint_name().as_deref(),
            Ok("n1-cni-abc-eth0")
        );
        assert_eq!(plain.legacy_handle(), "abc");
        let dashed = Identifiers::from_args(
            "K8S_POD_NAMESPACE=ns;K8S_POD_NAME=-web",
            "abc",
            "eth0",
            "n1",
        )?;
        assert_eq!(
            dashed.workload_endpoint_name(),
            Err("error with field pod = '-web' (field must not begin with a '-')".into())
        );
        Ok(())
    }
}
