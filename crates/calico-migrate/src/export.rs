//! `calicoctl datastore migrate export`, byte for byte: the v3 resources kind by kind as
//! `<Kind>List` YAML documents (Calico's order and cleaning, Kubernetes policies left out,
//! Nodes renamed to their Kubernetes node names and `node.<name>` configurations with them,
//! Felix's iptables actions title-cased), a `===` line, the ClusterInformation as indented
//! JSON, a `===` line, and the IPAM objects as indented JSON ([`crate::ipam`]).
//!
//! Lists are read and written a page at a time, so a datastore of any size is exported in
//! flat memory (Nodes excepted: they are held until all are checked, as Calico checks every
//! Node before printing any).

use std::io::Write;

use calico_api::AnyResource;
use calico_datastore::client::Client;
use calico_datastore::{DatastoreError, KindRef, ListOptions, ResourceKey};
use calico_manifest::list::{sort_tiers, ListError, ListWriter};
use futures::StreamExt;

use crate::ipam::{self, IpamError, NodeMap};

/// The kinds exported, in Calico's order (tiers before policies; Nodes before the kinds that
/// name nodes), and whether each is read from every namespace (`Some(None)`), from `default`
/// alone (`Some(Some)`: Calico lists the staged namespaced policies without
/// `--all-namespaces`), or is cluster-wide (`None`).
pub const KINDS: &[(&str, Scope)] = &[
    ("IPPool", Scope::Cluster),
    ("BGPPeer", Scope::Cluster),
    ("Tier", Scope::Cluster),
    ("GlobalNetworkPolicy", Scope::Cluster),
    ("StagedGlobalNetworkPolicy", Scope::Cluster),
    ("GlobalNetworkSet", Scope::Cluster),
    ("HostEndpoint", Scope::Cluster),
    ("KubeControllersConfiguration", Scope::Cluster),
    ("NetworkPolicy", Scope::AllNamespaces),
    ("StagedNetworkPolicy", Scope::DefaultNamespace),
    ("StagedKubernetesNetworkPolicy", Scope::DefaultNamespace),
    ("NetworkSet", Scope::AllNamespaces),
    ("Node", Scope::Cluster),
    ("BGPConfiguration", Scope::Cluster),
    ("FelixConfiguration", Scope::Cluster),
    ("IPReservation", Scope::Cluster),
    ("BGPFilter", Scope::Cluster),
];

/// Where a kind is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Cluster,
    AllNamespaces,
    /// Namespace `default` only (Calico's quirk for the staged namespaced policies).
    DefaultNamespace,
}

/// Calico's prefix for its copies of Kubernetes NetworkPolicies, which are not exported.
pub const KUBERNETES_POLICY_PREFIX: &str = "knp.default.";

/// Resources read from the datastore per page.
const PAGE_SIZE: usize = 1000;

