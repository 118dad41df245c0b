//! Profile: rules and labels that endpoints inherit by naming the profile.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::rule::{validate_rules, Rule};
use crate::resource::{Kind, NoStatus, Resource, Scope};
use crate::validation::{checks, Validator};

/// `spec` of a Profile.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<Rule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<Rule>,
    /// Labels added to every endpoint using the profile (the endpoint's own labels win).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels_to_apply: BTreeMap<String, String>,
}

pub type Profile = Resource<ProfileSpec>;

impl Kind for ProfileSpec {
    const KIND: &'static str = "Profile";
    const PLURAL: &'static str = "profiles";
    const SCOPE: Scope = Scope::Cluster;
    type Status = NoStatus;

    fn validate(resource: &Resource<Self>, v: &mut Validator) {
        let spec = &resource.spec;
        v.field("spec", |v| {
            validate_rules(v, "ingress", &spec.ingress);
            validate_rules(v, "egress", &spec.egress);
            v.field("labelsToApply", |v| {
                checks::labels(v, &spec.labels_to_apply)
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::test_support::{assert_unknown_field, round_trip};
    use serde_json::json;

    fn doc() -> serde_json::Value {
        json!({
            "kind": "Profile",
            "apiVersion": "projectcalico.org/v3",
            "metadata": {
                "name": "kns.prod",
                "uid": "8a7d5f0e-1f0b-4f4e-8b1a-3c3f9f1c2d10",
                "resourceVersion": "12/",
                "creationTimestamp": "2026-02-01T08:00:00Z"
            },
            "spec": {
                "ingress": [{"action": "Allow"}],
                "egress": [{
                    "action": "Deny",
                    "protocol": "UDP",
                    "destination": {"nets": ["10.0.0.0/8"], "ports": [53]}
                }],
                "labelsToApply": {
                    "pcns.projectcalico.org/name": "prod",
                    "pcns.team": "payments"
                }
            }
        })
    }

    #[test]
    fn round_trips() -> Result<(), Box<dyn std::error::Error>> {
        round_trip(&doc()).validate()?;
        let minimal = json!({
            "kind": "Profile", "apiVersion": "projectcalico.org/v3",
            "metadata": {"name": "p"}, "spec": {}
        });
        round_trip(&minimal);
        Ok(())
    }

    #[test]
    fn writes_go_bytes() -> Result<(), Box<dyn std::error::Error>> {
        let mut p = Profile::new("kns.prod", ProfileSpec::default());
        p.spec.egress.push(Rule {
            action: "Allow".into(),
            ..Rule::default()
        });
        p.spec.labels_to_apply.insert("b".into(), "2".into());
        p.spec.labels_to_apply.insert("a".into(), "1".into());
        assert_eq!(
            serde_json::to_string(&p)?,
            r#"{"kind":"Profile","apiVersion":"projectcalico.org/v3","metadata":{"name":"kns.prod"},"spec":{"egress":[{"action":"Allow"}],"labelsToApply":{"a":"1","b":"2"}}}"#
        );
        Ok(())
    }

    #[test]
    fn unknown_rule_field_names_its_path() {
        let mut d = doc();
        d["spec"]["egress"][0]["destination"]["portz"] = json!([1]);
        assert_unknown_field(d, "spec.egress[0].destination.portz");
    }
}
