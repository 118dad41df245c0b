//! Calico's CustomResourceDefinitions (`crd.projectcalico.org/v1` and `projectcalico.org/v3`)
//! and the RBAC the Kubernetes datastore driver needs, generated from the calico-api types.
//!
//! The CRD schemas come from the same types that encode and decode resources, so what the API
//! server prunes and what we write cannot drift apart. Names, short names, scopes, subresources
//! and printer columns follow Calico's shipped CRDs (see [`kinds::CRD_KINDS`]).
//!
//! The checked-in files under `manifests/` are this crate's output; `calicoctl manifests`
//! prints them and the crate's tests fail when they are stale.

mod columns;
pub mod kinds;
pub mod rbac;
pub mod schema;

use serde_json::{json, Map, Value};

pub use kinds::{CrdKind, PrinterColumn, CRD_KINDS};
pub use schema::KindSchema;

/// Why a manifest could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum CrdError {
    /// A type's schema cannot be written as a Kubernetes structural schema.
    #[error("{kind}: the schema at `{path}` is not structural: {reason}")]
    NotStructural {
        kind: String,
        path: String,
        reason: String,
    },
    /// A kind in the table was given no schema function.
    #[error("a CRD kind has no schema")]
    NoSchema,
}

/// The two API groups Calico keeps its custom resources in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Group {
    /// `crd.projectcalico.org/v1`: the classic storage behind the aggregated API server.
    CrdV1,
    /// `projectcalico.org/v3`: the v3 API served directly by CRDs.
    V3,
}

impl Group {
    pub fn name(self) -> &'static str {
        match self {
            Group::CrdV1 => "crd.projectcalico.org",
            Group::V3 => "projectcalico.org",
        }
    }

    pub fn version(self) -> &'static str {
        match self {
            Group::CrdV1 => "v1",
            Group::V3 => "v3",
        }
    }
}

/// The manifests this crate generates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Manifest {
    /// `crd.projectcalico.org/v1` CRDs.
    Crds,
    /// `projectcalico.org/v3` CRDs.
    V3Crds,
    /// The KDD driver's ClusterRole and a binding for it.
    RbacKdd,
}

impl Manifest {
    pub const ALL: [Manifest; 3] = [Manifest::Crds, Manifest::V3Crds, Manifest::RbacKdd];

    /// The name `calicoctl manifests` takes.
    pub fn name(self) -> &'static str {
        match self {
            Manifest::Crds => "crds",
            Manifest::V3Crds => "v3-crds",
            Manifest::RbacKdd => "rbac-kdd",
        }
    }

    /// The file it is checked in as, relative to the repository root.
    pub fn path(self) -> &'static str {
        match self {
            Manifest::Crds => "manifests/crds.yaml",
            Manifest::V3Crds => "manifests/v3-crds.yaml",
            Manifest::RbacKdd => "manifests/rbac-kdd.yaml",
        }
    }

    pub fn from_name(name: &str) -> Option<Manifest> {
        Manifest::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The manifest as multi-document YAML.
    pub fn render(self) -> Result<String, CrdError> {
        match self {
            Manifest::Crds => crds_yaml(Group::CrdV1),
            Manifest::V3Crds => crds_yaml(Group::V3),
            Manifest::RbacKdd => Ok(rbac::rbac_kdd_yaml()),
        }
    }
}

