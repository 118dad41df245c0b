//! Project Calico's `projectcalico.org/v3` API as Rust types.
//!
//! Every kind Calico stores (the public v3 kinds and the internal ones that share the same API
//! version: Node, WorkloadEndpoint, IPAM objects) with:
//! - JSON encoding byte-compatible with Calico's Go types (field names, field order, omit-empty
//!   rules, number-or-string encodings), so documents written by Calico read back and write out
//!   unchanged;
//! - decoding as Go's `encoding/json` does (case-insensitive field names, Go's error texts),
//!   an unknown field an error in manifests and kept aside when read from a datastore;
//! - the defaults Calico's client applies ([`Resource::apply_defaults`]), kept apart from
//! - validation ([`Resource::validate`]): Calico's Go validator and the rules of its CRD schemas
//!   (enums, ranges, CEL cross-field rules), each error naming the JSON field path.
//!
//! The crate does no IO. [`AnyResource`] holds a resource of any kind; [`decode`] turns JSON into
//! one.

pub mod decode;
pub mod duration;
pub mod json;
pub mod kinds;
pub mod meta;
pub mod model;
pub mod numorstring;
pub mod resource;
#[cfg(feature = "schema")]
pub mod schema;
pub mod serde_helpers;
pub mod unknown;
pub mod validation;

pub use decode::{
    decode_resource, decode_resource_with, decode_value, decode_value_with, DecodeError,
    DecodeOptions, UnknownPolicy,
};
pub use duration::Duration;
pub use kinds::*;
pub use meta::{ManagedFieldsEntry, ObjectMeta, OwnerReference, Time, API_GROUP, API_VERSION};
pub use numorstring::{AsNumber, Dscp, IntOrString, Port, Protocol, Uint8OrString};
pub use resource::{Always, Kind, NoStatus, Resource, Scope, StatusSlot};
pub use unknown::Unknown;
pub use validation::{FieldError, ValidationError, Validator};
