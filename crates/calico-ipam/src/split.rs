//! Splitting an IP pool into `2^k` equal pools, as `calicoctl ipam split` does
//! (`calicoctl/commands/ipam/split.go`): the datastore must be locked, the old pool is disabled,
//! the new pools (`split-<name>-<i>`, copies of the old one with the smaller CIDRs) are created
//! without the overlap check, then the old pool is removed without releasing its block
//! affinities. Error texts are Calico's, because calicoctl prints them verbatim.

use calico_api::{AnyResource, IPPool};
use calico_datastore::client::Client;
use calico_datastore::{DatastoreError, KindRef, ListOptions, ResourceKey};
use ipnet::IpNet;

/// Which pool to split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PoolRef {
    /// The pool with this name.
    Name(String),
    /// The pool whose `spec.cidr` is exactly this text.
    Cidr(String),
}

/// What a split did.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitOutcome {
    /// The name of the pool that was split (and is gone).
    pub old_name: String,
    /// The pools created, in CIDR order.
    pub created: Vec<IPPool>,
}

/// Why a split failed, worded as Calico's calicoctl words it.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    #[error("no name or CIDR provided. Provide a name or CIDR to denote the IP pool to split")]
    NoPoolGiven,
    #[error(
        "error while checking if datastore was locked: error retrieving ClusterInformation: {0}"
    )]
    CheckLocked(#[source] DatastoreError),
    #[error("datastore is not locked. Run the `calicoctl datastore migrate lock` command in order split the IP pools")]
    NotLocked,
    #[error("unable to find IP pool with name {name}: {source}")]
    GetPool {
        name: String,
        #[source]
        source: DatastoreError,
    },
    #[error("unable to list IP pools to find the pool specified by {0}")]
    ListPools(String, #[source] DatastoreError),
    #[error("unable to find IP pool {name} covering the specified CIDR {cidr}")]
    PoolNotFound { name: String, cidr: String },
    /// Calico names the CIDR argument here (empty when the pool was named).
    #[error("error disabling IP pool {cidr}")]
    Disable {
        cidr: String,
        #[source]
        source: DatastoreError,
    },
    #[error("error splitting the CIDR {cidr} into {parts} CIDRs: {reason}")]
    Split {
        cidr: String,
        parts: u64,
        reason: CidrSplitError,
    },
    #[error("error using unsafe create to make split pool with cidr {cidr}: {source}")]
    Create {
        cidr: String,
        #[source]
        source: DatastoreError,
    },
    #[error("error removing the IP pool that was split {name}: {source}")]
    Remove {
        name: String,
        #[source]
        source: DatastoreError,
    },
}

/// Why a CIDR cannot be split into the asked number of parts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CidrSplitError {
    #[error("number to split CIDR into is not a valid power of 2: {0}")]
    NotPowerOfTwo(u64),
    #[error("error reading CIDR {0} before attempting to split it")]
    BadCidr(String),
    #[error("the CIDR {cidr} is not large enough to be split into {parts} parts")]
    TooSmall { cidr: String, parts: u64 },
}

/// Splits `cidr` into `parts` equal CIDRs (a power of two, at least 2), in address order.
/// Host bits of `cidr` are ignored, as Calico masks them.
pub fn split_cidr(cidr: &str, parts: u64) -> Result<Vec<IpNet>, CidrSplitError> {
    if parts < 2 || !parts.is_power_of_two() {
        return Err(CidrSplitError::NotPowerOfTwo(parts));
    }
    let net: IpNet = cidr
        .parse()
        .map_err(|_| CidrSplitError::BadCidr(cidr.to_string()))?;
    let net = net.trunc();
    let power = u8::try_from(parts.trailing_zeros()).unwrap_or(u8::MAX);
    let new_prefix = net
        .prefix_len()
        .checked_add(power)
        .filter(|p| *p <= net.max_prefix_len())
        .ok_or_else(|| CidrSplitError::TooSmall {
            cidr: cidr.to_string(),
            parts,
        })?;
    let subnets = net
        .subnets(new_prefix)
        .map_err(|_| CidrSplitError::TooSmall {
            cidr: cidr.to_string(),
            parts,
        })?;
    Ok(subnets.collect())
}

