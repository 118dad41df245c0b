//! The tiered policy kinds: NetworkPolicy, GlobalNetworkPolicy and their staged forms.
//!
//! The four specs share one field list (the staged kinds add `stagedAction` first, the global
//! kinds add `doNotTrack`, `preDNAT`, `applyOnForward` and `namespaceSelector`), so they are
//! declared by one macro and defaulted and validated by one generic code path through
//! [`PolicySpec`].

use serde::{Deserialize, Serialize};

use super::rule::{
    validate_rules, validate_selector_field, Rule, GLOBAL_SELECTOR_MISUSE, POLICY_TYPES,
    POLICY_TYPE_EGRESS, POLICY_TYPE_INGRESS,
};
use crate::resource::{Kind, NoStatus, Resource, Scope};
use crate::serde_helpers::{go_float_opt, is_false};
use crate::validation::{checks, names, Validator};

/// The label every tiered policy carries, naming its tier.
pub const TIER_LABEL: &str = "projectcalico.org/tier";
/// The tier a policy with an empty `tier` belongs to.
pub const DEFAULT_TIER: &str = "default";
/// `stagedAction` values.
pub const STAGED_ACTIONS: &[&str] = &["Set", "Delete", "Learn", "Ignore"];
/// The staged action that withdraws an enforced policy.
pub const STAGED_ACTION_DELETE: &str = "Delete";
/// The staged action of a staged policy without one (the default of Calico's CRDs).
pub const STAGED_ACTION_SET: &str = "Set";
/// `performanceHints` values.
pub const PERFORMANCE_HINTS: &[&str] = &["AssumeNeededOnEveryNode"];

/// Declares a policy spec: the NetworkPolicy fields in Go's order, with extra field groups
/// spliced in at the start (`stagedAction`), after `types` and after `serviceAccountSelector`.
macro_rules! policy_spec {
    (
        $(#[$attr:meta])*
        $name:ident {
            head: { $($head:tt)* }
            after_types: { $($after_types:tt)* }
            after_sa_selector: { $($after_sa:tt)* }
        }
    ) => {
        $(#[$attr])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        pub struct $name {
            $($head)*
            /// The tier; empty means `default`.
            #[serde(default, skip_serializing_if = "String::is_empty")]
            pub tier: String,
            /// Order within the tier; `None` sorts last.
            #[serde(
                default,
                skip_serializing_if = "Option::is_none",
                serialize_with = "go_float_opt"
            )]
            pub order: Option<f64>,
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub ingress: Vec<Rule>,
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub egress: Vec<Rule>,
            /// Selects the endpoints the policy applies to.
            #[serde(default, skip_serializing_if = "String::is_empty")]
            pub selector: String,
            /// `Ingress` and/or `Egress`; filled in from the rules when empty.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub types: Vec<String>,
            $($after_types)*
            #[serde(default, skip_serializing_if = "String::is_empty")]
            pub service_account_selector: String,
            $($after_sa)*
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub performance_hints: Vec<String>,
        }

        impl $name {
            /// The fields every policy kind has.
            pub fn common(&self) -> PolicyView<'_> {
                PolicyView {
                    tier: &self.tier,
                    ingress: &self.ingress,
                    egress: &self.egress,
                    selector: &self.selector,
                    types: &self.types,
                    service_account_selector: &self.service_account_selector,
                    performance_hints: &self.performance_hints,
                }
            }
        }
    };
}

