use super::*;
use crate::kinds::test_support::{assert_unknown_field, decode_as, round_trip};
use serde_json::json;

fn calico_written() -> serde_json::Value {
    json!({
        "kind": "WorkloadEndpoint",
        "apiVersion": "projectcalico.org/v3",
        "metadata": {
            "name": "node1-k8s-web--0-eth0",
            "namespace": "prod",
            "uid": "3f6c2a1e-7b8d-4e9f-a0b1-c2d3e4f5a6b7",
            "resourceVersion": "7788",
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {
                "app": "web",
                "projectcalico.org/namespace": "prod",
                "projectcalico.org/orchestrator": "k8s",
                "projectcalico.org/serviceaccount": "web-sa"
            }
        },
        "spec": {
            "orchestrator": "k8s",
            "workload": "web-0",
            "node": "node1",
            "containerID": "8f3a9c0de1b2",
            "pod": "web-0",
            "endpoint": "eth0",
            "serviceAccountName": "web-sa",
            "ipNetworks": ["192.168.1.10/32", "fd00:10::a/128"],
            "ipNATs": [
                {"internalIP": "192.168.1.10", "externalIP": "203.0.113.10"},
                {"internalIP": "fd00:10::a", "externalIP": "2001:db8::a"}
            ],
            "ipv4Gateway": "169.254.1.1",
            "ipv6Gateway": "fe80::1",
            "profiles": ["kns.prod", "ksa.prod.web-sa"],
            "interfaceName": "cali0123456789a",
            "mac": "ee:ee:ee:ee:ee:ee",
            "ports": [
                {"name": "http", "protocol": "TCP", "port": 8080, "hostPort": 0, "hostIP": ""},
                {"name": "", "protocol": "UDP", "port": 53, "hostPort": 5353, "hostIP": "10.0.0.5"}
            ],
            "allowSpoofedSourcePrefixes": ["10.20.0.0/16", "10.30.0.1"],
            "qosControls": {
                "ingressBandwidth": 1000000,
                "ingressBurst": 4294967296_i64,
                "ingressPeakrate": 2000000,
                "ingressMinburst": 1500,
                "egressBandwidth": 3000000,
                "egressBurst": 8000000,
                "egressPeakrate": 4000000,
                "egressMinburst": 9000,
                "ingressPacketRate": 100,
                "ingressPacketBurst": 5,
                "egressPacketRate": 200,
                "egressPacketBurst": 10,
                "ingressMaxConnections": 1000,
                "egressMaxConnections": 4294967295_i64,
                "dscp": "AF11"
            }
        }
    })
}

fn valid() -> WorkloadEndpoint {
    decode_as(calico_written())
}

#[test]
fn round_trips_calico_json() -> Result<(), Box<dyn std::error::Error>> {
    round_trip(&calico_written()).validate()?;
    Ok(())
}

#[test]
fn minimal_document_round_trips() -> Result<(), Box<dyn std::error::Error>> {
    let original = json!({
        "kind": "WorkloadEndpoint",
        "apiVersion": "projectcalico.org/v3",
        "metadata": {"name": "n-cni-abc-eth0", "namespace": "default"},
        "spec": {
            "orchestrator": "cni",
            "node": "n",
            "containerID": "abc",
            "endpoint": "eth0",
            "interfaceName": "cali1"
        }
    });
    round_trip(&original).validate()?;
    Ok(())
}

