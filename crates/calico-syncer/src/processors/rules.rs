//! Policy rules as v1 model values (libcalico-go's `updateprocessors/rules.go` and
//! `selectors.go`): `model.Rule` fields in Go's order, selectors combined with namespace and
//! service account selectors the way Calico combines them.

use calico_api::kinds::rule::{EntityRule, Rule, ServiceAccountMatch};
use calico_api::Port;

use super::endpoints::v1_protocol;
use super::json::GoJson;

/// Label prefix for namespace labels in v1 selectors (`conversion.NamespaceLabelPrefix`).
pub(crate) const NAMESPACE_LABEL_PREFIX: &str = "pcns.";
/// Label prefix for service account labels (`conversion.ServiceAccountLabelPrefix`).
pub(crate) const SERVICE_ACCOUNT_LABEL_PREFIX: &str = "pcsa.";
/// The label carrying an endpoint's namespace (`apiv3.LabelNamespace`).
pub(crate) const LABEL_NAMESPACE: &str = "projectcalico.org/namespace";
/// The label carrying an endpoint's service account (`apiv3.LabelServiceAccount`).
const LABEL_SERVICE_ACCOUNT: &str = "projectcalico.org/serviceaccount";

fn is_label_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-')
}

/// Prefixes every label name in a selector's canonical form (Calico's `PrefixVisitor`).
///
/// In the canonical form values are always quoted and label names are the identifiers that
/// start a term (at the start, or after `(`, `!`, `&&` or `||`) and are not a function name
/// (followed by `(`, as `has(`, `all()` and `global()` are); the name inside `has(…)` starts a
/// term too.
fn prefix_canonical(canonical: &str, prefix: &str) -> String {
    let bytes = canonical.as_bytes();
    let mut out = String::with_capacity(canonical.len() + 16);
    let mut term_start = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'"' || b == b'\'' {
            let end = canonical[i + 1..]
                .find(b as char)
                .map_or(bytes.len(), |at| i + 1 + at + 1);
            out.push_str(&canonical[i..end]);
            i = end;
            term_start = false;
            continue;
        }
        if is_label_byte(b) {
            let mut end = i;
            while end < bytes.len() && is_label_byte(bytes[end]) {
                end += 1;
            }
            if term_start && bytes.get(end) != Some(&b'(') {
                out.push_str(prefix);
            }
            out.push_str(&canonical[i..end]);
            i = end;
            term_start = false;
            continue;
        }
        match b {
            b'(' | b'!' | b'&' | b'|' => term_start = true,
            b' ' => {}
            _ => term_start = false,
        }
        // Not a quote or label byte: a single ASCII byte, or part of a multi-byte character
        // (which only occurs inside quotes).
        let len = canonical[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&canonical[i..i + len]);
        i += len;
    }
    out
}

/// `parseSelectorAttachPrefix`: the selector parsed, its labels prefixed, printed canonically;
/// empty if it does not parse.
pub(crate) fn prefixed_selector(selector: &str, prefix: &str) -> String {
    match calico_selector::parse(selector) {
        Ok(parsed) => prefix_canonical(&parsed.canonical(), prefix),
        Err(_) => String::new(),
    }
}

/// `prefixAndAppendSelector`.
pub(crate) fn prefix_and_append(current: String, new: &str, prefix: &str) -> String {
    if new.is_empty() {
        return current;
    }
    let prefixed = prefixed_selector(new, prefix);
    if prefixed.is_empty() {
        current
    } else if current.is_empty() {
        prefixed
    } else {
        format!("({current}) && {prefixed}")
    }
}

/// `parseServiceAccounts`.
fn service_accounts_selector(sam: &ServiceAccountMatch) -> String {
    let updated = if sam.selector.is_empty() {
        String::new()
    } else {
        prefixed_selector(&sam.selector, SERVICE_ACCOUNT_LABEL_PREFIX)
    };
    if sam.names.is_empty() {
        return updated;
    }
    let names = sam.names.join("', '");
    let names = match calico_selector::parse(&format!("{LABEL_SERVICE_ACCOUNT} in {{ '{names}' }}"))
    {
        Ok(parsed) => parsed.canonical(),
        Err(_) => return String::new(),
    };
    if updated.is_empty() {
        names
    } else {
        format!("({updated}) && ({names})")
    }
}

