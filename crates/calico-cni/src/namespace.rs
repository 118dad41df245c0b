//! The pod's Namespace labels, which pools' `namespaceSelector` match: Calico's plugin reads the
//! Namespace from the Kubernetes API when the configuration names a kubeconfig (or the `k8s`
//! policy type), with the kubeconfig and the `kubernetes`/`policy` overrides of the network
//! configuration.

use std::collections::BTreeMap;

use calico_datastore::apiconfig::ApiConfigSpec;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;

use crate::error::CniError;
use crate::netconf::NetConf;

/// Whether Calico's plugin would read the Namespace for this configuration.
pub fn wanted(conf: &NetConf, namespace: &str) -> bool {
    (!conf.kubeconfig.is_empty() || conf.policy_type == "k8s") && !namespace.is_empty()
}

/// The Kubernetes settings Calico's plugin builds its client from.
pub fn settings(conf: &NetConf) -> ApiConfigSpec {
    let policy_root = conf
        .policy_k8s_api_root
        .split("/api/")
        .next()
        .unwrap_or_default();
    let server = if conf.k8s_api_root.is_empty() {
        policy_root
    } else {
        conf.k8s_api_root.as_str()
    };
    ApiConfigSpec {
        kubeconfig: conf.kubeconfig.clone(),
        k8s_api_endpoint: server.to_string(),
        k8s_cert_file: conf.k8s_client_certificate.clone(),
        k8s_key_file: conf.k8s_client_key.clone(),
        k8s_ca_file: conf.k8s_certificate_authority.clone(),
        k8s_api_token: conf.k8s_auth_token.clone(),
        ..ApiConfigSpec::default()
    }
}

/// The labels of Namespace `name`; errors read as Calico's (`failed to get namespace x:
/// namespaces "x" not found`).
pub async fn labels(conf: &NetConf, name: &str) -> Result<BTreeMap<String, String>, CniError> {
    let failed =
        |cause: String| CniError::internal(format!("failed to get namespace {name}: {cause}"));
    let connection = calico_kube::config::connect(&settings(conf))
        .await
        .map_err(|e| failed(e.to_string()))?;
    let namespaces: Api<Namespace> = Api::all(connection.client);
    let namespace = namespaces.get(name).await.map_err(|e| match e {
        // client-go's StatusError reads as the status message.
        kube::Error::Api(status) => failed(status.message.clone()),
        other => failed(other.to_string()),
    })?;
    Ok(namespace.metadata.labels.unwrap_or_default())
}
