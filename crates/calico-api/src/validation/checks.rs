//! Field checks shared by many kinds: networks and addresses, selectors, labels, interface and
//! port names, enumerations. Each records errors on a [`Validator`] at its current path.

use std::net::IpAddr;
use std::sync::LazyLock;

use ipnet::IpNet;
use regex::Regex;

use super::Validator;

/// Parses `a.b.c.d/n`, `v6/n`, or a bare address (taken as /32 or /128), like libcalico-go's
/// `ParseCIDROrIP`. The returned network keeps the host bits as written.
pub fn parse_cidr_or_ip(text: &str) -> Option<IpNet> {
    if text.contains('/') {
        text.parse::<IpNet>().ok()
    } else {
        text.parse::<IpAddr>().ok().map(IpNet::from)
    }
}

/// Whether `net` has no host bits set.
pub fn is_strictly_masked(net: &IpNet) -> bool {
    net.addr() == net.network()
}

/// An IP address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of_net(net: &IpNet) -> Family {
        match net {
            IpNet::V4(_) => Family::V4,
            IpNet::V6(_) => Family::V6,
        }
    }

    pub fn of_addr(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// 4 or 6.
    pub fn number(self) -> u8 {
        match self {
            Family::V4 => 4,
            Family::V6 => 6,
        }
    }
}

/// `cidr` tag: any CIDR or bare IP, host bits allowed.
pub fn cidr(v: &mut Validator, value: &str) -> Option<IpNet> {
    let parsed = parse_cidr_or_ip(value);
    if parsed.is_none() {
        v.error(value, "invalid CIDR or IP address");
    }
    parsed
}

/// `cidr` tag restricted to one family (`cidrv4` / `cidrv6`).
pub fn cidr_of_family(v: &mut Validator, value: &str, family: Family) -> Option<IpNet> {
    match parse_cidr_or_ip(value) {
        Some(net) if Family::of_net(&net) == family => Some(net),
        _ => {
            v.error(value, format!("invalid IPv{} CIDR", family.number()));
            None
        }
    }
}

/// `net` tag: a strictly masked network, or a bare IP.
pub fn masked_net(v: &mut Validator, value: &str) -> Option<IpNet> {
    match parse_cidr_or_ip(value) {
        Some(net) if is_strictly_masked(&net) => Some(net),
        Some(_) => {
            v.error(value, "network is not strictly masked");
            None
        }
        None => {
            v.error(value, "invalid CIDR or IP address");
            None
        }
    }
}

/// `netv4` / `netv6` tags: a strictly masked network (or bare IP) of one family.
pub fn masked_net_of_family(v: &mut Validator, value: &str, family: Family) -> Option<IpNet> {
    match parse_cidr_or_ip(value) {
        Some(net) if Family::of_net(&net) == family && is_strictly_masked(&net) => Some(net),
        Some(net) if Family::of_net(&net) == family => {
            v.error(value, "network is not strictly masked");
            None
        }
        _ => {
            v.error(value, format!("invalid IPv{} network", family.number()));
            None
        }
    }
}

/// `ip` tag: a bare address of any family.
pub fn ip(v: &mut Validator, value: &str) -> Option<IpAddr> {
    let parsed = value.parse::<IpAddr>().ok();
    if parsed.is_none() {
        v.error(value, "invalid IP address");
    }
    parsed
}

/// `ipv4` / `ipv6` tags.
pub fn ip_of_family(v: &mut Validator, value: &str, family: Family) -> Option<IpAddr> {
    match value.parse::<IpAddr>() {
        Ok(addr) if Family::of_addr(&addr) == family => Some(addr),
        _ => {
            v.error(value, format!("invalid IPv{} address", family.number()));
            None
        }
    }
}

/// A selector field: must parse; `global()` is refused unless the caller allows it.
/// Returns the parsed selector when it is valid.
pub fn selector(v: &mut Validator, value: &str) -> Option<calico_selector::Selector> {
    match calico_selector::parse(value) {
        Ok(parsed) => Some(parsed),
        Err(err) => {
            v.error(value, format!("invalid selector: {err}"));
            None
        }
    }
}

/// A selector that may not use `global()` (everything except an EntityRule's
/// `namespaceSelector`).
pub fn selector_without_global(v: &mut Validator, value: &str) {
    if let Some(parsed) = selector(v, value) {
        if parsed.contains_global() {
            v.error(
                value,
                "global() can only be used in an EntityRule namespaceSelector",
            );
        }
    }
}

