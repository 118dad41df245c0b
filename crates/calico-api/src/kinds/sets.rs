//! NetworkSet and GlobalNetworkSet: named lists of networks that policies select by label.

use serde::{Deserialize, Serialize};

use crate::resource::{Kind, NoStatus, Resource, Scope};
use crate::validation::{checks, Validator};

/// The label a NetworkSet may not carry: Calico sets it itself to the set's namespace.
pub const RESERVED_NAMESPACE_LABEL: &str = "projectcalico.org/namespace";

/// `spec` of a GlobalNetworkSet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GlobalNetworkSetSpec {
    /// CIDRs or bare IPs; host bits are allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nets: Vec<String>,
}

/// `spec` of a NetworkSet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkSetSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nets: Vec<String>,
}

pub type GlobalNetworkSet = Resource<GlobalNetworkSetSpec>;
pub type NetworkSet = Resource<NetworkSetSpec>;

/// The `cidr` tag on each net (Calico names them `Nets[i]`).
fn validate_nets(v: &mut Validator, nets: &[String]) {
    for (i, net) in nets.iter().enumerate() {
        checks::cidr(v, &format!("Nets[{i}]"), net);
    }
}

/// Calico's network-set check, after the spec: the namespace label is reserved.
fn reject_reserved_label(v: &mut Validator, labels: &std::collections::BTreeMap<String, String>) {
    if labels.contains_key(RESERVED_NAMESPACE_LABEL) {
        v.go(
            "Metadata.Labels (label)",
            RESERVED_NAMESPACE_LABEL,
            format!("{RESERVED_NAMESPACE_LABEL} is not a valid label name"),
        );
    }
}

impl Kind for GlobalNetworkSetSpec {
    const KIND: &'static str = "GlobalNetworkSet";
    const PLURAL: &'static str = "globalnetworksets";
    const SCOPE: Scope = Scope::Cluster;
    type Status = NoStatus;

    fn validate(resource: &Resource<Self>, v: &mut Validator) {
        validate_nets(v, &resource.spec.nets);
        reject_reserved_label(v, &resource.metadata.labels);
    }
}

impl Kind for NetworkSetSpec {
    const KIND: &'static str = "NetworkSet";
    const PLURAL: &'static str = "networksets";
    const SCOPE: Scope = Scope::Namespaced;
    type Status = NoStatus;

    fn validate(resource: &Resource<Self>, v: &mut Validator) {
        validate_nets(v, &resource.spec.nets);
        reject_reserved_label(v, &resource.metadata.labels);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::test_support::{assert_unknown_field, decode_as, round_trip};

    use serde_json::json;

    fn calico_written() -> serde_json::Value {
        json!({
            "kind": "NetworkSet",
            "apiVersion": "projectcalico.org/v3",
            "metadata": {
                "name": "external-dbs",
                "namespace": "prod",
                "uid": "0b1a4c2e-4b7a-4d1e-9c11-2d3c4b5a6f70",
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "labels": {"role": "db"}
            },
            "spec": {"nets": ["198.51.100.0/28", "203.0.113.7"]}
        })
    }

    #[test]
    fn round_trips_calico_json() -> Result<(), Box<dyn std::error::Error>> {
        let decoded = round_trip(&calico_written());
        assert_eq!(decoded.kind(), "NetworkSet");
        decoded.validate()?;
        Ok(())
    }

    #[test]
    fn unknown_field_names_its_path() {
        let mut doc = calico_written();
        doc["spec"]["netz"] = json!([]);
        assert_unknown_field(doc, "spec.netz");
    }

    #[test]
    fn null_members_are_absent() {
        let mut doc = calico_written();
        doc["spec"]["nets"] = serde_json::Value::Null;
        doc["metadata"]["annotations"] = serde_json::Value::Null;
        let set: NetworkSet = decode_as(doc);
        assert!(set.spec.nets.is_empty());
    }
}
