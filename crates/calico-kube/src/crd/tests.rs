use super::*;

fn kind(name: &str) -> KindRef {
    KindRef::lookup(name).unwrap()
}

/// The GlobalNetworkPolicy of the datastore model's §3.3, exactly as Calico stores it.
fn stored_gnp() -> Value {
    json!({
        "apiVersion": "crd.projectcalico.org/v1",
        "kind": "GlobalNetworkPolicy",
        "metadata": {
            "name": "allow-dns",
            "resourceVersion": "48213",
            "uid": "0f6e1c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
            "labels": {"projectcalico.org/tier": "default"},
            "annotations": {
                "projectcalico.org/metadata": "{\"name\":\"allow-dns\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\",\"labels\":{\"projectcalico.org/tier\":\"default\",\"team\":\"net\"}}"
            }
        },
        "spec": {
            "tier": "default",
            "order": 10,
            "selector": "all()",
            "types": ["Egress"],
            "egress": [{"action": "Allow", "protocol": "UDP", "destination": {"ports": [53]}}]
        }
    })
}

#[test]
fn v1_policy_reads_as_v3_and_writes_back_identically() {
    let resource =
        from_custom_resource(kind("GlobalNetworkPolicy"), Mode::V1, stored_gnp()).unwrap();
    let v3 = resource.to_json_value().unwrap();
    assert_eq!(v3["apiVersion"], "projectcalico.org/v3");
    assert_eq!(v3["kind"], "GlobalNetworkPolicy");
    assert_eq!(
        v3["metadata"],
        json!({
            "name": "allow-dns",
            "resourceVersion": "48213",
            "uid": convert_uid("0f6e1c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b").unwrap(),
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"projectcalico.org/tier": "default", "team": "net"},
        })
    );
    assert_eq!(v3["spec"]["selector"], "all()");
    assert_eq!(v3["spec"]["order"], 10.0);

    let back = to_custom_resource(&resource, Mode::V1).unwrap();
    assert_eq!(back, stored_gnp());
}

#[test]
fn v1_write_keeps_only_calico_labels_and_annotations_on_the_cr() {
    let mut set = calico_api::NetworkSet::new_namespaced(
        "prod",
        "dbs",
        calico_api::NetworkSetSpec {
            nets: vec!["10.0.0.0/8".into()],
        },
    );
    set.metadata.uid = "01234567-89ab-4def-8123-456789abcdef".into();
    set.metadata.labels = BTreeMap::from([
        ("app".into(), "db".into()),
        ("projectcalico.org/x".into(), "1".into()),
    ]);
    set.metadata.annotations = BTreeMap::from([
        ("note".into(), "hi".into()),
        ("operator.tigera.io/y".into(), "2".into()),
    ]);
    set.metadata.owner_references = vec![
        calico_api::OwnerReference {
            api_version: "projectcalico.org/v3".into(),
            kind: "Tier".into(),
            name: "t".into(),
            uid: "01234567-89ab-4def-8123-456789abcdef".into(),
            ..Default::default()
        },
        calico_api::OwnerReference {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            name: "prod".into(),
            uid: "01234567-89ab-4def-8123-456789abcdef".into(),
            ..Default::default()
        },
    ];
    let resource: AnyResource = set.into();
    let cr = to_custom_resource(&resource, Mode::V1).unwrap();
    assert_eq!(cr["apiVersion"], "crd.projectcalico.org/v1");
    assert_eq!(cr["metadata"]["namespace"], "prod");
    assert_eq!(
        cr["metadata"]["uid"],
        "80c4a2e6-91d5-4df7-81c4-a2e691d5b3f7"
    );
    assert_eq!(
        cr["metadata"]["labels"],
        json!({"projectcalico.org/x": "1"})
    );
    let annotations = cr["metadata"]["annotations"].as_object().unwrap();
    assert_eq!(annotations.len(), 2);
    assert_eq!(annotations["operator.tigera.io/y"], "2");
    let stored: Value =
        serde_json::from_str(annotations[METADATA_ANNOTATION].as_str().unwrap()).unwrap();
    // Not a tiered policy: no name; namespace, uid and revision are the CR's own.
    assert_eq!(stored.get("name"), None);
    assert_eq!(stored.get("namespace"), None);
    assert_eq!(stored.get("uid"), None);
    assert_eq!(stored["labels"]["app"], "db");
    assert_eq!(
        stored["ownerReferences"][0]["apiVersion"],
        "crd.projectcalico.org/v1"
    );
    assert_eq!(
        stored["ownerReferences"][0]["uid"],
        "80c4a2e6-91d5-4df7-81c4-a2e691d5b3f7"
    );
    // Owners outside Calico are left alone.
    assert_eq!(
        stored["ownerReferences"][1]["uid"],
        "01234567-89ab-4def-8123-456789abcdef"
    );

    // Read back (as the server would return it, with a server-side uid kept from the write).
    let back = from_custom_resource(kind("NetworkSet"), Mode::V1, cr).unwrap();
    assert_eq!(back, resource);
}

