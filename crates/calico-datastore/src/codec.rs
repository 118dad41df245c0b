//! Resources ⇄ stored bytes in Calico's etcd layout (shared by the etcd and embedded drivers).

use calico_api::decode::DecodeOptions;
use calico_api::AnyResource;
use serde_json::Value;

use crate::error::{DatastoreError, Result};
use crate::key::{KindRef, ListOptions, ResourceKey};

/// Calico keeps a policy's v3 name in this annotation while it is stored.
pub const POLICY_NAME_ANNOTATION: &str = "projectcalico.org/metadata";

/// Calico's built-in profile, present in every datastore and never stored.
pub const DEFAULT_ALLOW_PROFILE: &str = "projectcalico-default-allow";

/// The resource version Calico reports for the built-in profile.
pub const DEFAULT_ALLOW_PROFILE_REVISION: &str = "1";

/// Kinds whose stored form carries [`POLICY_NAME_ANNOTATION`].
const NAME_ANNOTATED_KINDS: &[&str] = &[
    "GlobalNetworkPolicy",
    "NetworkPolicy",
    "StagedGlobalNetworkPolicy",
    "StagedNetworkPolicy",
];

fn is_name_annotated(kind: &str) -> bool {
    NAME_ANNOTATED_KINDS.contains(&kind)
}

/// The bytes Calico would store for `resource`.
pub fn encode(resource: &AnyResource) -> Result<Vec<u8>> {
    let mut stored = resource.clone();
    let kind = stored.kind();
    let meta = stored.metadata_mut();
    meta.resource_version.clear();
    meta.self_link.clear();
    if is_name_annotated(kind) {
        let name = calico_api::json::to_vec(&serde_json::json!({ "name": meta.name }))
            .map_err(|e| DatastoreError::Store(e.to_string()))?;
        meta.annotations.insert(
            POLICY_NAME_ANNOTATION.to_string(),
            String::from_utf8_lossy(&name).into_owned(),
        );
    }
    let known =
        calico_api::json::to_vec(&stored).map_err(|e| DatastoreError::Store(e.to_string()))?;
    // What a newer Calico stored and our types do not know goes back in, after the known
    // members (whose bytes stay exactly Calico's).
    resource
        .unknown()
        .merge_into(&known, |value| calico_api::json::to_vec(value).ok())
        .ok_or_else(|| DatastoreError::Store("cannot write back unknown fields".into()))
}

/// Decodes stored bytes of a key of kind `kind`, setting the resource version.
pub fn decode(kind: KindRef, path: &str, bytes: &[u8], revision: i64) -> Result<AnyResource> {
    let parse_error = |cause: String| DatastoreError::ParsingEntry {
        key: path.to_string(),
        value: String::from_utf8_lossy(bytes).into_owned(),
        cause,
    };
    let mut value: Value = serde_json::from_slice(bytes).map_err(|e| parse_error(e.to_string()))?;
    if is_name_annotated(kind.kind()) {
        restore_policy_name(&mut value);
    }
    // Go's `json.Unmarshal`: members our types do not know are kept aside, not an error.
    let mut resource =
        (kind.0.decode)(&value, DecodeOptions::STORED).map_err(|e| parse_error(e.to_string()))?;
    let meta = resource.metadata_mut();
    meta.resource_version = revision.to_string();
    meta.self_link.clear();
    Ok(resource)
}

/// Puts back the v3 name a stored policy carries in its annotation; policies written before
/// Calico 3.32 have none and were stored as `default.<name>` when in the default tier.
fn restore_policy_name(value: &mut Value) {
    let annotated_name = value
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
        .and_then(|annotations| annotations.remove(POLICY_NAME_ANNOTATION))
        .and_then(|text| {
            text.as_str()
                .and_then(|t| serde_json::from_str::<Value>(t).ok())
                .and_then(|meta| meta.get("name").and_then(Value::as_str).map(String::from))
        });
    let tier_is_default = matches!(
        value.pointer("/spec/tier").and_then(Value::as_str),
        None | Some("") | Some("default")
    );
    let Some(name) = value.pointer_mut("/metadata/name") else {
        return;
    };
    match annotated_name {
        Some(annotated) => *name = Value::String(annotated),
        None if tier_is_default => {
            if let Some(stripped) = name.as_str().and_then(|n| n.strip_prefix("default.")) {
                *name = Value::String(stripped.to_string());
            }
        }
        None => {}
    }
}

/// `resource` with its resource version set to `revision`.
pub fn with_revision(mut resource: AnyResource, revision: i64) -> AnyResource {
    resource.metadata_mut().resource_version = revision.to_string();
    resource
}

/// Calico's built-in default-allow profile.
pub fn default_allow_profile() -> Option<AnyResource> {
    let document = serde_json::json!({
        "kind": "Profile",
        "apiVersion": calico_api::API_VERSION,
        "metadata": {
            "name": DEFAULT_ALLOW_PROFILE,
            "resourceVersion": DEFAULT_ALLOW_PROFILE_REVISION,
        },
        "spec": {
            "ingress": [{"action": "Allow"}],
            "egress": [{"action": "Allow"}],
        },
    });
    calico_api::decode_value(document).ok()
}

/// A resource that exists without being stored (the default-allow profile).
pub fn builtin(key: &ResourceKey) -> Option<AnyResource> {
    (key.kind.kind() == "Profile" && key.name == DEFAULT_ALLOW_PROFILE)
        .then(default_allow_profile)
        .flatten()
}

/// Built-in resources a list must include.
pub fn builtins_for(options: &ListOptions) -> Vec<AnyResource> {
    if options.kind.kind() != "Profile" {
        return Vec::new();
    }
    let key = ResourceKey::new(options.kind, "", DEFAULT_ALLOW_PROFILE);
    if !options.matches(&key) {
        return Vec::new();
    }
    default_allow_profile().into_iter().collect()
}
