//! Reads manifests the way calicoctl does: a text is split into documents at `\n---` lines,
//! each document is YAML or JSON holding one resource, a sequence of resources, or a
//! `<Kind>List`, and every resource is decoded into a typed [`AnyResource`] with the semantics
//! of Calico's reader (`sigs.k8s.io/yaml` over go-yaml v2, then Go's `encoding/json` with
//! unknown fields refused): YAML 1.1 scalars, case-insensitive field names, Go's error texts.
//!
//! Callers hand in the text, or a reader to stream it from ([`read_manifest_stream`]: one
//! document held at a time, the documents and resources of a command bounded), and a name for
//! it (a path, or `-` for stdin); each
//! error knows which file and document it is about ([`ManifestError::origin`]) and displays as
//! Calico words it.

pub mod goyaml;
pub mod list;
pub mod stream;
pub mod yaml;

pub use stream::{read_manifest_stream, DocumentSplitter, StreamError, MAX_RESOURCES};

use std::fmt;

use calico_api::decode::{decode_value_with, DecodeOptions};
use calico_api::{AnyResource, DecodeError, KindInfo, API_VERSION};
use serde_json::Value;

use crate::goyaml::{yaml_to_json, YamlError};

/// calicoctl refuses documents larger than this (its scanner's buffer, 10 MiB).
pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

/// Where a resource came from: the source name and the 1-based document number in it, plus the
/// 0-based item index when the document held a list or sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub source: String,
    pub document: usize,
    pub item: Option<usize>,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: document {}", self.source, self.document)?;
        if let Some(item) = self.item {
            write!(f, ", item {item}")?;
        }
        Ok(())
    }
}

/// A decoded resource and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub origin: Origin,
    pub resource: AnyResource,
}

/// What went wrong in a manifest. Each displays as the text calicoctl prints after
/// `failed to execute command: ` (see [`ManifestError::command_message`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// The document is not valid YAML/JSON, or not representable as JSON.
    #[error("error converting YAML to JSON: {message}")]
    Syntax { origin: Origin, message: String },
    /// The document is larger than calicoctl accepts: Calico's text, then where.
    #[error("bufio.Scanner: token too long ({origin} is larger than 10 MiB)")]
    TooLarge { origin: Origin },
    /// One command would hold more resources than [`MAX_RESOURCES`].
    #[error("too many resources: one command reads at most {limit}, and {origin} holds one more")]
    TooMany { origin: Origin, limit: usize },
    /// The document does not hold resources (the message is Calico's).
    #[error("{message}")]
    Shape { origin: Origin, message: String },
    /// A key is given twice in one mapping (go-yaml's strict reading, each line as it says).
    #[error("error converting YAML to JSON: yaml: unmarshal errors:\n  {}", .problems.join("\n  "))]
    DuplicateKeys {
        origin: Origin,
        problems: Vec<String>,
    },
    /// A resource failed decoding.
    #[error("{}", render_decode(.error))]
    Decode { origin: Origin, error: DecodeError },
}

impl ManifestError {
    /// Where the error is.
    pub fn origin(&self) -> &Origin {
        match self {
            ManifestError::Syntax { origin, .. }
            | ManifestError::TooLarge { origin }
            | ManifestError::TooMany { origin, .. }
            | ManifestError::Shape { origin, .. }
            | ManifestError::DuplicateKeys { origin, .. }
            | ManifestError::Decode { origin, .. } => origin,
        }
    }

    /// The whole line calicoctl prints: `failed to execute command: <error>`, except that a
    /// message naming an unknown field becomes Calico's friendlier sentence on its own.
    pub fn command_message(&self) -> String {
        match self {
            ManifestError::Decode {
                error: DecodeError::UnknownField { field, .. },
                ..
            } => {
                format!("field in document is not recognized or is in the wrong location: {field}")
            }
            other => format!("failed to execute command: {other}"),
        }
    }
}

/// The prefix `sigs.k8s.io/yaml` puts before a JSON decoding error.
const JSON_ERROR_PREFIX: &str = "error unmarshaling JSON: while decoding JSON: ";

fn render_decode(error: &DecodeError) -> String {
    match error {
        // Errors of Calico's own decoders (port ranges, AS numbers, timestamps) carry no field
        // in Go: they are printed as they are.
        DecodeError::Go { message, .. } | DecodeError::Field { message, .. } => {
            format!("{JSON_ERROR_PREFIX}{message}")
        }
        other => format!("{JSON_ERROR_PREFIX}{other}"),
    }
}

/// Calico's text for a document whose `kind`/`apiVersion` name nothing it manages.
fn unknown_type(kind: &str, version: &str) -> String {
    format!("unknown resource type ({kind}) and/or version ({version})")
}

