//! Checks on `metadata` common to every kind.

use crate::meta::ObjectMeta;
use crate::resource::{Kind, Scope};

use super::checks::{self, qualified_name_problems};
use super::Validator;

/// Total size limit of all annotation keys and values (Kubernetes' limit).
pub const ANNOTATIONS_SIZE_LIMIT: usize = 256 * 1024;

/// Name (per kind), namespace presence, labels and annotations.
pub fn validate_metadata<K: Kind>(meta: &ObjectMeta, v: &mut Validator) {
    v.field("metadata", |v| {
        v.field("name", |v| K::validate_name(&meta.name, v));
        match K::SCOPE {
            Scope::Namespaced => {
                if !meta.namespace.is_empty() && !checks::is_dns1123_label(&meta.namespace) {
                    v.error_at(
                        "namespace",
                        &meta.namespace,
                        "namespace must be a DNS-1123 label",
                    );
                }
            }
            Scope::Cluster => {
                if !meta.namespace.is_empty() {
                    v.error_at(
                        "namespace",
                        &meta.namespace,
                        "namespace must not be set on a cluster-scoped resource",
                    );
                }
            }
        }
        v.field("labels", |v| checks::labels(v, &meta.labels));
        annotations(v, &meta.annotations);
    });
}

/// Annotation keys must be qualified names (checked lower-cased, as Kubernetes does) and the
/// whole map must fit in 256 KiB.
pub fn annotations(v: &mut Validator, annotations: &std::collections::BTreeMap<String, String>) {
    let mut total = 0usize;
    v.field("annotations", |v| {
        for (key, value) in annotations {
            total += key.len() + value.len();
            let problems = qualified_name_problems(&key.to_lowercase());
            if !problems.is_empty() {
                v.field_owned(key.clone(), |v| {
                    v.error(
                        key,
                        format!("invalid annotation key: {}", problems.join("; ")),
                    )
                });
            }
        }
        if total > ANNOTATIONS_SIZE_LIMIT {
            v.error_no_value(format!(
                "annotations are too long: {total} bytes, the limit is {ANNOTATIONS_SIZE_LIMIT}"
            ));
        }
    });
}
