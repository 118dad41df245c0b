//! The defaults Calico's CRD schemas declare, which Calico applies before its validation when no
//! API server does (`calicoctl validate`): only those that change an outcome are applied here.

use crate::kinds::AnyResource;

/// Applies the CRD schema defaults that take part in validation.
pub fn apply_schema_defaults(resource: &mut AnyResource) {
    match resource {
        AnyResource::IPPool(pool) if pool.spec.node_selector.is_empty() => {
            pool.spec.node_selector = "all()".to_string();
        }
        AnyResource::Tier(tier) if tier.spec.default_action.is_none() => {
            tier.spec.default_action = Some("Deny".to_string());
        }
        _ => {}
    }
}
