//! Tiered policies and profiles as v1 model values: `model.Policy` under
//! `/calico/v1/policy/<Kind>/<namespace>/<name>` (libcalico-go's `networkpolicyprocessor.go`,
//! `globalnetworkpolicyprocessor.go` and the staged variants) and a profile's
//! `model.ProfileRules` and labels (`profileprocessor.go`).

use calico_api::kinds::policy::{GlobalView, PolicySpec, PolicyView, STAGED_ACTION_DELETE};
use calico_api::AnyResource;

use super::json::GoJson;
use super::keys::escape;
use super::rules::{
    prefix_and_append, rules_v1, LABEL_NAMESPACE, NAMESPACE_LABEL_PREFIX,
    SERVICE_ACCOUNT_LABEL_PREFIX,
};
use super::{error, passthrough, resource_of, Emitted, V1Processor};
use crate::resource_type::ProcessError;
use crate::types::SourceKv;

/// The v1 `PolicyKey` path (`/calico/v1/policy/<Kind>/<namespace>/<name>`; empty namespace
/// for global kinds).
pub(crate) fn policy_key(kind: &str, namespace: &str, name: &str) -> String {
    format!("/calico/v1/policy/{kind}/{namespace}/{name}")
}

fn profile_key(name: &str, leaf: &str) -> String {
    format!("/calico/v1/policy/profile/{}/{leaf}", escape(name))
}

/// `ConvertNetworkPolicyV3ToV1Value`: the policy's selector limited to its namespace, then
/// the service account selector appended.
fn namespaced_selector(view: &PolicyView<'_>, namespace: &str) -> String {
    let mut selector = view.selector.to_string();
    if !namespace.is_empty() {
        let ns_selector = format!("{LABEL_NAMESPACE} == '{namespace}'");
        selector = if selector.is_empty() {
            ns_selector
        } else {
            format!("({selector}) && {ns_selector}")
        };
    }
    prefix_and_append(
        selector,
        view.service_account_selector,
        SERVICE_ACCOUNT_LABEL_PREFIX,
    )
}

/// `ConvertGlobalNetworkPolicyV3ToV1Value`'s selector: namespace and service account
/// selectors appended, `all()` in each step read as "has the label".
fn global_selector(view: &PolicyView<'_>, global: &GlobalView<'_>) -> String {
    let mut selector = view.selector.to_string();
    if !global.namespace_selector.is_empty() {
        selector = prefix_and_append(selector, global.namespace_selector, NAMESPACE_LABEL_PREFIX)
            .replace("all()", "has(projectcalico.org/namespace)");
    }
    if !view.service_account_selector.is_empty() {
        selector = prefix_and_append(
            selector,
            view.service_account_selector,
            SERVICE_ACCOUNT_LABEL_PREFIX,
        )
        .replace("all()", "has(projectcalico.org/serviceaccount)");
    }
    selector
}

