use super::*;
use std::collections::HashMap;

struct FakeEnv {
    vars: HashMap<String, String>,
    files: Vec<PathBuf>,
}

impl FakeEnv {
    fn new(vars: &[(&str, &str)]) -> Self {
        FakeEnv {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            files: Vec::new(),
        }
    }
}

impl Environment for FakeEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
    fn file_exists(&self, path: &Path) -> bool {
        self.files.iter().any(|f| f == path)
    }
}

fn no_file(_: &Path) -> Option<String> {
    None
}

fn default_path() -> PathBuf {
    PathBuf::from(DEFAULT_CONFIG_PATH)
}

#[test]
fn nothing_configured_means_embedded() {
    let env = FakeEnv::new(&[("HOME", "/home/u")]);
    let config = load(&default_path(), &env, &no_file).unwrap();
    assert_eq!(config.datastore_type, DatastoreType::Embedded);
    assert!(config.embedded_by_default);
    assert_eq!(
        embedded_path(&config, &env),
        PathBuf::from("/home/u/.local/share/calico/datastore.db")
    );
    let env = FakeEnv::new(&[("HOME", "/home/u"), ("XDG_DATA_HOME", "/data")]);
    assert_eq!(
        embedded_path(&load(&default_path(), &env, &no_file).unwrap(), &env),
        PathBuf::from("/data/calico/datastore.db")
    );
}

#[test]
fn any_sign_of_a_cluster_means_kubernetes() {
    for vars in [
        vec![("KUBECONFIG", "/k")],
        vec![("KUBERNETES_SERVICE_HOST", "10.0.0.1")],
        vec![("DATASTORE_TYPE", "")],
        vec![("K8S_API_ENDPOINT", "https://x")],
    ] {
        let config = load(&default_path(), &FakeEnv::new(&vars), &no_file).unwrap();
        assert_eq!(config.datastore_type, DatastoreType::Kubernetes, "{vars:?}");
        assert!(!config.embedded_by_default);
    }
    let mut env = FakeEnv::new(&[("HOME", "/home/u")]);
    env.files.push(PathBuf::from("/home/u/.kube/config"));
    let config = load(&default_path(), &env, &no_file).unwrap();
    assert_eq!(config.datastore_type, DatastoreType::Kubernetes);
    assert_eq!(config.spec.kubeconfig, "/home/u/.kube/config");
}

#[test]
fn etcd_endpoints_select_etcd_and_calico_prefix_wins() {
    let env = FakeEnv::new(&[
        ("ETCD_ENDPOINTS", "http://a:2379"),
        ("CALICO_ETCD_ENDPOINTS", "http://b:2379"),
    ]);
    let config = load(&default_path(), &env, &no_file).unwrap();
    assert_eq!(config.datastore_type, DatastoreType::EtcdV3);
    assert_eq!(config.spec.etcd_endpoints, "http://b:2379");
}

#[test]
fn explicit_embedded_and_path() {
    let env = FakeEnv::new(&[
        ("DATASTORE_TYPE", "embedded"),
        ("DATASTORE_PATH", "/tmp/x.db"),
    ]);
    let config = load(&default_path(), &env, &no_file).unwrap();
    assert_eq!(config.datastore_type, DatastoreType::Embedded);
    assert!(!config.embedded_by_default);
    assert_eq!(embedded_path(&config, &env), PathBuf::from("/tmp/x.db"));
    let env = FakeEnv::new(&[
        ("DATASTORE_TYPE", "embedded"),
        ("CALICO_DATASTORE_PATH", "/y.db"),
    ]);
    let config = load(&default_path(), &env, &no_file).unwrap();
    assert_eq!(embedded_path(&config, &env), PathBuf::from("/y.db"));
}

#[test]
fn bad_settings() {
    let env = FakeEnv::new(&[("DATASTORE_TYPE", "zookeeper")]);
    assert_eq!(
        load(&default_path(), &env, &no_file)
            .unwrap_err()
            .to_string(),
        "unknown datastore type: zookeeper"
    );
    let env = FakeEnv::new(&[("K8S_INSECURE_SKIP_TLS_VERIFY", "yes")]);
    assert_eq!(
        load(&default_path(), &env, &no_file).unwrap_err().to_string(),
        "failed to load config from env vars: envconfig.Process: assigning K8S_INSECURE_SKIP_TLS_VERIFY to K8sInsecureSkipTLSVerify: converting 'yes' to type bool. details: strconv.ParseBool: parsing \"yes\": invalid syntax"
    );
    assert_eq!(
        load(Path::new("/nope.cfg"), &FakeEnv::new(&[]), &no_file)
            .unwrap_err()
            .to_string(),
        "Error reading config file: /nope.cfg"
    );
}

#[test]
fn config_file_only() {
    let text = "apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nmetadata:\nspec:\n  datastoreType: etcdv3\n  etcdEndpoints: http://e:2379\n  etcdPassword: hunter2\n";
    let read = |_: &Path| Some(text.to_string());
    // The environment is ignored when the file exists.
    let env = FakeEnv::new(&[("DATASTORE_TYPE", "kubernetes")]);
    let config = load(Path::new("/c.cfg"), &env, &read).unwrap();
    assert_eq!(config.datastore_type, DatastoreType::EtcdV3);
    assert_eq!(config.source, ConfigSource::File(PathBuf::from("/c.cfg")));
    assert!(!format!("{config:?}").contains("hunter2"));

    let wrong_kind = |_: &Path| Some("apiVersion: projectcalico.org/v3\nkind: Other\n".to_string());
    assert_eq!(
        load(Path::new("/c.cfg"), &env, &wrong_kind)
            .unwrap_err()
            .to_string(),
        "invalid config file: expected kind 'CalicoAPIConfig', got 'Other'"
    );
    let wrong_version = |_: &Path| Some("apiVersion: v1\nkind: CalicoAPIConfig\n".to_string());
    assert_eq!(
        load(Path::new("/c.cfg"), &env, &wrong_version)
            .unwrap_err()
            .to_string(),
        "invalid config file: unknown APIVersion 'v1'"
    );
    let unknown = |_: &Path| {
        Some(
            "apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nspec:\n  bogus: 1\n"
                .to_string(),
        )
    };
    assert!(load(Path::new("/c.cfg"), &env, &unknown)
        .unwrap_err()
        .to_string()
        .starts_with("syntax error in /c.cfg: failed to parse config as YAML/JSON"));
}

#[test]
fn passwords_in_urls_are_redacted() {
    assert_eq!(
        redact_urls("http://user:s3cret@10.0.0.1:2379,https://b:2379,c:2379"),
        "http://user:xxxxx@10.0.0.1:2379,https://b:2379,c:2379"
    );
    assert_eq!(redact_urls("u:p@host:2379/x"), "u:xxxxx@host:2379/x");
    // A user without a password, and an `@` after the authority, are left alone.
    assert_eq!(redact_urls("http://user@h:1"), "http://user@h:1");
    assert_eq!(redact_urls("http://h:1/a@b:c"), "http://h:1/a@b:c");
    // The last `@` of the authority ends the user info (a password may hold `@`).
    assert_eq!(redact_urls("http://u:p@ss@h:1"), "http://u:xxxxx@h:1");
    let spec = ApiConfigSpec {
        etcd_endpoints: "http://root:hunter2@127.0.0.1:2379".into(),
        ..ApiConfigSpec::default()
    };
    assert!(!format!("{spec:?}").contains("hunter2"));
}
