//! Where Calico's etcd backend keeps the IPAM model (`libcalico-go/lib/backend/model`:
//! `BlockKey`, `BlockAffinityKey`, `IPAMHandleKey`, `IPAMConfigKey`), and the list options that
//! select them.
//!
//! A CIDR in a key is the masked prefix in canonical form with its first `/` replaced by `-`
//! (`10.244.0.0-26`, `fd00:10:244::-122`); parsing turns the first `-` back into `/`, reads the
//! prefix as Go's `netip.ParsePrefix` does and masks it. Parsing never fails loudly: a path
//! that is not a key of the kind asked for is `None`, as Calico's `KeyFromDefaultPath` returns
//! nil.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

/// Prefix of every IPAM key.
pub const IPAM_ROOT: &str = "/calico/ipam/v2/";

/// The IPAM configuration's key.
pub const IPAM_CONFIG_PATH: &str = "/calico/ipam/v2/config";

/// An address family, as the `ipv4`/`ipv6` segment of a key names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpVersion {
    V4,
    V6,
}

impl IpVersion {
    /// The family of a prefix (an IPv4-mapped IPv6 prefix is IPv6, as for Go's `netip`).
    pub fn of(cidr: &IpNet) -> Self {
        match cidr {
            IpNet::V4(_) => IpVersion::V4,
            IpNet::V6(_) => IpVersion::V6,
        }
    }

    /// `4` or `6`.
    pub fn number(self) -> u8 {
        match self {
            IpVersion::V4 => 4,
            IpVersion::V6 => 6,
        }
    }
}

/// What a block affinity ties a block to: a node (`host`) or a virtual owner such as the
/// LoadBalancer controller (`virtual`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AffinityType {
    #[default]
    Host,
    Virtual,
    /// Calico's key pattern also accepts `@` as the type segment; no current code writes it.
    At,
}

impl AffinityType {
    /// The key segment (and the prefix of a block's `affinity`).
    pub fn as_str(self) -> &'static str {
        match self {
            AffinityType::Host => "host",
            AffinityType::Virtual => "virtual",
            AffinityType::At => "@",
        }
    }

    fn parse(segment: &str) -> Option<Self> {
        match segment {
            "host" => Some(AffinityType::Host),
            "virtual" => Some(AffinityType::Virtual),
            "@" => Some(AffinityType::At),
            _ => None,
        }
    }
}

impl fmt::Display for AffinityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An allocation block, by its CIDR (always masked).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockKey {
    cidr: IpNet,
}

impl BlockKey {
    /// The key of the block `cidr` (masked, as Calico masks it).
    pub fn new(cidr: IpNet) -> Self {
        BlockKey { cidr: cidr.trunc() }
    }

    pub fn cidr(&self) -> IpNet {
        self.cidr
    }
}

/// A block's affinity to a host (or virtual owner).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockAffinityKey {
    cidr: IpNet,
    pub host: String,
    pub affinity_type: AffinityType,
}

impl BlockAffinityKey {
    /// The affinity of `host` (of type `affinity_type`) for the block `cidr` (masked).
    pub fn new(cidr: IpNet, host: impl Into<String>, affinity_type: AffinityType) -> Self {
        BlockAffinityKey {
            cidr: cidr.trunc(),
            host: host.into(),
            affinity_type,
        }
    }

    pub fn cidr(&self) -> IpNet {
        self.cidr
    }
}

/// An allocation handle, by its ID (case kept: etcd keys are case-sensitive).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HandleKey {
    pub handle_id: String,
}

impl HandleKey {
    pub fn new(handle_id: impl Into<String>) -> Self {
        HandleKey {
            handle_id: handle_id.into(),
        }
    }
}

/// Which kind of IPAM object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModelKind {
    Block,
    BlockAffinity,
    Handle,
    Config,
}

impl ModelKind {
    /// The Go model type's name (for messages).
    pub fn go_name(self) -> &'static str {
        match self {
            ModelKind::Block => "AllocationBlock",
            ModelKind::BlockAffinity => "BlockAffinity",
            ModelKind::Handle => "IPAMHandle",
            ModelKind::Config => "IPAMConfig",
        }
    }
}

/// One stored IPAM object's key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModelKey {
    Block(BlockKey),
    BlockAffinity(BlockAffinityKey),
    Handle(HandleKey),
    /// The singleton IPAM configuration.
    Config,
}

impl ModelKey {
    pub fn kind(&self) -> ModelKind {
        match self {
            ModelKey::Block(_) => ModelKind::Block,
            ModelKey::BlockAffinity(_) => ModelKind::BlockAffinity,
            ModelKey::Handle(_) => ModelKind::Handle,
            ModelKey::Config => ModelKind::Config,
        }
    }

