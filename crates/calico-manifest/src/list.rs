//! `<Kind>List`s as calicoctl prints them (`get -o yaml|json` of a kind, and each kind of
//! `datastore migrate export`), whole or an item at a time: a list of any size is written
//! without holding all of it, byte-identical to printing it whole.

use std::io::Write;

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

/// A `<Kind>List` to serialize: Go's List types' field order (kind, apiVersion, metadata,
/// items).
pub struct List<'a> {
    pub kind: &'a str,
    pub metadata: &'a ListMeta,
    pub items: &'a [AnyResource],
}

impl Serialize for List<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut list = serializer.serialize_struct("List", 4)?;
        list.serialize_field("kind", &format!("{}List", self.kind))?;
        list.serialize_field("apiVersion", calico_api::API_VERSION)?;
        list.serialize_field("metadata", self.metadata)?;
        list.serialize_field("items", self.items)?;
        list.end()
    }
}

/// Tiers in order of `spec.order`, unset orders last: calicoctl prints Tier lists so.
pub fn sort_tiers(items: &mut [AnyResource]) {
    let order = |r: &AnyResource| match r {
        AnyResource::Tier(tier) => tier.spec.order,
        _ => None,
    };
    items.sort_by(|a, b| match (order(a), order(b)) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
}

/// Why a list could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("failed to encode the output: {0}")]
    Encode(String),
    #[error("failed to write the output: {0}")]
    Write(#[from] std::io::Error),
}

fn encode_error(err: serde_json::Error) -> ListError {
    ListError::Encode(err.to_string())
}

/// A whole list as `-o yaml` prints it.
pub fn list_yaml(list: &List<'_>) -> Result<String, ListError> {
    let value = serde_json::to_value(list).map_err(encode_error)?;
    Ok(crate::yaml::to_yaml_string(&value))
}

/// A whole list as `-o json` prints it (Go's `MarshalIndent`, no trailing newline).
pub fn list_json(list: &List<'_>) -> Result<String, ListError> {
    let bytes = calico_api::json::to_vec_pretty(list).map_err(encode_error)?;
    String::from_utf8(bytes).map_err(|e| ListError::Encode(e.to_string()))
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
) -> Result<RenderedItems, ListError> {
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
                crate::yaml::to_yaml_string(&serde_json::Value::Array(vec![value])).as_bytes(),
            );
        }
        count += 1;
    }
    Ok(RenderedItems { text, count })
}

/// Writes one `<Kind>List` exactly as [`list_json`] or [`list_yaml`] would print it, an item at
/// a time.
pub struct ListWriter<W: Write> {
    out: W,
    json: bool,
    items: usize,
    /// What follows the items: the JSON closing brackets, or YAML's `kind:` and `metadata:`.
    tail: String,
}

impl<W: Write> ListWriter<W> {
    /// Writes everything before the first item.
    pub fn begin(mut out: W, json: bool, kind: &str, revision: &str) -> Result<Self, ListError> {
        // The empty list's text, cut where the items go, gives the exact head and tail.
        let metadata = ListMeta {
            resource_version: revision.to_string(),
        };
        let empty = List {
            kind,
            metadata: &metadata,
            items: &[],
        };
        let (text, marker) = if json {
            (list_json(&empty)?, "[]")
        } else {
            (list_yaml(&empty)?, " []\n")
        };
        let Some((head, tail)) = text.split_once(marker) else {
            return Err(ListError::Encode("no items field".into()));
        };
        out.write_all(head.as_bytes())?;
        if json {
            out.write_all(b"[")?;
        }
        Ok(ListWriter {
            out,
            json,
            items: 0,
            tail: tail.to_string(),
        })
    }

    /// Writes one item.
    pub fn item(&mut self, item: &AnyResource) -> Result<(), ListError> {
        let rendered = render_items(self.json, [item])?;
        self.items(&rendered)
    }

    /// Writes items rendered by [`render_items`] (in any thread, in any order), in list order.
    pub fn items(&mut self, rendered: &RenderedItems) -> Result<(), ListError> {
        if rendered.count == 0 {
            return Ok(());
        }
        let mut text = rendered.text.as_slice();
        if self.items == 0 {
            if self.json {
                // The first item has no comma before it.
                text = text.strip_prefix(b",").unwrap_or(text);
            } else {
                self.out.write_all(b"\n")?;
            }
        }
        self.out.write_all(text)?;
        self.items += rendered.count;
        Ok(())
    }

    /// Writes everything after the last item, and hands the writer back.
    pub fn finish(mut self) -> Result<W, ListError> {
        let close = match (self.json, self.items) {
            (true, 0) => "]",
            (true, _) => "\n  ]",
            (false, 0) => " []\n",
            (false, _) => "",
        };
        self.out.write_all(close.as_bytes())?;
        self.out.write_all(self.tail.as_bytes())?;
        self.out.flush()?;
        Ok(self.out)
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
        crate::read_manifest("test.yaml", docs)
            .unwrap()
            .into_iter()
            .map(|entry| entry.resource)
            .collect()
    }

    fn streamed(json: bool, items: &[AnyResource], revision: &str) -> String {
        let mut writer = ListWriter::begin(Vec::new(), json, "NetworkPolicy", revision).unwrap();
        for item in items {
            writer.item(item).unwrap();
        }
        String::from_utf8(writer.finish().unwrap()).unwrap()
    }

    #[test]
    fn streamed_lists_print_as_whole_lists_do() {
        let all = resources();
        for count in 0..=all.len() {
            for revision in ["", "42"] {
                let items = &all[..count];
                let metadata = ListMeta {
                    resource_version: revision.into(),
                };
                let whole = List {
                    kind: "NetworkPolicy",
                    metadata: &metadata,
                    items,
                };
                assert_eq!(streamed(true, items, revision), list_json(&whole).unwrap());
                assert_eq!(streamed(false, items, revision), list_yaml(&whole).unwrap());
            }
        }
    }
}
