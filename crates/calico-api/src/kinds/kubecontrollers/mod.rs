//! KubeControllersConfiguration: the singleton (`default`) configuration of calico-kube-controllers,
//! with a status that reports the configuration actually running.

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::resource::{Always, Kind, Resource, Scope};
use crate::validation::{checks, metadata, Validator};

/// `spec` of a KubeControllersConfiguration (also the shape of `status.runningConfig`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubeControllersConfigurationSpec {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub log_severity_screen: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub health_checks: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd_v3_compaction_period: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus_metrics_port: Option<i64>,
    /// Always written (a Go struct value).
    #[serde(default)]
    pub controllers: ControllersConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_profile_port: Option<i32>,
}

/// Which controllers run, and their settings; an absent controller is disabled.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ControllersConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<NodeControllerConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyControllerConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_endpoint: Option<WorkloadEndpointControllerConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<ServiceAccountControllerConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<NamespaceControllerConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LoadBalancerControllerConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<MigrationControllerConfig>,
}

/// The node controller: cleans up after deleted nodes, syncs labels, creates host endpoints.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeControllerConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciler_period: Option<Duration>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sync_labels: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_endpoint: Option<AutoHostEndpointConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leak_grace_period: Option<Duration>,
}

/// Automatic host endpoints for nodes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoHostEndpointConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auto_create: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub create_default_host_endpoint: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<HostEndpointTemplate>,
}

/// A template for automatic host endpoints (Go's `Template`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostEndpointTemplate {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub generate_name: String,
    #[serde(
        rename = "interfaceCIDRs",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub interface_cidrs: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interface_pattern: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node_selector: String,
}

/// A controller whose only setting is its reconciliation period.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReconcilerControllerConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciler_period: Option<Duration>,
}

/// The policy controller (etcd datastore only).
pub type PolicyControllerConfig = ReconcilerControllerConfig;
/// The workload endpoint controller (etcd datastore only).
pub type WorkloadEndpointControllerConfig = ReconcilerControllerConfig;
/// The service account controller (etcd datastore only).
pub type ServiceAccountControllerConfig = ReconcilerControllerConfig;
/// The namespace controller (etcd datastore only).
pub type NamespaceControllerConfig = ReconcilerControllerConfig;

/// The LoadBalancer IPAM controller.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancerControllerConfig {
    #[serde(
        rename = "assignIPs",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub assign_ips: String,
}

/// The migration controllers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MigrationControllerConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub policy_name_migrator: String,
}

/// `status` of a KubeControllersConfiguration (a Go struct value: always written).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubeControllersConfigurationStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_config: Option<KubeControllersConfigurationSpec>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment_vars: BTreeMap<String, String>,
}

pub type KubeControllersConfiguration = Resource<KubeControllersConfigurationSpec>;

/// The defaults the KubeControllersConfiguration CRD declares (for the spec and for
/// `status.runningConfig`, which share a shape).
fn crd_defaults(spec: &mut KubeControllersConfigurationSpec) {
    if spec.health_checks.is_empty() {
        spec.health_checks = "Enabled".into();
    }
    if let Some(lb) = &mut spec.controllers.load_balancer {
        if lb.assign_ips.is_empty() {
            lb.assign_ips = "AllServices".into();
        }
    }
    if let Some(migration) = &mut spec.controllers.migration {
        if migration.policy_name_migrator.is_empty() {
            migration.policy_name_migrator = "Enabled".into();
        }
    }
}

/// The Calico client's message for any other name.
pub const KCC_NAME_REASON: &str =
    "Cannot create a Kube Controllers Configuration resource with a name other than \"default\"";

const LOG_SEVERITIES: &[&str] = &[
    "None", "Debug", "Info", "Warning", "Error", "Fatal", "Panic",
];
const ENABLED_DISABLED: &[&str] = &["Enabled", "Disabled"];
const MAX_TEMPLATE_NAME_LENGTH: usize = 253;

impl Kind for KubeControllersConfigurationSpec {
    const KIND: &'static str = "KubeControllersConfiguration";
    const PLURAL: &'static str = "kubecontrollersconfigurations";
    const SCOPE: Scope = Scope::Cluster;
    type Status = Always<KubeControllersConfigurationStatus>;

    /// What libcalico-go's client sets on create and update:
    /// - `prometheusMetricsPort: 9094` when unset;
    /// - when the node controller is configured, its `leakGracePeriod` is `15m` when unset;
    /// - when the LoadBalancer controller is configured, its `assignIPs` is `AllServices` when
    ///   empty.
    ///
    /// (The client also appears to default each host endpoint template's `nodeSelector` to
    /// `all()`, but it assigns to a copy, so nothing is stored; neither is done here.)
    fn apply_defaults(resource: &mut Resource<Self>) {
        let spec = &mut resource.spec;
        spec.prometheus_metrics_port.get_or_insert(9094);
        if let Some(node) = &mut spec.controllers.node {
            node.leak_grace_period
                .get_or_insert(Duration::from_secs(15 * 60));
        }
        if let Some(lb) = &mut spec.controllers.load_balancer {
            if lb.assign_ips.is_empty() {
                lb.assign_ips = "AllServices".into();
            }
        }
        // Then the defaults of Calico's CRD, which its client applies on etcd before it
        // validates, to the spec and to the running configuration in the status.
        crd_defaults(&mut resource.spec);
        if let Some(running) = &mut resource.status.0.running_config {
            crd_defaults(running);
        }
    }