    /// Calico's etcd key.
    pub fn default_path(&self) -> String {
        match self {
            ModelKey::Block(key) => format!(
                "{IPAM_ROOT}assignment/ipv{}/block/{}",
                IpVersion::of(&key.cidr).number(),
                cidr_segment(&key.cidr)
            ),
            ModelKey::BlockAffinity(key) => format!(
                "{IPAM_ROOT}{}/{}/ipv{}/block/{}",
                key.affinity_type,
                key.host,
                IpVersion::of(&key.cidr).number(),
                cidr_segment(&key.cidr)
            ),
            ModelKey::Handle(key) => format!("{IPAM_ROOT}handle/{}", key.handle_id),
            ModelKey::Config => IPAM_CONFIG_PATH.to_string(),
        }
    }

    /// The key stored at `path`, of any of the four kinds; `None` for anything else.
    pub fn from_path(path: &str) -> Option<ModelKey> {
        parse_block(path)
            .or_else(|| parse_affinity(path))
            .or_else(|| parse_handle(path))
            .or_else(|| is_config(path).then_some(ModelKey::Config))
    }

    /// Checks that the key can be written (Calico's `ErrorInsufficientIdentifiers` cases, and
    /// segments that would change the key's shape); the reason when it cannot.
    pub fn check_writable(&self) -> Result<(), String> {
        let segment_ok = |s: &str| !s.is_empty() && !s.contains('/');
        match self {
            ModelKey::BlockAffinity(key) if !segment_ok(&key.host) => Err(format!(
                "invalid host {:?} in a block affinity key",
                key.host
            )),
            ModelKey::Handle(key) if !segment_ok(&key.handle_id) => {
                Err(format!("invalid handle ID {:?}", key.handle_id))
            }
            _ => Ok(()),
        }
    }
}

/// Calico's `String()` of the key, which its errors print (`BlockKey(cidr=10.0.0.0/26)`).
impl fmt::Display for ModelKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelKey::Block(key) => write!(f, "BlockKey(cidr={})", key.cidr),
            ModelKey::BlockAffinity(key) => write!(
                f,
                "BlockAffinityKey(cidr={}, host={}, affinityType={})",
                key.cidr, key.host, key.affinity_type
            ),
            ModelKey::Handle(key) => write!(f, "IPAMHandleKey(id={})", key.handle_id),
            ModelKey::Config => f.write_str("IPAMConfigKey()"),
        }
    }
}

impl From<BlockKey> for ModelKey {
    fn from(key: BlockKey) -> Self {
        ModelKey::Block(key)
    }
}

impl From<BlockAffinityKey> for ModelKey {
    fn from(key: BlockAffinityKey) -> Self {
        ModelKey::BlockAffinity(key)
    }
}

impl From<HandleKey> for ModelKey {
    fn from(key: HandleKey) -> Self {
        ModelKey::Handle(key)
    }
}

/// Which stored IPAM objects a list returns (Calico's `BlockListOptions`,
/// `BlockAffinityListOptions`, `IPAMHandleListOptions`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelListOptions {
    /// Every block, or those of one family.
    Blocks { ip_version: Option<IpVersion> },
    /// Affinities of one type (Calico's etcd driver lists `host` when none is named), for
    /// every host or one, of both families or one.
    BlockAffinities {
        affinity_type: AffinityType,
        host: Option<String>,
        ip_version: Option<IpVersion>,
    },
    /// Every handle.
    Handles,
}

impl ModelListOptions {
    /// Every block.
    pub fn all_blocks() -> Self {
        ModelListOptions::Blocks { ip_version: None }
    }

    /// Every host affinity.
    pub fn all_affinities() -> Self {
        ModelListOptions::BlockAffinities {
            affinity_type: AffinityType::Host,
            host: None,
            ip_version: None,
        }
    }

    /// The host affinities of `host`, of one family or both.
    pub fn affinities_of(host: impl Into<String>, ip_version: Option<IpVersion>) -> Self {
        ModelListOptions::BlockAffinities {
            affinity_type: AffinityType::Host,
            host: Some(host.into()),
            ip_version,
        }
    }

    /// The kind listed.
    pub fn kind(&self) -> ModelKind {
        match self {
            ModelListOptions::Blocks { .. } => ModelKind::Block,
            ModelListOptions::BlockAffinities { .. } => ModelKind::BlockAffinity,
            ModelListOptions::Handles => ModelKind::Handle,
        }
    }

