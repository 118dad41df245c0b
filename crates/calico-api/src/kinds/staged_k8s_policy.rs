//! StagedKubernetesNetworkPolicy: a staged Kubernetes `networking.k8s.io/v1` NetworkPolicy.
//!
//! The spec embeds the Kubernetes policy types; they are written here by hand with the exact
//! Kubernetes JSON names and omit-empty rules.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::policy::{STAGED_ACTIONS, STAGED_ACTION_DELETE, STAGED_ACTION_SET};
use crate::numorstring::IntOrString;
use crate::resource::{Kind, NoStatus, Resource, Scope};
use crate::validation::{checks, gofmt, names, Validator};

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

    fn validate(resource: &Resource<Self>, v: &mut Validator) {
        names::validate_name_length_only(&resource.metadata, v);
        v.field("spec", |v| validate_spec(v, &resource.spec));
    }
}

/// Calico's checks: a `Delete` must carry nothing else (Go value `%v` of the spec); otherwise the
/// policy types may not repeat (checked on the converted Calico policy); then the schema's enum
/// and list size. Calico does not apply Kubernetes' own NetworkPolicy validation here (label
/// selectors, ports and peers are taken as given), and neither do we.
fn validate_spec(v: &mut Validator, spec: &StagedKubernetesNetworkPolicySpec) {
    if spec.staged_action == STAGED_ACTION_DELETE {
        let rest = StagedKubernetesNetworkPolicySpec {
            staged_action: String::new(),
            ..spec.clone()
        };
        if rest != StagedKubernetesNetworkPolicySpec::default() {
            v.go(
                "StagedKubernetesNetworkPolicySpec",
                spec_go_value(spec),
                "Spec fields should all be zero-value if stagedAction is Delete",
            );
        }
    } else {
        let mut seen = std::collections::BTreeSet::new();
        for t in &spec.policy_types {
            if !seen.insert(t.as_str()) {
                v.go(
                    "NetworkPolicySpec.Types",
                    gofmt::slice(&spec.policy_types),
                    format!("'{t}' type specified more than once"),
                );
            }
        }
    }
    v.field("spec", |v| {
        checks::schema_max_items(v, "policyTypes", &spec.policy_types, 2);
        if !spec.staged_action.is_empty() {
            v.field("stagedAction", |v| {
                checks::schema_enum(v, &spec.staged_action, STAGED_ACTIONS)
            });
        }
    });
}

/// `%v` of a label selector: `{map[k:v] [{key op [values]}]}`.
fn label_selector_go_value(selector: &LabelSelector) -> String {
    let expressions: Vec<String> = selector
        .match_expressions
        .iter()
        .map(|e| format!("{{{} {} {}}}", e.key, e.operator, gofmt::slice(&e.values)))
        .collect();
    format!(
        "{{{} {}}}",
        gofmt::string_map(&selector.match_labels),
        gofmt::slice(&expressions)
    )
}

/// `%v` of the spec (rules print as many `{…}` as they hold; their insides are not rendered).
fn spec_go_value(spec: &StagedKubernetesNetworkPolicySpec) -> String {
    let rules = |n: usize| format!("[{}]", vec!["{}"; n].join(" "));
    format!(
        "{{{} {} {} {} {}}}",
        spec.staged_action,
        label_selector_go_value(&spec.pod_selector),
        rules(spec.ingress.len()),
        rules(spec.egress.len()),
        gofmt::slice(&spec.policy_types)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode_value;
    use crate::kinds::test_support::{assert_unknown_field, decode_as, round_trip};
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
}