#[test]
fn v1_reads_without_annotation_strip_default_prefix() {
    let cr = json!({
        "apiVersion": "crd.projectcalico.org/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": "default.allow",
            "namespace": "prod",
            "resourceVersion": "7",
            "uid": "01234567-89ab-4def-8123-456789abcdef",
            "creationTimestamp": "2025-01-01T00:00:00Z",
        },
        "spec": {"tier": "default", "selector": "all()"}
    });
    let np = from_custom_resource(kind("NetworkPolicy"), Mode::V1, cr.clone()).unwrap();
    assert_eq!(np.metadata().name, "allow");
    assert_eq!(np.metadata().uid, "80c4a2e6-91d5-4df7-81c4-a2e691d5b3f7");

    let mut other_tier = cr;
    other_tier["spec"]["tier"] = json!("security");
    let np = from_custom_resource(kind("NetworkPolicy"), Mode::V1, other_tier).unwrap();
    assert_eq!(np.metadata().name, "default.allow");
}

#[test]
fn ipam_configuration_and_block_affinity_in_v1() {
    assert_eq!(
        backing_names(kind("IPAMConfiguration"), Mode::V1),
        ("IPAMConfig", "ipamconfigs")
    );
    assert_eq!(
        backing_names(kind("IPAMConfiguration"), Mode::V3),
        ("IPAMConfiguration", "ipamconfigurations")
    );
    let cr = json!({
        "apiVersion": "crd.projectcalico.org/v1",
        "kind": "IPAMConfig",
        "metadata": {"name": "default", "uid": "01234567-89ab-4def-8123-456789abcdef"},
        "spec": {"strictAffinity": true, "autoAllocateBlocks": true, "maxBlocksPerHost": 4}
    });
    let config = from_custom_resource(kind("IPAMConfiguration"), Mode::V1, cr).unwrap();
    assert_eq!(config.kind(), "IPAMConfiguration");
    let written = to_custom_resource(&config, Mode::V1).unwrap();
    assert_eq!(written["kind"], "IPAMConfig");
    assert_eq!(written["spec"]["maxBlocksPerHost"], 4);

    let cr = json!({
        "apiVersion": "crd.projectcalico.org/v1",
        "kind": "BlockAffinity",
        "metadata": {"name": "node-1-10-0-0-0-26"},
        "spec": {"state": "confirmed", "node": "node-1", "cidr": "10.0.0.0/26", "deleted": "false"}
    });
    let affinity = from_custom_resource(kind("BlockAffinity"), Mode::V1, cr).unwrap();
    let AnyResource::BlockAffinity(a) = &affinity else {
        panic!("not a BlockAffinity")
    };
    assert!(!a.spec.deleted);
    let written = to_custom_resource(&affinity, Mode::V1).unwrap();
    assert_eq!(written["spec"]["deleted"], "false");
    let v3 = to_custom_resource(&affinity, Mode::V3).unwrap();
    assert_eq!(v3["spec"]["deleted"], false);
    assert_eq!(v3["apiVersion"], "projectcalico.org/v3");
}

#[test]
fn v3_objects_are_stored_as_they_are() {
    let cr = json!({
        "apiVersion": "projectcalico.org/v3",
        "kind": "GlobalNetworkSet",
        "metadata": {
            "name": "x",
            "uid": "01234567-89ab-4def-8123-456789abcdef",
            "resourceVersion": "3",
            "creationTimestamp": "2025-01-01T00:00:00Z",
            "labels": {"a": "b"},
        },
        "spec": {"nets": ["10.0.0.0/8"]}
    });
    let set = from_custom_resource(kind("GlobalNetworkSet"), Mode::V3, cr.clone()).unwrap();
    assert_eq!(set.metadata().uid, "01234567-89ab-4def-8123-456789abcdef");
    assert_eq!(to_custom_resource(&set, Mode::V3).unwrap(), cr);
}

#[test]
fn tiers_get_defaults_on_read() {
    let cr = json!({
        "apiVersion": "projectcalico.org/v3",
        "kind": "Tier",
        "metadata": {"name": "t"},
        "spec": {}
    });
    let tier = from_custom_resource(kind("Tier"), Mode::V3, cr).unwrap();
    let v = tier.to_json_value().unwrap();
    assert_eq!(v["spec"]["order"], 1_000_000.0);
    assert_eq!(v["spec"]["defaultAction"], "Deny");
}

#[test]
fn undecodable_objects_are_parse_errors() {
    let cr = json!({
        "apiVersion": "projectcalico.org/v3",
        "kind": "GlobalNetworkSet",
        "metadata": {"name": "x"},
        "spec": {"nets": "not-a-list"}
    });
    let err = from_custom_resource(kind("GlobalNetworkSet"), Mode::V3, cr).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("failed to parse datastore entry key=globalnetworksets/x; value="),
        "{err}"
    );
}