    fn validate(resource: &Resource<Self>, v: &mut Validator) {
        v.field("spec", |v| validate_spec(v, &resource.spec, true));
        if let Some(running) = &resource.status.0.running_config {
            v.field("status", |v| {
                v.field("runningConfig", |v| validate_spec(v, running, false))
            });
        }
    }
}

/// Schema and Go-tag rules; `client` adds the checks the Calico client makes on the spec it is
/// asked to write (not on the reported running configuration).
fn validate_spec(v: &mut Validator, spec: &KubeControllersConfigurationSpec, client: bool) {
    if !spec.log_severity_screen.is_empty() {
        v.field("logSeverityScreen", |v| {
            checks::one_of(v, &spec.log_severity_screen, LOG_SEVERITIES)
        });
    }
    if !spec.health_checks.is_empty() {
        v.field("healthChecks", |v| {
            checks::one_of(v, &spec.health_checks, ENABLED_DISABLED)
        });
    }
    if let Some(port) = spec.prometheus_metrics_port {
        v.field("prometheusMetricsPort", |v| {
            checks::in_range(v, port, 0, 65535)
        });
    }
    if let Some(port) = spec.debug_profile_port {
        v.field("debugProfilePort", |v| {
            checks::in_range(v, i64::from(port), 0, 65535)
        });
    }
    v.field("controllers", |v| {
        validate_controllers(v, &spec.controllers, client)
    });
}

fn validate_controllers(v: &mut Validator, controllers: &ControllersConfig, client: bool) {
    if let Some(node) = &controllers.node {
        v.field("node", |v| validate_node_controller(v, node, client));
    }
    if let Some(lb) = &controllers.load_balancer {
        if !lb.assign_ips.is_empty() {
            v.field("loadBalancer", |v| {
                v.field("assignIPs", |v| {
                    checks::one_of(v, &lb.assign_ips, &["AllServices", "RequestedServicesOnly"])
                })
            });
        }
    }
    if let Some(migration) = &controllers.migration {
        if !migration.policy_name_migrator.is_empty() {
            v.field("migration", |v| {
                v.field("policyNameMigrator", |v| {
                    checks::one_of(v, &migration.policy_name_migrator, ENABLED_DISABLED)
                })
            });
        }
    }
}

fn validate_node_controller(v: &mut Validator, node: &NodeControllerConfig, client: bool) {
    if !node.sync_labels.is_empty() {
        v.field("syncLabels", |v| {
            checks::one_of(v, &node.sync_labels, ENABLED_DISABLED)
        });
    }
    let Some(hep) = &node.host_endpoint else {
        return;
    };
    v.field("hostEndpoint", |v| {
        for (name, value) in [
            ("autoCreate", &hep.auto_create),
            (
                "createDefaultHostEndpoint",
                &hep.create_default_host_endpoint,
            ),
        ] {
            if !value.is_empty() {
                v.field(name, |v| checks::one_of(v, value, ENABLED_DISABLED));
            }
        }
        let mut seen = BTreeSet::new();
        for (i, template) in hep.templates.iter().enumerate() {
            v.field("templates", |v| {
                v.index(i, |v| {
                    validate_template(v, template);
                    if client {
                        client_template_checks(v, template, &mut seen);
                    } else {
                        v.field("generateName", |v| {
                            checks::max_length(v, &template.generate_name, MAX_TEMPLATE_NAME_LENGTH)
                        });
                    }
                })
            });
        }
    });
}

/// The Go tags of a template (`name`, `cidrs`, `regexp`, `labels`, `selector`) and annotation
/// rules.
fn validate_template(v: &mut Validator, template: &HostEndpointTemplate) {
    let name = &template.generate_name;
    if !name.is_empty() && !checks::matches_name_pattern(name) {
        v.error_at(
            "generateName",
            name,
            "name must consist of lower case alphanumeric characters, '-' or '.', and must \
             start and end with an alphanumeric character",
        );
    }
    v.each("interfaceCIDRs", &template.interface_cidrs, |v, cidr| {
        let go_name = v.go_name();
        checks::cidr(v, &go_name, cidr);
    });
    let pattern = &template.interface_pattern;
    if !pattern.is_empty() && regex::Regex::new(pattern).is_err() {
        v.error_at("interfacePattern", pattern, "invalid regular expression");
    }
    v.field("labels", |v| checks::labels(v, &template.labels));
    metadata::annotations(v, &template.annotations);
    if !template.node_selector.is_empty() {
        checks::selector(v, "NodeSelector", &template.node_selector);
    }
}

/// What the Calico client checks before writing (it stops at the first; all are reported here).
fn client_template_checks<'a>(
    v: &mut Validator,
    template: &'a HostEndpointTemplate,
    seen: &mut BTreeSet<&'a str>,
) {
    let name = template.generate_name.as_str();
    if name.is_empty() {
        v.error_at("generateName", name, "Template name must be specified");
    } else if name.len() > MAX_TEMPLATE_NAME_LENGTH {
        v.error_at(
            "generateName",
            name,
            "Template name must be shorter than 253 characters",
        );
    } else if !seen.insert(name) {
        v.error_at("generateName", name, "Template name must be unique");
    }
    if template.interface_cidrs.is_empty() {
        v.field("interfaceCIDRs", |v| {
            v.error_no_value("CIDR can not be empty")
        });
    }
}
