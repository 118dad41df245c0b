//! Members of a stored document that our types do not know, kept so that writing the resource
//! back does not erase them.
//!
//! Calico adds fields every release. Calico's own Go client drops what it does not know when it
//! reads and writes back; we go further: a resource read from the datastore carries its unknown
//! members ([`Unknown`]), and the datastore codecs put them back into the bytes they write
//! ([`Unknown::merge_into`]). Known fields keep exactly the bytes our encoder writes; unknown
//! members are appended after the known ones of the object that held them.

use serde_json::Value;

use crate::decode::{PathSegment, UnknownMember};

/// Unknown members, each with the path of the object that held it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Unknown(Vec<UnknownMember>);

impl Unknown {
    /// From the members a decode collected.
    pub fn from_members(members: Vec<UnknownMember>) -> Self {
        Unknown(members)
    }

    /// Whether there is nothing to keep.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The kept members.
    pub fn members(&self) -> &[UnknownMember] {
        &self.0
    }

    /// Puts the kept members into a JSON value (for stores that take a value, not bytes); the
    /// same rules as [`Unknown::merge_into`].
    pub fn merge_into_value(&self, value: &mut Value) {
        fn find<'v>(value: &'v mut Value, path: &[PathSegment]) -> Option<&'v mut Value> {
            let Some((first, rest)) = path.split_first() else {
                return Some(value);
            };
            let next = match (value, first) {
                (Value::Object(map), PathSegment::Key(key)) => map.get_mut(key),
                (Value::Array(items), PathSegment::Index(i)) => items.get_mut(*i),
                _ => None,
            }?;
            find(next, rest)
        }
        for member in &self.0 {
            if let Some(Value::Object(map)) = find(value, &member.parent) {
                map.entry(member.key.clone())
                    .or_insert_with(|| member.value.clone());
            }
        }
    }

    /// Writes the kept members into `json` (a compact JSON object, as our encoder writes it),
    /// each into the object at its path, after that object's own members. A member whose
    /// object no longer exists (an edit removed it), or whose key is now taken, is dropped.
    /// `encode` writes a value (Go's escaping).
    pub fn merge_into(
        &self,
        json: &[u8],
        encode: impl Fn(&Value) -> Option<Vec<u8>>,
    ) -> Option<Vec<u8>> {
        if self.0.is_empty() {
            return Some(json.to_vec());
        }
        let text = std::str::from_utf8(json).ok()?;
        let mut parser = Parser { text, at: 0 };
        let mut root = parser.value()?;
        for member in &self.0 {
            let Some(Node::Object(members)) = root.find_mut(&member.parent) else {
                continue;
            };
            if members.iter().any(|(key, _)| key.name == member.key) {
                continue;
            }
            let key = encode(&Value::String(member.key.clone()))?;
            let value = encode(&member.value)?;
            members.push((
                Key {
                    raw: String::from_utf8(key).ok()?.into(),
                    name: member.key.clone(),
                },
                Node::Owned(String::from_utf8(value).ok()?),
            ));
        }
        let mut out = String::with_capacity(json.len() + 64);
        root.write(&mut out);
        Some(out.into_bytes())
    }
}

/// An order-keeping view of a JSON text: only objects and arrays are taken apart.
enum Node<'a> {
    Object(Vec<(Key<'a>, Node<'a>)>),
    Array(Vec<Node<'a>>),
    Raw(&'a str),
    Owned(String),
}

struct Key<'a> {
    /// As written, quotes and escapes included.
    raw: std::borrow::Cow<'a, str>,
    /// Decoded.
    name: String,
}

impl<'a> Node<'a> {
    fn find_mut(&mut self, path: &[PathSegment]) -> Option<&mut Node<'a>> {
        let Some((first, rest)) = path.split_first() else {
            return Some(self);
        };
        match (self, first) {
            (Node::Object(members), PathSegment::Key(key)) => members
                .iter_mut()
                .find(|(k, _)| k.name == *key)
                .and_then(|(_, node)| node.find_mut(rest)),
            (Node::Array(items), PathSegment::Index(i)) => {
                items.get_mut(*i).and_then(|node| node.find_mut(rest))
            }
            _ => None,
        }
    }

    fn write(&self, out: &mut String) {
        match self {
            Node::Object(members) => {
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&key.raw);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
            Node::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Node::Raw(text) => out.push_str(text),
            Node::Owned(text) => out.push_str(text),
        }
    }
}

