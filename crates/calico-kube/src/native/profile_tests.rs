use super::*;
use serde_json::json;

#[allow(clippy::unwrap_used, clippy::expect_used)]
fn namespace(value: serde_json::Value) -> Namespace {
    serde_json::from_value(value).expect("a Namespace")
}

#[allow(clippy::unwrap_used, clippy::expect_used)]
fn account(value: serde_json::Value) -> ServiceAccount {
    serde_json::from_value(value).expect("a ServiceAccount")
}

#[test]
fn namespace_profiles() {
    let ns = namespace(json!({"metadata": {
        "name": "prod", "uid": "01234567-89ab-4def-8123-456789abcdef",
        "resourceVersion": "12", "creationTimestamp": "2026-02-01T08:00:00Z",
        "labels": {"team": "payments", "kubernetes.io/metadata.name": "prod"}
    }}));
    let profile = namespace_to_profile(&ns).unwrap();
    assert_eq!(profile.metadata.name, "kns.prod");
    assert_eq!(profile.metadata.resource_version, "12/");
    assert_eq!(profile.metadata.uid, "80c4a2e6-91d5-4df7-81c4-a2e691d5b3f7");
    assert_eq!(
        serde_json::to_value(&profile).unwrap()["spec"],
        json!({
            "ingress": [{"action": "Allow"}],
            "egress": [{"action": "Allow"}],
            "labelsToApply": {
                "pcns.kubernetes.io/metadata.name": "prod",
                "pcns.projectcalico.org/name": "prod",
                "pcns.team": "payments"
            }
        })
    );
    assert_eq!(profile.validate(), Ok(()));
    let bad_uid = namespace(json!({"metadata": {"name": "x", "uid": "nope"}}));
    assert!(namespace_to_profile(&bad_uid).is_err());
}

#[test]
fn service_account_profiles() {
    let sa = account(json!({"metadata": {
        "name": "web-sa", "namespace": "prod",
        "uid": "01234567-89ab-4def-8123-456789abcdef", "resourceVersion": "99",
        "labels": {"tier": "front"}
    }}));
    let profile = service_account_to_profile(&sa).unwrap();
    assert_eq!(profile.metadata.name, "ksa.prod.web-sa");
    assert_eq!(profile.metadata.resource_version, "/99");
    assert_eq!(
        serde_json::to_value(&profile).unwrap()["spec"],
        json!({"labelsToApply": {"pcsa.projectcalico.org/name": "web-sa", "pcsa.tier": "front"}})
    );
    // Names of 63 characters and more still make a profile.
    let long = "s".repeat(70);
    let sa = account(json!({"metadata": {
        "name": long, "namespace": "prod", "uid": "01234567-89ab-4def-8123-456789abcdef"
    }}));
    assert_eq!(
        service_account_to_profile(&sa).unwrap().metadata.name,
        format!("ksa.prod.{long}")
    );
}

#[test]
fn revisions_and_names() {
    assert_eq!(split_revision(None), (None, None));
    assert_eq!(split_revision(Some("0")), (None, None));
    assert_eq!(
        split_revision(Some("5/7")),
        (Some("5".into()), Some("7".into()))
    );
    assert_eq!(split_revision(Some("5/")), (Some("5".into()), None));
    assert_eq!(
        split_revision(Some("8")),
        (Some("8".into()), Some("8".into()))
    );
    assert!(matches!(source("kns.prod"), Source::Namespace(ns) if ns == "prod"));
    assert!(matches!(
        source("ksa.prod.web.sa"),
        Source::ServiceAccount { namespace, name } if namespace == "prod" && name == "web.sa"
    ));
    assert!(matches!(source("ksa.prod"), Source::Unknown));
    assert!(matches!(source("other"), Source::Unknown));
    assert!(matches!(
        source("projectcalico-default-allow"),
        Source::DefaultAllow
    ));
}