/// Declares a global policy spec: [`policy_spec!`] plus the global-only fields.
macro_rules! global_policy_spec {
    ($(#[$attr:meta])* $name:ident { $($head:tt)* }) => {
        policy_spec! {
            $(#[$attr])*
            $name {
                head: { $($head)* }
                after_types: {
                    /// Apply before connection tracking; allowed packets are not tracked.
                    #[serde(default, skip_serializing_if = "is_false")]
                    pub do_not_track: bool,
                    /// Apply before DNAT.
                    #[serde(rename = "preDNAT", default, skip_serializing_if = "is_false")]
                    pub pre_dnat: bool,
                    /// Apply to forwarded traffic too.
                    #[serde(default, skip_serializing_if = "is_false")]
                    pub apply_on_forward: bool,
                }
                after_sa_selector: {
                    /// Selects namespaces whose endpoints the policy applies to.
                    #[serde(default, skip_serializing_if = "String::is_empty")]
                    pub namespace_selector: String,
                }
            }
        }
    };
}

policy_spec! {
    /// `spec` of a NetworkPolicy.
    NetworkPolicySpec {
        head: {}
        after_types: {}
        after_sa_selector: {}
    }
}

policy_spec! {
    /// `spec` of a StagedNetworkPolicy: a NetworkPolicy spec plus `stagedAction`.
    StagedNetworkPolicySpec {
        head: {
            /// `Set` (the default when empty), `Delete`, `Learn` or `Ignore`.
            #[serde(default, skip_serializing_if = "String::is_empty")]
            pub staged_action: String,
        }
        after_types: {}
        after_sa_selector: {}
    }
}

global_policy_spec! {
    /// `spec` of a GlobalNetworkPolicy.
    GlobalNetworkPolicySpec {}
}

global_policy_spec! {
    /// `spec` of a StagedGlobalNetworkPolicy: a GlobalNetworkPolicy spec plus `stagedAction`.
    StagedGlobalNetworkPolicySpec {
        /// `Set` (the default when empty), `Delete`, `Learn` or `Ignore`.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        pub staged_action: String,
    }
}

pub type NetworkPolicy = Resource<NetworkPolicySpec>;
pub type GlobalNetworkPolicy = Resource<GlobalNetworkPolicySpec>;
pub type StagedNetworkPolicy = Resource<StagedNetworkPolicySpec>;
pub type StagedGlobalNetworkPolicy = Resource<StagedGlobalNetworkPolicySpec>;

/// Borrowed view of the fields all four policy specs share.
#[derive(Clone, Copy, Debug)]
pub struct PolicyView<'a> {
    pub tier: &'a str,
    pub ingress: &'a [Rule],
    pub egress: &'a [Rule],
    pub selector: &'a str,
    pub types: &'a [String],
    pub service_account_selector: &'a str,
    pub performance_hints: &'a [String],
}

/// Borrowed view of the global-only fields.
#[derive(Clone, Copy, Debug)]
pub struct GlobalView<'a> {
    pub do_not_track: bool,
    pub pre_dnat: bool,
    pub apply_on_forward: bool,
    pub namespace_selector: &'a str,
}

/// What the shared defaulting and validation need from a policy spec.
pub trait PolicySpec: Clone + Default + PartialEq {
    /// The shared fields.
    fn view(&self) -> PolicyView<'_>;
    /// `types`, for defaulting.
    fn types_mut(&mut self) -> &mut Vec<String>;
    /// `tier`, for defaulting.
    fn tier_mut(&mut self) -> &mut String;
    /// `stagedAction`, for defaulting the staged kinds.
    fn staged_action_mut(&mut self) -> Option<&mut String> {
        None
    }
    /// The global-only fields, for the global kinds.
    fn global(&self) -> Option<GlobalView<'_>> {
        None
    }
    /// `stagedAction`, for the staged kinds.
    fn staged_action(&self) -> Option<&str> {
        None
    }
    /// Clears `tier` and `stagedAction` (used to test "everything else is empty").
    fn clear_tier_and_action(&mut self);
}

macro_rules! impl_policy_spec {
    ($name:ident { $($extra:tt)* }) => {
        impl PolicySpec for $name {
            fn view(&self) -> PolicyView<'_> {
                self.common()
            }
            fn types_mut(&mut self) -> &mut Vec<String> {
                &mut self.types
            }
            fn tier_mut(&mut self) -> &mut String {
                &mut self.tier
            }
            $($extra)*
        }
    };
}

macro_rules! global_view {
    () => {
        fn global(&self) -> Option<GlobalView<'_>> {
            Some(GlobalView {
                do_not_track: self.do_not_track,
                pre_dnat: self.pre_dnat,
                apply_on_forward: self.apply_on_forward,
                namespace_selector: &self.namespace_selector,
            })
        }
    };
}

impl_policy_spec!(NetworkPolicySpec {
    fn clear_tier_and_action(&mut self) {
        self.tier.clear();
    }
});

impl_policy_spec!(GlobalNetworkPolicySpec {
    global_view!();
    fn clear_tier_and_action(&mut self) {
        self.tier.clear();
    }
});

impl_policy_spec!(StagedNetworkPolicySpec {
    fn staged_action(&self) -> Option<&str> {
        Some(&self.staged_action)
    }
    fn staged_action_mut(&mut self) -> Option<&mut String> {
        Some(&mut self.staged_action)
    }
    fn clear_tier_and_action(&mut self) {
        self.tier.clear();
        self.staged_action.clear();
    }
});

impl_policy_spec!(StagedGlobalNetworkPolicySpec {
    global_view!();
    fn staged_action(&self) -> Option<&str> {
        Some(&self.staged_action)
    }
    fn staged_action_mut(&mut self) -> Option<&mut String> {
        Some(&mut self.staged_action)
    }
    fn clear_tier_and_action(&mut self) {
        self.tier.clear();
        self.staged_action.clear();
    }
});

