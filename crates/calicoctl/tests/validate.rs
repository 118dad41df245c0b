//! `calicoctl validate` run as a process, as users and scripts run it.

mod common;

use assert_cmd::Command;
use predicates::prelude::*;
use std::fs;

/// Validation is offline: no datastore settings are needed or consulted.
fn calicoctl() -> Command {
    common::bare(&std::env::temp_dir())
}

const GOOD: &str = "\
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata:
  name: blocked
spec:
  nets:
  - 198.51.100.0/24
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata:
  name: trusted
";

#[test]
fn validates_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sets.yaml");
    fs::write(&path, GOOD).unwrap();
    calicoctl()
        .args(["validate", "-f"])
        .arg(&path)
        .assert()
        .success()
        .stdout("Successfully validated 2 'GlobalNetworkSet' resource(s)\n");
}

#[test]
fn reads_stdin() {
    calicoctl()
        .args(["validate", "-f", "-"])
        .write_stdin(GOOD)
        .assert()
        .success()
        .stdout("Successfully validated 2 'GlobalNetworkSet' resource(s)\n");
}

#[test]
fn reports_invalid_resources_in_calicos_words() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    fs::write(&path, GOOD.replace("198.51.100.0/24", "198.51.100.0/33")).unwrap();
    calicoctl()
        .args(["validate", "-f"])
        .arg(&path)
        .assert()
        .code(1)
        // One success against one failure: calicoctl prints no "Partial success" line then.
        .stdout("")
        .stderr(
            "hit error: [error with field Nets[0] = '198.51.100.0/33' (Reason: failed to validate \
             Field: Nets[0] because of Tag: cidr )]\n",
        );
}

#[test]
fn unknown_field_is_a_file_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unknown.yaml");
    fs::write(&path, GOOD.replace("  nets:", "  netz:")).unwrap();
    calicoctl()
        .args(["validate", "-f"])
        .arg(&path)
        .assert()
        .code(1)
        .stdout("")
        .stderr("field in document is not recognized or is in the wrong location: netz\n");
}

#[test]
fn missing_and_empty_files() {
    calicoctl()
        .args(["validate", "-f", "/nonexistent/x.yaml"])
        .assert()
        .code(1)
        .stderr("failed to execute command: open /nonexistent/x.yaml: no such file or directory\n");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.yaml");
    // A comment-only document is a resource of no type to calicoctl.
    fs::write(&path, "# nothing here\n").unwrap();
    calicoctl()
        .args(["validate", "-f"])
        .arg(&path)
        .assert()
        .code(1)
        .stderr("failed to execute command: unknown resource type () and/or version ()\n");
    fs::write(&path, "").unwrap();
    calicoctl()
        .args(["validate", "-f"])
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no resources specified in file"));
    calicoctl()
        .args(["validate", "--skip-empty", "-f"])
        .arg(&path)
        .assert()
        .success()
        .stdout("No resources specified\n");
}

#[test]
fn reads_directories_in_lexical_order() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("b.yaml"), GOOD).unwrap();
    fs::write(dir.path().join("ignored.txt"), "not yaml").unwrap();
    fs::create_dir(dir.path().join("sub")).unwrap();
    fs::write(dir.path().join("sub").join("c.yml"), GOOD).unwrap();
    calicoctl()
        .args(["validate", "-f"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout("Successfully validated 2 'GlobalNetworkSet' resource(s)\n");
    calicoctl()
        .args(["validate", "-R", "-f"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout("Successfully validated 4 'GlobalNetworkSet' resource(s)\n");
}

#[test]
fn control_characters_from_input_are_escaped_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("esc.yaml");
    fs::write(
        &path,
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: \"a\\e[31mred\"\n",
    )
    .unwrap();
    calicoctl()
        .args(["validate", "-f"])
        .arg(&path)
        .assert()
        .failure()
        .stderr(predicate::str::contains("Metadata.Name = 'a\\x1b[31mred'"))
        .stderr(predicate::str::contains("\u{1b}").not());
}

#[test]
fn log_level_debug_prints_library_events_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sets.yaml");
    fs::write(&path, GOOD).unwrap();
    calicoctl()
        .args(["validate", "-l", "debug", "-f"])
        .arg(&path)
        .assert()
        .success()
        .stdout("Successfully validated 2 'GlobalNetworkSet' resource(s)\n")
        .stderr(predicate::str::contains("reading manifest"));
    // The default level prints nothing.
    calicoctl()
        .args(["validate", "-f"])
        .arg(&path)
        .assert()
        .success()
        .stderr("");
    calicoctl()
        .args(["validate", "-l", "bogus", "-f"])
        .arg(&path)
        .assert()
        .code(1)
        .stderr(
            "unknown log level: bogus, expected one of: panic, fatal, error, warn, info, debug\n",
        );
}
