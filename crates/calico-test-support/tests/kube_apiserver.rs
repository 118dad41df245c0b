//! The real kube-apiserver starts, authenticates both identities and enforces RBAC.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use calico_test_support::kube_apiserver::{KubeApiServer, ADMIN_TOKEN, CALICOCTL_TOKEN};

#[test]
fn starts_with_tokens_and_rbac() {
    let server = KubeApiServer::start();
    let admin = server
        .kubectl_as(ADMIN_TOKEN)
        .args([
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ])
        .output()
        .unwrap();
    assert!(
        admin.status.success(),
        "{}",
        String::from_utf8_lossy(&admin.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&admin.stdout), "admin");

    // The restricted identity is authenticated but may not list nodes until RBAC allows it.
    let denied = server
        .kubectl_as(CALICOCTL_TOKEN)
        .args(["get", "nodes"])
        .output()
        .unwrap();
    assert!(!denied.status.success());
    assert!(
        String::from_utf8_lossy(&denied.stderr).contains("forbidden"),
        "{}",
        String::from_utf8_lossy(&denied.stderr)
    );

    // A wrong token is refused outright.
    let anonymous = server
        .kubectl_as("not-a-token")
        .args(["get", "nodes"])
        .output()
        .unwrap();
    assert!(!anonymous.status.success());
    assert!(String::from_utf8_lossy(&anonymous.stderr).contains("Unauthorized"));
}
