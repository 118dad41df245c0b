//! Tier: an ordered group of policies, with a default action for traffic no policy decides.

use serde::{Deserialize, Serialize};

use crate::resource::{Always, Kind, Resource, Scope};
use crate::serde_helpers::go_float_opt;
use crate::validation::{checks, names, Validator};

/// The order a tier gets when none is given; also the `default` tier's required order.
pub const DEFAULT_TIER_ORDER: f64 = 1_000_000.0;
/// The `kube-admin` tier's required order.
pub const KUBE_ADMIN_TIER_ORDER: f64 = 1_000.0;
/// The `kube-baseline` tier's required order.
pub const KUBE_BASELINE_TIER_ORDER: f64 = 10_000_000.0;
/// The default action a tier gets when none is given.
pub const DEFAULT_TIER_ACTION: &str = "Deny";
/// The finalizer Calico's tier controller sets on tiers.
pub const TIER_FINALIZER: &str = "projectcalico.org/tier-controller";
/// Allowed `defaultAction` values.
pub const TIER_ACTIONS: &[&str] = &["Pass", "Deny"];

/// The built-in tiers whose order and default action are fixed: name, order, action and the
/// CEL messages for each.
const PROTECTED_TIERS: &[(&str, f64, &str, &str, &str)] = &[
    (
        "kube-admin",
        KUBE_ADMIN_TIER_ORDER,
        "Pass",
        "kube-admin tier order must be 1000",
        "The 'kube-admin' tier must have default action 'Pass'",
    ),
    (
        "default",
        DEFAULT_TIER_ORDER,
        "Deny",
        "default tier order must be 1000000",
        "The 'default' tier must have default action 'Deny'",
    ),
    (
        "kube-baseline",
        KUBE_BASELINE_TIER_ORDER,
        "Pass",
        "kube-baseline tier order must be 10000000",
        "The 'kube-baseline' tier must have default action 'Pass'",
    ),
];

/// `spec` of a Tier.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TierSpec {
    /// Lower orders apply first; `None` sorts last.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "go_float_opt"
    )]
    pub order: Option<f64>,
    /// `Pass` or `Deny`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_action: Option<String>,
}

/// `status` of a Tier (a Go struct value: always written, `{}` when empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TierStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<crate::meta::Condition>,
}

pub type Tier = Resource<TierSpec>;

impl Kind for TierSpec {
    const KIND: &'static str = "Tier";
    const PLURAL: &'static str = "tiers";
    const SCOPE: Scope = Scope::Cluster;
    type Status = Always<TierStatus>;

    /// `order` 1000000 and `defaultAction` `Deny` when unset (Calico applies these on write
    /// and on read).
    fn apply_defaults(resource: &mut Resource<Self>) {
        let spec = &mut resource.spec;
        spec.order.get_or_insert(DEFAULT_TIER_ORDER);
        spec.default_action
            .get_or_insert_with(|| DEFAULT_TIER_ACTION.to_string());
    }

    fn validate(resource: &Resource<Self>, v: &mut Validator) {
        let spec = &resource.spec;
        // Go: the `oneof=Deny Pass` tag, then Calico's Tier check (name, annotations, labels).
        if let Some(action) = &spec.default_action {
            checks::one_of_tag(v, "DefaultAction", action, &["Deny", "Pass"]);
        }
        names::validate_tier_name(&resource.metadata, v);
        // Schema: `defaultAction` is `allOf` two enums; each failing one is reported, then the
        // `allOf` itself at the root.
        if let Some(action) = &spec.default_action {
            v.field("spec", |v| {
                v.field("defaultAction", |v| {
                    checks::schema_enum(v, action, super::rule::RULE_ACTIONS);
                    checks::schema_enum(v, action, &["Pass", "Deny"]);
                })
            });
            if !["Pass", "Deny"].contains(&action.as_str()) {
                v.schema(
                    "\"spec.defaultAction\" must validate all the schemas (allOf). None validated",
                );
            }
        }
        v.field("status", |v| {
            checks::conditions(v, &resource.status.0.conditions)
        });
        protected_tier_checks(v, resource.name(), spec);
    }
}