macro_rules! policy_kind {
    ($spec:ty, $kind:literal, $plural:literal, $scope:ident, $name_rule:path) => {
        impl Kind for $spec {
            const KIND: &'static str = $kind;
            const PLURAL: &'static str = $plural;
            const SCOPE: Scope = Scope::$scope;
            type Status = NoStatus;

            /// See [`apply_policy_defaults`].
            fn apply_defaults(resource: &mut Resource<Self>) {
                apply_policy_defaults(resource);
            }

            fn validate_name(name: &str, v: &mut Validator) {
                $name_rule(name, v);
            }

            fn validate(resource: &Resource<Self>, v: &mut Validator) {
                v.field("spec", |v| validate_policy_spec(v, &resource.spec));
            }
        }
    };
}

policy_kind!(
    NetworkPolicySpec,
    "NetworkPolicy",
    "networkpolicies",
    Namespaced,
    names::validate_network_policy_name
);
policy_kind!(
    GlobalNetworkPolicySpec,
    "GlobalNetworkPolicy",
    "globalnetworkpolicies",
    Cluster,
    names::validate_global_network_policy_name
);
policy_kind!(
    StagedNetworkPolicySpec,
    "StagedNetworkPolicy",
    "stagednetworkpolicies",
    Namespaced,
    names::validate_network_policy_name
);
policy_kind!(
    StagedGlobalNetworkPolicySpec,
    "StagedGlobalNetworkPolicy",
    "stagedglobalnetworkpolicies",
    Cluster,
    names::validate_global_network_policy_name
);

/// The `types` Calico infers from the rules: `[Ingress]` without egress rules, `[Egress]` with
/// egress rules only, both otherwise.
pub fn default_policy_types(has_ingress: bool, has_egress: bool) -> Vec<String> {
    let types: &[&str] = match (has_ingress, has_egress) {
        (_, false) => &[POLICY_TYPE_INGRESS],
        (false, true) => &[POLICY_TYPE_EGRESS],
        (true, true) => &[POLICY_TYPE_INGRESS, POLICY_TYPE_EGRESS],
    };
    types.iter().map(|t| t.to_string()).collect()
}

/// The Calico client's policy defaults, in its order:
/// - label `projectcalico.org/tier` set to `spec.tier`, or `default` when the tier is empty
///   (overwriting a different value);
/// - empty `types` inferred from the rules ([`default_policy_types`]);
/// - for a staged policy with `stagedAction: Delete`, `types` cleared instead;
/// - then the defaults of the policy CRDs, which Calico's client applies on etcd before it
///   validates: an empty `tier` becomes `default` and an empty `stagedAction` becomes `Set`.
///
/// `order` is left alone.
pub fn apply_policy_defaults<K: Kind + PolicySpec>(resource: &mut Resource<K>) {
    let view = resource.spec.view();
    let tier = if view.tier.is_empty() {
        DEFAULT_TIER
    } else {
        view.tier
    };
    let tier = tier.to_string();
    let (has_ingress, has_egress) = (!view.ingress.is_empty(), !view.egress.is_empty());
    resource
        .metadata
        .labels
        .insert(TIER_LABEL.to_string(), tier);
    let delete = resource.spec.staged_action() == Some(STAGED_ACTION_DELETE);
    let types = resource.spec.types_mut();
    if delete {
        types.clear();
    } else if types.is_empty() {
        *types = default_policy_types(has_ingress, has_egress);
    }
    let tier = resource.spec.tier_mut();
    if tier.is_empty() {
        *tier = DEFAULT_TIER.to_string();
    }
    if let Some(action) = resource.spec.staged_action_mut() {
        if action.is_empty() {
            *action = STAGED_ACTION_SET.to_string();
        }
    }
}

/// Reports every repeated entry of `items` at its index.
pub(crate) fn reject_duplicates(
    v: &mut Validator,
    name: &'static str,
    items: &[String],
    reason: impl Fn(&str) -> String,
) {
    let mut seen = std::collections::BTreeSet::new();
    v.each(name, items, |v, item| {
        if !seen.insert(item.clone()) {
            v.error(item, reason(item));
        }
    });
}

