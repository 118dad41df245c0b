//! Printing `get` results: YAML, JSON, and (through [`crate::table`]) tables.

use calico_api::AnyResource;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

/// `metadata` of a list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListMeta {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
}

/// One thing `get` found: a resource, or a `<Kind>List` for a list query.
#[derive(Clone, Debug, PartialEq)]
pub enum GetResult {
    Object(AnyResource),
    List {
        kind: &'static str,
        metadata: ListMeta,
        items: Vec<AnyResource>,
    },
}

impl Serialize for GetResult {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            GetResult::Object(resource) => resource.serialize(serializer),
            GetResult::List {
                kind,
                metadata,
                items,
            } => {
                // Go's List types: kind, apiVersion, metadata, items.
                let mut list = serializer.serialize_struct("List", 4)?;
                list.serialize_field("kind", &format!("{kind}List"))?;
                list.serialize_field("apiVersion", calico_api::API_VERSION)?;
                list.serialize_field("metadata", metadata)?;
                list.serialize_field("items", items)?;
                list.end()
            }
        }
    }
}

/// Why output could not be produced.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OutputError(pub String);

fn encode_error(err: serde_json::Error) -> OutputError {
    OutputError(format!("failed to encode the output: {err}"))
}

/// One result alone, several as a sequence, none as `null` — as calicoctl prints them.
fn shaped(results: &[GetResult]) -> Result<serde_json::Value, OutputError> {
    match results {
        [] => Ok(serde_json::Value::Null),
        [only] => serde_json::to_value(only).map_err(encode_error),
        many => serde_json::to_value(many).map_err(encode_error),
    }
}

/// `-o yaml`.
pub fn yaml(results: &[GetResult]) -> Result<String, OutputError> {
    Ok(calico_manifest::yaml::to_yaml_string(&shaped(results)?))
}

/// `-o json`: Go's `MarshalIndent` with two spaces, field order kept, no trailing newline
/// (current calicoctl writes the bytes as they are; releases before the cobra rewrite added one).
pub fn json(results: &[GetResult]) -> Result<String, OutputError> {
    let bytes = match results {
        [] => b"null".to_vec(),
        [only] => calico_api::json::to_vec_pretty(only).map_err(encode_error)?,
        many => calico_api::json::to_vec_pretty(many).map_err(encode_error)?,
    };
    String::from_utf8(bytes).map_err(|e| OutputError(e.to_string()))
}

/// Items of a list printed by a [`ListWriter`], each as it would follow another item.
pub struct RenderedItems {
    text: Vec<u8>,
    count: usize,
}

/// Renders items for [`ListWriter::items`]; rendering is independent of where the items fall
/// in the list, so parts of a list can be rendered in parallel.
pub fn render_items<'a>(
    json: bool,
    items: impl IntoIterator<Item = &'a AnyResource>,
) -> Result<RenderedItems, OutputError> {
    let mut text = Vec::new();
    let mut count = 0;
    for item in items {
        if json {
            // Nested in the list's `items`, two levels deep.
            text.extend_from_slice(b",\n    ");
            calico_api::json::write_pretty_at(&mut text, item, 2).map_err(encode_error)?;
        } else {
            // A one-item sequence at the top level sits at the very columns the item has
            // under `items:` (go-yaml does not indent sequences below their key), so long
            // scalars fold exactly where they would in the whole list.
            let value = serde_json::to_value(item).map_err(encode_error)?;
            text.extend_from_slice(
                calico_manifest::yaml::to_yaml_string(&serde_json::Value::Array(vec![value]))
                    .as_bytes(),
            );
        }
        count += 1;
    }
    Ok(RenderedItems { text, count })
}

/// Writes one `<Kind>List` exactly as [`json`] or [`yaml`] would print it, an item at a time, so
/// a list of any size is printed without holding all of it.
pub struct ListWriter<W: std::io::Write> {
    out: W,
    json: bool,
    items: usize,
    /// What follows the items: the JSON closing brackets, or YAML's `kind:` and `metadata:`.
    tail: String,
}

fn write_error(err: std::io::Error) -> OutputError {
    OutputError(format!("failed to write the output: {err}"))
}

