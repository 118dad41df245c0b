//! Kubernetes label selectors (`=`, `==`, `!=`, `in`, `notin`, `key`, `!key`, `>`, `<`) and
//! field selectors (`=`, `==`, `!=` on a few dotted fields).

use serde_json::Value;

use crate::status::ApiError;

#[derive(Debug, Clone, PartialEq)]
enum Req {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
    Gt(String, i64),
    Lt(String, i64),
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LabelSelector(Vec<Req>);

fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn bad(sel: &str, why: &str) -> ApiError {
    ApiError::bad_request(format!(
        "unable to parse requirement: {why} (in selector {sel:?})"
    ))
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
}

fn parse_set(sel: &str, rest: &str) -> Result<Vec<String>, ApiError> {
    let rest = rest.trim();
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| bad(sel, "found '(' expected: set of values in parentheses"))?;
    Ok(inner.split(',').map(|v| v.trim().to_string()).collect())
}

impl LabelSelector {
    /// Parses a selector string as `labelSelector=` takes it.
    pub fn parse(sel: &str) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        if sel.trim().is_empty() {
            return Ok(LabelSelector(reqs));
        }
        for part in split_top_level(sel) {
            let part = part.trim();
            if let Some(key) = part.strip_prefix('!') {
                let key = key.trim();
                if !valid_key(key) {
                    return Err(bad(sel, "invalid label key"));
                }
                reqs.push(Req::NotExists(key.to_string()));
                continue;
            }
            let key_end = part
                .find(|c: char| c.is_whitespace() || "=!<>(".contains(c))
                .unwrap_or(part.len());
            let key = &part[..key_end];
            if !valid_key(key) {
                return Err(bad(sel, "invalid label key"));
            }
            let rest = part[key_end..].trim_start();
            let req = if rest.is_empty() {
                Req::Exists(key.into())
            } else if let Some(v) = rest.strip_prefix("==").or_else(|| rest.strip_prefix('=')) {
                Req::Eq(key.into(), v.trim().into())
            } else if let Some(v) = rest.strip_prefix("!=") {
                Req::NotEq(key.into(), v.trim().into())
            } else if let Some(v) = rest.strip_prefix('>') {
                Req::Gt(
                    key.into(),
                    v.trim().parse().map_err(|_| {
                        bad(
                            sel,
                            "for 'Gt', 'Lt' operators, the value must be an integer",
                        )
                    })?,
                )
            } else if let Some(v) = rest.strip_prefix('<') {
                Req::Lt(
                    key.into(),
                    v.trim().parse().map_err(|_| {
                        bad(
                            sel,
                            "for 'Gt', 'Lt' operators, the value must be an integer",
                        )
                    })?,
                )
            } else if let Some(v) = rest.strip_prefix("notin") {
                Req::NotIn(key.into(), parse_set(sel, v)?)
            } else if let Some(v) = rest.strip_prefix("in") {
                Req::In(key.into(), parse_set(sel, v)?)
            } else {
                return Err(bad(sel, "found unexpected operator"));
            };
            reqs.push(req);
        }
        Ok(LabelSelector(reqs))
    }

    /// Whether an object (its `metadata.labels`) matches.
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels");
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => get(k) == Some(v.as_str()),
            Req::NotEq(k, v) => get(k) != Some(v.as_str()),
            Req::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Req::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Req::Exists(k) => get(k).is_some(),
            Req::NotExists(k) => get(k).is_none(),
            Req::Gt(k, n) => get(k)
                .and_then(|x| x.parse::<i64>().ok())
                .is_some_and(|x| x > *n),
            Req::Lt(k, n) => get(k)
                .and_then(|x| x.parse::<i64>().ok())
                .is_some_and(|x| x < *n),
        })
    }

    /// Whether the selector is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A parsed field selector.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldSelector(Vec<(String, bool, String)>);

/// Fields every resource supports.
const COMMON_FIELDS: [&str; 2] = ["metadata.name", "metadata.namespace"];

/// Extra fields per plural (the ones Calico and kubectl use).
fn extra_fields(plural: &str) -> &'static [&'static str] {
    match plural {
        "pods" => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
        ],
        "namespaces" => &["status.phase"],
        "nodes" => &["spec.unschedulable"],
        _ => &[],
    }
}

impl FieldSelector {
    /// Parses `fieldSelector=` for the resource with this plural.
    pub fn parse(sel: &str, plural: &str) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        if sel.trim().is_empty() {
            return Ok(FieldSelector(reqs));
        }
        for part in sel.split(',') {
            let (field, eq, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, true, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{sel}'; can't understand '{part}'"
                )));
            };
            let field = field.trim();
            if !COMMON_FIELDS.contains(&field) && !extra_fields(plural).contains(&field) {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {field}"
                )));
            }
            reqs.push((field.to_string(), eq, value.trim().to_string()));
        }
        Ok(FieldSelector(reqs))
    }

    /// Whether an object matches.
    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(field, eq, value)| {
            let mut cur = Some(obj);
            for seg in field.split('.') {
                cur = cur.and_then(|c| c.get(seg));
            }
            let actual = match cur {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            (actual == *value) == *eq
        })
    }

    /// Whether the selector is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(labels: Value) -> Value {
        json!({"metadata": {"name": "a", "namespace": "ns1", "labels": labels}, "spec": {"nodeName": "n1"}})
    }

    #[test]
    fn label_operators() {
        let o = obj(json!({"app": "web", "tier": "front", "n": "5"}));
        let cases = [
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app!=db", true),
            ("missing!=x", true),
            ("app in (web, db)", true),
            ("app in (db)", false),
            ("app notin (db)", true),
            ("app notin (web)", false),
            ("missing notin (web)", true),
            ("app", true),
            ("!app", false),
            ("!missing", true),
            ("app=web,tier=front", true),
            ("app=web,tier in (back)", false),
            ("n>4", true),
            ("n<4", false),
        ];
        for (sel, want) in cases {
            assert_eq!(
                LabelSelector::parse(sel).unwrap().matches(&o),
                want,
                "{sel}"
            );
        }
    }

    #[test]
    fn label_parse_errors() {
        for sel in ["app in web", "=x", "a b", "n>x"] {
            let err = LabelSelector::parse(sel).unwrap_err();
            assert_eq!(err.code, 400, "{sel}");
        }
    }

    #[test]
    fn field_selectors() {
        let o = obj(json!({}));
        assert!(FieldSelector::parse("metadata.name=a", "ippools")
            .unwrap()
            .matches(&o));
        assert!(!FieldSelector::parse("metadata.name!=a", "ippools")
            .unwrap()
            .matches(&o));
        assert!(
            FieldSelector::parse("metadata.namespace==ns1,metadata.name=a", "ippools")
                .unwrap()
                .matches(&o)
        );
        assert!(FieldSelector::parse("spec.nodeName=n1", "pods")
            .unwrap()
            .matches(&o));
        let err = FieldSelector::parse("spec.nodeName=n1", "ippools").unwrap_err();
        assert_eq!(err.message, "field label not supported: spec.nodeName");
    }
}
