//! What calicoctl does to each resource before handing it to the client: namespace rules,
//! metadata clean-up, read-only kinds, and the create/update/delete flows of its resource
//! manager.

use std::time::Duration;

use calico_api::{AnyResource, ObjectMeta};
use calico_datastore::backoff::Backoff;
use calico_datastore::client::Client;
use calico_datastore::{DatastoreError, ResourceKey};

/// How an update without a resourceVersion is retried on conflict. Calico retries 5 times with
/// a fixed 1 s pause, which runs out when many writers update one resource at once; pauses
/// with exponential growth (to 2 s) and full jitter spread the writers out, and the retries go
/// on for up to a minute in total.
const UPDATE_RETRIES: Backoff = Backoff {
    base: Duration::from_millis(20),
    cap: Duration::from_secs(2),
    budget: Duration::from_secs(60),
};

/// Applies calicoctl's namespace rules to a resource from a file.
pub fn handle_namespace(resource: &mut AnyResource, cli_namespace: &str) -> Result<(), String> {
    let kind = resource.kind();
    let namespaced = resource.info().is_namespaced();
    let meta = resource.metadata_mut();
    if namespaced {
        if meta.namespace.is_empty() {
            meta.namespace = if cli_namespace.is_empty() {
                "default".to_string()
            } else {
                cli_namespace.to_string()
            };
        } else if !cli_namespace.is_empty() && meta.namespace != cli_namespace {
            return Err(format!(
                "resource namespace does not match client namespace. {} != {cli_namespace}",
                meta.namespace
            ));
        }
    } else {
        if !meta.namespace.is_empty() {
            return Err(format!(
                "namespace should not be specified for a non-namespaced resource. {kind} is not a namespaced resource"
            ));
        }
        if !cli_namespace.is_empty() {
            return Err(format!("{kind} is not namespaced"));
        }
    }
    Ok(())
}

/// On create calicoctl keeps only these metadata fields from the input.
fn metadata_for_create(meta: &ObjectMeta) -> ObjectMeta {
    ObjectMeta {
        name: meta.name.clone(),
        namespace: meta.namespace.clone(),
        resource_version: meta.resource_version.clone(),
        labels: meta.labels.clone(),
        annotations: meta.annotations.clone(),
        ..ObjectMeta::default()
    }
}

fn is_kubernetes_policy(resource: &AnyResource) -> bool {
    resource.kind() == "NetworkPolicy" && resource.metadata().name.starts_with("knp.default.")
}

fn not_supported(operation: &str, identifier: String, reason: Option<&str>) -> DatastoreError {
    DatastoreError::OperationNotSupported {
        operation: operation.to_string(),
        identifier,
        reason: reason.map(String::from),
    }
}

/// `calicoctl create` of one resource.
pub async fn create(
    client: &Client,
    mut resource: AnyResource,
) -> Result<AnyResource, DatastoreError> {
    if resource.kind() == "ClusterInformation" {
        return Err(not_supported(
            "create or apply",
            "ClusterInformation".into(),
            None,
        ));
    }
    if is_kubernetes_policy(&resource) {
        return Err(not_supported(
            "create or apply",
            ResourceKey::of(&resource).to_string(),
            Some("kubernetes network policies must be managed through the kubernetes API"),
        ));
    }
    let meta = metadata_for_create(resource.metadata());
    *resource.metadata_mut() = meta;
    client.create(resource).await
}

/// `calicoctl apply` of one resource: create, or update when it exists.
pub async fn apply(client: &Client, resource: AnyResource) -> Result<AnyResource, DatastoreError> {
    if resource.kind() == "ClusterInformation" {
        return Err(not_supported(
            "apply",
            "ClusterInformation".into(),
            Some("resource is readonly"),
        ));
    }
    if !is_kubernetes_policy(&resource) {
        let mut fresh = resource.clone();
        let mut meta = metadata_for_create(fresh.metadata());
        meta.resource_version.clear();
        *fresh.metadata_mut() = meta;
        match client.create(fresh).await {
            Err(DatastoreError::AlreadyExists { .. })
            | Err(DatastoreError::OperationNotSupported { .. }) => {}
            other => return other,
        }
    }
    update(client, resource).await
}

/// `calicoctl replace` of one resource.
pub async fn replace(
    client: &Client,
    resource: AnyResource,
) -> Result<AnyResource, DatastoreError> {
    if resource.kind() == "ClusterInformation" {
        return Err(not_supported(
            "apply or replace",
            "ClusterInformation".into(),
            None,
        ));
    }
    update(client, resource).await
}

/// The stored resource with the input's spec, labels and annotations.
fn merge_for_update(stored: &AnyResource, input: &AnyResource) -> AnyResource {
    let mut merged = input.clone();
    let mut meta = stored.metadata().clone();
    meta.labels = input.metadata().labels.clone();
    meta.annotations = input.metadata().annotations.clone();
    *merged.metadata_mut() = meta;
    merged
}

