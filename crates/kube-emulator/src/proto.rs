//! Just enough of Kubernetes' protobuf encoding to accept what kubectl's typed clients send
//! (`kubectl create namespace`, `kubectl create serviceaccount`): the `k8s\0` envelope, TypeMeta,
//! and the object's ObjectMeta (name, generateName, namespace, resourceVersion, labels,
//! annotations, finalizers). Every other field of the object is dropped.

use serde_json::{json, Map, Value};

use crate::status::ApiError;

/// A field: its number and, for length-delimited fields, the payload.
type Field<'a> = (u64, Option<&'a [u8]>);

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn bad() -> ApiError {
    ApiError::bad_request("the body of the request was not valid protobuf")
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, ApiError> {
        let mut out = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or_else(bad)?;
            self.pos += 1;
            out |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(out);
            }
        }
        Err(bad())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ApiError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(bad)?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// Next (field number, length-delimited payload if wire type 2).
    fn next(&mut self) -> Result<Option<Field<'a>>, ApiError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = key >> 3;
        let payload = match key & 7 {
            0 => {
                self.varint()?;
                None
            }
            1 => {
                self.take(8)?;
                None
            }
            2 => {
                let n = usize::try_from(self.varint()?).map_err(|_| bad())?;
                Some(self.take(n)?)
            }
            5 => {
                self.take(4)?;
                None
            }
            _ => return Err(bad()),
        };
        Ok(Some((field, payload)))
    }
}

fn string(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn map_entry(b: &[u8]) -> Result<(String, String), ApiError> {
    let mut r = Reader::new(b);
    let (mut k, mut v) = (String::new(), String::new());
    while let Some((f, p)) = r.next()? {
        match (f, p) {
            (1, Some(p)) => k = string(p),
            (2, Some(p)) => v = string(p),
            _ => {}
        }
    }
    Ok((k, v))
}

fn object_meta(b: &[u8]) -> Result<Value, ApiError> {
    let mut r = Reader::new(b);
    let mut m = Map::new();
    let mut labels = Map::new();
    let mut annotations = Map::new();
    let mut finalizers = Vec::new();
    while let Some((f, p)) = r.next()? {
        let Some(p) = p else { continue };
        match f {
            1 => drop(m.insert("name".into(), json!(string(p)))),
            2 => drop(m.insert("generateName".into(), json!(string(p)))),
            3 => drop(m.insert("namespace".into(), json!(string(p)))),
            6 => drop(m.insert("resourceVersion".into(), json!(string(p)))),
            11 => {
                let (k, v) = map_entry(p)?;
                labels.insert(k, json!(v));
            }
            12 => {
                let (k, v) = map_entry(p)?;
                annotations.insert(k, json!(v));
            }
            14 => finalizers.push(json!(string(p))),
            _ => {}
        }
    }
    if !labels.is_empty() {
        m.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        m.insert("annotations".into(), Value::Object(annotations));
    }
    if !finalizers.is_empty() {
        m.insert("finalizers".into(), Value::Array(finalizers));
    }
    Ok(Value::Object(m))
}

/// Decodes a `application/vnd.kubernetes.protobuf` body into JSON (metadata only).
pub fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let rest = body.strip_prefix(b"k8s\0").ok_or_else(bad)?;
    let mut r = Reader::new(rest);
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), None);
    while let Some((f, p)) = r.next()? {
        match (f, p) {
            (1, Some(tm)) => {
                let mut t = Reader::new(tm);
                while let Some((tf, tp)) = t.next()? {
                    match (tf, tp) {
                        (1, Some(s)) => api_version = string(s),
                        (2, Some(s)) => kind = string(s),
                        _ => {}
                    }
                }
            }
            (2, Some(p)) => raw = Some(p),
            _ => {}
        }
    }
    let mut obj = json!({"apiVersion": api_version, "kind": kind, "metadata": {}});
    if let Some(raw) = raw {
        let mut o = Reader::new(raw);
        while let Some((f, p)) = o.next()? {
            if let (1, Some(meta)) = (f, p) {
                obj["metadata"] = object_meta(meta)?;
            }
        }
    }
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![(n << 3) | 2, payload.len() as u8];
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn decodes_namespace_envelope() {
        let type_meta = [field(1, b"v1"), field(2, b"Namespace")].concat();
        let label = [field(1, b"team"), field(2, b"a")].concat();
        let meta = [field(1, b"prod"), field(11, &label)].concat();
        let object = field(1, &meta);
        let body = [b"k8s\0".to_vec(), field(1, &type_meta), field(2, &object)].concat();
        let v = decode(&body).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod", "labels": {"team": "a"}}})
        );
        assert_eq!(decode(b"nope").unwrap_err().code, 400);
        assert_eq!(decode(b"k8s\0\x0a\x05ab").unwrap_err().code, 400);
    }
}