/// Why an export stopped (Calico's texts). What was written before stays written, as with
/// Calico's, which prints each kind as it goes.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A list or read failed: the datastore's text, as calicoctl's `get` reports it.
    #[error("{0}")]
    Datastore(#[from] DatastoreError),
    #[error("unable to process metadata for export for Node resource: node {0} missing a 'k8s' orchestrator reference. Unable to export data unless every node has a 'k8s' orchestrator reference")]
    NodeWithoutKubernetesName(String),
    #[error("kind {0} is not known to this build")]
    UnknownKind(&'static str),
    #[error("{0}")]
    Output(#[from] ListError),
    #[error("failed to write the output: {0}")]
    Write(#[from] std::io::Error),
    #[error("{0}")]
    Ipam(#[from] IpamError),
    #[error("failed to encode the ClusterInformation: {0}")]
    Encode(#[from] serde_json::Error),
}

/// What an export wrote.
#[derive(Debug, Default)]
pub struct Exported {
    /// Resources written, per kind, in the order written.
    pub resources: Vec<(&'static str, usize)>,
    /// etcd node name → Kubernetes node name.
    pub nodes: NodeMap,
}

/// Clears what the export leaves out of each item (Calico's list of fields; the namespace
/// stays).
pub fn clean(resource: &mut AnyResource) {
    let meta = resource.metadata_mut();
    meta.uid.clear();
    meta.resource_version.clear();
    meta.creation_timestamp = None;
    meta.deletion_timestamp = None;
    meta.deletion_grace_period_seconds = None;
}

/// `strings.Title(strings.ToLower(s))` as golang.org/x/text's English title caser does it for
/// the words Felix accepts: each word's first letter upper case, the rest lower case.
pub fn title_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word_start = true;
    for c in text.chars() {
        if c.is_alphanumeric() || c == '\'' {
            if word_start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            word_start = false;
        } else {
            out.push(c);
            word_start = true;
        }
    }
    out
}

/// Calico's `ConvertIptablesFields`: the four iptables actions title-cased (the v1 API took
/// them in any case).
pub fn convert_iptables_fields(resource: &mut AnyResource) {
    if let AnyResource::FelixConfiguration(felix) = resource {
        let spec = &mut felix.spec;
        for field in [
            &mut spec.default_endpoint_to_host_action,
            &mut spec.iptables_filter_allow_action,
            &mut spec.iptables_mangle_allow_action,
            &mut spec.iptables_filter_deny_action,
        ] {
            if !field.is_empty() {
                *field = title_case(field);
            }
        }
    }
}

/// A `node.<etcd name>` configuration renamed to `node.<Kubernetes name>`.
fn rename_node_config(resource: &mut AnyResource, nodes: &NodeMap) {
    let meta = resource.metadata_mut();
    let new = meta
        .name
        .strip_prefix("node.")
        .and_then(|node| nodes.get(node));
    if let Some(new) = new {
        meta.name = format!("node.{new}");
    }
}

/// Renames a Node to the node name of its (last) `k8s` orchestrator reference, recording the
/// rename; a Node without one is an error.
fn rename_node(resource: &mut AnyResource, nodes: &mut NodeMap) -> Result<(), ExportError> {
    let AnyResource::Node(node) = resource else {
        return Ok(());
    };
    let new = node
        .spec
        .orch_refs
        .iter()
        .rev()
        .find(|r| r.orchestrator == "k8s")
        .map(|r| r.node_name.clone())
        .unwrap_or_default();
    if new.is_empty() {
        return Err(ExportError::NodeWithoutKubernetesName(
            node.metadata.name.clone(),
        ));
    }
    nodes.insert(node.metadata.name.clone(), new.clone());
    node.metadata.name = new;
    Ok(())
}

fn list_options(kind: KindRef, scope: Scope) -> ListOptions {
    ListOptions {
        namespace: match scope {
            Scope::Cluster | Scope::AllNamespaces => None,
            Scope::DefaultNamespace => Some("default".to_string()),
        },
        ..ListOptions::all(kind)
    }
}

/// The kinds a full copy ([`ExportOptions::full`]) adds after Calico's.
pub const FULL_COPY_KINDS: &[(&str, Scope)] = &[
    ("Profile", Scope::Cluster),
    ("WorkloadEndpoint", Scope::AllNamespaces),
];

/// The Profile every datastore has built in, never copied.
pub const DEFAULT_ALLOW_PROFILE: &str = "projectcalico-default-allow";

/// Items per `<Kind>List` in a full export ([`ExportOptions::full`]): a large kind is written as
/// several lists, so that no YAML document of a backup comes near calicoctl's 10 MiB limit on
/// a document (a kind of 20,000 WorkloadEndpoints would pass it) and an import holds one list
/// of it at a time. Calico's export writes one list per kind, and so does ours for Calico's
/// flow.
pub const FULL_LIST_ITEMS: usize = 1000;

/// One kind's `<Kind>List`s as they are written: one list, or with `split` a new list (after a
/// `---` line) every [`FULL_LIST_ITEMS`] items, each with the kind's revision.
struct KindLists<'a, W: Write> {
    writer: Option<ListWriter<&'a mut W>>,
    kind: &'a str,
    revision: String,
    split: bool,
    in_list: usize,
}

impl<'a, W: Write> KindLists<'a, W> {
    fn begin(
        out: &'a mut W,
        kind: &'a str,
        revision: &str,
        split: bool,
    ) -> Result<Self, ListError> {
        Ok(KindLists {
            writer: Some(ListWriter::begin(out, false, kind, revision)?),
            kind,
            revision: revision.to_string(),
            split,
            in_list: 0,
        })
    }

    fn item(&mut self, item: &AnyResource) -> Result<(), ListError> {
        let mut writer = self
            .writer
            .take()
            .ok_or_else(|| ListError::Encode("list already finished".into()))?;
        if self.split && self.in_list == FULL_LIST_ITEMS {
            let out = writer.finish()?;
            out.write_all(b"---\n")?;
            writer = ListWriter::begin(out, false, self.kind, &self.revision)?;
            self.in_list = 0;
        }
        let written = writer.item(item);
        self.writer = Some(writer);
        self.in_list += 1;
        written
    }

    fn finish(mut self) -> Result<(), ListError> {
        if let Some(writer) = self.writer.take() {
            writer.finish()?;
        }
        Ok(())
    }
}

/// How an export runs.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExportOptions {
    /// Ours: the whole datastore for a copy into any other (a backup): no node renames (a
    /// Node without a Kubernetes name is kept), the staged namespaced policies of every
    /// namespace, and Profiles (the built-in default-allow one aside) and WorkloadEndpoints
    /// after Calico's kinds. Calico's copies of Kubernetes policies stay out.
    pub full: bool,
}

/// Writes the export of the datastore `client` reaches to `out`. The caller makes Calico's
/// checks first (locked, etcd); the export itself reads any datastore.
pub async fn export<W: Write>(client: &Client, out: &mut W) -> Result<Exported, ExportError> {
    export_with(client, ExportOptions::default(), &mut |_| {}, out).await
}

/// [`export`] with options; `progress` is told of every resource and IPAM object written.
pub async fn export_with<W: Write>(
    client: &Client,
    options: ExportOptions,
    progress: &mut dyn FnMut(usize),
    out: &mut W,
) -> Result<Exported, ExportError> {
    let mut exported = Exported::default();
    let extra: &[(&str, Scope)] = if options.full { FULL_COPY_KINDS } else { &[] };
    for &(kind_name, scope) in KINDS.iter().chain(extra) {
        let kind = KindRef::lookup(kind_name).ok_or(ExportError::UnknownKind(kind_name))?;
        let scope = match scope {
            Scope::DefaultNamespace if options.full => Scope::AllNamespaces,
            other => other,
        };
        let list_options = list_options(kind, scope);
        let options_full = options.full;
        let options = list_options;
        let count = match kind_name {
            // Tiers are sorted, Nodes all checked before any is printed: both read whole.
            "Tier" | "Node" => {
                let list = client.list(&options).await?;
                let mut items = list.items;
                if kind_name == "Tier" {
                    sort_tiers(&mut items);
                }
                for item in &mut items {
                    clean(item);
                    if !options_full {
                        rename_node(item, &mut exported.nodes)?;
                    }
                }
                progress(items.len());
                let mut lists =
                    KindLists::begin(&mut *out, kind_name, &list.revision, options_full)?;
                for item in &items {
                    lists.item(item)?;
                }
                lists.finish()?;
                items.len()
            }
            _ => {
                write_pages(
                    client,
                    &options,
                    &exported.nodes,
                    options_full,
                    progress,
                    &mut *out,
                )
                .await?
            }
        };
        out.write_all(b"---\n")?;
        exported.resources.push((kind_name, count));
    }

    out.write_all(b"===\n")?;
    let info_kind = KindRef::lookup("ClusterInformation")
        .ok_or(ExportError::UnknownKind("ClusterInformation"))?;
    let info = client
        .get(&ResourceKey::new(info_kind, "", "default"))
        .await?;
    let mut text = calico_api::json::to_vec_pretty(&info)?;
    text.push(b'\n');
    out.write_all(&text)?;

    out.write_all(b"===\n")?;
    ipam::write_section(
        client.backend().as_ref(),
        &exported.nodes,
        progress,
        &mut *out,
    )
    .await?;
    out.flush()?;
    Ok(exported)
}

/// Writes one kind's list a page at a time, cleaned and renamed (with `split`, as several
/// lists: see [`FULL_LIST_ITEMS`]).
async fn write_pages<W: Write>(
    client: &Client,
    options: &ListOptions,
    nodes: &NodeMap,
    split: bool,
    progress: &mut dyn FnMut(usize),
    out: &mut W,
) -> Result<usize, ExportError> {
    let kind = options.kind.kind();
    let mut pages = client.list_pages(options, PAGE_SIZE).await?;
    let first = match pages.next().await {
        Some(page) => page?,
        None => calico_datastore::backend::ResourceList {
            items: Vec::new(),
            revision: String::new(),
        },
    };
    let mut writer = KindLists::begin(&mut *out, kind, &first.revision, split)?;
    let mut count = 0;
    let mut page = Some(first);
    while let Some(list) = page.take() {
        let before = count;
        for mut item in list.items {
            if kind == "NetworkPolicy" && item.metadata().name.starts_with(KUBERNETES_POLICY_PREFIX)
            {
                continue;
            }
            if kind == "Profile" && item.metadata().name == DEFAULT_ALLOW_PROFILE {
                continue;
            }
            clean(&mut item);
            if kind == "FelixConfiguration" || kind == "BGPConfiguration" {
                rename_node_config(&mut item, nodes);
            }
            convert_iptables_fields(&mut item);
            writer.item(&item)?;
            count += 1;
        }
        progress(count - before);
        page = match pages.next().await {
            Some(next) => Some(next?),
            None => None,
        };
    }
    writer.finish()?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iptables_actions_are_title_cased() {
        assert_eq!(title_case("accept"), "Accept");
        assert_eq!(title_case("RETURN"), "Return");
        assert_eq!(title_case("Drop"), "Drop");
        assert_eq!(title_case("rEJECT"), "Reject");
    }
}
