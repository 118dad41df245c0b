//! The in-memory object store: one global resourceVersion, an event log for watches, and the
//! create/update/patch/delete semantics of the apiserver's generic registry.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine as _;
use serde_json::{json, Map, Value};
use tokio::sync::broadcast;

use crate::resources::{self, ResourceDef};
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::ApiError;

/// Namespaces that exist from the start, as in a fresh cluster.
pub const INITIAL_NAMESPACES: [&str; 4] =
    ["default", "kube-node-lease", "kube-public", "kube-system"];

/// Watch event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Object created.
    Added,
    /// Object changed.
    Modified,
    /// Object removed.
    Deleted,
}

impl EventType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as kept in the event log and broadcast to live watches.
#[derive(Debug, Clone)]
pub struct Event {
    /// resourceVersion of the change.
    pub rv: u64,
    /// Storage key (`group/plural`).
    pub key: String,
    /// What happened.
    pub kind: EventType,
    /// The object after the change (for DELETED: the last state, with the deletion's RV).
    pub object: Value,
    /// The object before a MODIFIED change (to turn selector transitions into ADDED/DELETED).
    pub old: Option<Value>,
}

/// List options parsed from the query string.
#[derive(Debug, Default, Clone)]
pub struct ListOptions {
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// `limit` (0 = no limit).
    pub limit: usize,
    /// `continue` token.
    pub continue_token: Option<String>,
}

/// Which filters a watch applies.
#[derive(Debug, Clone)]
pub struct WatchFilter {
    /// Storage key of the watched resource.
    pub key: String,
    /// Namespace, if the watch is namespaced.
    pub namespace: Option<String>,
    /// Label selector.
    pub labels: LabelSelector,
    /// Field selector.
    pub fields: FieldSelector,
}

impl WatchFilter {
    fn object_matches(&self, obj: &Value) -> bool {
        if let Some(ns) = &self.namespace {
            if meta_str(obj, "namespace") != *ns {
                return false;
            }
        }
        self.labels.matches(obj) && self.fields.matches(obj)
    }

    /// The event type this watch sees for an event, if any (selector transitions become ADDED/DELETED).
    pub fn project(&self, ev: &Event) -> Option<EventType> {
        if ev.key != self.key {
            return None;
        }
        let now = self.object_matches(&ev.object);
        match (ev.kind, &ev.old) {
            (EventType::Modified, Some(old)) => match (self.object_matches(old), now) {
                (true, true) => Some(EventType::Modified),
                (false, true) => Some(EventType::Added),
                (true, false) => Some(EventType::Deleted),
                (false, false) => None,
            },
            (k, _) => now.then_some(k),
        }
    }
}

/// What a watch starts with.
pub struct WatchStart {
    /// Events to send first (replayed from the log, or synthetic ADDED for the current state).
    pub initial: Vec<(EventType, Value)>,
    /// Live events from here on.
    pub live: broadcast::Receiver<Arc<Event>>,
}

/// The storage key of one object: its namespace (empty for cluster-scoped kinds) and name.
fn object_key(def: &ResourceDef, ns: Option<&str>, name: &str) -> (String, String) {
    let ns = if def.namespaced {
        ns.unwrap_or_default()
    } else {
        ""
    };
    (ns.to_string(), name.to_string())
}

struct State {
    rv: u64,
    objects: HashMap<String, BTreeMap<(String, String), Value>>,
    crd_defs: Vec<ResourceDef>,
    log: VecDeque<Arc<Event>>,
    /// Events with rv <= floor have been dropped from the log.
    log_floor: u64,
    log_capacity: usize,
}

impl State {
    /// A copy of a stored object, or the apiserver's NotFound.
    fn stored(
        &self,
        def: &ResourceDef,
        key: &(String, String),
        name: &str,
    ) -> Result<Value, ApiError> {
        self.objects
            .get(&def.storage_key())
            .and_then(|m| m.get(key))
            .cloned()
            .ok_or_else(|| ApiError::not_found(def, name))
    }
}

/// The shared store.
pub struct Store {
    state: Mutex<State>,
    tx: broadcast::Sender<Arc<Event>>,
    builtins: Vec<ResourceDef>,
}

