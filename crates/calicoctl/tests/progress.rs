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

/// Runs calicoctl with `args` on `store` on a pseudo-terminal (util-linux `script`): everything
/// it printed, or `None` when `script` is not installed.
fn on_a_terminal(store: &common::Store, args: &str) -> Option<String> {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("script(1) not installed: skipping");
        return None;
    }
    let command = format!("{} {args}", env!("CARGO_BIN_EXE_calicoctl"));
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("DATASTORE_TYPE", "embedded")
        .env("DATASTORE_PATH", store.path())
        .env("HOME", store.dir.path())
        .env("TERM", "xterm")
        .output()
        .unwrap();
    assert!(out.status.success());
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn progress_on_a_terminal() {
    let store = common::Store::new();
    let file = store.file("sets.yaml", &many_sets(300));
    let Some(text) = on_a_terminal(&store, &format!("apply -f {}", file.display())) else {
        return;
    };
    assert!(text.contains("applying ["), "{text}");
    assert!(text.contains("/300 resources"), "{text}");
    assert!(
        text.contains("Successfully applied 300 'GlobalNetworkSet' resource(s)"),
        "{text}"
    );
}

#[test]
fn an_import_shows_each_step_on_a_terminal_and_nothing_otherwise() {
    // A migration file of 300 sets and the IPAM configuration, exported from one store.
    let from = common::Store::new();
    let file = from.file("sets.yaml", &many_sets(300));
    from.ok(&["apply", "-f", &file.to_string_lossy()]);
    from.ok(&["ipam", "configure", "--strictaffinity=true"]);
    let export = from.ok(&["datastore", "migrate", "export", "--any-datastore"]);
    let file = from.file("export.yaml", &export);
    let import = format!(
        "datastore migrate import --any-datastore -f {}",
        file.display()
    );

    let piped = common::Store::new();
    let out = piped.calicoctl().args(import.split(' ')).output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");

    let Some(text) = on_a_terminal(&common::Store::new(), &import) else {
        return;
    };
    assert!(text.contains("applying ["), "{text}");
    // The sets and the three built-in tiers.
    assert!(text.contains("/303 resources"), "{text}");
    assert!(text.contains("verifying"), "{text}");
    assert!(
        text.contains("Datastore information successfully imported."),
        "{text}"
    );
}
