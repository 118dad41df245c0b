//! The key model: which resource, and where Calico keeps it.
//!
//! Every driver identifies resources by [`ResourceKey`]. Its default path is Calico's etcd key
//! (`/calico/resources/v3/projectcalico.org/<plural>/[<namespace>/]<name>`), which the etcd and
//! embedded drivers store under, so the two hold identical keyspaces.

use std::fmt;
use std::hash::{Hash, Hasher};

use calico_api::kinds::KindInfo;

/// Prefix of every v3 resource key.
pub const RESOURCE_ROOT: &str = "/calico/resources/v3/projectcalico.org/";

/// One resource: its kind, namespace (empty for cluster-scoped kinds) and name.
#[derive(Clone, Copy)]
pub struct KindRef(pub &'static KindInfo);

impl KindRef {
    /// The kind named `kind` (exact `kind` spelling).
    pub fn lookup(kind: &str) -> Option<KindRef> {
        KindInfo::lookup(kind).map(KindRef)
    }

    pub fn kind(&self) -> &'static str {
        self.0.kind
    }

    pub fn plural(&self) -> &'static str {
        self.0.plural
    }

    pub fn is_namespaced(&self) -> bool {
        self.0.is_namespaced()
    }
}

impl PartialEq for KindRef {
    fn eq(&self, other: &Self) -> bool {
        self.0.kind == other.0.kind
    }
}

impl Eq for KindRef {}

impl Hash for KindRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.kind.hash(state)
    }
}

impl fmt::Debug for KindRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.kind)
    }
}

/// Identifies one resource.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ResourceKey {
    pub kind: KindRef,
    pub namespace: String,
    pub name: String,
}

impl ResourceKey {
    pub fn new(kind: KindRef, namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ResourceKey {
            kind,
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// The key of a resource object.
    pub fn of(resource: &calico_api::AnyResource) -> Self {
        let meta = resource.metadata();
        ResourceKey {
            kind: KindRef(resource.info()),
            namespace: meta.namespace.clone(),
            name: meta.name.clone(),
        }
    }

    /// Calico's etcd key for this resource.
    pub fn default_path(&self) -> String {
        if self.kind.is_namespaced() {
            format!(
                "{RESOURCE_ROOT}{}/{}/{}",
                self.kind.plural(),
                self.namespace,
                self.name
            )
        } else {
            format!("{RESOURCE_ROOT}{}/{}", self.kind.plural(), self.name)
        }
    }

    /// Parses an etcd key back into a resource key of kind `kind`; `None` when the path is not
    /// one of that kind's keys (wrong prefix, wrong number of segments for its scope).
    pub fn from_path(kind: KindRef, path: &str) -> Option<Self> {
        let rest = path
            .strip_prefix(RESOURCE_ROOT)?
            .strip_prefix(kind.plural())?
            .strip_prefix('/')?;
        let segments: Vec<&str> = rest.split('/').collect();
        match (kind.is_namespaced(), segments.as_slice()) {
            (true, [namespace, name]) if !namespace.is_empty() && !name.is_empty() => {
                Some(ResourceKey::new(kind, unescape(namespace), unescape(name)))
            }
            (false, [name]) if !name.is_empty() => Some(ResourceKey::new(kind, "", unescape(name))),
            _ => None,
        }
    }
}

/// Calico unescapes `%2f` and `%25` in key segments when parsing (it never escapes on write,
/// since names are DNS-safe).
fn unescape(segment: &str) -> String {
    segment.replace("%2f", "/").replace("%25", "%")
}

impl fmt::Display for ResourceKey {
    /// `Kind(name)` or `Kind(namespace/name)`, as Calico prints resource identifiers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}({})", self.kind.kind(), self.name)
        } else {
            write!(f, "{}({}/{})", self.kind.kind(), self.namespace, self.name)
        }
    }
}

/// Which resources a list or watch covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListOptions {
    pub kind: KindRef,
    /// Restrict to one namespace; `None` lists every namespace (ignored for cluster kinds).
    pub namespace: Option<String>,
    /// Restrict to one name, or with `name_is_prefix` to names starting with it.
    pub name: Option<String>,
    pub name_is_prefix: bool,
}