/// Splits a text into documents as calicoctl's reader does: at each `\n---`, the rest of that
/// line dropped. Returns each document's text and 1-based number. Every document counts, an
/// empty one too (calicoctl fails on it), but an empty text has none.
pub fn split_documents(text: &str) -> Vec<(usize, String)> {
    const SEPARATOR: &str = "\n---";
    let mut documents = Vec::new();
    let mut rest = text;
    let mut number = 1;
    while !rest.is_empty() {
        match rest.find(SEPARATOR) {
            Some(at) => {
                documents.push((number, rest[..at].to_string()));
                let after = &rest[at + SEPARATOR.len()..];
                rest = match after.find('\n') {
                    Some(newline) => &after[newline + 1..],
                    None => "",
                };
            }
            None => {
                documents.push((number, rest.to_string()));
                rest = "";
            }
        }
        number += 1;
    }
    documents
}

/// Reads every resource in `text`. Stops at the first bad document, as calicoctl treats any
/// parse failure as "file invalid" before doing anything.
pub fn read_manifest(source: &str, text: &str) -> Result<Vec<Entry>, ManifestError> {
    read_documents_parallel(source, &split_documents(text))
}

/// Decodes documents already split off (each with its 1-based number, as
/// [`split_documents`] and [`DocumentSplitter`] give them) in order, large runs of them on
/// every core; stops at the first bad document.
pub fn read_documents_parallel(
    source: &str,
    documents: &[(usize, String)],
) -> Result<Vec<Entry>, ManifestError> {
    let bytes: usize = documents.iter().map(|(_, text)| text.len()).sum();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min((documents.len() / DOCUMENTS_PER_THREAD).max(bytes / BYTES_PER_THREAD))
        .min(documents.len())
        .max(1);
    if threads == 1 {
        return read_documents(source, documents);
    }
    // Large manifests are parsed on every core, in contiguous runs of documents, so the result
    // keeps document order and the first bad document (in file order) is the one reported.
    let chunk = documents.len().div_ceil(threads);
    let results: Vec<Result<Vec<Entry>, ManifestError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = documents
            .chunks(chunk)
            .map(|run| scope.spawn(move || read_documents(source, run)))
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle.join().unwrap_or_else(|_| {
                    Err(ManifestError::Shape {
                        origin: Origin {
                            source: source.to_string(),
                            document: 0,
                            item: None,
                        },
                        message: "internal error while parsing".into(),
                    })
                })
            })
            .collect()
    });
    let mut entries = Vec::new();
    for result in results {
        entries.extend(result?);
    }
    Ok(entries)
}

/// Below this many documents per core, one thread parses everything…
const DOCUMENTS_PER_THREAD: usize = 512;
/// …unless there are this many bytes per core (a few large `<Kind>List`s).
const BYTES_PER_THREAD: usize = 1 << 20;

fn read_documents(
    source: &str,
    documents: &[(usize, String)],
) -> Result<Vec<Entry>, ManifestError> {
    let mut entries = Vec::new();
    for (number, document) in documents {
        let origin = Origin {
            source: source.to_string(),
            document: *number,
            item: None,
        };
        if document.len() > MAX_DOCUMENT_BYTES {
            return Err(ManifestError::TooLarge { origin });
        }
        read_document(document, origin, &mut entries)?;
    }
    Ok(entries)
}

/// What Go calls a JSON value in a type error.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `kind` and `apiVersion` as calicoctl's first, untyped reading sees them: `None` when the
/// object has no usable `kind` (a non-empty string).
fn type_meta(map: &serde_json::Map<String, Value>) -> Option<(&str, &str)> {
    let kind = match map.get("kind") {
        Some(Value::String(kind)) if !kind.is_empty() => kind.as_str(),
        _ => return None,
    };
    let version = match map.get("apiVersion") {
        Some(Value::String(version)) => version.as_str(),
        None | Some(Value::Null) => "",
        Some(_) => return None,
    };
    Some((kind, version))
}

/// The kind a `kind`/`apiVersion` pair names, if calicoctl knows it: a kind or `<Kind>List`.
fn lookup(kind: &str, version: &str) -> Option<(&'static KindInfo, bool)> {
    if version != API_VERSION {
        return None;
    }
    if let Some(info) = KindInfo::lookup(kind) {
        return Some((info, false));
    }
    let base = kind.strip_suffix("List")?;
    KindInfo::lookup(base).map(|info| (info, true))
}

fn shape(origin: &Origin, message: String) -> ManifestError {
    ManifestError::Shape {
        origin: origin.clone(),
        message,
    }
}

