//! A `kube::Client` from calicoctl's Kubernetes settings, resolved as libcalico-go resolves them
//! with client-go (`libcalico-go/lib/backend/k8s/client.go`, `CreateKubernetesClientset`): a
//! kubeconfig file (or a `:`-separated list of files merged first-wins), the context from
//! `k8sCurrentContext` or the kubeconfig's `current-context`, then the `k8s*` settings as
//! overrides of that context's cluster and user. `kubeconfigInline` replaces the files and, as
//! in Calico, is used as it is (no overrides). With neither a kubeconfig nor an endpoint, the
//! in-cluster service account. `k8sClientQPS`/`k8sClientBurst` have no equivalent in kube-rs
//! (it does no client-side rate limiting) and are ignored.
//!
//! Everything the kubeconfig can say (exec plugins, `tokenFile`, client certificates, CA data,
//! `insecure-skip-tls-verify`, `tls-server-name`) is handled by kube's own loader, because the
//! overrides are applied to the parsed kubeconfig rather than to the finished `kube::Config`.

use std::path::{Path, PathBuf};

use calico_datastore::apiconfig::ApiConfigSpec;
use calico_datastore::DatastoreError;
use kube::config::{
    AuthInfo, Cluster, Context, KubeConfigOptions, Kubeconfig, NamedAuthInfo, NamedCluster,
    NamedContext,
};

/// Names used for the kubeconfig synthesised from `k8sAPIEndpoint` alone.
const SYNTHETIC_NAME: &str = "calico";

/// Why no client could be built. Never carries secrets: kube's own errors name files and
/// fields, not tokens or keys.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("failed to read kubeconfig {path}: {cause}")]
    ReadKubeconfig { path: String, cause: String },
    #[error("none of the kubeconfig files in {0:?} exists, and not running in a cluster")]
    NoKubeconfigFile(String),
    #[error("failed to parse the inline kubeconfig (kubeconfigInline): {0}")]
    InlineKubeconfig(String),
    #[error("context \"{0}\" does not exist in the kubeconfig")]
    UnknownContext(String),
    #[error("the kubeconfig has no current-context and no context was given (--context / K8S_CURRENT_CONTEXT)")]
    NoContext,
    #[error(
        "no Kubernetes configuration found: set KUBECONFIG (or kubeconfig in the config file), \
         K8S_API_ENDPOINT, or create {home_config}; not running in a cluster \
         (KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT unset or no service account: {in_cluster})"
    )]
    NothingConfigured {
        home_config: String,
        in_cluster: String,
    },
    #[error("invalid Kubernetes client configuration: {0}")]
    Invalid(String),
}

/// The first line of an error: YAML parse errors go on to quote the offending lines of the
/// kubeconfig, which may hold tokens and keys.
fn summary(error: impl std::fmt::Display) -> String {
    let text = error.to_string();
    text.lines()
        .next()
        .unwrap_or_default()
        .trim_end()
        .to_string()
}

impl From<ConfigError> for DatastoreError {
    fn from(error: ConfigError) -> Self {
        DatastoreError::Store(error.to_string())
    }
}

