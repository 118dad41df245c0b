//! Datastore connection settings: calicoctl's `CalicoAPIConfig` file and environment variables,
//! with Calico's precedence and defaults, plus the embedded store's settings.
//!
//! Precedence (as calicoctl): when the config file exists, settings come only from it; when it
//! does not and it is the default path, only from the environment; a missing non-default file is
//! an error. For each setting the `CALICO_`-prefixed variable wins over the bare one when set
//! (even to an empty value).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The default config file path.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/calico/calicoctl.cfg";

/// Which driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatastoreType {
    EtcdV3,
    Kubernetes,
    Embedded,
}

impl DatastoreType {
    pub fn as_str(self) -> &'static str {
        match self {
            DatastoreType::EtcdV3 => "etcdv3",
            DatastoreType::Kubernetes => "kubernetes",
            DatastoreType::Embedded => "embedded",
        }
    }
}

/// The `spec` of a CalicoAPIConfig, with calicoctl's JSON names. Secrets are redacted from
/// `Debug` output.
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiConfigSpec {
    #[serde(default)]
    pub datastore_type: String,
    #[serde(default)]
    pub etcd_endpoints: String,
    #[serde(default)]
    pub etcd_discovery_srv: String,
    #[serde(default)]
    pub etcd_username: String,
    #[serde(default)]
    pub etcd_password: String,
    #[serde(default)]
    pub etcd_key_file: String,
    #[serde(default)]
    pub etcd_cert_file: String,
    #[serde(default, rename = "etcdCACertFile")]
    pub etcd_ca_cert_file: String,
    #[serde(default)]
    pub etcd_key: String,
    #[serde(default)]
    pub etcd_cert: String,
    #[serde(default, rename = "etcdCACert")]
    pub etcd_ca_cert: String,
    #[serde(default)]
    pub kubeconfig: String,
    #[serde(default)]
    pub kubeconfig_inline: String,
    #[serde(default, rename = "k8sAPIEndpoint")]
    pub k8s_api_endpoint: String,
    #[serde(default, rename = "k8sKeyFile")]
    pub k8s_key_file: String,
    #[serde(default, rename = "k8sCertFile")]
    pub k8s_cert_file: String,
    #[serde(default, rename = "k8sCAFile")]
    pub k8s_ca_file: String,
    #[serde(default, rename = "k8sAPIToken")]
    pub k8s_api_token: String,
    #[serde(default, rename = "k8sInsecureSkipTLSVerify")]
    pub k8s_insecure_skip_tls_verify: bool,
    #[serde(default, rename = "k8sDisableNodePoll")]
    pub k8s_disable_node_poll: bool,
    #[serde(default, rename = "usePodCIDR")]
    pub use_pod_cidr: bool,
    #[serde(default, rename = "k8sClientQPS")]
    pub k8s_client_qps: f32,
    #[serde(default, rename = "k8sClientBurst")]
    pub k8s_client_burst: i64,
    #[serde(default, rename = "k8sCurrentContext")]
    pub k8s_current_context: String,
    #[serde(default, rename = "calicoAPIGroup")]
    pub calico_api_group: String,
    /// Ours: the embedded store's file.
    #[serde(default)]
    pub datastore_path: String,
}

fn redacted(value: &str) -> &'static str {
    if value.is_empty() {
        ""
    } else {
        "<redacted>"
    }
}

/// A URL (or a comma-separated list of them) with any password in its user info replaced by
/// `xxxxx`, as Go's `url.URL.Redacted` does: `http://user:xxxxx@host:2379`. For errors, logs
/// and `Debug`, wherever an endpoint is shown.
pub fn redact_urls(urls: &str) -> String {
    urls.split(',')
        .map(redact_url)
        .collect::<Vec<_>>()
        .join(",")
}

fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((user_info, host)) = authority.rsplit_once('@') else {
        return url.to_string();
    };
    let Some((user, _password)) = user_info.split_once(':') else {
        return url.to_string();
    };
    let scheme = scheme.map(|s| format!("{s}://")).unwrap_or_default();
    format!("{scheme}{user}:xxxxx@{host}{path}")
}