/// `GetEntityRuleSelector` / `getEndpointSelector`: one selector for the endpoints an entity
/// rule matches, within namespace `ns` ("" for global policies and profiles).
fn entity_selector(er: &EntityRule, ns: &str) -> String {
    let sa_selector = er
        .service_accounts
        .as_ref()
        .map(service_accounts_selector)
        .unwrap_or_default();
    let ns_selector = if !er.namespace_selector.is_empty() {
        prefixed_selector(&er.namespace_selector, NAMESPACE_LABEL_PREFIX)
            .replace("all()", "has(projectcalico.org/namespace)")
            .replace("global()", "!has(projectcalico.org/namespace)")
    } else if !ns.is_empty() {
        format!("{LABEL_NAMESPACE} == '{ns}'")
    } else {
        String::new()
    };
    let selectors: Vec<&str> = [sa_selector.as_str(), er.selector.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    let selector = match selectors.as_slice() {
        [] => String::new(),
        [one] => (*one).to_string(),
        many => format!("({})", many.join(") && (")),
    };
    if !ns_selector.is_empty()
        && (!selector.is_empty()
            || !er.not_selector.is_empty()
            || !er.namespace_selector.is_empty())
    {
        if selector.is_empty() {
            ns_selector
        } else {
            format!("({ns_selector}) && ({selector})")
        }
    } else {
        selector
    }
}

/// `ConvertStringsToNets` / `NormalizeIPNets`: both mask the address; unparseable entries are
/// skipped. `None` when nothing is left (Go's nil slice, omitted).
fn nets(items: &[String]) -> Option<GoJson> {
    let nets = super::sets::nets(items);
    (!nets.is_empty()).then_some(GoJson::Array(nets))
}

fn ports(ports: &[Port]) -> Option<GoJson> {
    (!ports.is_empty()).then(|| {
        GoJson::Array(
            ports
                .iter()
                .map(|p| match p {
                    Port::Range { min, max } if min == max => GoJson::int(i64::from(*min)),
                    other => GoJson::str(other.to_string()),
                })
                .collect(),
        )
    })
}

fn text(value: &str) -> Option<GoJson> {
    (!value.is_empty()).then(|| GoJson::str(value))
}

fn strings(items: &[String]) -> Option<GoJson> {
    (!items.is_empty()).then(|| GoJson::strings(items))
}

fn int(value: Option<i64>) -> Option<GoJson> {
    value.map(GoJson::int)
}

/// `ruleActionAPIV3ToBackend`: `Pass` is `next-tier`, the rest lower-cased.
fn action(action: &str) -> String {
    if action == "Pass" {
        "next-tier".into()
    } else {
        action.to_lowercase()
    }
}

/// `RuleAPIV3ToBackend`: a `model.Rule`, fields in Go's order, empty ones omitted.
pub(crate) fn rule_v1(rule: &Rule, ns: &str) -> GoJson {
    let (src, dst) = (&rule.source, &rule.destination);
    let src_sa = src.service_accounts.clone().unwrap_or_default();
    let dst_sa = dst.service_accounts.clone().unwrap_or_default();
    let src_service = src.services.clone().unwrap_or_default();
    let dst_service = dst.services.clone().unwrap_or_default();
    let icmp = rule.icmp.clone().unwrap_or_default();
    let not_icmp = rule.not_icmp.clone().unwrap_or_default();
    let http = rule.http.as_ref().map(|http| {
        let paths: Vec<GoJson> = http
            .paths
            .iter()
            .map(|path| {
                let mut value = GoJson::object();
                for (name, v) in [("exact", &path.exact), ("prefix", &path.prefix)] {
                    if let Some(v) = text(v) {
                        value = value.field(name, v);
                    }
                }
                value
            })
            .collect();
        let mut value = GoJson::object();
        if let Some(methods) = strings(&http.methods) {
            value = value.field("methods", methods);
        }
        if !paths.is_empty() {
            value = value.field("paths", GoJson::Array(paths));
        }
        value
    });
    // A metadata block only carries its annotations.
    let metadata = rule
        .metadata
        .as_ref()
        .filter(|m| !m.annotations.is_empty())
        .map(|m| GoJson::object().field("annotations", GoJson::map(&m.annotations)));
    let fields: Vec<(&str, Option<GoJson>)> = vec![
        ("action", text(&action(&rule.action))),
        ("ip_version", int(rule.ip_version)),
        ("protocol", rule.protocol.as_ref().map(v1_protocol)),
        ("!protocol", rule.not_protocol.as_ref().map(v1_protocol)),
        ("icmp_type", int(icmp.icmp_type)),
        ("icmp_code", int(icmp.code)),
        ("!icmp_type", int(not_icmp.icmp_type)),
        ("!icmp_code", int(not_icmp.code)),
        ("src_nets", nets(&src.nets)),
        ("src_selector", text(&entity_selector(src, ns))),
        ("src_ports", ports(&src.ports)),
        ("src_service", text(&src_service.name)),
        ("src_service_ns", text(&src_service.namespace)),
        ("dst_selector", text(&entity_selector(dst, ns))),
        ("dst_nets", nets(&dst.nets)),
        ("dst_ports", ports(&dst.ports)),
        ("dst_service", text(&dst_service.name)),
        ("dst_service_ns", text(&dst_service.namespace)),
        ("!src_nets", nets(&src.not_nets)),
        ("!src_selector", text(&src.not_selector)),
        ("!src_ports", ports(&src.not_ports)),
        ("!dst_selector", text(&dst.not_selector)),
        ("!dst_nets", nets(&dst.not_nets)),
        ("!dst_ports", ports(&dst.not_ports)),
        ("orig_src_selector", text(&src.selector)),
        ("orig_src_namespace_selector", text(&src.namespace_selector)),
        ("orig_dst_selector", text(&dst.selector)),
        ("orig_dst_namespace_selector", text(&dst.namespace_selector)),
        ("!orig_src_selector", text(&src.not_selector)),
        ("!orig_dst_selector", text(&dst.not_selector)),
        ("orig_src_service_acct_names", strings(&src_sa.names)),
        ("orig_src_service_acct_selector", text(&src_sa.selector)),
        ("orig_dst_service_acct_names", strings(&dst_sa.names)),
        ("orig_dst_service_acct_selector", text(&dst_sa.selector)),
        ("http", http),
        ("metadata", metadata),
    ];
    fields
        .into_iter()
        .fold(GoJson::object(), |value, (name, field)| match field {
            Some(field) => value.field(name, field),
            None => value,
        })
}

/// `RulesAPIV3ToBackend`: `None` for no rules (a nil slice, omitted).
pub(crate) fn rules_v1(rules: &[Rule], ns: &str) -> Option<GoJson> {
    (!rules.is_empty()).then(|| GoJson::Array(rules.iter().map(|r| rule_v1(r, ns)).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn prefixes_label_names_only() {
        assert_eq!(
            prefixed_selector("team == 'a' && !has(x) || y in {'has', 'b'}", "pcns."),
            r#"((pcns.team == "a" && !has(pcns.x)) || pcns.y in {"b", "has"})"#
        );
        assert_eq!(
            prefixed_selector("all() && has(all)", "p."),
            "(all() && has(p.all))"
        );
        assert_eq!(
            prefixed_selector(r#"a contains '"x" && y' && b not in {"c"}"#, "p."),
            r#"(p.a contains '"x" && y' && p.b not in {"c"})"#
        );
        assert_eq!(prefixed_selector("a ==", "p."), "");
    }

    #[test]
    fn service_accounts() {
        let sam = ServiceAccountMatch {
            names: vec!["foo".into(), "bar".into()],
            selector: "x == 'y'".into(),
        };
        assert_eq!(
            service_accounts_selector(&sam),
            r#"(pcsa.x == "y") && (projectcalico.org/serviceaccount in {"bar", "foo"})"#
        );
    }

    proptest! {
        #[test]
        fn every_label_is_prefixed(
            names in proptest::collection::vec("[a-z][a-z0-9./_-]{0,8}", 1..5),
            values in proptest::collection::vec("[a-z() !&|'{},]{0,8}", 1..5),
        ) {
            let terms: Vec<String> = names
                .iter()
                .zip(values.iter().cycle())
                .enumerate()
                .map(|(i, (n, v))| match i % 4 {
                    0 => format!("{n} == \"{v}\""),
                    1 => format!("!has({n})"),
                    2 => format!("{n} not in {{\"{v}\"}}"),
                    _ => format!("({n} starts with \"{v}\" || all())"),
                })
                .collect();
            let source = terms.join(" && ");
            let Ok(parsed) = calico_selector::parse(&source) else {
                return Ok(());
            };
            let prefixed = prefixed_selector(&source, "pre.");
            let reparsed = calico_selector::parse(&prefixed);
            prop_assert!(reparsed.is_ok(), "{prefixed}");
            let reparsed = reparsed.unwrap_or_else(|_| calico_selector::Selector::all());
            let want: Vec<String> =
                parsed.label_names().iter().map(|l| format!("pre.{l}")).collect();
            let got: Vec<String> =
                reparsed.label_names().iter().map(|l| l.to_string()).collect();
            prop_assert_eq!(got, want);
        }
    }
}
