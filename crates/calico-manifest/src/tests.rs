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
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: b, namespace: prod}
";

#[test]
fn splits_as_calicoctl_does() {
    let numbers: Vec<_> = split_documents(TWO_SETS).iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, [1, 2]);
    // Every document counts, an empty one too; a leading `---` starts the first one.
    let docs: Vec<_> = split_documents("---\na\n---\n\n---\n# c\n")
        .into_iter()
        .map(|(_, text)| text)
        .collect();
    assert_eq!(docs, ["---\na", "", "# c\n"]);
    assert!(split_documents("").is_empty());
    assert_eq!(split_documents("a\n---").len(), 1);
}

#[test]
fn reads_yaml_documents() {
    let entries = read_manifest("sets.yaml", TWO_SETS).unwrap();
    let kinds: Vec<_> = entries.iter().map(|e| e.resource.kind()).collect();
    assert_eq!(kinds, ["GlobalNetworkSet", "NetworkSet"]);
    assert_eq!(entries[1].origin.document, 2);
    assert_eq!(entries[1].resource.metadata().namespace, "prod");
}

#[test]
fn an_empty_document_is_a_resource_of_no_type() {
    let trailing = format!("{TWO_SETS}---\n\n");
    for text in [trailing.as_str(), "# only a comment\n", "\n"] {
        let err = read_manifest("e.yaml", text).unwrap_err();
        assert_eq!(
            err.command_message(),
            "failed to execute command: unknown resource type () and/or version ()",
            "{text:?}"
        );
    }
}

#[test]
fn reads_json_lists_and_sequences() {
    let list = r#"{"kind":"GlobalNetworkSetList","apiVersion":"projectcalico.org/v3",
        "items":[{"metadata":{"name":"x"}},{"metadata":{"name":"y"}}]}"#;
    let entries = read_manifest("l.json", list).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].origin.item, Some(1));
    // In a list, YAML's `y` fills a string field as "true".
    let list = "kind: GlobalNetworkSetList\napiVersion: projectcalico.org/v3\nitems:\n- metadata: {name: y}\n";
    assert_eq!(
        read_manifest("l.yaml", list).unwrap()[0]
            .resource
            .metadata()
            .name,
        "true"
    );

    let seq = "- {apiVersion: projectcalico.org/v3, kind: GlobalNetworkSet, metadata: {name: x1}}\n\
               - {apiVersion: projectcalico.org/v3, kind: GlobalNetworkSet, metadata: {name: y1}}\n";
    assert_eq!(read_manifest("s.yaml", seq).unwrap().len(), 2);
    // In a plain sequence no scalar is turned into a string, as in calicoctl.
    let seq = "- {apiVersion: projectcalico.org/v3, kind: GlobalNetworkSet, metadata: {name: y}}\n";
    assert_eq!(
        read_manifest("s.yaml", seq).unwrap_err().command_message(),
        "failed to execute command: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.name of type string"
    );
}

#[test]
fn unknown_field_uses_calicoctl_wording() {
    let doc = "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: a}\nspec:\n  netz: []\n";
    let err = read_manifest("bad.yaml", doc).unwrap_err();
    assert_eq!(
        err.command_message(),
        "field in document is not recognized or is in the wrong location: netz"
    );
    assert!(
        matches!(err, ManifestError::Decode { error: DecodeError::UnknownField { ref path, .. }, .. } if path == "spec.netz")
    );
}

#[test]
fn yaml_11_scalars_fill_string_fields_as_text() {
    let doc = "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: y, labels: {on: off, 1.5: 0x10}}\n";
    let entries = read_manifest("b.yaml", doc).unwrap();
    let meta = entries[0].resource.metadata();
    assert_eq!(meta.name, "true");
    assert_eq!(meta.labels.get("true").map(String::as_str), Some("false"));
    assert_eq!(meta.labels.get("1.5").map(String::as_str), Some("16"));
}

#[test]
fn case_insensitive_fields_and_integral_floats() {
    let doc = "apiVersion: projectcalico.org/v3\nkind: IPPool\nMetadata:\n  Name: p\nSpec:\n  CIDR: 10.0.0.0/16\n  natOutgoing: yes\n  blockSize: 26.0\n";
    let entries = read_manifest("p.yaml", doc).unwrap();
    let calico_api::AnyResource::IPPool(pool) = &entries[0].resource else {
        panic!("not a pool");
    };
    assert_eq!(pool.spec.cidr, "10.0.0.0/16");
    assert!(pool.spec.nat_outgoing);
    assert_eq!(pool.spec.block_size, 26);
}