/// `metadata.<field>` as a string ("" when absent).
pub fn meta_str(obj: &Value, field: &str) -> String {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn meta_mut(obj: &mut Value) -> Result<&mut Map<String, Value>, ApiError> {
    let o = obj
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("the body of the request is not a JSON object"))?;
    let m = o.entry("metadata").or_insert_with(|| json!({}));
    if !m.is_object() {
        *m = json!({});
    }
    m.as_object_mut()
        .ok_or_else(|| ApiError::internal("metadata is not an object"))
}

pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Kubernetes' `IsDNS1123Subdomain`: at most 253 characters matching its regex; unlike a
/// label, a part between dots may be longer than 63 (the API server takes
/// `k8s-pod-network.<64-hex container id>` as a name).
fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
}

fn validate_name(def: &ResourceDef, obj: &Value, name: &str) -> Result<(), ApiError> {
    let ok = if def.is_namespace() {
        is_dns_label(name)
    } else {
        is_dns_subdomain(name)
    };
    if !ok {
        let msg = if def.is_namespace() {
            DNS1123_LABEL_MSG
        } else {
            DNS1123_SUBDOMAIN_MSG
        };
        return Err(ApiError::invalid(
            def,
            name,
            &[(
                "metadata.name",
                "FieldValueInvalid",
                format!("Invalid value: \"{name}\": {msg}"),
            )],
        ));
    }
    if def.is_crd() {
        let plural = obj
            .pointer("/spec/names/plural")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let group = obj
            .pointer("/spec/group")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if name != format!("{plural}.{group}") {
            return Err(ApiError::invalid(
                def,
                name,
                &[(
                    "metadata.name",
                    "FieldValueInvalid",
                    format!(
                        "Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"
                    ),
                )],
            ));
        }
    }
    Ok(())
}

fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    uuid::Uuid::new_v4().as_bytes()[..5]
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// Everything but metadata and status: a change here bumps `generation`.
fn spec_part(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("metadata");
        o.remove("status");
        o.remove("apiVersion");
        o.remove("kind");
    }
    v
}

fn without_rv(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
    }
    v
}

/// Adds the fields a real apiserver fills in for a few kinds.
fn apply_kind_defaults(def: &ResourceDef, obj: &mut Value) {
    if def.is_namespace() {
        if obj.pointer("/spec/finalizers").is_none() {
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
        }
        obj["status"] = json!({"phase": "Active"});
        let name = meta_str(obj, "name");
        if let Ok(m) = meta_mut(obj) {
            let labels = m.entry("labels").or_insert_with(|| json!({}));
            if let Some(l) = labels.as_object_mut() {
                l.insert("kubernetes.io/metadata.name".into(), json!(name));
            }
        }
    }
    if def.is_crd() {
        let names = obj
            .pointer("/spec/names")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let stored: Vec<Value> = obj
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .map(|vs| {
                vs.iter()
                    .filter(|v| v.get("storage") == Some(&json!(true)))
                    .filter_map(|v| v.get("name").cloned())
                    .collect()
            })
            .unwrap_or_default();
        let now = now_rfc3339();
        obj["status"] = json!({
            "acceptedNames": names,
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "lastTransitionTime": now, "reason": "NoConflicts", "message": "no conflicts found"},
                {"type": "Established", "status": "True", "lastTransitionTime": now, "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"},
            ],
            "storedVersions": stored,
        });
    }
}

impl Store {
    /// A store with the initial namespaces and an event log of `log_capacity` events.
    pub fn new(log_capacity: usize) -> Arc<Self> {
        let (tx, _) = broadcast::channel(4096);
        let store = Arc::new(Store {
            state: Mutex::new(State {
                rv: 0,
                objects: HashMap::new(),
                crd_defs: Vec::new(),
                log: VecDeque::new(),
                log_floor: 0,
                log_capacity: log_capacity.max(1),
            }),
            tx,
            builtins: resources::builtins(),
        });
        if let Some(ns_def) = store.builtins.iter().find(|d| d.is_namespace()).cloned() {
            for ns in INITIAL_NAMESPACES {
                // Cannot fail: the names are valid and the store is empty.
                let _ = store.create(&ns_def, None, json!({"metadata": {"name": ns}}));
            }
        }
        store
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every write is one insert).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current global resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    /// Drops every event from the log (later watches from an older resourceVersion get 410).
    pub fn compact(&self) {
        let mut st = self.lock();
        st.log.clear();
        st.log_floor = st.rv;
    }

