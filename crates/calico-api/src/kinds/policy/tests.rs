use super::*;
use crate::decode::decode_value;
use crate::kinds::test_support::{
    assert_unknown_field, decode_as, named_doc, pairs, problems, round_trip,
};
use serde_json::{json, Value};

/// Rules exercising every Rule field: protocol by name and number, notProtocol, icmp/notICMP,
/// ipVersion, nets/notNets, all selectors, single/range/named ports, services,
/// serviceAccounts, http and metadata.
fn ingress_rules() -> Value {
    json!([
        {
            "action": "Allow",
            "ipVersion": 4,
            "protocol": "TCP",
            "notProtocol": 17,
            "source": {
                "nets": ["10.0.0.0/8"],
                "selector": "role == 'lb'",
                "namespaceSelector": "team == 'a'",
                "ports": [1024, "30000:32767", "metrics"],
                "notNets": ["10.9.0.0/16"],
                "notSelector": "has(quarantine)",
                "notPorts": [22],
                "serviceAccounts": {"names": ["frontend", "gateway"], "selector": "app == 'x'"}
            },
            "destination": {
                "ports": [80, "8000:8080", "http-alt"],
                "notPorts": ["9000:9100"]
            },
            "http": {"methods": ["GET", "POST"], "paths": [{"exact": "/healthz"}, {"prefix": "/api/"}]},
            "metadata": {"annotations": {"example.com/ticket": "SEC-42", "owner": "team-a"}}
        },
        {
            "action": "Allow",
            "ipVersion": 4,
            "protocol": 1,
            "icmp": {"type": 8, "code": 0},
            "notICMP": {"type": 13}
        },
        {
            "action": "Deny",
            "protocol": "ICMPv6",
            "ipVersion": 6,
            "icmp": {"type": 128},
            "source": {"nets": ["fd00::/64"], "notNets": ["fd00::1/128"]}
        },
        {
            "action": "Allow",
            "source": {
                "services": {"name": "ingress-nginx", "namespace": "ingress"}
            }
        },
        {
            "action": "Pass",
            "source": {"namespaceSelector": "global()", "selector": "role == 'monitor'"}
        }
    ])
}

fn egress_rules() -> Value {
    json!([
        {
            "action": "Allow",
            "protocol": "UDP",
            "destination": {
                "services": {"name": "kube-dns", "namespace": "kube-system"}
            }
        },
        {
            "action": "Log",
            "protocol": "SCTP",
            "destination": {"nets": ["192.168.0.0/16"], "ports": [3868]}
        },
        {"action": "Deny"}
    ])
}

fn np_doc() -> Value {
    json!({
        "kind": "NetworkPolicy",
        "apiVersion": "projectcalico.org/v3",
        "metadata": {
            "name": "allow-web",
            "namespace": "prod",
            "uid": "1c0e7a4e-3f1b-4b8a-9c55-1f2e3d4c5b6a",
            "resourceVersion": "42",
            "creationTimestamp": "2026-05-01T09:30:00Z",
            "labels": {"projectcalico.org/tier": "security", "app": "web"},
            "annotations": {"example.com/reviewed": "yes"}
        },
        "spec": {
            "tier": "security",
            "order": 100,
            "ingress": ingress_rules(),
            "egress": egress_rules(),
            "selector": "app == 'web'",
            "types": ["Ingress", "Egress"],
            "serviceAccountSelector": "role == 'frontend'",
            "performanceHints": ["AssumeNeededOnEveryNode"]
        }
    })
}

fn gnp_doc() -> Value {
    json!({
        "kind": "GlobalNetworkPolicy",
        "apiVersion": "projectcalico.org/v3",
        "metadata": {
            "name": "security.host-protect",
            "uid": "5a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d",
            "resourceVersion": "7",
            "creationTimestamp": "2026-05-01T09:30:00Z",
            "labels": {"projectcalico.org/tier": "security"}
        },
        "spec": {
            "tier": "security",
            "order": 10.5,
            "ingress": ingress_rules(),
            "egress": egress_rules(),
            "selector": "has(host-endpoint)",
            "types": ["Ingress", "Egress"],
            "doNotTrack": true,
            "applyOnForward": true,
            "serviceAccountSelector": "all()",
            "namespaceSelector": "kubernetes.io/metadata.name == 'kube-system'",
            "performanceHints": ["AssumeNeededOnEveryNode"]
        }
    })
}

