//! Profiles: one per Namespace (`kns.<ns>`), one per ServiceAccount (`ksa.<ns>.<sa>`) and the
//! built-in `projectcalico-default-allow` (`resources/profile.go`, `conversion/conversion.go`).
//!
//! Revisions are composite, as in Calico: `<namespace RV>/<serviceaccount RV>`. A namespace
//! profile carries `<nsRV>/`, a service-account one `/<saRV>`, a list the revisions of both
//! lists, and each watch event the latest revision seen on each side, so that a watch can
//! resume from any of them.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use calico_api::kinds::profile::ProfileSpec;
use calico_api::{AnyResource, Profile, Rule};
use calico_datastore::codec::{default_allow_profile, DEFAULT_ALLOW_PROFILE};
use calico_datastore::{
    DatastoreError, KindRef, ListOptions, ResourceKey, ResourceList, Result, WatchStream,
};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{ListParams, WatchParams};
use kube::{Api, Client};

use super::error::{from_kube, not_supported};
use super::kubeio::{self, calico_time, conversion_error, name_selector};
use super::pod::service_account_profile_name;
use crate::store::{listing_first, watch_start, KindStore};
use crate::uid::convert_uid;

pub const NAMESPACE_PROFILE_PREFIX: &str = "kns.";
pub const SERVICE_ACCOUNT_PROFILE_PREFIX: &str = "ksa.";
pub const NAMESPACE_LABEL_PREFIX: &str = "pcns.";
pub const SERVICE_ACCOUNT_LABEL_PREFIX: &str = "pcsa.";
/// Matches a namespace or service account by its exact name.
pub const NAME_LABEL: &str = "projectcalico.org/name";

fn allow() -> Rule {
    Rule {
        action: "Allow".into(),
        ..Rule::default()
    }
}

fn converted_uid(uid: Option<&String>, what: &str, name: &str) -> Result<String> {
    let uid = uid.map(String::as_str).unwrap_or_default();
    convert_uid(uid).ok_or_else(|| {
        conversion_error(
            what,
            name,
            format!("failed to parse UID for resource: invalid UUID {uid:?}"),
        )
    })
}

/// `NamespaceToProfile`: the namespace's labels (prefixed `pcns.`) for its endpoints, and
/// allow-all rules both ways.
pub fn namespace_to_profile(ns: &Namespace) -> Result<Profile> {
    let name = ns.metadata.name.clone().unwrap_or_default();
    let mut labels: BTreeMap<String, String> = ns
        .metadata
        .labels
        .iter()
        .flatten()
        .map(|(k, v)| (format!("{NAMESPACE_LABEL_PREFIX}{k}"), v.clone()))
        .collect();
    labels.insert(
        format!("{NAMESPACE_LABEL_PREFIX}{NAME_LABEL}"),
        name.clone(),
    );
    let mut profile = Profile::new(
        format!("{NAMESPACE_PROFILE_PREFIX}{name}"),
        ProfileSpec {
            ingress: vec![allow()],
            egress: vec![allow()],
            labels_to_apply: labels,
        },
    );
    profile.metadata.uid = converted_uid(ns.metadata.uid.as_ref(), "Namespace", &name)?;
    profile.metadata.creation_timestamp = calico_time(ns.metadata.creation_timestamp.as_ref());
    profile.metadata.resource_version = join_revisions(
        ns.metadata.resource_version.as_deref().unwrap_or_default(),
        "",
    );
    Ok(profile)
}

/// `ServiceAccountToProfile`: the account's labels (prefixed `pcsa.`), no rules.
pub fn service_account_to_profile(sa: &ServiceAccount) -> Result<Profile> {
    let name = sa.metadata.name.clone().unwrap_or_default();
    let namespace = sa.metadata.namespace.clone().unwrap_or_default();
    let mut labels: BTreeMap<String, String> = sa
        .metadata
        .labels
        .iter()
        .flatten()
        .map(|(k, v)| (format!("{SERVICE_ACCOUNT_LABEL_PREFIX}{k}"), v.clone()))
        .collect();
    labels.insert(
        format!("{SERVICE_ACCOUNT_LABEL_PREFIX}{NAME_LABEL}"),
        name.clone(),
    );
    let mut profile = Profile::new(
        service_account_profile_name(&namespace, &name),
        ProfileSpec {
            labels_to_apply: labels,
            ..ProfileSpec::default()
        },
    );
    profile.metadata.uid = converted_uid(
        sa.metadata.uid.as_ref(),
        "ServiceAccount",
        &format!("{namespace}/{name}"),
    )?;
    profile.metadata.creation_timestamp = calico_time(sa.metadata.creation_timestamp.as_ref());
    profile.metadata.resource_version = join_revisions(
        "",
        sa.metadata.resource_version.as_deref().unwrap_or_default(),
    );
    Ok(profile)
}

