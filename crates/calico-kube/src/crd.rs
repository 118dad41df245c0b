//! Calico kinds stored as custom resources, in either storage mode, through one generic store.
//!
//! v1 mode (`crd.projectcalico.org/v1`, `libcalico-go/lib/backend/k8s/resources/resources.go`
//! and `customresource.go`): the v3 metadata rides in the `projectcalico.org/metadata`
//! annotation, only Calico-owned labels and annotations are put on the custom resource itself,
//! UIDs are bit-reversed ([`crate::uid::convert_uid`]), IPAMConfiguration is stored as
//! `IPAMConfig`/`ipamconfigs` and BlockAffinity's `deleted` is a string.
//!
//! v3 mode (`projectcalico.org/v3`): objects are stored as they are.

use std::collections::BTreeMap;

use async_trait::async_trait;
use calico_api::decode::DecodeOptions;
use calico_api::{AnyResource, ObjectMeta, ValidationError};
use calico_datastore::{
    DatastoreError, KindRef, ListOptions, ResourceKey, ResourceList, ResourcePages, Result,
    WatchStream,
};
use kube::api::{
    Api, DeleteParams, ListParams, PostParams, Preconditions, VersionMatch, WatchParams,
};
use kube::core::{ApiResource, DynamicObject};
use serde_json::{json, Map, Value};

use crate::error::{map_error, map_status, Op};
use crate::mode::Mode;
use crate::native::kubeio;
use crate::store::{listing_first, watch_start, KindStore};
use crate::uid::convert_uid;

/// The annotation holding the v3 metadata in v1 mode.
pub const METADATA_ANNOTATION: &str = "projectcalico.org/metadata";

/// Kinds that are not custom resources (the native stores serve them).
pub const NATIVE_KINDS: &[&str] = &["Node", "Profile", "WorkloadEndpoint"];

/// Policy kinds whose stored metadata keeps the name (and whose legacy names lose `default.`).
const TIERED_KINDS: &[&str] = &[
    "GlobalNetworkPolicy",
    "NetworkPolicy",
    "StagedGlobalNetworkPolicy",
    "StagedNetworkPolicy",
];

/// Kubernetes list page size (client-go's pager default).
const PAGE_SIZE: u32 = 500;

/// The server-side lifetime of one watch request (kube's and client-go's default); the stream
/// ends with it, and the caller resumes from the last revision it saw.
const WATCH_TIMEOUT_SECONDS: u32 = 290;

/// Whether a label or annotation key is Calico's (kept on the v1 custom resource itself).
fn is_calico_key(key: &str) -> bool {
    key.contains("projectcalico.org/") || key.contains("operator.tigera.io/")
}

/// The kind and plural a Calico kind is stored under in `mode`.
pub fn backing_names(kind: KindRef, mode: Mode) -> (&'static str, &'static str) {
    match (kind.kind(), mode) {
        ("IPAMConfiguration", Mode::V1) => ("IPAMConfig", "ipamconfigs"),
        _ => (kind.kind(), kind.plural()),
    }
}

fn parse_error(kind: KindRef, value: &Value, cause: impl std::fmt::Display) -> DatastoreError {
    let name = value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let namespace = value
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let key = if namespace.is_empty() {
        format!("{}/{name}", kind.plural())
    } else {
        format!("{}/{namespace}/{name}", kind.plural())
    };
    DatastoreError::ParsingEntry {
        key,
        value: value.to_string(),
        cause: cause.to_string(),
    }
}

fn to_json(resource: &AnyResource) -> Result<Value> {
    resource.to_json_value().map_err(|e| {
        DatastoreError::Store(format!(
            "failed to encode {}: {e}",
            ResourceKey::of(resource)
        ))
    })
}

/// Owner references to Calico objects: on write, `projectcalico.org/v3` owners become their
/// `crd.projectcalico.org/v1` backing objects (UID converted); on read, both forms become
/// `projectcalico.org/v3` (the v3 form for data written before Calico converted them).
fn convert_owner_references(meta: &mut ObjectMeta, writing: bool) {
    for owner in &mut meta.owner_references {
        let convert = if writing {
            owner.api_version == calico_api::API_VERSION
        } else {
            owner.api_version == calico_api::API_VERSION
                || owner.api_version == "crd.projectcalico.org/v1"
        };
        if convert {
            if let Some(uid) = convert_uid(&owner.uid) {
                owner.uid = uid;
            }
            owner.api_version = if writing {
                "crd.projectcalico.org/v1".into()
            } else {
                calico_api::API_VERSION.into()
            };
        }
    }
}

