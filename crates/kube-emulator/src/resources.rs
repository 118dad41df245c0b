//! The resource registry: built-in kinds plus whatever CustomResourceDefinitions declare.

use std::sync::Arc;

use serde_json::{json, Value};

/// One servable resource at one group/version.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDef {
    /// API group; empty for the core group.
    pub group: String,
    /// Version within the group.
    pub version: String,
    /// Plural (URL) name.
    pub plural: String,
    /// Singular name, as discovery reports it.
    pub singular: String,
    /// Kind of the objects.
    pub kind: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Short names (`no`, `ns`, ...).
    pub short_names: Vec<String>,
    /// Categories (`all`, ...).
    pub categories: Vec<String>,
    /// Whether a `status` subresource exists (main-resource writes then keep the status).
    pub status_subresource: bool,
    /// `additionalPrinterColumns` of a CRD version: (name, type, jsonPath).
    pub printer_columns: Vec<(String, String, String)>,
    /// A CRD version's `openAPIV3Schema`, whose `default`s are filled in on writes.
    pub schema: Option<Arc<Value>>,
}

/// The verbs every resource supports here.
pub const VERBS: [&str; 7] = [
    "create", "delete", "get", "list", "patch", "update", "watch",
];

impl ResourceDef {
    fn builtin(
        group: &str,
        version: &str,
        plural: &str,
        kind: &str,
        namespaced: bool,
        short: &[&str],
        status: bool,
    ) -> Self {
        ResourceDef {
            group: group.to_string(),
            version: version.to_string(),
            plural: plural.to_string(),
            singular: kind.to_lowercase(),
            kind: kind.to_string(),
            namespaced,
            short_names: short.iter().map(|s| s.to_string()).collect(),
            categories: Vec::new(),
            status_subresource: status,
            printer_columns: Vec::new(),
            schema: None,
        }
    }