/// A minimal reader of well-formed JSON; `None` on anything else.
struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Parser<'a> {
    fn skip_space(&mut self) {
        let bytes = self.text.as_bytes();
        while self.at < bytes.len() && bytes[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn value(&mut self) -> Option<Node<'a>> {
        self.skip_space();
        match self.peek()? {
            b'{' => {
                self.at += 1;
                let mut members = Vec::new();
                self.skip_space();
                if self.peek()? == b'}' {
                    self.at += 1;
                    return Some(Node::Object(members));
                }
                loop {
                    self.skip_space();
                    let raw = self.string()?;
                    let name: String = serde_json::from_str(raw).ok()?;
                    self.skip_space();
                    if self.peek()? != b':' {
                        return None;
                    }
                    self.at += 1;
                    let value = self.value()?;
                    members.push((
                        Key {
                            raw: raw.into(),
                            name,
                        },
                        value,
                    ));
                    self.skip_space();
                    match self.peek()? {
                        b',' => self.at += 1,
                        b'}' => {
                            self.at += 1;
                            return Some(Node::Object(members));
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                self.skip_space();
                if self.peek()? == b']' {
                    self.at += 1;
                    return Some(Node::Array(items));
                }
                loop {
                    items.push(self.value()?);
                    self.skip_space();
                    match self.peek()? {
                        b',' => self.at += 1,
                        b']' => {
                            self.at += 1;
                            return Some(Node::Array(items));
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => self.string().map(Node::Raw),
            _ => {
                let start = self.at;
                let bytes = self.text.as_bytes();
                while self.at < bytes.len()
                    && !matches!(bytes[self.at], b',' | b'}' | b']')
                    && !bytes[self.at].is_ascii_whitespace()
                {
                    self.at += 1;
                }
                (self.at > start).then(|| Node::Raw(&self.text[start..self.at]))
            }
        }
    }

    /// A string token, quotes included.
    fn string(&mut self) -> Option<&'a str> {
        let bytes = self.text.as_bytes();
        if bytes.get(self.at) != Some(&b'"') {
            return None;
        }
        let start = self.at;
        self.at += 1;
        while self.at < bytes.len() {
            match bytes[self.at] {
                b'\\' => self.at += 2,
                b'"' => {
                    self.at += 1;
                    return self.text.get(start..self.at);
                }
                _ => self.at += 1,
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn member(parent: &[PathSegment], key: &str, value: Value) -> UnknownMember {
        UnknownMember {
            parent: parent.to_vec(),
            key: key.into(),
            value,
        }
    }

    fn encode(v: &Value) -> Option<Vec<u8>> {
        crate::json::to_vec(v).ok()
    }

    #[test]
    fn merges_after_known_members_and_keeps_their_bytes() {
        let known =
            br#"{"kind":"IPPool","spec":{"cidr":"10.0.0.0/8","ingress":[{"a":1},{"b":"x<y"}]}}"#;
        let unknown = Unknown::from_members(vec![
            member(&[], "newTop", json!({"z": 1, "a": [true]})),
            member(&[PathSegment::Key("spec".into())], "future", json!("a&b")),
            member(
                &[
                    PathSegment::Key("spec".into()),
                    PathSegment::Key("ingress".into()),
                    PathSegment::Index(1),
                ],
                "extra",
                json!(2),
            ),
            // Its object is gone: dropped.
            member(&[PathSegment::Key("status".into())], "gone", json!(1)),
            // Now a known member: the known value wins.
            member(&[], "kind", json!("Other")),
        ]);
        let merged = unknown.merge_into(known, encode).unwrap();
        assert_eq!(
            String::from_utf8(merged).unwrap(),
            r#"{"kind":"IPPool","spec":{"cidr":"10.0.0.0/8","ingress":[{"a":1},{"b":"x<y","extra":2}],"future":"a\u0026b"},"newTop":{"a":[true],"z":1}}"#
        );
    }

    #[test]
    fn nothing_to_merge_is_the_same_bytes() {
        let known = br#"{"a":"\"}{,"}"#;
        let merged = Unknown::default().merge_into(known, encode).unwrap();
        assert_eq!(merged, known);
        let one = Unknown::from_members(vec![member(&[], "b", json!(null))]);
        assert_eq!(
            one.merge_into(known, encode).unwrap(),
            br#"{"a":"\"}{,","b":null}"#
        );
    }
}