/// A ready client plus the URL it talks to (kube's `Client` does not expose it).
#[derive(Clone)]
pub struct Connection {
    pub client: kube::Client,
    pub url: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Where a kubeconfig came from: inline text is used as it is (Calico applies none of the `k8s*`
/// overrides to it, not even the context), files get the overrides.
#[derive(Debug)]
pub enum Source {
    Inline(Kubeconfig),
    Files(Kubeconfig),
}

/// Reads the kubeconfig the settings name: inline text wins over files; `kubeconfig` may list
/// several files separated by `:` (merged first-wins as client-go merges them; missing ones are
/// skipped), while a single named file must exist. `None` when no kubeconfig is named, or when
/// every file of a list is missing (client-go then goes on without one, as we do).
pub fn load_kubeconfig(spec: &ApiConfigSpec) -> Result<Option<Source>, ConfigError> {
    if !spec.kubeconfig_inline.is_empty() {
        return Kubeconfig::from_yaml(&spec.kubeconfig_inline)
            .map(|k| Some(Source::Inline(k)))
            .map_err(|e| ConfigError::InlineKubeconfig(summary(e)));
    }
    if spec.kubeconfig.is_empty() {
        return Ok(None);
    }
    let paths: Vec<PathBuf> = std::env::split_paths(&spec.kubeconfig)
        .filter(|p| !p.as_os_str().is_empty())
        .collect();
    let read = |path: &Path| {
        Kubeconfig::read_from(path).map_err(|e| ConfigError::ReadKubeconfig {
            path: path.display().to_string(),
            cause: summary(e),
        })
    };
    if let [only] = paths.as_slice() {
        return read(only).map(|k| Some(Source::Files(k)));
    }
    let mut merged: Option<Kubeconfig> = None;
    let mut seen = Vec::new();
    for path in paths.iter().filter(|p| p.exists()) {
        // client-go drops repeated entries of the list.
        if seen.contains(&path) {
            continue;
        }
        seen.push(path);
        let next = read(path)?;
        merged = Some(match merged {
            None => next,
            Some(base) => base.merge(next).map_err(|e| ConfigError::ReadKubeconfig {
                path: path.display().to_string(),
                cause: summary(e),
            })?,
        });
    }
    Ok(merged.map(Source::Files))
}

/// A kubeconfig with one cluster/user/context, for `k8sAPIEndpoint` without a kubeconfig.
fn synthetic_kubeconfig(endpoint: &str) -> Kubeconfig {
    Kubeconfig {
        clusters: vec![NamedCluster {
            name: SYNTHETIC_NAME.into(),
            cluster: Some(Cluster {
                server: Some(endpoint.to_string()),
                ..Cluster::default()
            }),
            ..NamedCluster::default()
        }],
        auth_infos: vec![NamedAuthInfo {
            name: SYNTHETIC_NAME.into(),
            auth_info: Some(AuthInfo::default()),
            ..NamedAuthInfo::default()
        }],
        contexts: vec![NamedContext {
            name: SYNTHETIC_NAME.into(),
            context: Some(Context {
                cluster: SYNTHETIC_NAME.into(),
                user: Some(SYNTHETIC_NAME.into()),
                ..Context::default()
            }),
            ..NamedContext::default()
        }],
        current_context: Some(SYNTHETIC_NAME.into()),
        ..Kubeconfig::default()
    }
}

/// Applies the `k8s*` settings to the selected context's cluster and user, as client-go's
/// `ConfigOverrides` do. Returns the context name.
fn apply_overrides(
    kubeconfig: &mut Kubeconfig,
    spec: &ApiConfigSpec,
) -> Result<String, ConfigError> {
    let context_name = if spec.k8s_current_context.is_empty() {
        kubeconfig
            .current_context
            .clone()
            .ok_or(ConfigError::NoContext)?
    } else {
        spec.k8s_current_context.clone()
    };
    let context = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context_name)
        .and_then(|c| c.context.clone())
        .ok_or_else(|| ConfigError::UnknownContext(context_name.clone()))?;

    // A context may name a cluster or user the file does not define; client-go then starts from
    // an empty one, and so do we (kube reports a missing server URL if nothing fills it).
    if !kubeconfig
        .clusters
        .iter()
        .any(|c| c.name == context.cluster)
    {
        kubeconfig.clusters.push(NamedCluster {
            name: context.cluster.clone(),
            cluster: Some(Cluster::default()),
            ..NamedCluster::default()
        });
    }
    let user_name = context
        .user
        .clone()
        .unwrap_or_else(|| SYNTHETIC_NAME.into());
    if !kubeconfig.auth_infos.iter().any(|a| a.name == user_name) {
        kubeconfig.auth_infos.push(NamedAuthInfo {
            name: user_name.clone(),
            auth_info: Some(AuthInfo::default()),
            ..NamedAuthInfo::default()
        });
    }
    if context.user.is_none() {
        if let Some(named) = kubeconfig
            .contexts
            .iter_mut()
            .find(|c| c.name == context_name)
        {
            if let Some(ctx) = named.context.as_mut() {
                ctx.user = Some(user_name.clone());
            }
        }
    }

    if let Some(cluster) = kubeconfig
        .clusters
        .iter_mut()
        .find(|c| c.name == context.cluster)
        .map(|c| c.cluster.get_or_insert_with(Cluster::default))
    {
        if !spec.k8s_api_endpoint.is_empty() {
            cluster.server = Some(spec.k8s_api_endpoint.clone());
        }
        if !spec.k8s_ca_file.is_empty() {
            cluster.certificate_authority = Some(spec.k8s_ca_file.clone());
            cluster.certificate_authority_data = None;
        }
        if spec.k8s_insecure_skip_tls_verify {
            // client-go refuses a CA together with the insecure flag and drops the CA when the
            // flag comes from an override.
            cluster.insecure_skip_tls_verify = Some(true);
            cluster.certificate_authority = None;
            cluster.certificate_authority_data = None;
        }
    }
    if let Some(user) = kubeconfig
        .auth_infos
        .iter_mut()
        .find(|a| a.name == user_name)
        .map(|a| a.auth_info.get_or_insert_with(AuthInfo::default))
    {
        if !spec.k8s_cert_file.is_empty() {
            user.client_certificate = Some(spec.k8s_cert_file.clone());
            user.client_certificate_data = None;
        }
        if !spec.k8s_key_file.is_empty() {
            user.client_key = Some(spec.k8s_key_file.clone());
            user.client_key_data = None;
        }
        if !spec.k8s_api_token.is_empty() {
            user.token = Some(spec.k8s_api_token.clone().into());
            user.token_file = None;
        }
    }
    Ok(context_name)
}

/// The `kube::Config` for these settings.
pub async fn kube_config(spec: &ApiConfigSpec) -> Result<kube::Config, ConfigError> {
    let (mut kubeconfig, overrides) = match load_kubeconfig(spec)? {
        Some(Source::Inline(kubeconfig)) => (kubeconfig, false),
        Some(Source::Files(kubeconfig)) => (kubeconfig, true),
        None if !spec.k8s_api_endpoint.is_empty() => {
            (synthetic_kubeconfig(&spec.k8s_api_endpoint), true)
        }
        None => return in_cluster_config(spec),
    };
    let context = if overrides {
        apply_overrides(&mut kubeconfig, spec)?
    } else {
        kubeconfig
            .current_context
            .clone()
            .ok_or(ConfigError::NoContext)?
    };
    withhold_credentials_from_plain_http(&mut kubeconfig, &context);
    let ca_source = ca_source(&kubeconfig, &context);
    let options = KubeConfigOptions {
        context: Some(context),
        ..KubeConfigOptions::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| ConfigError::Invalid(summary(e)))?;
    // kube keeps only the CERTIFICATE blocks of a CA bundle and says nothing when there are
    // none, which would surface later as an untrusted server.
    if let (Some(source), Some(certs)) = (ca_source, &config.root_cert) {
        if certs.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "the Kubernetes CA {source} does not hold a PEM certificate"
            )));
        }
    }
    Ok(config)
}