/// `JoinProfileRevisions`.
pub fn join_revisions(namespace_rv: &str, service_account_rv: &str) -> String {
    format!("{namespace_rv}/{service_account_rv}")
}

/// `SplitProfileRevision`. A revision without `/` is not one of ours; Calico refuses it, we
/// read it as that revision on both sides (see [`kubeio::split_composite`]).
pub fn split_revision(revision: Option<&str>) -> (Option<String>, Option<String>) {
    kubeio::split_composite(revision)
}

/// Which profile a name stands for.
enum Source {
    DefaultAllow,
    Namespace(String),
    ServiceAccount { namespace: String, name: String },
    Unknown,
}

fn source(name: &str) -> Source {
    if name == DEFAULT_ALLOW_PROFILE {
        Source::DefaultAllow
    } else if let Some(ns) = name.strip_prefix(NAMESPACE_PROFILE_PREFIX) {
        Source::Namespace(ns.to_string())
    } else if let Some(rest) = name.strip_prefix(SERVICE_ACCOUNT_PROFILE_PREFIX) {
        // Namespaces cannot contain dots, so the first dot ends the namespace.
        match rest.split_once('.') {
            Some((namespace, name)) => Source::ServiceAccount {
                namespace: namespace.into(),
                name: name.into(),
            },
            None => Source::Unknown,
        }
    } else {
        Source::Unknown
    }
}

fn default_allow() -> Result<AnyResource> {
    default_allow_profile()
        .ok_or_else(|| DatastoreError::Store("the default-allow profile does not decode".into()))
}

/// Profiles from Namespaces and ServiceAccounts.
pub struct ProfileStore {
    client: Client,
    kind: KindRef,
}

impl ProfileStore {
    pub fn new(client: Client, kind: KindRef) -> Self {
        ProfileStore { client, kind }
    }

    fn namespaces(&self) -> Api<Namespace> {
        Api::all(self.client.clone())
    }

    fn service_accounts(&self, namespace: Option<&str>) -> Api<ServiceAccount> {
        match namespace {
            Some(ns) => Api::namespaced(self.client.clone(), ns),
            None => Api::all(self.client.clone()),
        }
    }
}

fn keep(options: &ListOptions, profile: Profile, items: &mut Vec<AnyResource>) {
    let item = AnyResource::from(profile);
    if options.matches(&ResourceKey::of(&item)) {
        items.push(item);
    }
}

/// Merges the namespace and service-account watches, stamping each event with the composite
/// revision; the merged watch ends when either side ends, as Calico's `profileWatcher` does.
fn merge_profile_watches(
    namespaces: WatchStream,
    service_accounts: WatchStream,
    start: (Option<String>, Option<String>),
) -> WatchStream {
    // Each side's objects carry `<nsRV>/` or `/<saRV>`: keep that side's part.
    fn ns_part(rv: &str) -> String {
        rv.split_once('/').map_or(rv, |(ns, _)| ns).to_string()
    }
    fn sa_part(rv: &str) -> String {
        rv.split_once('/').map_or(rv, |(_, sa)| sa).to_string()
    }
    kubeio::merge_composite(namespaces, service_accounts, start, ns_part, sa_part)
}

#[async_trait]
impl KindStore for ProfileStore {
    async fn create(&self, resource: AnyResource) -> Result<AnyResource> {
        Err(not_supported("Create", &ResourceKey::of(&resource), None))
    }

    async fn update(&self, resource: AnyResource) -> Result<AnyResource> {
        Err(not_supported("Update", &ResourceKey::of(&resource), None))
    }

    async fn delete(&self, key: &ResourceKey, _uid: Option<&str>) -> Result<AnyResource> {
        Err(not_supported("Delete", key, None))
    }

    async fn get(&self, key: &ResourceKey) -> Result<AnyResource> {
        match source(&key.name) {
            Source::DefaultAllow => default_allow(),
            Source::Namespace(ns) => {
                let namespace = self
                    .namespaces()
                    .get(&ns)
                    .await
                    .map_err(|e| from_kube(e, Some(key)))?;
                namespace_to_profile(&namespace).map(AnyResource::from)
            }
            Source::ServiceAccount { namespace, name } => {
                let sa = self
                    .service_accounts(Some(&namespace))
                    .get(&name)
                    .await
                    .map_err(|e| from_kube(e, Some(key)))?;
                service_account_to_profile(&sa).map(AnyResource::from)
            }
            // Calico fails such names with a plain error (`get`, `apply` and `replace` print
            // just `Invalid name <name>`); nothing can exist under them.
            Source::Unknown => Err(DatastoreError::Store(format!("Invalid name {}", key.name))),
        }
    }

