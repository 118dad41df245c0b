//! `calicoctl validate -f` over a corpus of invalid (and some valid) resources of every kind,
//! compared with what Calico's own calicoctl printed for the same files: exit code, stdout and
//! stderr, byte for byte.
//!
//! `tests/validation/cases/NAME.yaml` is the input; `tests/validation/golden/NAME.validate.out`
//! (and `NAME.create.out`, `create` on a fresh etcd) hold Calico's output. A golden that starts
//! with `# unordered` is compared line by line regardless of order: Calico reports its CRD schema
//! errors in Go map order, which changes from run to run. The cases in `KNOWN_DIFFERENCES` differ
//! on purpose or for reasons outside validation; each is listed in docs/compatibility.md.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

/// Cases whose `validate` output differs from Calico's, with the reason.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "blockaffinity-bad",
        "BlockAffinity is not a calicoctl kind in Calico",
    ),
    (
        "felix-chaininsert-bad",
        "iptablesBackend's schema pattern is not checked, only its enum",
    ),
    (
        "kcc-enums-bad",
        "KubeControllersConfiguration's Go oneof tags are not reported",
    ),
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validation")
}

fn cases() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir().join("cases"))
        .expect("cases directory")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".yaml"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

/// The output in the goldens' format.
fn render(output: &std::process::Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Whether `actual` is what the golden holds (as a multiset of lines when it is unordered).
fn matches(golden: &str, actual: &str) -> bool {
    match golden.strip_prefix("# unordered") {
        Some(rest) => {
            let rest = rest.split_once('\n').map_or("", |(_, r)| r);
            let mut want: Vec<&str> = rest.lines().collect();
            let mut got: Vec<&str> = actual.lines().collect();
            want.sort_unstable();
            got.sort_unstable();
            want == got
        }
        None => golden == actual,
    }
}

#[test]
fn validate_prints_what_calico_prints() {
    let home = tempfile::tempdir().expect("temp dir");
    let names = cases();
    assert!(names.len() > 150, "the corpus is missing");
    for (known, _) in KNOWN_DIFFERENCES {
        assert!(names.iter().any(|n| n == known), "{known} is not a case");
    }
    let mut failures = Vec::new();
    for name in &names {
        let golden = fs::read_to_string(dir().join(format!("golden/{name}.validate.out")))
            .expect("golden output");
        let output = common::bare(home.path())
            .current_dir(dir().join("cases"))
            .args(["validate", "-f", &format!("{name}.yaml")])
            .output()
            .expect("calicoctl runs");
        let actual = render(&output);
        let same = matches(&golden, &actual);
        let known = KNOWN_DIFFERENCES.iter().any(|(k, _)| k == name);
        if same == known {
            failures.push(format!(
                "{name}: {}\n--- Calico:\n{golden}\n--- ours:\n{actual}",
                if known {
                    "now matches; remove it from KNOWN_DIFFERENCES"
                } else {
                    "differs"
                }
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
