use super::*;
use calico_api::kinds::workloadendpoint::QosControls;
use serde_json::json;

#[allow(clippy::unwrap_used, clippy::expect_used)]
fn pod(value: serde_json::Value) -> Pod {
    serde_json::from_value(value).expect("a Pod")
}

fn web_pod() -> Pod {
    pod(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": "web-0", "namespace": "prod", "generateName": "web-",
            "uid": "01234567-89ab-4def-8123-456789abcdef",
            "resourceVersion": "812",
            "creationTimestamp": "2026-01-02T03:04:05Z",
            "labels": {"app": "web"},
            "annotations": {
                CONTAINER_ID: "8f3a9c0de1b2",
                FLOATING_IPS: "[\"203.0.113.7\", \"2001:db8::7\"]",
                ALLOWED_SOURCE_PREFIXES: "[\"10.9.0.7/16\"]",
                NETWORK_STATUS: "[{\"name\":\"k8s-pod-network\"}]",
                "kubernetes.io/ingress-bandwidth": "10M"
            }
        },
        "spec": {
            "nodeName": "kind-worker",
            "serviceAccountName": "web-sa",
            "containers": [{"name": "web", "ports": [
                {"containerPort": 8080, "name": "http"},
                {"containerPort": 9090},
                {"containerPort": 53, "protocol": "UDP", "hostPort": 5353, "hostIP": "10.0.0.1"},
                {"containerPort": 9000, "name": "weird", "protocol": "QUIC"}
            ]}],
            "initContainers": [{"name": "init", "ports": [
                {"containerPort": 7000, "name": "sctp-port", "protocol": "SCTP"}
            ]}]
        },
        "status": {
            "phase": "Running",
            "podIP": "10.244.1.5",
            "podIPs": [{"ip": "10.244.1.5"}, {"ip": "fd00:10:244:1::5"}]
        }
    }))
}

#[test]
fn converts_a_pod() {
    let wep = pod_to_workload_endpoint(&web_pod(), "cali").unwrap();
    assert_eq!(wep.metadata.name, "kind--worker-k8s-web--0-eth0");
    assert_eq!(wep.metadata.namespace, "prod");
    assert_eq!(wep.metadata.uid, "01234567-89ab-4def-8123-456789abcdef");
    assert_eq!(wep.metadata.generate_name, "web-");
    assert_eq!(wep.metadata.resource_version, "812");
    assert_eq!(
        wep.metadata.labels,
        BTreeMap::from([
            ("app".to_string(), "web".to_string()),
            (NAMESPACE_LABEL.into(), "prod".into()),
            (ORCHESTRATOR_LABEL.into(), "k8s".into()),
            (SERVICE_ACCOUNT_LABEL.into(), "web-sa".into()),
        ])
    );
    assert_eq!(
        wep.metadata.annotations[NETWORK_STATUS],
        "[{\"name\":\"k8s-pod-network\"}]"
    );
    let spec = &wep.spec;
    assert_eq!(spec.orchestrator, "k8s");
    assert_eq!(spec.node, "kind-worker");
    assert_eq!(spec.pod, "web-0");
    assert_eq!(spec.endpoint, "eth0");
    assert_eq!(spec.container_id, "8f3a9c0de1b2");
    assert_eq!(spec.service_account_name, "web-sa");
    assert_eq!(spec.profiles, vec!["kns.prod", "ksa.prod.web-sa"]);
    // Dual-stack: both addresses, from status.podIPs.
    assert_eq!(
        spec.ip_networks,
        vec!["10.244.1.5/32", "fd00:10:244:1::5/128"]
    );
    assert_eq!(
        spec.ip_nats,
        vec![
            IpNat {
                internal_ip: "10.244.1.5".into(),
                external_ip: "203.0.113.7".into()
            },
            IpNat {
                internal_ip: "fd00:10:244:1::5".into(),
                external_ip: "2001:db8::7".into()
            },
        ]
    );
    assert_eq!(spec.allow_spoofed_source_prefixes, vec!["10.9.0.0/16"]);
    let ports: Vec<(&str, String, u16, u16, &str)> = spec
        .ports
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.protocol.to_string(),
                p.port,
                p.host_port,
                p.host_ip.as_str(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        vec![
            ("http", "TCP".into(), 8080, 0, ""),
            ("", "UDP".into(), 53, 5353, "10.0.0.1"),
            ("sctp-port", "SCTP".into(), 7000, 0, ""),
        ]
    );
    assert_eq!(
        spec.qos_controls,
        Some(QosControls {
            ingress_bandwidth: 10_000_000,
            ingress_burst: 4 * 1024 * 1024 * 1024,
            ..QosControls::default()
        })
    );
    assert_eq!(spec.interface_name, interface_name("cali", "prod", "web-0"));
    assert_eq!(wep.validate(), Ok(()));
}

#[test]
fn interface_names_follow_calico() {
    // SHA-1("default.nginx") = 7ba15b36a8cd...; Calico keeps the first 11 hex digits.
    let digest = Sha1::digest(b"default.nginx");
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        interface_name("cali", "default", "nginx"),
        format!("cali{}", &hex[..11])
    );
    assert_eq!(
        interface_name("", "default", "nginx"),
        format!("cali{}", &hex[..11])
    );
    assert_eq!(
        interface_name("tap,cali", "default", "nginx"),
        format!("tap{}", &hex[..11])
    );
    assert_eq!(interface_name("cali", "default", "nginx").len(), 15);
}

