//! create / apply / replace / delete / get / patch / label against the embedded datastore,
//! run as processes.

mod common;

use common::Store;
use predicates::prelude::*;

const SETS: &str = "\
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata:
  name: blocked
  labels:
    role: blocked
spec:
  nets:
  - 198.51.100.0/24
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata:
  name: partners
  namespace: prod
spec:
  nets:
  - 192.0.2.0/28
";

#[test]
fn create_twice_reports_already_exists() {
    let store = Store::new();
    let file = store.file("sets.yaml", SETS).display().to_string();
    assert_eq!(
        store.ok(&["create", "-f", &file]),
        "Successfully created 2 resource(s)\n"
    );
    assert_eq!(
        store.fails(&["create", "-f", &file]),
        "failed to create any resources: [resource already exists: GlobalNetworkSet(blocked) with error: <nil> resource already exists: NetworkSet(prod/partners) with error: <nil>]\n"
    );
    store
        .run(&["create", "--skip-exists", "-f", &file])
        .success()
        .stdout("Successfully created 2 resource(s)\n");
}

#[test]
fn get_lists_and_named_resources() {
    let store = Store::new();
    let file = store.file("sets.yaml", SETS).display().to_string();
    store.run(&["apply", "-f", &file]).success();

    let text = store.ok(&["get", "globalnetworksets", "-o", "yaml"]);
    assert!(text.starts_with("apiVersion: projectcalico.org/v3\nitems:\n- apiVersion: projectcalico.org/v3\n  kind: GlobalNetworkSet\n"), "{text}");
    assert!(
        text.contains("kind: GlobalNetworkSetList\nmetadata:\n  resourceVersion: \""),
        "{text}"
    );

    store
        .run(&["get", "netsets", "-n", "prod"])
        .success()
        .stdout("NAMESPACE   NAME       \nprod        partners   \n\n");
    store
        .run(&["get", "netsets"])
        .success()
        .stdout("NAME   \n\n");
    store
        .run(&["get", "globalnetworkset", "blocked", "missing"])
        .code(1)
        .stdout("NAME      \nblocked   \n\n")
        .stderr("resource does not exist: GlobalNetworkSet(missing) with error: <nil>\n");
    store
        .run(&["get", "gnetsets", "-o", "wide"])
        .success()
        .stdout("NAME      NETS              \nblocked   198.51.100.0/24   \n\n");
}

#[test]
fn json_output_keeps_go_field_order_and_export_strips_metadata() {
    let store = Store::new();
    let file = store.file("sets.yaml", SETS).display().to_string();
    store.run(&["create", "-f", &file]).success();
    let out = store.ok(&[
        "get",
        "globalnetworkset",
        "blocked",
        "-o",
        "json",
        "--export",
    ]);
    assert_eq!(
        out,
        "{\n  \"kind\": \"GlobalNetworkSet\",\n  \"apiVersion\": \"projectcalico.org/v3\",\n  \"metadata\": {\n    \"name\": \"blocked\",\n    \"labels\": {\n      \"role\": \"blocked\"\n    }\n  },\n  \"spec\": {\n    \"nets\": [\n      \"198.51.100.0/24\"\n    ]\n  }\n}"
    );
}

#[test]
fn label_patch_replace_delete() {
    let store = Store::new();
    let file = store.file("sets.yaml", SETS).display().to_string();
    store.run(&["create", "-f", &file]).success();
    store
        .run(&["label", "globalnetworkset", "blocked", "env=prod"])
        .success()
        .stdout("Successfully set label env on globalnetworkset blocked\n");
    assert_eq!(
        store.fails(&["label", "globalnetworkset", "blocked", "env=dev"]),
        "failed to update label of globalnetworkset blocked, key env is already present. please use '--overwrite' to set a new value\n"
    );
    store
        .run(&["label", "globalnetworkset", "blocked", "env", "--remove"])
        .success()
        .stdout("Successfully removed label env from globalnetworkset blocked\n");
    store
        .run(&[
            "patch",
            "globalnetworkset",
            "blocked",
            "-p",
            r#"{"spec":{"nets":["10.0.0.0/8"]}}"#,
        ])
        .success()
        .stdout("Successfully patched 1 'GlobalNetworkSet' resource\n");
    store
        .run(&[
            "get",
            "globalnetworkset",
            "blocked",
            "-o",
            "go-template={{range .}}{{join .Spec.Nets \",\"}}{{end}}",
        ])
        .success()
        .stdout("10.0.0.0/8");

    // replace brings the file's spec back and keeps the labels from the file.
    store
        .run(&["replace", "-f", &file])
        .success()
        .stdout("Successfully replaced 2 resource(s)\n");

    store
        .run(&["delete", "globalnetworkset", "blocked"])
        .success()
        .stdout("Successfully deleted 1 'GlobalNetworkSet' resource(s)\n");
    assert_eq!(
        store.fails(&["delete", "globalnetworkset", "blocked"]),
        "Failed to delete 'GlobalNetworkSet' resource: resource does not exist: GlobalNetworkSet(blocked) with error: <nil>\n\n"
    );
    store
        .run(&["delete", "--skip-not-exists", "-f", &file])
        .success()
        .stdout("Successfully deleted 2 resource(s)\n");
}