/// Validates a policy spec at the current path (`spec`).
pub fn validate_policy_spec<K: PolicySpec>(v: &mut Validator, spec: &K) {
    let view = spec.view();
    let global = spec.global();
    let staged_delete = validate_staged_action(v, spec);
    if !view.tier.is_empty() && !checks::is_dns1123_subdomain(view.tier) {
        v.error_at(
            "tier",
            view.tier,
            "tier must consist of lower case alphanumeric characters, '-' or '.', and must \
             start and end with an alphanumeric character",
        );
    }
    validate_rules(v, "ingress", view.ingress);
    validate_rules(v, "egress", view.egress);
    validate_selector_field(v, "selector", view.selector);
    checks::max_items(v, "types", view.types, 2);
    v.each("types", view.types, |v, t| {
        checks::one_of(v, t, POLICY_TYPES)
    });
    reject_duplicates(v, "types", view.types, |t| {
        format!("'{t}' type specified more than once")
    });
    validate_selector_field(v, "serviceAccountSelector", view.service_account_selector);
    if let Some(global) = global {
        validate_selector_field(v, "namespaceSelector", global.namespace_selector);
    }
    v.each("performanceHints", view.performance_hints, |v, hint| {
        checks::one_of(v, hint, PERFORMANCE_HINTS)
    });
    reject_duplicates(v, "performanceHints", view.performance_hints, |h| {
        format!("'{h}' specified more than once")
    });
    spec_cel_checks(v, &view, global.as_ref());
    if !staged_delete {
        rule_placement_checks(v, &view, global.is_some());
    }
}

/// Checks `stagedAction` and, for `Delete`, that nothing but the tier is set. Returns whether
/// the action is `Delete`.
fn validate_staged_action<K: PolicySpec>(v: &mut Validator, spec: &K) -> bool {
    let Some(action) = spec.staged_action() else {
        return false;
    };
    if !action.is_empty() {
        v.field("stagedAction", |v| {
            checks::one_of(v, action, STAGED_ACTIONS)
        });
    }
    if action != STAGED_ACTION_DELETE {
        return false;
    }
    let mut rest = spec.clone();
    rest.clear_tier_and_action();
    if rest != K::default() {
        v.error_no_value(
            "Spec fields, except Tier, should all be zero-value if stagedAction is Delete",
        );
    }
    true
}

/// The CEL rules on the policy specs, reported at `spec`.
fn spec_cel_checks(v: &mut Validator, view: &PolicyView<'_>, global: Option<&GlobalView<'_>>) {
    let mut selectors = vec![view.selector, view.service_account_selector];
    if let Some(global) = global {
        if global.pre_dnat && global.do_not_track {
            v.error_no_value("preDNAT and doNotTrack cannot both be true");
        }
        if global.pre_dnat && !view.egress.is_empty() {
            v.error_no_value("preDNAT policy cannot have any egress rules");
        }
        if global.pre_dnat && view.types.iter().any(|t| t == POLICY_TYPE_EGRESS) {
            v.error_no_value("preDNAT policy cannot have 'Egress' type");
        }
        if !global.apply_on_forward && (global.pre_dnat || global.do_not_track) {
            v.error_no_value("applyOnForward must be true if either preDNAT or doNotTrack is true");
        }
        selectors.push(global.namespace_selector);
    }
    for selector in selectors {
        if selector.contains("global(") {
            v.error_no_value(GLOBAL_SELECTOR_MISUSE);
        }
    }
}

/// Calico's Go checks on where services and HTTP matches may appear in a policy's rules.
fn rule_placement_checks(v: &mut Validator, view: &PolicyView<'_>, global: bool) {
    let http_reason = if global {
        "not allowed in egress rules"
    } else {
        "not allowed in egress rule"
    };
    v.each("egress", view.egress, |v, rule| {
        if rule.source.services.is_some() {
            v.field("source", |v| {
                v.field("services", |v| {
                    v.error_no_value("not allowed in egress rule source")
                })
            });
        }
        if rule.http.is_some() {
            v.field("http", |v| v.error_no_value(http_reason));
        }
        if global {
            require_service_namespace(v, "destination", rule.destination.services.as_ref());
        }
    });
    v.each("ingress", view.ingress, |v, rule| {
        if rule.destination.services.is_some() {
            v.field("destination", |v| {
                v.field("services", |v| {
                    v.error_no_value("not allowed in ingress rule destination")
                })
            });
        }
        if global {
            require_service_namespace(v, "source", rule.source.services.as_ref());
        }
    });
}

/// Service names are not qualified at global scope, so a global policy must name the namespace.
fn require_service_namespace(
    v: &mut Validator,
    side: &'static str,
    services: Option<&super::rule::ServiceMatch>,
) {
    if services.is_some_and(|s| s.namespace.is_empty()) {
        v.field(side, |v| {
            v.field("services", |v| {
                v.error_at("namespace", "", "must specify a namespace")
            })
        });
    }
}

#[cfg(test)]
mod tests;