    /// The key prefix to read (Calico's `defaultPathRoot`: the host prefix has no trailing
    /// `/` when no family is named, so [`ModelListOptions::key_from_path`] filters again).
    pub fn path_prefix(&self) -> String {
        match self {
            ModelListOptions::Blocks { ip_version } => match ip_version {
                Some(version) => format!("{IPAM_ROOT}assignment/ipv{}/", version.number()),
                None => format!("{IPAM_ROOT}assignment/"),
            },
            ModelListOptions::BlockAffinities {
                affinity_type,
                host,
                ip_version,
            } => match (host, ip_version) {
                (None, _) => format!("{IPAM_ROOT}{affinity_type}/"),
                (Some(host), None) => format!("{IPAM_ROOT}{affinity_type}/{host}"),
                (Some(host), Some(version)) => {
                    format!(
                        "{IPAM_ROOT}{affinity_type}/{host}/ipv{}/block",
                        version.number()
                    )
                }
            },
            ModelListOptions::Handles => format!("{IPAM_ROOT}handle/"),
        }
    }

    /// The key at `path` if the list includes it.
    pub fn key_from_path(&self, path: &str) -> Option<ModelKey> {
        match self {
            ModelListOptions::Blocks { .. } => parse_block(path),
            ModelListOptions::BlockAffinities {
                affinity_type,
                host,
                ip_version,
            } => {
                let key = parse_affinity(path)?;
                let ModelKey::BlockAffinity(affinity) = &key else {
                    return None;
                };
                let wanted = affinity.affinity_type == *affinity_type
                    && host.as_ref().is_none_or(|h| *h == affinity.host)
                    && ip_version.is_none_or(|v| v == IpVersion::of(&affinity.cidr));
                wanted.then_some(key)
            }
            ModelListOptions::Handles => parse_handle(path),
        }
    }
}

/// `10.0.0.0/26` → `10.0.0.0-26` (the CIDR masked, its first `/` replaced).
pub fn cidr_segment(cidr: &IpNet) -> String {
    cidr.trunc().to_string().replacen('/', "-", 1)
}

/// A key's CIDR segment back to a masked prefix.
pub fn parse_cidr_segment(segment: &str) -> Option<IpNet> {
    parse_prefix(&segment.replacen('-', "/", 1)).map(|cidr| cidr.trunc())
}

/// Go's `netip.ParsePrefix`: an address without zone, `/`, and a decimal length without sign
/// or leading zeros, no longer than the address.
pub fn parse_prefix(text: &str) -> Option<IpNet> {
    let (address, bits) = text.rsplit_once('/')?;
    if bits.is_empty()
        || bits.len() > 3
        || !bits.bytes().all(|b| b.is_ascii_digit())
        || (bits.len() > 1 && bits.starts_with('0'))
    {
        return None;
    }
    let bits: u8 = bits.parse().ok()?;
    let address: IpAddr = address.parse().ok()?;
    IpNet::new(address, bits).ok()
}

/// The part of `path` after Calico's root, which may be written without the leading `/`.
fn after_root(path: &str) -> Option<&str> {
    path.strip_prefix('/')
        .unwrap_or(path)
        .strip_prefix("calico/ipam/v2/")
}

/// `ipv` followed by any one character but a newline (Calico's pattern is `ipv.`).
fn is_ip_segment(segment: &str) -> bool {
    let Some(rest) = segment.strip_prefix("ipv") else {
        return false;
    };
    let mut chars = rest.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if c != '\n')
}

/// `^/?calico/ipam/v2/assignment/ipv./block/([^/]+)$`
fn parse_block(path: &str) -> Option<ModelKey> {
    let rest = after_root(path)?.strip_prefix("assignment/")?;
    match rest.split('/').collect::<Vec<_>>().as_slice() {
        [ip, "block", cidr] if is_ip_segment(ip) && !cidr.is_empty() => {
            Some(ModelKey::Block(BlockKey::new(parse_cidr_segment(cidr)?)))
        }
        _ => None,
    }
}

/// `^/?calico/ipam/v2/(@|host|virtual)/([^/]+)/ipv./block/([^/]+)$`
fn parse_affinity(path: &str) -> Option<ModelKey> {
    let rest = after_root(path)?;
    match rest.split('/').collect::<Vec<_>>().as_slice() {
        [affinity_type, host, ip, "block", cidr]
            if !host.is_empty() && is_ip_segment(ip) && !cidr.is_empty() =>
        {
            Some(ModelKey::BlockAffinity(BlockAffinityKey::new(
                parse_cidr_segment(cidr)?,
                *host,
                AffinityType::parse(affinity_type)?,
            )))
        }
        _ => None,
    }
}

/// `^/?calico/ipam/v2/handle/([^/]+)$`
fn parse_handle(path: &str) -> Option<ModelKey> {
    let id = after_root(path)?.strip_prefix("handle/")?;
    (!id.is_empty() && !id.contains('/')).then(|| ModelKey::Handle(HandleKey::new(id)))
}

/// Calico matches the config key exactly.
fn is_config(path: &str) -> bool {
    path == IPAM_CONFIG_PATH
}
