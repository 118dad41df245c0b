//! Request routing: discovery, the resource verbs, watch streams, auth.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc, watch};

use crate::resources::ResourceDef;
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use crate::store::{meta_str, ListOptions, PatchKind, Store, WatchFilter};

/// Largest request body accepted (CRDs with big schemas are a few hundred KiB).
const MAX_BODY: usize = 32 * 1024 * 1024;

/// Marker put in request extensions when the connection presented a verified client certificate.
#[derive(Debug, Clone, Copy)]
pub struct ClientCertAuthenticated;

/// Shared state of the HTTP layer.
pub struct App {
    /// The object store.
    pub store: Arc<Store>,
    /// Bearer token required, if configured.
    pub token: Option<String>,
    /// `VERB:RESOURCE` rules refused with 403 (see [`crate::Config::forbid`]).
    pub forbid: Vec<String>,
    /// `host:port` the server listens on (for `/api`'s serverAddressByClientCIDRs).
    pub address: String,
    /// Flips to true on shutdown; ends watch streams.
    pub shutdown: watch::Receiver<bool>,
    /// Every request as `METHOD /path?query`, when recording (see
    /// [`crate::Config::record_requests`]).
    pub requests: Option<Arc<std::sync::Mutex<Vec<String>>>>,
}

fn json_response(code: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.code, &self.to_status())
    }
}

fn parse_query(q: Option<&str>) -> HashMap<String, String> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

fn authorized(app: &App, req: &Request) -> bool {
    let Some(token) = &app.token else { return true };
    if req.extensions().get::<ClientCertAuthenticated>().is_some() {
        return true;
    }
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .is_some_and(|t| t.trim() == token)
}

/// The RBAC view of a request: verb, group, plural and namespace, for resource requests only.
fn rbac_request<'a>(
    method: &Method,
    path: &'a str,
    query: &HashMap<String, String>,
) -> Option<(&'static str, &'a str, &'a str, Option<&'a str>)> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, rest) = match segs.as_slice() {
        ["api", "v1", rest @ ..] => ("", rest),
        ["apis", group, _version, rest @ ..] => (*group, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some(*ns), rest),
        _ => (None, rest),
    };
    let (plural, named) = match rest {
        [plural] => (*plural, false),
        [plural, _name, ..] => (*plural, true),
        [] => return None,
    };
    let watching = matches!(query.get("watch").map(String::as_str), Some("true" | "1"));
    let verb = match *method {
        Method::GET if watching => "watch",
        Method::GET if named => "get",
        Method::GET => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        _ => return None,
    };
    Some((verb, group, plural, namespace))
}

fn forbidden(app: &App, req: &Request, query: &HashMap<String, String>) -> Option<ApiError> {
    if app.forbid.is_empty() {
        return None;
    }
    let (verb, group, plural, namespace) = rbac_request(req.method(), req.uri().path(), query)?;
    let resource = if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    };
    let refused = app.forbid.iter().any(|rule| {
        rule.split_once(':')
            .is_some_and(|(v, r)| (v == "*" || v == verb) && (r == "*" || r == resource))
    });
    let user = if req.extensions().get::<ClientCertAuthenticated>().is_some() {
        "kube-emulator-admin"
    } else if app.token.is_some() {
        "kube-emulator-token"
    } else {
        "system:anonymous"
    };
    refused.then(|| ApiError::forbidden(user, verb, group, plural, namespace))
}

/// The single axum handler: everything is routed here.
pub async fn handle(State(app): State<Arc<App>>, req: Request) -> Response {
    if !authorized(&app, &req) {
        return ApiError::unauthorized().into_response();
    }
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if let Some(requests) = &app.requests {
        let line = match req.uri().query() {
            Some(query) => format!("{method} {path}?{query}"),
            None => format!("{method} {path}"),
        };
        if let Ok(mut requests) = requests.lock() {
            requests.push(line);
        }
    }
    let query = parse_query(req.uri().query());
    if let Some(refusal) = forbidden(&app, &req, &query) {
        return refusal.into_response();
    }
    let headers = req.headers().clone();
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            return ApiError::bad_request(format!("reading the request body: {e}")).into_response()
        }
    };
    match route(&app, &method, &path, &query, &headers, &body) {
        Ok(Routed::Json(code, v)) => json_response(code, &v),
        Ok(Routed::Watch(w)) => watch_response(&app, *w),
        Ok(Routed::Text(code, s)) => {
            (StatusCode::from_u16(code).unwrap_or(StatusCode::OK), s).into_response()
        }
        Err(e) => e.into_response(),
    }
}

