//! The v3 client: what Calico's `clientv3` does around the backend.
//!
//! Preconditions on metadata (a create has a name and no revision; an update carries revision,
//! uid and creation time), the client-side defaults, validation, and the stamping of uid and
//! creation time on create. Kind-specific rules (protected tiers, pool overlap, read-only
//! kinds, …) live in [`crate::rules`].

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use calico_api::validation::client::{client_prechecks, ClientRefusal};
use calico_api::{AnyResource, Time, ValidationError};

use crate::backend::{Backend, DatastoreInfo, ResourceList, ResourcePages, WatchStream};
use crate::error::{DatastoreError, Result};
use crate::init::BUILTIN_TIERS;
use crate::key::{ListOptions, ResourceKey};
use crate::rules;

/// What deleting a Node or an IPPool asks of the IPAM layer, which lives above this crate
/// (`calico-ipam` implements it; libcalico-go's clientv3 calls its IPAM client at the same
/// points). A datastore without IPAM answers [`DatastoreError::OperationNotSupported`], which
/// the cascades pass over, as Calico's do.
#[async_trait::async_trait]
pub trait IpamCascade: Send + Sync {
    /// Releases these addresses wherever they are allocated (`ReleaseIPs`).
    async fn release_ips(&self, client: &Client, ips: &[std::net::IpAddr]) -> Result<()>;
    /// Releases the host's block affinities and IPAM host data (`RemoveIPAMHost`).
    async fn remove_host(&self, client: &Client, host: &str) -> Result<()>;
    /// Releases every block affinity inside the pool's CIDR (`ReleasePoolAffinities`).
    async fn release_pool_affinities(&self, client: &Client, cidr: &str) -> Result<()>;
}

/// A typed client over any backend.
#[derive(Clone)]
pub struct Client {
    backend: Arc<dyn Backend>,
    /// The IPAM layer's part in the Node and IPPool delete cascades, when one is attached.
    ipam: Option<Arc<dyn IpamCascade>>,
    /// Tiers this client has seen exist. A policy write must find its tier; checking it once
    /// per client instead of once per policy turns a bulk apply of policies from two round
    /// trips each into one. Calico's own check is a read before the write, so another
    /// process deleting the tier in between was already possible; the cache widens that
    /// window to one client's life (one calicoctl command), and tier deletes through this
    /// client forget the tier.
    known_tiers: Arc<Mutex<HashSet<String>>>,
    /// Dry run: every check a write makes (those that read the datastore included), then
    /// nothing written; see [`Client::dry_run`].
    dry_run: bool,
}

/// One of the client's checks, named as Calico's client names the field.
fn precondition(field: &str, value: Option<&str>, reason: &str) -> DatastoreError {
    DatastoreError::Validation(ValidationError::single(
        field,
        value.map(str::to_string),
        reason,
    ))
}

/// How Go prints the zero `metav1.Time` Calico reports for a missing creation time.
const GO_ZERO_TIME: &str = "0001-01-01 00:00:00 +0000 UTC";

