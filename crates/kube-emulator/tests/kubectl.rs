//! The real kubectl (and the kube-emulator binary itself) against the emulator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// Calico's official crd.projectcalico.org/v1 CRDs (a copy of the reference file).
const CALICO_CRDS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/calico-crds.yaml"
);

struct Server {
    child: Child,
    dir: tempfile::TempDir,
    url: String,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let kc = dir.path().join("kubeconfig");
        let mut child = Command::new(env!("CARGO_BIN_EXE_kube-emulator"))
            .args(["--listen", "127.0.0.1:0", "--kubeconfig"])
            .arg(&kc)
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_string();
        assert!(kc.exists(), "kubeconfig written before the URL is printed");
        Server { child, dir, url }
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// Runs kubectl; returns (success, stdout, stderr).
    fn kubectl(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.kubectl(args);
        assert!(ok, "kubectl {args:?} failed: {stderr}");
        assert_eq!(stderr, "", "kubectl {args:?} wrote to stderr");
        stdout
    }

    fn write(&self, name: &str, text: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    }

    /// SIGTERM; the emulator must exit cleanly.
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "{exit:?}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // After a failed assertion: don't leak the process (a no-op after stop()).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn have_kubectl() -> bool {
    let found = Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("kubectl not installed: skipping");
    }
    found
}

