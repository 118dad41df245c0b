//! `get -o ps|wide|custom-columns=...` (and the IPPool's `-o yaml|json`) for every kind, one
//! example manifest per kind from `examples/kinds/`, checked against insta snapshots.
//!
//! Table snapshots end every line with `$` (like `cat -A`), so the column padding, the trailing
//! spaces after the last column and the empty line after each table are part of the snapshot.

mod common;

use common::Store;
use insta::assert_snapshot;
use std::path::PathBuf;

/// The path of an example manifest.
fn example(file: &str) -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "..",
        "examples",
        "kinds",
        file,
    ]
    .iter()
    .collect();
    path.to_string_lossy().into_owned()
}

/// Marks the end of every line with `$`; a last line without a newline gets `[no newline]`.
fn visible(text: &str) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        match line.strip_suffix('\n') {
            Some(line) => {
                out.push_str(line);
                out.push_str("$\n");
            }
            None => {
                out.push_str(line);
                out.push_str("[no newline]\n");
            }
        }
    }
    out
}

fn create(store: &Store, file: &str) {
    let out = store.ok(&["create", "-f", &example(file)]);
    assert!(out.starts_with("Successfully created 1 '"), "{out}");
}

/// A table, with its line ends made visible.
fn table(store: &Store, args: &[&str]) -> String {
    visible(&store.ok(args))
}

/// Creates a global kind's example (after `prereqs`) and snapshots `get <kind>` in ps and wide.
fn check_global(kind: &str, prereqs: &[&str]) {
    let store = Store::new();
    for file in prereqs {
        create(&store, file);
    }
    create(&store, &format!("{kind}.yaml"));
    assert_snapshot!(format!("{kind}_ps"), table(&store, &["get", kind]));
    assert_snapshot!(
        format!("{kind}_wide"),
        table(&store, &["get", kind, "-o", "wide"])
    );
}

/// Creates a namespaced kind's example (in namespace `prod`) and snapshots `get <kind>` in ps and
/// wide for that namespace and for all namespaces (both with the NAMESPACE column), read back
/// through the file (no NAMESPACE column), and in the empty `default` namespace.
fn check_namespaced(kind: &str, prereqs: &[&str]) {
    let store = Store::new();
    for file in prereqs {
        create(&store, file);
    }
    let file = format!("{kind}.yaml");
    create(&store, &file);
    assert_snapshot!(
        format!("{kind}_ps"),
        table(&store, &["get", kind, "-n", "prod"])
    );
    assert_snapshot!(
        format!("{kind}_wide"),
        table(&store, &["get", kind, "-n", "prod", "-o", "wide"])
    );
    assert_snapshot!(
        format!("{kind}_all_namespaces_ps"),
        table(&store, &["get", kind, "-A"])
    );
    assert_snapshot!(
        format!("{kind}_all_namespaces_wide"),
        table(&store, &["get", kind, "-A", "-o", "wide"])
    );
    assert_snapshot!(
        format!("{kind}_from_file_wide"),
        table(&store, &["get", "-f", &example(&file), "-o", "wide"])
    );
    assert_snapshot!(
        format!("{kind}_default_namespace_empty"),
        table(&store, &["get", kind])
    );
}

#[test]
fn bgpconfiguration() {
    check_global("bgpconfiguration", &[]);
}

#[test]
fn bgpfilter() {
    check_global("bgpfilter", &[]);
}

#[test]
fn bgppeer() {
    check_global("bgppeer", &[]);
}

#[test]
fn caliconodestatus() {
    check_global("caliconodestatus", &[]);
}

#[test]
fn felixconfiguration() {
    check_global("felixconfiguration", &[]);
}

#[test]
fn globalnetworkpolicy() {
    check_global("globalnetworkpolicy", &["tier.yaml"]);
}

#[test]
fn globalnetworkset() {
    check_global("globalnetworkset", &[]);
}

#[test]
fn hostendpoint() {
    check_global("hostendpoint", &[]);
}

#[test]
fn ipamconfiguration() {
    check_global("ipamconfiguration", &[]);
}

#[test]
fn ippool() {
    check_global("ippool", &[]);
}

#[test]
fn ipreservation() {
    check_global("ipreservation", &[]);
}

#[test]
fn kubecontrollersconfiguration() {
    check_global("kubecontrollersconfiguration", &[]);
}

#[test]
fn networkpolicy() {
    check_namespaced("networkpolicy", &[]);
}

#[test]
fn networkset() {
    check_namespaced("networkset", &[]);
}

/// Without a BGPConfiguration the Node's ASN column shows the default global AS, `(64512)`.
#[test]
fn node() {
    check_global("node", &[]);
}