/// A `model.Policy`, fields in Go's order.
fn policy_value(
    view: &PolicyView<'_>,
    namespace: &str,
    global: Option<GlobalView<'_>>,
    staged_action: &str,
) -> GoJson {
    let selector = match &global {
        Some(global) => global_selector(view, global),
        None => namespaced_selector(view, namespace),
    };
    let flag = |get: fn(&GlobalView<'_>) -> bool| global.as_ref().is_some_and(get);
    let tier = if view.tier.is_empty() {
        "default"
    } else {
        view.tier
    };
    let mut value = GoJson::object()
        .field_unless(namespace.is_empty(), "namespace", GoJson::str(namespace))
        .field("tier", GoJson::str(tier));
    if let Some(order) = view.order.and_then(serde_json::Number::from_f64) {
        value = value.field("order", GoJson::Number(order));
    }
    if let Some(rules) = rules_v1(view.ingress, namespace) {
        value = value.field("inbound_rules", rules);
    }
    if let Some(rules) = rules_v1(view.egress, namespace) {
        value = value.field("outbound_rules", rules);
    }
    let types: Vec<String> = view.types.iter().map(|t| t.to_lowercase()).collect();
    value
        .field("selector", GoJson::str(selector))
        .field_unless(!flag(|g| g.do_not_track), "untracked", GoJson::Bool(true))
        .field_unless(!flag(|g| g.pre_dnat), "pre_dnat", GoJson::Bool(true))
        .field_unless(
            !flag(|g| g.apply_on_forward),
            "apply_on_forward",
            GoJson::Bool(true),
        )
        .field_unless(types.is_empty(), "types", GoJson::strings(&types))
        .field_unless(
            view.performance_hints.is_empty(),
            "performance_hints",
            GoJson::strings(view.performance_hints),
        )
        .field_unless(
            staged_action.is_empty(),
            "staged_action",
            GoJson::str(staged_action),
        )
}

/// `NewNetworkPolicyUpdateProcessor`, `NewGlobalNetworkPolicyUpdateProcessor` and the staged
/// kinds' processors: one v1 policy per v3 policy; a value that does not convert (or a staged
/// `Delete`) is a delete.
#[derive(Debug)]
pub struct PolicyProcessor {
    kind: &'static str,
}

impl PolicyProcessor {
    pub fn global_network_policy() -> Self {
        PolicyProcessor {
            kind: "GlobalNetworkPolicy",
        }
    }

    pub fn network_policy() -> Self {
        PolicyProcessor {
            kind: "NetworkPolicy",
        }
    }

    pub fn staged_global_network_policy() -> Self {
        PolicyProcessor {
            kind: "StagedGlobalNetworkPolicy",
        }
    }

    pub fn staged_network_policy() -> Self {
        PolicyProcessor {
            kind: "StagedNetworkPolicy",
        }
    }

    pub fn staged_kubernetes_network_policy() -> Self {
        PolicyProcessor {
            kind: "StagedKubernetesNetworkPolicy",
        }
    }

    fn is_global(&self) -> bool {
        matches!(
            self.kind,
            "GlobalNetworkPolicy" | "StagedGlobalNetworkPolicy"
        )
    }

    /// The v1 value, or `None` when Calico treats the resource as deleted.
    fn convert(&self, resource: &AnyResource, namespace: &str) -> Option<GoJson> {
        match (self.kind, resource) {
            ("NetworkPolicy", AnyResource::NetworkPolicy(p)) => convert_spec(&p.spec, namespace),
            ("StagedNetworkPolicy", AnyResource::StagedNetworkPolicy(p)) => {
                convert_spec(&p.spec, namespace)
            }
            ("GlobalNetworkPolicy", AnyResource::GlobalNetworkPolicy(p)) => {
                convert_spec(&p.spec, "")
            }
            ("StagedGlobalNetworkPolicy", AnyResource::StagedGlobalNetworkPolicy(p)) => {
                convert_spec(&p.spec, "")
            }
            ("StagedKubernetesNetworkPolicy", AnyResource::StagedKubernetesNetworkPolicy(p)) => {
                let action = p.spec.staged_action.as_str();
                if action == STAGED_ACTION_DELETE {
                    return None;
                }
                // `ConvertStagedKubernetesPolicyToK8SEnforced` (the spec is Kubernetes'
                // NetworkPolicySpec plus `stagedAction`), then `K8sNetworkPolicyToCalico`.
                let mut spec = serde_json::to_value(&p.spec).ok()?;
                if let Some(members) = spec.as_object_mut() {
                    members.remove("stagedAction");
                }
                let enforced = serde_json::json!({
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "NetworkPolicy",
                    "metadata": {"name": p.metadata.name, "namespace": namespace},
                    "spec": spec,
                });
                let enforced = serde_json::from_value(enforced).ok()?;
                let calico =
                    calico_kube::native::netpol::k8s_network_policy_to_calico(&enforced).ok()?;
                Some(policy_value(&calico.spec.common(), namespace, None, action))
            }
            _ => None,
        }
    }
}

/// A Calico policy spec (or a staged one, as its enforced form) as a v1 value; `None` for a
/// staged `Delete`.
fn convert_spec<S: PolicySpec>(spec: &S, namespace: &str) -> Option<GoJson> {
    let action = spec.staged_action().unwrap_or_default();
    (action != STAGED_ACTION_DELETE)
        .then(|| policy_value(&spec.view(), namespace, spec.global(), action))
}

impl V1Processor for PolicyProcessor {
    fn process_v1(&mut self, kv: &SourceKv) -> Result<Vec<Emitted>, ProcessError> {
        let (key, value) = resource_of(kv)?;
        if key.kind.kind() != self.kind {
            return Err(error(
                kv,
                format!(
                    "Incorrect key type {} - expecting resource of kind {}",
                    key.kind.kind(),
                    self.kind
                ),
            ));
        }
        let namespace = if self.is_global() {
            ""
        } else {
            key.namespace.as_str()
        };
        if key.name.is_empty() || (!self.is_global() && namespace.is_empty()) {
            let what = if self.is_global() {
                "Missing Name field to create a v1 policy Key"
            } else {
                "Missing Name or Namespace field to create a v1 policy Key"
            };
            return Err(error(
                kv,
                format!("Unable to convert v3 key to v1 key: {what}"),
            ));
        }
        let path = policy_key(self.kind, namespace, &key.name);
        let value = value.and_then(|resource| self.convert(resource, namespace));
        Ok(vec![Emitted::v1(path, value)])
    }
}

/// `NewProfileUpdateProcessor`: the profile's labels (when it has `labelsToApply`) and rules
/// as v1 values, then the v3 Profile itself.
#[derive(Debug, Default)]
pub struct ProfileProcessor;

impl V1Processor for ProfileProcessor {
    fn process_v1(&mut self, kv: &SourceKv) -> Result<Vec<Emitted>, ProcessError> {
        let (key, value) = resource_of(kv)?;
        if key.kind.kind() != "Profile" {
            return Err(error(
                kv,
                "Incorrect key type - expecting resource of kind Profile",
            ));
        }
        if key.name.is_empty() {
            return Err(error(kv, "Missing Name field to create a v1 Profile Key"));
        }
        let (labels, rules, v3) = match value {
            Some(AnyResource::Profile(profile)) => {
                let spec = &profile.spec;
                let labels =
                    (!spec.labels_to_apply.is_empty()).then(|| GoJson::map(&spec.labels_to_apply));
                let mut rules = GoJson::object();
                if let Some(inbound) = rules_v1(&spec.ingress, "") {
                    rules = rules.field("inbound_rules", inbound);
                }
                if let Some(outbound) = rules_v1(&spec.egress, "") {
                    rules = rules.field("outbound_rules", outbound);
                }
                (labels, Some(rules), passthrough(kv))
            }
            // A deletion, or a value that does not convert (treated as deleted).
            _ => {
                let mut v3 = passthrough(kv);
                v3.value = None;
                (None, None, v3)
            }
        };
        Ok(vec![
            Emitted::v1(profile_key(&key.name, "labels"), labels),
            Emitted::v1(profile_key(&key.name, "rules"), rules),
            v3,
        ])
    }
}