fn columns(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

#[test]
fn binary_prints_url_first_and_refuses_non_loopback() {
    let s = Server::start(&[]);
    assert!(s.url.starts_with("http://127.0.0.1:"), "{}", s.url);
    let kc = std::fs::read_to_string(s.kubeconfig()).unwrap();
    assert!(kc.contains(&format!("server: {}", s.url)));
    s.stop();

    let out = Command::new(env!("CARGO_BIN_EXE_kube-emulator"))
        .args(["--listen", "0.0.0.0:0", "--kubeconfig", "/dev/null"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(out.stdout, b"");
    assert!(String::from_utf8_lossy(&out.stderr).contains("only loopback addresses"));
}

#[test]
fn kubectl_crds_namespaces_nodes_ippools() {
    if !have_kubectl() {
        return;
    }
    let s = Server::start(&[]);

    // CRDs.
    let out = s.ok(&["apply", "-f", CALICO_CRDS]);
    assert!(
        out.contains(
            "customresourcedefinition.apiextensions.k8s.io/ippools.crd.projectcalico.org created"
        ),
        "{out}"
    );
    let crd_count = std::fs::read_to_string(CALICO_CRDS)
        .unwrap()
        .matches("\nkind: CustomResourceDefinition")
        .count();
    let out = s.ok(&["get", "crds"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(columns(lines[0]), vec!["NAME", "CREATED", "AT"]);
    assert_eq!(lines.len(), crd_count + 1, "{out}");
    assert!(lines
        .iter()
        .any(|l| l.starts_with("ippools.crd.projectcalico.org ")));
    // Applying again is a no-op.
    let out = s.ok(&["apply", "-f", CALICO_CRDS]);
    assert!(
        out.contains("ippools.crd.projectcalico.org unchanged"),
        "{out}"
    );

    // Namespaces (kubectl create sends protobuf).
    assert_eq!(
        s.ok(&["create", "namespace", "prod"]),
        "namespace/prod created\n"
    );
    let out = s.ok(&["get", "namespaces"]);
    let lines: Vec<Vec<&str>> = out.lines().map(columns).collect();
    assert_eq!(lines[0], vec!["NAME", "STATUS", "AGE"]);
    let names: Vec<&str> = lines[1..].iter().map(|l| l[0]).collect();
    assert_eq!(
        names,
        vec![
            "default",
            "kube-node-lease",
            "kube-public",
            "kube-system",
            "prod"
        ]
    );
    assert!(lines[1..].iter().all(|l| l[1] == "Active"));
    let (ok, _, err) = s.kubectl(&["create", "namespace", "prod"]);
    assert!(!ok);
    assert_eq!(
        err,
        "Error from server (AlreadyExists): namespaces \"prod\" already exists\n"
    );

    // Nodes.
    let node = s.write(
        "node.yaml",
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: node-1\n  labels:\n    node-role.kubernetes.io/control-plane: \"\"\nstatus:\n  nodeInfo:\n    kubeletVersion: v1.32.4\n",
    );
    assert_eq!(s.ok(&["apply", "-f", &node]), "node/node-1 created\n");
    let out = s.ok(&["get", "nodes"]);
    let lines: Vec<Vec<&str>> = out.lines().map(columns).collect();
    assert_eq!(lines[0], vec!["NAME", "STATUS", "ROLES", "AGE", "VERSION"]);
    assert_eq!(lines[1][..3], ["node-1", "Unknown", "control-plane"]);
    assert_eq!(lines[1][4], "v1.32.4");
    assert_eq!(lines.len(), 2);
    let relabelled = std::fs::read_to_string(&node)
        .unwrap()
        .replace("control-plane", "worker");
    let node2 = s.write("node2.yaml", &relabelled);
    assert_eq!(s.ok(&["apply", "-f", &node2]), "node/node-1 configured\n");
    let out = s.ok(&["get", "node", "node-1", "-o", "jsonpath={.metadata.labels}"]);
    assert!(
        out.contains("node-role.kubernetes.io/worker") && !out.contains("control-plane"),
        "{out}"
    );

    // IPPools.
    let pool = s.write("pool.yaml", "apiVersion: crd.projectcalico.org/v1\nkind: IPPool\nmetadata:\n  name: pool-a\nspec:\n  cidr: 10.0.0.0/16\n  ipipMode: Always\n");
    assert_eq!(
        s.ok(&["apply", "-f", &pool]),
        "ippool.crd.projectcalico.org/pool-a created\n"
    );
    let yaml = s.ok(&["get", "ippools.crd.projectcalico.org", "-o", "yaml"]);
    for want in [
        "apiVersion: v1\nitems:\n- apiVersion: crd.projectcalico.org/v1\n  kind: IPPool\n",
        "    name: pool-a\n",
        // With the CRD's defaults, as a real API server fills them in.
        "  spec:\n    assignmentMode: Automatic\n    cidr: 10.0.0.0/16\n    ipipMode: Always\n    nodeSelector: all()\n",
        "kind: List\n",
        "    generation: 1\n",
    ] {
        assert!(yaml.contains(want), "missing {want:?} in\n{yaml}");
    }
    let out = s.ok(&["get", "ippools.crd.projectcalico.org"]);
    assert_eq!(columns(out.lines().next().unwrap()), vec!["NAME", "AGE"]);
    assert!(out.lines().nth(1).unwrap().starts_with("pool-a "));
    assert_eq!(
        s.ok(&["delete", "ippools.crd.projectcalico.org", "pool-a"]),
        "ippool.crd.projectcalico.org \"pool-a\" deleted\n"
    );
    let (ok, _, err) = s.kubectl(&["get", "ippools.crd.projectcalico.org", "pool-a"]);
    assert!(!ok);
    assert_eq!(
        err,
        "Error from server (NotFound): ippools.crd.projectcalico.org \"pool-a\" not found\n"
    );
    let (ok, _, err) = s.kubectl(&["delete", "ippools.crd.projectcalico.org", "pool-a"]);
    assert!(!ok);
    assert_eq!(
        err,
        "Error from server (NotFound): ippools.crd.projectcalico.org \"pool-a\" not found\n"
    );
    s.stop();
}

#[test]
fn kubectl_over_tls_with_client_certificate_and_with_token() {
    if !have_kubectl() {
        return;
    }
    let s = Server::start(&["--tls"]);
    assert!(s.url.starts_with("https://127.0.0.1:"));
    let out = s.ok(&["get", "namespaces", "-o", "name"]);
    assert_eq!(out, "namespace/default\nnamespace/kube-node-lease\nnamespace/kube-public\nnamespace/kube-system\n");
    s.stop();

    // kubectl sends bearer tokens only over TLS; drop the client certificate so the token is what authenticates.
    let s = Server::start(&["--tls", "--token", "abc"]);
    let kc = std::fs::read_to_string(s.kubeconfig()).unwrap();
    assert!(kc.contains("    token: abc\n"));
    let token_only: String = kc
        .lines()
        .filter(|l| !l.contains("client-certificate-data") && !l.contains("client-key-data"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(s.kubeconfig(), token_only).unwrap();
    assert!(s
        .ok(&["get", "namespaces", "-o", "name"])
        .contains("namespace/default\n"));
    let (ok, _, err) = s.kubectl(&["--token", "wrong", "get", "namespaces"]);
    assert!(!ok);
    assert!(err.contains("Unauthorized"), "{err}");
    s.stop();
}
