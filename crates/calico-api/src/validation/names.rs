//! Resource name rules (`metadata.name`) for the different kinds.

use std::sync::LazyLock;

use regex::Regex;

use super::checks::{is_dns1123_label, is_dns1123_subdomain};
use super::Validator;

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

fn too_long(v: &mut Validator, name: &str, max: usize) -> bool {
    if name.len() > max {
        v.error(
            name,
            format!("name is too long by {} bytes", name.len() - max),
        );
        true
    } else {
        false
    }
}

fn missing(v: &mut Validator, name: &str) -> bool {
    if name.is_empty() {
        v.error(name, "name must be specified");
        true
    } else {
        false
    }
}

/// The generic rule: a DNS-1123 subdomain of at most 253 characters.
pub fn validate_subdomain_name(name: &str, v: &mut Validator) {
    if missing(v, name) || too_long(v, name, MAX_NAME_LENGTH) {
        return;
    }
    if !is_dns1123_subdomain(name) {
        v.error(
            name,
            "name must consist of lower case alphanumeric characters, '-' or '.', and must \
             start and end with an alphanumeric character",
        );
    }
}

/// Tiers: a single DNS-1123 label (no dots), at most 63 characters.
pub fn validate_tier_name(name: &str, v: &mut Validator) {
    if missing(v, name) || too_long(v, name, 63) {
        return;
    }
    if !is_dns1123_label(name) {
        v.error(
            name,
            "tier name must consist of lower case alphanumeric characters or '-', and must \
             start and end with an alphanumeric character",
        );
    }
}

/// NetworkPolicy and StagedNetworkPolicy: `label`, `label.label`, or `knp.default.<subdomain>`
/// / `ossg.default.<subdomain>`.
pub fn validate_network_policy_name(name: &str, v: &mut Validator) {
    if missing(v, name) || too_long(v, name, MAX_NAME_LENGTH) {
        return;
    }
    if !NETWORK_POLICY_NAME.is_match(name) {
        v.error(
            name,
            "name must be a DNS-1123 label, optionally followed by one '.' and another label",
        );
    }
}

/// GlobalNetworkPolicy and StagedGlobalNetworkPolicy: `label` or `label.label`.
pub fn validate_global_network_policy_name(name: &str, v: &mut Validator) {
    if missing(v, name) || too_long(v, name, MAX_NAME_LENGTH) {
        return;
    }
    if !GLOBAL_NETWORK_POLICY_NAME.is_match(name) {
        v.error(
            name,
            "name must be a DNS-1123 label, optionally followed by one '.' and another label",
        );
    }
}

/// Singleton kinds (ClusterInformation, KubeControllersConfiguration, IPAMConfiguration): the
/// name must be `default`; `reason` is the Calico client's message for that kind.
pub fn validate_default_name(name: &str, v: &mut Validator, reason: &str) {
    if name != "default" {
        v.error(name, reason);
    }
}

/// Only the length is checked (StagedKubernetesNetworkPolicy).
pub fn validate_name_length_only(name: &str, v: &mut Validator) {
    if !missing(v, name) {
        too_long(v, name, MAX_NAME_LENGTH);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(f: fn(&str, &mut Validator), name: &str) -> bool {
        let mut v = Validator::new();
        f(name, &mut v);
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
        assert!(ok(validate_subdomain_name, "a.b-c.d"));
        assert!(!ok(validate_subdomain_name, ""));
        assert!(!ok(validate_subdomain_name, &"a".repeat(254)));
    }
}