enum Routed {
    Json(u16, Value),
    Text(u16, String),
    Watch(Box<WatchRequest>),
}

fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0-kube-emulator",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.23.4",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

fn resource_list(defs: &[ResourceDef], group_version: &str) -> Value {
    let resources: Vec<Value> = defs
        .iter()
        .flat_map(ResourceDef::discovery_entries)
        .collect();
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources})
}

fn api_group(defs: &[ResourceDef], group: &str) -> Option<Value> {
    let mut versions: Vec<String> = Vec::new();
    for d in defs.iter().filter(|d| d.group == group) {
        if !versions.contains(&d.version) {
            versions.push(d.version.clone());
        }
    }
    let first = versions.first()?.clone();
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    Some(json!({
        "name": group,
        "versions": vs,
        "preferredVersion": {"groupVersion": format!("{group}/{first}"), "version": first},
    }))
}

fn group_list(defs: &[ResourceDef]) -> Value {
    let mut groups: Vec<String> = Vec::new();
    for d in defs.iter().filter(|d| !d.group.is_empty()) {
        if !groups.contains(&d.group) {
            groups.push(d.group.clone());
        }
    }
    let groups: Vec<Value> = groups.iter().filter_map(|g| api_group(defs, g)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn route(
    app: &App,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Routed, ApiError> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let defs = app.store.all_defs();
    let get_only = |v: Value| {
        if method == Method::GET {
            Ok(Routed::Json(200, v))
        } else {
            Err(ApiError::method_not_allowed())
        }
    };
    match segs.as_slice() {
        ["version"] => get_only(version_info()),
        ["healthz"] | ["livez"] | ["readyz"] => Ok(Routed::Text(200, "ok".into())),
        ["api"] => get_only(json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": app.address}],
        })),
        ["api", "v1"] => {
            let core: Vec<ResourceDef> = defs
                .iter()
                .filter(|d| d.group.is_empty())
                .cloned()
                .collect();
            get_only(resource_list(&core, "v1"))
        }
        ["apis"] => get_only(group_list(&defs)),
        ["apis", group] => {
            let mut g = api_group(&defs, group).ok_or_else(ApiError::no_resource)?;
            g["kind"] = json!("APIGroup");
            g["apiVersion"] = json!("v1");
            get_only(g)
        }
        ["apis", group, version] => {
            let gv: Vec<ResourceDef> = defs
                .iter()
                .filter(|d| d.group == *group && d.version == *version)
                .cloned()
                .collect();
            if gv.is_empty() {
                return Err(ApiError::no_resource());
            }
            get_only(resource_list(&gv, &format!("{group}/{version}")))
        }
        ["openapi", "v3"] => get_only(crate::openapi::root(&defs, app.store.current_rv())),
        ["openapi", "v3", gv @ ..] => {
            let doc = crate::openapi::group_version(&defs, &gv.join("/"))
                .ok_or_else(ApiError::no_resource)?;
            get_only(doc)
        }
        ["api", "v1", rest @ ..] => {
            resource(app, &defs, "", "v1", rest, method, query, headers, body)
        }
        ["apis", group, version, rest @ ..] => resource(
            app, &defs, group, version, rest, method, query, headers, body,
        ),
        _ => Err(ApiError::no_resource()),
    }
}

struct Target<'a> {
    def: ResourceDef,
    ns: Option<&'a str>,
    name: Option<&'a str>,
    status: bool,
}

fn resolve<'a>(
    defs: &[ResourceDef],
    group: &str,
    version: &str,
    rest: &[&'a str],
) -> Result<Target<'a>, ApiError> {
    let find = |plural: &str| {
        defs.iter()
            .find(|d| d.group == group && d.version == version && d.plural == plural)
            .cloned()
    };
    let (def, ns, tail) = match rest {
        ["namespaces", ns, plural, tail @ ..] if find(plural).is_some_and(|d| d.namespaced) => (
            find(plural).ok_or_else(ApiError::no_resource)?,
            Some(*ns),
            tail,
        ),
        [plural, tail @ ..] => (find(plural).ok_or_else(ApiError::no_resource)?, None, tail),
        [] => return Err(ApiError::no_resource()),
    };
    let (name, status) = match tail {
        [] => (None, false),
        [name] => (Some(*name), false),
        [name, "status"] if def.status_subresource => (Some(*name), true),
        _ => return Err(ApiError::no_resource()),
    };
    Ok(Target {
        def,
        ns,
        name,
        status,
    })
}