static QUALIFIED_NAME_PART: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$").unwrap_or_else(|_| unreachable!())
});
static DNS1123_SUBDOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
        .unwrap_or_else(|_| unreachable!())
});
static DNS1123_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").unwrap_or_else(|_| unreachable!())
});
static INTERFACE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_.-]{1,15}$").unwrap_or_else(|_| unreachable!()));

/// A DNS-1123 subdomain (lower-case alphanumerics, `-` and `.`), at most 253 characters.
pub fn is_dns1123_subdomain(value: &str) -> bool {
    value.len() <= 253 && DNS1123_SUBDOMAIN.is_match(value)
}

/// Go's `name` validator tag: the DNS-1123 subdomain pattern, with no length limit.
pub fn matches_name_pattern(value: &str) -> bool {
    DNS1123_SUBDOMAIN.is_match(value)
}

/// A DNS-1123 label (no dots), at most 63 characters.
pub fn is_dns1123_label(value: &str) -> bool {
    value.len() <= 63 && DNS1123_LABEL.is_match(value)
}

/// Problems with a Kubernetes qualified name (`[prefix/]name`), empty when valid.
pub fn qualified_name_problems(value: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let (prefix, name) = match value.split_once('/') {
        None => (None, value),
        Some((prefix, name)) => {
            if name.contains('/') {
                problems.push(
                    "a qualified name must consist of alphanumeric characters, '-', '_' or '.', \
                     and must start and end with an alphanumeric character, with an optional \
                     DNS subdomain prefix and '/'"
                        .to_string(),
                );
                return problems;
            }
            (Some(prefix), name)
        }
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            problems.push("prefix part must be non-empty".to_string());
        } else if !is_dns1123_subdomain(prefix) {
            problems.push(format!(
                "prefix part {prefix:?} must be a lowercase RFC 1123 subdomain"
            ));
        }
    }
    if name.is_empty() {
        problems.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        problems.push("name part must be no more than 63 characters".to_string());
    } else if !QUALIFIED_NAME_PART.is_match(name) {
        problems.push(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start \
             and end with an alphanumeric character"
                .to_string(),
        );
    }
    problems
}

/// A valid label value: empty, or at most 63 characters of the qualified-name alphabet.
pub fn is_label_value(value: &str) -> bool {
    value.is_empty() || (value.len() <= 63 && QUALIFIED_NAME_PART.is_match(value))
}

/// Checks a label map (keys qualified names, values label values), reporting each bad entry
/// at `<path>.<key>`.
pub fn labels(v: &mut Validator, labels: &std::collections::BTreeMap<String, String>) {
    for (key, value) in labels {
        let problems = qualified_name_problems(key);
        if !problems.is_empty() {
            v.field_owned(key.clone(), |v| {
                v.error(key, format!("invalid label key: {}", problems.join("; ")))
            });
        } else if !is_label_value(value) {
            v.field_owned(key.clone(), |v| {
                v.error(
                    value,
                    "invalid label value: must be no more than 63 characters, consist of \
                     alphanumeric characters, '-', '_' or '.', and start and end with an \
                     alphanumeric character",
                )
            });
        }
    }
}

/// `interface` tag: `*` or 1–15 characters of `[a-zA-Z0-9_.-]`.
pub fn interface_name(v: &mut Validator, value: &str) {
    if value != "*" && !INTERFACE.is_match(value) {
        v.error(value, "invalid interface name");
    }
}

/// Kubernetes port-name rules (IANA service names): at most 15 characters, lower-case
/// alphanumerics and `-`, at least one letter, no leading/trailing or double `-`.
pub fn is_port_name(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 15
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && value.bytes().any(|b| b.is_ascii_lowercase())
        && !value.starts_with('-')
        && !value.ends_with('-')
        && !value.contains("--")
}

/// A string enumeration: `value` must be one of `allowed` (exact case). Empty is accepted
/// when the field is optional (`omitempty` in Go), which the caller decides by not calling.
pub fn one_of(v: &mut Validator, value: &str, allowed: &[&str]) {
    if !allowed.contains(&value) {
        v.error(value, format!("must be one of {}", quoted_list(allowed)));
    }
}

