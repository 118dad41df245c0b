//! Long commands show progress on a terminal and nothing when output is not a terminal.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

fn many_sets(count: usize) -> String {
    (0..count)
        .map(|i| {
            format!(
                "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: set-{i}\nspec:\n  nets: [192.0.2.0/24]\n"
            )
        })
        .collect()
}

#[test]
fn no_progress_when_not_a_terminal() {
    let store = common::Store::new();
    let file = store.file("sets.yaml", &many_sets(300));
    let out = store
        .calicoctl()
        .arg("apply")
        .arg("-f")
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Successfully applied 300 'GlobalNetworkSet' resource(s)\n"
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn progress_on_a_terminal() {
    // util-linux `script` runs the command on a pseudo-terminal.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("script(1) not installed: skipping");
        return;
    }
    let store = common::Store::new();
    let file = store.file("sets.yaml", &many_sets(300));
    let command = format!(
        "{} apply -f {}",
        env!("CARGO_BIN_EXE_calicoctl"),
        file.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("DATASTORE_TYPE", "embedded")
        .env("DATASTORE_PATH", store.path())
        .env("HOME", store.dir.path())
        .env("TERM", "xterm")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("applying ["), "{text}");
    assert!(text.contains("/300 resources"), "{text}");
    assert!(
        text.contains("Successfully applied 300 'GlobalNetworkSet' resource(s)"),
        "{text}"
    );
}
