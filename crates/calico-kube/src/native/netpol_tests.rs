use super::*;
use serde_json::json;

#[allow(clippy::unwrap_used, clippy::expect_used)]
fn policy(value: serde_json::Value) -> K8sNetworkPolicy {
    serde_json::from_value(value).expect("a NetworkPolicy")
}

#[allow(clippy::unwrap_used, clippy::expect_used)]
fn spec_json(np: &K8sNetworkPolicy) -> serde_json::Value {
    let calico = k8s_network_policy_to_calico(np).expect("converts");
    serde_json::to_value(&calico).expect("serialises")["spec"].clone()
}

#[test]
fn converts_like_calico() {
    let np = policy(json!({
        "metadata": {"name": "allow-web", "namespace": "prod",
                     "uid": "01234567-89ab-4def-8123-456789abcdef", "resourceVersion": "31"},
        "spec": {
            "podSelector": {
                "matchLabels": {"role": "db", "app": "pg"},
                "matchExpressions": [
                    {"key": "env", "operator": "In", "values": ["a", "b"]},
                    {"key": "tier", "operator": "NotIn", "values": ["x"]},
                    {"key": "ha", "operator": "Exists"},
                    {"key": "legacy", "operator": "DoesNotExist"}
                ]
            },
            "ingress": [{
                "from": [
                    {"podSelector": {"matchLabels": {"role": "web"}}},
                    {"namespaceSelector": {}},
                    {"namespaceSelector": {"matchLabels": {"team": "a"}},
                     "podSelector": {}},
                    {"ipBlock": {"cidr": "10.0.0.5/8", "except": ["10.1.0.0/16"]}}
                ],
                "ports": [
                    {"port": 5432},
                    {"port": 5433},
                    {"port": "metrics"},
                    {"protocol": "UDP", "port": 8000, "endPort": 8010}
                ]
            }],
            "egress": [{"ports": [{"protocol": "UDP"}, {"protocol": "UDP", "port": 53}]}, {}],
            "policyTypes": ["Egress", "Ingress"]
        }
    }));
    let calico = k8s_network_policy_to_calico(&np).unwrap();
    assert_eq!(calico.metadata.name, "knp.default.allow-web");
    assert_eq!(calico.metadata.namespace, "prod");
    assert_eq!(calico.metadata.resource_version, "31");
    assert_eq!(calico.metadata.uid, "80c4a2e6-91d5-4df7-81c4-a2e691d5b3f7");
    let orch = "projectcalico.org/orchestrator == 'k8s'";
    let ingress_source = |source: serde_json::Value, ports: serde_json::Value, proto: &str| {
        json!({"action": "Allow", "protocol": proto, "source": source,
               "destination": {"ports": ports}})
    };
    let tcp_ports = json!(["metrics", "5432:5433"]);
    let udp_ports = json!(["8000:8010"]);
    let sources = [
        json!({"selector": format!("{orch} && role == 'web'")}),
        json!({"selector": orch, "namespaceSelector": "all()"}),
        json!({"selector": orch, "namespaceSelector": "team == 'a'"}),
        json!({"nets": ["10.0.0.0/8"], "notNets": ["10.1.0.0/16"]}),
    ];
    let mut ingress = Vec::new();
    for (proto, ports) in [("TCP", &tcp_ports), ("UDP", &udp_ports)] {
        for source in &sources {
            ingress.push(ingress_source(source.clone(), ports.clone(), proto));
        }
    }
    assert_eq!(
        spec_json(&np),
        json!({
            "tier": "default",
            "order": 1000,
            "ingress": ingress,
            "egress": [
                {"action": "Allow", "protocol": "UDP"},
                {"action": "Allow"}
            ],
            "selector": format!(
                "{orch} && app == 'pg' && role == 'db' && env in {{ 'a', 'b' }} && \
                 tier not in {{ 'x' }} && has(ha) && ! has(legacy)"
            ),
            "types": ["Ingress", "Egress"]
        })
    );
    assert_eq!(AnyResource::from(calico).validate(), Ok(()));
}

#[test]
fn defaults_and_dropped_rules() {
    let np = policy(json!({
        "metadata": {"name": "deny-all", "namespace": "d"},
        "spec": {
            "ingress": [
                {"ports": [{"port": "bad name!"}]},
                {"from": [{"podSelector": {}}]}
            ]
        }
    }));
    let orch = "projectcalico.org/orchestrator == 'k8s'";
    assert_eq!(
        spec_json(&np),
        json!({
            "tier": "default",
            "order": 1000,
            "ingress": [{"action": "Allow", "source": {"selector": orch}}],
            "selector": orch,
            "types": ["Ingress"]
        })
    );
    assert_eq!(k8s_network_policy_to_calico(&np).unwrap().metadata.uid, "");
}

#[test]
fn port_simplification() {
    let ports =
        |list: &[&str]| -> Vec<Port> { list.iter().filter_map(|p| Port::parse(p).ok()).collect() };
    assert_eq!(
        simplify_ports(ports(&["82", "80", "81", "9090", "foo", "80"])),
        ports(&["foo", "80:82", "9090"])
    );
    assert_eq!(
        simplify_ports(ports(&["443", "foo"])),
        ports(&["443", "foo"])
    );
    assert_eq!(simplify_ports(ports(&["1:3", "4"])), ports(&["1:4"]));
}
