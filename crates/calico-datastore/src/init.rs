//! `EnsureInitialized`: what Calico's client does before the first write to a datastore —
//! make sure ClusterInformation `default` exists with a cluster GUID, the current version and
//! `datastoreReady`, and that the built-in tiers exist.

use std::time::Duration;

use calico_api::AnyResource;
use serde_json::{json, Value};

use crate::client::Client;
use crate::error::{DatastoreError, Result};
use crate::key::{KindRef, ResourceKey};

/// The built-in tiers: name, order, default action.
pub const BUILTIN_TIERS: &[(&str, f64, &str)] = &[
    ("default", 1_000_000.0, "Deny"),
    ("kube-admin", 1_000.0, "Pass"),
    ("kube-baseline", 10_000_000.0, "Pass"),
];

const CONFLICT_RETRY_PAUSE: Duration = Duration::from_secs(1);
const ATTEMPTS: usize = 5;

fn kind(name: &str) -> Result<KindRef> {
    KindRef::lookup(name)
        .ok_or_else(|| DatastoreError::Store(format!("kind {name} is not registered")))
}

fn decode(document: Value) -> Result<AnyResource> {
    calico_api::decode_value(document).map_err(|e| DatastoreError::Store(e.to_string()))
}

/// A new cluster GUID: 32 lower-case hex characters (a random UUID without dashes).
pub fn new_cluster_guid() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Merges `add` into a comma-separated set of cluster types, keeping order.
fn merge_cluster_type(existing: &str, add: &str) -> String {
    let mut types: Vec<&str> = existing.split(',').filter(|t| !t.is_empty()).collect();
    for t in add.split(',').filter(|t| !t.is_empty()) {
        if !types.contains(&t) {
            types.push(t);
        }
    }
    types.join(",")
}

impl Client {
    /// Creates or brings up to date ClusterInformation `default`, then the built-in tiers.
    /// On Kubernetes, `kdd` joins the cluster type, as Calico's client adds it.
    pub async fn ensure_initialized(&self, calico_version: &str, cluster_type: &str) -> Result<()> {
        let cluster_type = if self.info().datastore_type == "kubernetes" {
            merge_cluster_type(cluster_type, "kdd")
        } else {
            cluster_type.to_string()
        };
        self.ensure_cluster_information(calico_version, &cluster_type)
            .await?;
        self.ensure_builtin_tiers().await
    }

    async fn ensure_cluster_information(
        &self,
        calico_version: &str,
        cluster_type: &str,
    ) -> Result<()> {
        let key = ResourceKey::new(kind("ClusterInformation")?, "", "default");
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(CONFLICT_RETRY_PAUSE).await;
            }
            let outcome = match self.get(&key).await {
                Err(err) if err.is_not_found() => {
                    let info = decode(json!({
                        "kind": "ClusterInformation",
                        "apiVersion": calico_api::API_VERSION,
                        "metadata": {"name": "default"},
                        "spec": {
                            "clusterGUID": new_cluster_guid(),
                            "clusterType": cluster_type,
                            "calicoVersion": calico_version,
                            "datastoreReady": true,
                        },
                    }))?;
                    self.create(info).await.map(|_| ())
                }
                Err(err) => return Err(err),
                Ok(existing) => {
                    self.refresh_cluster_information(existing, calico_version, cluster_type)
                        .await
                }
            };
            match outcome {
                Err(err) if err.is_already_exists() || err.is_conflict() => continue,
                other => return other,
            }
        }
        Ok(())
    }

    async fn refresh_cluster_information(
        &self,
        existing: AnyResource,
        calico_version: &str,
        cluster_type: &str,
    ) -> Result<()> {
        let mut document = existing
            .to_json_value()
            .map_err(|e| DatastoreError::Store(e.to_string()))?;
        let original = document.clone();
        let spec = document
            .as_object_mut()
            .map(|top| top.entry("spec").or_insert_with(|| json!({})))
            .and_then(Value::as_object_mut)
            .ok_or_else(|| DatastoreError::Store("ClusterInformation has no spec".into()))?;
        let text = |spec: &serde_json::Map<String, Value>, field: &str| {
            spec.get(field)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        if !calico_version.is_empty() && text(spec, "calicoVersion") != calico_version {
            spec.insert("calicoVersion".into(), json!(calico_version));
        }
        if text(spec, "clusterGUID").is_empty() {
            spec.insert("clusterGUID".into(), json!(new_cluster_guid()));
        }
        // An explicit `false` is a migration lock; only a missing flag is set.
        if spec.get("datastoreReady").is_none_or(Value::is_null) {
            spec.insert("datastoreReady".into(), json!(true));
        }
        let merged = merge_cluster_type(&text(spec, "clusterType"), cluster_type);
        if merged != text(spec, "clusterType") {
            spec.insert("clusterType".into(), json!(merged));
        }
        if document == original {
            return Ok(());
        }
        self.update(decode(document)?).await.map(|_| ())
    }

    async fn ensure_builtin_tiers(&self) -> Result<()> {
        let tiers = kind("Tier")?;
        for (name, order, action) in BUILTIN_TIERS {
            if self.get(&ResourceKey::new(tiers, "", *name)).await.is_ok() {
                continue;
            }
            let tier = decode(json!({
                "kind": "Tier",
                "apiVersion": calico_api::API_VERSION,
                "metadata": {"name": name},
                "spec": {"order": order, "defaultAction": action},
            }))?;
            match self.create(tier).await {
                Ok(_)
                | Err(DatastoreError::AlreadyExists { .. })
                | Err(DatastoreError::Unauthorized(_)) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_types_merge_as_a_set() {
        assert_eq!(merge_cluster_type("", "k8s"), "k8s");
        assert_eq!(merge_cluster_type("typha,kdd", "kdd,bgp"), "typha,kdd,bgp");
        assert_eq!(merge_cluster_type("a", ""), "a");
    }

    #[test]
    fn guids_are_32_hex() {
        let guid = new_cluster_guid();
        assert_eq!(guid.len(), 32);
        assert!(guid
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }
}
