use super::*;
use crate::kinds::test_support::{field_reasons, pair};
use crate::numorstring::Uint8OrString;
use serde_json::json;

fn rule(value: serde_json::Value) -> Rule {
    serde_json::from_value(value).expect("rule decodes")
}

/// Validates one rule as `ingress[0]` and returns (path, reason) pairs.
fn problems(value: serde_json::Value) -> Vec<(String, String)> {
    let r = rule(value);
    let mut v = Validator::new();
    validate_rules(&mut v, "ingress", std::slice::from_ref(&r));
    field_reasons(v.finish())
}

fn one(path: &str, reason: &str) -> Vec<(String, String)> {
    vec![pair(path, reason)]
}

#[test]
fn every_field_reads_and_writes_in_go_order() -> Result<(), Box<dyn std::error::Error>> {
    let text = r#"{"action":"Allow","ipVersion":4,"protocol":"TCP","icmp":{"type":8,"code":0},"notProtocol":17,"notICMP":{"type":3},"source":{"nets":["10.0.0.0/8"],"selector":"role == 'lb'","namespaceSelector":"team == 'a'","ports":[80,"8000:8080","http-alt"],"notNets":["10.1.0.0/16"],"notSelector":"has(legacy)","notPorts":[22],"serviceAccounts":{"names":["api","web"],"selector":"app == 'x'"}},"destination":{"services":{"name":"db","namespace":"prod"}},"http":{"methods":["GET","PUT"],"paths":[{"exact":"/a"},{"prefix":"/b/"}]},"metadata":{"annotations":{"owner":"team-a"}}}"#;
    let decoded: Rule = serde_json::from_str(text)?;
    assert_eq!(decoded.protocol, Some(Uint8OrString::Str("TCP".into())));
    assert_eq!(decoded.not_protocol, Some(Uint8OrString::Num(17)));
    assert_eq!(
        decoded.source.ports,
        vec![
            Port::single(80),
            Port::Range {
                min: 8000,
                max: 8080
            },
            Port::Named("http-alt".into())
        ]
    );
    assert_eq!(serde_json::to_string(&decoded)?, text);
    Ok(())
}