fn staged(mut doc: Value, kind: &str, action: &str) -> Value {
    doc["kind"] = json!(kind);
    let spec = doc["spec"].as_object_mut().expect("spec");
    let mut with_action = serde_json::Map::new();
    with_action.insert("stagedAction".into(), json!(action));
    with_action.extend(spec.clone());
    *spec = with_action;
    doc
}

#[test]
fn full_documents_round_trip_and_validate() -> Result<(), Box<dyn std::error::Error>> {
    let mut pre_dnat = gnp_doc();
    let spec = pre_dnat["spec"].as_object_mut().expect("spec");
    spec.remove("doNotTrack");
    spec.remove("egress");
    spec.insert("types".into(), json!(["Ingress"]));
    spec.insert("preDNAT".into(), json!(true));
    let docs = [
        np_doc(),
        gnp_doc(),
        pre_dnat,
        staged(np_doc(), "StagedNetworkPolicy", "Set"),
        staged(gnp_doc(), "StagedGlobalNetworkPolicy", "Learn"),
    ];
    for doc in docs {
        round_trip(&doc).validate()?;
    }
    Ok(())
}

#[test]
fn minimal_documents_round_trip() -> Result<(), Box<dyn std::error::Error>> {
    for (kind, namespace) in [
        ("NetworkPolicy", Some("default")),
        ("GlobalNetworkPolicy", None),
        ("StagedNetworkPolicy", Some("default")),
        ("StagedGlobalNetworkPolicy", None),
    ] {
        let mut doc = json!({
            "kind": kind, "apiVersion": "projectcalico.org/v3",
            "metadata": {"name": "p"}, "spec": {}
        });
        if let Some(ns) = namespace {
            doc["metadata"]["namespace"] = json!(ns);
        }
        round_trip(&doc).validate()?;
    }
    Ok(())
}

#[test]
fn specs_write_go_bytes() -> Result<(), Box<dyn std::error::Error>> {
    let spec = StagedGlobalNetworkPolicySpec {
        staged_action: "Set".into(),
        tier: "t".into(),
        order: Some(5.0),
        ingress: vec![Rule {
            action: "Allow".into(),
            ..Rule::default()
        }],
        egress: vec![Rule {
            action: "Deny".into(),
            ..Rule::default()
        }],
        selector: "all()".into(),
        types: vec!["Ingress".into(), "Egress".into()],
        do_not_track: true,
        pre_dnat: true,
        apply_on_forward: true,
        service_account_selector: "a == 'b'".into(),
        namespace_selector: "c == 'd'".into(),
        performance_hints: vec!["AssumeNeededOnEveryNode".into()],
    };
    assert_eq!(
        serde_json::to_string(&spec)?,
        r#"{"stagedAction":"Set","tier":"t","order":5,"ingress":[{"action":"Allow"}],"egress":[{"action":"Deny"}],"selector":"all()","types":["Ingress","Egress"],"doNotTrack":true,"preDNAT":true,"applyOnForward":true,"serviceAccountSelector":"a == 'b'","namespaceSelector":"c == 'd'","performanceHints":["AssumeNeededOnEveryNode"]}"#
    );
    let mut np = NetworkPolicy::new_namespaced("prod", "p", NetworkPolicySpec::default());
    np.spec.order = Some(0.25);
    np.spec.selector = "app == 'web'".into();
    np.spec.types = vec!["Ingress".into()];
    np.spec.service_account_selector = "x == 'y'".into();
    assert_eq!(
        serde_json::to_string(&np)?,
        r#"{"kind":"NetworkPolicy","apiVersion":"projectcalico.org/v3","metadata":{"name":"p","namespace":"prod"},"spec":{"order":0.25,"selector":"app == 'web'","types":["Ingress"],"serviceAccountSelector":"x == 'y'"}}"#
    );
    Ok(())
}

#[test]
fn unknown_nested_field_names_its_path() {
    let mut doc = np_doc();
    doc["spec"]["ingress"][1]["icmp"]["typo"] = json!(1);
    assert_unknown_field(doc, "spec.ingress[1].icmp.typo");
    let mut doc = gnp_doc();
    doc["spec"]["stagedAction"] = json!("Set");
    assert!(
        decode_value(doc).is_err(),
        "stagedAction is not a GNP field"
    );
}

