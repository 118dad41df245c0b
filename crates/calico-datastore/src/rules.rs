//! Kind-specific rules of Calico's client, applied around every write and read
//! (`libcalico-go/lib/clientv3/<kind>.go`).

use calico_api::AnyResource;

use crate::client::Client;
use crate::codec::DEFAULT_ALLOW_PROFILE;
use crate::error::{DatastoreError, Result};
use crate::init::BUILTIN_TIERS;
use crate::key::{KindRef, ListOptions, ResourceKey};

/// Policy kinds that live in a tier.
const TIERED_KINDS: &[&str] = &[
    "GlobalNetworkPolicy",
    "NetworkPolicy",
    "StagedGlobalNetworkPolicy",
    "StagedNetworkPolicy",
];

fn kind(name: &str) -> Result<KindRef> {
    KindRef::lookup(name)
        .ok_or_else(|| DatastoreError::Store(format!("kind {name} is not registered")))
}

/// The tier a policy lives in (`None` for kinds that are not tiered); empty means `default`.
fn policy_tier(resource: &AnyResource) -> Option<&str> {
    match resource {
        AnyResource::NetworkPolicy(p) => Some(&p.spec.tier),
        AnyResource::GlobalNetworkPolicy(p) => Some(&p.spec.tier),
        AnyResource::StagedNetworkPolicy(p) => Some(&p.spec.tier),
        AnyResource::StagedGlobalNetworkPolicy(p) => Some(&p.spec.tier),
        _ => None,
    }
}

/// The node a node-scoped resource belongs to (`None` for other kinds).
fn owning_node(resource: &AnyResource) -> Option<&str> {
    match resource {
        AnyResource::WorkloadEndpoint(r) => Some(&r.spec.node),
        AnyResource::HostEndpoint(r) => Some(&r.spec.node),
        AnyResource::BGPPeer(r) => Some(&r.spec.node),
        _ => None,
    }
}

/// Calico's client refuses every write of its built-in profile, naming it by its bare name.
fn refuse_default_allow(operation: &str) -> DatastoreError {
    DatastoreError::OperationNotSupported {
        operation: operation.into(),
        identifier: DEFAULT_ALLOW_PROFILE.into(),
        reason: Some(format!(
            "The profile \"{DEFAULT_ALLOW_PROFILE}\" is a default provided by Calico and cannot be {}d",
            operation.to_lowercase()
        )),
    }
}

/// Refuses a create or update of the built-in profile before anything else is checked, as
/// Calico's client does (a create is reported as the profile already existing).
pub fn check_default_allow(resource: &AnyResource, creating: bool) -> Result<()> {
    if resource.kind() != "Profile" || resource.metadata().name != DEFAULT_ALLOW_PROFILE {
        return Ok(());
    }
    if creating {
        return Err(DatastoreError::AlreadyExists {
            key: ResourceKey::of(resource),
            identifier: Some(DEFAULT_ALLOW_PROFILE.into()),
            cause: Some(format!(
                "{DEFAULT_ALLOW_PROFILE} already exists. The profile \"{DEFAULT_ALLOW_PROFILE}\" is default provided by Calico"
            )),
        });
    }
    Err(refuse_default_allow("Update"))
}

/// Checks and adjustments before a create (`creating`) or an update reaches the backend.
pub async fn before_write(
    client: &Client,
    resource: &mut AnyResource,
    creating: bool,
) -> Result<()> {
    check_default_allow(resource, creating)?;
    if let (true, Some(tier)) = (creating, policy_tier(resource)) {
        // The tier must exist before a policy can be put in it.
        let tier = if tier.is_empty() { "default" } else { tier };
        if !client.tier_known(tier) {
            client
                .get(&ResourceKey::new(kind("Tier")?, "", tier))
                .await?;
            client.remember_tier(tier);
        }
    }
    match resource {
        AnyResource::IPPool(pool) => check_ippool(client, pool, creating).await,
        AnyResource::BGPPeer(peer) => check_bgp_filters_exist(client, &peer.spec.filters).await,
        _ => Ok(()),
    }
}