#[test]
fn duplicate_keys_are_refused_as_go_yaml_words_it() {
    let doc = "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: dup\nspec:\n  order: 1\n  order: 2\n";
    assert_eq!(
        read_manifest("d.yaml", doc).unwrap_err().command_message(),
        "failed to execute command: error converting YAML to JSON: yaml: unmarshal errors:\n  line 7: key \"order\" already set in map"
    );
}

#[test]
fn unknown_kind_and_version() {
    let doc = "apiVersion: projectcalico.org/v3\nkind: Gadget\nmetadata: {name: a}\n";
    let err = read_manifest("k.yaml", doc).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown resource type (Gadget) and/or version (projectcalico.org/v3)"
    );
    let doc = "apiVersion: v1\nkind: List\nitems: []\n";
    let err = read_manifest("k.yaml", doc).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown resource type (List) and/or version (v1)"
    );
    let doc = "apiVersion: projectcalico.org/v3\nmetadata: {name: a}\n";
    assert_eq!(
        read_manifest("k.yaml", doc).unwrap_err().to_string(),
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal object into Go value of type []unstructured.Unstructured"
    );
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

    #[test]
    fn never_panics_on_resource_like_text(
        key in "[a-zA-Z]{1,10}",
        value in "[a-z0-9.:/ \\-\\[\\]{}]{0,20}",
    ) {
        let text = format!("apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: p\nspec:\n  {key}: {value}\n");
        let _ = read_manifest("fuzz", &text);
        let seq = format!("- apiVersion: projectcalico.org/v3\n  kind: GlobalNetworkPolicy\n  spec:\n    {key}: {value}\n");
        let _ = read_manifest("fuzz", &seq);
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

fn stream_documents(text: &[u8]) -> Result<Vec<(usize, String)>, String> {
    DocumentSplitter::new("s", text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

proptest! {
    #[test]
    fn streaming_splits_as_the_text_splitter(text in "[a-z\\-\\n ]{0,120}") {
        prop_assert_eq!(stream_documents(text.as_bytes()), Ok(split_documents(&text)));
    }

    #[test]
    fn streaming_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut entries = Vec::new();
        let _ = read_manifest_stream("fuzz", bytes.as_slice(), &mut entries);
    }
}

#[test]
fn a_line_without_end_stops_at_the_document_limit() {
    // An endless stream of one line (`/dev/zero`): an error after one document's bytes.
    let endless = std::io::BufReader::new(std::io::repeat(b'a'));
    let mut entries = Vec::new();
    let err = read_manifest_stream("/dev/zero", endless, &mut entries).unwrap_err();
    assert_eq!(
        err.to_string(),
        "bufio.Scanner: token too long (/dev/zero: document 1 is larger than 10 MiB)"
    );
    // The same for a separator line with no end.
    let endless = std::io::Read::chain(&b"a: 1\n---"[..], std::io::repeat(b'-'));
    let err =
        read_manifest_stream("s", std::io::BufReader::new(endless), &mut entries).unwrap_err();
    assert!(matches!(
        err,
        StreamError::Manifest(ManifestError::TooLarge { .. })
    ));
    // A document just under the limit is read (and then judged on its content).
    let mut big = "#".repeat(MAX_DOCUMENT_BYTES - 1);
    big.push('\n');
    let err = read_manifest_stream("s", big.as_bytes(), &mut entries).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown resource type () and/or version ()"
    );
}

#[test]
fn too_many_resources_name_the_first_one_over() {
    let doc =
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: s}\n---\n";
    let mut entries = Vec::new();
    read_manifest_stream("a.yaml", doc.repeat(3).as_bytes(), &mut entries).unwrap();
    assert_eq!(entries.len(), 3);
    // Fill up to the limit cheaply, then read one more file.
    let one = entries[0].clone();
    entries.resize(MAX_RESOURCES - 1, one);
    let err = read_manifest_stream("b.yaml", doc.repeat(2).as_bytes(), &mut entries).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("too many resources: one command reads at most {MAX_RESOURCES}, and b.yaml: document 2 holds one more")
    );
}

#[test]
fn invalid_utf8_is_an_io_error() {
    let mut entries = Vec::new();
    let err = read_manifest_stream("b.yaml", &b"kind: \xff\n"[..], &mut entries).unwrap_err();
    assert!(matches!(err, StreamError::Io(_)), "{err}");
}
