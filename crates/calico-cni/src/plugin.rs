//! Calico's `calico-ipam` ADD and DEL over the IPAM library, step for step in Calico's order
//! (so that the same input fails with the same error first): the NetConf, the node name, the
//! datastore settings, the workload's identifiers and its `IP` argument, then the datastore.
//!
//! Concurrent ADDs on a node are not queued behind a host-wide lock as Calico's are: they go
//! through the host's allocation queue ([`calico_ipam::HostQueue`], a directory beside Calico's
//! lock file, `/var/run/calico/ipam-queue` by default, `CALICO_IPAM_QUEUE_DIR` to move it),
//! where whoever holds the queue allocates for every waiting ADD at once (and releases for every
//! waiting DEL). Calico's
//! `calico-ipam` does not consult the datastore's migration lock (its `calico` plugin does), so
//! neither does this one.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use calico_datastore::apiconfig::{self, ApiConfig, Environment};
use calico_datastore::client::Client;
use calico_ipam::assign::AllowedUse;
use calico_ipam::block::ReleaseOption;
use calico_ipam::{AssignIpArgs, AutoAssignArgs, AutoAssignOutcome, HostQueue, Ipam};
use ipnet::IpNet;

use crate::args::{self, Target};
use crate::error::CniError;
use crate::identity::{self, Identifiers};
use crate::netconf::NetConf;
use crate::result::AddResult;
use crate::skel::{CmdArgs, Plugin};

/// How long one ADD or DEL may spend on the datastore (Calico waits 90 s and then says only
/// `context deadline exceeded`).
pub const DATASTORE_DEADLINE: Duration = Duration::from_secs(30);

/// The process environment with the NetConf's datastore settings laid over it, as Calico's
/// CNI plugin sets them as environment variables before loading the client settings (so a
/// `CALICO_`-prefixed variable in the environment still wins, as in Calico).
pub struct NetConfEnvironment<'e> {
    overrides: BTreeMap<&'static str, String>,
    base: &'e dyn Fn(&str) -> Option<String>,
}

impl<'e> NetConfEnvironment<'e> {
    pub fn new(conf: &NetConf, base: &'e dyn Fn(&str) -> Option<String>) -> Self {
        let mut overrides = BTreeMap::new();
        let mut set = |name: &'static str, value: &str| {
            if !value.is_empty() {
                overrides.insert(name, value.to_string());
            }
        };
        set("ETCD_ENDPOINTS", &conf.etcd_endpoints);
        set("ETCD_DISCOVERY_SRV", &conf.etcd_discovery_srv);
        set("ETCD_KEY_FILE", &conf.etcd_key_file);
        set("ETCD_CERT_FILE", &conf.etcd_cert_file);
        set("ETCD_CA_CERT_FILE", &conf.etcd_ca_cert_file);
        set("DATASTORE_TYPE", &conf.datastore_type);
        set("KUBECONFIG", &conf.kubeconfig);
        set("K8S_API_ENDPOINT", &conf.k8s_api_root);
        // Calico sets K8S_API_TOKEN, which its client never reads; ours reads K8S_TOKEN.
        set("K8S_TOKEN", &conf.k8s_auth_token);
        set("CALICO_API_GROUP", &conf.calico_api_group);
        if conf.qps != 0 {
            set("K8S_CLIENT_QPS", &conf.qps.to_string());
        }
        if conf.burst != 0 {
            set("K8S_CLIENT_BURST", &conf.burst.to_string());
        }
        NetConfEnvironment { overrides, base }
    }
}

impl Environment for NetConfEnvironment<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.overrides
            .get(name)
            .cloned()
            .or_else(|| (self.base)(name))
    }
}

/// The datastore settings for `conf`, from the environment only (Calico's CNI plugin reads no
/// config file).
pub fn datastore_config(
    conf: &NetConf,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ApiConfig, CniError> {
    let environment = NetConfEnvironment::new(conf, env);
    let config = apiconfig::load(
        std::path::Path::new(apiconfig::DEFAULT_CONFIG_PATH),
        &environment,
        &|_| None,
    )
    .map_err(|e| CniError::internal(e.to_string()))?;
    Ok(config)
}

/// Calico's log levels for `log_level`: `debug`, `info`, `error` (any case); anything else is
/// `info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Error,
}

