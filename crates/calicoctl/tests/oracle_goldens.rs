//! What Calico's own calicoctl printed and stored, replayed against ours on a real etcd.
//!
//! Each folder under `tests/goldens/oracle/` is one case: a `script` of commands (run in the
//! folder, so manifests next to it are found), and what Calico's calicoctl (built from the
//! reference snapshot) printed (`transcript`) and left in etcd (`stored`, the output of
//! `etcdctl get --prefix /calico`) when it ran the same script on a fresh etcd. uids, creation
//! times, the cluster GUID and printed resource versions are masked (ours commits concurrent
//! writes of a bulk create in one etcd transaction, so revisions are numbered differently);
//! everything else must be byte-identical.
//!
//! Script lines: `calicoctl ARGS…` (quoted like a shell), or `etcdctl put KEY VALUE` to write
//! raw data as another Calico component would. A command line ending in `# stored-only: WHY`
//! has its output left out of the transcript (ours differs there for the reason given, which
//! `docs/compatibility.md` lists); what it stores still counts.
//!
//! The cases under `tests/goldens/oracle-kdd/` run the same way on the Kubernetes datastore: a
//! fresh real kube-apiserver per case (see `calico-test-support`), `kubectl ARGS…` lines in
//! place of `etcdctl` ones (their output goes into the transcript, which so shows what is
//! stored), `{repo}` in a line standing for the repository root, and no `stored` file.
//! managedFields times are masked too.
//!
//! To record a case, run the test with `CALICOCTL_ORACLE=/path/to/calico/calicoctl`: the
//! script then runs with that binary and the goldens are rewritten.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use assert_cmd::Command;
use std::path::{Path, PathBuf};

const STORED_ONLY: &str = "# stored-only:";

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/goldens/oracle")
}

fn kdd_cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/goldens/oracle-kdd")
}

/// Masks the values that differ on every run (uid, creation time, cluster GUID) and the
/// resource versions.
fn mask(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        out.push_str(&mask_line(line));
    }
    out
}

fn mask_line(line: &str) -> String {
    let mut line = line.to_string();
    // JSON (stored values and -o json): "field":"value" and "field": "value".
    for field in [
        "uid",
        "creationTimestamp",
        "clusterGUID",
        "resourceVersion",
        "time",
    ] {
        for marker in [format!("\"{field}\":\""), format!("\"{field}\": \"")] {
            let mut from = 0;
            while let Some(start) = line[from..].find(&marker) {
                let value_start = from + start + marker.len();
                let Some(len) = line[value_start..].find('"') else {
                    break;
                };
                line.replace_range(value_start..value_start + len, "*");
                from = value_start + 1;
            }
        }
    }
    // YAML (-o yaml): `field: value` on its own line.
    let trimmed = line.trim_start();
    for field in [
        "uid: ",
        "creationTimestamp: ",
        "clusterGUID: ",
        "resourceVersion: ",
        "time: ",
    ] {
        if let Some(value) = trimmed.strip_prefix(field) {
            if value.trim() != "null" {
                let indent = &line[..line.len() - trimmed.len()];
                return format!("{indent}{field}*\n");
            }
        }
    }
    line
}

/// Where a case runs.
enum Datastore {
    Etcd(Box<common::Etcd>),
    Kube(Box<common::Kube>),
}

impl Datastore {
    fn home(&self) -> &Path {
        match self {
            Datastore::Etcd(etcd) => etcd.home.path(),
            Datastore::Kube(kube) => kube.home.path(),
        }
    }

    fn point(&self, cmd: &mut Command) {
        match self {
            Datastore::Etcd(etcd) => {
                cmd.env("DATASTORE_TYPE", "etcdv3")
                    .env("ETCD_ENDPOINTS", etcd.server.endpoint());
            }
            Datastore::Kube(kube) => {
                cmd.env("DATASTORE_TYPE", "kubernetes")
                    .env("KUBECONFIG", kube.kubeconfig());
            }
        }
    }
}

