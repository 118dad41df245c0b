//! The generic resource envelope (`kind`, `apiVersion`, `metadata`, `spec`, `status`) shared by
//! every Calico kind, and the trait that describes one kind.
//!
//! One generic type instead of one hand-written struct per kind keeps encoding, decoding,
//! defaulting and validation on a single code path, as kube-rs does with `Object<P, U>`.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::meta::{ObjectMeta, API_VERSION};
use crate::unknown::Unknown;
use crate::validation::{ValidationError, Validator};

/// Whether a kind lives in a namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    Cluster,
    Namespaced,
}

/// The `status` slot of a kind: absent for most kinds, a pointer (`Option`) or a plain struct
/// for the few that have one. Go writes a nil pointer as nothing but a struct always.
pub trait StatusSlot: Clone + fmt::Debug + Default + PartialEq + Send + Sync + 'static {
    /// The wire type, `()` when the kind has no status.
    type Wire: Serialize + DeserializeOwned;
    /// False for kinds without a `status` field (then `status` in input is an unknown field).
    const PRESENT: bool;
    /// Whether the serializer should leave `status` out.
    fn omit(&self) -> bool;
    /// The value to serialize.
    fn to_wire(&self) -> Option<&Self::Wire>;
    /// Builds the slot from a decoded value.
    fn from_wire(wire: Self::Wire) -> Self;
}

/// Kinds with no `status` field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoStatus;

impl StatusSlot for NoStatus {
    type Wire = ();
    const PRESENT: bool = false;
    fn omit(&self) -> bool {
        true
    }
    fn to_wire(&self) -> Option<&()> {
        None
    }
    fn from_wire(_: ()) -> Self {
        NoStatus
    }
}

/// A status held behind a Go pointer (`*FooStatus` with `omitempty`): omitted when `None`.
impl<T> StatusSlot for Option<T>
where
    T: Clone + fmt::Debug + PartialEq + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    type Wire = T;
    const PRESENT: bool = true;
    fn omit(&self) -> bool {
        self.is_none()
    }
    fn to_wire(&self) -> Option<&T> {
        self.as_ref()
    }
    fn from_wire(wire: T) -> Self {
        Some(wire)
    }
}

/// A status held by value (Go struct field): always written, `{}` when empty.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Always<T>(pub T);

impl<T> StatusSlot for Always<T>
where
    T: Clone
        + fmt::Debug
        + Default
        + PartialEq
        + Send
        + Sync
        + Serialize
        + DeserializeOwned
        + 'static,
{
    type Wire = T;
    const PRESENT: bool = true;
    fn omit(&self) -> bool {
        false
    }
    fn to_wire(&self) -> Option<&T> {
        Some(&self.0)
    }
    fn from_wire(wire: T) -> Self {
        Always(wire)
    }
}

/// Everything the generic machinery needs to know about one kind. Implemented by the kind's
/// spec type.
pub trait Kind:
    Clone + fmt::Debug + Default + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// `kind` as written in documents, e.g. `IPPool`.
    const KIND: &'static str;
    /// Lower-case plural used in etcd keys and CRD names, e.g. `ippools`.
    const PLURAL: &'static str;
    /// Cluster or namespaced.
    const SCOPE: Scope;
    /// The status slot.
    type Status: StatusSlot;

    /// Fills in what the Calico client fills in on create and update (and, for some kinds, on
    /// read). Never fails: anything invalid is left for validation to report.
    fn apply_defaults(_resource: &mut Resource<Self>) {}

    /// The kind's own name rules, which Calico checks after the spec (every kind's name is first
    /// checked as a DNS-1123 subdomain with the rest of the metadata). None by default.
    fn validate_name(_meta: &crate::meta::ObjectMeta, _v: &mut Validator) {}

    /// Checks the spec and status (metadata is checked generically before this runs).
    fn validate(resource: &Resource<Self>, v: &mut Validator);
}

/// One resource of kind `K`: `kind` and `apiVersion` are implied by the type.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resource<K: Kind> {
    pub metadata: ObjectMeta,
    pub spec: K,
    pub status: K::Status,
    /// Members of the stored document that our types do not know (a newer Calico's fields):
    /// never printed, written back by the datastore codecs so an update keeps them.
    pub unknown: Unknown,
}