fn parse_body(headers: &HeaderMap, body: &Bytes) -> Result<Value, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if ct.starts_with("application/vnd.kubernetes.protobuf") {
        return crate::proto::decode(body);
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "Object 'Kind' is missing in '{}': {e}",
            String::from_utf8_lossy(body)
        ))
    })
}

fn wants_table(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|h| h.to_str().ok())
        .and_then(|a| a.split(',').next())
        .is_some_and(|first| first.contains("as=Table"))
}

#[allow(clippy::too_many_arguments)]
fn resource(
    app: &App,
    defs: &[ResourceDef],
    group: &str,
    version: &str,
    rest: &[&str],
    method: &Method,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Routed, ApiError> {
    let t = resolve(defs, group, version, rest)?;
    let store = &app.store;
    let def = &t.def;
    let q = |k: &str| query.get(k).map(String::as_str).unwrap_or_default();
    let is_watch = matches!(q("watch"), "true" | "1");
    if def.namespaced && t.ns.is_none() && t.name.is_some() {
        return Err(ApiError::no_resource());
    }
    match (method.clone(), t.name) {
        (Method::GET, _) if is_watch => {
            let mut fields = FieldSelector::parse(q("fieldSelector"), &def.plural)?;
            if let Some(n) = t.name {
                fields = FieldSelector::parse(&format!("metadata.name={n}"), &def.plural)?;
            }
            let filter = WatchFilter {
                key: def.storage_key(),
                namespace: t.ns.map(str::to_string),
                labels: LabelSelector::parse(q("labelSelector"))?,
                fields,
            };
            let rv = match q("resourceVersion") {
                "" => None,
                s => Some(s.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!("invalid resource version: {s}"))
                })?),
            };
            let timeout = query
                .get("timeoutSeconds")
                .and_then(|s| s.parse::<u64>().ok());
            let bookmarks = matches!(q("allowWatchBookmarks"), "true" | "1");
            Ok(Routed::Watch(Box::new(WatchRequest {
                def: def.clone(),
                filter,
                rv,
                timeout,
                bookmarks,
            })))
        }
        (Method::GET, None) => {
            let opts = ListOptions {
                labels: LabelSelector::parse(q("labelSelector"))?,
                fields: FieldSelector::parse(q("fieldSelector"), &def.plural)?,
                limit: q("limit").parse().unwrap_or(0),
                continue_token: query.get("continue").filter(|c| !c.is_empty()).cloned(),
            };
            let list = store.list(def, t.ns, &opts)?;
            if wants_table(headers) {
                let items = list
                    .get("items")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let meta = list.get("metadata").cloned().unwrap_or_else(|| json!({}));
                return Ok(Routed::Json(
                    200,
                    crate::table::table(def, &items, meta, q("includeObject")),
                ));
            }
            Ok(Routed::Json(200, list))
        }
        (Method::GET, Some(name)) => {
            let obj = store.get(def, t.ns, name)?;
            if wants_table(headers) {
                let meta = json!({"resourceVersion": meta_str(&obj, "resourceVersion")});
                return Ok(Routed::Json(
                    200,
                    crate::table::table(def, &[obj], meta, q("includeObject")),
                ));
            }
            Ok(Routed::Json(200, obj))
        }
        (Method::POST, None) => {
            if def.namespaced && t.ns.is_none() {
                return Err(ApiError::method_not_allowed());
            }
            let mut object = parse_body(headers, body)?;
            if store.is_custom(def) {
                let manager = field_manager(query, headers);
                let time = crate::store::now_rfc3339();
                crate::managed::on_create(&mut object, &manager, def.status_subresource, &time);
            }
            let obj = store.create(def, t.ns, object)?;
            Ok(Routed::Json(201, obj))
        }
        (Method::PUT, Some(name)) => {
            let mut object = parse_body(headers, body)?;
            if store.is_custom(def) && !t.status {
                if let Ok(old) = store.get(def, t.ns, name) {
                    let manager = field_manager(query, headers);
                    let time = crate::store::now_rfc3339();
                    crate::managed::on_update(
                        &old,
                        &mut object,
                        &manager,
                        def.status_subresource,
                        &time,
                    );
                }
            }
            Ok(Routed::Json(
                200,
                store.update(def, t.ns, name, object, t.status)?,
            ))
        }
        (Method::PATCH, Some(name)) => {
            let ct = headers
                .get(header::CONTENT_TYPE)
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default();
            let ct = ct.split(';').next().unwrap_or_default().trim();
            let builtin = !def.group.contains('.') || def.group.ends_with(".k8s.io");
            let kind = match ct {
                "application/merge-patch+json" => PatchKind::Merge,
                "application/json-patch+json" => PatchKind::Json,
                // Approximated by a merge patch (lists are replaced, not merged by key).
                "application/strategic-merge-patch+json" if builtin => PatchKind::Merge,
                other => return Err(ApiError::unsupported_patch(other, builtin)),
            };
            Ok(Routed::Json(
                200,
                store.patch(def, t.ns, name, kind, &parse_body(headers, body)?, t.status)?,
            ))
        }
        (Method::DELETE, Some(name)) => {
            let opts: Value = if body.is_empty() {
                json!({})
            } else {
                parse_body(headers, body)?
            };
            let pre = |k: &str| {
                opts.pointer(&format!("/preconditions/{k}"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            let obj = store.delete(def, t.ns, name, (pre("uid"), pre("resourceVersion")))?;
            Ok(Routed::Json(200, obj))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// Who a write is by, for `managedFields`.
fn field_manager(query: &HashMap<String, String>, headers: &HeaderMap) -> String {
    crate::managed::manager(
        query.get("fieldManager").map(String::as_str),
        headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok()),
    )
}

fn event_line(kind: &str, object: &Value) -> Bytes {
    let mut s = json!({"type": kind, "object": object}).to_string();
    s.push('\n');
    Bytes::from(s)
}

/// A live event as a watch line, if the watch's filter lets it through.
fn live_line(def: &ResourceDef, filter: &WatchFilter, ev: &crate::store::Event) -> Option<Bytes> {
    let kind = filter.project(ev)?;
    let mut obj = ev.object.clone();
    if let Some(o) = obj.as_object_mut() {
        o.insert("apiVersion".into(), json!(def.api_version()));
    }
    Some(event_line(kind.as_str(), &obj))
}

/// A BOOKMARK at `rv`, as the apiserver sends one: the kind and only the resourceVersion.
fn bookmark_line(def: &ResourceDef, rv: u64) -> Bytes {
    event_line(
        "BOOKMARK",
        &json!({
            "apiVersion": def.api_version(),
            "kind": def.kind,
            "metadata": {"resourceVersion": rv.to_string()},
        }),
    )
}

/// Streams a watch. With `bookmarks`, the watch's end at its timeout is preceded by a BOOKMARK
/// at the current resourceVersion (after every change recorded so far that the watch passes
/// on), as a real apiserver sends one shortly before a watch's deadline.
/// A watch asked for: of what, which changes, from which resourceVersion, for how long, and
/// whether with bookmarks.
struct WatchRequest {
    def: ResourceDef,
    filter: WatchFilter,
    rv: Option<u64>,
    timeout: Option<u64>,
    bookmarks: bool,
}

fn watch_response(app: &App, request: WatchRequest) -> Response {
    let WatchRequest {
        def,
        filter,
        rv,
        timeout,
        bookmarks,
    } = request;
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let started = app.store.watch(&def, &filter, rv);
    let store = app.store.clone();
    let mut shutdown = app.shutdown.clone();
    tokio::spawn(async move {
        let mut start = match started {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.send(event_line("ERROR", &e.to_status())).await;
                return;
            }
        };
        for (kind, obj) in start.initial {
            if tx.send(event_line(kind.as_str(), &obj)).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::sleep(Duration::from_secs(timeout.unwrap_or(30 * 60)));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => {
                    if !bookmarks {
                        return;
                    }
                    // Every change up to `current` is already queued (changes are broadcast
                    // as they are recorded, under the store's lock).
                    let mut at = store.current_rv();
                    while let Ok(ev) = start.live.try_recv() {
                        at = at.max(ev.rv);
                        if let Some(line) = live_line(&def, &filter, &ev) {
                            if tx.send(line).await.is_err() {
                                return;
                            }
                        }
                    }
                    let _ = tx.send(bookmark_line(&def, at)).await;
                    return;
                }
                _ = tx.closed() => return,
                _ = shutdown.changed() => return,
                ev = start.live.recv() => match ev {
                    Ok(ev) => {
                        if let Some(line) = live_line(&def, &filter, &ev) {
                            if tx.send(line).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let err = ApiError::expired(0, 0);
                        let _ = tx.send(event_line("ERROR", &err.to_status())).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache, private"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}
