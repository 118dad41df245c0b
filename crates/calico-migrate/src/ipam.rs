//! The IPAM section of a migration document (calicoctl's `migrateipam.go`): the block
//! affinities, blocks, handles and IPAM configuration as `{Key, Value, TTL}` pairs keyed by
//! their etcd paths, with the renames from etcd node names to Kubernetes node names; written
//! a page at a time, read back and created in Calico's order.

use std::collections::HashMap;
use std::io::Write;

use calico_api::model::{
    AffinityType, AllocationBlock, ModelKey, ModelKind, ModelListOptions, ModelValue,
};
use calico_datastore::backend::Backend;
use calico_datastore::DatastoreError;
use futures::StreamExt;
use serde::Serialize;

/// Handle IDs of tunnel addresses: the prefix followed by the node's name.
pub const TUNNEL_HANDLE_PREFIXES: [&str; 3] = [
    "ipip-tunnel-addr-",
    "vxlan-tunnel-addr-",
    "wireguard-tunnel-addr-",
];

/// etcd node name → Kubernetes node name.
pub type NodeMap = HashMap<String, String>;

/// How many IPAM objects are read from the datastore at a time.
const PAGE_SIZE: usize = 1000;

/// Why the IPAM section could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum IpamError {
    /// The datastore refused a read (Calico's text).
    #[error("{0}")]
    Datastore(#[from] DatastoreError),
    #[error("failed to encode the IPAM objects: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("failed to write the output: {0}")]
    Write(#[from] std::io::Error),
}

/// A tunnel address's handle ID with its node renamed, or `None` when it is not a tunnel
/// handle of a renamed node.
pub fn renamed_handle_id(handle_id: &str, nodes: &NodeMap) -> Option<String> {
    TUNNEL_HANDLE_PREFIXES.iter().find_map(|prefix| {
        let node = handle_id.strip_prefix(prefix)?;
        nodes.get(node).map(|new| format!("{prefix}{new}"))
    })
}

/// Calico's `AllocationBlock.Host()`: the host (or virtual owner) of the block's affinity.
fn block_host(block: &AllocationBlock) -> &str {
    let affinity = block.affinity.as_deref().unwrap_or_default();
    affinity
        .strip_prefix("host:")
        .or_else(|| affinity.strip_prefix("virtual:"))
        .unwrap_or_default()
}

/// Renames the nodes a block names: each allocation's owner and alternate owner, tunnel
/// handles, and the affinity (a `virtual:` affinity of a renamed name becomes `host:`, as in
/// Calico).
pub fn rename_block(block: &mut AllocationBlock, nodes: &NodeMap) {
    for attribute in block.attributes.iter_mut().flatten() {
        let rename = |attrs: &mut std::collections::BTreeMap<String, String>| {
            let new = attrs.get("node").and_then(|node| nodes.get(node)).cloned();
            if let Some(new) = new {
                attrs.insert("node".to_string(), new);
            }
        };
        rename(&mut attribute.secondary);
        rename(&mut attribute.alternate_owner_attrs);
        if let Some(new) = attribute
            .handle_id
            .as_deref()
            .and_then(|id| renamed_handle_id(id, nodes))
        {
            attribute.handle_id = Some(new);
        }
    }
    if let Some(new) = nodes.get(block_host(block)) {
        block.affinity = Some(format!("host:{new}"));
    }
}

/// One `{Key, Value, TTL}` pair as Calico writes it.
#[derive(Serialize)]
struct PairOut<'a, T> {
    #[serde(rename = "Key")]
    key: &'a str,
    #[serde(rename = "Value")]
    value: &'a T,
    #[serde(rename = "TTL")]
    ttl: i64,
}

/// Renders one pair nested `depth` levels deep.
fn render_pair(
    out: &mut Vec<u8>,
    key: &ModelKey,
    value: &ModelValue,
    depth: usize,
) -> Result<(), serde_json::Error> {
    let key = key.default_path();
    let write = |out: &mut Vec<u8>, value: &dyn erased::Value| value.write(out, &key, depth);
    match value {
        ModelValue::Block(v) => write(out, v),
        ModelValue::BlockAffinity(v) => write(out, v),
        ModelValue::Handle(v) => write(out, v),
        ModelValue::Config(v) => write(out, v),
    }
}

mod erased {
    use super::PairOut;

    /// A model value that can be written as a pair's `Value`.
    pub trait Value {
        fn write(
            &self,
            out: &mut Vec<u8>,
            key: &str,
            depth: usize,
        ) -> Result<(), serde_json::Error>;
    }

    impl<T: serde::Serialize> Value for T {
        fn write(
            &self,
            out: &mut Vec<u8>,
            key: &str,
            depth: usize,
        ) -> Result<(), serde_json::Error> {
            let pair = PairOut {
                key,
                value: self,
                ttl: 0,
            };
            calico_api::json::write_pretty_at(out, &pair, depth)
        }
    }
}

/// Writes a JSON object's members one at a time, as Go's `MarshalIndent(v, "", "  ")` lays
/// them out (an object without members is `{}`).
struct ObjectWriter<'w, W: Write> {
    out: &'w mut W,
    members: usize,
}