impl LogLevel {
    pub fn from_netconf(text: &str) -> LogLevel {
        match text.to_ascii_lowercase().as_str() {
            "debug" => LogLevel::Debug,
            "error" => LogLevel::Error,
            _ => LogLevel::Info,
        }
    }
}

/// Calico's IPAM plugin.
pub struct CalicoIpam {
    env: crate::Env,
    on_log_level: Box<dyn Fn(LogLevel)>,
}

impl CalicoIpam {
    /// The plugin reading settings from `env` (the process environment in the binary);
    /// `on_log_level` is told the configuration's log level once it is read.
    pub fn new(env: crate::Env, on_log_level: Box<dyn Fn(LogLevel)>) -> CalicoIpam {
        CalicoIpam { env, on_log_level }
    }
}

/// What both commands work out before touching the datastore.
struct Prepared {
    conf: NetConf,
    config: ApiConfig,
    ids: Identifiers,
    handle: String,
    /// The host's allocation queue.
    queue: HostQueue,
}

/// A name for the datastore `config` reaches, so that ADDs of networks on different datastores
/// never share a queue: FNV-1a of the datastore type and where it is (endpoints, kubeconfig,
/// API server, embedded file), never of credentials.
pub fn datastore_tag(config: &ApiConfig) -> String {
    let spec = &config.spec;
    let embedded = calico_connect::embedded_path(config);
    let place = [
        format!("{:?}", config.datastore_type),
        spec.etcd_endpoints.clone(),
        spec.etcd_discovery_srv.clone(),
        spec.kubeconfig.clone(),
        spec.k8s_api_endpoint.clone(),
        embedded.display().to_string(),
    ]
    .join("\n");
    let hash = place.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// Calico's default host-wide lock file.
pub const DEFAULT_LOCK_FILE: &str = "/var/run/calico/ipam.lock";

/// The host's allocation queue directory: `CALICO_IPAM_QUEUE_DIR`, else `ipam-queue` beside the
/// lock file the configuration names (Calico's default when it names none).
pub fn queue_dir(conf: &NetConf, env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(dir) = env("CALICO_IPAM_QUEUE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let lock = if conf.ipam_lock_file.is_empty() {
        DEFAULT_LOCK_FILE
    } else {
        conf.ipam_lock_file.as_str()
    };
    Path::new(lock)
        .parent()
        .unwrap_or(Path::new("/"))
        .join("ipam-queue")
}

fn prepare(plugin: &CalicoIpam, args: &CmdArgs) -> Result<Prepared, CniError> {
    let env = &*plugin.env;
    let conf = NetConf::parse(&args.stdin)
        .map_err(|e| CniError::internal(format!("failed to load netconf: {e}")))?;
    (plugin.on_log_level)(LogLevel::from_netconf(&conf.log_level));
    let node = identity::nodename(&conf);
    let config = datastore_config(&conf, env)?;
    let ids = Identifiers::from_args(&args.args, &args.container_id, &args.ifname, &node)
        .map_err(|e| CniError::internal(e.to_string()))?;
    let workload = ids.workload_endpoint_name().map_err(|e| {
        CniError::internal(format!("error constructing WorkloadEndpoint name: {e}"))
    })?;
    let handle = identity::handle_id(&conf.name, &args.container_id);
    tracing::info!(%workload, container_id = %args.container_id, %handle, "calico-ipam");
    let queue = HostQueue::new(queue_dir(&conf, env).join(datastore_tag(&config)));
    Ok(Prepared {
        conf,
        config,
        ids,
        handle,
        queue,
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, CniError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CniError::internal(format!("failed to start: {e}")))
}

/// Connects as `config` says, within the deadline.
async fn connect(config: &ApiConfig) -> Result<Client, CniError> {
    if config.embedded_by_default {
        tracing::warn!(
            path = %calico_connect::embedded_path(config).display(),
            "no datastore configured: using the embedded datastore"
        );
    }
    calico_connect::connect(config)
        .await
        .map_err(|e| CniError::internal(e.to_string()))
}

async fn within_deadline<T>(
    what: &str,
    work: impl std::future::Future<Output = Result<T, CniError>>,
) -> Result<T, CniError> {
    match tokio::time::timeout(DATASTORE_DEADLINE, work).await {
        Ok(result) => result,
        Err(_) => Err(CniError::internal(format!(
            "{what}: the datastore did not answer within {}s",
            DATASTORE_DEADLINE.as_secs()
        ))),
    }
}

/// Calico's `ResolvePools`: names and CIDRs to pool CIDRs of one family.
async fn resolve_pools(
    client: &Client,
    pools: &[String],
    v4: bool,
) -> Result<Vec<IpNet>, CniError> {
    if pools.is_empty() {
        return Ok(Vec::new());
    }
    let known = calico_ipam::query::pools(client)
        .await
        .map_err(|e| CniError::internal(e.to_string()))?;
    let mut out = Vec::new();
    for pool in pools {
        let cidr = match parse_go_cidr(pool) {
            Some(cidr) => cidr,
            None => {
                let found = known
                    .iter()
                    .filter(|p| p.metadata.name == *pool)
                    .map(|p| {
                        parse_go_cidr(&p.spec.cidr).ok_or_else(|| {
                            CniError::internal(format!(
                                "failed to parse IP pool cidr: invalid CIDR address: {}",
                                p.spec.cidr
                            ))
                        })
                    })
                    .next_back()
                    .transpose()?;
                found.ok_or_else(|| {
                    CniError::internal(format!(
                        "error parsing pool {}: invalid CIDR address: {pool}",
                        crate::goquote::quote(pool)
                    ))
                })?
            }
        };
        let network = cidr.network();
        if v4 && !network.is_ipv4() {
            return Err(CniError::internal(format!(
                "\"{network}\" isn't a IPv4 address"
            )));
        }
        if !v4 && network.is_ipv4() {
            return Err(CniError::internal(format!(
                "\"{network}\" isn't a IPv6 address"
            )));
        }
        out.push(cidr.trunc());
    }
    Ok(out)
}

/// Go's `net.ParseCIDR`, masked to its network.
fn parse_go_cidr(text: &str) -> Option<IpNet> {
    calico_api::validation::checks::go_parse_cidr(text).map(|net| net.trunc())
}

fn release_options(ips: &[IpNet]) -> Vec<ReleaseOption> {
    ips.iter()
        .map(|ip| ReleaseOption::address(ip.addr()))
        .collect()
}

async fn release_quietly(ipam: &Ipam, ips: &[IpNet], why: &str) {
    if ips.is_empty() {
        return;
    }
    tracing::info!(?ips, why, "releasing the addresses this ADD assigned");
    if let Err(e) = ipam.release_ips(&release_options(ips)).await {
        tracing::error!(?ips, error = %e, "failed to release the addresses this ADD assigned");
    }
}

async fn add(prepared: &Prepared, requested_ip: Option<IpAddr>) -> Result<AddResult, CniError> {
    let Prepared {
        conf,
        config,
        ids,
        handle,
        queue,
    } = prepared;
    let attrs = identity::attributes(ids, chrono::Utc::now());
    if let Some(ip) = requested_ip {
        let client = connect(config).await?;
        let ipam = Ipam::new(client);
        tracing::info!(%ip, "Calico CNI IPAM request IP");
        ipam.assign_ip(AssignIpArgs {
            ip,
            handle: Some(handle.clone()),
            attrs,
            hostname: ids.node.clone(),
            intended_use: Some(AllowedUse::Workload),
            host_reserved: None,
        })
        .await
        .map_err(|e| CniError::internal(e.to_string()))?;
        let bits = if ip.is_ipv4() { 32 } else { 128 };
        let net = IpNet::new(ip, bits).map_err(|e| CniError::internal(e.to_string()))?;
        return Ok(AddResult { ips: vec![net] });
    }
    let (num4, num6) = (conf.ipam.num4(), conf.ipam.num6());
    tracing::info!(num4, num6, "Calico CNI IPAM request count");
    // The datastore is reached only when this ADD needs it itself: to name pools, to read the
    // namespace, or to serve the host's queue (most ADDs of a burst are served by another).
    let needs_client = !conf.ipam.ipv4_pools.is_empty()
        || !conf.ipam.ipv6_pools.is_empty()
        || crate::namespace::wanted(conf, &ids.namespace);
    let mut client = if needs_client {
        Some(connect(config).await?)
    } else {
        None
    };
    let (v4_pools, v6_pools) = match &client {
        Some(client) => (
            resolve_pools(client, &conf.ipam.ipv4_pools, true).await?,
            resolve_pools(client, &conf.ipam.ipv6_pools, false).await?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    let namespace_labels = if crate::namespace::wanted(conf, &ids.namespace) {
        Some(crate::namespace::labels(conf, &ids.namespace).await?)
    } else {
        None
    };
    let request = AutoAssignArgs {
        num4,
        num6,
        handle: Some(handle.clone()),
        attrs,
        hostname: ids.node.clone(),
        ipv4_pools: v4_pools,
        ipv6_pools: v6_pools,
        max_blocks_per_host: usize::from(conf.windows_use_single_network),
        host_reserved: None,
        intended_use: AllowedUse::Workload,
        namespace_labels,
    };
    let early = client.take();
    let queued = queue
        .auto_assign_with(request.clone(), || async move {
            match early {
                Some(client) => Ok(Ipam::new(client)),
                None => connect(config)
                    .await
                    .map(Ipam::new)
                    .map_err(|e| e.to_string()),
            }
        })
        .await;
    let (assigned, ipam) = match queued {
        Ok(assigned) => (assigned, None),
        Err(calico_ipam::QueueError::Connect(message)) => {
            return Err(CniError::internal(message));
        }
        Err(err) => {
            // No usable queue directory (say, not root): allocate on our own.
            tracing::warn!(error = %err, "the host's allocation queue is unusable: allocating alone");
            let ipam = Ipam::new(connect(config).await?);
            (ipam.auto_assign(request).await, Some(ipam))
        }
    };
    // Releasing what a failed ADD got needs the datastore; connect only then.
    let ipam = match ipam {
        Some(ipam) => ipam,
        None if assigned.as_ref().is_ok_and(|o| fulfilled(o, num4, num6)) => {
            return finish(assigned, num4, num6, None).await;
        }
        None => Ipam::new(connect(config).await?),
    };
    finish(assigned, num4, num6, Some(&ipam)).await
}

/// Whether every family asked for got all its addresses.
fn fulfilled(outcome: &AutoAssignOutcome, num4: usize, num6: usize) -> bool {
    [(num4, &outcome.v4), (num6, &outcome.v6)]
        .iter()
        .all(|(wanted, got)| {
            *wanted == 0
                || got
                    .as_ref()
                    .is_some_and(|a| a.partial_fulfillment_error().is_none())
        })
}

/// The ADD's result from what the allocation gave; what a failed ADD got is released through
/// `ipam` (always given when the allocation fell short).
async fn finish(
    assigned: calico_ipam::AutoAssignResult,
    num4: usize,
    num6: usize,
    ipam: Option<&Ipam>,
) -> Result<AddResult, CniError> {
    let release = |ips: Vec<IpNet>, why: &'static str| async move {
        if let Some(ipam) = ipam {
            release_quietly(ipam, &ips, why).await;
        }
    };
    let outcome: AutoAssignOutcome = match assigned {
        Ok(outcome) => outcome,
        Err(failure) => {
            // Nothing half-allocated: what was assigned before the failure goes back.
            release(failure.partial.ips(), "the assignment failed").await;
            return Err(CniError::internal(failure.to_string()));
        }
    };
    tracing::info!(ips = ?outcome.ips(), "Calico CNI IPAM assigned addresses");
    let mut ips = Vec::new();
    for (wanted, assigned, family) in [(num4, &outcome.v4, "IPv4"), (num6, &outcome.v6, "IPv6")] {
        if wanted == 0 {
            continue;
        }
        let failure = match assigned {
            Some(assignments) => assignments.partial_fulfillment_error(),
            None => Some(format!(
                "Assigned 0 out of {wanted} requested {family} addresses"
            )),
        };
        if let Some(reason) = failure {
            release(outcome.ips(), "the other family could not be assigned").await;
            return Err(CniError::internal(format!(
                "failed to request {family} addresses: {reason}"
            )));
        }
        if let Some(first) = assigned.as_ref().and_then(|a| a.ips.first()) {
            ips.push(*first);
        }
    }
    Ok(AddResult { ips })
}

async fn del(prepared: &Prepared) -> Result<(), CniError> {
    let handles = [
        (prepared.handle.clone(), "handleID"),
        (prepared.ids.legacy_handle(), "workloadID"),
    ];
    let config = &prepared.config;
    // Through the host's queue, as ADDs: a burst of DELs is released block by block together,
    // and this process connects only if it serves the queue.
    let queued = prepared
        .queue
        .release_by_handles_with(
            handles.iter().map(|(h, _)| h.clone()).collect(),
            || async move {
                connect(config)
                    .await
                    .map(Ipam::new)
                    .map_err(|e| e.to_string())
            },
        )
        .await;
    let results = match queued {
        Ok(results) => results,
        Err(calico_ipam::QueueError::Connect(message)) => {
            return Err(CniError::internal(message));
        }
        Err(err) => {
            tracing::warn!(error = %err, "the host's allocation queue is unusable: releasing alone");
            let ipam = Ipam::new(connect(config).await?);
            let mut results = Vec::new();
            for (handle, _) in &handles {
                results.push(ipam.release_by_handle(handle).await);
            }
            results
        }
    };
    for ((handle, what), result) in handles.iter().zip(results) {
        tracing::info!(%handle, "Releasing address using {what}");
        match result {
            Ok(()) => tracing::info!(%handle, "Released address using {what}"),
            Err(e) if e.is_not_found() => {
                tracing::info!(%handle, "Asked to release address but it doesn't exist. Ignoring");
            }
            Err(e) => {
                tracing::error!(%handle, error = %e, "Failed to release address");
                return Err(CniError::internal(e.to_string()));
            }
        }
    }
    Ok(())
}

impl Plugin for CalicoIpam {
    fn add(&self, args: &CmdArgs) -> Result<Vec<u8>, CniError> {
        let prepared = prepare(self, args)?;
        let ipam_args =
            args::load(&args.args, Target::Ipam).map_err(|e| CniError::internal(e.to_string()))?;
        let result = runtime()?.block_on(within_deadline(
            "assigning an address",
            add(&prepared, ipam_args.ip),
        ))?;
        result.render(&prepared.conf.cni_version)
    }

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        let prepared = prepare(self, args)?;
        runtime()?.block_on(within_deadline("releasing addresses", del(&prepared)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_parse_as_go_parses_them() {
        assert_eq!(parse_go_cidr("10.0.0.5/16"), "10.0.0.0/16".parse().ok());
        assert_eq!(parse_go_cidr("fd00::1/64"), "fd00::/64".parse().ok());
        assert_eq!(parse_go_cidr("pool-a"), None);
        assert_eq!(parse_go_cidr("10.0.0.0/33"), None);
        assert_eq!(parse_go_cidr("10.0.0.0/+8"), None);
    }

    #[test]
    fn netconf_settings_override_the_environment_but_not_calico_prefixed_ones(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let conf = NetConf::parse(
            br#"{"name":"n","datastore_type":"etcdv3","etcd_endpoints":"http://conf:2379"}"#,
        )?;
        let env = |name: &str| match name {
            "ETCD_ENDPOINTS" => Some("http://env:2379".to_string()),
            "CALICO_ETCD_ENDPOINTS" => Some("http://prefixed:2379".to_string()),
            _ => None,
        };
        let config = datastore_config(&conf, &env)?;
        assert_eq!(config.spec.etcd_endpoints, "http://prefixed:2379");
        let plain = |name: &str| (name == "ETCD_ENDPOINTS").then(|| "http://env:2379".to_string());
        let config = datastore_config(&conf, &plain)?;
        assert_eq!(config.spec.etcd_endpoints, "http://conf:2379");
        Ok(())
    }
}
