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

/// Runs `binary` with a clean environment holding the step's `env` (and the embedded store's
/// path), the step's `stdin`; returns its stdout (the endpoint written back as `{etcd}`) and
/// exit code.
pub fn run(binary: &Path, store: &Store, step: &Value) -> (String, i32) {
    let mut command = Command::new(binary);
    command
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in step["env"].as_object().unwrap() {
        command.env(name, store.expand(value.as_str().unwrap()));
    }
    if let Some(path) = store.embedded_path() {
        command.env("DATASTORE_PATH", path);
    }
    let mut child = command.spawn().expect("start calico-ipam");
    let stdin = store.expand(step["stdin"].as_str().unwrap());
    // A plugin may exit without reading its stdin (VERSION does).
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (
        stdout.replace(&store.endpoint(), "{etcd}"),
        output.status.code().unwrap_or(-1),
    )
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
