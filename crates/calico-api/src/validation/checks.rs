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

/// `cidr` tag: any CIDR or bare IP, host bits allowed. `name` is the Go field name Calico
/// reports (`Nets[0]`).
pub fn cidr(v: &mut Validator, name: &str, value: &str) -> Option<IpNet> {
    let parsed = parse_cidr_or_ip(value);
    if parsed.is_none() {
        v.go_tag(name, value, "cidr");
    }
    parsed
}

/// `cidrv4` / `cidrv6` tags: a CIDR or IP of one family.
pub fn cidr_of_family(v: &mut Validator, name: &str, value: &str, family: Family) -> Option<IpNet> {
    match parse_cidr_or_ip(value) {
        Some(net) if Family::of_net(&net) == family => Some(net),
        _ => {
            v.go_tag(name, value, &format!("cidrv{}", family.number()));
            None
        }
    }
}

/// `net` tag: a strictly masked network, or a bare IP.
pub fn masked_net(v: &mut Validator, name: &str, value: &str) -> Option<IpNet> {
    match parse_cidr_or_ip(value) {
        Some(net) if is_strictly_masked(&net) => Some(net),
        _ => {
            v.go_tag(name, value, "net");
            None
        }
    }
}

/// `netv4` / `netv6` tags: a strictly masked network (or bare IP) of one family.
pub fn masked_net_of_family(
    v: &mut Validator,
    name: &str,
    value: &str,
    family: Family,
) -> Option<IpNet> {
    match parse_cidr_or_ip(value) {
        Some(net) if Family::of_net(&net) == family && is_strictly_masked(&net) => Some(net),
        _ => {
            v.go_tag(name, value, &format!("netv{}", family.number()));
            None
        }
    }
}

/// `ip` tag: a bare address of any family.
pub fn ip(v: &mut Validator, name: &str, value: &str) -> Option<IpAddr> {
    let parsed = value.parse::<IpAddr>().ok();
    if parsed.is_none() {
        v.go_tag(name, value, "ip");
    }
    parsed
}

/// `ipv4` / `ipv6` tags.
pub fn ip_of_family(v: &mut Validator, name: &str, value: &str, family: Family) -> Option<IpAddr> {
    match value.parse::<IpAddr>() {
        Ok(addr) if Family::of_addr(&addr) == family => Some(addr),
        _ => {
            v.go_tag(name, value, &format!("ipv{}", family.number()));
            None
        }
    }
}

/// `selector` tag: the selector must parse. Returns the parsed selector when it is valid.
pub fn selector(v: &mut Validator, name: &str, value: &str) -> Option<calico_selector::Selector> {
    match calico_selector::parse(value) {
        Ok(parsed) => Some(parsed),
        Err(_) => {
            v.go_tag(name, value, "selector");
            None
        }
    }
}

/// `name` tag: the DNS-1123 subdomain pattern (no length limit).
pub fn name_tag(v: &mut Validator, name: &str, value: &str) {
    if !matches_name_pattern(value) {
        v.go_tag(name, value, "name");
    }
}