impl Client {
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Client {
            backend,
            ipam: None,
            known_tiers: Arc::default(),
            dry_run: false,
        }
    }

    /// This client in dry-run mode: create, update and delete make every check they make
    /// before writing — the client's preconditions, defaults and validation, the kinds' rules
    /// that read the datastore (the tier exists, pools do not overlap, filters exist, protected
    /// and non-empty tiers), and what the write itself would find: the name taken (create),
    /// the resource missing or at another revision (update, delete) — and then write nothing,
    /// returning what would have been stored (as a read would show it). Delete cascades (a
    /// Node's dependents, a pool's disabling and affinities) are not run.
    ///
    /// Calico's built-in tiers count as existing, since a real write's `EnsureInitialized`
    /// creates them; a Tier created in dry run counts as existing for this client's later
    /// policies, as the real create would make it.
    pub fn dry_run(&self) -> Self {
        let mut tiers = self
            .known_tiers
            .lock()
            .map(|tiers| tiers.clone())
            .unwrap_or_default();
        tiers.extend(BUILTIN_TIERS.iter().map(|(name, _, _)| name.to_string()));
        Client {
            backend: self.backend.clone(),
            ipam: self.ipam.clone(),
            known_tiers: Arc::new(Mutex::new(tiers)),
            dry_run: true,
        }
    }

    /// Whether this client writes nothing ([`Client::dry_run`]).
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// This client with the IPAM layer's cascades attached: deleting a Node then releases its
    /// addresses and block affinities, deleting an IPPool its blocks' affinities.
    pub fn with_ipam(mut self, ipam: Arc<dyn IpamCascade>) -> Self {
        self.ipam = Some(ipam);
        self
    }

    /// The IPAM layer's cascades, when attached.
    pub(crate) fn ipam(&self) -> Option<&Arc<dyn IpamCascade>> {
        self.ipam.as_ref()
    }

    pub(crate) fn tier_known(&self, name: &str) -> bool {
        self.known_tiers
            .lock()
            .map(|tiers| tiers.contains(name))
            .unwrap_or(false)
    }

    pub(crate) fn remember_tier(&self, name: &str) {
        if let Ok(mut tiers) = self.known_tiers.lock() {
            tiers.insert(name.to_string());
        }
    }

    pub(crate) fn forget_tier(&self, name: &str) {
        if let Ok(mut tiers) = self.known_tiers.lock() {
            tiers.remove(name);
        }
    }

    /// The backend underneath.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// Which datastore this client talks to.
    pub fn info(&self) -> DatastoreInfo {
        self.backend.info()
    }

    fn check_namespace(resource: &AnyResource) -> Result<()> {
        let meta = resource.metadata();
        if resource.info().is_namespaced() && meta.namespace.is_empty() {
            return Err(precondition(
                "Metadata.Namespace",
                None,
                "namespace is not specified on namespaced resource",
            ));
        }
        Ok(())
    }

    /// The client's own checks and defaults, then validation, as Calico's client orders them
    /// (shared by create and update).
    fn check_and_validate(resource: &mut AnyResource) -> Result<()> {
        client_prechecks(resource).map_err(|e| match e {
            ClientRefusal::Validation(e) => DatastoreError::Validation(e),
            ClientRefusal::Message(m) => DatastoreError::Store(m),
        })?;
        resource.apply_defaults();
        resource.validate()?;
        Ok(())
    }

    /// Creates a resource, as `clientv3` does: defaults and validation first, then the name is
    /// required, the revision must be empty, a uid and a creation time are stamped when missing.
    pub async fn create(&self, mut resource: AnyResource) -> Result<AnyResource> {
        rules::check_default_allow(&resource, true)?;
        Self::check_and_validate(&mut resource)?;
        Self::check_create_metadata(&resource)?;
        Self::check_namespace(&resource)?;
        rules::before_write(self, &mut resource, true).await?;
        self.create_prepared(resource).await
    }

    /// Creates a resource with the client's checks, defaults and validation but without the
    /// kind's rules against other resources (Calico's `UnsafeCreate`, used by `calicoctl ipam
    /// split` to create pools that overlap the pool being split).
    pub async fn create_unchecked(&self, mut resource: AnyResource) -> Result<AnyResource> {
        Self::check_and_validate(&mut resource)?;
        Self::check_create_metadata(&resource)?;
        Self::check_namespace(&resource)?;
        self.create_prepared(resource).await
    }

    /// A create names its resource and carries no revision.
    fn check_create_metadata(resource: &AnyResource) -> Result<()> {
        let meta = resource.metadata();
        if meta.name.is_empty() {
            return Err(precondition(
                "Metadata.Name",
                Some(""),
                "field must be set for a Create request",
            ));
        }
        if !meta.resource_version.is_empty() {
            return Err(precondition(
                "Metadata.ResourceVersion",
                Some(&meta.resource_version),
                "field must not be set for a Create request",
            ));
        }
        Ok(())
    }

    /// Stamps uid and creation time when missing and writes a prepared resource.
    async fn create_prepared(&self, mut resource: AnyResource) -> Result<AnyResource> {
        let meta = resource.metadata_mut();
        if meta.creation_timestamp.is_none() {
            meta.creation_timestamp = Some(Time::now());
        }
        if meta.uid.is_empty() {
            meta.uid = uuid::Uuid::new_v4().to_string();
        }
        if self.dry_run {
            let key = ResourceKey::of(&resource);
            return match self.backend.get(&key, None).await {
                Ok(_) => Err(DatastoreError::already_exists(&key)),
                Err(err) if err.is_not_found() => {
                    if resource.kind() == "Tier" {
                        self.remember_tier(&key.name);
                    }
                    Ok(rules::after_get(resource))
                }
                Err(err) => Err(err),
            };
        }
        let created = self.backend.create(resource).await?;
        Ok(rules::after_get(created))
    }

    /// What a conditional write at `revision` would find: the resource missing, or at another
    /// revision (the dry run's stand-in for the write). Returns the stored resource.
    async fn check_write_target(
        &self,
        key: &ResourceKey,
        revision: Option<&str>,
    ) -> Result<AnyResource> {
        let stored = self.backend.get(key, None).await?;
        match revision.filter(|r| !r.is_empty()) {
            Some(expected) if stored.metadata().resource_version != expected => {
                Err(DatastoreError::UpdateConflict {
                    key: key.clone(),
                    detail: Some(format!(
                        "resource version '{expected}' is out of date (latest: {})",
                        stored.metadata().resource_version
                    )),
                })
            }
            _ => Ok(stored),
        }
    }

    /// Replaces a resource; revision, uid and creation time must be present.
    pub async fn update(&self, resource: AnyResource) -> Result<AnyResource> {
        self.update_checked(resource, None).await
    }

    /// [`Client::update`], except that nothing is written when `stored` (the resource as read
    /// just before, at the revision the update carries) already holds what would be written:
    /// the same spec, labels and annotations once defaults are applied. Then `stored` is
    /// returned, its revision unchanged. Every check of the update is still made.
    pub async fn update_if_changed(
        &self,
        resource: AnyResource,
        stored: &AnyResource,
    ) -> Result<AnyResource> {
        self.update_checked(resource, Some(stored)).await
    }

    async fn update_checked(
        &self,
        mut resource: AnyResource,
        stored: Option<&AnyResource>,
    ) -> Result<AnyResource> {
        rules::check_default_allow(&resource, false)?;
        Self::check_and_validate(&mut resource)?;
        let meta = resource.metadata();
        // The values as Go prints the empty ones (a zero time is printed in full).
        for (missing, field, value) in [
            (
                meta.resource_version.is_empty(),
                "Metadata.ResourceVersion",
                "",
            ),
            (
                meta.creation_timestamp.is_none(),
                "Metadata.CreationTimestamp",
                GO_ZERO_TIME,
            ),
            (meta.uid.is_empty(), "Metadata.UID", ""),
        ] {
            if missing {
                return Err(precondition(
                    field,
                    Some(value),
                    "field must be set for an Update request",
                ));
            }
        }
        Self::check_namespace(&resource)?;
        rules::before_write(self, &mut resource, false).await?;
        if let Some(stored) = stored {
            let candidate = rules::after_get(resource.clone());
            if stored.metadata().resource_version == resource.metadata().resource_version
                && same_content(stored, &candidate)
            {
                return Ok(stored.clone());
            }
        }
        if self.dry_run {
            let key = ResourceKey::of(&resource);
            self.check_write_target(&key, Some(&resource.metadata().resource_version))
                .await?;
            return Ok(rules::after_get(resource));
        }
        let updated = self.backend.update(resource).await?;
        Ok(rules::after_get(updated))
    }

    /// Deletes a resource (only at `revision` when one is given).
    pub async fn delete(&self, key: &ResourceKey, revision: Option<&str>) -> Result<AnyResource> {
        if self.dry_run {
            rules::check_delete(self, key).await?;
            let stored = self.check_write_target(key, revision).await?;
            return Ok(rules::after_get(stored));
        }
        let revision = rules::before_delete(self, key, revision).await?;
        let deleted = self.backend.delete(key, revision.as_deref()).await?;
        Ok(rules::after_get(deleted))
    }

    /// Reads a resource.
    pub async fn get(&self, key: &ResourceKey) -> Result<AnyResource> {
        let resource = self.backend.get(key, None).await?;
        Ok(rules::after_get(resource))
    }

    /// Lists resources.
    pub async fn list(&self, options: &ListOptions) -> Result<ResourceList> {
        let mut list = self.backend.list(options, None).await?;
        list.items = list.items.into_iter().map(rules::after_list).collect();
        Ok(list)
    }

    /// Lists resources page by page (about `page_size` at a time, all at one revision).
    pub async fn list_pages(
        &self,
        options: &ListOptions,
        page_size: usize,
    ) -> Result<ResourcePages> {
        use futures::StreamExt;
        let pages = self.backend.list_pages(options, page_size).await?;
        Ok(Box::pin(pages.map(|page| {
            page.map(|mut list| {
                list.items = list.items.into_iter().map(rules::after_list).collect();
                list
            })
        })))
    }

    /// Watches resources from a revision (or from the current state when `None`).
    pub async fn watch(
        &self,
        options: &ListOptions,
        revision: Option<&str>,
    ) -> Result<WatchStream> {
        self.backend.watch(options, revision).await
    }
}

/// Whether `stored` holds what `expected` would write: the same spec, labels and annotations
/// (both as a read shows them, i.e. after [`rules::after_get`]).
pub fn same_content(stored: &AnyResource, expected: &AnyResource) -> bool {
    let spec = |r: &AnyResource| r.to_json_value().ok().and_then(|v| v.get("spec").cloned());
    stored.metadata().labels == expected.metadata().labels
        && stored.metadata().annotations == expected.metadata().annotations
        && spec(stored) == spec(expected)
}

#[cfg(test)]
mod tests;