/// Where the selected context's cluster takes its CA from, for errors.
fn ca_source(kubeconfig: &Kubeconfig, context_name: &str) -> Option<String> {
    let cluster_name = &kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context_name)?
        .context
        .as_ref()?
        .cluster;
    let cluster = kubeconfig
        .clusters
        .iter()
        .find(|c| &c.name == cluster_name)?
        .cluster
        .as_ref()?;
    if cluster.certificate_authority_data.is_some() {
        return Some(format!(
            "data (certificate-authority-data of cluster \"{cluster_name}\")"
        ));
    }
    cluster
        .certificate_authority
        .as_ref()
        .map(|path| format!("file {path}"))
}

/// client-go (`DirectClientConfig.ClientConfig`, "only try to read the auth information if we
/// are secure") uses a context's user (token, token file, client certificate, exec plugin,
/// auth provider, basic auth) only when the server URL is `https`: kubectl and Calico's
/// calicoctl never send credentials over plain `http://`. So the context's user is emptied here
/// for any other URL, keeping only impersonation (which client-go applies either way).
fn withhold_credentials_from_plain_http(kubeconfig: &mut Kubeconfig, context_name: &str) {
    let Some(context) = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context_name)
        .and_then(|c| c.context.as_ref())
    else {
        return;
    };
    let server = kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == context.cluster)
        .and_then(|c| c.cluster.as_ref())
        .and_then(|c| c.server.as_deref())
        .unwrap_or_default();
    if server
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    {
        return;
    }
    let Some(user_name) = context.user.clone() else {
        return;
    };
    for named in kubeconfig
        .auth_infos
        .iter_mut()
        .filter(|a| a.name == user_name)
    {
        if let Some(user) = named.auth_info.take() {
            named.auth_info = Some(AuthInfo {
                impersonate: user.impersonate,
                impersonate_uid: user.impersonate_uid,
                impersonate_groups: user.impersonate_groups,
                ..AuthInfo::default()
            });
        }
    }
}