/// Update as calicoctl's resource manager does it: with a resourceVersion in the input, that
/// exact version must still be current; without one, read-modify-write with a few retries.
/// A resource already stored with the same spec, labels and annotations is not rewritten (its
/// resourceVersion stays; Calico's calicoctl writes it again).
pub async fn update(client: &Client, input: AnyResource) -> Result<AnyResource, DatastoreError> {
    let key = ResourceKey::of(&input);
    let requested = input.metadata().resource_version.clone();
    if !requested.is_empty() {
        let stored = client.get(&key).await?;
        let latest = stored.metadata().resource_version.clone();
        if latest != requested {
            return Err(DatastoreError::UpdateConflict {
                key,
                detail: Some(format!(
                    "resource version '{requested}' is out of date (latest: {latest}). Update the resource YAML/JSON in order to make changes"
                )),
            });
        }
        return client
            .update_if_changed(merge_for_update(&stored, &input), &stored)
            .await;
    }
    let mut retries = UPDATE_RETRIES.start();
    loop {
        let stored = client.get(&key).await?;
        let err = match client
            .update_if_changed(merge_for_update(&stored, &input), &stored)
            .await
        {
            Err(err @ DatastoreError::UpdateConflict { .. }) => err,
            other => return other,
        };
        match retries.next_pause() {
            Some(pause) => tokio::time::sleep(pause).await,
            None => {
                return Err(DatastoreError::Store(format!(
                    "failed to update the resource: {err}"
                )))
            }
        }
    }
}

/// `calicoctl delete` of one resource (honouring a resourceVersion from a file).
pub async fn delete(
    client: &Client,
    key: &ResourceKey,
    revision: Option<&str>,
) -> Result<AnyResource, DatastoreError> {
    if key.kind.kind() == "ClusterInformation" {
        return Err(not_supported("delete", "ClusterInformation".into(), None));
    }
    if key.kind.kind() == "NetworkPolicy" && key.name.starts_with("knp.default.") {
        return Err(not_supported(
            "delete",
            key.to_string(),
            Some("kubernetes network policies must be managed through the kubernetes API"),
        ));
    }
    // Calico's Kubernetes datastore ignores a delete's revision (its calicoctl deletes the live
    // object whatever version the file holds); our driver checks it for the library's callers,
    // so calicoctl leaves it out there.
    let revision = revision
        .filter(|r| !r.is_empty())
        .filter(|_| client.info().datastore_type != "kubernetes");
    client.delete(key, revision).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use calico_api::{GlobalNetworkSet, NetworkSet};

    #[test]
    fn namespace_rules() {
        let mut set: AnyResource = NetworkSet::default().into();
        handle_namespace(&mut set, "").unwrap();
        assert_eq!(set.metadata().namespace, "default");

        let mut set: AnyResource = NetworkSet::default().into();
        handle_namespace(&mut set, "prod").unwrap();
        assert_eq!(set.metadata().namespace, "prod");

        let mut set: AnyResource = NetworkSet::new_namespaced("a", "x", Default::default()).into();
        assert_eq!(
            handle_namespace(&mut set, "b").unwrap_err(),
            "resource namespace does not match client namespace. a != b"
        );

        let mut global: AnyResource = GlobalNetworkSet::new("g", Default::default()).into();
        assert_eq!(
            handle_namespace(&mut global, "b").unwrap_err(),
            "GlobalNetworkSet is not namespaced"
        );
        global.metadata_mut().namespace = "x".into();
        assert_eq!(
            handle_namespace(&mut global, "").unwrap_err(),
            "namespace should not be specified for a non-namespaced resource. GlobalNetworkSet is not a namespaced resource"
        );
    }

    /// Many writers (of several clients, as several calicoctl processes would be) updating one
    /// resource at once: with jittered, growing pauses none runs out of retries, and each
    /// update is stored exactly once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_updates_of_one_resource_all_succeed() {
        use calico_datastore::kvbackend::KvBackend;
        use std::sync::Arc;
        const WRITERS: usize = 600;
        const CLIENTS: usize = 12;
        let server = calico_test_support::EtcdServer::start();
        let settings = calico_etcd::EtcdSettings::new([server.endpoint()]);
        let mut clients = Vec::new();
        for _ in 0..CLIENTS {
            let store = calico_etcd::EtcdStore::connect(&settings).await.unwrap();
            clients.push(Arc::new(Client::new(Arc::new(KvBackend::new(store)))));
        }
        let set: AnyResource = GlobalNetworkSet::new("contended", Default::default()).into();
        apply(&clients[0], set.clone()).await.unwrap();
        let writers: Vec<_> = (0..WRITERS)
            .map(|i| {
                let client = clients[i % CLIENTS].clone();
                let mut input = set.clone();
                input
                    .metadata_mut()
                    .labels
                    .insert("writer".into(), i.to_string());
                tokio::spawn(async move { apply(&client, input).await })
            })
            .collect();
        for (i, writer) in writers.into_iter().enumerate() {
            if let Err(err) = writer.await.unwrap() {
                panic!("writer {i}: {err}");
            }
        }
        let stored = server.etcdctl(&[
            "get",
            "/calico/resources/v3/projectcalico.org/globalnetworksets/contended",
            "-w",
            "json",
        ]);
        assert!(
            stored.contains(&format!("\"version\":{},", WRITERS + 1)),
            "{stored}"
        );
    }
}