impl ListOptions {
    /// Everything of one kind.
    pub fn all(kind: KindRef) -> Self {
        ListOptions {
            kind,
            namespace: None,
            name: None,
            name_is_prefix: false,
        }
    }

    /// Everything of one kind in one namespace.
    pub fn in_namespace(kind: KindRef, namespace: impl Into<String>) -> Self {
        ListOptions {
            namespace: Some(namespace.into()),
            ..ListOptions::all(kind)
        }
    }

    /// The key prefix under which every matching resource lives. Keys under it still need
    /// [`ListOptions::matches`] (a name prefix also covers longer names).
    pub fn path_prefix(&self) -> String {
        let base = format!("{RESOURCE_ROOT}{}/", self.kind.plural());
        let namespace = self
            .namespace
            .as_deref()
            .filter(|_| self.kind.is_namespaced());
        match (self.kind.is_namespaced(), namespace, self.name.as_deref()) {
            (true, Some(ns), Some(name)) => format!("{base}{ns}/{name}"),
            (true, Some(ns), None) => format!("{base}{ns}/"),
            (true, None, _) => base,
            (false, _, Some(name)) => format!("{base}{name}"),
            (false, _, None) => base,
        }
    }

    /// Whether a key belongs to this list.
    pub fn matches(&self, key: &ResourceKey) -> bool {
        if key.kind != self.kind {
            return false;
        }
        if self.kind.is_namespaced() {
            if let Some(ns) = &self.namespace {
                if &key.namespace != ns {
                    return false;
                }
            }
        }
        match &self.name {
            None => true,
            Some(name) if self.name_is_prefix => key.name.starts_with(name.as_str()),
            Some(name) => &key.name == name,
        }
    }

    /// Parses a stored path and keeps it if it belongs to this list.
    pub fn key_from_path(&self, path: &str) -> Option<ResourceKey> {
        ResourceKey::from_path(self.kind, path).filter(|key| self.matches(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str) -> KindRef {
        KindRef::lookup(name).expect("registered kind")
    }

    #[test]
    fn paths_follow_calico() {
        let set = ResourceKey::new(kind("NetworkSet"), "prod", "dbs");
        assert_eq!(
            set.default_path(),
            "/calico/resources/v3/projectcalico.org/networksets/prod/dbs"
        );
        assert_eq!(set.to_string(), "NetworkSet(prod/dbs)");
        let gset = ResourceKey::new(kind("GlobalNetworkSet"), "", "x");
        assert_eq!(
            gset.default_path(),
            "/calico/resources/v3/projectcalico.org/globalnetworksets/x"
        );
        assert_eq!(gset.to_string(), "GlobalNetworkSet(x)");
        assert_eq!(
            ResourceKey::from_path(kind("NetworkSet"), &set.default_path()),
            Some(set.clone())
        );
        // A path with the wrong shape for the kind's scope is not one of its keys.
        assert_eq!(
            ResourceKey::from_path(
                kind("NetworkSet"),
                "/calico/resources/v3/projectcalico.org/networksets/dbs"
            ),
            None
        );
        assert_eq!(
            ResourceKey::from_path(
                kind("GlobalNetworkSet"),
                "/calico/resources/v3/projectcalico.org/globalnetworksets/a/b"
            ),
            None
        );
    }

    #[test]
    fn list_prefixes() {
        let all = ListOptions::all(kind("NetworkSet"));
        assert_eq!(
            all.path_prefix(),
            "/calico/resources/v3/projectcalico.org/networksets/"
        );
        let ns = ListOptions::in_namespace(kind("NetworkSet"), "prod");
        assert_eq!(
            ns.path_prefix(),
            "/calico/resources/v3/projectcalico.org/networksets/prod/"
        );
        let prefix = ListOptions {
            name: Some("db".into()),
            name_is_prefix: true,
            ..ns.clone()
        };
        assert!(prefix.matches(&ResourceKey::new(kind("NetworkSet"), "prod", "dbs")));
        assert!(!prefix.matches(&ResourceKey::new(kind("NetworkSet"), "dev", "dbs")));
        assert!(!ns.matches(&ResourceKey::new(kind("GlobalNetworkSet"), "", "x")));
    }
}