#[test]
fn which_pods_are_endpoints() {
    let mut p = web_pod();
    assert!(is_workload_endpoint(&p));
    if let Some(spec) = p.spec.as_mut() {
        spec.host_network = Some(true);
    }
    assert!(!is_workload_endpoint(&p));
    let unscheduled =
        pod(json!({"metadata": {"name": "x", "namespace": "d"}, "spec": {"containers": []}}));
    assert!(!is_workload_endpoint(&unscheduled));
}

#[test]
fn finished_pods_have_no_addresses() {
    let mut p = web_pod();
    if let Some(status) = p.status.as_mut() {
        status.phase = Some("Succeeded".into());
    }
    let wep = pod_to_workload_endpoint(&p, "cali").unwrap();
    assert!(wep.spec.ip_networks.is_empty());
    assert!(wep.spec.ip_nats.is_empty());

    // Being deleted, with the CNI plugin's IP annotation blanked.
    let deleting = pod(json!({
        "metadata": {"name": "p", "namespace": "d", "deletionTimestamp": "2026-01-02T03:04:05Z",
                     "annotations": {POD_IP: "", POD_IPS: ""}},
        "spec": {"nodeName": "n", "containers": []},
        "status": {"phase": "Running", "podIP": "10.0.0.9"}
    }));
    assert!(is_finished(&deleting));
    assert!(pod_to_workload_endpoint(&deleting, "cali")
        .unwrap()
        .spec
        .ip_networks
        .is_empty());
}

#[test]
fn address_sources_in_order() {
    let with = |status: serde_json::Value, annotations: serde_json::Value| {
        let p = pod(json!({
            "metadata": {"name": "p", "namespace": "d", "annotations": annotations},
            "spec": {"nodeName": "n", "containers": []},
            "status": status
        }));
        pod_to_workload_endpoint(&p, "cali").map(|w| w.spec.ip_networks)
    };
    assert_eq!(
        with(
            json!({"podIP": "10.0.0.1"}),
            json!({POD_IPS: "10.0.0.2,fd00::2"})
        ),
        Ok(vec!["10.0.0.1/32".to_string()])
    );
    assert_eq!(
        with(
            json!({}),
            json!({POD_IPS: "10.0.0.2,fd00::2", POD_IP: "10.0.0.3"})
        ),
        Ok(vec!["10.0.0.2/32".to_string(), "fd00::2/128".to_string()])
    );
    assert_eq!(
        with(json!({}), json!({POD_IP: "10.0.0.3/32"})),
        Ok(vec!["10.0.0.3/32".to_string()])
    );
    assert_eq!(
        with(json!({}), json!({AWS_POD_IPS: "10.0.0.4"})),
        Ok(vec!["10.0.0.4/32".to_string()])
    );
    assert_eq!(with(json!({}), json!({})), Ok(Vec::new()));
    assert!(with(json!({"podIP": "not-an-ip"}), json!({})).is_err());
}

#[test]
fn long_service_account_names_are_not_labels() {
    let sa = "a".repeat(63);
    let p = pod(json!({
        "metadata": {"name": "p", "namespace": "d"},
        "spec": {"nodeName": "n", "serviceAccountName": sa, "containers": []}
    }));
    let wep = pod_to_workload_endpoint(&p, "cali").unwrap();
    assert!(!wep.metadata.labels.contains_key(SERVICE_ACCOUNT_LABEL));
    assert_eq!(wep.spec.profiles[1], format!("ksa.d.{sa}"));
    let short = "a".repeat(62);
    let p = pod(json!({
        "metadata": {"name": "p", "namespace": "d"},
        "spec": {"nodeName": "n", "serviceAccountName": short, "containers": []}
    }));
    let wep = pod_to_workload_endpoint(&p, "cali").unwrap();
    assert_eq!(wep.metadata.labels[SERVICE_ACCOUNT_LABEL], short);
}

#[test]
fn malformed_annotations() {
    let with = |annotations: serde_json::Value| {
        let p = pod(json!({
            "metadata": {"name": "p", "namespace": "d", "annotations": annotations},
            "spec": {"nodeName": "n", "containers": []},
            "status": {"podIP": "10.0.0.1"}
        }));
        pod_to_workload_endpoint(&p, "cali")
    };
    assert!(with(json!({FLOATING_IPS: "not json"})).is_err());
    assert!(with(json!({ALLOWED_SOURCE_PREFIXES: "[\"10.0.0.1\"]"})).is_err());
    // QoS problems are only logged by Calico: the pod still converts, without the control.
    let wep = with(json!({"qos.projectcalico.org/ingressBurst": "1M"})).unwrap();
    assert_eq!(wep.spec.qos_controls, None);
    // Floating IPs of a family the pod lacks are skipped.
    let wep = with(json!({FLOATING_IPS: "[\"2001:db8::1\"]"})).unwrap();
    assert!(wep.spec.ip_nats.is_empty());
}

#[test]
fn parses_names_like_calico() {
    let parsed = parse_workload_endpoint_name("kind--worker-k8s-web--0-eth0").unwrap();
    assert_eq!(parsed.node, "kind-worker");
    assert_eq!(parsed.orchestrator, "k8s");
    assert_eq!(parsed.pod, "web-0");
    assert_eq!(parsed.endpoint, "eth0");
    let parsed = parse_workload_endpoint_name("node1-cni-abc-eth0").unwrap();
    assert_eq!(
        (parsed.container_id.as_str(), parsed.pod.as_str()),
        ("abc", "")
    );
    let parsed = parse_workload_endpoint_name("node1-k8s").unwrap();
    assert_eq!(parsed.pod, "");
    let parsed = parse_workload_endpoint_name("h-openstack-vm1-tap1").unwrap();
    assert_eq!(parsed.workload, "vm1");
    assert_eq!(parse_workload_endpoint_name(""), None);
    assert_eq!(parse_workload_endpoint_name("a-b-c-d-e"), None);
}