/// A policy named `p` in namespace `ns`.
fn namespaced(kind: &str, spec: Value) -> Value {
    let mut doc = named_doc(kind, "p", spec);
    doc["metadata"]["namespace"] = json!("ns");
    doc
}

fn np(spec: Value) -> NetworkPolicy {
    decode_as(namespaced("NetworkPolicy", spec))
}

fn gnp(spec: Value) -> GlobalNetworkPolicy {
    decode_as(named_doc("GlobalNetworkPolicy", "p", spec))
}

fn snp(spec: Value) -> StagedNetworkPolicy {
    decode_as(namespaced("StagedNetworkPolicy", spec))
}

#[test]
fn defaults_types_and_tier_label() {
    let allow = json!({"action": "Allow"});
    let cases = [
        (json!({}), vec!["Ingress"]),
        (json!({"ingress": [allow]}), vec!["Ingress"]),
        (json!({"egress": [allow]}), vec!["Egress"]),
        (
            json!({"ingress": [allow], "egress": [allow]}),
            vec!["Ingress", "Egress"],
        ),
    ];
    for (spec, types) in cases {
        let mut p = np(spec);
        p.apply_defaults();
        assert_eq!(p.spec.types, types);
        assert_eq!(
            p.metadata.labels.get(TIER_LABEL).map(String::as_str),
            Some("default")
        );
        assert_eq!(p.spec.tier, "default", "the CRD default, applied on etcd");
        assert_eq!(p.spec.order, None);
        let once = p.clone();
        p.apply_defaults();
        assert_eq!(p, once, "defaults are idempotent");
    }

    let mut p = gnp(json!({"tier": "security", "types": ["Egress"], "ingress": [allow]}));
    p.metadata.labels.insert(TIER_LABEL.into(), "stale".into());
    p.metadata.labels.insert("app".into(), "x".into());
    p.apply_defaults();
    assert_eq!(p.spec.types, ["Egress"], "set types are kept");
    assert_eq!(p.metadata.labels[TIER_LABEL], "security");
    assert_eq!(p.metadata.labels["app"], "x");
}

#[test]
fn staged_delete_clears_types() {
    let mut p = snp(json!({"stagedAction": "Delete", "tier": "t", "types": ["Ingress"]}));
    p.apply_defaults();
    assert!(p.spec.types.is_empty());
    assert_eq!(p.metadata.labels[TIER_LABEL], "t");
    p.validate().expect("a defaulted Delete is valid");

    let mut p = snp(json!({"stagedAction": "Set"}));
    p.apply_defaults();
    assert_eq!(p.spec.types, ["Ingress"]);
}

#[test]
fn global_policy_cel_rules() {
    let allow = json!({"action": "Allow"});
    let p = gnp(json!({
        "egress": [allow], "types": ["Egress"], "doNotTrack": true, "preDNAT": true,
        "namespaceSelector": "global()"
    }));
    assert_eq!(
        problems(&p),
        pairs(&[
            ("spec", "preDNAT and doNotTrack cannot both be true"),
            ("spec", "preDNAT policy cannot have any egress rules"),
            ("spec", "preDNAT policy cannot have 'Egress' type"),
            (
                "spec",
                "applyOnForward must be true if either preDNAT or doNotTrack is true"
            ),
            (
                "spec",
                "global() can only be used in an EntityRule namespaceSelector"
            ),
        ])
    );
    let ok = gnp(json!({"doNotTrack": true, "applyOnForward": true, "ingress": [allow]}));
    assert_eq!(problems(&ok), vec![]);
}

#[test]
fn registry_knows_the_policy_kinds() {
    for (kind, plural, namespaced) in [
        ("NetworkPolicy", "networkpolicies", true),
        ("GlobalNetworkPolicy", "globalnetworkpolicies", false),
        ("StagedNetworkPolicy", "stagednetworkpolicies", true),
        (
            "StagedGlobalNetworkPolicy",
            "stagedglobalnetworkpolicies",
            false,
        ),
        (
            "StagedKubernetesNetworkPolicy",
            "stagedkubernetesnetworkpolicies",
            true,
        ),
        ("Tier", "tiers", false),
        ("Profile", "profiles", false),
    ] {
        let info = crate::kinds::KindInfo::lookup(kind).expect(kind);
        assert_eq!(info.plural, plural);
        assert_eq!(info.is_namespaced(), namespaced);
    }
}