#[test]
fn empty_entity_rules_are_omitted_and_action_always_written(
) -> Result<(), Box<dyn std::error::Error>> {
    let r = rule(json!({"source": {}, "destination": {"nets": []}}));
    assert_eq!(serde_json::to_string(&r)?, r#"{"action":""}"#);
    let r = rule(json!({"action": "Deny", "protocol": "6"}));
    assert_eq!(
        serde_json::to_string(&r)?,
        r#"{"action":"Deny","protocol":6}"#
    );
    Ok(())
}

#[test]
fn unknown_fields_are_rejected() {
    let err = serde_json::from_value::<Rule>(json!({"action": "Allow", "icmp": {"typ": 1}}));
    assert!(err.unwrap_err().to_string().contains("unknown field `typ`"));
}

#[test]
fn a_full_valid_rule_passes() {
    let got = problems(json!({
        "action": "Allow", "ipVersion": 4, "protocol": "TCP", "notProtocol": "UDP",
        "source": {
            "nets": ["10.0.0.0/8", "192.168.1.7/32"], "selector": "role == 'lb'",
            "namespaceSelector": "global()", "ports": [80, "8000:8080", "http"],
            "notNets": ["10.9.0.0/16"], "notSelector": "has(x)", "notPorts": [22],
            "serviceAccounts": {"names": ["api"], "selector": "app == 'x'"}
        },
        "http": {"methods": ["GET"], "paths": [{"exact": "/a"}, {"prefix": "/b"}]},
        "metadata": {"annotations": {"example.com/owner": "a"}}
    }));
    assert_eq!(got, vec![]);
    let icmp = problems(json!({
        "action": "Deny", "protocol": 58, "ipVersion": 6,
        "icmp": {"type": 128, "code": 0}, "notICMP": {"type": 1},
        "destination": {"nets": ["fd00::/64"], "notNets": ["fd00::1/128"]}
    }));
    assert_eq!(icmp, vec![]);
}

#[test]
fn action_ip_version_and_protocols() {
    assert_eq!(
        problems(json!({})),
        one(
            "ingress[0].action",
            "must be one of 'Allow', 'Deny', 'Log', 'Pass'"
        )
    );
    assert_eq!(
        problems(json!({"action": "allow"})),
        one(
            "ingress[0].action",
            "must be one of 'Allow', 'Deny', 'Log', 'Pass'"
        )
    );
    assert_eq!(
        problems(json!({"action": "Allow", "ipVersion": 5})),
        one("ingress[0].ipVersion", "must be one of 4, 6")
    );
    assert_eq!(
        problems(json!({"action": "Allow", "protocol": "tcp"})),
        one("ingress[0].protocol", "protocol name invalid")
    );
    assert_eq!(
        problems(json!({"action": "Allow", "notProtocol": 0})),
        one("ingress[0].notProtocol", "protocol number invalid")
    );
}

#[test]
fn icmp_fields() {
    assert_eq!(
        problems(
            json!({"action": "Allow", "protocol": "ICMP", "icmp": {"type": 255, "code": 256}})
        ),
        vec![
            (
                "ingress[0].icmp.type".to_string(),
                "must be between 0 and 254".to_string()
            ),
            (
                "ingress[0].icmp.code".to_string(),
                "must be between 0 and 255".to_string()
            ),
        ]
    );
    assert_eq!(
        problems(json!({"action": "Allow", "protocol": "ICMP", "notICMP": {"code": 1}})),
        one(
            "ingress[0].notICMP",
            "ICMP code specified without an ICMP type"
        )
    );
    assert_eq!(
        problems(json!({"action": "Allow", "protocol": "TCP", "icmp": {"type": 8}})),
        one(
            "ingress[0]",
            "ICMP fields require protocol to be ICMP or ICMPv6"
        )
    );
    assert_eq!(
        problems(json!({"action": "Allow", "icmp": {"type": 8}})),
        one(
            "ingress[0]",
            "ICMP fields require protocol to be ICMP or ICMPv6"
        )
    );
    assert_eq!(
        problems(json!({"action": "Allow", "protocol": 1, "ipVersion": 6})),
        one("ingress[0]", "protocol ICMP requires ipVersion 4")
    );
    assert_eq!(
        problems(json!({"action": "Allow", "notProtocol": "ICMPv6", "ipVersion": 4})),
        one("ingress[0]", "protocol ICMPv6 requires ipVersion 6")
    );
}

#[test]
fn http_rules() {
    assert_eq!(
        problems(json!({"action": "Allow", "protocol": "UDP", "http": {}})),
        one(
            "ingress[0]",
            "rules with HTTP match must have protocol TCP or unset"
        )
    );
    assert_eq!(
        problems(json!({"action": "Allow", "protocol": 6, "http": {}})),
        vec![]
    );
    assert_eq!(
        problems(json!({"action": "Deny", "http": {"methods": ["GET"]}})),
        one("ingress[0]", "HTTP match is only valid on Allow rules")
    );
    assert_eq!(
        problems(json!({"action": "Allow", "http": {
            "methods": ["GET", "PUT", "GET"],
            "paths": [{"exact": "/a", "prefix": "/b"}, {}, {"prefix": "/a?b"}, {"exact": "x"}]
        }})),
        vec![
            (
                "ingress[0].http.methods".to_string(),
                "Invalid methods (duplicates): [GET PUT GET]".to_string()
            ),
            (
                "ingress[0].http.paths[0]".to_string(),
                "Invalid path match. Both 'exact' and 'prefix' are set".to_string()
            ),
            (
                "ingress[0].http.paths[1]".to_string(),
                "Invalid path match. Either 'exact' or 'prefix' must be set".to_string()
            ),
            (
                "ingress[0].http.paths[2]".to_string(),
                "Invalid path /a?b. (must start with `/` and not contain `?` or `#`".to_string()
            ),
            (
                "ingress[0].http.paths[3]".to_string(),
                "Invalid path x. (must start with `/` and not contain `?` or `#`".to_string()
            ),
        ]
    );
}

#[test]
fn ports_need_a_protocol_that_has_ports() {
    assert_eq!(
        problems(json!({"action": "Allow", "destination": {"ports": ["http", 80]}})),
        one(
            "ingress[0].destination.ports",
            "rules with numeric port or port range must set protocol to TCP or UDP or SCTP"
        )
    );
    assert_eq!(
        problems(json!({"action": "Allow", "source": {"notPorts": ["http", "metrics"]}})),
        vec![]
    );
    assert_eq!(
        problems(json!({"action": "Allow", "protocol": "ICMP", "source": {"notPorts": ["http"]}})),
        one(
            "ingress[0].source.notPorts",
            "rules that specify ports must set protocol to TCP or UDP or SCTP"
        )
    );
    assert_eq!(
        problems(json!({"action": "Allow", "protocol": 132, "source": {"ports": [0, "0:10", 5]}})),
        vec![
            (
                "ingress[0].source.ports[0]".to_string(),
                "port range invalid, port number must be between 1 and 65535".to_string()
            ),
            (
                "ingress[0].source.ports[1]".to_string(),
                "port range invalid, port number must be between 1 and 65535".to_string()
            ),
        ]
    );
    let too_many: Vec<u16> = (1..=51).collect();
    assert_eq!(
        problems(json!({"action": "Allow", "protocol": "TCP", "destination": {"ports": too_many}})),
        one(
            "ingress[0].destination.ports",
            "must have at most 50 items, has 51"
        )
    );
}

#[test]
fn nets() {
    assert_eq!(
        problems(json!({"action": "Allow", "source": {
            "nets": ["10.0.0.0/33", "10.0.0.1", "10.0.0.1/8"]
        }})),
        vec![
            (
                "ingress[0].source.nets[0]".to_string(),
                "invalid CIDR".to_string()
            ),
            (
                "ingress[0].source.nets[1]".to_string(),
                "invalid CIDR".to_string()
            ),
            (
                "ingress[0].source.nets[2]".to_string(),
                "network is not strictly masked".to_string()
            ),
        ]
    );
    assert_eq!(
        problems(json!({"action": "Allow",
            "source": {"nets": ["0.0.0.0/0"], "notNets": ["0.0.0.0/0"]},
            "destination": {"notNets": ["0::/0"]}
        })),
        vec![
            (
                "ingress[0].source.notNets[0]".to_string(),
                "catch-all CIDR in negation creates logical contradiction (matches no traffic)"
                    .to_string()
            ),
            (
                "ingress[0].destination.notNets[0]".to_string(),
                "catch-all CIDR in negation creates logical contradiction (matches no traffic)"
                    .to_string()
            ),
            (
                "ingress[0].destination.notNets".to_string(),
                "rule contains both IPv4 and IPv6 CIDRs".to_string()
            ),
        ]
    );
    assert_eq!(
        problems(json!({"action": "Allow", "source": {"nets": ["10.0.0.0/8", "fd00::/8"]}})),
        one(
            "ingress[0].source.nets",
            "rule contains both IPv4 and IPv6 CIDRs"
        )
    );
    assert_eq!(
        problems(
            json!({"action": "Allow", "ipVersion": 6, "destination": {"nets": ["10.0.0.0/8"]}})
        ),
        one(
            "ingress[0].destination.nets",
            "rule IP version doesn't match CIDR version"
        )
    );
    let many: Vec<String> = (0..257)
        .map(|i| format!("10.{}.{}.0/24", i / 256, i % 256))
        .collect();
    assert_eq!(
        problems(json!({"action": "Allow", "destination": {"nets": many}})),
        one(
            "ingress[0].destination.nets",
            "must have at most 256 items, has 257"
        )
    );
}

#[test]
fn selectors_and_global() {
    assert_eq!(
        problems(json!({"action": "Allow", "source": {"selector": "global()"}})),
        one(
            "ingress[0].source",
            "global() can only be used in an EntityRule namespaceSelector"
        )
    );
    assert_eq!(
        problems(
            json!({"action": "Allow", "destination": {"namespaceSelector": "global() && a == 'x'"}})
        ),
        one(
            "ingress[0].destination.namespaceSelector",
            "global() cannot be combined with other selectors"
        )
    );
    for bare in ["global()", " global( ) ", "\tglobal()"] {
        let got = problems(json!({"action": "Allow", "source": {"namespaceSelector": bare}}));
        assert_eq!(got, vec![], "{bare:?}");
    }
    assert_eq!(
        problems(json!({"action": "Allow", "source": {"namespaceSelector": "(global())"}})),
        one(
            "ingress[0].source.namespaceSelector",
            "global() cannot be combined with other selectors"
        )
    );
    assert_eq!(
        problems(json!({"action": "Allow", "source": {
            "notSelector": "global()", "serviceAccounts": {"selector": "global()"}
        }})),
        vec![
            (
                "ingress[0].source.notSelector".to_string(),
                "global() can only be used in an EntityRule namespaceSelector".to_string()
            ),
            (
                "ingress[0].source.serviceAccounts.selector".to_string(),
                "global() can only be used in an EntityRule namespaceSelector".to_string()
            ),
        ]
    );
    let bad = problems(json!({"action": "Allow", "source": {"selector": "a == 'b' %"}}));
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].0, "ingress[0].source.selector");
    assert!(bad[0].1.starts_with("invalid selector"), "{}", bad[0].1);
    let long = format!("a == '{}'", "x".repeat(1020));
    assert_eq!(
        problems(json!({"action": "Allow", "source": {"notSelector": long}})),
        one(
            "ingress[0].source.notSelector",
            "must be no more than 1024 characters"
        )
    );
}