fn ippool_kind() -> Result<KindRef, DatastoreError> {
    KindRef::lookup("IPPool")
        .ok_or_else(|| DatastoreError::Store("kind IPPool is not registered".into()))
}

fn as_pool(resource: AnyResource) -> Result<IPPool, DatastoreError> {
    match resource {
        AnyResource::IPPool(pool) => Ok(*pool),
        other => Err(DatastoreError::Store(format!(
            "expected an IPPool, read a {}",
            other.kind()
        ))),
    }
}

/// The name Calico gives the `index`th pool split from `old`: `split-<old>-<index>`, the old
/// name cut to 245 bytes when the result would pass 253.
fn split_name(old: &str, index: usize) -> String {
    let name = format!("split-{old}-{index}");
    if name.len() <= 253 {
        return name;
    }
    let mut cut = 245.min(old.len());
    while !old.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("split-{}-{index}", &old[..cut])
}

/// Splits a pool into `parts` smaller pools (see the module documentation).
pub async fn split_pool(
    client: &Client,
    pool: &PoolRef,
    parts: u64,
) -> Result<SplitOutcome, SplitError> {
    let (name_arg, cidr_arg) = match pool {
        PoolRef::Name(name) if !name.is_empty() => (name.as_str(), ""),
        PoolRef::Cidr(cidr) if !cidr.is_empty() => ("", cidr.as_str()),
        _ => return Err(SplitError::NoPoolGiven),
    };
    if !client
        .datastore_locked()
        .await
        .map_err(SplitError::CheckLocked)?
    {
        return Err(SplitError::NotLocked);
    }
    let kind = ippool_kind().map_err(|e| SplitError::ListPools(cidr_arg.into(), e))?;
    let old =
        if !name_arg.is_empty() {
            let key = ResourceKey::new(kind, "", name_arg);
            Some(client.get(&key).await.and_then(as_pool).map_err(|source| {
                SplitError::GetPool {
                    name: name_arg.into(),
                    source,
                }
            })?)
        } else {
            let list = client
                .list(&ListOptions::all(kind))
                .await
                .map_err(|e| SplitError::ListPools(cidr_arg.into(), e))?;
            // Calico keeps the last pool with that exact CIDR text.
            list.items
                .into_iter()
                .filter_map(|item| as_pool(item).ok())
                .rfind(|p| p.spec.cidr == cidr_arg)
        };
    let Some(mut old) = old else {
        return Err(SplitError::PoolNotFound {
            name: name_arg.into(),
            cidr: cidr_arg.into(),
        });
    };

    old.spec.disabled = true;
    let old = client
        .update(old.into())
        .await
        .and_then(as_pool)
        .map_err(|source| SplitError::Disable {
            cidr: cidr_arg.into(),
            source,
        })?;

    let cidrs = split_cidr(&old.spec.cidr, parts).map_err(|reason| SplitError::Split {
        cidr: old.spec.cidr.clone(),
        parts,
        reason,
    })?;

    let mut created = Vec::with_capacity(cidrs.len());
    for (index, cidr) in cidrs.iter().enumerate() {
        let mut new = old.clone();
        new.metadata.uid.clear();
        new.metadata.resource_version.clear();
        new.metadata.generation = 0;
        new.metadata.creation_timestamp = None;
        new.metadata.name = split_name(&old.metadata.name, index);
        new.metadata.generate_name.clear();
        new.spec.cidr = cidr.to_string();
        new.spec.disabled = false;
        client
            .create_unchecked(new.clone().into())
            .await
            .map_err(|source| SplitError::Create {
                cidr: new.spec.cidr.clone(),
                source,
            })?;
        created.push(new);
    }

    // Calico's UnsafeDelete: the pool is already disabled, so this is a plain delete that
    // leaves the pool's block affinities alone.
    let key = ResourceKey::new(kind, "", old.metadata.name.clone());
    client
        .backend()
        .delete(&key, None)
        .await
        .map_err(|source| SplitError::Remove {
            name: old.metadata.name.clone(),
            source,
        })?;
    Ok(SplitOutcome {
        old_name: old.metadata.name,
        created,
    })
}

#[cfg(test)]
mod tests;