fn read_document(
    text: &str,
    origin: Origin,
    entries: &mut Vec<Entry>,
) -> Result<(), ManifestError> {
    let converted = yaml_to_json(text).map_err(|err| ManifestError::Syntax {
        origin: origin.clone(),
        message: match err {
            YamlError::Syntax(message) | YamlError::Convert(message) => message,
        },
    })?;
    let strict_check = |origin: &Origin| {
        if converted.strict_errors.is_empty() {
            Ok(())
        } else {
            Err(ManifestError::DuplicateKeys {
                origin: origin.clone(),
                problems: converted.strict_errors.clone(),
            })
        }
    };
    match &converted.value {
        // An empty document reads as a resource of no type.
        Value::Null => Err(shape(&origin, unknown_type("", ""))),
        Value::Object(map) => {
            let Some((kind, version)) = type_meta(map) else {
                return Err(shape(
                    &origin,
                    format!(
                        "{JSON_ERROR_PREFIX}json: cannot unmarshal object into Go value of type []unstructured.Unstructured"
                    ),
                ));
            };
            let (info, is_list) =
                lookup(kind, version).ok_or_else(|| shape(&origin, unknown_type(kind, version)))?;
            strict_check(&origin)?;
            if is_list {
                decode_list(&converted.value, info, origin, entries)
            } else {
                let resource = decode_value_with(&converted.value, DecodeOptions::MANIFEST)
                    .map_err(|error| ManifestError::Decode {
                        origin: origin.clone(),
                        error,
                    })?;
                entries.push(Entry { origin, resource });
                Ok(())
            }
        }
        Value::Array(items) => {
            // calicoctl first reads every item's type, then decodes them all.
            let mut infos = Vec::with_capacity(items.len());
            for item in items {
                let map = match item {
                    Value::Object(map) => map,
                    Value::Null => {
                        infos.push(None);
                        continue;
                    }
                    other => {
                        return Err(shape(
                            &origin,
                            format!(
                                "{JSON_ERROR_PREFIX}json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                                json_kind(other)
                            ),
                        ))
                    }
                };
                let Some((kind, version)) = type_meta(map) else {
                    let text = calico_api::json::to_vec(item)
                        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                        .unwrap_or_default();
                    return Err(shape(
                        &origin,
                        format!("{JSON_ERROR_PREFIX}Object 'Kind' is missing in '{text}'"),
                    ));
                };
                infos.push(Some(
                    lookup(kind, version)
                        .ok_or_else(|| shape(&origin, unknown_type(kind, version)))?,
                ));
            }
            strict_check(&origin)?;
            for (i, (item, info)) in items.iter().zip(infos).enumerate() {
                let origin = Origin {
                    item: Some(i),
                    ..origin.clone()
                };
                let Some((info, is_list)) = info else {
                    continue;
                };
                if is_list {
                    // A `<Kind>List` among the items stands for its own items, as in
                    // Calico's calicoctl (a `get -o yaml` list can be fed back with others).
                    decode_list(item, info, origin, entries)?;
                    continue;
                }
                let resource = (info.decode)(item, DecodeOptions::MANIFEST_SEQUENCE_ITEM)
                    .map_err(|error| ManifestError::Decode {
                        origin: origin.clone(),
                        error,
                    })?;
                entries.push(Entry { origin, resource });
            }
            Ok(())
        }
        other => Err(shape(
            &origin,
            format!(
                "{JSON_ERROR_PREFIX}json: cannot unmarshal {} into Go value of type []unstructured.Unstructured",
                json_kind(other)
            ),
        )),
    }
}

/// Members of a `<Kind>List` besides its items.
const LIST_FIELDS: &[&str] = &["kind", "apiVersion", "metadata", "items"];

/// Decodes a `<Kind>List` as Go decodes it into the list type: its members matched like struct
/// fields, each item decoded as a resource of the kind (which an item may leave out).
fn decode_list(
    value: &Value,
    info: &'static KindInfo,
    origin: Origin,
    entries: &mut Vec<Entry>,
) -> Result<(), ManifestError> {
    let Value::Object(map) = value else {
        return Ok(());
    };
    let list_name = format!("{}List", info.kind);
    let decode_error = |origin: &Origin, error: DecodeError| ManifestError::Decode {
        origin: origin.clone(),
        error,
    };
    let mut items = None;
    // Go's field matching on the list type, keys in document (sorted) order.
    for (key, member) in map {
        let field = LIST_FIELDS
            .iter()
            .find(|f| **f == key.as_str())
            .or_else(|| LIST_FIELDS.iter().find(|f| f.eq_ignore_ascii_case(key)));
        match field {
            None => {
                return Err(decode_error(
                    &origin,
                    DecodeError::UnknownField {
                        path: key.clone(),
                        field: key.clone(),
                    },
                ))
            }
            Some(&"items") => match member {
                Value::Array(list) => items = Some(list),
                Value::Null => items = None,
                other => {
                    return Err(decode_error(
                        &origin,
                        DecodeError::Go {
                            path: "items".into(),
                            message: format!(
                                "json: cannot unmarshal {} into Go struct field {list_name}.items of type []v3.{}",
                                json_kind(other),
                                info.kind
                            ),
                        },
                    ))
                }
            },
            Some(_) => {}
        }
    }
    let options = DecodeOptions {
        list_item: true,
        ..DecodeOptions::MANIFEST
    };
    for (i, item) in items.into_iter().flatten().enumerate() {
        let origin = Origin {
            item: Some(i),
            ..origin.clone()
        };
        let resource = match item {
            Value::Object(fields) => {
                // An item may leave out its kind and apiVersion; it is of the list's kind.
                let mut fields = fields.clone();
                fields.insert("kind".into(), Value::String(info.kind.to_string()));
                fields
                    .entry("apiVersion")
                    .or_insert_with(|| Value::String(API_VERSION.to_string()));
                (info.decode)(&Value::Object(fields), options)
            }
            other => (info.decode)(other, options),
        }
        .map_err(|error| decode_error(&origin, error))?;
        entries.push(Entry { origin, resource });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
