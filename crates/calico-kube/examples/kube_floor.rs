//! The floor for the Kubernetes benchmarks (bench/kdd.sh): the same kinds of requests calicoctl
//! makes, sent with plain kube-rs calls and no Calico conversion.
//!
//! ```text
//! kube_floor KUBECONFIG create-sets N CONCURRENCY   N GlobalNetworkSet custom resources
//! kube_floor KUBECONFIG create-pods N CONCURRENCY   N scheduled pods in namespace `bench`,
//!                                                   each given an IP through its status
//! kube_floor KUBECONFIG list-pods                   every pod, 500 a page; prints the count
//! ```

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use kube::api::{ApiResource, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client};
use serde_json::json;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

async fn client(path: &str) -> Result<Client> {
    let kubeconfig = Kubeconfig::read_from(path)?;
    let config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    Ok(Client::try_from(config)?)
}

async fn create_sets(client: Client, n: usize, window: usize) -> Result<()> {
    let resource = ApiResource {
        group: "crd.projectcalico.org".into(),
        version: "v1".into(),
        api_version: "crd.projectcalico.org/v1".into(),
        kind: "GlobalNetworkSet".into(),
        plural: "globalnetworksets".into(),
    };
    let api: Api<DynamicObject> = Api::all_with(client, &resource);
    let mut results = futures::stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            async move {
                let object: DynamicObject = serde_json::from_value(json!({
                    "apiVersion": "crd.projectcalico.org/v1",
                    "kind": "GlobalNetworkSet",
                    "metadata": {"name": format!("floor-{i:06}"), "labels": {"bench": "floor"}},
                    "spec": {"nets": ["192.0.2.0/24", "198.51.100.0/24"]},
                }))?;
                api.create(&PostParams::default(), &object).await?;
                Ok::<_, Box<dyn std::error::Error>>(())
            }
        })
        .buffer_unordered(window.max(1));
    while let Some(result) = results.next().await {
        result?;
    }
    Ok(())
}

async fn create_pods(client: Client, n: usize, window: usize) -> Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let _ = namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "bench"}}))?,
        )
        .await;
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "bench");
    let _ = accounts
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "default"}}))?,
        )
        .await;
    let pods: Api<Pod> = Api::namespaced(client, "bench");
    let mut results = futures::stream::iter(0..n)
        .map(|i| {
            let pods = pods.clone();
            async move {
                let name = format!("pod-{i:06}");
                let pod: Pod = serde_json::from_value(json!({
                    "metadata": {"name": name, "labels": {"app": "bench"}},
                    "spec": {"nodeName": format!("node-{}", i % 50),
                             "containers": [{"name": "c", "image": "nginx"}]},
                }))?;
                pods.create(&PostParams::default(), &pod).await?;
                let ip = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
                let status = json!({"status": {"podIP": ip, "podIPs": [{"ip": ip}]}});
                pods.patch_status(&name, &PatchParams::default(), &Patch::Merge(status))
                    .await?;
                Ok::<_, Box<dyn std::error::Error>>(())
            }
        })
        .buffer_unordered(window.max(1));
    while let Some(result) = results.next().await {
        result?;
    }
    Ok(())
}

async fn list_pods(client: Client) -> Result<usize> {
    let pods: Api<Pod> = Api::all(client);
    let mut params = ListParams::default().limit(500);
    let mut count = 0;
    loop {
        let page = pods.list(&params).await?;
        count += page.items.len();
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(count),
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let number =
        |i: usize| -> Result<usize> { Ok(args.get(i).ok_or("missing a number")?.parse()?) };
    let usage = "usage: kube_floor KUBECONFIG create-sets|create-pods N CONCURRENCY | list-pods";
    let (Some(path), Some(command)) = (args.get(1), args.get(2)) else {
        return Err(usage.into());
    };
    let client = client(path).await?;
    match command.as_str() {
        "create-sets" => create_sets(client, number(3)?, number(4)?).await,
        "create-pods" => create_pods(client, number(3)?, number(4)?).await,
        "list-pods" => {
            println!("{}", list_pods(client).await?);
            Ok(())
        }
        _ => Err(usage.into()),
    }
}