impl<W: Write> ObjectWriter<'_, W> {
    fn member(&mut self, name: &str) -> std::io::Result<()> {
        let lead: &[u8] = if self.members == 0 {
            b"{\n  "
        } else {
            b",\n  "
        };
        self.out.write_all(lead)?;
        write!(self.out, "\"{name}\": ")?;
        self.members += 1;
        Ok(())
    }

    fn finish(self) -> std::io::Result<()> {
        let close: &[u8] = if self.members == 0 { b"{}\n" } else { b"\n}\n" };
        self.out.write_all(close)
    }
}

/// Writes the IPAM section of an export (with its trailing newline): every block affinity,
/// block and handle, a page at a time, and the IPAM configuration, with `nodes`' renames.
pub async fn write_section<W: Write>(
    backend: &dyn Backend,
    nodes: &NodeMap,
    progress: &mut dyn FnMut(usize),
    out: &mut W,
) -> Result<(), IpamError> {
    let mut object = ObjectWriter { out, members: 0 };
    let lists = [
        (
            "block_affinities",
            ModelListOptions::BlockAffinities {
                affinity_type: AffinityType::Host,
                host: None,
                ip_version: None,
            },
        ),
        ("blocks", ModelListOptions::Blocks { ip_version: None }),
        ("handles", ModelListOptions::Handles),
    ];
    for (name, options) in lists {
        let mut pages = backend.list_model_pages(&options, PAGE_SIZE).await?;
        let mut started = false;
        let mut text = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page?;
            progress(page.items.len());
            for item in page.items {
                let (key, value) = renamed(item.key, item.value, nodes);
                text.clear();
                if started {
                    text.extend_from_slice(b",\n    ");
                } else {
                    object.member(name)?;
                    text.extend_from_slice(b"[\n    ");
                    started = true;
                }
                render_pair(&mut text, &key, &value, 2)?;
                object.out.write_all(&text)?;
            }
        }
        if started {
            object.out.write_all(b"\n  ]")?;
        }
    }
    match backend.get_model(&ModelKey::Config).await {
        Ok(config) => {
            object.member("config")?;
            let mut text = Vec::new();
            render_pair(&mut text, &config.key, &config.value, 1)?;
            object.out.write_all(&text)?;
        }
        Err(err) if err.is_not_found() => {}
        Err(err) => return Err(err.into()),
    }
    object.finish()?;
    Ok(())
}

/// A listed object with Calico's renames: affinity keys and handle keys get the Kubernetes
/// node name, blocks their owners (see [`rename_block`]).
fn renamed(key: ModelKey, value: ModelValue, nodes: &NodeMap) -> (ModelKey, ModelValue) {
    match (key, value) {
        (ModelKey::BlockAffinity(mut key), value) => {
            if let Some(new) = nodes.get(&key.host) {
                key.host = new.clone();
            }
            (ModelKey::BlockAffinity(key), value)
        }
        (ModelKey::Handle(mut key), value) => {
            if let Some(new) = renamed_handle_id(&key.handle_id, nodes) {
                key.handle_id = new;
            }
            (ModelKey::Handle(key), value)
        }
        (key, ModelValue::Block(mut block)) => {
            rename_block(&mut block, nodes);
            (key, ModelValue::Block(block))
        }
        other => other,
    }
}

/// The IPAM section of a migration document, read back.
#[derive(Debug, Default)]
pub struct Section {
    pub block_affinities: Vec<(ModelKey, ModelValue)>,
    pub blocks: Vec<(ModelKey, ModelValue)>,
    pub handles: Vec<(ModelKey, ModelValue)>,
    pub config: Option<ModelValue>,
}