/// With the BGPConfiguration example the Node's ASN column shows its AS number, `(64500)`.
#[test]
fn node_with_global_as_number() {
    let store = Store::new();
    create(&store, "bgpconfiguration.yaml");
    create(&store, "node.yaml");
    assert_snapshot!(
        "node_wide_with_bgpconfiguration",
        table(&store, &["get", "node", "-o", "wide"])
    );
}

/// The list also holds the synthesized `projectcalico-default-allow` profile.
#[test]
fn profile() {
    check_global("profile", &[]);
}

#[test]
fn stagedglobalnetworkpolicy() {
    check_global("stagedglobalnetworkpolicy", &["tier.yaml"]);
}

#[test]
fn stagedkubernetesnetworkpolicy() {
    check_namespaced("stagedkubernetesnetworkpolicy", &[]);
}

#[test]
fn stagednetworkpolicy() {
    check_namespaced("stagednetworkpolicy", &[]);
}

/// The first write also creates the built-in tiers; the list is sorted by order.
#[test]
fn tier() {
    check_global("tier", &[]);
    let store = Store::new();
    create(&store, "tier.yaml");
    // Two named results: two tables, each with its own heading line and empty line.
    assert_snapshot!(
        "tier_two_named",
        table(&store, &["get", "tier", "default", "platform"])
    );
}

#[test]
fn workloadendpoint() {
    check_namespaced("workloadendpoint", &[]);
}

#[test]
fn ippool_custom_columns() {
    let store = Store::new();
    create(&store, "ippool.yaml");
    assert_snapshot!(
        "ippool_custom_columns",
        table(
            &store,
            &["get", "ippool", "-o", "custom-columns=NAME,CIDR,NAT"]
        )
    );
    // custom-columns never get the NAMESPACE column, even with -A.
    create(&store, "networkset.yaml");
    assert_snapshot!(
        "networkset_custom_columns_all_namespaces",
        table(
            &store,
            &[
                "get",
                "networkset",
                "-A",
                "-o",
                "custom-columns=NAMESPACE,NAME,NETS"
            ]
        )
    );
}

#[test]
fn unknown_custom_column_heading() {
    let store = Store::new();
    create(&store, "ippool.yaml");
    let out = store
        .run(&["get", "ippool", "-o", "custom-columns=NAME,FOO"])
        .code(1)
        .stdout("");
    assert_snapshot!(
        "ippool_unknown_heading_stderr",
        visible(&String::from_utf8_lossy(&out.get_output().stderr))
    );
}

/// ClusterInformation cannot be created; any write initialises `default` (and the built-in
/// tiers).
#[test]
fn clusterinformation() {
    let store = Store::new();
    store.ok(&["apply", "-f", &example("networkset.yaml")]);
    assert_snapshot!(
        "clusterinformation_custom_columns",
        table(
            &store,
            &[
                "get",
                "clusterinformation",
                "-o",
                "custom-columns=NAME,CALICOVERSION,DATASTOREREADY"
            ]
        )
    );
    // The ps table, with the random GUID replaced by 32 `#` (same width, so the padding holds).
    let guid = store.ok(&[
        "get",
        "clusterinformation",
        "default",
        "-o",
        "go-template={{range .}}{{.Spec.ClusterGUID}}{{end}}",
    ]);
    assert_eq!(guid.len(), 32, "{guid:?}");
    assert!(guid.chars().all(|c| c.is_ascii_hexdigit()), "{guid:?}");
    let ps = table(&store, &["get", "clusterinformation"]);
    assert!(ps.contains(&guid), "{ps}");
    assert_snapshot!(
        "clusterinformation_ps_guid_redacted",
        ps.replace(&guid, &"#".repeat(32))
    );
    assert_snapshot!("tiers_after_first_write", table(&store, &["get", "tiers"]));
}

/// YAML and JSON of the IPPool with `--export`, which clears uid, resourceVersion and
/// creationTimestamp.
#[test]
fn ippool_yaml_and_json() {
    let store = Store::new();
    create(&store, "ippool.yaml");
    let yaml = store.ok(&["get", "ippool", "rack1-ipv4", "-o", "yaml", "--export"]);
    assert!(yaml.ends_with('\n') && !yaml.ends_with("\n\n"), "{yaml:?}");
    assert_snapshot!("ippool_yaml_export", yaml);
    let json = store.ok(&["get", "ippool", "rack1-ipv4", "-o", "json", "--export"]);
    // Line ends made visible: whether the document ends with a newline is part of the snapshot.
    assert_snapshot!("ippool_json_export", visible(&json));
}