impl<K: Kind> Resource<K> {
    /// A cluster-scoped resource with the given name and spec.
    pub fn new(name: impl Into<String>, spec: K) -> Self {
        Resource {
            metadata: ObjectMeta::named(name),
            spec,
            status: K::Status::default(),
            unknown: Unknown::default(),
        }
    }

    /// A namespaced resource.
    pub fn new_namespaced(namespace: impl Into<String>, name: impl Into<String>, spec: K) -> Self {
        Resource {
            metadata: ObjectMeta::namespaced(namespace, name),
            spec,
            status: K::Status::default(),
            unknown: Unknown::default(),
        }
    }

    /// `kind`.
    pub fn kind(&self) -> &'static str {
        K::KIND
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// `metadata.namespace` (empty for cluster-scoped kinds).
    pub fn namespace(&self) -> &str {
        &self.metadata.namespace
    }

    /// Applies the kind's client-side defaults.
    pub fn apply_defaults(&mut self) {
        K::apply_defaults(self)
    }

    /// Validates metadata, spec and status, returning every problem found.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        self.validate_into(&mut v);
        v.finish_for_kind(K::KIND)
    }

    /// Validation that appends to an existing validator (used when validating lists).
    pub fn validate_into(&self, v: &mut Validator) {
        crate::validation::metadata::validate_metadata::<K>(&self.metadata, v);
        K::validate(self, v);
        K::validate_name(&self.metadata, v);
    }
}

impl<K: Kind> Serialize for Resource<K> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let omit_status = self.status.omit();
        let mut map = serializer.serialize_map(Some(if omit_status { 4 } else { 5 }))?;
        map.serialize_entry("kind", K::KIND)?;
        map.serialize_entry("apiVersion", API_VERSION)?;
        map.serialize_entry("metadata", &self.metadata)?;
        map.serialize_entry("spec", &self.spec)?;
        if !omit_status {
            if let Some(status) = self.status.to_wire() {
                map.serialize_entry("status", status)?;
            }
        }
        map.end()
    }
}

const FIELDS_WITH_STATUS: &[&str] = &["kind", "apiVersion", "metadata", "spec", "status"];
const FIELDS_WITHOUT_STATUS: &[&str] = &["kind", "apiVersion", "metadata", "spec"];

impl<'de, K: Kind> Deserialize<'de> for Resource<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let fields = if K::Status::PRESENT {
            FIELDS_WITH_STATUS
        } else {
            FIELDS_WITHOUT_STATUS
        };
        // As a struct, so that a Go-style deserializer matches `Kind:`, `Spec:` ... as Go does.
        deserializer.deserialize_struct(K::KIND, fields, ResourceVisitor(PhantomData))
    }
}

struct ResourceVisitor<K>(PhantomData<K>);

impl<'de, K: Kind> Visitor<'de> for ResourceVisitor<K> {
    type Value = Resource<K>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} resource", K::KIND)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let fields = if K::Status::PRESENT {
            FIELDS_WITH_STATUS
        } else {
            FIELDS_WITHOUT_STATUS
        };
        let mut resource = Resource::<K>::default();
        let mut seen = [false; 5];
        while let Some(key) = map.next_key::<String>()? {
            let index = fields
                .iter()
                .position(|f| *f == key)
                .ok_or_else(|| de::Error::unknown_field(&key, fields))?;
            if seen[index] {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            seen[index] = true;
            match index {
                0 => {
                    let kind: String = map.next_value()?;
                    if kind != K::KIND {
                        return Err(de::Error::custom(format_args!(
                            "kind {kind:?} does not match the expected kind {:?}",
                            K::KIND
                        )));
                    }
                }
                1 => {
                    let version: String = map.next_value()?;
                    if version != API_VERSION {
                        return Err(de::Error::custom(format_args!(
                            "apiVersion {version:?} is not supported; expected {API_VERSION:?}"
                        )));
                    }
                }
                2 => resource.metadata = map.next_value()?,
                3 => resource.spec = map.next_value()?,
                _ => resource.status = K::Status::from_wire(map.next_value()?),
            }
        }
        Ok(resource)
    }
}
