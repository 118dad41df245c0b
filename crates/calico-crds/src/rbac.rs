//! The least privilege calicoctl's Kubernetes datastore driver needs.
//!
//! What the driver touches (datastore model §3.2): Calico's custom resources in whichever group
//! is in use (discovery needs no RBAC), core Nodes (Calico Node; updates write labels
//! and annotations through the Node's `status` subresource), Pods (WorkloadEndpoints: read, and
//! a delete patches the pod's status),
//! Namespaces and ServiceAccounts (Profiles, read-only) and Kubernetes NetworkPolicies (shown
//! as Calico policies, read-only).

use serde_json::{json, Value};

use crate::{CrdKind, Group, CRD_KINDS};

/// Name of the ClusterRole, its binding and the example ServiceAccount.
pub const ROLE_NAME: &str = "calicoctl";

const ALL_VERBS: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];
const READ_VERBS: &[&str] = &["get", "list", "watch"];

/// The ClusterRole, a ServiceAccount and the ClusterRoleBinding between them.
pub fn rbac_kdd() -> Vec<Value> {
    let mut rules = Vec::new();
    for group in [Group::CrdV1, Group::V3] {
        let plural = |kind: &CrdKind| match group {
            Group::CrdV1 => kind.v1_plural(),
            Group::V3 => kind.plural,
        };
        let mut plurals: Vec<&str> = CRD_KINDS.iter().map(plural).collect();
        plurals.sort_unstable();
        // No `/status` rule: like Calico's client, calicoctl writes the main resource only
        // (the status is the controllers' to write).
        rules.push(json!({"apiGroups": [group.name()], "resources": plurals, "verbs": ALL_VERBS}));
    }
    rules.extend([
        // Calico Node reads the core Node and writes its annotations and labels through the
        // status subresource (Create and Delete are unsupported), as calico-node does.
        json!({"apiGroups": [""], "resources": ["nodes"], "verbs": READ_VERBS}),
        json!({"apiGroups": [""], "resources": ["nodes/status"], "verbs": ["patch", "update"]}),
        json!({"apiGroups": [""], "resources": ["namespaces", "pods", "serviceaccounts"], "verbs": READ_VERBS}),
        // Deleting a WorkloadEndpoint blanks its pod's IP annotations through the pod's status
        // subresource, as Calico's client does.
        json!({"apiGroups": [""], "resources": ["pods/status"], "verbs": ["patch"]}),
        json!({"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": READ_VERBS}),
    ]);
    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": ROLE_NAME},
        "rules": rules,
    });
    let account = json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": ROLE_NAME, "namespace": "kube-system"},
    });
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": ROLE_NAME},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": ROLE_NAME},
        "subjects": [{"kind": "ServiceAccount", "name": ROLE_NAME, "namespace": "kube-system"}],
    });
    vec![role, account, binding]
}

/// [`rbac_kdd`] as YAML with a header on its use.
pub fn rbac_kdd_yaml() -> String {
    const HEADER: &str = "\
# RBAC for calicoctl with the Kubernetes datastore (DATASTORE_TYPE=kubernetes).
# Generated from the calico-api types by `calicoctl manifests rbac-kdd`; do not edit.
#
# The ClusterRole grants the least the KDD driver needs: full access to Calico's custom
# resources in both groups (crd.projectcalico.org/v1 and projectcalico.org/v3, whichever
# the cluster uses), not their status subresources (calicoctl leaves status to the
# controllers); read access to Nodes and writes to nodes/status (Calico Node lives in the
# core Node's annotations and is written through that subresource, as calico-node does);
# read access to Pods (WorkloadEndpoints) and patches of pods/status (deleting a
# WorkloadEndpoint blanks its pod's IP annotations, as Calico's client does); read-only
# access to Namespaces and ServiceAccounts (Profiles) and Kubernetes NetworkPolicies.
#
# The binding below is a template: it binds the role to the kube-system/calicoctl
# ServiceAccount; change the subject to bind a user or group instead.
";
    crate::documents(HEADER, &rbac_kdd())
}
