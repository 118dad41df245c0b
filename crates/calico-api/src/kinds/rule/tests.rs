use super::*;
use crate::kinds::test_support::field_reasons;
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
