//! Resource name rules (`metadata.name`) for the different kinds.

use std::sync::LazyLock;

use regex::Regex;

use super::metadata::{annotations_and_labels, name_too_long, LABEL_FORMAT};
use super::Validator;
use crate::meta::ObjectMeta;

const LABEL: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";

static NETWORK_POLICY_NAME: LazyLock<Regex> = LazyLock::new(|| {
    let subdomain = format!(r"{LABEL}(\.{LABEL})*");
    Regex::new(&format!(
        r"^(({LABEL})(\.{LABEL})?|((knp|ossg)\.default\.({subdomain})))$"
    ))
    .unwrap_or_else(|_| unreachable!())
});

static GLOBAL_NETWORK_POLICY_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"^({LABEL}\.)?{LABEL}$")).unwrap_or_else(|_| unreachable!())
});

const MAX_NAME_LENGTH: usize = 253;
const MAX_LABEL_LENGTH: usize = 63;

fn label_format_error(v: &mut Validator, name: &str) {
    v.go(
        "Metadata.Name",
        name,
        format!(
            "name must consist of lower case alphanumeric characters or '-' (regex: {LABEL_FORMAT})"
        ),
    );
}

/// Tiers (Calico's Tier check, after the spec): a DNS-1123 label of at most 63 bytes; then the
/// annotations and labels again, as Calico repeats them.
pub fn validate_tier_name(meta: &ObjectMeta, v: &mut Validator) {
    if meta.name.len() > MAX_LABEL_LENGTH {
        name_too_long(v, &meta.name, MAX_LABEL_LENGTH);
    }
    if !is_dns1123_label_pattern(&meta.name) {
        label_format_error(v, &meta.name);
    }
    annotations_and_labels(v, meta);
}

/// NetworkPolicy and StagedNetworkPolicy: `label`, `label.label`, or `knp.default.<subdomain>`
/// / `ossg.default.<subdomain>`; then the annotations and labels again.
pub fn validate_network_policy_name(meta: &ObjectMeta, v: &mut Validator) {
    if meta.name.len() > MAX_NAME_LENGTH {
        name_too_long(v, &meta.name, MAX_NAME_LENGTH);
    }
    if !NETWORK_POLICY_NAME.is_match(&meta.name) {
        label_format_error(v, &meta.name);
    }
    annotations_and_labels(v, meta);
}

/// GlobalNetworkPolicy and StagedGlobalNetworkPolicy: `label` or `label.label`; then the
/// annotations and labels again.
pub fn validate_global_network_policy_name(meta: &ObjectMeta, v: &mut Validator) {
    if meta.name.len() > MAX_NAME_LENGTH {
        name_too_long(v, &meta.name, MAX_NAME_LENGTH);
    }
    if !GLOBAL_NETWORK_POLICY_NAME.is_match(&meta.name) {
        label_format_error(v, &meta.name);
    }
    annotations_and_labels(v, meta);
}

/// StagedKubernetesNetworkPolicy: only the length; then the annotations and labels again.
pub fn validate_name_length_only(meta: &ObjectMeta, v: &mut Validator) {
    if meta.name.len() > MAX_NAME_LENGTH {
        name_too_long(v, &meta.name, MAX_NAME_LENGTH);
    }
    annotations_and_labels(v, meta);
}

fn is_dns1123_label_pattern(name: &str) -> bool {
    DNS1123_LABEL_PATTERN.is_match(name)
}

static DNS1123_LABEL_PATTERN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!("^{LABEL}$")).unwrap_or_else(|_| unreachable!()));

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(f: fn(&ObjectMeta, &mut Validator), name: &str) -> bool {
        let mut v = Validator::new();
        f(&ObjectMeta::named(name), &mut v);
        !v.has_errors()
    }

    #[test]
    fn policy_names() {
        assert!(ok(validate_network_policy_name, "allow-web"));
        assert!(ok(validate_network_policy_name, "sec.allow-web"));
        assert!(!ok(validate_network_policy_name, "a.b.c"));
        assert!(ok(validate_network_policy_name, "knp.default.a.b.c"));
        assert!(ok(validate_network_policy_name, "ossg.default.x"));
        assert!(!ok(validate_network_policy_name, "Upper"));
        assert!(ok(validate_global_network_policy_name, "tier1.gnp"));
        assert!(!ok(validate_global_network_policy_name, "knp.default.x"));
        assert!(ok(validate_tier_name, "security"));
        assert!(!ok(validate_tier_name, "sec.urity"));
        assert!(!ok(validate_tier_name, &"a".repeat(64)));
        assert!(ok(validate_name_length_only, "Any_Name"));
        assert!(!ok(validate_name_length_only, &"a".repeat(254)));
    }

    #[test]
    fn tier_name_errors_in_calicos_words() {
        let mut v = Validator::new();
        validate_tier_name(&ObjectMeta::named("a.b"), &mut v);
        assert_eq!(
            v.finish().unwrap_err().to_string(),
            "error with field Metadata.Name = 'a.b' (name must consist of lower case alphanumeric \
             characters or '-' (regex: [a-z0-9]([-a-z0-9]*[a-z0-9])?))"
        );
    }
}
