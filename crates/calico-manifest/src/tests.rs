use super::*;
use proptest::prelude::*;

const TWO_SETS: &str = "\
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata:
  name: a
spec:
  nets: [10.0.0.0/8]
--- trailing words are ignored
# only a comment
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: b, namespace: prod}
";

#[test]
fn splits_on_separator_lines() {
    let docs = split_documents(TWO_SETS);
    let numbers: Vec<_> = docs.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, [1, 3]);
}

#[test]
fn reads_yaml_documents() {
    let entries = read_manifest("sets.yaml", TWO_SETS).unwrap();
    let kinds: Vec<_> = entries.iter().map(|e| e.resource.kind()).collect();
    assert_eq!(kinds, ["GlobalNetworkSet", "NetworkSet"]);
    assert_eq!(entries[1].origin.document, 3);
    assert_eq!(entries[1].resource.metadata().namespace, "prod");
}

#[test]
fn reads_json_lists_and_sequences() {
    let list = r#"{"kind":"GlobalNetworkSetList","apiVersion":"projectcalico.org/v3",
        "items":[{"metadata":{"name":"x"}},{"metadata":{"name":"y"}}]}"#;
    let entries = read_manifest("l.json", list).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].origin.item, Some(1));

    let seq = "- {apiVersion: projectcalico.org/v3, kind: GlobalNetworkSet, metadata: {name: x}}\n\
               - {apiVersion: projectcalico.org/v3, kind: GlobalNetworkSet, metadata: {name: y}}\n";
    assert_eq!(read_manifest("s.yaml", seq).unwrap().len(), 2);
}

#[test]
fn unknown_field_uses_calicoctl_wording_and_names_path() {
    let doc = "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: a}\nspec:\n  netz: []\n";
    let err = read_manifest("bad.yaml", doc).unwrap_err();
    assert_eq!(
        err.to_string(),
        "bad.yaml: document 1: field in document is not recognized or is in the wrong location: netz (at spec.netz)"
    );
}

#[test]
fn yaml_11_boolean_words_stay_strings() {
    let doc = "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: y, labels: {on: off}}\n";
    let entries = read_manifest("b.yaml", doc).unwrap();
    assert_eq!(entries[0].resource.metadata().name, "y");
    assert_eq!(
        entries[0]
            .resource
            .metadata()
            .labels
            .get("on")
            .map(String::as_str),
        Some("off")
    );
}

#[test]
fn unknown_kind_and_version() {
    let doc = "apiVersion: projectcalico.org/v3\nkind: Gadget\nmetadata: {name: a}\n";
    let err = read_manifest("k.yaml", doc).unwrap_err();
    assert_eq!(
        err.to_string(),
        "k.yaml: document 1: unknown resource type (Gadget) and/or version (projectcalico.org/v3)"
    );
    let doc = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n";
    let err = read_manifest("k.yaml", doc).unwrap_err();
    assert!(err
        .to_string()
        .contains("unknown resource type (Pod) and/or version (v1)"));
}

#[test]
fn syntax_errors_name_the_document() {
    let doc = "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: a}\n---\nkind: [unclosed\n";
    let err = read_manifest("s.yaml", doc).unwrap_err();
    assert_eq!(err.origin().document, 2);
    assert!(matches!(err, ManifestError::Syntax { .. }));
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
        let _ = read_manifest("fuzz", &text);
    }

    #[test]
    fn never_panics_on_yamlish_text(text in "[a-z:{}\\[\\], \\n\\-#'\"0-9]{0,200}") {
        let _ = read_manifest("fuzz", &text);
    }
}

#[test]
fn large_manifests_keep_document_order_and_report_the_first_bad_document() {
    let doc = |i: usize| {
        format!("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {{name: set-{i}}}\n")
    };
    let mut text: String = (0..200).map(|i| doc(i) + "---\n").collect();
    let entries = read_manifest("big.yaml", &text).unwrap();
    let names: Vec<String> = entries
        .iter()
        .map(|e| e.resource.metadata().name.clone())
        .collect();
    let expected: Vec<String> = (0..200).map(|i| format!("set-{i}")).collect();
    assert_eq!(names, expected);
    assert_eq!(entries[150].origin.document, 151);

    // Two bad documents in different halves: the earlier one is reported.
    text = (0..200)
        .map(|i| match i {
            120 | 180 => "kind: [unclosed\n---\n".to_string(),
            _ => doc(i) + "---\n",
        })
        .collect();
    let err = read_manifest("big.yaml", &text).unwrap_err();
    assert_eq!(err.origin().document, 121);
}
