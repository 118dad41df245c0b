//! `datastore migrate export` and `import` against what Calico's calicoctl printed and stored
//! (`goldens/oracle-migrate`, see its README): an etcd seeded as the goldens were (ours
//! creates the resources), exported and compared byte for byte (the list revisions and the
//! ClusterInformation's identity masked), the golden export imported into the kube-emulator
//! and a real kube-apiserver and what landed compared, and every refusal recorded.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::oracle_migrate::{golden, mask_server_metadata, run, seeded_etcd, with_k8s_objects};
use common::Kube;
use serde_json::Value;

/// What varies between runs of an export: list revisions and the ClusterInformation's identity.
fn masked(text: &str) -> String {
    let revision = regex::Regex::new(r#"resourceVersion: "\d+""#).expect("regex");
    let identity =
        regex::Regex::new(r#""(uid|resourceVersion|creationTimestamp|clusterGUID)": "[^"]*""#)
            .expect("regex");
    let text = revision.replace_all(text, r#"resourceVersion: "N""#);
    identity.replace_all(&text, r#""$1": "X""#).into_owned()
}

/// Checks a run against a recorded case; `export_like` masks the output first.
fn check_case(case: &str, got: (String, String, i32), export_like: bool) {
    check_case_then(case, got, export_like, "");
}

/// [`check_case`] where ours prints `ours` on stderr after Calico's text (the verification of
/// what landed, after a failure once writing had begun).
fn check_case_then(case: &str, got: (String, String, i32), export_like: bool, ours: &str) {
    let (stdout, stderr, code) = got;
    let want_stdout = if case == "export" {
        golden("export.yaml")
    } else {
        golden(&format!("cases/{case}.stdout"))
    };
    let (stdout, want_stdout) = if export_like {
        (masked(&stdout), masked(&want_stdout))
    } else {
        (stdout, want_stdout)
    };
    assert_eq!(stdout, want_stdout, "{case}: stdout");
    assert_eq!(
        stderr,
        golden(&format!("cases/{case}.stderr")) + ours,
        "{case}: stderr"
    );
    let want_code: i32 = golden(&format!("cases/{case}.rc"))
        .trim()
        .parse()
        .expect("exit code");
    assert_eq!(code, want_code, "{case}: exit code");
}

#[test]
fn export_prints_what_calicos_printed() {
    let etcd = seeded_etcd();
    let export = || run(etcd.calicoctl(), &["datastore", "migrate", "export"]);
    check_case("export-unlocked", export(), false);
    check_case(
        "lock",
        run(etcd.calicoctl(), &["datastore", "migrate", "lock"]),
        false,
    );
    check_case("export", export(), true);

    // A Node without a Kubernetes name stops the export where Calico's stops.
    let (_, stderr, code) = run(etcd.calicoctl(), &["create", "-f", "bare-node.yaml"]);
    assert_eq!(code, 0, "{stderr}");
    check_case("export-node-without-k8s-orchref", export(), true);
    let (_, stderr, code) = run(etcd.calicoctl(), &["delete", "-f", "bare-node.yaml"]);
    assert_eq!(code, 0, "{stderr}");
    check_case("export", export(), true);

    // Importing into etcd is refused.
    check_case(
        "import-into-etcd",
        run(
            etcd.calicoctl(),
            &["datastore", "migrate", "import", "-f", "export.yaml"],
        ),
        false,
    );
}

/// Every Calico custom resource and the Nodes, normalised as the golden `landed.json` was
/// (see the README). `full`: Nodes as the real API server keeps them; otherwise only their
/// name, labels and annotations (the emulator adds no taints, and keeps an empty map).
fn landed(kube: &Kube, full: bool) -> Value {
    let want: Value = serde_json::from_str(&golden("landed.json")).expect("landed.json");
    let mut got = serde_json::Map::new();
    for resource in want.as_object().expect("object").keys() {
        let list: Value =
            serde_json::from_str(&kube.kubectl(&["get", resource, "-A", "-o", "json"]))
                .expect("kubectl json");
        let mut items: Vec<Value> = list["items"].as_array().cloned().unwrap_or_default();
        for item in &mut items {
            let Some(meta) = item["metadata"].as_object_mut() else {
                continue;
            };
            mask_server_metadata(meta);
            if let Some(object) = item.as_object_mut() {
                if resource == "nodes" {
                    object.remove("status");
                }
            }
        }
        items.sort_by_key(|item| {
            (
                item["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                item["metadata"]["name"].as_str().unwrap_or("").to_string(),
            )
        });
        got.insert(resource.clone(), Value::Array(items));
    }
    let mut got = Value::Object(got);
    let mut want = want;
    if !full {
        for value in [&mut got, &mut want] {
            for node in value["nodes"].as_array_mut().into_iter().flatten() {
                let meta = &node["metadata"];
                let mut kept = serde_json::Map::new();
                kept.insert("name".into(), meta["name"].clone());
                for field in ["labels", "annotations"] {
                    if meta[field].as_object().is_some_and(|m| !m.is_empty()) {
                        kept.insert(field.into(), meta[field].clone());
                    }
                }
                *node = Value::Object(kept);
            }
        }
    }
    assert_eq!(got, want, "what landed");
    got
}

fn import(kube: &Kube, file: &str) -> (String, String, i32) {
    run(
        kube.calicoctl(),
        &["datastore", "migrate", "import", "-f", file],
    )
}

fn import_lands_what_calicos_import_landed(kube: Kube) {
    let kube = with_k8s_objects(kube);
    check_case("import", import(&kube, "export.yaml"), false);
    landed(&kube, kube.is_real());
    // A second import is refused, and the datastore, locked now, is no etcd to export from.
    check_case("import-again", import(&kube, "export.yaml"), false);
    check_case(
        "export-from-kubernetes",
        run(kube.calicoctl(), &["datastore", "migrate", "export"]),
        false,
    );
}

#[test]
fn import_into_the_emulator_lands_what_calicos_import_landed() {
    import_lands_what_calicos_import_landed(Kube::new());
}

#[test]
fn import_into_a_real_kube_apiserver_lands_what_calicos_import_landed() {
    import_lands_what_calicos_import_landed(Kube::real());
}

#[test]
fn imports_refused_or_cut_short_say_what_calicos_said() {
    let kube = Kube::new();
    check_case(
        "import-improperly-formatted",
        import(&kube, "bad.yaml"),
        false,
    );

    let kube = with_k8s_objects(Kube::new());
    // Calico's error, then what landed: every resource (the Node without a Kubernetes Node
    // skipped, as Calico skips it), and no IPAM object, since the file has none.
    check_case_then(
        "import-no-ipam",
        import(&kube, "export-no-ipam.yaml"),
        false,
        "Verified: 30 of 30 object(s) equal, 1 skipped (not kept by a Kubernetes datastore)\n",
    );

    let kube = with_k8s_objects(Kube::new());
    let gone = "apiVersion: v1\nkind: Node\nmetadata:\n  name: node-gone\n";
    let path = kube.home.path().join("node-gone.yaml");
    std::fs::write(&path, gone).expect("write");
    kube.kubectl(&["create", "-f", &path.to_string_lossy()]);
    check_case(
        "import-every-node-exists",
        import(&kube, "export.yaml"),
        false,
    );
}