/// In-cluster configuration, with the same overrides (certificates, token) applied.
fn in_cluster_config(spec: &ApiConfigSpec) -> Result<kube::Config, ConfigError> {
    let mut config = kube::Config::incluster().map_err(|e| {
        if !spec.kubeconfig.is_empty() {
            return ConfigError::NoKubeconfigFile(spec.kubeconfig.clone());
        }
        let home_config = std::env::var("HOME")
            .map(|home| format!("{home}/.kube/config"))
            .unwrap_or_else(|_| "~/.kube/config".into());
        ConfigError::NothingConfigured {
            home_config,
            in_cluster: e.to_string(),
        }
    })?;
    if !spec.k8s_api_token.is_empty() {
        config.auth_info.token = Some(spec.k8s_api_token.clone().into());
        config.auth_info.token_file = None;
    }
    if !spec.k8s_cert_file.is_empty() {
        config.auth_info.client_certificate = Some(spec.k8s_cert_file.clone());
    }
    if !spec.k8s_key_file.is_empty() {
        config.auth_info.client_key = Some(spec.k8s_key_file.clone());
    }
    if spec.k8s_insecure_skip_tls_verify {
        config.accept_invalid_certs = true;
    }
    if !spec.k8s_ca_file.is_empty() {
        let pem = std::fs::read(&spec.k8s_ca_file).map_err(|e| {
            ConfigError::Invalid(format!("failed to read {}: {e}", spec.k8s_ca_file))
        })?;
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err(ConfigError::Invalid(format!(
                "the Kubernetes CA file {} does not hold a PEM certificate",
                spec.k8s_ca_file
            )));
        }
        config.root_cert = Some(vec![pem]);
        config.root_cert_file = None;
    }
    Ok(config)
}

/// Names the client certificate when it is an X.509 version 1 certificate, which client-go
/// accepts and rustls refuses with an error that blames the server.
fn v1_client_certificate(user: &AuthInfo) -> Option<String> {
    use calico_datastore::tls::{base64_decode, first_certificate_is_v1};
    if let Some(data) = &user.client_certificate_data {
        let pem = base64_decode(data)?;
        return first_certificate_is_v1(&pem)
            .then(|| "the Kubernetes client certificate (client-certificate-data)".to_string());
    }
    let path = user.client_certificate.as_ref()?;
    let pem = std::fs::read(path).ok()?;
    first_certificate_is_v1(&pem).then(|| format!("the Kubernetes client certificate file {path}"))
}