/// Every CRD of `group`, sorted by name as Calico's files are.
pub fn crds(group: Group) -> Result<Vec<Value>, CrdError> {
    let mut crds = CRD_KINDS
        .iter()
        .map(|kind| crd(kind, group))
        .collect::<Result<Vec<_>, _>>()?;
    crds.sort_by(|a, b| {
        let name = |v: &Value| {
            v["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        name(a).cmp(&name(b))
    });
    Ok(crds)
}

/// The `default:` values Calico's CRDs carry (its kubebuilder markers), which the API server
/// fills in on every write: `(v3 plural, field path, value, v3 CRDs only)`. Calico's client
/// leaves these fields unset and relies on the server, so a cluster installed from our
/// manifests stores what one installed from Calico's does.
fn schema_defaults() -> Vec<(&'static str, &'static str, Value, bool)> {
    vec![
        (
            "bgpconfigurations",
            "spec.logSeverityScreen",
            json!("Info"),
            false,
        ),
        (
            "bgpconfigurations",
            "spec.nodeMeshPassword.secretKeyRef.name",
            json!(""),
            false,
        ),
        (
            "bgpconfigurations",
            "spec.serviceLoadBalancerAggregation",
            json!("Enabled"),
            false,
        ),
        (
            "bgppeers",
            "spec.password.secretKeyRef.name",
            json!(""),
            false,
        ),
        // The v1 BlockAffinity keeps `deleted` as a string, without a default.
        ("blockaffinities", "spec.deleted", json!(false), true),
        (
            "felixconfigurations",
            "spec.nftablesFlowTableOffload",
            json!("Disabled"),
            false,
        ),
        (
            "felixconfigurations",
            "spec.nftablesMode",
            json!("Auto"),
            false,
        ),
        (
            "globalnetworkpolicies",
            "spec.tier",
            json!("default"),
            false,
        ),
        ("ipamblocks", "spec.sequenceNumber", json!(0), false),
        (
            "ipamconfigurations",
            "spec.autoAllocateBlocks",
            json!(true),
            true,
        ),
        (
            "ipamconfigurations",
            "spec.maxBlocksPerHost",
            json!(0),
            true,
        ),
        (
            "ipamconfigurations",
            "spec.strictAffinity",
            json!(false),
            true,
        ),
        ("ippools", "spec.assignmentMode", json!("Automatic"), false),
        ("ippools", "spec.nodeSelector", json!("all()"), false),
        (
            "kubecontrollersconfigurations",
            "spec.controllers.loadBalancer.assignIPs",
            json!("AllServices"),
            false,
        ),
        (
            "kubecontrollersconfigurations",
            "spec.controllers.migration.policyNameMigrator",
            json!("Enabled"),
            false,
        ),
        (
            "kubecontrollersconfigurations",
            "spec.healthChecks",
            json!("Enabled"),
            false,
        ),
        (
            "kubecontrollersconfigurations",
            "status.runningConfig.controllers.loadBalancer.assignIPs",
            json!("AllServices"),
            false,
        ),
        (
            "kubecontrollersconfigurations",
            "status.runningConfig.controllers.migration.policyNameMigrator",
            json!("Enabled"),
            false,
        ),
        (
            "kubecontrollersconfigurations",
            "status.runningConfig.healthChecks",
            json!("Enabled"),
            false,
        ),
        ("networkpolicies", "spec.tier", json!("default"), false),
        (
            "stagedglobalnetworkpolicies",
            "spec.stagedAction",
            json!("Set"),
            false,
        ),
        (
            "stagedglobalnetworkpolicies",
            "spec.tier",
            json!("default"),
            false,
        ),
        (
            "stagedkubernetesnetworkpolicies",
            "spec.stagedAction",
            json!("Set"),
            false,
        ),
        (
            "stagednetworkpolicies",
            "spec.stagedAction",
            json!("Set"),
            false,
        ),
        (
            "stagednetworkpolicies",
            "spec.tier",
            json!("default"),
            false,
        ),
        ("tiers", "spec.defaultAction", json!("Deny"), false),
    ]
}

/// One kind's CRD in `group`.
pub fn crd(kind: &CrdKind, group: Group) -> Result<Value, CrdError> {
    let (kind_name, plural) = match group {
        Group::CrdV1 => (kind.v1_kind(), kind.v1_plural()),
        Group::V3 => (kind.kind, kind.plural),
    };
    let schema = (kind.schema)()?;
    let mut spec = schema.spec;
    if group == Group::CrdV1 && kind.kind == "BlockAffinity" {
        // The v1 BlockAffinity stores `deleted` as a string ("true"/"false"), unlike the v3
        // type (datastore model §3.2).
        spec["properties"]["deleted"] = json!({"type": "string"});
    }
    let mut status = schema.status;
    for (plural, path, value, v3_only) in schema_defaults() {
        if plural != kind.plural || (v3_only && group != Group::V3) {
            continue;
        }
        let (root, rest) = match path.split_once('.') {
            Some(("spec", rest)) => (Some(&mut spec), rest),
            Some(("status", rest)) => (status.as_mut(), rest),
            _ => (None, path),
        };
        let node = root.and_then(|root| {
            rest.split('.').try_fold(root, |node, field| {
                node.get_mut("properties")?.get_mut(field)
            })
        });
        match node.and_then(Value::as_object_mut) {
            Some(node) => {
                node.insert("default".into(), value);
            }
            None => {
                return Err(CrdError::NotStructural {
                    kind: kind.kind.to_string(),
                    path: path.to_string(),
                    reason: "a default is set for a field the type does not have".into(),
                })
            }
        }
    }
    let mut properties = Map::new();
    properties.insert("apiVersion".into(), json!({"type": "string"}));
    properties.insert("kind".into(), json!({"type": "string"}));
    properties.insert("metadata".into(), json!({"type": "object"}));
    properties.insert("spec".into(), spec);
    if let Some(status) = status {
        properties.insert("status".into(), status);
    }
    let mut version = Map::new();
    version.insert("name".into(), group.version().into());
    version.insert(
        "schema".into(),
        json!({"openAPIV3Schema": {
            "type": "object",
            "properties": properties,
            "required": ["metadata", "spec"],
        }}),
    );
    version.insert("served".into(), true.into());
    version.insert("storage".into(), true.into());
    if kind.status_subresource {
        version.insert("subresources".into(), json!({"status": {}}));
    }
    if group == Group::V3 {
        if !kind.printer_columns.is_empty() {
            version.insert(
                "additionalPrinterColumns".into(),
                Value::Array(kind.printer_columns_json()),
            );
        }
        if !kind.selectable_fields.is_empty() {
            let fields: Vec<Value> = kind
                .selectable_fields
                .iter()
                .map(|path| json!({"jsonPath": path}))
                .collect();
            version.insert("selectableFields".into(), Value::Array(fields));
        }
    }
    let mut names = Map::new();
    names.insert("kind".into(), kind_name.into());
    names.insert("listKind".into(), format!("{kind_name}List").into());
    names.insert("plural".into(), plural.into());
    names.insert("singular".into(), kind_name.to_ascii_lowercase().into());
    if group == Group::V3 && !kind.short_names.is_empty() {
        names.insert("shortNames".into(), json!(kind.short_names));
    }
    let scope = match kind.scope {
        calico_api::Scope::Cluster => "Cluster",
        calico_api::Scope::Namespaced => "Namespaced",
    };
    Ok(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{}", group.name())},
        "spec": {
            "group": group.name(),
            "names": names,
            "scope": scope,
            "versions": [version],
        },
    }))
}

/// Every CRD of `group` as multi-document YAML, under a header saying where it comes from.
pub fn crds_yaml(group: Group) -> Result<String, CrdError> {
    let manifest = match group {
        Group::CrdV1 => Manifest::Crds,
        Group::V3 => Manifest::V3Crds,
    };
    let header = format!(
        "# Calico CustomResourceDefinitions, group {}/{}.\n\
         # Generated from the calico-api types by `calicoctl manifests {}`; do not edit.\n",
        group.name(),
        group.version(),
        manifest.name(),
    );
    Ok(documents(&header, &crds(group)?))
}

/// `header` then each document after a `---` line.
pub(crate) fn documents(header: &str, docs: &[Value]) -> String {
    let mut out = header.to_string();
    for doc in docs {
        out.push_str("---\n");
        out.push_str(&calico_manifest::yaml::to_yaml_string(doc));
    }
    out
}
