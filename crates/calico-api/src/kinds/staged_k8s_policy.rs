//! StagedKubernetesNetworkPolicy: a staged Kubernetes `networking.k8s.io/v1` NetworkPolicy.
//!
//! The spec embeds the Kubernetes policy types; they are written here by hand with the exact
//! Kubernetes JSON names and omit-empty rules.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::policy::{reject_duplicates, STAGED_ACTIONS, STAGED_ACTION_DELETE, STAGED_ACTION_SET};
use super::rule::{parse_prefixed_cidr, POLICY_TYPES};
use crate::numorstring::IntOrString;
use crate::resource::{Kind, NoStatus, Resource, Scope};
use crate::validation::{checks, names, Validator};

/// Label selector operators.
pub const LABEL_SELECTOR_OPERATORS: &[&str] = &["In", "NotIn", "Exists", "DoesNotExist"];
/// Protocols a Kubernetes network policy port may name.
pub const K8S_POLICY_PROTOCOLS: &[&str] = &["TCP", "UDP", "SCTP"];

/// `spec` of a StagedKubernetesNetworkPolicy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StagedKubernetesNetworkPolicySpec {
    /// `Set` (the default when empty), `Delete`, `Learn` or `Ignore`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub staged_action: String,
    /// A Go struct value: always written, `{}` when it selects every pod.
    #[serde(default)]
    pub pod_selector: LabelSelector,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<K8sIngressRule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<K8sEgressRule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_types: Vec<String>,
}

/// Kubernetes `metav1.LabelSelector`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// One `matchExpressions` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelectorRequirement {
    #[serde(default)]
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    #[serde(default)]
    pub operator: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// Kubernetes `NetworkPolicyIngressRule`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct K8sIngressRule {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<K8sPolicyPort>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<K8sPolicyPeer>,
}

/// Kubernetes `NetworkPolicyEgressRule`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct K8sEgressRule {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<K8sPolicyPort>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<K8sPolicyPeer>,
}

/// Kubernetes `NetworkPolicyPort`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct K8sPolicyPort {
    /// `TCP` (Kubernetes' default when absent), `UDP` or `SCTP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// A port number or a named port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<IntOrString>,
    /// Last port of a range starting at a numeric `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_port: Option<i32>,
}

/// Kubernetes `NetworkPolicyPeer`: pods and/or namespaces by selector, or an IP block.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct K8sPolicyPeer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_block: Option<IpBlock>,
}

/// Kubernetes `IPBlock`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IpBlock {
    /// Always written.
    #[serde(default)]
    pub cidr: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<String>,
}

pub type StagedKubernetesNetworkPolicy = Resource<StagedKubernetesNetworkPolicySpec>;

impl Kind for StagedKubernetesNetworkPolicySpec {
    const KIND: &'static str = "StagedKubernetesNetworkPolicy";
    const PLURAL: &'static str = "stagedkubernetesnetworkpolicies";
    const SCOPE: Scope = Scope::Namespaced;
    type Status = NoStatus;

    /// The default of Calico's CRD, which its client applies on etcd: `stagedAction: Set`.
    fn apply_defaults(resource: &mut Resource<Self>) {
        if resource.spec.staged_action.is_empty() {
            resource.spec.staged_action = STAGED_ACTION_SET.to_string();
        }
    }

    fn validate_name(name: &str, v: &mut Validator) {
        names::validate_name_length_only(name, v);
    }

    fn validate(resource: &Resource<Self>, v: &mut Validator) {
        v.field("spec", |v| validate_spec(v, &resource.spec));
    }
}