    /// Unconvertible namespaces and accounts (UIDs that are not UUIDs) are skipped, as Calico
    /// skips them.
    async fn list(&self, options: &ListOptions, revision: Option<&str>) -> Result<ResourceList> {
        let (ns_rev, sa_rev) = split_revision(revision);
        if let (Some(name), false) = (&options.name, options.name_is_prefix) {
            let key = ResourceKey::new(self.kind, "", name.clone());
            let items = match self.get(&key).await {
                Ok(item) => vec![item],
                Err(e) if e.is_not_found() => Vec::new(),
                Err(e) => return Err(e),
            };
            let revision = revision.map(String::from).unwrap_or_else(|| {
                items
                    .first()
                    .map(|i| i.metadata().resource_version.clone())
                    .unwrap_or_default()
            });
            return Ok(ResourceList { items, revision });
        }
        let mut items = Vec::new();
        if let Ok(builtin) = default_allow() {
            if options.matches(&ResourceKey::of(&builtin)) {
                items.push(builtin);
            }
        }
        let (namespaces, ns_list_rev) =
            kubeio::list_all(&self.namespaces(), ListParams::default(), ns_rev.as_deref()).await?;
        for ns in &namespaces {
            if let Ok(profile) = namespace_to_profile(ns) {
                keep(options, profile, &mut items);
            }
        }
        let (accounts, sa_list_rev) = kubeio::list_all(
            &self.service_accounts(None),
            ListParams::default(),
            sa_rev.as_deref(),
        )
        .await?;
        for sa in &accounts {
            if let Ok(profile) = service_account_to_profile(sa) {
                keep(options, profile, &mut items);
            }
        }
        Ok(ResourceList {
            items,
            revision: join_revisions(&ns_list_rev, &sa_list_rev),
        })
    }

    async fn watch(&self, options: &ListOptions, revision: Option<&str>) -> Result<WatchStream> {
        let Some(revision) = watch_start(revision) else {
            // The current revisions of both sides first, then the profiles at (or after) them:
            // a list by name has no revision of its own to resume from.
            let now = self.current_revision().await?;
            let list = self.list(options, Some(&now)).await?;
            return listing_first(self, options, list).await;
        };
        let (ns_rev, sa_rev) = split_revision(Some(revision));
        let mut ns_params = Some(WatchParams::default());
        let mut sa_params = Some(WatchParams::default());
        let mut sa_namespace = None;
        if let (Some(name), false) = (&options.name, options.name_is_prefix) {
            match source(name) {
                // The built-in profile never changes.
                Source::DefaultAllow => return Ok(kubeio::silent()),
                Source::Namespace(ns) => {
                    ns_params = ns_params.map(|p| p.fields(&name_selector(&ns)));
                    sa_params = None;
                }
                Source::ServiceAccount { namespace, name } => {
                    ns_params = None;
                    sa_params = sa_params.map(|p| p.fields(&name_selector(&name)));
                    sa_namespace = Some(namespace);
                }
                Source::Unknown => {
                    return Err(DatastoreError::Store(format!(
                        "Unsupported prefix for resource name: {name}"
                    )))
                }
            }
        }
        let ns_filter = options.clone();
        let ns_watch = match ns_params {
            Some(params) => {
                kubeio::watch(
                    &self.namespaces(),
                    params,
                    ns_rev.as_deref().unwrap_or_default(),
                    Box::new(move |ns: Namespace| {
                        let mut out = Vec::new();
                        keep(&ns_filter, namespace_to_profile(&ns)?, &mut out);
                        Ok(out)
                    }),
                    kubeio::NativeErrors,
                )
                .await?
            }
            None => kubeio::silent(),
        };
        let sa_filter = options.clone();
        let sa_watch = match sa_params {
            Some(params) => {
                kubeio::watch(
                    &self.service_accounts(sa_namespace.as_deref()),
                    params,
                    sa_rev.as_deref().unwrap_or_default(),
                    Box::new(move |sa: ServiceAccount| {
                        let mut out = Vec::new();
                        keep(&sa_filter, service_account_to_profile(&sa)?, &mut out);
                        Ok(out)
                    }),
                    kubeio::NativeErrors,
                )
                .await?
            }
            None => kubeio::silent(),
        };
        Ok(merge_profile_watches(ns_watch, sa_watch, (ns_rev, sa_rev)))
    }
}

impl ProfileStore {
    /// The current revisions of Namespaces and ServiceAccounts, as a composite revision (two
    /// one-object lists).
    async fn current_revision(&self) -> Result<String> {
        let (_, ns_rev) =
            kubeio::first_page(&self.namespaces(), ListParams::default().limit(1)).await?;
        let (_, sa_rev) =
            kubeio::first_page(&self.service_accounts(None), ListParams::default().limit(1))
                .await?;
        Ok(join_revisions(&ns_rev, &sa_rev))
    }
}

/// The Profile store as the backend registers it.
pub fn store(client: &Client) -> Option<(KindRef, Arc<dyn KindStore>)> {
    let kind = KindRef::lookup("Profile")?;
    Some((kind, Arc::new(ProfileStore::new(client.clone(), kind))))
}

#[cfg(test)]
#[path = "profile_tests.rs"]
mod tests;