#[test]
fn selector_filters_lists() {
    let store = Store::new();
    let file = store.file("sets.yaml", SETS).display().to_string();
    store.run(&["create", "-f", &file]).success();
    store
        .run(&[
            "get",
            "globalnetworksets",
            "--selector",
            "role == 'blocked'",
        ])
        .success()
        .stdout("NAME      \nblocked   \n\n");
    store
        .run(&["get", "globalnetworksets", "--selector", "role == 'other'"])
        .success()
        .stdout("NAME   \n\n");
    store
        .run(&["get", "globalnetworksets", "--selector", "role = 'x'"])
        .code(1)
        .stderr(predicate::str::starts_with("failed to get resources: "));
}

#[test]
fn the_embedded_store_is_the_default_with_a_notice() {
    let home = tempfile::tempdir().unwrap();
    common::bare(home.path())
        .args(["get", "globalnetworksets", "-o", "yaml"])
        .assert()
        .success()
        .stderr(predicate::str::contains("embedded datastore"))
        .stderr(predicate::str::contains("DATASTORE_TYPE=embedded silences"));
    let db = home.path().join(".local/share/calico/datastore.db");
    assert!(db.exists(), "{} was not created", db.display());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&db).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // With a sign of a cluster the Kubernetes driver is chosen instead.
    common::bare(home.path())
        .env("KUBECONFIG", home.path().join("kubeconfig"))
        .args(["get", "globalnetworksets"])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "Failed to create Calico API client: ",
        ));
}

#[test]
fn namespace_rules_apply_to_files_and_flags() {
    let store = Store::new();
    let file = store.file("sets.yaml", SETS).display().to_string();
    store
        .run(&["create", "-n", "dev", "-f", &file])
        .code(1)
        .stderr(predicate::str::contains(
            "GlobalNetworkSet is not namespaced",
        ))
        .stderr(predicate::str::contains(
            "resource namespace does not match client namespace. prod != dev",
        ));
    assert_eq!(
        store.fails(&["get", "netsets", "-A", "-n", "x"]),
        "cannot use both --namespace and --all-namespaces flags at the same time\n"
    );
}

#[test]
fn a_bad_document_writes_nothing() {
    let store = Store::new();
    let broken = format!("{SETS}---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {{name: [oops\n");
    let file = store.file("broken.yaml", &broken).display().to_string();
    store
        .run(&["create", "-f", &file])
        .code(1)
        .stdout("")
        .stderr(
            "failed to execute command: error converting YAML to JSON: yaml: line 3: did not find expected ',' or ']'\n",
        );
    let unknown_kind = store
        .file(
            "kind.yaml",
            &format!(
                "{SETS}---\napiVersion: projectcalico.org/v3\nkind: Gadget\nmetadata: {{name: g}}\n"
            ),
        )
        .display()
        .to_string();
    store
        .run(&["apply", "-f", &unknown_kind])
        .code(1)
        .stderr(predicate::str::contains(
            "unknown resource type (Gadget) and/or version (projectcalico.org/v3)",
        ));
    // Nothing from either file was written.
    store
        .run(&["get", "globalnetworksets"])
        .success()
        .stdout("NAME   \n\n");
}

#[test]
fn an_invalid_resource_fails_alone() {
    let store = Store::new();
    let file = store
        .file(
            "partial.yaml",
            &SETS.replace("192.0.2.0/28", "192.0.2.0/99"),
        )
        .display()
        .to_string();
    store
        .run(&["apply", "-f", &file])
        .code(1)
        // One success against one failure: calicoctl prints no "Partial success" line then.
        .stdout("")
        .stderr(
            "hit error: [error with field Nets[0] = '192.0.2.0/99' (Reason: failed to validate \
             Field: Nets[0] because of Tag: cidr )]\n",
        );
    store
        .run(&["get", "globalnetworksets"])
        .success()
        .stdout("NAME      \nblocked   \n\n");
}

/// Up to ten failed deletes are reported one line each, as calicoctl reports them; more are
/// grouped by cause with a count.
#[test]
fn many_failed_deletes_are_grouped_by_cause() {
    let store = Store::new();
    let ten: Vec<String> = (1..=10).map(|i| format!("n{i}")).collect();
    let mut args = vec!["delete", "globalnetworkset"];
    args.extend(ten.iter().map(String::as_str));
    let stderr = store.fails(&args);
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("Failed")).count(),
        10
    );

    let many: Vec<String> = (1..=1200).map(|i| format!("n{i}")).collect();
    let mut args = vec!["delete", "globalnetworkset"];
    args.extend(many.iter().map(String::as_str));
    assert_eq!(
        store.fails(&args),
        "Failed to delete 1,200 'GlobalNetworkSet' resources:\n  1,200 resources: resource does not exist (n1, n2, n3 and 1,197 more)\n\n"
    );
}