fn validate_spec(v: &mut Validator, spec: &StagedKubernetesNetworkPolicySpec) {
    if !spec.staged_action.is_empty() {
        v.field("stagedAction", |v| {
            checks::one_of(v, &spec.staged_action, STAGED_ACTIONS)
        });
    }
    if spec.staged_action == STAGED_ACTION_DELETE {
        let rest = StagedKubernetesNetworkPolicySpec {
            staged_action: String::new(),
            ..spec.clone()
        };
        if rest != StagedKubernetesNetworkPolicySpec::default() {
            v.error_no_value("Spec fields should all be zero-value if stagedAction is Delete");
        }
    }
    v.field("podSelector", |v| {
        validate_label_selector(v, &spec.pod_selector)
    });
    v.each("ingress", &spec.ingress, |v, rule| {
        validate_ports(v, &rule.ports);
        v.each("from", &rule.from, validate_peer);
    });
    v.each("egress", &spec.egress, |v, rule| {
        validate_ports(v, &rule.ports);
        v.each("to", &rule.to, validate_peer);
    });
    checks::max_items(v, "policyTypes", &spec.policy_types, 2);
    v.each("policyTypes", &spec.policy_types, |v, t| {
        checks::one_of(v, t, POLICY_TYPES)
    });
    reject_duplicates(v, "policyTypes", &spec.policy_types, |t| {
        format!("Duplicate value: \"{t}\"")
    });
}

/// Kubernetes' label selector rules.
pub fn validate_label_selector(v: &mut Validator, selector: &LabelSelector) {
    v.field("matchLabels", |v| checks::labels(v, &selector.match_labels));
    v.each("matchExpressions", &selector.match_expressions, |v, req| {
        let problems = checks::qualified_name_problems(&req.key);
        if !problems.is_empty() {
            v.error_at("key", &req.key, problems.join("; "));
        }
        v.field("operator", |v| {
            checks::one_of(v, &req.operator, LABEL_SELECTOR_OPERATORS)
        });
        match req.operator.as_str() {
            "In" | "NotIn" if req.values.is_empty() => v.field("values", |v| {
                v.error_no_value("must be specified when `operator` is 'In' or 'NotIn'")
            }),
            "Exists" | "DoesNotExist" if !req.values.is_empty() => v.field("values", |v| {
                v.error_no_value(
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )
            }),
            _ => {}
        }
    });
}

fn validate_ports(v: &mut Validator, ports: &[K8sPolicyPort]) {
    v.each("ports", ports, |v, port| {
        if let Some(protocol) = &port.protocol {
            v.field("protocol", |v| {
                checks::one_of(v, protocol, K8S_POLICY_PROTOCOLS)
            });
        }
        match &port.port {
            Some(IntOrString::Int(n)) => {
                v.field("port", |v| checks::in_range(v, i64::from(*n), 1, 65535))
            }
            Some(IntOrString::String(name)) if !checks::is_port_name(name) => v.error_at(
                "port",
                name,
                "must be a valid port name (IANA service name)",
            ),
            _ => {}
        }
        let Some(end) = port.end_port else {
            return;
        };
        v.field("endPort", |v| match &port.port {
            Some(IntOrString::Int(start)) => {
                checks::in_range(v, i64::from(end), 1, 65535);
                if end < *start {
                    v.error(end, "must be greater than or equal to `port`");
                }
            }
            Some(IntOrString::String(_)) => {
                v.error(end, "may not be specified when `port` is non-numeric")
            }
            None => v.error(end, "may not be specified when `port` is not specified"),
        });
    });
}

fn validate_peer(v: &mut Validator, peer: &K8sPolicyPeer) {
    let selects = peer.pod_selector.is_some() || peer.namespace_selector.is_some();
    match (&peer.ip_block, selects) {
        (Some(_), true) => v.error_no_value("may not specify both ipBlock and another peer"),
        (None, false) => v.error_no_value("must specify a peer"),
        _ => {}
    }
    if let Some(selector) = &peer.pod_selector {
        v.field("podSelector", |v| validate_label_selector(v, selector));
    }
    if let Some(selector) = &peer.namespace_selector {
        v.field("namespaceSelector", |v| {
            validate_label_selector(v, selector)
        });
    }
    if let Some(block) = &peer.ip_block {
        v.field("ipBlock", |v| validate_ip_block(v, block));
    }
}

