//! Interoperability with Calico's own etcd data: keys and values written exactly as Calico's
//! etcdv3 backend writes them are read correctly, and what calicoctl writes is byte-for-byte
//! what Calico writes (once `uid` and `creationTimestamp` are set aside).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use etcd_client::Client;

const UID: &str = "6c1f0a2e-8d1b-4e8f-9a55-1f5e4b3c2d10";
const CREATED: &str = "2026-01-01T00:00:00Z";

/// Calico's current API (`api/pkg/apis/projectcalico/v3`, reference §1.4) leaves empty rule
/// `source`/`destination` out (`omitzero`), always writes a Tier's `status` (a struct value) and
/// FelixConfiguration's `bpfLogLevel` (no `omitempty`). On etcd its client applies the CRDs'
/// defaults before writing (a policy's `tier: default`, FelixConfiguration's `nftablesMode` and
/// `nftablesFlowTableOffload`), as measured with Calico's calicoctl.
///
/// One resource: how to name it on the command line, its etcd key, the value Calico writes,
/// and a manifest that makes Calico write that value.
struct Golden {
    kind: &'static str,
    name: &'static str,
    namespace: Option<&'static str>,
    key: &'static str,
    value: String,
    manifest: &'static str,
    is_policy: bool,
}

fn goldens() -> Vec<Golden> {
    let meta = |name: &str, extra: &str| {
        format!(
            r#""metadata":{{"name":"{name}",{extra}"uid":"{UID}","creationTimestamp":"{CREATED}""#
        )
    };
    let policy_meta = |name: &str, namespace: Option<&str>| {
        let ns = namespace
            .map(|ns| format!(r#""namespace":"{ns}","#))
            .unwrap_or_default();
        format!(
            r#"{},"labels":{{"projectcalico.org/tier":"default"}},"annotations":{{"projectcalico.org/metadata":"{{\"name\":\"{name}\"}}"}}}}"#,
            meta(name, &ns)
        )
    };
    vec![
        Golden {
            kind: "ippool",
            name: "interop-pool",
            namespace: None,
            key: "/calico/resources/v3/projectcalico.org/ippools/interop-pool",
            value: format!(
                r#"{{"kind":"IPPool","apiVersion":"projectcalico.org/v3",{}}},"spec":{{"cidr":"10.48.0.0/16","vxlanMode":"Never","ipipMode":"Always","natOutgoing":true,"blockSize":26,"nodeSelector":"all()","allowedUses":["Workload","Tunnel"],"assignmentMode":"Automatic"}}}}"#,
                meta("interop-pool", "")
            ),
            manifest: "apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: interop-pool
spec:
  cidr: 10.48.0.0/16
  ipipMode: Always
  natOutgoing: true
",
            is_policy: false,
        },
        Golden {
            kind: "globalnetworkpolicy",
            name: "interop-deny-db",
            namespace: None,
            key: "/calico/resources/v3/projectcalico.org/globalnetworkpolicies/interop-deny-db",
            value: format!(
                r#"{{"kind":"GlobalNetworkPolicy","apiVersion":"projectcalico.org/v3",{},"spec":{{"tier":"default","order":10,"ingress":[{{"action":"Allow","source":{{"selector":"role == 'frontend' \u0026\u0026 env == 'prod'"}}}}],"selector":"role == 'db' \u0026\u0026 env == 'prod'","types":["Ingress"]}}}}"#,
                policy_meta("interop-deny-db", None)
            ),
            manifest: "apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: interop-deny-db
spec:
  order: 10
  selector: role == 'db' && env == 'prod'
  ingress:
  - action: Allow
    source:
      selector: role == 'frontend' && env == 'prod'
",
            is_policy: true,
        },
        Golden {
            kind: "networkpolicy",
            name: "interop-allow-web",
            namespace: Some("prod"),
            key: "/calico/resources/v3/projectcalico.org/networkpolicies/prod/interop-allow-web",
            value: format!(
                r#"{{"kind":"NetworkPolicy","apiVersion":"projectcalico.org/v3",{},"spec":{{"tier":"default","order":100,"ingress":[{{"action":"Allow"}}],"egress":[{{"action":"Allow"}}],"selector":"app == 'web'","types":["Ingress","Egress"]}}}}"#,
                policy_meta("interop-allow-web", Some("prod"))
            ),
            manifest: "apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: interop-allow-web
  namespace: prod
spec:
  order: 100
  selector: app == 'web'
  ingress:
  - action: Allow
  egress:
  - action: Allow
",
            is_policy: true,
        },
        Golden {
            kind: "hostendpoint",
            name: "interop-web-1-eth0",
            namespace: None,
            key: "/calico/resources/v3/projectcalico.org/hostendpoints/interop-web-1-eth0",
            value: format!(
                r#"{{"kind":"HostEndpoint","apiVersion":"projectcalico.org/v3",{},"labels":{{"role":"web"}}}},"spec":{{"node":"web-1","interfaceName":"eth0","expectedIPs":["192.0.2.10"]}}}}"#,
                meta("interop-web-1-eth0", "")
            ),
            manifest: "apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: interop-web-1-eth0
  labels:
    role: web
spec:
  node: web-1
  interfaceName: eth0
  expectedIPs:
  - 192.0.2.10
",
            is_policy: false,
        },
        Golden {
            kind: "tier",
            name: "interop-security",
            namespace: None,
            key: "/calico/resources/v3/projectcalico.org/tiers/interop-security",
            value: format!(
                r#"{{"kind":"Tier","apiVersion":"projectcalico.org/v3",{}}},"spec":{{"order":100,"defaultAction":"Deny"}},"status":{{}}}}"#,
                meta("interop-security", "")
            ),
            manifest: "apiVersion: projectcalico.org/v3
kind: Tier
metadata:
  name: interop-security
spec:
  order: 100
",
            is_policy: false,
        },
        Golden {
            kind: "networkset",
            name: "interop-partners",
            namespace: Some("prod"),
            key: "/calico/resources/v3/projectcalico.org/networksets/prod/interop-partners",
            value: format!(
                r#"{{"kind":"NetworkSet","apiVersion":"projectcalico.org/v3",{}}},"spec":{{"nets":["198.51.100.0/28","2001:db8::/64"]}}}}"#,
                meta("interop-partners", r#""namespace":"prod","#)
            ),
            manifest: "apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata:
  name: interop-partners
  namespace: prod
spec:
  nets:
  - 198.51.100.0/28
  - 2001:db8::/64
",
            is_policy: false,
        },
        Golden {
            kind: "felixconfiguration",
            name: "interop-felix",
            namespace: None,
            key: "/calico/resources/v3/projectcalico.org/felixconfigurations/interop-felix",
            value: format!(
                r#"{{"kind":"FelixConfiguration","apiVersion":"projectcalico.org/v3",{}}},"spec":{{"ipv6Support":false,"logSeverityScreen":"Info","nftablesMode":"Auto","nftablesFlowTableOffload":"Disabled","bpfLogLevel":"","bpfConnectTimeLoadBalancing":"TCP","bpfHostNetworkedNATWithoutCTLB":"Enabled","floatingIPs":"Disabled"}}}}"#,
                meta("interop-felix", "")
            ),
            manifest: "apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata:
  name: interop-felix
spec:
  ipv6Support: false
  logSeverityScreen: Info
",
            is_policy: false,
        },
    ]
}

/// Replaces the values of `"uid"` and `"creationTimestamp"` with the golden ones.
fn normalise(value: &str) -> String {
    let mut out = value.to_string();
    for (field, replacement) in [("uid", UID), ("creationTimestamp", CREATED)] {
        let marker = format!("\"{field}\":\"");
        if let Some(start) = out.find(&marker) {
            let from = start + marker.len();
            if let Some(len) = out[from..].find('"') {
                out.replace_range(from..from + len, replacement);
            }
        }
    }
    out
}

#[allow(clippy::unwrap_used, clippy::expect_used)]
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[allow(clippy::unwrap_used, clippy::expect_used)]
fn with_name(g: &Golden, args: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.insert(1, g.kind.to_string());
    all.insert(2, g.name.to_string());
    if let Some(ns) = g.namespace {
        all.push("-n".into());
        all.push(ns.into());
    }
    all
}

#[test]
fn calico_written_data_reads_back_and_calicoctl_writes_the_same_bytes() {
    let etcd = common::Etcd::new();
    let rt = runtime();
    let mut client = rt
        .block_on(Client::connect([etcd.server.endpoint()], None))
        .unwrap();
    let goldens = goldens();

    // Calico's bytes, written raw, read through calicoctl.
    for g in &goldens {
        let put = rt
            .block_on(client.put(g.key, g.value.as_bytes().to_vec(), None))
            .unwrap();
        let revision = put.header().unwrap().revision();
        let output = etcd
            .calicoctl()
            .args(with_name(g, &["get", "-o", "yaml"]))
            .output()
            .unwrap();
        let yaml = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "get {}: {yaml}{}",
            g.name,
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(yaml.contains(&format!("  name: {}\n", g.name)), "{yaml}");
        assert!(
            yaml.contains(&format!("  resourceVersion: \"{revision}\"\n")),
            "{yaml}"
        );
        assert!(yaml.contains(&format!("  uid: {UID}\n")), "{yaml}");
        assert!(!yaml.contains("projectcalico.org/metadata"), "{yaml}");
        if g.is_policy {
            assert!(
                yaml.contains("&& env == 'prod'") || yaml.contains("app == 'web'"),
                "{yaml}"
            );
        }
        if let Some(ns) = g.namespace {
            assert!(yaml.contains(&format!("  namespace: {ns}\n")), "{yaml}");
        }
    }

    // Delete them all through calicoctl.
    for g in &goldens {
        let output = etcd
            .calicoctl()
            .args(with_name(g, &["delete"]))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "delete {}: {}{}",
            g.name,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let left = rt.block_on(client.get(g.key, None)).unwrap();
        assert!(left.kvs().is_empty(), "{} still in etcd", g.key);
    }

    // Apply the manifests; etcd must then hold Calico's bytes.
    let manifest = goldens
        .iter()
        .map(|g| g.manifest)
        .collect::<Vec<_>>()
        .join("---\n");
    let file = etcd.file("interop.yaml", &manifest);
    let output = etcd
        .calicoctl()
        .arg("apply")
        .arg("-f")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "apply: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let mut mismatches = Vec::new();
    for g in &goldens {
        let got = rt.block_on(client.get(g.key, None)).unwrap();
        let kv = got
            .kvs()
            .first()
            .unwrap_or_else(|| panic!("{} missing", g.key));
        let stored = String::from_utf8(kv.value().to_vec()).unwrap();
        assert_ne!(normalise(&stored), stored, "{} has a fresh uid", g.key);
        if normalise(&stored) != g.value {
            mismatches.push(format!(
                "{}:\n  calicoctl wrote {}\n  Calico writes   {}",
                g.key,
                normalise(&stored),
                g.value
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn connection_failures_are_reported_as_calicoctl_does() {
    let home = tempfile::tempdir().unwrap();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let output = common::bare(home.path())
        .env("DATASTORE_TYPE", "etcdv3")
        .env("ETCD_ENDPOINTS", &endpoint)
        .args(["get", "ippools"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!(
            "Failed to create Calico API client: failed to connect to etcd at {endpoint}: connection refused\n"
        )
    );

    let output = common::bare(home.path())
        .env("DATASTORE_TYPE", "etcdv3")
        .args(["get", "ippools"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "Failed to create Calico API client: no etcd endpoints specified\n"
    );
}

/// `calicoctl get ippools` with `env`, which must fail: its stdout and stderr.
fn failing_get(home: &std::path::Path, env: &[(&str, &str)]) -> (String, String) {
    let mut command = common::bare(home);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.args(["get", "ippools"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A kubeconfig at `home/kubeconfig` with one cluster and user (flow-style YAML maps).
fn kubeconfig(home: &std::path::Path, cluster: &str, user: &str) -> String {
    let path = home.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{{cluster}}}\n\
             users:\n- name: u\n  user: {{{user}}}\n\
             contexts:\n- name: x\n  context: {{cluster: c, user: u}}\ncurrent-context: x\n"
        ),
    )
    .unwrap();
    path.display().to_string()
}

/// An X.509 version 1 client certificate (what `openssl x509 -req` makes without extensions)
/// works with Calico's Go client but not with rustls, whose own error would blame the server:
/// both drivers say what is wrong with the certificate instead, before connecting.
#[test]
fn a_version_1_client_certificate_is_named_not_blamed_on_the_server() {
    let home = tempfile::tempdir().unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../calico-datastore/tests/fixtures")
        .canonicalize()
        .unwrap();
    let cert = fixtures.join("x509-v1.pem").display().to_string();
    let key = fixtures.join("x509-key.pem").display().to_string();
    let advice = "is an X.509 version 1 certificate, which is not supported (only version 3): \
                  reissue it with an extension, e.g. `openssl x509 -req ... -extfile FILE` where \
                  FILE holds `extendedKeyUsage = clientAuth`\n";

    let (stdout, _) = failing_get(
        home.path(),
        &[
            ("DATASTORE_TYPE", "etcdv3"),
            ("ETCD_ENDPOINTS", "https://127.0.0.1:2379"),
            ("ETCD_CERT_FILE", &cert),
            ("ETCD_KEY_FILE", &key),
        ],
    );
    assert_eq!(
        stdout,
        format!(
            "Failed to create Calico API client: the etcd client certificate file {cert} {advice}"
        )
    );

    let config = kubeconfig(
        home.path(),
        "server: 'https://127.0.0.1:6443'",
        &format!("client-certificate: {cert}, client-key: {key}"),
    );
    let (stdout, _) = failing_get(
        home.path(),
        &[("DATASTORE_TYPE", "kubernetes"), ("KUBECONFIG", &config)],
    );
    assert!(
        stdout.contains(&format!(
            "the Kubernetes client certificate file {cert} {advice}"
        )),
        "{stdout}"
    );
}

/// A server whose certificate is a self-signed CA certificate trusted directly (`openssl req
/// -x509`'s default) works with Go's TLS but not with rustls: both drivers say what is wrong
/// and how to reissue it, instead of rustls's `CaUsedAsEndEntity`.
#[test]
fn a_server_certificate_that_is_a_ca_is_explained() {
    let home = tempfile::tempdir().unwrap();
    let server = calico_test_support::EtcdServer::start_tls_self_signed_ca();
    let ca = server.tls().unwrap().ca_cert.display().to_string();
    let endpoint = server.endpoint().to_string();
    let advice = "the server's certificate is a CA certificate (basicConstraints CA:TRUE) \
                  serving as its own certificate, which is not supported (only certificates \
                  issued by a CA): issue the server a certificate signed by that CA, or make its \
                  certificate without CA:TRUE (openssl req -x509 ... -addext \
                  basicConstraints=critical,CA:FALSE)";
    let (stdout, _) = failing_get(
        home.path(),
        &[
            ("DATASTORE_TYPE", "etcdv3"),
            ("ETCD_ENDPOINTS", &endpoint),
            ("ETCD_CA_CERT_FILE", &ca),
        ],
    );
    assert_eq!(
        stdout,
        format!("Failed to create Calico API client: TLS connection to etcd at {endpoint} failed: {advice}\n")
    );

    // The same server as a Kubernetes API server: the handshake fails before HTTP.
    let config = kubeconfig(
        home.path(),
        &format!("server: '{endpoint}', certificate-authority: {ca}"),
        "token: t",
    );
    let (stdout, stderr) = failing_get(
        home.path(),
        &[
            ("DATASTORE_TYPE", "kubernetes"),
            ("KUBECONFIG", &config),
            ("K8S_REQUEST_TIMEOUT", "5s"),
        ],
    );
    let text = format!("{stdout}{stderr}");
    assert!(text.contains(&format!("at {endpoint}: {advice}")), "{text}");
}

/// Lists longer than one datastore page print page by page; the output is still one list, in
/// key order, read at one revision.
#[test]
fn long_lists_print_page_by_page_as_one_list() {
    let etcd = common::Etcd::new();
    let mut manifest = String::new();
    for i in 0..1203 {
        manifest.push_str(&format!(
            "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: set-{i:04}\nspec:\n  nets: [192.0.2.0/24]\n"
        ));
    }
    let file = etcd.file("sets.yaml", &manifest);
    etcd.calicoctl()
        .arg("apply")
        .arg("-f")
        .arg(&file)
        .assert()
        .success();

    let out = etcd
        .calicoctl()
        .args(["get", "globalnetworksets", "-o", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["kind"], "GlobalNetworkSetList");
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["metadata"]["name"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..1203).map(|i| format!("set-{i:04}")).collect();
    assert_eq!(names, expected);
    let revision: i64 = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let newest = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            item["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse::<i64>()
                .unwrap()
        })
        .max()
        .unwrap();
    assert!(revision >= newest);

    let yaml = etcd
        .calicoctl()
        .args(["get", "globalnetworksets", "-o", "yaml"])
        .output()
        .unwrap();
    assert!(yaml.status.success());
    let text = String::from_utf8_lossy(&yaml.stdout);
    assert!(text.starts_with("apiVersion: projectcalico.org/v3\nitems:\n- apiVersion:"));
    assert_eq!(
        text.matches("\n- apiVersion: projectcalico.org/v3\n")
            .count(),
        1203
    );
    assert!(text.ends_with(&format!(
        "kind: GlobalNetworkSetList\nmetadata:\n  resourceVersion: \"{revision}\"\n"
    )));
}