    /// All servable resources: built-ins followed by CRD-defined ones.
    pub fn all_defs(&self) -> Vec<ResourceDef> {
        let st = self.lock();
        self.builtins
            .iter()
            .cloned()
            .chain(st.crd_defs.iter().cloned())
            .collect()
    }

    /// Whether `def` is served because a CRD declares it.
    pub fn is_custom(&self, def: &ResourceDef) -> bool {
        !self
            .builtins
            .iter()
            .any(|b| b.group == def.group && b.plural == def.plural)
    }

    /// Finds a resource by group, version and plural.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<ResourceDef> {
        self.all_defs()
            .into_iter()
            .find(|d| d.group == group && d.version == version && d.plural == plural)
    }

    fn record(
        &self,
        st: &mut State,
        key: String,
        kind: EventType,
        object: Value,
        old: Option<Value>,
    ) {
        let ev = Arc::new(Event {
            rv: st.rv,
            key,
            kind,
            object,
            old,
        });
        st.log.push_back(ev.clone());
        while st.log.len() > st.log_capacity {
            if let Some(dropped) = st.log.pop_front() {
                st.log_floor = dropped.rv;
            }
        }
        // No receivers is fine.
        let _ = self.tx.send(ev);
    }

    fn refresh_crds(&self, st: &mut State) {
        let crd_key = "apiextensions.k8s.io/customresourcedefinitions";
        st.crd_defs = st
            .objects
            .get(crd_key)
            .map(|m| m.values().flat_map(resources::from_crd).collect())
            .unwrap_or_default();
    }

    fn with_version(def: &ResourceDef, mut obj: Value) -> Value {
        if let Some(o) = obj.as_object_mut() {
            o.insert("apiVersion".into(), json!(def.api_version()));
            o.insert("kind".into(), json!(def.kind));
        }
        obj
    }

    /// A custom resource's schema defaults, filled in as the API server fills them in.
    fn default_fields(def: &ResourceDef, obj: &mut Value) {
        if let Some(schema) = &def.schema {
            resources::apply_defaults(schema, obj);
        }
    }

    fn check_type(def: &ResourceDef, obj: &Value) -> Result<(), ApiError> {
        if let Some(av) = obj.get("apiVersion").and_then(Value::as_str) {
            if !av.is_empty() && av != def.api_version() {
                return Err(ApiError::bad_request(format!(
                    "the API version in the data ({av}) does not match the expected API version ({})",
                    def.api_version()
                )));
            }
        }
        if let Some(k) = obj.get("kind").and_then(Value::as_str) {
            if !k.is_empty() && k != def.kind {
                return Err(ApiError::bad_request(format!(
                    "the kind in the data ({k}) does not match the expected kind ({})",
                    def.kind
                )));
            }
        }
        Ok(())
    }

    /// Lists objects (all namespaces when `ns` is None).
    pub fn list(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        opts: &ListOptions,
    ) -> Result<Value, ApiError> {
        let st = self.lock();
        let start_after = match &opts.continue_token {
            Some(tok) => Some(decode_continue(tok)?),
            None => None,
        };
        let empty = BTreeMap::new();
        let objects = st.objects.get(&def.storage_key()).unwrap_or(&empty);
        let mut matching = objects
            .iter()
            .filter(|((ons, _), _)| ns.is_none_or(|n| n == ons))
            .filter(|(k, _)| start_after.as_ref().is_none_or(|s| *k > s))
            .filter(|(_, o)| opts.labels.matches(o) && opts.fields.matches(o));
        let mut items = Vec::new();
        let mut truncated = false;
        for (_, o) in matching.by_ref() {
            if opts.limit > 0 && items.len() == opts.limit {
                truncated = true;
                break;
            }
            items.push(Self::with_version(def, o.clone()));
        }
        let mut metadata = json!({"resourceVersion": st.rv.to_string()});
        if truncated {
            // One item past the page was consumed: continue after the last one returned.
            let last_returned = items
                .last()
                .map(|o| (meta_str(o, "namespace"), meta_str(o, "name")))
                .unwrap_or_default();
            metadata["continue"] = json!(encode_continue(&last_returned, st.rv));
            if opts.labels.is_empty() && opts.fields.is_empty() {
                metadata["remainingItemCount"] = json!(1 + matching.count());
            }
        }
        Ok(json!({
            "kind": format!("{}List", def.kind),
            "apiVersion": def.api_version(),
            "metadata": metadata,
            "items": items,
        }))
    }

    /// Gets one object.
    pub fn get(&self, def: &ResourceDef, ns: Option<&str>, name: &str) -> Result<Value, ApiError> {
        let st = self.lock();
        st.stored(def, &object_key(def, ns, name), name)
            .map(|o| Self::with_version(def, o))
    }

    /// Creates an object (POST).
    pub fn create(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        mut obj: Value,
    ) -> Result<Value, ApiError> {
        Self::check_type(def, &obj)?;
        Self::default_fields(def, &mut obj);
        let meta = meta_mut(&mut obj)?;
        let body_ns = meta
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let namespace = if def.namespaced {
            let url_ns = ns.unwrap_or_default();
            if !body_ns.is_empty() && body_ns != url_ns {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            meta.insert("namespace".into(), json!(url_ns));
            url_ns.to_string()
        } else {
            meta.remove("namespace");
            String::new()
        };
        let mut name = meta
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if name.is_empty() {
            let gen = meta
                .get("generateName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if gen.is_empty() {
                return Err(ApiError::invalid(
                    def,
                    "",
                    &[(
                        "metadata.name",
                        "FieldValueRequired",
                        "Required value: name or generateName is required".into(),
                    )],
                ));
            }
            name = format!("{gen}{}", random_suffix());
            meta.insert("name".into(), json!(name));
        }
        for f in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "selfLink",
        ] {
            meta.remove(f);
        }
        validate_name(def, &obj, &name)?;
        if def.status_subresource && !def.group.is_empty() && !def.is_crd() {
            if let Some(o) = obj.as_object_mut() {
                o.remove("status");
            }
        }
        apply_kind_defaults(def, &mut obj);

        let mut st = self.lock();
        if def.namespaced {
            let ns_exists = st
                .objects
                .get("/namespaces")
                .is_some_and(|m| m.contains_key(&(String::new(), namespace.clone())));
            if !ns_exists {
                return Err(ApiError::namespace_not_found(&namespace));
            }
        }
        let key = (namespace, name.clone());
        if st
            .objects
            .get(&def.storage_key())
            .is_some_and(|m| m.contains_key(&key))
        {
            return Err(ApiError::already_exists(def, &name));
        }
        st.rv += 1;
        let rv = st.rv;
        let meta = meta_mut(&mut obj)?;
        meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
        meta.insert("creationTimestamp".into(), json!(now_rfc3339()));
        if !def.is_namespace() {
            meta.insert("generation".into(), json!(1));
        }
        let obj = Self::with_version(def, obj);
        st.objects
            .entry(def.storage_key())
            .or_default()
            .insert(key, obj.clone());
        self.record(
            &mut st,
            def.storage_key(),
            EventType::Added,
            obj.clone(),
            None,
        );
        if def.is_crd() {
            self.refresh_crds(&mut st);
        }
        Ok(obj)
    }

    /// Replaces an object (PUT), or only its status when `status` is set.
    pub fn update(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        obj: Value,
        status: bool,
    ) -> Result<Value, ApiError> {
        Self::check_type(def, &obj)?;
        let mut st = self.lock();
        self.update_locked(&mut st, def, ns, name, obj, status)
    }

    fn update_locked(
        &self,
        st: &mut State,
        def: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        mut obj: Value,
        status: bool,
    ) -> Result<Value, ApiError> {
        Self::default_fields(def, &mut obj);
        let key = object_key(def, ns, name);
        let ns = key.0.clone();
        let body_name = meta_str(&obj, "name");
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let body_ns = meta_str(&obj, "namespace");
        if def.namespaced && !body_ns.is_empty() && body_ns != ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let old = st.stored(def, &key, name)?;
        let body_rv = meta_str(&obj, "resourceVersion");
        if body_rv.is_empty() && self.is_custom(def) {
            // The apiserver allows unconditional updates only for built-in kinds.
            return Err(ApiError::invalid(
                def,
                name,
                &[(
                    "metadata.resourceVersion",
                    "FieldValueInvalid",
                    "Invalid value: 0x0: must be specified for an update".into(),
                )],
            ));
        }
        if !body_rv.is_empty() && body_rv != meta_str(&old, "resourceVersion") {
            return Err(ApiError::modified(def, name));
        }
        let body_uid = meta_str(&obj, "uid");
        if !body_uid.is_empty() && body_uid != meta_str(&old, "uid") {
            return Err(ApiError::invalid(
                def,
                name,
                &[(
                    "metadata.uid",
                    "FieldValueInvalid",
                    format!("Invalid value: \"{body_uid}\": field is immutable"),
                )],
            ));
        }
        if status {
            // Status writes change only the status; for built-in kinds (Pods, Nodes) also the
            // labels and annotations, as the API server's status strategies allow (Calico
            // writes a pod's IP annotations and a node's BGP annotations this way).
            let new_status = obj.get("status").cloned();
            let new_meta = obj.get("metadata").cloned();
            obj = old.clone();
            if let Some(o) = obj.as_object_mut() {
                match new_status {
                    Some(s) => o.insert("status".into(), s),
                    None => o.remove("status"),
                };
            }
            if !self.is_custom(def) {
                if let (Some(new_meta), Some(meta)) = (
                    new_meta,
                    obj.get_mut("metadata").and_then(Value::as_object_mut),
                ) {
                    for field in ["labels", "annotations"] {
                        match new_meta.get(field) {
                            Some(v) => meta.insert(field.into(), v.clone()),
                            None => meta.remove(field),
                        };
                    }
                }
            }
        } else if def.status_subresource {
            // Main-resource writes keep the stored status.
            if let Some(o) = obj.as_object_mut() {
                match old.get("status") {
                    Some(s) => o.insert("status".into(), s.clone()),
                    None => o.remove("status"),
                };
            }
        }
        // Server-owned metadata is kept from the stored object.
        let old_meta = old.get("metadata").cloned().unwrap_or_else(|| json!({}));
        let meta = meta_mut(&mut obj)?;
        meta.insert("name".into(), json!(name));
        if def.namespaced {
            meta.insert("namespace".into(), json!(ns));
        } else {
            meta.remove("namespace");
        }
        for f in [
            "uid",
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
        ] {
            match old_meta.get(f) {
                Some(v) => meta.insert(f.into(), v.clone()),
                None => meta.remove(f),
            };
        }
        meta.insert(
            "resourceVersion".into(),
            old_meta
                .get("resourceVersion")
                .cloned()
                .unwrap_or(Value::Null),
        );
        if def.is_namespace() {
            if let Some(l) = meta
                .entry("labels")
                .or_insert_with(|| json!({}))
                .as_object_mut()
            {
                l.insert("kubernetes.io/metadata.name".into(), json!(name));
            }
        }
        let mut obj = Self::with_version(def, obj);
        if without_rv(&obj) == without_rv(&Self::with_version(def, old.clone())) {
            // A no-op write does not bump the resourceVersion.
            return Ok(Self::with_version(def, old));
        }
        st.rv += 1;
        let rv = st.rv;
        let spec_changed = spec_part(&obj) != spec_part(&old);
        let meta = meta_mut(&mut obj)?;
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
        if spec_changed && !def.is_namespace() {
            let gen = old_meta
                .get("generation")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                + 1;
            meta.insert("generation".into(), json!(gen));
        }
        st.objects
            .entry(def.storage_key())
            .or_default()
            .insert(key, obj.clone());
        self.record(
            st,
            def.storage_key(),
            EventType::Modified,
            obj.clone(),
            Some(old),
        );
        if def.is_crd() {
            self.refresh_crds(st);
        }
        Ok(obj)
    }

    /// Patches an object with a merge patch or a JSON patch.
    pub fn patch(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        kind: PatchKind,
        patch: &Value,
        status: bool,
    ) -> Result<Value, ApiError> {
        let mut st = self.lock();
        let key = object_key(def, ns, name);
        let current = st.stored(def, &key, name)?;
        let mut doc = Self::with_version(def, current.clone());
        match kind {
            PatchKind::Merge => json_patch::merge(&mut doc, patch),
            PatchKind::Json => {
                let p: json_patch::Patch = serde_json::from_value(patch.clone()).map_err(|e| {
                    ApiError::bad_request(format!("json: cannot unmarshal the patch: {e}"))
                })?;
                json_patch::patch(&mut doc, &p).map_err(|e| ApiError {
                    code: 422,
                    reason: "Invalid",
                    message: format!(
                        "the server rejected our request due to an error in our request: {e}"
                    ),
                    details: None,
                })?;
            }
        }
        Self::check_type(def, &doc)?;
        self.update_locked(&mut st, def, ns, name, doc, status)
    }

    /// Deletes an object, returning it; `preconditions` are the uid/resourceVersion a DeleteOptions body may carry.
    pub fn delete(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        preconditions: (Option<String>, Option<String>),
    ) -> Result<Value, ApiError> {
        let mut st = self.lock();
        let key = object_key(def, ns, name);
        let current = st.stored(def, &key, name)?;
        if let Some(uid) = preconditions.0 {
            let actual = meta_str(&current, "uid");
            if uid != actual {
                return Err(ApiError::conflict(
                    def,
                    name,
                    &format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"),
                ));
            }
        }
        if let Some(rv) = preconditions.1 {
            let actual = meta_str(&current, "resourceVersion");
            if rv != actual {
                return Err(ApiError::conflict(
                    def,
                    name,
                    &format!("Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {actual}"),
                ));
            }
        }
        let deleted = self.remove_locked(&mut st, &def.storage_key(), &key);
        if def.is_namespace() {
            // Namespace deletion removes everything in it (immediately, no Terminating phase).
            let keys: Vec<String> = st.objects.keys().cloned().collect();
            for k in keys {
                let inner: Vec<(String, String)> = st
                    .objects
                    .get(&k)
                    .map(|m| m.keys().filter(|(ons, _)| *ons == name).cloned().collect())
                    .unwrap_or_default();
                for ik in inner {
                    self.remove_locked(&mut st, &k, &ik);
                }
            }
        }
        if def.is_crd() {
            let plural = current
                .pointer("/spec/names/plural")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let group = current
                .pointer("/spec/group")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let k = format!("{group}/{plural}");
            let inner: Vec<(String, String)> = st
                .objects
                .get(&k)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            for ik in inner {
                self.remove_locked(&mut st, &k, &ik);
            }
            st.objects.remove(&k);
            self.refresh_crds(&mut st);
        }
        deleted
            .map(|o| Self::with_version(def, o))
            .ok_or_else(|| ApiError::not_found(def, name))
    }

    fn remove_locked(&self, st: &mut State, skey: &str, key: &(String, String)) -> Option<Value> {
        let mut obj = st.objects.get_mut(skey)?.remove(key)?;
        st.rv += 1;
        let rv = st.rv;
        if let Ok(m) = meta_mut(&mut obj) {
            m.insert("resourceVersion".into(), json!(rv.to_string()));
        }
        self.record(st, skey.to_string(), EventType::Deleted, obj.clone(), None);
        Some(obj)
    }

    /// Starts a watch: replay from `rv` (None or 0: synthetic ADDED events for the current state).
    pub fn watch(
        &self,
        def: &ResourceDef,
        filter: &WatchFilter,
        rv: Option<u64>,
    ) -> Result<WatchStart, ApiError> {
        let st = self.lock();
        // Subscribing under the lock: no event can fall between replay and live.
        let live = self.tx.subscribe();
        let initial = match rv {
            None | Some(0) => st
                .objects
                .get(&filter.key)
                .map(|m| {
                    m.values()
                        .filter(|o| filter.object_matches(o))
                        .map(|o| (EventType::Added, Self::with_version(def, o.clone())))
                        .collect()
                })
                .unwrap_or_default(),
            Some(n) => {
                if n < st.log_floor {
                    let oldest = st.log.front().map(|e| e.rv).unwrap_or(st.rv + 1);
                    return Err(ApiError::expired(n, oldest.saturating_sub(1)));
                }
                st.log
                    .iter()
                    .filter(|e| e.rv > n)
                    .filter_map(|e| {
                        filter
                            .project(e)
                            .map(|t| (t, Self::with_version(def, e.object.clone())))
                    })
                    .collect()
            }
        };
        Ok(WatchStart { initial, live })
    }
}