/// Runs a case's script with `binary` (ours when `None`); returns the transcript and the
/// stored data (etcd only).
fn run_case(dir: &Path, binary: Option<&Path>, datastore: &Datastore) -> (String, String) {
    let script = std::fs::read_to_string(dir.join("script")).expect("read script");
    let repo = common::tour::repo_root();
    let repo = repo.to_string_lossy();
    let mut transcript = String::new();
    for line in script.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (command, stored_only) = match line.split_once(STORED_ONLY) {
            Some((command, _)) => (command.trim(), true),
            None => (line, false),
        };
        transcript.push_str(&format!("$ {line}\n"));
        let words =
            shell_words::split(&command.replace("{repo}", &repo)).expect("script line parses");
        let out = match (words.first().map(String::as_str), datastore) {
            (Some("etcdctl"), Datastore::Etcd(etcd)) => {
                let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
                etcd.server.etcdctl(&args);
                continue;
            }
            (Some("kubectl"), Datastore::Kube(kube)) => std::process::Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(kube.kubeconfig())
                .arg("--cache-dir")
                .arg(kube.home.path().join("kube-cache"))
                .args(&words[1..])
                .current_dir(dir)
                .output()
                .expect("kubectl runs"),
            (Some("calicoctl"), _) => {
                let mut cmd = match binary {
                    Some(path) => {
                        let mut cmd = Command::new(path);
                        cmd.env_clear()
                            .env("PATH", std::env::var("PATH").unwrap_or_default())
                            .env("HOME", datastore.home());
                        cmd
                    }
                    None => common::bare(datastore.home()),
                };
                datastore.point(&mut cmd);
                cmd.current_dir(dir)
                    .args(&words[1..])
                    .output()
                    .expect("calicoctl runs")
            }
            (other, _) => panic!("unknown script command {other:?} in {}", dir.display()),
        };
        if stored_only {
            continue;
        }
        transcript.push_str(&String::from_utf8_lossy(&out.stdout));
        for err in String::from_utf8_lossy(&out.stderr).lines() {
            transcript.push_str(&format!("ERR: {err}\n"));
        }
        transcript.push_str(&format!("rc={}\n", out.status.code().unwrap_or(-1)));
    }
    let stored = match datastore {
        Datastore::Etcd(etcd) => etcd.server.etcdctl(&["get", "--prefix", "/calico"]),
        Datastore::Kube(_) => String::new(),
    };
    (mask(&transcript), mask(&stored))
}

/// The cases (folders with a `script`) under `dir`, in order.
fn cases_in(dir: &Path) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("goldens folder")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.join("script").is_file())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no golden cases in {}", dir.display());
    cases
}

/// Runs every case in `dir` on a fresh datastore from `fresh`: records with the oracle when
/// `CALICOCTL_ORACLE` is set, else compares ours with the goldens (and, `with_stored`, what
/// etcd holds).
fn check_cases(dir: &Path, with_stored: bool, fresh: impl Fn() -> Datastore) {
    let oracle = std::env::var_os("CALICOCTL_ORACLE").map(PathBuf::from);
    let mut failures = Vec::new();
    for case in &cases_in(dir) {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(oracle) = &oracle {
            let (transcript, stored) = run_case(case, Some(oracle), &fresh());
            std::fs::write(case.join("transcript"), transcript).unwrap();
            if with_stored {
                std::fs::write(case.join("stored"), stored).unwrap();
            }
            continue;
        }
        let (transcript, stored) = run_case(case, None, &fresh());
        let want_transcript = std::fs::read_to_string(case.join("transcript")).unwrap();
        if transcript != want_transcript {
            failures.push(format!(
                "{name}: transcript differs\n--- Calico's\n{want_transcript}\n--- ours\n{transcript}"
            ));
        }
        if with_stored {
            let want_stored = std::fs::read_to_string(case.join("stored")).unwrap();
            if stored != want_stored {
                failures.push(format!(
                    "{name}: stored data differs\n--- Calico's\n{want_stored}\n--- ours\n{stored}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn ours_prints_and_stores_what_calicos_calicoctl_did() {
    check_cases(&cases_dir(), true, || {
        Datastore::Etcd(Box::new(common::Etcd::new()))
    });
}

#[test]
fn ours_prints_what_calicos_calicoctl_did_on_a_real_apiserver() {
    check_cases(&kdd_cases_dir(), false, || {
        Datastore::Kube(Box::new(common::Kube::real()))
    });
}

#[test]
fn masking_hides_only_the_per_run_values() {
    let stored = r#"{"metadata":{"name":"a","uid":"1-2","creationTimestamp":"2026-01-01T00:00:00Z"},"spec":{"clusterGUID":"abc","x":"uid"}}"#;
    assert_eq!(
        mask(stored),
        r#"{"metadata":{"name":"a","uid":"*","creationTimestamp":"*"},"spec":{"clusterGUID":"*","x":"uid"}}"#
    );
    assert_eq!(
        mask("  uid: 1-2\n  creationTimestamp: null\n  name: uid\n"),
        "  uid: *\n  creationTimestamp: null\n  name: uid\n"
    );
}
