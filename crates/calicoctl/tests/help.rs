//! Help, usage and usage errors, byte for byte as Calico's calicoctl prints them.
//!
//! The goldens under tests/golden are what Calico's calicoctl (built from the reference
//! snapshot) printed: `help/<command>.txt` for `calicoctl <command> --help`, and `usage.json`
//! for command lines that fail or print help before reaching a datastore.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::path::Path;

fn golden_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden"))
}

fn run(args: &[String]) -> (i32, String, String) {
    let home = tempfile::tempdir().unwrap();
    let out = common::bare(home.path()).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_command_help_reads_as_calicos() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(golden_dir().join("help")).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let mut args: Vec<String> = if stem == "root" {
            Vec::new()
        } else {
            stem.split('_').map(str::to_string).collect()
        };
        args.push("--help".into());
        let expected = std::fs::read_to_string(&path).unwrap();
        let (code, stdout, stderr) = run(&args);
        if (code, stdout.as_str(), stderr.as_str()) != (0, expected.as_str(), "") {
            failures.push(format!(
                "calicoctl {}: exit {code}\n--- expected\n{expected}\n--- got\n{stdout}{stderr}",
                args.join(" ")
            ));
        }
        checked += 1;
    }
    assert!(checked >= 35, "only {checked} help goldens");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn usage_errors_and_help_paths_read_as_calicos() {
    let text = std::fs::read_to_string(golden_dir().join("usage.json")).unwrap();
    let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert!(cases.len() > 50);
    let mut failures = Vec::new();
    for case in cases {
        let args: Vec<String> = case["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        let expected = (
            case["code"].as_i64().unwrap() as i32,
            case["stdout"].as_str().unwrap().to_string(),
            case["stderr"].as_str().unwrap().to_string(),
        );
        let got = run(&args);
        if got != expected {
            failures.push(format!(
                "calicoctl {args:?}\n  expected {expected:?}\n  got      {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn commands_calico_has_and_we_do_not_fail_clearly() {
    let (code, stdout, stderr) = run(&["node".into(), "diags".into()]);
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("'calicoctl node diags' is not implemented"),
        "{stderr}"
    );
}

#[test]
fn completion_scripts_cover_calicos_commands() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let (code, stdout, _) = run(&["completion".into(), shell.into()]);
        assert_eq!(code, 0, "{shell}");
        assert!(stdout.contains("calicoctl"), "{shell}");
        assert!(stdout.contains("ipam"), "{shell}");
    }
}