/// The CEL rules on the Tier object. They apply to the whole object, which Calico reports under
/// the kind's name.
fn protected_tier_checks(v: &mut Validator, name: &str, spec: &TierSpec) {
    let Some(&(_, order, action, order_message, action_message)) =
        PROTECTED_TIERS.iter().find(|(tier, ..)| *tier == name)
    else {
        return;
    };
    // Rules on the whole object: Calico names the kind for their empty path.
    if spec.default_action.as_deref() != Some(action) {
        v.cel(action_message);
    }
    if spec.order != Some(order) {
        v.cel(order_message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::test_support::{assert_unknown_field, decode_as, problems, round_trip};
    use serde_json::json;

    fn full() -> serde_json::Value {
        json!({
            "kind": "Tier",
            "apiVersion": "projectcalico.org/v3",
            "metadata": {
                "name": "security",
                "uid": "6d1c0b7e-7d55-4b1e-9bb2-0c8f0b6f7c11",
                "resourceVersion": "1234",
                "creationTimestamp": "2026-03-01T10:00:00Z",
                "finalizers": [TIER_FINALIZER]
            },
            "spec": {"order": 100, "defaultAction": "Pass"},
            "status": {"conditions": [{
                "type": "Ready",
                "status": "True",
                "observedGeneration": 3,
                "lastTransitionTime": "2026-03-01T10:00:05Z",
                "reason": "Ready",
                "message": "tier is ready"
            }]}
        })
    }

    #[test]
    fn round_trips_full_and_minimal() -> Result<(), Box<dyn std::error::Error>> {
        round_trip(&full()).validate()?;

        let minimal = json!({
            "kind": "Tier", "apiVersion": "projectcalico.org/v3",
            "metadata": {"name": "t1"},
            "spec": {}, "status": {}
        });
        round_trip(&minimal);
        Ok(())
    }

    #[test]
    fn writes_go_bytes() -> Result<(), Box<dyn std::error::Error>> {
        let mut t = Tier::new("security", TierSpec::default());
        t.spec.order = Some(100.0);
        t.spec.default_action = Some("Pass".into());
        assert_eq!(
            serde_json::to_string(&t)?,
            r#"{"kind":"Tier","apiVersion":"projectcalico.org/v3","metadata":{"name":"security"},"spec":{"order":100,"defaultAction":"Pass"},"status":{}}"#
        );
        t.spec.order = Some(100.5);
        assert!(serde_json::to_string(&t)?.contains(r#""order":100.5"#));
        Ok(())
    }

    #[test]
    fn unknown_status_field_names_its_path() {
        let mut doc = full();
        doc["status"]["conditions"][0]["severity"] = json!("High");
        assert_unknown_field(doc, "status.conditions[0].severity");
    }

    #[test]
    fn defaults_fill_only_what_is_missing() -> Result<(), Box<dyn std::error::Error>> {
        let mut t = Tier::new("t1", TierSpec::default());
        t.apply_defaults();
        assert_eq!(t.spec.order, Some(DEFAULT_TIER_ORDER));
        assert_eq!(t.spec.default_action.as_deref(), Some("Deny"));
        let once = t.clone();
        t.apply_defaults();
        assert_eq!(t, once);

        let mut set: Tier = decode_as(full());
        let before = set.clone();
        set.apply_defaults();
        assert_eq!(set, before);
        Ok(())
    }

    #[test]
    fn protected_tiers() {
        let mut t = Tier::new("default", TierSpec::default());
        t.apply_defaults();
        assert_eq!(problems(&t), vec![]);
        t.spec.order = Some(5.0);
        t.spec.default_action = Some("Pass".into());
        assert_eq!(
            problems(&t),
            vec![
                (
                    "Tier".into(),
                    "The 'default' tier must have default action 'Deny'".into()
                ),
                ("Tier".into(), "default tier order must be 1000000".into()),
            ]
        );

        let mut admin = Tier::new("kube-admin", TierSpec::default());
        admin.apply_defaults();
        assert_eq!(
            problems(&admin),
            vec![
                (
                    "Tier".into(),
                    "The 'kube-admin' tier must have default action 'Pass'".into()
                ),
                ("Tier".into(), "kube-admin tier order must be 1000".into()),
            ]
        );
        admin.spec.order = Some(1000.0);
        admin.spec.default_action = Some("Pass".into());
        assert_eq!(problems(&admin), vec![]);

        let baseline = Tier::new(
            "kube-baseline",
            TierSpec {
                order: Some(10_000_000.0),
                default_action: None,
            },
        );
        assert_eq!(
            problems(&baseline),
            vec![(
                "Tier".into(),
                "The 'kube-baseline' tier must have default action 'Pass'".into()
            )]
        );
    }
}
