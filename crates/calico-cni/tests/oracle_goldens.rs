//! Runs the built `calico-ipam` exactly as a container runtime does (a clean environment with
//! the `CNI_*` variables, the network configuration on stdin) through every case under
//! `tests/goldens/`, and compares its stdout, exit code and (for datastore cases) the keys it
//! left in the datastore with what Calico's own `calico-ipam` did on the same input.
//!
//! A case file (JSON) holds: `datastore` (`none`, `etcd`, or `unreachable`), `seed` (keys and
//! values written before the first step), `steps` (each with `env`, `stdin`, and Calico's
//! `stdout` and `exit`; `ours` overrides them where ours differs on purpose), and `stored`
//! (`etcdctl get --prefix /calico` after the steps, masked; `ours_stored` where ours stores
//! something else on purpose). In `env` values and `stdin`,
//! `{etcd}` stands for the datastore's endpoint and `{datastore}` for the configuration
//! members that select it. Datastore cases run against a throw-away etcd and, with the same
//! expectations, against the embedded store.
//!
//! Recording: `CNI_ORACLE=/path/to/calico-ipam cargo test -p calico-cni --test oracle_goldens`
//! runs Calico's binary (invoked under the name `calico-ipam`) instead and rewrites the
//! recorded parts of every case (`CNI_ORACLE_CASES=a,b` limits it to some).

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{fresh, run, Store};
use serde_json::{json, Value};

fn goldens() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/goldens")
}

/// What varies per run in stored values: times, sequence numbers.
fn mask(stored: &str) -> String {
    let patterns = [
        (
            r#""affinity_claim_time":"[^"]*""#,
            r#""affinity_claim_time":"*""#,
        ),
        (r#""timestamp":"[^"]*""#, r#""timestamp":"*""#),
        (r#""sequenceNumber":[0-9]+"#, r#""sequenceNumber":"*""#),
        (r#""([0-9]+)":[0-9]{12,}"#, r#""$1":"*""#),
        (r#""releasedAt":"[^"]*""#, r#""releasedAt":"*""#),
    ];
    let mut text = stored.to_string();
    for (pattern, replacement) in patterns {
        let re = regex::Regex::new(pattern).unwrap();
        text = re.replace_all(&text, replacement).into_owned();
    }
    text
}

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(goldens())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    cases.sort();
    cases
}

fn name(case: &Path) -> String {
    case.file_stem().unwrap().to_string_lossy().into_owned()
}

fn record(oracle: &Path) {
    let only: Option<Vec<String>> = std::env::var("CNI_ORACLE_CASES")
        .ok()
        .map(|list| list.split(',').map(str::to_string).collect());
    for case in cases() {
        if only
            .as_ref()
            .is_some_and(|only| !only.contains(&name(&case)))
        {
            continue;
        }
        let mut golden: Value = serde_json::from_slice(&std::fs::read(&case).unwrap()).unwrap();
        let store = fresh(golden["datastore"].as_str().unwrap(), false);
        if let Some(seed) = golden["seed"].as_array() {
            store.seed(seed);
        }
        let steps = golden["steps"].as_array_mut().unwrap();
        for step in steps.iter_mut() {
            let (stdout, exit) = run(oracle, &store, step);
            step["stdout"] = json!(stdout);
            step["exit"] = json!(exit);
        }
        if matches!(store, Store::Etcd(_)) {
            golden["stored"] = json!(mask(&store.stored()));
        }
        let mut text = serde_json::to_string_pretty(&golden).unwrap();
        text.push('\n');
        std::fs::write(&case, text).unwrap();
        eprintln!("recorded {}", name(&case));
    }
}

/// The step's expectation: Calico's, or ours where the case says ours differs on purpose.
fn expected(step: &Value) -> (String, i64) {
    let source = step.get("ours").unwrap_or(step);
    (
        source["stdout"].as_str().unwrap_or_default().to_string(),
        source["exit"].as_i64().unwrap_or_default(),
    )
}

fn check(embedded: bool) {
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_calico-ipam"));
    let mut failures = BTreeMap::new();
    for case in cases() {
        let golden: Value = serde_json::from_slice(&std::fs::read(&case).unwrap()).unwrap();
        let kind = golden["datastore"].as_str().unwrap();
        if embedded && kind != "etcd" {
            continue;
        }
        let store = fresh(kind, embedded);
        if let Some(seed) = golden["seed"].as_array() {
            store.seed(seed);
        }
        let mut problems = Vec::new();
        for (index, step) in golden["steps"].as_array().unwrap().iter().enumerate() {
            let (stdout, exit) = run(&ours, &store, step);
            let (want_stdout, want_exit) = expected(step);
            if stdout != want_stdout || i64::from(exit) != want_exit {
                problems.push(format!(
                    "step {}: got exit {exit} and\n{stdout}\nwanted exit {want_exit} and\n{want_stdout}",
                    index + 1
                ));
            }
        }
        let stored_wanted = golden.get("ours_stored").unwrap_or(&golden["stored"]);
        if let Some(wanted) = stored_wanted.as_str() {
            let stored = mask(&store.stored());
            if stored != wanted {
                problems.push(format!("stored:\n{stored}\nwanted:\n{wanted}"));
            }
        }
        if !problems.is_empty() {
            failures.insert(name(&case), problems.join("\n"));
        }
    }
    assert!(
        failures.is_empty(),
        "{}",
        failures
            .iter()
            .map(|(case, problems)| format!("== {case}\n{problems}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn ours_prints_and_stores_what_calicos_calico_ipam_did_on_etcd() {
    if let Ok(oracle) = std::env::var("CNI_ORACLE") {
        record(Path::new(&oracle));
        return;
    }
    check(false);
}

#[test]
fn ours_prints_and_stores_the_same_on_the_embedded_store() {
    if std::env::var("CNI_ORACLE").is_ok() {
        return;
    }
    check(true);
}

#[test]
fn masking_hides_only_the_per_run_values() {
    let stored = r#"{"affinity_claim_time":"2026-12-05T21:57:34Z","attributes":[{"handle_id":"h","secondary":{"node":"a","timestamp":"2026-12-05 21:57:33.99 +0000 UTC"}}],"sequenceNumber":1796507854016591440,"sequenceNumberForAllocation":{"0":1796507854016591439,"12":1796507854016591440},"deleted":false,"allocations":[0,1]}"#;
    assert_eq!(
        mask(stored),
        r#"{"affinity_claim_time":"*","attributes":[{"handle_id":"h","secondary":{"node":"a","timestamp":"*"}}],"sequenceNumber":"*","sequenceNumberForAllocation":{"0":"*","12":"*"},"deleted":false,"allocations":[0,1]}"#
    );
}
