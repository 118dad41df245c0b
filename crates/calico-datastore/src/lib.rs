//! Calico's datastore layer.
//!
//! - [`key`]: which resource, and its Calico etcd path.
//! - [`backend`]: the [`Backend`] trait every driver implements (typed resources with
//!   etcd-style revisions: create, update, apply, delete, get, list, watch).
//! - [`kv`] and [`kvbackend`]: an etcd-like raw store trait and Calico's etcd storage layout on
//!   top of it, shared by the embedded and etcd drivers.
//! - [`embedded`]: the zero-setup single-file store.
//! - [`counting`]: a backend wrapper counting round trips (tests, benchmarks).

pub mod apiconfig;
pub mod backend;
pub mod backoff;
pub mod client;
pub mod codec;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod counting;
pub mod embedded;
pub mod error;
pub mod init;
pub mod key;
pub mod kv;
pub mod kvbackend;
pub mod lock;
pub mod rules;
pub mod tls;

pub use backend::{
    Backend, DatastoreInfo, ModelKv, ModelList, ModelPages, ModelWatchEvent, ModelWatchStream,
    ModelWrite, Read, ReadResult, ResourceList, ResourcePages, WatchEvent, WatchStream,
};
/// The IPAM model (libcalico-go's `model` package) the backends store.
pub use calico_api::model::{ModelKey, ModelListOptions, ModelValue};
pub use client::IpamCascade;
pub use counting::CountingBackend;
pub use embedded::EmbeddedStore;
pub use error::{DatastoreError, Result};
pub use key::{KindRef, ListOptions, ResourceKey};
pub use kvbackend::{check_model_write, KvBackend};