/// Go's `%q` of a string, as the apiserver quotes values in its messages (hand-written to match
/// Go's `strconv.Quote` for the characters manifests carry).
pub fn go_quote(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `net.ParseCIDR` acceptance: an address, `/`, and a prefix length in range.
pub fn go_parse_cidr(value: &str) -> Option<IpNet> {
    if !value.contains('/') {
        return None;
    }
    value.parse::<IpNet>().ok()
}

/// Schema `format: cidr` at the current path.
pub fn schema_cidr(v: &mut Validator, value: &str) -> Option<IpNet> {
    let parsed = go_parse_cidr(value);
    if parsed.is_none() {
        let path = v.path();
        v.schema(format!(
            "{path} in body must be of type cidr: {}",
            go_quote(value)
        ));
    }
    parsed
}

/// Schema `pattern` at the current path.
pub fn schema_pattern(v: &mut Validator, value: &str, re: &Regex, pattern: &str) {
    if !re.is_match(value) {
        let path = v.path();
        v.schema(format!("{path} in body should match '{pattern}'"));
    }
}

/// Schema `minimum` / `maximum` at the current path.
pub fn schema_range(v: &mut Validator, value: i64, min: Option<i64>, max: Option<i64>) {
    let path = v.path();
    if let Some(min) = min.filter(|m| value < *m) {
        v.schema(format!(
            "{path} in body should be greater than or equal to {min}"
        ));
    }
    if let Some(max) = max.filter(|m| value > *m) {
        v.schema(format!(
            "{path} in body should be less than or equal to {max}"
        ));
    }
}

/// Schema `maxLength` at the current path.
pub fn schema_max_length(v: &mut Validator, value: &str, max: usize) {
    if value.chars().count() > max {
        let unit = if max == 1 { "byte" } else { "bytes" };
        v.schema(format!("may not be more than {max} {unit}"));
    }
}

/// Schema `maxItems` on the list `name` under the current path.
pub fn schema_max_items<T>(v: &mut Validator, name: &'static str, items: &[T], max: usize) {
    if items.len() > max {
        let unit = if max == 1 { "item" } else { "items" };
        v.field(name, |v| {
            v.schema(format!("must have at most {max} {unit}"))
        });
    }
}

/// Schema `enum` at the current path.
pub fn schema_enum(v: &mut Validator, value: &str, allowed: &[&str]) {
    if !allowed.contains(&value) {
        v.schema_enum(allowed);
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

/// Kubernetes' `RegexError` text (hand-written to match apimachinery's wording byte for byte).
pub fn regex_error(msg: &str, format: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{format}')");
    }
    let mut out = format!("{msg} (e.g. ");
    for (i, example) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push_str(&format!("'{example}', "));
    }
    out.push_str(&format!("regex used for validation is '{format}')"));
    out
}

const LABEL_KEY_FORMAT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_KEY_MESSAGE: &str = "must consist of alphanumeric characters, '-', '_' or '.', and \
must start and end with an alphanumeric character";

/// Problems with a Kubernetes qualified name / label key (`[prefix/]name`), in apimachinery's
/// words (`IsQualifiedName`); empty when valid.
pub fn qualified_name_problems(value: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                problems.push("prefix part must be non-empty".to_string());
            } else {
                if prefix.len() > 253 {
                    problems.push("prefix part must be no more than 253 characters".to_string());
                }
                if !DNS1123_SUBDOMAIN.is_match(prefix) {
                    problems.push(format!(
                        "prefix part {}",
                        regex_error(
                            "a lowercase RFC 1123 subdomain must consist of lower case \
                             alphanumeric characters, '-' or '.', and must start and end with an \
                             alphanumeric character",
                            r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
                            &["example.com"],
                        )
                    ));
                }
            }
            name
        }
        _ => {
            problems.push(format!(
                "a valid label key {} with an optional DNS subdomain prefix and '/' (e.g. \
                 'example.com/MyName')",
                regex_error(
                    LABEL_KEY_MESSAGE,
                    LABEL_KEY_FORMAT,
                    &["MyName", "my.name", "123-abc"]
                )
            ));
            return problems;
        }
    };
    if name.is_empty() {
        problems.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        problems.push("name part must be no more than 63 characters".to_string());
    }
    if !QUALIFIED_NAME_PART.is_match(name) {
        problems.push(format!(
            "name part {}",
            regex_error(
                LABEL_KEY_MESSAGE,
                LABEL_KEY_FORMAT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    problems
}

/// Problems with a Kubernetes label value, in apimachinery's words (`IsValidLabelValue`).
pub fn label_value_problems(value: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if value.len() > 63 {
        problems.push("must be no more than 63 characters".to_string());
    }
    if !value.is_empty() && !QUALIFIED_NAME_PART.is_match(value) {
        problems.push(regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', \
             '_' or '.', and must start and end with an alphanumeric character",
            "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?",
            &["MyValue", "my_value", "12345"],
        ));
    }
    problems
}

/// A valid label value: empty, or at most 63 characters of the qualified-name alphabet.
pub fn is_label_value(value: &str) -> bool {
    value.is_empty() || (value.len() <= 63 && QUALIFIED_NAME_PART.is_match(value))
}

/// `labels` tag (a label map that must hold valid keys and values); `name` is the Go field.
pub fn labels_tag(
    v: &mut Validator,
    name: &str,
    labels: &std::collections::BTreeMap<String, String>,
) {
    let bad = labels.iter().any(|(key, value)| {
        !qualified_name_problems(key).is_empty() || !label_value_problems(value).is_empty()
    });
    if bad {
        v.go_tag(name, super::gofmt::string_map(labels), "labels");
    }
}

/// `interface` tag: `*` or 1–15 characters of `[a-zA-Z0-9_.-]`.
pub fn interface_name(v: &mut Validator, name: &str, value: &str) {
    if value != "*" && !INTERFACE.is_match(value) {
        v.go_tag(name, value, "interface");
    }
}

/// Whether `value` passes the `interface` tag.
pub fn is_interface_name(value: &str) -> bool {
    value == "*" || INTERFACE.is_match(value)
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

/// `oneof` tag: `value` must be one of `allowed` (exact case).
pub fn one_of_tag(v: &mut Validator, name: &str, value: &str, allowed: &[&str]) {
    if !allowed.contains(&value) {
        v.go_tag(name, value, "oneof");
    }
}

/// A schema `enum` (exact case), reported in the apiserver's words.
pub fn one_of(v: &mut Validator, value: &str, allowed: &[&str]) {
    schema_enum(v, value, allowed);
}

/// A schema `pattern` of the form `^(?i)(A|B|…)?$`, reported in the apiserver's words.
pub fn one_of_ignore_case(v: &mut Validator, value: &str, allowed: &[&str]) {
    if !value.is_empty() && !allowed.iter().any(|a| a.eq_ignore_ascii_case(value)) {
        let path = v.path();
        v.schema(format!(
            "{path} in body should match '^(?i)({})?$'",
            allowed.join("|")
        ));
    }
}

/// A schema `pattern`; `pattern` is the schema's text.
pub fn matches_pattern(v: &mut Validator, value: &str, re: &Regex, pattern: &str) {
    schema_pattern(v, value, re, pattern);
}

/// A schema `minimum` and `maximum`.
pub fn in_range(v: &mut Validator, value: i64, min: i64, max: i64) {
    schema_range(v, value, Some(min), Some(max));
}

/// A schema `maxItems`.
pub fn max_items<T>(v: &mut Validator, name: &'static str, items: &[T], max: usize) {
    schema_max_items(v, name, items, max);
}

/// A schema `maxLength`.
pub fn max_length(v: &mut Validator, value: &str, max: usize) {
    schema_max_length(v, value, max);
}

/// `name` tag on a spec field, reported under its JSON path (for kinds not yet reporting Go
/// field names).
pub fn resource_name(v: &mut Validator, value: &str) {
    if !matches_name_pattern(value) {
        let name = v.go_name();
        v.go_tag(&name, value, "name");
    }
}

/// A label map under the `labels` tag, reported under the Go name of the current field.
pub fn labels(v: &mut Validator, labels: &std::collections::BTreeMap<String, String>) {
    let name = v.go_name();
    labels_tag(v, &name, labels);
}

/// `portName` tag: a non-empty Kubernetes port name (see [`is_port_name`]).
pub fn port_name(v: &mut Validator, name: &str, value: &str) {
    if !is_port_name(value) {
        v.go_tag(name, value, "portName");
    }
}

/// A protocol (Calico's struct validator for `numorstring.Protocol`): a number 1–255 or one
/// of [`PROTOCOL_NAMES`](crate::numorstring::PROTOCOL_NAMES), case-sensitive.
pub fn protocol(v: &mut Validator, value: &crate::numorstring::Protocol) {
    match value.number() {
        Some(0) => v.go("Protocol", value, "protocol number invalid"),
        Some(_) => {}
        None => {
            if !crate::numorstring::PROTOCOL_NAMES.contains(&value.to_string().as_str()) {
                v.go("Protocol", value, "protocol name invalid");
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
/// `mac` tag.
pub fn mac_address(v: &mut Validator, name: &str, value: &str) {
    if !is_mac_address(value) {
        v.go_tag(name, value, "mac");
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
            v.schema_at("type", "");
        }
        v.field("status", |v| {
            schema_enum(v, &condition.status, &["True", "False", "Unknown"])
        });
        let reason = &condition.reason;
        if reason.is_empty() {
            v.schema_at("reason", "");
        } else if !is_condition_reason(reason) {
            v.field("reason", |v| {
                let path = v.path();
                v.schema(format!(
                    "{path} in body should match '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$'"
                ))
            });
        }
        if condition.last_transition_time.is_none() {
            v.schema_at("lastTransitionTime", "");
        }
        if condition.observed_generation < 0 {
            v.field("observedGeneration", |v| {
                schema_range(v, condition.observed_generation, Some(0), None)
            });
        }
        v.field("message", |v| {
            schema_max_length(v, &condition.message, 32768)
        });
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
        assert_eq!(
            qualified_name_problems("bad key!"),
            vec![
                "name part must consist of alphanumeric characters, '-', '_' or '.', and must \
                  start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  \
                  or '123-abc', regex used for validation is \
                  '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
                    .to_string()
            ]
        );
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