impl Section {
    /// How many objects the section holds.
    pub fn len(&self) -> usize {
        self.block_affinities.len()
            + self.blocks.len()
            + self.handles.len()
            + usize::from(self.config.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads the section as Calico's `json.Unmarshal` into its `migrateIPAM` reads it. Keys
    /// are parsed as Calico's `KeyFromDefaultPath` parses them; a key that is no key of its
    /// kind is an error here (Calico would go on with an empty key and fail at the write).
    pub fn parse(text: &[u8]) -> Result<Section, String> {
        let value: serde_json::Value =
            serde_json::from_slice(text).map_err(|e| go_syntax_error(&e))?;
        let object = match value {
            serde_json::Value::Object(object) => object,
            serde_json::Value::Null => return Ok(Section::default()),
            other => {
                return Err(format!(
                    "json: cannot unmarshal {} into Go value of type migrate.migrateIPAM",
                    go_type_name(&other)
                ))
            }
        };
        let mut section = Section::default();
        for (name, value) in object {
            // Go matches member names case-insensitively.
            match name.to_ascii_lowercase().as_str() {
                "block_affinities" => {
                    section.block_affinities = pairs(value, ModelKind::BlockAffinity)?
                }
                "blocks" => section.blocks = pairs(value, ModelKind::Block)?,
                "handles" => section.handles = pairs(value, ModelKind::Handle)?,
                "config" if !value.is_null() => {
                    section.config = Some(pair(value, ModelKind::Config)?.1);
                }
                _ => {}
            }
        }
        Ok(section)
    }
}

fn go_type_name(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

fn go_syntax_error(err: &serde_json::Error) -> String {
    if err.is_eof() {
        "unexpected end of JSON input".to_string()
    } else {
        format!("invalid JSON: {err}")
    }
}

fn pairs(value: serde_json::Value, kind: ModelKind) -> Result<Vec<(ModelKey, ModelValue)>, String> {
    match value {
        serde_json::Value::Null => Ok(Vec::new()),
        serde_json::Value::Array(items) => items
            .into_iter()
            .filter(|item| !item.is_null())
            .map(|item| pair(item, kind))
            .collect(),
        other => Err(format!(
            "json: cannot unmarshal {} into Go struct field migrateIPAM of type []*migrate.KVPair",
            go_type_name(&other)
        )),
    }
}

fn pair(value: serde_json::Value, kind: ModelKind) -> Result<(ModelKey, ModelValue), String> {
    let serde_json::Value::Object(members) = value else {
        return Err(format!(
            "json: cannot unmarshal {} into Go value of type migrate.KVPair",
            go_type_name(&value)
        ));
    };
    let mut key = String::new();
    let mut stored = serde_json::Value::Null;
    for (name, value) in members {
        match name.to_ascii_lowercase().as_str() {
            "key" => {
                key = match value {
                    serde_json::Value::String(key) => key,
                    serde_json::Value::Null => String::new(),
                    other => {
                        return Err(format!(
                        "json: cannot unmarshal {} into Go struct field KVPair.Key of type string",
                        go_type_name(&other)
                    ))
                    }
                }
            }
            "value" => stored = value,
            _ => {}
        }
    }
    let model_key = match kind {
        ModelKind::Config => Some(ModelKey::Config),
        _ => ModelKey::from_path(&key).filter(|k| k.kind() == kind),
    }
    .ok_or_else(|| format!("{key:?} is not the key of a {}", kind.go_name()))?;
    let bytes = serde_json::to_vec(&stored).map_err(|e| e.to_string())?;
    // A `null` value is Go's nil pointer: the zero value of the type.
    let bytes: &[u8] = if stored.is_null() { b"{}" } else { &bytes };
    let value = ModelValue::decode(kind, bytes).map_err(|e| e.to_string())?;
    Ok((model_key, value))
}

/// What creating the IPAM objects came to: Calico's counts and error texts.
#[derive(Debug, Default)]
pub struct PushOutcome {
    /// Objects in the section.
    pub resources: usize,
    /// Objects tried (Calico counts a failed create as handled too).
    pub handled: usize,
    /// One text per failed create, as Calico words it.
    pub errors: Vec<String>,
}

/// Creates the section's objects in Calico's order (affinities, blocks, handles, the
/// configuration), going on after a failure, as `PushToDatastore` does. `resuming` (ours): an
/// object that exists already with the same value counts as created. `observer` is told of
/// each object handled.
pub async fn push(
    backend: &dyn Backend,
    section: Section,
    resuming: bool,
    observer: &dyn crate::import::Observer,
) -> PushOutcome {
    let mut outcome = PushOutcome {
        resources: section.len(),
        ..PushOutcome::default()
    };
    let all = section
        .block_affinities
        .into_iter()
        .chain(section.blocks)
        .chain(section.handles)
        .chain(section.config.map(|config| (ModelKey::Config, config)));
    for (key, value) in all {
        observer.advance(1);
        let shown = key.to_string();
        let wanted = resuming.then(|| (key.clone(), value.clone()));
        if let Err(err) = backend.create_model(key, value).await {
            if let (Some((key, value)), true) = (&wanted, err.is_already_exists()) {
                if matches!(backend.get_model(key).await, Ok(kv) if kv.value == *value) {
                    outcome.handled += 1;
                    continue;
                }
            }
            // Calico says "block affinity" whatever the object is.
            outcome.errors.push(format!(
                "error trying to create block affinity {shown}: {err}"
            ));
        }
        outcome.handled += 1;
    }
    outcome
}

/// Whether the datastore holds any IPAM object (Calico's `IsEmpty` after `PullFromDatastore`).
pub async fn datastore_has_ipam(backend: &dyn Backend) -> Result<bool, DatastoreError> {
    let lists = [
        ModelListOptions::Blocks { ip_version: None },
        ModelListOptions::BlockAffinities {
            affinity_type: AffinityType::Host,
            host: None,
            ip_version: None,
        },
        ModelListOptions::Handles,
    ];
    let mut found = false;
    for options in lists {
        // One object is enough to know: small pages, read until one holds something.
        let mut pages = backend.list_model_pages(&options, 1).await?;
        while let Some(page) = futures::StreamExt::next(&mut pages).await {
            if !page?.items.is_empty() {
                found = true;
                break;
            }
        }
    }
    match backend.get_model(&ModelKey::Config).await {
        Ok(_) => found = true,
        Err(err) if err.is_not_found() => {}
        Err(err) => return Err(err),
    }
    Ok(found)
}
