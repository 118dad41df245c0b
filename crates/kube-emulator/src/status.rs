//! Kubernetes `Status` errors, worded as the real apiserver words them.

use serde_json::{json, Map, Value};

use crate::resources::ResourceDef;

/// An API error, rendered as a `kind: Status` body with the HTTP status `code`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// `reason` (`NotFound`, `AlreadyExists`, ...).
    pub reason: &'static str,
    /// Human-readable message.
    pub message: String,
    /// `details`, if any.
    pub details: Option<Value>,
}

fn details(def: &ResourceDef, name: &str) -> Value {
    let mut d = Map::new();
    d.insert("name".into(), json!(name));
    if !def.group.is_empty() {
        d.insert("group".into(), json!(def.group));
    }
    d.insert("kind".into(), json!(def.plural));
    Value::Object(d)
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// 404 `<resource> "<name>" not found`.
    pub fn not_found(def: &ResourceDef, name: &str) -> Self {
        ApiError {
            details: Some(details(def, name)),
            ..Self::new(
                404,
                "NotFound",
                format!("{} \"{}\" not found", def.group_resource(), name),
            )
        }
    }

    /// 404 for a namespace that does not exist.
    pub fn namespace_not_found(ns: &str) -> Self {
        ApiError {
            details: Some(json!({"name": ns, "kind": "namespaces"})),
            ..Self::new(404, "NotFound", format!("namespaces \"{ns}\" not found"))
        }
    }

    /// 404 for an unknown path or resource type.
    pub fn no_resource() -> Self {
        ApiError {
            details: Some(
                json!({"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]}),
            ),
            ..Self::new(
                404,
                "NotFound",
                "the server could not find the requested resource",
            )
        }
    }

    /// 409 `<resource> "<name>" already exists`.
    pub fn already_exists(def: &ResourceDef, name: &str) -> Self {
        ApiError {
            details: Some(details(def, name)),
            ..Self::new(
                409,
                "AlreadyExists",
                format!("{} \"{}\" already exists", def.group_resource(), name),
            )
        }
    }

    /// 409 Conflict with the given cause (`the object has been modified; ...`, a precondition, ...).
    pub fn conflict(def: &ResourceDef, name: &str, cause: &str) -> Self {
        ApiError {
            details: Some(details(def, name)),
            ..Self::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{}\": {}",
                    def.group_resource(),
                    name,
                    cause
                ),
            )
        }
    }

    /// 409 Conflict for a stale resourceVersion.
    pub fn modified(def: &ResourceDef, name: &str) -> Self {
        Self::conflict(
            def,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 422 Invalid: `<Kind>.<group> "<name>" is invalid: <field>: <detail>`.
    pub fn invalid(def: &ResourceDef, name: &str, causes: &[(&str, &str, String)]) -> Self {
        let qualified_kind = if def.group.is_empty() {
            def.kind.clone()
        } else {
            format!("{}.{}", def.kind, def.group)
        };
        let joined: Vec<String> = causes
            .iter()
            .map(|(field, _, msg)| format!("{field}: {msg}"))
            .collect();
        let message = if joined.len() == 1 {
            format!(
                "{qualified_kind} \"{name}\" is invalid: {}",
                joined.join("")
            )
        } else {
            format!(
                "{qualified_kind} \"{name}\" is invalid: [{}]",
                joined.join(", ")
            )
        };
        let mut d = Map::new();
        d.insert("name".into(), json!(name));
        if !def.group.is_empty() {
            d.insert("group".into(), json!(def.group));
        }
        d.insert("kind".into(), json!(def.kind));
        d.insert(
            "causes".into(),
            Value::Array(
                causes
                    .iter()
                    .map(|(field, reason, msg)| json!({"reason": reason, "message": msg, "field": field}))
                    .collect(),
            ),
        );
        ApiError {
            details: Some(Value::Object(d)),
            ..Self::new(422, "Invalid", message)
        }
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 401 Unauthorized.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 403 Forbidden, worded as the RBAC authorizer words it.
    pub fn forbidden(
        user: &str,
        verb: &str,
        group: &str,
        plural: &str,
        namespace: Option<&str>,
    ) -> Self {
        let resource = if group.is_empty() {
            plural.to_string()
        } else {
            format!("{plural}.{group}")
        };
        let scope = match namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        let mut error = Self::new(
            403,
            "Forbidden",
            format!(
                "{resource} is forbidden: User \"{user}\" cannot {verb} resource \"{plural}\" in API group \"{group}\" {scope}"
            ),
        );
        error.details = Some(json!({"group": group, "kind": plural}));
        error
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }

    /// 415 UnsupportedMediaType for a PATCH content type the resource does not take.
    pub fn unsupported_patch(content_type: &str, strategic_allowed: bool) -> Self {
        let accepted = if strategic_allowed {
            "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json"
        } else {
            "application/json-patch+json, application/merge-patch+json"
        };
        Self::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format - accepted media types include: {accepted} (got {content_type:?})"),
        )
    }

    /// 410 Expired, as a watch ERROR event carries it.
    pub fn expired(requested: u64, oldest: u64) -> Self {
        Self::new(
            410,
            "Expired",
            format!("too old resource version: {requested} ({oldest})"),
        )
    }

    /// 410 Gone, for a list `continue` token that can no longer be served.
    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Gone", message)
    }

    /// 500 InternalError.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    /// The `kind: Status` JSON body.
    pub fn to_status(&self) -> Value {
        let mut v = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        });
        if let Some(d) = &self.details {
            v["details"] = d.clone();
        }
        v["code"] = json!(self.code);
        v
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}
