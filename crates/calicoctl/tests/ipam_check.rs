//! `calicoctl ipam check` beyond Calico's goldens (`tests/goldens/oracle-ipam`): the
//! LoadBalancer Services it reads from the Kubernetes API (none of the goldens has one), the
//! Kubernetes client's errors, IPAM values that cannot be read, and a report that cannot be
//! written.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

const BLOCK: &str = r#"{"cidr":"10.5.0.0/30","affinity":"host:node-a","affinity_claim_time":"2026-12-05T00:00:00Z","allocations":[null,0,null,null],"unallocated":[0,2,3],"attributes":[{"handle_id":"lb-handle","secondary":{"service":"lb"}}],"sequenceNumber":2,"sequenceNumberForAllocation":{"1":1},"deleted":false}"#;

const RESOURCES: &str = "apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool
spec:
  cidr: 10.5.0.0/16
---
apiVersion: projectcalico.org/v3
kind: KubeControllersConfiguration
metadata:
  name: default
spec:
  controllers:
    loadBalancer:
      assignIPs: AllServices
";

fn service(name: &str, class: Option<&str>) -> String {
    let class = class
        .map(|c| format!("  loadBalancerClass: {c}\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: default
spec:
  type: LoadBalancer
{class}  ports:
  - port: 80
"
    )
}

/// The addresses of Calico-managed LoadBalancer Services count as in use (and the Services
/// with another class do not); the report names the Service as the owner.
#[test]
fn load_balancer_service_addresses_are_in_use() {
    let etcd = common::Etcd::new();
    let kube = common::Kube::real();
    etcd.server.etcdctl(&[
        "put",
        "/calico/ipam/v2/assignment/ipv4/block/10.5.0.0-30",
        BLOCK,
    ]);
    etcd.server.etcdctl(&[
        "put",
        "/calico/ipam/v2/handle/lb-handle",
        r#"{"block":{"10.5.0.0/30":1},"deleted":false}"#,
    ]);
    // A value Calico's list would leave out without a word: ours warns on stderr.
    etcd.server.etcdctl(&[
        "put",
        "/calico/ipam/v2/assignment/ipv4/block/10.6.0.0-30",
        "not json",
    ]);
    let resources = etcd.file("resources.yaml", RESOURCES);
    etcd.calicoctl()
        .args(["create", "-f"])
        .arg(&resources)
        .assert()
        .success();
    for (name, class, ip) in [
        ("lb", None, "10.5.0.1"),
        ("other", Some("metallb"), "10.5.0.2"),
    ] {
        let manifest = etcd.file(&format!("{name}.yaml"), &service(name, class));
        kube.kubectl(&["create", "-f", &manifest.to_string_lossy()]);
        let status = format!(r#"{{"status":{{"loadBalancer":{{"ingress":[{{"ip":"{ip}"}}]}}}}}}"#);
        kube.kubectl(&[
            "patch",
            "service",
            name,
            "-n",
            "default",
            "--subresource=status",
            "--type=merge",
            "-p",
            &status,
        ]);
    }
    let report = etcd.home.path().join("report.json");
    let out = etcd
        .calicoctl()
        .args(["ipam", "check", "--show-all-ips", "--kubeconfig"])
        .arg(kube.kubeconfig())
        .arg("-o")
        .arg(&report)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with(
            "warning: IPAM data left out of the check: failed to parse datastore entry key=/calico/ipam/v2/assignment/ipv4/block/10.6.0.0-30; value=not json: "
        ),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "Found 1 IPAM blocks.\n",
        "Loading all service load balancer IPs.\n  10.5.0.1 belongs to lb\nFound 1 service load balancer(s).\n\n",
        "Workloads and nodes are using 1 IPs.\n",
        "Found 0 in-use IPs that are in active IP pools but have no corresponding IPAM allocation.\n",
        "Check complete; found 0 problems.\n",
    ] {
        assert!(stdout.contains(line), "{line:?} not in\n{stdout}");
    }
    let report = std::fs::read_to_string(report).unwrap();
    assert!(
        report.contains("\"inUse\": true,\n        \"owners\": [\n          \"lb\"\n        ]"),
        "{report}"
    );

    // A report that cannot be written: a warning, and the check still succeeds.
    let out = etcd
        .calicoctl()
        .args(["ipam", "check", "--kubeconfig"])
        .arg(kube.kubeconfig())
        .args(["-o", "/nonexistent/report.json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("\nwarning: failed to write the report /nonexistent/report.json: "),
        "{stderr}"
    );
}

/// Without a Kubernetes API to list Services from, the check does not start.
#[test]
fn a_kubeconfig_is_needed_and_must_be_readable() {
    let store = common::Store::new();
    let out = store
        .calicoctl()
        .args(["ipam", "check"])
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "KUBECONFIG environment variable or --kubeconfig parameter not set\n"
    );
    let missing = store.dir.path().join("no-such-kubeconfig");
    let out = store
        .calicoctl()
        .args(["ipam", "check"])
        .env("KUBECONFIG", &missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with(&format!("failed to read kubeconfig {}", missing.display())),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