/// A new pool may not overlap another; an existing pool keeps its CIDR and block size.
async fn check_ippool(client: &Client, pool: &calico_api::IPPool, creating: bool) -> Result<()> {
    if creating {
        let existing: Vec<calico_api::IPPool> = client
            .list(&ListOptions::all(kind("IPPool")?))
            .await?
            .items
            .into_iter()
            .filter_map(|item| match item {
                AnyResource::IPPool(other) => Some(*other),
                _ => None,
            })
            .collect();
        calico_api::ippool_overlap(pool, &existing)?;
    } else if let Ok(AnyResource::IPPool(old)) =
        client.get(&ResourceKey::of(&pool.clone().into())).await
    {
        calico_api::validate_ippool_update(&old, pool)?;
    }
    Ok(())
}

/// A BGP peer may only name filters that exist.
async fn check_bgp_filters_exist(client: &Client, filters: &[String]) -> Result<()> {
    if filters.is_empty() {
        return Ok(());
    }
    let filter_kind = kind("BGPFilter")?;
    let mut missing = Vec::new();
    for name in filters {
        match client
            .get(&ResourceKey::new(filter_kind, "", name.clone()))
            .await
        {
            Ok(_) => {}
            Err(err) if err.is_not_found() => missing.push(name.clone()),
            Err(err) => return Err(err),
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(DatastoreError::Validation(
        calico_api::ValidationError::single(
            "spec.filters",
            Some(missing.join(", ")),
            "BGPFilter(s) not found",
        ),
    ))
}

/// Checks (and Calico's cascades) before a delete of `key`, only at `revision` when one is
/// given. Returns the revision the delete itself must be conditional on (a pool disabled first
/// is then deleted unconditionally, as Calico does). Nothing is written when the delete is
/// refused.
pub async fn before_delete(
    client: &Client,
    key: &ResourceKey,
    revision: Option<&str>,
) -> Result<Option<String>> {
    let revision = revision.filter(|r| !r.is_empty());
    if key.kind.kind() == "Tier" {
        client.forget_tier(&key.name);
    }
    check_delete(client, key).await?;
    match key.kind.kind() {
        "Node" => {
            // Calico removes the node's dependents before its own conditional delete can fail;
            // a stale revision is refused here first, so a refused delete changes nothing.
            if let Some(expected) = revision {
                check_current_revision(client, key, expected).await?;
            }
            delete_node_dependents(client, &key.name).await?;
        }
        "IPPool" => {
            let disabled_here = disable_pool_before_delete(client, key, revision).await?;
            release_pool_affinities(client, key).await?;
            if disabled_here {
                return Ok(None);
            }
        }
        _ => {}
    }
    Ok(revision.map(String::from))
}

/// The refusals of a delete that change nothing: Calico's built-in profile, built-in and
/// non-empty tiers (also what a dry-run delete checks).
pub async fn check_delete(client: &Client, key: &ResourceKey) -> Result<()> {
    match key.kind.kind() {
        "Profile" if key.name == DEFAULT_ALLOW_PROFILE => Err(refuse_default_allow("Delete")),
        "Tier" => check_tier_deletable(client, key).await,
        _ => Ok(()),
    }
}

/// Fails with the conflict a conditional write would report when `key` is not at `expected`.
/// A missing resource is left for the delete itself to report.
async fn check_current_revision(client: &Client, key: &ResourceKey, expected: &str) -> Result<()> {
    match client.get(key).await {
        Ok(current) if current.metadata().resource_version != expected => {
            Err(DatastoreError::UpdateConflict {
                key: key.clone(),
                detail: Some(format!(
                    "latest revision is {}",
                    current.metadata().resource_version
                )),
            })
        }
        Ok(_) => Ok(()),
        Err(err) if err.is_not_found() => Ok(()),
        Err(err) => Err(err),
    }
}

/// How long Calico lets IPAM users notice a disabled pool before the pool goes away.
const POOL_DISABLE_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// Calico disables a pool and waits before deleting it, so that nothing allocates from it while
/// it goes (releasing its block affinities belongs to the IPAM layer). The disabling update is
/// made at the delete's `revision` when one is given, so a stale one is refused before anything
/// is written. Returns whether the pool was disabled here.
async fn disable_pool_before_delete(
    client: &Client,
    key: &ResourceKey,
    revision: Option<&str>,
) -> Result<bool> {
    let Ok(AnyResource::IPPool(mut pool)) = client.get(key).await else {
        // A missing pool is reported by the delete itself.
        return Ok(false);
    };
    if pool.spec.disabled {
        return Ok(false);
    }
    pool.spec.disabled = true;
    if let Some(revision) = revision {
        pool.metadata.resource_version = revision.to_string();
    }
    client.update((*pool).into()).await?;
    tokio::time::sleep(POOL_DISABLE_GRACE).await;
    Ok(true)
}

/// Releases the block affinities inside the pool's CIDR through the attached IPAM layer, as
/// Calico does before deleting a pool (whether or not it was already disabled).
async fn release_pool_affinities(client: &Client, key: &ResourceKey) -> Result<()> {
    let Some(ipam) = client.ipam() else {
        return Ok(());
    };
    let Ok(AnyResource::IPPool(pool)) = client.get(key).await else {
        // A missing pool is reported by the delete itself.
        return Ok(());
    };
    if pool.spec.cidr.parse::<ipnet::IpNet>().is_err() {
        return Ok(());
    }
    passable(ipam.release_pool_affinities(client, &pool.spec.cidr).await)
}

async fn check_tier_deletable(client: &Client, key: &ResourceKey) -> Result<()> {
    if BUILTIN_TIERS.iter().any(|(name, _, _)| *name == key.name) {
        return Err(DatastoreError::OperationNotSupported {
            operation: "Delete".into(),
            identifier: key.name.clone(),
            reason: Some(format!("Cannot delete {} tier", key.name)),
        });
    }
    for policy_kind in TIERED_KINDS {
        let list = client.list(&ListOptions::all(kind(policy_kind)?)).await?;
        if list
            .items
            .iter()
            .any(|p| policy_tier(p) == Some(key.name.as_str()))
        {
            return Err(DatastoreError::OperationNotSupported {
                operation: "delete".into(),
                identifier: key.name.clone(),
                reason: Some("Cannot delete a non-empty tier".into()),
            });
        }
    }
    Ok(())
}

/// Deleting a Node removes what belongs to it, in the order of Calico's `clientv3/node.go`:
/// the addresses of its workload endpoints and its IPv4 tunnel addresses are released (IPAM),
/// its workload endpoints deleted, its IPAM host data and block affinities removed (IPAM), then
/// its node-scoped BGP peers, its `node.<name>` Felix and BGP configurations and its host
/// endpoints deleted. The IPAM steps need an attached [`crate::client::IpamCascade`]; a
/// missing resource or an IPAM layer that does not support the datastore is passed over. The
/// dependents have no delete rules of their own, so they go straight to the backend.
async fn delete_node_dependents(client: &Client, node: &str) -> Result<()> {
    let endpoints = match kind("WorkloadEndpoint") {
        Ok(wep_kind) => client.list(&ListOptions::all(wep_kind)).await?.items,
        Err(_) => Vec::new(),
    };
    let endpoints: Vec<&AnyResource> = endpoints
        .iter()
        .filter(|r| owning_node(r) == Some(node))
        .collect();
    if let Some(ipam) = client.ipam() {
        let mut ips: Vec<std::net::IpAddr> = endpoints
            .iter()
            .flat_map(|r| match r {
                AnyResource::WorkloadEndpoint(wep) => wep.spec.ip_networks.clone(),
                _ => Vec::new(),
            })
            .filter_map(|net| parse_cidr_or_ip(&net))
            .collect();
        match client
            .get(&ResourceKey::new(kind("Node")?, "", node.to_string()))
            .await
        {
            Ok(AnyResource::Node(found)) => ips.extend(
                tunnel_addresses(&found.spec)
                    .into_iter()
                    .filter_map(parse_cidr_or_ip),
            ),
            Ok(_) => {}
            Err(err) if err.is_not_found() => {}
            Err(err) => return Err(err),
        }
        if !ips.is_empty() {
            passable(ipam.release_ips(client, &ips).await)?;
        }
    }
    for endpoint in &endpoints {
        ignore_missing(
            client
                .backend()
                .delete(&ResourceKey::of(endpoint), None)
                .await,
        )?;
    }
    if let Some(ipam) = client.ipam() {
        passable(ipam.remove_host(client, node).await)?;
    }
    delete_owned(client, "BGPPeer", node).await?;
    for config in ["FelixConfiguration", "BGPConfiguration"] {
        if let Ok(config_kind) = kind(config) {
            let key = ResourceKey::new(config_kind, "", format!("node.{node}"));
            ignore_missing(client.backend().delete(&key, None).await)?;
        }
    }
    delete_owned(client, "HostEndpoint", node).await
}

/// Deletes every resource of `dependent` kind that belongs to `node`.
async fn delete_owned(client: &Client, dependent: &str, node: &str) -> Result<()> {
    let Ok(dependent_kind) = kind(dependent) else {
        return Ok(());
    };
    let list = client.list(&ListOptions::all(dependent_kind)).await?;
    for item in list.items.iter().filter(|r| owning_node(r) == Some(node)) {
        ignore_missing(client.backend().delete(&ResourceKey::of(item), None).await)?;
    }
    Ok(())
}

/// The node's IPv4 tunnel addresses Calico releases with it (IPIP, VXLAN, WireGuard; Calico
/// leaves the IPv6 ones to kube-controllers' garbage collection).
fn tunnel_addresses(spec: &calico_api::NodeSpec) -> Vec<&str> {
    let mut addresses = Vec::new();
    if let Some(bgp) = &spec.bgp {
        addresses.push(bgp.ipv4_ipip_tunnel_addr.as_str());
    }
    addresses.push(spec.ipv4_vxlan_tunnel_addr.as_str());
    if let Some(wireguard) = &spec.wireguard {
        addresses.push(wireguard.interface_ipv4_address.as_str());
    }
    addresses.retain(|a| !a.is_empty());
    addresses
}

/// An address written as an address or a CIDR (Calico's `ParseCIDROrIP`); unparsable text is
/// skipped, as Calico logs and skips it.
fn parse_cidr_or_ip(text: impl AsRef<str>) -> Option<std::net::IpAddr> {
    let text = text.as_ref();
    text.split_once('/')
        .map_or(text, |(address, _)| address)
        .parse()
        .ok()
}

/// The IPAM steps of a cascade pass over a missing resource and over a datastore the IPAM
/// layer does not support, as Calico's do.
fn passable(result: Result<()>) -> Result<()> {
    match result {
        Err(DatastoreError::OperationNotSupported { .. }) => Ok(()),
        Err(err) if err.is_not_found() => Ok(()),
        other => other,
    }
}

fn ignore_missing(result: Result<AnyResource>) -> Result<()> {
    match result {
        Ok(_) => Ok(()),
        Err(err) if err.is_not_found() => Ok(()),
        Err(err) => Err(err),
    }
}

/// What Calico's client does to a resource it read by name (and to what create, update and
/// delete return): a policy without the tier label gets `projectcalico.org/tier: default`, a
/// pool gets its storage defaults ([`calico_api::ippool::apply_storage_defaults`]). Nothing
/// else: Calico prints what is stored.
pub fn after_get(mut resource: AnyResource) -> AnyResource {
    match &mut resource {
        AnyResource::IPPool(pool) => calico_api::ippool::apply_storage_defaults(pool),
        other if policy_tier(other).is_some() => {
            other
                .metadata_mut()
                .labels
                .entry(calico_api::policy::TIER_LABEL.to_string())
                .or_insert_with(|| "default".to_string());
        }
        _ => {}
    }
    resource
}

/// What Calico's client does to every resource of a list: as [`after_get`], and a Tier without
/// `order` or `defaultAction` gets the defaults (Calico's client does this in `List` only).
pub fn after_list(resource: AnyResource) -> AnyResource {
    let mut resource = after_get(resource);
    if let AnyResource::Tier(tier) = &mut resource {
        tier.apply_defaults();
    }
    resource
}
