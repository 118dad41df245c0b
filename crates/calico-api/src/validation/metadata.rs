//! Checks on `metadata` common to every kind: Calico's `ObjectMeta` struct check.

use crate::meta::ObjectMeta;
use crate::resource::Kind;

use super::checks::{label_value_problems, matches_name_pattern, qualified_name_problems};
use super::Validator;

/// Total size limit of all annotation keys and values (Kubernetes' limit).
pub const ANNOTATIONS_SIZE_LIMIT: usize = 256 * 1024;

/// Longest name of the DNS-1123 subdomain format.
pub const SUBDOMAIN_MAX_LENGTH: usize = 253;

/// The regex Calico quotes for subdomain names.
pub const SUBDOMAIN_FORMAT: &str =
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";

/// The regex Calico quotes for label-format names (tiers, policies).
pub const LABEL_FORMAT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";

/// Calico's `ObjectMeta` check, which every kind passes through first: the name as a DNS-1123
/// subdomain (too long, then the pattern), then annotations, then labels. The namespace is not
/// checked (Calico's validator accepts any; the kind's scope is checked by calicoctl).
pub fn validate_metadata<K: Kind>(meta: &ObjectMeta, v: &mut Validator) {
    if meta.name.len() > SUBDOMAIN_MAX_LENGTH {
        name_too_long(v, &meta.name, SUBDOMAIN_MAX_LENGTH);
    }
    if !matches_name_pattern(&meta.name) {
        v.go(
            "Metadata.Name",
            &meta.name,
            format!(
                "name must consist of lower case alphanumeric characters, '-' or '.' (regex: \
                 {SUBDOMAIN_FORMAT})"
            ),
        );
    }
    annotations_and_labels(v, meta);
}

/// `name is too long by N bytes` on `Metadata.Name`.
pub fn name_too_long(v: &mut Validator, name: &str, max: usize) {
    v.go(
        "Metadata.Name",
        name,
        format!("name is too long by {} bytes", name.len() - max),
    );
}

/// Annotations, then labels, as Calico's metadata checks report them (kinds with their own name
/// rules repeat these after their spec, as Calico does).
pub fn annotations_and_labels(v: &mut Validator, meta: &ObjectMeta) {
    annotations(v, &meta.annotations);
    labels(v, &meta.labels);
}

/// Annotation keys must be qualified names (checked lower-cased, as Kubernetes does) and the
/// whole map must fit in 256 KiB.
pub fn annotations(v: &mut Validator, annotations: &std::collections::BTreeMap<String, String>) {
    let mut total = 0usize;
    for (key, value) in annotations {
        for problem in qualified_name_problems(&key.to_lowercase()) {
            v.go("Metadata.Annotations (key)", key, problem);
        }
        total += key.len() + value.len();
    }
    if total > ANNOTATIONS_SIZE_LIMIT {
        v.go(
            "Metadata.Annotations (key)",
            crate::validation::gofmt::string_map(annotations),
            format!(
                "total size of annotations is too large by {} bytes",
                total - ANNOTATIONS_SIZE_LIMIT
            ),
        );
    }
}

/// Label keys must be qualified names and values label values; every problem is reported.
pub fn labels(v: &mut Validator, labels: &std::collections::BTreeMap<String, String>) {
    for (key, value) in labels {
        for problem in qualified_name_problems(key) {
            v.go("Metadata.Labels (label)", key, problem);
        }
        for problem in label_value_problems(value) {
            v.go("Metadata.Labels (value)", value, problem);
        }
    }
}
