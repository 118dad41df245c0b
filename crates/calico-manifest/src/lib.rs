//! Reads manifests the way calicoctl does: a text is split into documents on `---` lines, each
//! document is YAML or JSON holding one resource, a sequence of resources, or a `<Kind>List`,
//! and every resource is decoded strictly into a typed [`AnyResource`].
//!
//! No IO here: callers hand in the text and a name for it (a path, or `-` for stdin) so that
//! every error can say which file and which document it is about.

pub mod yaml;

use std::fmt;

use calico_api::{decode_value, AnyResource, DecodeError, API_VERSION};
use serde_json::Value;

/// calicoctl refuses documents larger than this.
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

/// What went wrong in a manifest.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// The document is not valid YAML/JSON.
    #[error("{origin}: {message}")]
    Syntax { origin: Origin, message: String },
    /// The document is larger than calicoctl accepts.
    #[error("{origin}: document is larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge { origin: Origin },
    /// The document does not hold resources.
    #[error("{origin}: {message}")]
    Shape { origin: Origin, message: String },
    /// A resource failed strict decoding.
    #[error("{origin}: {}", render_decode(.error))]
    Decode { origin: Origin, error: DecodeError },
}

impl ManifestError {
    /// Where the error is.
    pub fn origin(&self) -> &Origin {
        match self {
            ManifestError::Syntax { origin, .. }
            | ManifestError::TooLarge { origin }
            | ManifestError::Shape { origin, .. }
            | ManifestError::Decode { origin, .. } => origin,
        }
    }
}

/// calicoctl replaces any message mentioning an unknown field by this sentence; scripts match on
/// it, so we keep it and add the field's full path after it.
fn render_decode(error: &DecodeError) -> String {
    match error {
        DecodeError::Field { path, message } => match unknown_field_name(message) {
            Some(field) => format!(
                "field in document is not recognized or is in the wrong location: {field} (at {path})"
            ),
            None => error.to_string(),
        },
        DecodeError::UnknownKind(kind) => {
            format!("unknown resource type ({kind}) and/or version ({API_VERSION})")
        }
        other => other.to_string(),
    }
}

fn unknown_field_name(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

/// Splits a text into documents at lines starting with `---` (the rest of such a line is
/// ignored, as calicoctl does). Returns each document's text and 1-based number; documents
/// that are empty or hold only comments are dropped.
pub fn split_documents(text: &str) -> Vec<(usize, String)> {
    let mut documents = Vec::new();
    let mut current = String::new();
    let mut number = 1;
    for line in text.split_inclusive('\n') {
        if line.starts_with("---") {
            push_document(&mut documents, number, std::mem::take(&mut current));
            number += 1;
        } else {
            current.push_str(line);
        }
    }
    push_document(&mut documents, number, current);
    documents
}

fn push_document(documents: &mut Vec<(usize, String)>, number: usize, text: String) {
    let has_content = text.lines().any(|line| {
        let trimmed = line.trim();
        !trimmed.is_empty() && !trimmed.starts_with('#')
    });
    if has_content {
        documents.push((number, text));
    }
}

/// Parses one document's text (YAML or JSON) into a JSON value.
pub fn parse_document(text: &str) -> Result<Value, String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(value) = serde_json::from_str::<Value>(text) {
            return Ok(value);
        }
    }
    // YAML 1.2 booleans: a name such as `y` or `no` must stay a string. (Go's YAML 1.1 reader
    // would make it a boolean and then turn it back into text for string fields.)
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options::<Value>(text, options).map_err(|e| e.to_string())
}

/// Reads every resource in `text`. Stops at the first bad document, as calicoctl treats any
/// parse failure as "file invalid" before doing anything.
pub fn read_manifest(source: &str, text: &str) -> Result<Vec<Entry>, ManifestError> {
    let documents = split_documents(text);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(documents.len() / DOCUMENTS_PER_THREAD)
        .max(1);
    if threads == 1 {
        return read_documents(source, &documents);
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

/// Below this many documents per core, one thread parses everything.
const DOCUMENTS_PER_THREAD: usize = 512;

fn read_documents(
    source: &str,
    documents: &[(usize, String)],
) -> Result<Vec<Entry>, ManifestError> {
    let mut entries = Vec::new();
    for (number, document) in documents {
        let number = *number;
        let origin = Origin {
            source: source.to_string(),
            document: number,
            item: None,
        };
        if document.len() > MAX_DOCUMENT_BYTES {
            return Err(ManifestError::TooLarge { origin });
        }
        let value = parse_document(document).map_err(|message| ManifestError::Syntax {
            origin: origin.clone(),
            message,
        })?;
        collect_resources(value, origin, &mut entries)?;
    }
    Ok(entries)
}

fn collect_resources(
    value: Value,
    origin: Origin,
    entries: &mut Vec<Entry>,
) -> Result<(), ManifestError> {
    match value {
        Value::Null => Ok(()),
        Value::Array(items) => {
            for (i, item) in items.into_iter().enumerate() {
                let origin = Origin {
                    item: Some(i),
                    ..origin.clone()
                };
                decode_one(item, origin, entries)?;
            }
            Ok(())
        }
        Value::Object(mut map) => {
            let list_kind = match map.get("kind") {
                Some(Value::String(kind)) if kind.ends_with("List") => Some(kind.clone()),
                _ => None,
            };
            let Some(list_kind) = list_kind else {
                return decode_one(Value::Object(map), origin, entries);
            };
            let items = match map.remove("items") {
                Some(Value::Array(items)) => items,
                Some(Value::Null) | None => Vec::new(),
                Some(_) => {
                    return Err(ManifestError::Shape {
                        origin,
                        message: format!("{list_kind}: items must be a list"),
                    })
                }
            };
            let item_kind = &list_kind[..list_kind.len() - "List".len()];
            for (i, mut item) in items.into_iter().enumerate() {
                // Items of a typed list may leave out their kind and apiVersion.
                if let Value::Object(fields) = &mut item {
                    fields
                        .entry("kind")
                        .or_insert_with(|| Value::String(item_kind.to_string()));
                    fields
                        .entry("apiVersion")
                        .or_insert_with(|| Value::String(API_VERSION.to_string()));
                }
                let origin = Origin {
                    item: Some(i),
                    ..origin.clone()
                };
                decode_one(item, origin, entries)?;
            }
            Ok(())
        }
        other => Err(ManifestError::Shape {
            origin,
            message: format!(
                "expected a resource, a list of resources or a List kind, found {other}"
            ),
        }),
    }
}

fn decode_one(value: Value, origin: Origin, entries: &mut Vec<Entry>) -> Result<(), ManifestError> {
    if let Value::Object(map) = &value {
        match map.get("apiVersion") {
            Some(Value::String(version)) if version == API_VERSION => {}
            Some(Value::String(version)) => {
                let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
                return Err(ManifestError::Shape {
                    origin,
                    message: format!("unknown resource type ({kind}) and/or version ({version})"),
                });
            }
            _ => {
                return Err(ManifestError::Shape {
                    origin,
                    message: "the document has no 'apiVersion' field".to_string(),
                })
            }
        }
    }
    let resource = decode_value(value).map_err(|error| ManifestError::Decode {
        origin: origin.clone(),
        error,
    })?;
    entries.push(Entry { origin, resource });
    Ok(())
}

#[cfg(test)]
mod tests;
