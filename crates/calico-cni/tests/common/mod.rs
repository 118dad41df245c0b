//! Shared by the process-level tests: a datastore per test (a throw-away etcd, the embedded
//! store, or nothing) and running a plugin binary as a container runtime does.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use calico_datastore::kv::KvStore;
use calico_datastore::EmbeddedStore;
use calico_test_support::EtcdServer;
use serde_json::Value;

/// Where a test's plugin runs keep their data.
pub enum Store {
    None,
    Unreachable,
    Etcd(Box<EtcdServer>),
    Embedded(tempfile::TempDir),
}

impl Store {
    pub fn endpoint(&self) -> String {
        match self {
            Store::Etcd(etcd) => etcd.endpoint().to_string(),
            // Nothing listens on the discard port.
            _ => "http://127.0.0.1:9".to_string(),
        }
    }

    pub fn embedded_path(&self) -> Option<PathBuf> {
        match self {
            Store::Embedded(dir) => Some(dir.path().join("datastore.db")),
            _ => None,
        }
    }

    pub fn selector(&self) -> String {
        match self {
            Store::Embedded(_) => r#""datastore_type":"embedded""#.to_string(),
            _ => format!(
                r#""datastore_type":"etcdv3","etcd_endpoints":"{}""#,
                self.endpoint()
            ),
        }
    }

    pub fn expand(&self, text: &str) -> String {
        text.replace("{datastore}", &self.selector())
            .replace("{etcd}", &self.endpoint())
    }

    pub fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    pub fn seed(&self, seed: &[Value]) {
        for pair in seed {
            let key = pair[0].as_str().unwrap();
            let value = pair[1].as_str().unwrap();
            match self {
                Store::Etcd(etcd) => {
                    etcd.etcdctl(&["put", key, value]);
                }
                Store::Embedded(_) => {
                    let store = EmbeddedStore::open(self.embedded_path().unwrap()).unwrap();
                    Self::runtime()
                        .block_on(store.put(key, value.as_bytes().to_vec()))
                        .unwrap();
                }
                _ => panic!("a case without a datastore has a seed"),
            }
        }
    }

    pub fn stored(&self) -> String {
        match self {
            Store::Etcd(etcd) => etcd.etcdctl(&["get", "--prefix", "/calico"]),
            Store::Embedded(_) => {
                let store = EmbeddedStore::open(self.embedded_path().unwrap()).unwrap();
                let range = Self::runtime()
                    .block_on(store.range("/calico", None))
                    .unwrap();
                range
                    .kvs
                    .iter()
                    .map(|kv| format!("{}\n{}\n", kv.key, String::from_utf8_lossy(&kv.value)))
                    .collect()
            }
            _ => String::new(),
        }
    }
}

/// What one run of the plugin printed.
pub struct Ran {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// Runs `binary` as a runtime does: a clean environment holding only `env`, `stdin` written
/// to it (a plugin may exit without reading it, as VERSION does).
pub fn spawn(binary: &Path, env: &[(String, String)], stdin: &str) -> Ran {
    // The host's allocation queue in the temporary directory, not /var/run: one directory for
    // every test run (each datastore has its own subdirectory in it; what a run leaves there
    // is removed by later runs once stale).
    let queue = std::env::temp_dir().join("calico-cni-test-queue");
    let mut child = Command::new(binary)
        .env_clear()
        .env("CALICO_IPAM_QUEUE_DIR", &queue)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start calico-ipam");
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let output = child.wait_with_output().unwrap();
    Ran {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code().unwrap_or(-1),
    }
}

/// The built plugin.
pub fn ours() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_calico-ipam"))
}

/// Runs `binary` with the step's `env` (and the embedded store's path) and `stdin`, placeholders
/// expanded; returns its stdout (the endpoint written back as `{etcd}`) and exit code.
pub fn run(binary: &Path, store: &Store, step: &Value) -> (String, i32) {
    let mut env: Vec<(String, String)> = step["env"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| (name.clone(), store.expand(value.as_str().unwrap())))
        .collect();
    if let Some(path) = store.embedded_path() {
        env.push(("DATASTORE_PATH".into(), path.display().to_string()));
    }
    let ran = spawn(binary, &env, &store.expand(step["stdin"].as_str().unwrap()));
    (ran.stdout.replace(&store.endpoint(), "{etcd}"), ran.code)
}

/// A fresh store of the kind a case names (`etcd` is the embedded store when `embedded`).
pub fn fresh(kind: &str, embedded: bool) -> Store {
    match kind {
        "none" => Store::None,
        "unreachable" => Store::Unreachable,
        "etcd" if embedded => Store::Embedded(tempfile::tempdir().unwrap()),
        "etcd" => Store::Etcd(Box::new(EtcdServer::start())),
        other => panic!("unknown datastore {other}"),
    }
}
