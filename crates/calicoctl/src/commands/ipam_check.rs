//! `calicoctl ipam check`: finds the Kubernetes API (the datastore's own on Kubernetes, else
//! `--kubeconfig` or `KUBECONFIG`, required even on etcd as in Calico), runs
//! `calico_ipam::check` with the cluster's Services, prints what it prints and writes the
//! report (`-o`).
//!
//! Not yet: on the Kubernetes datastore the IPAM model (blocks, handles) cannot be read until
//! calico-kube implements the backend's model operations, so there the check stops at `failed
//! to list IPAM blocks: …`.

use std::path::Path;

use calico_datastore::apiconfig::ApiConfigSpec;
use calico_ipam::check::{self, CheckOptions, ServiceInfo};
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, ListParams};

use super::version::CLIENT_VERSION;
use crate::cli::IpamCheckArgs;
use crate::clientmgr::{self, Connection};
use crate::report::Failure;

/// `ipam check`.
pub async fn run(args: &IpamCheckArgs, connection: &Connection) -> Result<String, Failure> {
    let kube = kube_client(args, connection).await?;
    let options = CheckOptions {
        show_all_ips: args.show_all_ips,
        show_problem_ips: args.show_problem_ips || args.show_all_ips,
        version: CLIENT_VERSION.to_string(),
    };
    let (outcome, unreadable) = check::check(&connection.client, options, services(kube))
        .await
        .map_err(|failure| Failure {
            stdout: failure.output,
            message: failure.error,
        })?;
    // Calico's list skips values it cannot decode without a word; we say so on stderr.
    for err in unreadable {
        eprintln!("warning: IPAM data left out of the check: {err}");
    }
    if !args.output.is_empty() {
        // Calico ignores a failure to write the report; we warn (the exit code stays 0).
        if let Err(err) = write_report(Path::new(&args.output), &outcome.report.to_json()) {
            eprintln!("warning: failed to write the report {}: {err}", args.output);
        }
    }
    Ok(outcome.output)
}

/// Writes the report with mode 0777 (before the umask), as Calico does.
fn write_report(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o777);
    options.open(path)?.write_all(bytes)
}

/// The client for the cluster's Services: the Kubernetes datastore's own settings, or on any
/// other datastore the kubeconfig `--kubeconfig` (else `KUBECONFIG`) names.
async fn kube_client(
    args: &IpamCheckArgs,
    connection: &Connection,
) -> Result<kube::Client, Failure> {
    let spec = if connection.client.info().datastore_type == "kubernetes" {
        clientmgr::load_config(&args.conn.config)
            .map_err(|err| Failure::message(err.to_string()))?
            .spec
    } else {
        let path = if args.kubeconfig.is_empty() {
            std::env::var("KUBECONFIG").unwrap_or_default()
        } else {
            args.kubeconfig.clone()
        };
        if path.is_empty() {
            return Err(Failure::message(
                "KUBECONFIG environment variable or --kubeconfig parameter not set",
            ));
        }
        ApiConfigSpec {
            kubeconfig: path,
            ..ApiConfigSpec::default()
        }
    };
    calico_kube::config::connect(&spec)
        .await
        .map(|connection| connection.client)
        .map_err(|err| Failure::message(err.to_string()))
}

/// Every Service in the cluster, as the check reads them.
async fn services(client: kube::Client) -> Result<Vec<ServiceInfo>, String> {
    let list = Api::<Service>::all(client)
        .list(&ListParams::default())
        .await
        .map_err(|err| err.to_string())?;
    Ok(list.items.iter().map(service_info).collect())
}

fn service_info(service: &Service) -> ServiceInfo {
    let spec = service.spec.as_ref();
    ServiceInfo {
        name: service.metadata.name.clone().unwrap_or_default(),
        service_type: spec.and_then(|s| s.type_.clone()).unwrap_or_default(),
        load_balancer_class: spec.and_then(|s| s.load_balancer_class.clone()),
        load_balancer_ip: spec
            .and_then(|s| s.load_balancer_ip.clone())
            .unwrap_or_default(),
        annotations: service.metadata.annotations.clone().unwrap_or_default(),
        ingress_ips: service
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .map(|ingress| {
                ingress
                    .iter()
                    .map(|i| i.ip.clone().unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default(),
    }
}