impl fmt::Debug for ApiConfigSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiConfigSpec")
            .field("datastore_type", &self.datastore_type)
            .field("etcd_endpoints", &redact_urls(&self.etcd_endpoints))
            .field("etcd_discovery_srv", &self.etcd_discovery_srv)
            .field("etcd_username", &self.etcd_username)
            .field("etcd_password", &redacted(&self.etcd_password))
            .field("etcd_key_file", &self.etcd_key_file)
            .field("etcd_cert_file", &self.etcd_cert_file)
            .field("etcd_ca_cert_file", &self.etcd_ca_cert_file)
            .field("etcd_key", &redacted(&self.etcd_key))
            .field("etcd_cert", &redacted(&self.etcd_cert))
            .field("etcd_ca_cert", &redacted(&self.etcd_ca_cert))
            .field("kubeconfig", &self.kubeconfig)
            .field("kubeconfig_inline", &redacted(&self.kubeconfig_inline))
            .field("k8s_api_endpoint", &redact_urls(&self.k8s_api_endpoint))
            .field("k8s_key_file", &self.k8s_key_file)
            .field("k8s_cert_file", &self.k8s_cert_file)
            .field("k8s_ca_file", &self.k8s_ca_file)
            .field("k8s_api_token", &redacted(&self.k8s_api_token))
            .field(
                "k8s_insecure_skip_tls_verify",
                &self.k8s_insecure_skip_tls_verify,
            )
            .field("k8s_current_context", &self.k8s_current_context)
            .field("calico_api_group", &self.calico_api_group)
            .field("datastore_path", &self.datastore_path)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ApiConfigDocument {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    #[allow(dead_code)]
    metadata: Option<serde_json::Value>,
    #[serde(default)]
    spec: ApiConfigSpec,
}

/// Where the settings came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    File(PathBuf),
    Environment,
}

/// Settings resolved to one driver.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiConfig {
    pub datastore_type: DatastoreType,
    pub spec: ApiConfigSpec,
    pub source: ConfigSource,
    /// True when nothing at all pointed at a cluster and the embedded store was chosen for that
    /// reason (calicoctl then says so on stderr).
    pub embedded_by_default: bool,
}

/// Why settings could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// calicoctl prints this one on stdout and exits 1.
    #[error("Error reading config file: {0}")]
    ReadingFile(String),
    #[error("syntax error in {file}: failed to parse config as YAML/JSON: {cause}")]
    Syntax { file: String, cause: String },
    #[error("invalid config file: unknown APIVersion '{0}'")]
    ApiVersion(String),
    #[error("invalid config file: expected kind 'CalicoAPIConfig', got '{0}'")]
    Kind(String),
    #[error("failed to load config from env vars: envconfig.Process: assigning {key} to {field}: converting '{value}' to type {ty}. details: {details}")]
    Env {
        key: String,
        field: String,
        value: String,
        ty: String,
        details: String,
    },
    #[error("unknown datastore type: {0}")]
    UnknownDatastore(String),
}

/// Access to the process environment (a closure in tests).
pub trait Environment {
    fn var(&self, name: &str) -> Option<String>;
    /// Whether a file exists (for `~/.kube/config`).
    fn file_exists(&self, path: &Path) -> bool {
        path.is_file()
    }
}