/// Builds the client.
pub async fn connect(spec: &ApiConfigSpec) -> Result<Connection, ConfigError> {
    let mut config = kube_config(spec).await?;
    if let Some(what) = v1_client_certificate(&config.auth_info) {
        return Err(ConfigError::Invalid(
            calico_datastore::tls::v1_client_certificate(&what),
        ));
    }
    // What Calico's calicoctl sends: the API server names the manager of the fields it writes
    // after the user agent (`managedFields[].manager: Go-http-client`).
    config.headers.push((
        http::header::USER_AGENT,
        http::HeaderValue::from_static("Go-http-client/1.1"),
    ));
    let url = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string();
    let resilience = crate::resilience::Resilience::from_env(&url).map_err(ConfigError::Invalid)?;
    let mut config = config;
    // kube's own retry has no bound on the total time and retries creates whose outcome is
    // unknown; the resilience layer does both within bounds.
    config.default_retry = false;
    let client = kube::client::ClientBuilder::try_from(config)
        .map_err(|e| ConfigError::Invalid(summary(e)))?
        .with_layer(&resilience)
        .build();
    Ok(Connection { client, url })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ApiConfigSpec {
        ApiConfigSpec {
            datastore_type: "kubernetes".into(),
            ..ApiConfigSpec::default()
        }
    }

    const TWO_CONTEXTS: &str = "apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: 'https://a.example:6443'}
- name: b
  cluster: {server: 'https://b.example:6443'}
users:
- name: u
  user: {token: secret-token}
contexts:
- name: ctx-a
  context: {cluster: a, user: u}
- name: ctx-b
  context: {cluster: b, user: u}
current-context: ctx-a
";

    #[tokio::test]
    async fn inline_kubeconfig_wins_and_takes_no_overrides() {
        let mut s = spec();
        s.kubeconfig_inline = TWO_CONTEXTS.into();
        s.kubeconfig = "/does/not/exist".into();
        s.k8s_current_context = "ctx-b".into();
        s.k8s_api_endpoint = "https://elsewhere.example".into();
        let config = kube_config(&s).await.unwrap();
        assert_eq!(config.cluster_url.to_string(), "https://a.example:6443/");
    }

    #[tokio::test]
    async fn context_selection() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, TWO_CONTEXTS).unwrap();
        let mut s = spec();
        s.kubeconfig = path.display().to_string();
        let config = kube_config(&s).await.unwrap();
        assert_eq!(config.cluster_url.to_string(), "https://a.example:6443/");
        s.k8s_current_context = "ctx-b".into();
        let config = kube_config(&s).await.unwrap();
        assert_eq!(config.cluster_url.to_string(), "https://b.example:6443/");
        s.k8s_current_context = "nope".into();
        let err = kube_config(&s).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "context \"nope\" does not exist in the kubeconfig"
        );
    }

    #[tokio::test]
    async fn overrides_apply_to_the_selected_context() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, TWO_CONTEXTS).unwrap();
        let mut s = spec();
        s.kubeconfig = path.display().to_string();
        s.k8s_api_endpoint = "https://override.example:443".into();
        s.k8s_api_token = "other-token".into();
        s.k8s_insecure_skip_tls_verify = true;
        let config = kube_config(&s).await.unwrap();
        assert_eq!(
            config.cluster_url.to_string(),
            "https://override.example:443/"
        );
        assert!(config.accept_invalid_certs);
        let debug = format!("{config:?}");
        assert!(!debug.contains("other-token"), "{debug}");
        assert!(!debug.contains("secret-token"), "{debug}");
    }

    #[tokio::test]
    async fn colon_separated_kubeconfigs_merge_first_wins() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("first");
        let second = dir.path().join("second");
        std::fs::write(
            &first,
            "apiVersion: v1\nkind: Config\ncurrent-context: ctx-b\nclusters: []\ncontexts: []\nusers: []\n",
        )
        .unwrap();
        std::fs::write(&second, TWO_CONTEXTS).unwrap();
        let mut s = spec();
        s.kubeconfig = format!(
            "{}:{}:{}",
            dir.path().join("missing").display(),
            first.display(),
            second.display()
        );
        let config = kube_config(&s).await.unwrap();
        assert_eq!(config.cluster_url.to_string(), "https://b.example:6443/");

        s.kubeconfig = format!(
            "{}:{}",
            dir.path().join("x").display(),
            dir.path().join("y").display()
        );
        if std::env::var_os("KUBERNETES_SERVICE_HOST").is_none() {
            assert!(matches!(
                kube_config(&s).await,
                Err(ConfigError::NoKubeconfigFile(_))
            ));
        }
        // All listed files missing, but an endpoint: client-go goes on with the endpoint.
        s.k8s_api_endpoint = "http://127.0.0.1:8080".into();
        let config = kube_config(&s).await.unwrap();
        assert_eq!(config.cluster_url.to_string(), "http://127.0.0.1:8080/");
        s.k8s_api_endpoint.clear();
        s.kubeconfig = dir.path().join("x").display().to_string();
        let err = kube_config(&s).await.unwrap_err();
        assert!(
            err.to_string().starts_with("failed to read kubeconfig "),
            "{err}"
        );
    }

    #[tokio::test]
    async fn credentials_are_never_sent_over_plain_http() {
        // As client-go: a token (from the settings or the kubeconfig) or a client certificate
        // is used only with an https server.
        let mut s = spec();
        s.k8s_api_endpoint = "http://127.0.0.1:8080".into();
        s.k8s_api_token = "plain-token".into();
        let config = kube_config(&s).await.unwrap();
        assert!(config.auth_info.token.is_none());
        assert!(!format!("{config:?}").contains("plain-token"));

        let mut s = spec();
        s.kubeconfig_inline = TWO_CONTEXTS.replace("https://a.example", "http://a.example");
        let config = kube_config(&s).await.unwrap();
        assert_eq!(config.cluster_url.to_string(), "http://a.example:6443/");
        assert!(config.auth_info.token.is_none());
        assert!(config.auth_info.token_file.is_none());

        // https keeps them.
        s.kubeconfig_inline = TWO_CONTEXTS.into();
        let config = kube_config(&s).await.unwrap();
        assert!(config.auth_info.token.is_some());
        let mut s = spec();
        s.k8s_api_endpoint = "HTTPS://127.0.0.1:6443".into();
        s.k8s_api_token = "tls-token".into();
        let config = kube_config(&s).await.unwrap();
        assert!(config.auth_info.token.is_some());
    }

    #[tokio::test]
    async fn a_ca_file_without_pem_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.der");
        std::fs::write(&ca, b"\x30\x82\x01\x0a not pem").unwrap();
        let mut s = spec();
        s.k8s_api_endpoint = "https://127.0.0.1:6443".into();
        s.k8s_ca_file = ca.display().to_string();
        let err = kube_config(&s).await.unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "invalid Kubernetes client configuration: the Kubernetes CA file {} does not hold a PEM certificate",
                ca.display()
            )
        );
    }

    #[tokio::test]
    async fn endpoint_alone_is_enough() {
        let mut s = spec();
        s.k8s_api_endpoint = "http://127.0.0.1:8080".into();
        let config = kube_config(&s).await.unwrap();
        assert_eq!(config.cluster_url.to_string(), "http://127.0.0.1:8080/");
    }

    #[tokio::test]
    async fn nothing_configured_names_what_was_tried() {
        if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
            return;
        }
        let err = kube_config(&spec()).await.unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("no Kubernetes configuration found: set KUBECONFIG"),
            "{text}"
        );
        assert!(text.contains("K8S_API_ENDPOINT"), "{text}");
        assert!(text.contains(".kube/config"), "{text}");
    }

    #[tokio::test]
    async fn parse_errors_do_not_quote_the_kubeconfig() {
        let mut s = spec();
        s.kubeconfig_inline =
            "apiVersion: v1\nusers:\n- name: u\n  user:\n    token: [supersecret]\n".into();
        let err = kube_config(&s).await.unwrap_err().to_string();
        assert!(
            err.starts_with("failed to parse the inline kubeconfig"),
            "{err}"
        );
        assert!(!err.contains("supersecret"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, &s.kubeconfig_inline).unwrap();
        s.kubeconfig_inline.clear();
        s.kubeconfig = path.display().to_string();
        let err = kube_config(&s).await.unwrap_err().to_string();
        assert!(err.starts_with("failed to read kubeconfig "), "{err}");
        assert!(!err.contains("supersecret"), "{err}");
    }
}