/// Like [`one_of`] but case-insensitive, for CRD patterns written with `(?i)`.
pub fn one_of_ignore_case(v: &mut Validator, value: &str, allowed: &[&str]) {
    if !allowed.iter().any(|a| a.eq_ignore_ascii_case(value)) {
        v.error(
            value,
            format!("must be one of {} (any case)", quoted_list(allowed)),
        );
    }
}

fn quoted_list(allowed: &[&str]) -> String {
    allowed
        .iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A CRD `pattern`: `value` must match `re`; `pattern` is the schema's text, quoted in the error.
pub fn matches_pattern(v: &mut Validator, value: &str, re: &Regex, pattern: &str) {
    if !re.is_match(value) {
        v.error(value, format!("must match the pattern '{pattern}'"));
    }
}

/// An integer range check.
pub fn in_range(v: &mut Validator, value: i64, min: i64, max: i64) {
    if value < min || value > max {
        v.error(value, format!("must be between {min} and {max}"));
    }
}

/// A maximum list length (CRD `maxItems`).
pub fn max_items<T>(v: &mut Validator, name: &'static str, items: &[T], max: usize) {
    if items.len() > max {
        v.field(name, |v| {
            v.error_no_value(format!(
                "must have at most {max} items, has {}",
                items.len()
            ))
        });
    }
}

/// A maximum string length (CRD `maxLength`).
pub fn max_length(v: &mut Validator, value: &str, max: usize) {
    if value.chars().count() > max {
        v.error(value, format!("must be no more than {max} characters"));
    }
}

/// `name` tag on a spec field (a node, profile or pod name): the DNS-1123 subdomain pattern,
/// with no length limit (Calico's tag checks only the pattern).
pub fn resource_name(v: &mut Validator, value: &str) {
    if !DNS1123_SUBDOMAIN.is_match(value) {
        v.error(
            value,
            "name must consist of lower case alphanumeric characters, '-' or '.', and must \
             start and end with an alphanumeric character",
        );
    }
}

/// `portName` tag: a non-empty Kubernetes port name (see [`is_port_name`]).
pub fn port_name(v: &mut Validator, value: &str) {
    if !is_port_name(value) {
        v.error(
            value,
            "port name must be 1-15 lower case alphanumeric characters or '-', contain a \
             letter, and not begin or end with '-' or contain '--'",
        );
    }
}

/// A protocol (Calico's struct validator for `numorstring.Protocol`): a number 1–255 or one
/// of [`PROTOCOL_NAMES`](crate::numorstring::PROTOCOL_NAMES), case-sensitive.
pub fn protocol(v: &mut Validator, value: &crate::numorstring::Protocol) {
    match value.number() {
        Some(0) => v.error(value, "protocol number invalid"),
        Some(_) => {}
        None => {
            if !crate::numorstring::PROTOCOL_NAMES.contains(&value.to_string().as_str()) {
                v.error(value, "protocol name invalid");
            }
        }
    }
}

/// Whether `value` is a MAC address as Go's `net.ParseMAC` reads it: 6, 8 or 20 octets written
/// as two-digit hex groups separated by `:` or `-`, or four-digit groups separated by `.`.
pub fn is_mac_address(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.len() < 14 {
        return false;
    }
    let (group, separator) = match (bytes[2], bytes[4]) {
        (b':' | b'-', _) => (2, bytes[2]),
        (_, b'.') => (4, b'.'),
        _ => return false,
    };
    if !(bytes.len() + 1).is_multiple_of(group + 1) {
        return false;
    }
    let octets = (bytes.len() + 1) / (group + 1) * group / 2;
    if !matches!(octets, 6 | 8 | 20) {
        return false;
    }
    bytes.chunks(group + 1).all(|chunk| {
        let (digits, rest) = chunk.split_at(group);
        digits.iter().all(u8::is_ascii_hexdigit) && (rest.is_empty() || rest[0] == separator)
    })
}

/// `mac` tag.
pub fn mac_address(v: &mut Validator, value: &str) {
    if !is_mac_address(value) {
        v.error(value, "invalid MAC address");
    }
}

/// Kubernetes `metav1.Condition` lists (CRD schema): `type`, `reason` and
/// `lastTransitionTime` required, `status` one of `True`/`False`/`Unknown`,
/// `observedGeneration` not negative, `message` at most 32768 characters.
/// The CRD pattern for a condition `reason`: `^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$`,
/// at most 1024 characters.
fn is_condition_reason(reason: &str) -> bool {
    reason.len() <= 1024
        && reason.starts_with(|c: char| c.is_ascii_alphabetic())
        && reason
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ',' | ':'))
        && !reason.ends_with([',', ':'])
}

