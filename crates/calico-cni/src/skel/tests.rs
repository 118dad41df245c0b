use super::*;

struct Fake;

impl Plugin for Fake {
    fn add(&self, _: &CmdArgs) -> Result<Vec<u8>, CniError> {
        Ok(b"added".to_vec())
    }
    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        Err(CniError::internal(format!("del {}", args.container_id)))
    }
}

fn invoke(vars: &[(&str, &str)], stdin: &str) -> (String, String, u8) {
    let env = |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    let out = run(&env, &mut stdin.as_bytes(), &Fake, "Calico CNI IPAM v0");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.code,
    )
}

const ADD: &[(&str, &str)] = &[
    ("CNI_COMMAND", "ADD"),
    ("CNI_CONTAINERID", "abc"),
    ("CNI_NETNS", "/x"),
    ("CNI_IFNAME", "eth0"),
    ("CNI_PATH", "/opt"),
];

fn msg(out: &(String, String, u8)) -> String {
    out.0.clone()
}

#[test]
fn version_and_about() {
    let (stdout, _, code) = invoke(&[("CNI_COMMAND", "VERSION")], "");
    assert_eq!(
        stdout,
        "{\"cniVersion\":\"1.1.0\",\"supportedVersions\":[\"0.1.0\",\"0.2.0\",\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\"]}\n"
    );
    assert_eq!(code, 0);
    let (stdout, stderr, code) = invoke(&[], "");
    assert_eq!((stdout.as_str(), code), ("", 0));
    assert_eq!(
        stderr,
        "Calico CNI IPAM v0\nCNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0\n"
    );
}

#[test]
fn the_library_checks_in_its_order() {
    assert_eq!(
        msg(&invoke(&[("CNI_COMMAND", "ADD")], "")),
        "{\n    \"code\": 4,\n    \"msg\": \"required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH] missing\"\n}"
    );
    assert_eq!(
        msg(&invoke(&[("CNI_COMMAND", "FOO")], "{\"name\":\"n\"}")),
        "{\n    \"code\": 4,\n    \"msg\": \"unknown CNI_COMMAND: FOO\"\n}"
    );
    assert_eq!(
        msg(&invoke(ADD, "{\"name\":5}")),
        "{\n    \"code\": 6,\n    \"msg\": \"error unmarshall network config: json: cannot unmarshal number into Go struct field .name of type string\"\n}"
    );
    assert_eq!(
        msg(&invoke(ADD, "{\"name\":\"n\",\"cniVersion\":\"1.1.0\"}")),
        "{\n    \"code\": 1,\n    \"msg\": \"incompatible CNI versions\",\n    \"details\": \"config is \\\"1.1.0\\\", plugin supports [\\\"0.1.0\\\" \\\"0.2.0\\\" \\\"0.3.0\\\" \\\"0.3.1\\\" \\\"0.4.0\\\" \\\"1.0.0\\\"]\"\n}"
    );
    let (stdout, _, code) = invoke(ADD, "{\"name\":\"n\",\"cniVersion\":\"0.3.1\"}");
    assert_eq!((stdout.as_str(), code), ("added", 0));
    let mut del = ADD.to_vec();
    del[0] = ("CNI_COMMAND", "DEL");
    del.remove(2);
    let (stdout, _, code) = invoke(&del, "{\"name\":\"n\"}");
    assert_eq!(
        (stdout.as_str(), code),
        ("{\n    \"code\": 999,\n    \"msg\": \"del abc\"\n}", 1)
    );
}

#[test]
fn check_gc_and_status_versions() {
    let mut check = ADD.to_vec();
    check[0] = ("CNI_COMMAND", "CHECK");
    let code_of = |vars: &[(&str, &str)], version: &str| {
        let out = invoke(
            vars,
            &format!("{{\"name\":\"n\",\"cniVersion\":\"{version}\"}}"),
        );
        (out.0, out.2)
    };
    assert_eq!(code_of(&check, "0.4.0"), (String::new(), 0));
    assert_eq!(code_of(&check, "1.0.0"), (String::new(), 0));
    assert!(code_of(&check, "0.3.1")
        .0
        .contains("config version does not allow CHECK"));
    assert!(code_of(&check, "1.1.0")
        .0
        .contains("plugin version does not allow CHECK"));
    assert!(code_of(&check, "0.4.1")
        .0
        .contains("incompatible CNI versions"));
    assert!(code_of(&check, "x.y").0.contains(
        "failed to convert major version part \\\"x\\\": strconv.Atoi: parsing \\\"x\\\": invalid syntax"
    ));
    assert!(code_of(&check, "1.2.3.4")
        .0
        .contains("invalid version \\\"1.2.3.4\\\": too many parts"));
    let gc = [("CNI_COMMAND", "GC"), ("CNI_PATH", "/x")];
    assert!(code_of(&gc, "0.3.1")
        .0
        .contains("config version does not allow GC"));
    assert!(code_of(&gc, "1.1.0")
        .0
        .contains("plugin version does not allow GC"));
}

#[test]
fn environment_checks() {
    let mut bad = ADD.to_vec();
    bad[1] = ("CNI_CONTAINERID", "-abc");
    assert!(invoke(&bad, "")
        .0
        .contains("invalid characters in containerID"));
    let mut long = ADD.to_vec();
    long[3] = ("CNI_IFNAME", "eth0123456789abcdef");
    assert!(invoke(&long, "").0.contains("interface name is too long"));
    let mut dot = ADD.to_vec();
    dot[3] = ("CNI_IFNAME", "..");
    assert!(invoke(&dot, "").0.contains("interface name is . or .."));
}

#[test]
fn running_inside_the_container_namespace_is_refused_after_the_result() {
    let mut own = ADD.to_vec();
    own[2] = ("CNI_NETNS", "/proc/self/ns/net");
    let (stdout, _, code) = invoke(&own, "{\"name\":\"n\"}");
    if std::path::Path::new("/proc/thread-self/ns/net").exists() {
        assert_eq!(code, 1);
        assert!(stdout.starts_with("added{"), "{stdout}");
        assert!(stdout.contains("\"code\": 8"));
    }
    own.push(("CNI_NETNS_OVERRIDE", "true"));
    assert_eq!(invoke(&own, "{\"name\":\"n\"}").2, 0);
}

proptest::proptest! {
    #[test]
    fn never_panics(stdin in ".{0,60}", command in "(ADD|DEL|CHECK|VERSION|GC|X)?") {
        let mut vars = ADD.to_vec();
        vars[0] = ("CNI_COMMAND", command.as_str());
        let _ = invoke(&vars, &stdin);
    }
}
