//! The pool a pod's address comes from follows its Namespace's labels when the configuration
//! names a kubeconfig: the plugin reads the Namespace from the Kubernetes API (here the
//! kube-emulator) as Calico's does, and a Namespace that does not exist fails the ADD with
//! Calico's text. The datastore is a throw-away etcd.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use common::{fresh, run};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use kube_emulator::{Config, Emulator};
use serde_json::{json, Value};

fn pool(name: &str, cidr: &str, selector: &str) -> Value {
    json!([
        format!("/calico/resources/v3/projectcalico.org/ippools/{name}"),
        json!({"kind":"IPPool","apiVersion":"projectcalico.org/v3",
            "metadata":{"name":name,"uid":"00000000-0000-0000-0000-000000000002","creationTimestamp":"2026-12-05T21:57:30Z"},
            "spec":{"cidr":cidr,"vxlanMode":"Never","ipipMode":"Never","blockSize":26,"nodeSelector":"all()",
                "namespaceSelector":selector,"allowedUses":["Workload","Tunnel"],"assignmentMode":"Automatic"}})
        .to_string(),
    ])
}

fn step(pod: &str, namespace: &str, kubeconfig: &str) -> Value {
    json!({
        "env": {
            "CNI_COMMAND": "ADD",
            "CNI_CONTAINERID": format!("{pod}-container"),
            "CNI_NETNS": "/var/run/netns/x",
            "CNI_IFNAME": "eth0",
            "CNI_PATH": "/opt/cni/bin",
            "CNI_ARGS": format!("IgnoreUnknown=1;K8S_POD_NAMESPACE={namespace};K8S_POD_NAME={pod}"),
        },
        "stdin": format!(
            r#"{{"cniVersion":"1.0.0","name":"k8s-pod-network",{{datastore}},"nodename":"node-a","kubernetes":{{"kubeconfig":"{kubeconfig}"}},"ipam":{{"type":"calico-ipam"}}}}"#
        ),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_labels_pick_the_pool() {
    let emulator = Emulator::start(Config::default()).await.unwrap();
    let client =
        kube::Client::try_from(kube::Config::new(emulator.url().parse().unwrap())).unwrap();
    let namespaces: Api<Namespace> = Api::all(client);
    for (name, team) in [("team-a", "a"), ("team-b", "b")] {
        let namespace: Namespace =
            serde_json::from_value(json!({"metadata": {"name": name, "labels": {"team": team}}}))
                .unwrap();
        namespaces
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap();
    }
    let kubeconfig = emulator.kubeconfig_path().display().to_string();
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_calico-ipam"));
    let outcome = tokio::task::spawn_blocking(move || {
        let store = fresh("etcd", false);
        let node = json!([
            "/calico/resources/v3/projectcalico.org/nodes/node-a",
            r#"{"kind":"Node","apiVersion":"projectcalico.org/v3","metadata":{"name":"node-a","uid":"00000000-0000-0000-0000-000000000001","creationTimestamp":"2026-12-05T21:57:30Z"},"spec":{},"status":{}}"#
        ]);
        store.seed(&[
            pool("pool-a", "10.10.0.0/16", "team == 'a'"),
            pool("pool-b", "10.20.0.0/16", "team == 'b'"),
            node,
        ]);
        [
            run(&binary, &store, &step("web-a", "team-a", &kubeconfig)),
            run(&binary, &store, &step("web-b", "team-b", &kubeconfig)),
            run(&binary, &store, &step("web-c", "nope", &kubeconfig)),
        ]
    })
    .await
    .unwrap();
    let address = |(stdout, exit): &(String, i32)| {
        assert_eq!(*exit, 0, "{stdout}");
        let result: Value = serde_json::from_str(stdout).unwrap();
        result["ips"][0]["address"].as_str().unwrap().to_string()
    };
    assert!(
        address(&outcome[0]).starts_with("10.10."),
        "{:?}",
        outcome[0]
    );
    assert!(
        address(&outcome[1]).starts_with("10.20."),
        "{:?}",
        outcome[1]
    );
    assert_eq!(
        outcome[2],
        (
            "{\n    \"code\": 999,\n    \"msg\": \"failed to get namespace nope: namespaces \\\"nope\\\" not found\"\n}"
                .to_string(),
            1
        )
    );
}