fn validate_ip_block(v: &mut Validator, block: &IpBlock) {
    let cidr = parse_prefixed_cidr(&block.cidr);
    if cidr.is_none() {
        v.error_at("cidr", &block.cidr, "must be a valid CIDR");
    }
    v.each("except", &block.except, |v, text| {
        match (parse_prefixed_cidr(text), cidr) {
            (None, _) => v.error(text, "must be a valid CIDR"),
            (Some(except), Some(outer)) => {
                let strict_subset =
                    outer.contains(&except) && except.prefix_len() > outer.prefix_len();
                if !strict_subset {
                    v.error(text, "must be a strict subset of `cidr`");
                }
            }
            (Some(_), None) => {}
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode_value;
    use crate::kinds::test_support::{assert_unknown_field, decode_as, pair, problems, round_trip};
    use serde_json::json;

    fn full() -> serde_json::Value {
        json!({
            "kind": "StagedKubernetesNetworkPolicy",
            "apiVersion": "projectcalico.org/v3",
            "metadata": {
                "name": "allow-frontend",
                "namespace": "shop",
                "uid": "2f5b8c1d-9a1e-4c5d-8e0f-6a7b8c9d0e1f",
                "resourceVersion": "777",
                "creationTimestamp": "2026-04-02T12:00:00Z"
            },
            "spec": {
                "stagedAction": "Set",
                "podSelector": {
                    "matchLabels": {"app": "api"},
                    "matchExpressions": [
                        {"key": "tier", "operator": "In", "values": ["backend", "core"]},
                        {"key": "canary", "operator": "DoesNotExist"}
                    ]
                },
                "ingress": [{
                    "ports": [
                        {"protocol": "TCP", "port": 8080, "endPort": 8090},
                        {"protocol": "UDP", "port": "dns"},
                        {"port": 443}
                    ],
                    "from": [
                        {"podSelector": {"matchLabels": {"app": "web"}},
                         "namespaceSelector": {"matchLabels": {"team": "shop"}}},
                        {"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.5.0/24"]}}
                    ]
                }],
                "egress": [{
                    "ports": [{"protocol": "SCTP", "port": 3868}],
                    "to": [{"namespaceSelector": {}}]
                }],
                "policyTypes": ["Ingress", "Egress"]
            }
        })
    }

    #[test]
    fn round_trips_full_and_minimal() -> Result<(), Box<dyn std::error::Error>> {
        round_trip(&full()).validate()?;

        let minimal = json!({
            "kind": "StagedKubernetesNetworkPolicy", "apiVersion": "projectcalico.org/v3",
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"podSelector": {}}
        });
        round_trip(&minimal);
        // podSelector is a Go struct value, so Calico writes it even when absent on input.
        let mut absent = minimal.clone();
        absent["spec"] = json!({});
        assert_eq!(serde_json::to_value(decode_value(absent)?)?, minimal);
        Ok(())
    }

    #[test]
    fn writes_go_bytes() -> Result<(), Box<dyn std::error::Error>> {
        let mut p = StagedKubernetesNetworkPolicy::new_namespaced(
            "ns",
            "p",
            StagedKubernetesNetworkPolicySpec::default(),
        );
        p.spec.staged_action = "Learn".into();
        p.spec.ingress.push(K8sIngressRule {
            ports: vec![K8sPolicyPort {
                protocol: Some("TCP".into()),
                port: Some(IntOrString::Int(80)),
                end_port: Some(81),
            }],
            from: vec![K8sPolicyPeer {
                ip_block: Some(IpBlock {
                    cidr: "10.0.0.0/8".into(),
                    except: vec![],
                }),
                ..Default::default()
            }],
        });
        p.spec.policy_types = vec!["Ingress".into()];
        assert_eq!(
            serde_json::to_string(&p.spec)?,
            r#"{"stagedAction":"Learn","podSelector":{},"ingress":[{"ports":[{"protocol":"TCP","port":80,"endPort":81}],"from":[{"ipBlock":{"cidr":"10.0.0.0/8"}}]}],"policyTypes":["Ingress"]}"#
        );
        Ok(())
    }

    #[test]
    fn unknown_nested_field_names_its_path() {
        let mut doc = full();
        doc["spec"]["ingress"][0]["from"][1]["ipBlock"]["exclude"] = json!([]);
        assert_unknown_field(doc, "spec.ingress[0].from[1].ipBlock.exclude");
    }

    #[test]
    fn no_defaults() {
        let mut p: StagedKubernetesNetworkPolicy = decode_as(full());
        let before = p.clone();
        p.apply_defaults();
        assert_eq!(p, before);
    }

    #[test]
    fn rejects_bad_fields() {
        let mut doc = full();
        doc["spec"]["stagedAction"] = json!("Apply");
        doc["spec"]["podSelector"]["matchExpressions"][0]["operator"] = json!("Equals");
        doc["spec"]["podSelector"]["matchExpressions"][1]["values"] = json!(["x"]);
        doc["spec"]["ingress"][0]["ports"][0]["endPort"] = json!(8000);
        doc["spec"]["ingress"][0]["ports"][1]["protocol"] = json!("ICMP");
        doc["spec"]["ingress"][0]["ports"][2]["port"] = json!(0);
        doc["spec"]["ingress"][0]["from"][1]["ipBlock"]["except"] = json!(["192.168.0.0/24"]);
        doc["spec"]["ingress"][0]["from"][0]["ipBlock"] = json!({"cidr": "10.0.0.1"});
        doc["spec"]["egress"][0]["to"][0] = json!({});
        doc["spec"]["policyTypes"] = json!(["Ingress", "Ingress"]);
        let got = problems::<StagedKubernetesNetworkPolicySpec>(&decode_as(doc));
        let expected = [
            (
                "spec.stagedAction",
                "must be one of 'Set', 'Delete', 'Learn', 'Ignore'",
            ),
            (
                "spec.podSelector.matchExpressions[0].operator",
                "must be one of 'In', 'NotIn', 'Exists', 'DoesNotExist'",
            ),
            (
                "spec.podSelector.matchExpressions[1].values",
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            ),
            (
                "spec.ingress[0].ports[0].endPort",
                "must be greater than or equal to `port`",
            ),
            (
                "spec.ingress[0].ports[1].protocol",
                "must be one of 'TCP', 'UDP', 'SCTP'",
            ),
            (
                "spec.ingress[0].ports[2].port",
                "must be between 1 and 65535",
            ),
            (
                "spec.ingress[0].from[0]",
                "may not specify both ipBlock and another peer",
            ),
            (
                "spec.ingress[0].from[0].ipBlock.cidr",
                "must be a valid CIDR",
            ),
            (
                "spec.ingress[0].from[1].ipBlock.except[0]",
                "must be a strict subset of `cidr`",
            ),
            ("spec.egress[0].to[0]", "must specify a peer"),
            ("spec.policyTypes[1]", "Duplicate value: \"Ingress\""),
        ];
        let got: Vec<_> = got.iter().map(|(f, r)| (f.as_str(), r.as_str())).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn delete_requires_an_empty_spec() {
        let mut p: StagedKubernetesNetworkPolicy = decode_as(full());
        p.spec.staged_action = "Delete".into();
        assert_eq!(
            problems(&p),
            vec![pair(
                "spec",
                "Spec fields should all be zero-value if stagedAction is Delete"
            )]
        );
        p.spec = StagedKubernetesNetworkPolicySpec {
            staged_action: "Delete".into(),
            ..Default::default()
        };
        assert_eq!(problems(&p), vec![]);
    }

    #[test]
    fn name_only_checks_length() {
        let mut p: StagedKubernetesNetworkPolicy = decode_as(full());
        p.metadata.name = "Upper.Case_ok".into();
        assert_eq!(problems(&p), vec![]);
        p.metadata.name = "x".repeat(254);
        assert_eq!(
            problems(&p),
            vec![pair("metadata.name", "name is too long by 1 bytes")]
        );
    }
}
