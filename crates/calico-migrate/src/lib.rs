//! Moving a Calico datastore.
//!
//! - Calico's documented etcd → Kubernetes flow, as `calicoctl datastore migrate` runs it:
//!   `export` (a locked etcd datastore to one document: the v3 resources as YAML, the
//!   ClusterInformation as JSON, the IPAM objects as JSON, separated by `===` lines, with
//!   Calico's renames of nodes to their Kubernetes names) and `import` (that document into a
//!   Kubernetes datastore), byte for byte as Calico's calicoctl writes and reads it.
//! - Beyond Calico: a verification of what landed, export from and import into any of the
//!   three datastores, and the migration of a Kubernetes datastore from
//!   `crd.projectcalico.org/v1` to `projectcalico.org/v3` custom resources.
//!
//! The library does the work; `calicoctl` parses, calls and prints.

pub mod export;
pub mod file;
pub mod import;
pub mod ipam;
pub mod policy_names;
pub mod v1_to_v3;
pub mod verify;
