use serde_json::{json, Value};

use super::*;
use crate::kinds::test_support::{assert_unknown_field, decode_as, named_doc, round_trip_bytes};

/// Every field of spec and status set, in Go's field order, as Go writes it.
const FULL: &str = concat!(
    r#"{"kind":"KubeControllersConfiguration","apiVersion":"projectcalico.org/v3","#,
    r#""metadata":{"name":"default","uid":"8b3c7a52-4f0e-4d2b-a1c9-0e6f5d4c3b2a","#,
    r#""resourceVersion":"1207","creationTimestamp":"2026-01-05T10:00:00Z"},"#,
    r#""spec":{"logSeverityScreen":"Info","healthChecks":"Enabled","#,
    r#""etcdV3CompactionPeriod":"10m0s","prometheusMetricsPort":9094,"#,
    r#""controllers":{"node":{"reconcilerPeriod":"5m0s","syncLabels":"Enabled","#,
    r#""hostEndpoint":{"autoCreate":"Enabled","createDefaultHostEndpoint":"Disabled","#,
    r#""templates":[{"generateName":"internal","interfaceCIDRs":["10.0.0.0/8","fd00::/64"],"#,
    r#""interfacePattern":"^eth[0-9]+$","labels":{"hep":"internal"},"#,
    r#""annotations":{"example.com/owner":"net-team"},"nodeSelector":"has(kubernetes.io/os)"}]},"#,
    r#""leakGracePeriod":"15m0s"},"policy":{"reconcilerPeriod":"5m0s"},"#,
    r#""workloadEndpoint":{"reconcilerPeriod":"5m0s"},"serviceAccount":{"reconcilerPeriod":"5m0s"},"#,
    r#""namespace":{"reconcilerPeriod":"5m0s"},"loadBalancer":{"assignIPs":"RequestedServicesOnly"},"#,
    r#""migration":{"policyNameMigrator":"Enabled"}},"debugProfilePort":6060},"#,
    r#""status":{"runningConfig":{"logSeverityScreen":"Debug","healthChecks":"Enabled","#,
    r#""etcdV3CompactionPeriod":"0s","prometheusMetricsPort":9094,"#,
    r#""controllers":{"node":{"reconcilerPeriod":"5m0s","syncLabels":"Disabled","#,
    r#""leakGracePeriod":"15m0s"},"loadBalancer":{"assignIPs":"AllServices"}}},"#,
    r#""environmentVars":{"ENABLED_CONTROLLERS":"node,loadbalancer","LOG_LEVEL":"debug"}}}"#
);

const MINIMAL: &str = r#"{"kind":"KubeControllersConfiguration","apiVersion":"projectcalico.org/v3","metadata":{"name":"default"},"spec":{"controllers":{}},"status":{}}"#;

fn with_spec(name: &str, spec: Value) -> KubeControllersConfiguration {
    decode_as(named_doc("KubeControllersConfiguration", name, spec))
}

#[test]
fn full_document_round_trips_byte_for_byte() {
    let kcc: KubeControllersConfiguration = round_trip_bytes(FULL);
    assert_eq!(
        serde_json::to_value(&kcc).unwrap(),
        serde_json::from_str::<Value>(FULL).unwrap()
    );
    kcc.validate().unwrap();
}

#[test]
fn minimal_document_writes_controllers_and_status() {
    round_trip_bytes::<KubeControllersConfigurationSpec>(MINIMAL);
    let bare = with_spec("default", json!({}));
    assert_eq!(serde_json::to_string(&bare).unwrap(), MINIMAL);
    bare.validate().unwrap();
}

#[test]
fn unknown_nested_fields_name_their_path() {
    let cases = [
        (
            "/spec/controllers/node/hostEndpoint/templates/0",
            "name",
            "spec.controllers.node.hostEndpoint.templates[0].name",
        ),
        (
            "/spec/controllers",
            "policyMigration",
            "spec.controllers.policyMigration",
        ),
        (
            "/status/runningConfig/controllers/loadBalancer",
            "mode",
            "status.runningConfig.controllers.loadBalancer.mode",
        ),
    ];
    for (pointer, field, expected) in cases {
        let mut doc: Value = serde_json::from_str(FULL).unwrap();
        doc.pointer_mut(pointer).unwrap()[field] = json!("x");
        assert_unknown_field(doc, expected);
    }
}

#[test]
fn defaults() {
    let mut kcc = with_spec(
        "default",
        json!({"controllers": {"node": {}, "loadBalancer": {}, "policy": {}}}),
    );
    kcc.apply_defaults();
    assert_eq!(kcc.spec.prometheus_metrics_port, Some(9094));
    let node = kcc.spec.controllers.node.as_ref().unwrap();
    assert_eq!(node.leak_grace_period, Some(Duration::from_secs(900)));
    let lb = kcc.spec.controllers.load_balancer.as_ref().unwrap();
    assert_eq!(lb.assign_ips, "AllServices");
    // The CRD's defaults, which Calico's client applies on etcd, spec and running config alike.
    assert_eq!(kcc.spec.health_checks, "Enabled");
    let mut running = with_spec("default", json!({"controllers": {"migration": {}}}));
    running.status.0.running_config = Some(running.spec.clone());
    running.apply_defaults();
    let config = running.status.0.running_config.as_ref().unwrap();
    assert_eq!(config.health_checks, "Enabled");
    assert_eq!(
        config
            .controllers
            .migration
            .as_ref()
            .unwrap()
            .policy_name_migrator,
        "Enabled"
    );
    assert_eq!(config.prometheus_metrics_port, None);
    let once = kcc.clone();
    kcc.apply_defaults();
    assert_eq!(kcc, once);

    // Absent controllers stay absent; set values are kept.
    let mut bare = with_spec("default", json!({}));
    bare.apply_defaults();
    assert_eq!(bare.spec.controllers, ControllersConfig::default());
    let mut set = with_spec(
        "default",
        json!({"prometheusMetricsPort": 0, "healthChecks": "Disabled", "controllers": {
            "node": {"leakGracePeriod": "0s"},
            "loadBalancer": {"assignIPs": "RequestedServicesOnly"}
        }}),
    );
    let before = set.clone();
    set.apply_defaults();
    assert_eq!(set, before);
}
