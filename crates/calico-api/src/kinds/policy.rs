//! The tiered policy kinds: NetworkPolicy, GlobalNetworkPolicy and their staged forms.
//!
//! The four specs share one field list (the staged kinds add `stagedAction` first, the global
//! kinds add `doNotTrack`, `preDNAT`, `applyOnForward` and `namespaceSelector`), so they are
//! declared by one macro and defaulted and validated by one generic code path through
//! [`PolicySpec`].

use serde::{Deserialize, Serialize};

use super::rule::{
    validate_rules, Rule, GLOBAL_SELECTOR_MISUSE, POLICY_TYPES, POLICY_TYPE_EGRESS,
    POLICY_TYPE_INGRESS,
};
use crate::resource::{Kind, NoStatus, Resource, Scope};
use crate::serde_helpers::{go_float_opt, is_false};
use crate::validation::{checks, gofmt, names, Validator};

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
                    order: self.order,
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
    pub order: Option<f64>,
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

            fn validate(resource: &Resource<Self>, v: &mut Validator) {
                v.field("spec", |v| validate_policy_spec(v, &resource.spec));
                // Calico's policy-level check, after the spec's fields: the kind's name rule,
                // annotations and labels again, then the spec's cross-rule checks.
                $name_rule(&resource.metadata, v);
                policy_level_checks(v, &resource.spec);
                v.field("spec", |v| spec_schema_and_cel(v, &resource.spec));
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

/// The Go checks of a policy spec's fields, in Calico's struct order, at the current path
/// (`spec`).
pub fn validate_policy_spec<K: PolicySpec>(v: &mut Validator, spec: &K) {
    let view = spec.view();
    let global = spec.global();
    if !view.tier.is_empty() {
        checks::name_tag(v, "Tier", view.tier);
    }
    validate_rules(v, "ingress", view.ingress);
    validate_rules(v, "egress", view.egress);
    checks::selector(v, "Selector", view.selector);
    checks::selector(v, "ServiceAccountSelector", view.service_account_selector);
    if let Some(global) = global {
        checks::selector(v, "NamespaceSelector", global.namespace_selector);
    }
    let hints = view.performance_hints;
    let mut seen = std::collections::BTreeSet::new();
    if !hints.iter().all(|h| seen.insert(h.as_str())) {
        v.go_tag("PerformanceHints", gofmt::slice(hints), "unique");
    } else {
        for (i, hint) in hints.iter().enumerate() {
            checks::one_of_tag(
                v,
                &format!("PerformanceHints[{i}]"),
                hint,
                PERFORMANCE_HINTS,
            );
        }
    }
}

/// The schema and CEL rules of a policy spec (reported after every Go check).
fn spec_schema_and_cel<K: PolicySpec>(v: &mut Validator, spec: &K) {
    let view = spec.view();
    let global = spec.global();
    // Properties in the CRD's (alphabetical) order.
    if let Some(global) = &global {
        v.field("namespaceSelector", |v| {
            checks::schema_max_length(v, global.namespace_selector, 1024)
        });
    }
    v.each("performanceHints", view.performance_hints, |v, hint| {
        checks::schema_enum(v, hint, PERFORMANCE_HINTS)
    });
    v.field("selector", |v| {
        checks::schema_max_length(v, view.selector, 1024)
    });
    v.field("serviceAccountSelector", |v| {
        checks::schema_max_length(v, view.service_account_selector, 1024)
    });
    if let Some(action) = spec.staged_action() {
        if !action.is_empty() {
            v.field("stagedAction", |v| {
                checks::schema_enum(v, action, STAGED_ACTIONS)
            });
        }
    }
    checks::schema_max_items(v, "types", view.types, 2);
    v.each("types", view.types, |v, t| {
        checks::schema_enum(v, t, POLICY_TYPES)
    });
    spec_cel_checks(v, &view, global.as_ref());
}

/// The CEL rules on the policy specs, reported at `spec`.
fn spec_cel_checks(v: &mut Validator, view: &PolicyView<'_>, global: Option<&GlobalView<'_>>) {
    let mut selectors = vec![view.selector, view.service_account_selector];
    if let Some(global) = global {
        if global.pre_dnat && global.do_not_track {
            v.cel("preDNAT and doNotTrack cannot both be true");
        }
        if global.pre_dnat && !view.egress.is_empty() {
            v.cel("preDNAT policy cannot have any egress rules");
        }
        if global.pre_dnat && view.types.iter().any(|t| t == POLICY_TYPE_EGRESS) {
            v.cel("preDNAT policy cannot have 'Egress' type");
        }
        if !global.apply_on_forward && (global.pre_dnat || global.do_not_track) {
            v.cel("applyOnForward must be true if either preDNAT or doNotTrack is true");
        }
        selectors.push(global.namespace_selector);
    }
    for selector in selectors {
        if selector.contains("global(") {
            v.cel(GLOBAL_SELECTOR_MISUSE);
        }
    }
}

/// Calico's policy-level Go checks: a staged `Delete` must carry nothing but the tier; otherwise
/// no repeated type, and where services and HTTP matches may appear.
fn policy_level_checks<K: PolicySpec>(v: &mut Validator, spec: &K) {
    let view = spec.view();
    let global = spec.global();
    let spec_name = match (global.is_some(), spec.staged_action().is_some()) {
        (false, false) => "NetworkPolicySpec",
        (true, false) => "GlobalNetworkPolicySpec",
        (false, true) => "StagedNetworkPolicySpec",
        (true, true) => "StagedGlobalNetworkPolicySpec",
    };
    if spec.staged_action() == Some(STAGED_ACTION_DELETE) {
        let mut rest = spec.clone();
        rest.clear_tier_and_action();
        if rest != K::default() {
            v.go(
                spec_name,
                staged_spec_go_value(spec),
                "Spec fields, except Tier, should all be zero-value if stagedAction is Delete",
            );
        }
        return;
    }
    let types_name = if global.is_some() {
        "GlobalNetworkPolicySpec.Types"
    } else {
        "NetworkPolicySpec.Types"
    };
    let mut seen = std::collections::BTreeSet::new();
    for t in view.types {
        if !seen.insert(t.as_str()) {
            v.go(
                types_name,
                gofmt::slice(view.types),
                format!("'{t}' type specified more than once"),
            );
        }
    }
    let http_reason = if global.is_some() {
        "not allowed in egress rules"
    } else {
        "not allowed in egress rule"
    };
    for rule in view.egress {
        if let Some(services) = &rule.source.services {
            v.go(
                "Services",
                service_match_go_value(services),
                "not allowed in egress rule source",
            );
        }
        if let Some(http) = &rule.http {
            v.go("HTTP", http_match_go_value(http), http_reason);
        }
    }
    for rule in view.ingress {
        if let Some(services) = &rule.destination.services {
            v.go(
                "Services",
                service_match_go_value(services),
                "not allowed in ingress rule destination",
            );
        }
    }
    if global.is_some() {
        for rule in view.egress {
            if rule
                .destination
                .services
                .as_ref()
                .is_some_and(|s| s.namespace.is_empty())
            {
                v.go("Namespace", "", "must specify a namespace");
            }
        }
        for rule in view.ingress {
            if rule
                .source
                .services
                .as_ref()
                .is_some_and(|s| s.namespace.is_empty())
            {
                v.go("Namespace", "", "must specify a namespace");
            }
        }
    }
}

/// `%v` of a `*ServiceMatch`: `&{name namespace}`.
fn service_match_go_value(services: &super::rule::ServiceMatch) -> String {
    format!("&{{{} {}}}", services.name, services.namespace)
}

/// `%v` of a `*HTTPMatch`: `&{[methods] [paths]}`.
fn http_match_go_value(http: &super::rule::HttpMatch) -> String {
    let paths: Vec<String> = http
        .paths
        .iter()
        .map(|p| format!("{{{} {}}}", p.exact, p.prefix))
        .collect();
    format!(
        "&{{{} {}}}",
        gofmt::slice(&http.methods),
        gofmt::slice(&paths)
    )
}

/// `%v` of a staged policy spec as Calico prints it in the staged `Delete` check. Rules and a
/// set `order` print as Go structs and pointers do; a pointer's address cannot be reproduced, so
/// a set order prints as its value.
fn staged_spec_go_value<K: PolicySpec>(spec: &K) -> String {
    let view = spec.view();
    let order = view
        .order
        .map_or_else(|| "<nil>".to_string(), |o| o.to_string());
    let rules = |rules: &[Rule]| format!("[{}]", " ".repeat(rules.len().saturating_sub(1)));
    let mut parts = vec![
        spec.staged_action().unwrap_or_default().to_string(),
        view.tier.to_string(),
        order,
        if view.ingress.is_empty() {
            "[]".to_string()
        } else {
            rules(view.ingress)
        },
        if view.egress.is_empty() {
            "[]".to_string()
        } else {
            rules(view.egress)
        },
        view.selector.to_string(),
        gofmt::slice(view.types),
    ];
    if let Some(global) = spec.global() {
        parts.push(global.do_not_track.to_string());
        parts.push(global.pre_dnat.to_string());
        parts.push(global.apply_on_forward.to_string());
        parts.push(view.service_account_selector.to_string());
        parts.push(global.namespace_selector.to_string());
    } else {
        parts.push(view.service_account_selector.to_string());
    }
    parts.push(gofmt::slice(view.performance_hints));
    format!("{{{}}}", parts.join(" "))
}

#[cfg(test)]
mod tests;