/// The real process environment.
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// Looks up `CALICO_<name>` first, then `<name>` (envconfig's order).
fn env_setting(env: &dyn Environment, name: &str) -> Option<String> {
    env.var(&format!("CALICO_{name}")).or_else(|| env.var(name))
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn env_bool(env: &dyn Environment, name: &str, field: &str) -> Result<bool, ConfigError> {
    match env_setting(env, name) {
        None => Ok(false),
        Some(text) => parse_go_bool(&text).ok_or_else(|| ConfigError::Env {
            key: name.to_string(),
            field: field.to_string(),
            value: text.clone(),
            ty: "bool".into(),
            details: format!("strconv.ParseBool: parsing \"{text}\": invalid syntax"),
        }),
    }
}

fn spec_from_env(env: &dyn Environment) -> Result<ApiConfigSpec, ConfigError> {
    let s = |name: &str| env_setting(env, name).unwrap_or_default();
    Ok(ApiConfigSpec {
        datastore_type: s("DATASTORE_TYPE"),
        etcd_endpoints: s("ETCD_ENDPOINTS"),
        etcd_discovery_srv: s("ETCD_DISCOVERY_SRV"),
        etcd_username: s("ETCD_USERNAME"),
        etcd_password: s("ETCD_PASSWORD"),
        etcd_key_file: s("ETCD_KEY_FILE"),
        etcd_cert_file: s("ETCD_CERT_FILE"),
        etcd_ca_cert_file: s("ETCD_CA_CERT_FILE"),
        kubeconfig: s("KUBECONFIG"),
        k8s_api_endpoint: s("K8S_API_ENDPOINT"),
        k8s_key_file: s("K8S_KEY_FILE"),
        k8s_cert_file: s("K8S_CERT_FILE"),
        k8s_ca_file: s("K8S_CA_FILE"),
        // Calico reads the token only from CALICO_K8SAPITOKEN (a struct-tag slip); we accept
        // that and the documented K8S_TOKEN.
        k8s_api_token: env
            .var("CALICO_K8SAPITOKEN")
            .or_else(|| env_setting(env, "K8S_TOKEN"))
            .unwrap_or_default(),
        k8s_insecure_skip_tls_verify: env_bool(
            env,
            "K8S_INSECURE_SKIP_TLS_VERIFY",
            "K8sInsecureSkipTLSVerify",
        )?,
        k8s_disable_node_poll: env_bool(env, "K8S_DISABLE_NODE_POLL", "K8sDisableNodePoll")?,
        use_pod_cidr: env_bool(env, "USE_POD_CIDR", "UsePodCIDR")?,
        k8s_current_context: s("K8S_CURRENT_CONTEXT"),
        calico_api_group: env
            .var("CALICO_CALICO_API_GROUP")
            .or_else(|| env.var("CALICO_API_GROUP"))
            .unwrap_or_default(),
        datastore_path: s("DATASTORE_PATH"),
        ..ApiConfigSpec::default()
    })
}

/// Parses a CalicoAPIConfig file's text.
pub fn parse_config_file(file: &str, text: &str) -> Result<ApiConfigSpec, ConfigError> {
    let document: ApiConfigDocument =
        serde_saphyr::from_str(text).map_err(|e| ConfigError::Syntax {
            file: file.to_string(),
            cause: e.to_string(),
        })?;
    if document.api_version != calico_api::API_VERSION {
        return Err(ConfigError::ApiVersion(document.api_version));
    }
    if document.kind != "CalicoAPIConfig" {
        return Err(ConfigError::Kind(document.kind));
    }
    Ok(document.spec)
}

/// Whether anything in the environment points at a cluster (Kubernetes or etcd).
fn any_sign_of_a_cluster(env: &dyn Environment, spec: &ApiConfigSpec) -> bool {
    let home_kubeconfig = env
        .var("HOME")
        .map(|home| env.file_exists(&Path::new(&home).join(".kube").join("config")))
        .unwrap_or(false);
    env_setting(env, "DATASTORE_TYPE").is_some()
        || env_setting(env, "ETCD_ENDPOINTS").is_some()
        || env_setting(env, "KUBECONFIG").is_some()
        || env.var("KUBERNETES_SERVICE_HOST").is_some()
        || !spec.k8s_api_endpoint.is_empty()
        || home_kubeconfig
}

/// Resolves the settings calicoctl would use.
///
/// `config_path` is `-c`'s value; `read_file` reads it (returning `None` when it cannot be
/// read, which for the default path means "use the environment").
pub fn load(
    config_path: &Path,
    env: &dyn Environment,
    read_file: &dyn Fn(&Path) -> Option<String>,
) -> Result<ApiConfig, ConfigError> {
    let (mut spec, source) = match read_file(config_path) {
        Some(text) => (
            parse_config_file(&config_path.display().to_string(), &text)?,
            ConfigSource::File(config_path.to_path_buf()),
        ),
        None if config_path == Path::new(DEFAULT_CONFIG_PATH) => {
            (spec_from_env(env)?, ConfigSource::Environment)
        }
        None => return Err(ConfigError::ReadingFile(config_path.display().to_string())),
    };
    let mut embedded_by_default = false;
    let datastore_type = match spec.datastore_type.as_str() {
        "etcdv3" => DatastoreType::EtcdV3,
        "kubernetes" => DatastoreType::Kubernetes,
        "embedded" => DatastoreType::Embedded,
        "" if !spec.etcd_endpoints.is_empty() => DatastoreType::EtcdV3,
        "" if source == ConfigSource::Environment && !any_sign_of_a_cluster(env, &spec) => {
            embedded_by_default = true;
            DatastoreType::Embedded
        }
        "" => DatastoreType::Kubernetes,
        other => return Err(ConfigError::UnknownDatastore(other.to_string())),
    };
    if datastore_type == DatastoreType::Kubernetes
        && spec.kubeconfig.is_empty()
        && spec.k8s_api_endpoint.is_empty()
    {
        if let Some(home) = env.var("HOME") {
            let candidate = Path::new(&home).join(".kube").join("config");
            if env.file_exists(&candidate) {
                spec.kubeconfig = candidate.display().to_string();
            }
        }
    }
    Ok(ApiConfig {
        datastore_type,
        spec,
        source,
        embedded_by_default,
    })
}

/// The embedded store's file: `datastorePath` / `DATASTORE_PATH`, else
/// `$XDG_DATA_HOME/calico/datastore.db`, else `~/.local/share/calico/datastore.db`.
pub fn embedded_path(config: &ApiConfig, env: &dyn Environment) -> PathBuf {
    if !config.spec.datastore_path.is_empty() {
        return PathBuf::from(&config.spec.datastore_path);
    }
    let data_home = env
        .var("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            env.var("HOME")
                .map(|home| Path::new(&home).join(".local").join("share"))
        })
        .unwrap_or_else(|| PathBuf::from("."));
    data_home.join("calico").join("datastore.db")
}

#[cfg(test)]
mod tests;