impl<W: std::io::Write> ListWriter<W> {
    /// Writes everything before the first item.
    pub fn begin(
        mut out: W,
        json: bool,
        kind: &'static str,
        revision: &str,
    ) -> Result<Self, OutputError> {
        // The empty list's text, cut where the items go, gives the exact head and tail.
        let empty = [GetResult::List {
            kind,
            metadata: ListMeta {
                resource_version: revision.to_string(),
            },
            items: Vec::new(),
        }];
        let (text, marker) = if json {
            (self::json(&empty)?, "[]")
        } else {
            (self::yaml(&empty)?, " []\n")
        };
        let Some((head, tail)) = text.split_once(marker) else {
            return Err(OutputError(
                "failed to encode the output: no items field".into(),
            ));
        };
        out.write_all(head.as_bytes()).map_err(write_error)?;
        if json {
            out.write_all(b"[").map_err(write_error)?;
        }
        Ok(ListWriter {
            out,
            json,
            items: 0,
            tail: tail.to_string(),
        })
    }

    /// Writes one item.
    #[cfg(test)]
    pub fn item(&mut self, item: &AnyResource) -> Result<(), OutputError> {
        let rendered = render_items(self.json, [item])?;
        self.items(&rendered)
    }

    /// Writes items rendered by [`render_items`] (in any thread, in any order), in list order.
    pub fn items(&mut self, rendered: &RenderedItems) -> Result<(), OutputError> {
        if rendered.count == 0 {
            return Ok(());
        }
        let mut text = rendered.text.as_slice();
        if self.items == 0 {
            if self.json {
                // The first item has no comma before it.
                text = text.strip_prefix(b",").unwrap_or(text);
            } else {
                self.out.write_all(b"\n").map_err(write_error)?;
            }
        }
        self.out.write_all(text).map_err(write_error)?;
        self.items += rendered.count;
        Ok(())
    }

    /// Writes everything after the last item.
    pub fn finish(mut self) -> Result<(), OutputError> {
        let close = match (self.json, self.items) {
            (true, 0) => "]".to_string(),
            (true, _) => "\n  ]".to_string(),
            (false, 0) => " []\n".to_string(),
            (false, _) => String::new(),
        };
        self.out.write_all(close.as_bytes()).map_err(write_error)?;
        self.out
            .write_all(self.tail.as_bytes())
            .map_err(write_error)?;
        self.out.flush().map_err(write_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resources() -> Vec<AnyResource> {
        let docs = r#"
- apiVersion: projectcalico.org/v3
  kind: NetworkPolicy
  metadata: {name: p1, namespace: prod, labels: {a: "1"}, annotations: {note: "two\nlines\n\nand a gap"}}
  spec: {order: 10, selector: "app == 'web' && x in {\"a\"}", types: [Ingress], ingress: [{action: Allow, protocol: TCP, destination: {ports: [80, "1000:2000"]}}]}
- apiVersion: projectcalico.org/v3
  kind: NetworkPolicy
  metadata: {name: p2, namespace: prod}
  spec: {}
- apiVersion: projectcalico.org/v3
  kind: NetworkPolicy
  metadata: {name: p3, namespace: dev}
  spec: {selector: all(), egress: [{action: Deny}]}
"#;
        calico_manifest::read_manifest("test.yaml", docs)
            .unwrap()
            .into_iter()
            .map(|entry| entry.resource)
            .collect()
    }

    fn streamed(json: bool, items: &[AnyResource], revision: &str) -> String {
        let mut out = Vec::new();
        let mut writer = ListWriter::begin(&mut out, json, "NetworkPolicy", revision).unwrap();
        for item in items {
            writer.item(item).unwrap();
        }
        writer.finish().unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn streamed_lists_print_as_whole_lists_do() {
        let all = resources();
        for count in 0..=all.len() {
            for revision in ["", "42"] {
                let items = all[..count].to_vec();
                let whole = [GetResult::List {
                    kind: "NetworkPolicy",
                    metadata: ListMeta {
                        resource_version: revision.into(),
                    },
                    items: items.clone(),
                }];
                assert_eq!(streamed(true, &items, revision), json(&whole).unwrap());
                assert_eq!(streamed(false, &items, revision), yaml(&whole).unwrap());
            }
        }
    }
}