#[test]
fn selector_syntax_matches_calico() {
    let bad = problems(json!({"action": "Allow", "source": {"selector": "a = 'b'"}}));
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].0, "ingress[0].source.selector");
}

#[test]
fn services() {
    let base =
        json!({"action": "Allow", "source": {"services": {"name": "db", "namespace": "prod"}}});
    assert_eq!(problems(base), vec![]);
    assert_eq!(
        problems(json!({"action": "Allow", "source": {
            "services": {"namespace": "Prod_1"},
            "namespaceSelector": "a == 'b'",
            "serviceAccounts": {},
            "selector": "a == 'b'",
            "notNets": ["10.0.0.0/8"]
        }})),
        vec![
            (
                "ingress[0].source.services.namespace".to_string(),
                "name must consist of lower case alphanumeric characters, '-' or '.', and must \
                 start and end with an alphanumeric character"
                    .to_string()
            ),
            (
                "ingress[0].source".to_string(),
                "cannot specify NamespaceSelector and Services on the same rule".to_string()
            ),
            (
                "ingress[0].source".to_string(),
                "cannot specify ServiceAccounts and Services on the same rule".to_string()
            ),
            (
                "ingress[0].source".to_string(),
                "services must specify a service name".to_string()
            ),
            (
                "ingress[0].source".to_string(),
                "cannot specify Selector/NotSelector and Services on the same rule".to_string()
            ),
            (
                "ingress[0].source".to_string(),
                "cannot specify Nets/NotNets and Services on the same rule".to_string()
            ),
        ]
    );
    assert_eq!(
        problems(
            json!({"action": "Allow", "protocol": "TCP", "destination": {
                "services": {"name": "db"}, "notPorts": [80]
            }})
        ),
        one(
            "ingress[0]",
            "ports and notPorts cannot be specified with services"
        )
    );
}

#[test]
fn rule_annotations() {
    assert_eq!(
        problems(json!({"action": "Allow", "metadata": {"annotations": {"bad key": "v"}}})).len(),
        1
    );
    let got = problems(json!({"action": "Allow", "metadata": {"annotations": {"bad key": "v"}}}));
    assert_eq!(got[0].0, "ingress[0].metadata.annotations.bad key");
}

#[test]
fn too_many_rules() {
    let rules = vec![
        Rule {
            action: "Allow".into(),
            ..Rule::default()
        };
        MAX_RULES + 1
    ];
    let mut v = Validator::new();
    validate_rules(&mut v, "egress", &rules);
    assert_eq!(v.errors().len(), 1);
    assert_eq!(v.errors()[0].field, "egress");
    assert_eq!(
        v.errors()[0].reason,
        "must have at most 1024 items, has 1025"
    );
}
