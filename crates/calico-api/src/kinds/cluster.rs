//! ClusterInformation: the singleton (`default`) describing the cluster and whether the datastore
//! is ready (the migration lock).

use serde::{Deserialize, Serialize};

use crate::resource::{Kind, NoStatus, Resource, Scope};
use crate::validation::Validator;

/// `spec` of the ClusterInformation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterInformationSpec {
    /// 32 lower-case hex characters, generated when the cluster is first initialised.
    #[serde(
        rename = "clusterGUID",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub cluster_guid: String,
    /// Comma-separated cluster types, e.g. `typha,kdd,k8s,operator,bgp`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub calico_version: String,
    /// `false` while the datastore is locked for migration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datastore_ready: Option<bool>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
}

pub type ClusterInformation = Resource<ClusterInformationSpec>;

/// The Calico client's message for any other name.
pub const CLUSTER_INFORMATION_NAME_REASON: &str =
    "Cannot create a Cluster Information resource with a name other than \"default\"";

impl Kind for ClusterInformationSpec {
    const KIND: &'static str = "ClusterInformation";
    const PLURAL: &'static str = "clusterinformations";
    const SCOPE: Scope = Scope::Cluster;
    type Status = NoStatus;

    /// The schema has no constraints beyond the field types.
    fn validate(_resource: &Resource<Self>, _v: &mut Validator) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::test_support::{assert_unknown_field, round_trip_bytes};
    use serde_json::json;

    const FULL: &str = concat!(
        r#"{"kind":"ClusterInformation","apiVersion":"projectcalico.org/v3","#,
        r#""metadata":{"name":"default","uid":"3a1f6c0e-9d2b-4e7a-8c5f-1b0d2e3f4a5b","#,
        r#""resourceVersion":"812","creationTimestamp":"2026-01-05T09:59:58Z"},"#,
        r#""spec":{"clusterGUID":"6f1d0c9a3b2e4f8a9c7d5e3b1a0f2e4d","#,
        r#""clusterType":"typha,kdd,k8s,operator,bgp","calicoVersion":"v3.32.0","#,
        r#""datastoreReady":true,"variant":"Calico"}}"#
    );

    #[test]
    fn full_document_round_trips_byte_for_byte() {
        let ci: ClusterInformation = round_trip_bytes(FULL);
        assert_eq!(ci.spec.datastore_ready, Some(true));
        ci.validate().unwrap();
    }

    #[test]
    fn minimal_and_locked_documents() {
        let minimal = r#"{"kind":"ClusterInformation","apiVersion":"projectcalico.org/v3","metadata":{"name":"default"},"spec":{}}"#;
        let ci: ClusterInformation = round_trip_bytes(minimal);
        // An explicit `false` (the migration lock) is written, unlike an unset flag.
        let mut locked = ci.clone();
        locked.spec.datastore_ready = Some(false);
        assert!(serde_json::to_string(&locked)
            .unwrap()
            .contains(r#""spec":{"datastoreReady":false}"#));
    }

    #[test]
    fn unknown_field_names_its_path() {
        let mut doc: serde_json::Value = serde_json::from_str(FULL).unwrap();
        doc["spec"]["clusterGuids"] = json!("x");
        assert_unknown_field(doc, "spec.clusterGuids");
    }

    #[test]
    fn no_defaults() {
        let mut ci = ClusterInformation::new("default", ClusterInformationSpec::default());
        ci.apply_defaults();
        assert_eq!(ci.spec, ClusterInformationSpec::default());
    }
}