pub fn conditions(v: &mut Validator, conditions: &[crate::meta::Condition]) {
    v.each("conditions", conditions, |v, condition| {
        if condition.condition_type.is_empty() {
            v.error_at("type", "", "Required value");
        }
        v.field("status", |v| {
            one_of(v, &condition.status, &["True", "False", "Unknown"])
        });
        let reason = &condition.reason;
        if reason.is_empty() {
            v.error_at("reason", "", "Required value");
        } else if !is_condition_reason(reason) {
            v.error_at(
                "reason",
                reason,
                "reason must start with a letter and consist of letters, digits, '_', ',' or ':'",
            );
        }
        if condition.last_transition_time.is_none() {
            v.field("lastTransitionTime", |v| v.error_no_value("Required value"));
        }
        if condition.observed_generation < 0 {
            v.error_at(
                "observedGeneration",
                condition.observed_generation,
                "must be greater than or equal to 0",
            );
        }
        v.field("message", |v| max_length(v, &condition.message, 32768));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parsing_matches_calico() {
        assert_eq!(
            parse_cidr_or_ip("10.0.0.1").map(|n| n.to_string()),
            Some("10.0.0.1/32".into())
        );
        assert_eq!(
            parse_cidr_or_ip("fd00::1").map(|n| n.to_string()),
            Some("fd00::1/128".into())
        );
        assert!(parse_cidr_or_ip("10.0.1.0/33").is_none());
        assert!(parse_cidr_or_ip("nonsense").is_none());
        let unmasked = parse_cidr_or_ip("10.0.0.1/8");
        assert!(unmasked.is_some_and(|n| !is_strictly_masked(&n)));
    }

    #[test]
    fn qualified_names() {
        assert!(qualified_name_problems("app").is_empty());
        assert!(qualified_name_problems("projectcalico.org/tier").is_empty());
        assert!(!qualified_name_problems("/app").is_empty());
        assert!(!qualified_name_problems("-app").is_empty());
        assert!(!qualified_name_problems("a/b/c").is_empty());
        assert!(!qualified_name_problems(&"x".repeat(64)).is_empty());
        assert!(is_label_value(""));
        assert!(!is_label_value("bad value"));
    }

    #[test]
    fn port_names() {
        assert!(is_port_name("http"));
        assert!(is_port_name("http-alt"));
        assert!(!is_port_name("80"));
        assert!(!is_port_name("a--b"));
        assert!(!is_port_name("-a"));
        assert!(!is_port_name("Http"));
        assert!(!is_port_name("abcdefghijklmnop"));
    }

    #[test]
    fn mac_addresses_like_go() {
        for good in [
            "00:00:5e:00:53:01",
            "02-00-5E-10-00-00",
            "0000.5e00.5301",
            "00:00:00:00:fe:80:00:00",
            "00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01",
        ] {
            assert!(is_mac_address(good), "{good}");
        }
        for bad in [
            "",
            "00:00:5e:00:53",
            "00:00:5e:00:53:0g",
            "00:00-5e:00:53:01",
            "00:00:5e:00:53:01:",
            "0000.5e00.53010",
            "00:00:5e:00:53:01:02",
        ] {
            assert!(!is_mac_address(bad), "{bad}");
        }
    }

    #[test]
    fn protocols_like_calico() {
        use crate::numorstring::Protocol;
        let check = |p: Protocol| {
            let mut v = Validator::new();
            protocol(&mut v, &p);
            v.errors().first().map(|e| e.reason.clone())
        };
        assert_eq!(check(Protocol::Num(6)), None);
        assert_eq!(check(Protocol::Str("UDPLite".into())), None);
        assert_eq!(
            check(Protocol::Num(0)).as_deref(),
            Some("protocol number invalid")
        );
        assert_eq!(
            check(Protocol::Str("tcp".into())).as_deref(),
            Some("protocol name invalid")
        );
    }
}