/// The custom resource (as JSON) that stores `resource` in `mode`.
pub fn to_custom_resource(resource: &AnyResource, mode: Mode) -> Result<Value> {
    let kind = KindRef(resource.info());
    let (backing_kind, _) = backing_names(kind, mode);
    let mut value = to_json(resource)?;
    // Members a newer Calico stored that our types do not know go back in.
    resource.unknown().merge_into_value(&mut value);
    let Some(object) = value.as_object_mut() else {
        return Err(DatastoreError::Store(
            "resource is not a JSON object".into(),
        ));
    };
    object.insert(
        "apiVersion".into(),
        json!(format!("{}/{}", mode.group(), mode.version())),
    );
    object.insert("kind".into(), json!(backing_kind));
    if mode == Mode::V3 {
        return Ok(value);
    }

    let meta = resource.metadata();
    let mut stored = meta.clone();
    stored.namespace.clear();
    stored.resource_version.clear();
    stored.uid.clear();
    if !TIERED_KINDS.contains(&kind.kind()) {
        stored.name.clear();
    }
    convert_owner_references(&mut stored, true);
    let stored_json = serde_json::to_string(&stored)
        .map_err(|e| DatastoreError::Store(format!("failed to encode metadata: {e}")))?;

    let mut annotations: BTreeMap<String, String> = meta
        .annotations
        .iter()
        .filter(|(k, _)| is_calico_key(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    annotations.insert(METADATA_ANNOTATION.into(), stored_json);
    let labels: BTreeMap<&String, &String> = meta
        .labels
        .iter()
        .filter(|(k, _)| is_calico_key(k))
        .collect();

    let mut cr_meta = Map::new();
    cr_meta.insert("name".into(), json!(meta.name));
    if !meta.namespace.is_empty() {
        cr_meta.insert("namespace".into(), json!(meta.namespace));
    }
    if !meta.resource_version.is_empty() {
        cr_meta.insert("resourceVersion".into(), json!(meta.resource_version));
    }
    if let Some(uid) = convert_uid(&meta.uid) {
        cr_meta.insert("uid".into(), json!(uid));
    }
    if !labels.is_empty() {
        cr_meta.insert("labels".into(), json!(labels));
    }
    cr_meta.insert("annotations".into(), json!(annotations));
    object.insert("metadata".into(), Value::Object(cr_meta));

    if kind.kind() == "BlockAffinity" {
        if let Some(deleted) = object.get_mut("spec").and_then(|s| s.get_mut("deleted")) {
            let text = if deleted.as_bool() == Some(true) {
                "true"
            } else {
                "false"
            };
            *deleted = json!(text);
        }
    }
    Ok(value)
}

/// Decodes the `metadata` of a custom resource.
fn decode_meta(kind: KindRef, cr: &Value) -> Result<ObjectMeta> {
    let raw = cr.get("metadata").cloned().unwrap_or_else(|| json!({}));
    // As Go reads it: metadata fields newer than ours are no error.
    calico_api::decode::go::from_value::<ObjectMeta>(&raw, DecodeOptions::STORED)
        .map(|(meta, _)| meta)
        .map_err(|e| parse_error(kind, cr, e))
}

/// The v3 resource a custom resource of `kind` stores in `mode`.
pub fn from_custom_resource(kind: KindRef, mode: Mode, cr: Value) -> Result<AnyResource> {
    let mut doc = cr.clone();
    let Some(object) = doc.as_object_mut() else {
        return Err(parse_error(kind, &cr, "not a JSON object"));
    };
    object.insert("apiVersion".into(), json!(calico_api::API_VERSION));
    object.insert("kind".into(), json!(kind.kind()));

    if mode == Mode::V1 {
        let cr_meta = decode_meta(kind, &cr)?;
        let uid = if cr_meta.uid.is_empty() {
            String::new()
        } else {
            convert_uid(&cr_meta.uid)
                .ok_or_else(|| parse_error(kind, &cr, format!("invalid uid {:?}", cr_meta.uid)))?
        };
        let mut name_from_annotation = false;
        let mut meta = match cr_meta.annotations.get(METADATA_ANNOTATION) {
            None => ObjectMeta {
                uid,
                ..cr_meta.clone()
            },
            Some(stored) => {
                let mut meta: ObjectMeta = serde_json::from_str(stored)
                    .map_err(|e| parse_error(kind, &cr, format!("{METADATA_ANNOTATION}: {e}")))?;
                convert_owner_references(&mut meta, false);
                let mut labels = cr_meta.labels.clone();
                labels.extend(meta.labels);
                meta.labels = labels;
                let mut annotations = cr_meta.annotations.clone();
                annotations.remove(METADATA_ANNOTATION);
                annotations.extend(meta.annotations);
                meta.annotations = annotations;
                name_from_annotation = !meta.name.is_empty();
                if !name_from_annotation {
                    meta.name = cr_meta.name.clone();
                }
                meta.namespace = cr_meta.namespace.clone();
                meta.resource_version = cr_meta.resource_version.clone();
                meta.uid = uid;
                if meta.creation_timestamp.is_none() {
                    meta.creation_timestamp = cr_meta.creation_timestamp;
                }
                meta
            }
        };
        if TIERED_KINDS.contains(&kind.kind()) && !name_from_annotation {
            let tier = cr
                .pointer("/spec/tier")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if tier.is_empty() || tier == "default" {
                if let Some(stripped) = meta.name.strip_prefix("default.") {
                    meta.name = stripped.to_string();
                }
            }
        }
        let meta_json = serde_json::to_value(&meta).map_err(|e| parse_error(kind, &cr, e))?;
        object.insert("metadata".into(), meta_json);
        if kind.kind() == "BlockAffinity" {
            if let Some(deleted) = object.get_mut("spec").and_then(|s| s.get_mut("deleted")) {
                if let Some(text) = deleted.as_str() {
                    let parsed = match text {
                        "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
                        "" | "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
                        other => {
                            return Err(parse_error(
                                kind,
                                &cr,
                                format!("spec.deleted: invalid boolean string {other:?}"),
                            ))
                        }
                    };
                    *deleted = json!(parsed);
                }
            }
        }
    }
    let mut resource =
        (kind.0.decode)(&doc, DecodeOptions::STORED).map_err(|e| parse_error(kind, &cr, e))?;
    if kind.kind() == "Tier" {
        // tiers.go fills order and defaultAction on every read.
        resource.apply_defaults();
    }
    Ok(resource)
}

/// How Calico's client names a resource in its requests: for the v1 CRDs the kind's camel case
/// in the plural (`IPPools`, `NetworkPolicies`, `CalicoNodeStatuses`, as libcalico-go's
/// `*ResourceName` constants), for the v3 ones the plural itself.
fn go_resource_name(kind: &str, plural: &str, mode: Mode) -> String {
    if mode != Mode::V1 {
        return plural.to_string();
    }
    let lower = kind.to_ascii_lowercase();
    if let Some(rest) = plural.strip_prefix(lower.as_str()) {
        return format!("{kind}{rest}");
    }
    if let Some(stem) = kind.strip_suffix('y') {
        if let Some(rest) = plural.strip_prefix(stem.to_ascii_lowercase().as_str()) {
            return format!("{stem}{rest}");
        }
    }
    plural.to_string()
}

/// One Calico kind stored as a custom resource.
#[derive(Clone)]
pub struct CrdStore {
    client: kube::Client,
    kind: KindRef,
    mode: Mode,
    resource: ApiResource,
    /// `ippools.crd.projectcalico.org`, for messages.
    qualified: String,
    /// `IPPools.crd.projectcalico.org`: the resource as Calico's client names it in the texts
    /// client-go writes.
    go_resource: String,
    url: String,
    watch_timeout: u32,
}

impl std::fmt::Debug for CrdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrdStore")
            .field("kind", &self.kind)
            .field("mode", &self.mode)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn namespace_missing() -> DatastoreError {
    DatastoreError::Validation(ValidationError::single(
        "metadata.namespace",
        None,
        "namespace is not specified on namespaced resource",
    ))
}

impl CrdStore {
    pub fn new(client: kube::Client, url: &str, kind: KindRef, mode: Mode) -> Self {
        let (backing_kind, plural) = backing_names(kind, mode);
        let resource = ApiResource {
            group: mode.group().into(),
            version: mode.version().into(),
            api_version: mode.api_version().into(),
            kind: backing_kind.into(),
            plural: plural.into(),
        };
        CrdStore {
            client,
            kind,
            mode,
            qualified: format!("{plural}.{}", mode.group()),
            go_resource: format!(
                "{}.{}",
                go_resource_name(backing_kind, plural, mode),
                mode.group()
            ),
            resource,
            url: url.to_string(),
            watch_timeout: WATCH_TIMEOUT_SECONDS,
        }
    }

    /// Sets how long each server-side watch request lasts (the stream ends with it).
    pub fn with_watch_timeout(mut self, seconds: u32) -> Self {
        self.watch_timeout = seconds.max(1);
        self
    }

    fn op<'a>(&'a self, verb: &'a str) -> Op<'a> {
        Op {
            verb,
            resource: &self.qualified,
            go_resource: &self.go_resource,
            url: &self.url,
        }
    }

    /// The API for one object's namespace (or the cluster).
    fn api_for(&self, namespace: &str) -> Result<Api<DynamicObject>> {
        if self.kind.is_namespaced() {
            if namespace.is_empty() {
                return Err(namespace_missing());
            }
            Ok(Api::namespaced_with(
                self.client.clone(),
                namespace,
                &self.resource,
            ))
        } else {
            Ok(Api::all_with(self.client.clone(), &self.resource))
        }
    }

    /// The API for a list or watch.
    fn api_for_list(&self, options: &ListOptions) -> Api<DynamicObject> {
        match options.namespace.as_deref() {
            Some(ns) if self.kind.is_namespaced() && !ns.is_empty() => {
                Api::namespaced_with(self.client.clone(), ns, &self.resource)
            }
            _ => Api::all_with(self.client.clone(), &self.resource),
        }
    }

    fn check_kind(&self, resource: &AnyResource) -> Result<()> {
        if resource.kind() == self.kind.kind() {
            Ok(())
        } else {
            Err(DatastoreError::Store(format!(
                "internal error: a {} was sent to the {} store",
                resource.kind(),
                self.kind.kind()
            )))
        }
    }

    fn encode_object(&self, resource: &AnyResource) -> Result<DynamicObject> {
        let value = to_custom_resource(resource, self.mode)?;
        serde_json::from_value(value).map_err(|e| {
            DatastoreError::Store(format!(
                "failed to encode {}: {e}",
                ResourceKey::of(resource)
            ))
        })
    }

    fn decode_object(&self, object: DynamicObject) -> Result<AnyResource> {
        let value = serde_json::to_value(&object)
            .map_err(|e| DatastoreError::Store(format!("failed to encode object: {e}")))?;
        from_custom_resource(self.kind, self.mode, value)
    }

    /// The field selector for an exact-name list or watch.
    fn name_selector(options: &ListOptions) -> Option<String> {
        match (&options.name, options.name_is_prefix) {
            (Some(name), false) => Some(format!("metadata.name={name}")),
            _ => None,
        }
    }

    /// The parameters of a list's first page.
    fn first_page_params(options: &ListOptions, revision: Option<&str>) -> ListParams {
        let mut params = ListParams {
            field_selector: Self::name_selector(options),
            limit: Some(PAGE_SIZE),
            ..ListParams::default()
        };
        if let Some(revision) = revision.filter(|r| !r.is_empty()) {
            params.resource_version = Some(revision.to_string());
            params.version_match = Some(VersionMatch::NotOlderThan);
        }
        params
    }

    /// One page of a list: every object decoded (or why it could not be), its
    /// resourceVersion, and the parameters of the next page (`None` after the last).
    async fn fetch_decoded_page(
        &self,
        api: &Api<DynamicObject>,
        mut params: ListParams,
    ) -> Result<DecodedPage> {
        let page = match api.list(&params).await {
            Ok(page) => page,
            // Calico's list of a type the cluster does not serve is empty.
            Err(e) if crate::error::is_not_served(&e) => return Ok((Vec::new(), None, None)),
            Err(e) => return Err(map_error(e, None, self.op("list"))),
        };
        let revision = page.metadata.resource_version.clone();
        let items = page
            .items
            .into_iter()
            .map(|object| self.decode_object(object))
            .collect();
        let next = page
            .metadata
            .continue_
            .filter(|c| !c.is_empty())
            .map(|token| {
                // A continued list is served at the first page's snapshot; the
                // resourceVersion may not be repeated.
                params.continue_token = Some(token);
                params.resource_version = None;
                params.version_match = None;
                params
            });
        Ok((items, revision, next))
    }

    /// One page of a list: its matching resources, its resourceVersion, and the parameters of
    /// the next page (`None` after the last).
    async fn fetch_page(
        &self,
        api: &Api<DynamicObject>,
        options: &ListOptions,
        params: ListParams,
    ) -> Result<(Vec<AnyResource>, Option<String>, Option<ListParams>)> {
        let (decoded, revision, next) = self.fetch_decoded_page(api, params).await?;
        Ok((Self::matching(options, decoded), revision, next))
    }

    /// The resources `options` selects; a custom resource we cannot read is left out, as
    /// Calico's client leaves it out: one bad object must not hide the others.
    fn matching(options: &ListOptions, decoded: Vec<Result<AnyResource>>) -> Vec<AnyResource> {
        decoded
            .into_iter()
            .filter_map(Result::ok)
            .filter(|resource| options.matches(&ResourceKey::of(resource)))
            .collect()
    }

    /// Every page of a list, from `params` on: the objects decoded (or why not) and the first
    /// page's revision.
    async fn list_decoded(
        &self,
        api: &Api<DynamicObject>,
        params: ListParams,
    ) -> Result<(Vec<Result<AnyResource>>, String)> {
        let mut params = Some(params);
        let mut items = Vec::new();
        let mut list_revision = None;
        while let Some(current) = params.take() {
            let (page, revision, next) = self.fetch_decoded_page(api, current).await?;
            if list_revision.is_none() {
                list_revision = revision;
            }
            items.extend(page);
            params = next;
        }
        Ok((items, list_revision.unwrap_or_default()))
    }

    async fn list_objects(
        &self,
        options: &ListOptions,
        revision: Option<&str>,
    ) -> Result<(Vec<AnyResource>, String)> {
        let api = self.api_for_list(options);
        let params = Self::first_page_params(options, revision);
        let (decoded, revision) = self.list_decoded(&api, params).await?;
        Ok((Self::matching(options, decoded), revision))
    }

    /// Lists every object of a cluster-scoped kind the label selector matches (all without
    /// one), keeping the objects that could not be read as their errors (the IPAM lists report
    /// them); with the list's revision.
    pub async fn list_selected(
        &self,
        label_selector: Option<String>,
    ) -> Result<(Vec<Result<AnyResource>>, String)> {
        let api = Api::all_with(self.client.clone(), &self.resource);
        let params = ListParams {
            label_selector,
            limit: Some(PAGE_SIZE),
            ..ListParams::default()
        };
        self.list_decoded(&api, params).await
    }
}

impl CrdStore {
    /// Watches every object of a cluster-scoped kind the label selector matches (all without
    /// one) for the changes after `revision`, as [`KindStore::watch`] does from a revision.
    pub async fn watch_selected(
        &self,
        label_selector: Option<String>,
        revision: &str,
    ) -> Result<WatchStream> {
        let params = WatchParams {
            label_selector,
            timeout: Some(self.watch_timeout),
            ..WatchParams::default()
        };
        let store = self.clone();
        kubeio::watch(
            &Api::all_with(self.client.clone(), &self.resource),
            params,
            revision,
            Box::new(move |object: DynamicObject| Ok(vec![store.decode_object(object)?])),
            self.clone(),
        )
        .await
    }
}

/// A decoded page: each object (or why it could not be read), the page's resourceVersion, and
/// the parameters of the next page.
type DecodedPage = (Vec<Result<AnyResource>>, Option<String>, Option<ListParams>);

#[async_trait]
impl KindStore for CrdStore {
    async fn create(&self, resource: AnyResource) -> Result<AnyResource> {
        self.check_kind(&resource)?;
        let key = ResourceKey::of(&resource);
        let mut resource = resource;
        resource.metadata_mut().resource_version.clear();
        let object = self.encode_object(&resource)?;
        let created = self
            .api_for(&key.namespace)?
            .create(&PostParams::default(), &object)
            .await
            .map_err(|e| map_error(e, Some(&key), self.op("create")))?;
        self.decode_object(created)
    }

    async fn update(&self, resource: AnyResource) -> Result<AnyResource> {
        self.check_kind(&resource)?;
        let key = ResourceKey::of(&resource);
        let api = self.api_for(&key.namespace)?;
        let object = self.encode_object(&resource)?;
        let updated = api
            .replace(&key.name, &PostParams::default(), &object)
            .await
            .map_err(|e| map_error(e, Some(&key), self.op("update")))?;
        // Like Calico's customResourceClient.Update: the main resource only. Where the CRD has
        // a status subresource the server keeps the status its controllers wrote.
        self.decode_object(updated)
    }

    async fn delete(&self, key: &ResourceKey, uid: Option<&str>) -> Result<AnyResource> {
        let api = self.api_for(&key.namespace)?;
        let existing = api
            .get(&key.name)
            .await
            .map_err(|e| map_error(e, Some(key), self.op("get")))?;
        let uid = match (uid, self.mode) {
            (None, _) => None,
            (Some(uid), Mode::V3) => Some(uid.to_string()),
            (Some(uid), Mode::V1) => Some(convert_uid(uid).unwrap_or_else(|| uid.to_string())),
        };
        let params = DeleteParams {
            preconditions: uid.map(|uid| Preconditions {
                uid: Some(uid),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        let deleted = api
            .delete(&key.name, &params)
            .await
            .map_err(|e| map_error(e, Some(key), self.op("delete")))?;
        match deleted.left() {
            Some(object) => self.decode_object(object),
            None => self.decode_object(existing),
        }
    }

    async fn get(&self, key: &ResourceKey) -> Result<AnyResource> {
        let object = self
            .api_for(&key.namespace)?
            .get(&key.name)
            .await
            .map_err(|e| map_error(e, Some(key), self.op("get")))?;
        self.decode_object(object)
    }

    async fn list(&self, options: &ListOptions, revision: Option<&str>) -> Result<ResourceList> {
        let (items, revision) = self.list_objects(options, revision).await?;
        Ok(ResourceList { items, revision })
    }

    async fn list_pages(&self, options: &ListOptions, _page_size: usize) -> Result<ResourcePages> {
        let store = self.clone();
        let options = options.clone();
        let api = self.api_for_list(&options);
        let first = Self::first_page_params(&options, None);
        let pages = futures::stream::try_unfold(
            (Some(first), None::<String>),
            move |(params, list_revision)| {
                let (store, options, api) = (store.clone(), options.clone(), api.clone());
                async move {
                    let Some(params) = params else {
                        return Ok(None);
                    };
                    let (items, revision, next) = store.fetch_page(&api, &options, params).await?;
                    // Every page carries the first page's revision, the list's snapshot.
                    let list_revision = list_revision.or(revision).unwrap_or_default();
                    let page = ResourceList {
                        items,
                        revision: list_revision.clone(),
                    };
                    Ok(Some((page, (next, Some(list_revision)))))
                }
            },
        );
        Ok(Box::pin(pages))
    }

    async fn watch(&self, options: &ListOptions, revision: Option<&str>) -> Result<WatchStream> {
        let Some(revision) = watch_start(revision) else {
            let list = self.list(options, None).await?;
            return listing_first(self, options, list).await;
        };
        let params = WatchParams {
            field_selector: Self::name_selector(options),
            timeout: Some(self.watch_timeout),
            ..WatchParams::default()
        };
        let store = self.clone();
        let filter = options.clone();
        kubeio::watch(
            &self.api_for_list(options),
            params,
            revision,
            Box::new(move |object: DynamicObject| {
                // A conversion failure is reported and the watch goes on, as Calico's
                // watcher does.
                let resource = store.decode_object(object)?;
                Ok(if filter.matches(&ResourceKey::of(&resource)) {
                    vec![resource]
                } else {
                    Vec::new()
                })
            }),
            self.clone(),
        )
        .await
    }
}

/// 410 Gone/Expired is [`DatastoreError::Compacted`] (see [`crate::error`]).
impl kubeio::WatchErrors for CrdStore {
    fn kube_error(&self, err: kube::Error) -> DatastoreError {
        map_error(err, None, self.op("watch"))
    }

    fn status_error(&self, status: &kube::core::Status) -> DatastoreError {
        map_status(status, None, self.op("watch"))
    }
}

#[cfg(test)]
mod tests;
