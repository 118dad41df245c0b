//! Validation cost of realistic policies: a 50-rule NetworkPolicy and a 50-rule
//! GlobalNetworkPolicy mixing ports, nets, selectors and ICMP matches.
//!
//! Run with `cargo bench -p calico-api --bench validation`.

use std::hint::black_box;

use calico_api::{decode_value, AnyResource};
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};

const RULES: usize = 50;

/// One rule of a rotating set of shapes; `global` adds the namespaces a global policy needs.
fn rule(i: usize, global: bool) -> Value {
    let octet = i % 250;
    match i % 6 {
        0 => json!({
            "action": "Allow",
            "protocol": "TCP",
            "source": {
                "selector": format!("app == 'client-{i}' && tier in {{'web', 'api'}}"),
                "namespaceSelector": "team == 'payments'"
            },
            "destination": {"ports": [80, 443, "8000:8080", "http-alt"]}
        }),
        1 => json!({
            "action": "Allow",
            "protocol": "UDP",
            "ipVersion": 4,
            "source": {"nets": [format!("10.{octet}.0.0/16"), format!("192.168.{octet}.0/24")]},
            "destination": {"ports": [53, "5000:5100"], "notNets": ["10.255.0.0/16"]}
        }),
        2 => json!({
            "action": "Allow",
            "protocol": "ICMP",
            "ipVersion": 4,
            "icmp": {"type": 8, "code": 0},
            "source": {"notSelector": "has(quarantine)"}
        }),
        3 => json!({
            "action": "Deny",
            "protocol": 58,
            "ipVersion": 6,
            "notICMP": {"type": 128},
            "source": {"nets": [format!("fd00:{octet:x}::/64")]}
        }),
        4 => json!({
            "action": "Allow",
            "source": {
                "namespaceSelector": "global()",
                "selector": format!("role == 'monitor-{i}'"),
                "serviceAccounts": {"names": ["prometheus"], "selector": "app == 'metrics'"}
            },
            "destination": {"ports": ["metrics", "http"]}
        }),
        _ => {
            let mut services = json!({"name": format!("svc-{i}")});
            if global {
                services["namespace"] = json!("shared");
            }
            json!({
                "action": "Allow",
                "source": {"services": services},
                "metadata": {"annotations": {"example.com/rule": format!("r{i}")}}
            })
        }
    }
}

fn policy(kind: &str, global: bool) -> AnyResource {
    let ingress: Vec<Value> = (0..RULES).map(|i| rule(i, global)).collect();
    let mut metadata = json!({
        "name": "bench-policy",
        "labels": {"projectcalico.org/tier": "default"}
    });
    let mut spec = json!({
        "tier": "default",
        "order": 100,
        "selector": "app == 'web' && env in {'prod', 'staging'}",
        "types": ["Ingress"],
        "ingress": ingress
    });
    if global {
        spec["namespaceSelector"] = json!("has(kubernetes.io/metadata.name)");
        spec["applyOnForward"] = json!(true);
    } else {
        metadata["namespace"] = json!("prod");
    }
    let doc = json!({
        "kind": kind,
        "apiVersion": "projectcalico.org/v3",
        "metadata": metadata,
        "spec": spec
    });
    let resource = match decode_value(doc) {
        Ok(resource) => resource,
        Err(err) => panic!("benchmark {kind} does not decode: {err}"),
    };
    if let Err(err) = resource.validate() {
        panic!("benchmark {kind} is not valid: {err}");
    }
    resource
}

fn validation(c: &mut Criterion) {
    let np = policy("NetworkPolicy", false);
    let gnp = policy("GlobalNetworkPolicy", true);
    c.bench_function("validate NetworkPolicy (50 rules)", |b| {
        b.iter(|| black_box(&np).validate())
    });
    c.bench_function("validate GlobalNetworkPolicy (50 rules)", |b| {
        b.iter(|| black_box(&gnp).validate())
    });
}

criterion_group!(benches, validation);
criterion_main!(benches);