#[test]
fn writes_go_field_order() -> Result<(), Box<dyn std::error::Error>> {
    let mut doc = calico_written();
    doc["metadata"] = json!({"name": "node1-k8s-web--0-eth0", "namespace": "prod"});
    doc["spec"]["qosControls"] =
        json!({"egressBandwidth": 1000, "ingressBandwidth": 2000, "dscp": 10});
    let w: WorkloadEndpoint = decode_as(doc);
    assert_eq!(
        serde_json::to_string(&w)?,
        concat!(
            r#"{"kind":"WorkloadEndpoint","apiVersion":"projectcalico.org/v3","#,
            r#""metadata":{"name":"node1-k8s-web--0-eth0","namespace":"prod"},"#,
            r#""spec":{"orchestrator":"k8s","workload":"web-0","node":"node1","containerID":"8f3a9c0de1b2","#,
            r#""pod":"web-0","endpoint":"eth0","serviceAccountName":"web-sa","#,
            r#""ipNetworks":["192.168.1.10/32","fd00:10::a/128"],"#,
            r#""ipNATs":[{"internalIP":"192.168.1.10","externalIP":"203.0.113.10"},{"internalIP":"fd00:10::a","externalIP":"2001:db8::a"}],"#,
            r#""ipv4Gateway":"169.254.1.1","ipv6Gateway":"fe80::1","profiles":["kns.prod","ksa.prod.web-sa"],"#,
            r#""interfaceName":"cali0123456789a","mac":"ee:ee:ee:ee:ee:ee","#,
            r#""ports":[{"name":"http","protocol":"TCP","port":8080,"hostPort":0,"hostIP":""},"#,
            r#"{"name":"","protocol":"UDP","port":53,"hostPort":5353,"hostIP":"10.0.0.5"}],"#,
            r#""allowSpoofedSourcePrefixes":["10.20.0.0/16","10.30.0.1"],"#,
            r#""qosControls":{"ingressBandwidth":2000,"egressBandwidth":1000,"dscp":10}}}"#
        )
    );
    Ok(())
}

#[test]
fn port_and_nat_fields_are_always_written() -> Result<(), Box<dyn std::error::Error>> {
    let mut doc = calico_written();
    doc["spec"]["ports"] = json!([{"name": "x", "port": 1}]);
    doc["spec"]["ipNATs"] = json!([{}]);
    let written = serde_json::to_value(decode_as::<WorkloadEndpointSpec>(doc))?;
    assert_eq!(
        written["spec"]["ports"],
        json!([{"name": "x", "protocol": 0, "port": 1, "hostPort": 0, "hostIP": ""}])
    );
    assert_eq!(
        written["spec"]["ipNATs"],
        json!([{"internalIP": "", "externalIP": ""}])
    );
    Ok(())
}

#[test]
fn unknown_field_names_its_path() {
    let mut doc = calico_written();
    doc["spec"]["qosControls"]["ingressRate"] = json!(1);
    assert_unknown_field(doc, "spec.qosControls.ingressRate");
    let mut doc = calico_written();
    doc["spec"]["ipNATs"][1]["internalAddr"] = json!("x");
    assert_unknown_field(doc, "spec.ipNATs[1].internalAddr");
}

#[test]
fn defaults_fill_name_and_force_labels() {
    let mut w = valid();
    w.metadata.name.clear();
    w.metadata.labels.remove(ORCHESTRATOR_LABEL);
    w.metadata
        .labels
        .insert(RESERVED_NAMESPACE_LABEL.into(), "other".into());
    w.apply_defaults();
    assert_eq!(w.metadata.name, "node1-k8s-web--0-eth0");
    assert_eq!(w.metadata.labels[RESERVED_NAMESPACE_LABEL], "prod");
    assert_eq!(w.metadata.labels[ORCHESTRATOR_LABEL], "k8s");
    assert_eq!(w.metadata.labels["app"], "web");

    let once = w.clone();
    w.apply_defaults();
    assert_eq!(w, once, "defaults are idempotent");
    assert_eq!(w, valid(), "defaulting restores what Calico wrote");
}

#[test]
fn defaults_keep_a_set_name() {
    let mut w = valid();
    w.metadata.name = "something-else".into();
    w.apply_defaults();
    assert_eq!(w.metadata.name, "something-else");
}

#[test]
fn defaults_leave_name_empty_when_it_cannot_be_computed() {
    let mut w = valid();
    w.metadata.name.clear();
    w.spec.node.clear();
    w.apply_defaults();
    assert_eq!(w.metadata.name, "");
    assert_eq!(w.metadata.labels[ORCHESTRATOR_LABEL], "k8s");
}

#[test]
fn public_name_function() {
    let w = valid();
    assert_eq!(
        workload_endpoint_name(&w.spec).as_deref(),
        Ok("node1-k8s-web--0-eth0")
    );
}