    /// `plural` or `plural.group`, as error messages name the resource.
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `version` or `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Objects of all versions of one group/plural share this storage key.
    pub fn storage_key(&self) -> String {
        format!("{}/{}", self.group, self.plural)
    }

    /// Whether this is the CustomResourceDefinition resource itself.
    pub fn is_crd(&self) -> bool {
        self.group == "apiextensions.k8s.io" && self.plural == "customresourcedefinitions"
    }

    /// Whether this is the core Namespace resource.
    pub fn is_namespace(&self) -> bool {
        self.group.is_empty() && self.plural == "namespaces"
    }

    /// Discovery entries (the resource and, if any, its status subresource).
    pub fn discovery_entries(&self) -> Vec<Value> {
        let mut main = json!({
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": VERBS,
        });
        if !self.short_names.is_empty() {
            main["shortNames"] = json!(self.short_names);
        }
        if !self.categories.is_empty() {
            main["categories"] = json!(self.categories);
        }
        let mut out = vec![main];
        if self.status_subresource {
            out.push(json!({
                "name": format!("{}/status", self.plural),
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
        out
    }
}

/// The built-in resources, always served.
pub fn builtins() -> Vec<ResourceDef> {
    let mut pods = ResourceDef::builtin("", "v1", "pods", "Pod", true, &["po"], true);
    pods.categories = vec!["all".into()];
    // Listed by `calicoctl ipam check` (LoadBalancer addresses), even on etcd.
    let mut services = ResourceDef::builtin("", "v1", "services", "Service", true, &["svc"], true);
    services.categories = vec!["all".into()];
    vec![
        ResourceDef::builtin("", "v1", "namespaces", "Namespace", false, &["ns"], true),
        ResourceDef::builtin("", "v1", "nodes", "Node", false, &["no"], true),
        pods,
        services,
        ResourceDef::builtin(
            "",
            "v1",
            "serviceaccounts",
            "ServiceAccount",
            true,
            &["sa"],
            false,
        ),
        ResourceDef::builtin(
            "networking.k8s.io",
            "v1",
            "networkpolicies",
            "NetworkPolicy",
            true,
            &["netpol"],
            false,
        ),
        ResourceDef::builtin(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            false,
            &["crd", "crds"],
            true,
        ),
    ]
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_str()
}

fn strings_at(v: &Value, path: &[&str]) -> Vec<String> {
    let mut cur = v;
    for p in path {
        match cur.get(*p) {
            Some(next) => cur = next,
            None => return Vec::new(),
        }
    }
    cur.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The resources a stored CustomResourceDefinition object makes servable (one per served version).
pub fn from_crd(crd: &Value) -> Vec<ResourceDef> {
    let spec = match crd.get("spec") {
        Some(s) => s,
        None => return Vec::new(),
    };
    let (Some(group), Some(plural), Some(kind)) = (
        str_at(spec, &["group"]),
        str_at(spec, &["names", "plural"]),
        str_at(spec, &["names", "kind"]),
    ) else {
        return Vec::new();
    };
    let singular = str_at(spec, &["names", "singular"])
        .map(str::to_string)
        .unwrap_or_else(|| kind.to_lowercase());
    let namespaced = str_at(spec, &["scope"]) == Some("Namespaced");
    let short_names = strings_at(spec, &["names", "shortNames"]);
    let categories = strings_at(spec, &["names", "categories"]);
    let versions = spec
        .get("versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    versions
        .iter()
        .filter(|v| v.get("served").and_then(Value::as_bool).unwrap_or(true))
        .filter_map(|v| {
            let name = v.get("name")?.as_str()?;
            let printer_columns = v
                .get("additionalPrinterColumns")
                .and_then(Value::as_array)
                .map(|cols| {
                    cols.iter()
                        .filter_map(|c| {
                            Some((
                                c.get("name")?.as_str()?.to_string(),
                                c.get("type")
                                    .and_then(Value::as_str)
                                    .unwrap_or("string")
                                    .to_string(),
                                c.get("jsonPath")?.as_str()?.to_string(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some(ResourceDef {
                group: group.to_string(),
                version: name.to_string(),
                plural: plural.to_string(),
                singular: singular.clone(),
                kind: kind.to_string(),
                namespaced,
                short_names: short_names.clone(),
                categories: categories.clone(),
                status_subresource: v.pointer("/subresources/status").is_some(),
                printer_columns,
                schema: v.pointer("/schema/openAPIV3Schema").cloned().map(Arc::new),
            })
        })
        .collect()
}

/// Fills in the `default`s of a structural schema where `value` lacks the field, as the API
/// server does for custom resources: in object properties, array items and map values, at
/// every depth (a defaulted object gets its own fields' defaults too).
pub fn apply_defaults(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(fields) => {
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (name, property) in properties {
                    if !fields.contains_key(name) {
                        if let Some(default) = property.get("default") {
                            fields.insert(name.clone(), default.clone());
                        }
                    }
                    if let Some(field) = fields.get_mut(name) {
                        apply_defaults(property, field);
                    }
                }
            }
            if let Some(values) = schema.get("additionalProperties").filter(|s| s.is_object()) {
                for field in fields.values_mut() {
                    apply_defaults(values, field);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for element in items {
                    apply_defaults(item, element);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_defaults_fill_missing_fields_at_every_depth() {
        let schema = json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "maxBlocksPerHost": {"type": "integer", "default": 0},
                "autoAllocateBlocks": {"type": "boolean", "default": true},
                "peers": {"type": "array", "items": {"type": "object", "properties": {
                    "port": {"type": "integer", "default": 179}}}},
                "limits": {"type": "object", "default": {},
                           "properties": {"max": {"type": "integer", "default": 5}}},
                "byName": {"type": "object", "additionalProperties": {
                    "type": "object", "properties": {"on": {"type": "boolean", "default": false}}}},
            }},
        }});
        let mut object = json!({"spec": {"autoAllocateBlocks": false,
                                         "peers": [{}, {"port": 1}], "byName": {"a": {}}}});
        apply_defaults(&schema, &mut object);
        assert_eq!(
            object,
            json!({"spec": {"autoAllocateBlocks": false, "maxBlocksPerHost": 0,
                            "peers": [{"port": 179}, {"port": 1}], "limits": {"max": 5},
                            "byName": {"a": {"on": false}}}})
        );
        // No spec: nothing to default inside it.
        let mut bare = json!({"metadata": {"name": "x"}});
        apply_defaults(&schema, &mut bare);
        assert_eq!(bare, json!({"metadata": {"name": "x"}}));
    }
}