/// Supported PATCH content types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/merge-patch+json` (and strategic merge patch on built-ins, approximated).
    Merge,
    /// `application/json-patch+json`.
    Json,
}

fn encode_continue(last: &(String, String), rv: u64) -> String {
    let start = format!("{}/{}\u{0}", last.0, last.1);
    let tok = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": start});
    base64::engine::general_purpose::URL_SAFE.encode(tok.to_string())
}

fn decode_continue(tok: &str) -> Result<(String, String), ApiError> {
    let bad = |why: &str| ApiError::bad_request(format!("continue key is not valid: {why}"));
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(tok)
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(tok))
        .map_err(|_| bad("illegal base64 data"))?;
    let v: Value = serde_json::from_slice(&raw)
        .map_err(|_| bad("incorrect encoded start resourceVersion (version meta.k8s.io/v1)"))?;
    let start = v
        .get("start")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("missing start"))?;
    let start = start.trim_end_matches('\u{0}');
    let (ns, name) = start
        .split_once('/')
        .ok_or_else(|| bad("malformed start"))?;
    Ok((ns.to_string(), name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pools() -> ResourceDef {
        ResourceDef {
            group: "crd.projectcalico.org".into(),
            version: "v1".into(),
            plural: "ippools".into(),
            singular: "ippool".into(),
            kind: "IPPool".into(),
            namespaced: false,
            short_names: vec![],
            categories: vec![],
            status_subresource: false,
            printer_columns: vec![],
            schema: None,
        }
    }

    #[test]
    fn create_update_conflict_generation() {
        let s = Store::new(100);
        let d = pools();
        let a = s
            .create(
                &d,
                None,
                json!({"metadata": {"name": "a"}, "spec": {"cidr": "10.0.0.0/16"}}),
            )
            .unwrap();
        assert_eq!(a["metadata"]["generation"], 1);
        let rv = meta_str(&a, "resourceVersion");
        let mut b = a.clone();
        b["spec"]["cidr"] = json!("10.1.0.0/16");
        let b = s.update(&d, None, "a", b, false).unwrap();
        assert_eq!(b["metadata"]["generation"], 2);
        assert!(
            meta_str(&b, "resourceVersion").parse::<u64>().unwrap() > rv.parse::<u64>().unwrap()
        );
        let err = s.update(&d, None, "a", a, false).unwrap_err();
        assert_eq!(err.code, 409);
        // Label-only change keeps the generation.
        let mut c = b.clone();
        c["metadata"]["labels"] = json!({"x": "y"});
        let c = s.update(&d, None, "a", c, false).unwrap();
        assert_eq!(c["metadata"]["generation"], 2);
        // No-op update keeps the resourceVersion.
        let same = s.update(&d, None, "a", c.clone(), false).unwrap();
        assert_eq!(
            same["metadata"]["resourceVersion"],
            c["metadata"]["resourceVersion"]
        );
    }

    #[test]
    fn continue_tokens_round_trip() {
        let tok = encode_continue(&("ns".into(), "a".into()), 7);
        assert_eq!(decode_continue(&tok).unwrap(), ("ns".into(), "a".into()));
        assert_eq!(decode_continue("!!").unwrap_err().code, 400);
    }

    #[test]
    fn dns_names() {
        assert!(is_dns_subdomain("a.b-c.d"));
        // A part may be longer than a label (a CNI handle with a 64-hex container id).
        assert!(is_dns_subdomain(&format!(
            "k8s-pod-network.{}",
            "ab".repeat(32)
        )));
        assert!(!is_dns_subdomain(&"a".repeat(254)));
        assert!(!is_dns_subdomain("A"));
        assert!(!is_dns_subdomain("a..b"));
        assert!(!is_dns_label("a.b"));
    }
}
