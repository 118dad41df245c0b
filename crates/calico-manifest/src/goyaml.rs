//! YAML to JSON the way calicoctl reads a manifest: go-yaml v2 (YAML 1.1 scalars) under
//! `sigs.k8s.io/yaml`. Hand-written because it must match Go's results and texts:
//!
//! - plain scalars resolve as go-yaml v2's `resolve` does: `yes`/`no`/`on`/`off`/`y`/`n` are
//!   booleans, `0x10`, `0o17`, `017`, `0b101` and `1_000` integers, `.5`, `1e3` floats, `~`
//!   null; quoted and block scalars are strings; timestamps stay strings;
//! - map keys become strings as `sigs.k8s.io/yaml` writes them (`true`, `16`, floats with
//!   float32 `%g`);
//! - a key given twice in one mapping is what `UnmarshalStrict` reports
//!   (`line 7: key "order" already set in map`, the line of the second value); the value
//!   returned keeps the last one, as the non-strict reading does.

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};

/// A resolved YAML node.
#[derive(Clone, Debug)]
enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries with the line (0-based) of each value, for duplicate-key messages.
    Map(Vec<(Node, Node, usize)>),
}

/// Why a document could not be converted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum YamlError {
    /// Not valid YAML: `yaml: line N: ...`.
    Syntax(String),
    /// Not representable as JSON (a null key, NaN): Go's text.
    Convert(String),
}

/// A document as JSON, and the problems strict decoding would report (duplicate keys), each
/// as go-yaml words it (`line 7: key "order" already set in map`).
#[derive(Clone, Debug, PartialEq)]
pub struct Converted {
    pub value: Value,
    pub strict_errors: Vec<String>,
}

/// Converts one YAML document (the first in `text`) to JSON. An empty document is `null`.
pub fn yaml_to_json(text: &str) -> Result<Converted, YamlError> {
    let node = parse(text)?;
    let mut strict_errors = Vec::new();
    let value = to_json(node.unwrap_or(Node::Null), &mut strict_errors)?;
    Ok(Converted {
        value,
        strict_errors,
    })
}

fn syntax_error(err: &granit_parser::ScanError) -> YamlError {
    // go-yaml numbers lines from 1 as we do; its wording of problems is libyaml's, which the
    // parser here shares for the common ones ("did not find expected key", ...).
    let info = err.info();
    // libyaml's words for the problems both parsers name differently.
    let problem = match info.as_str() {
        "unclosed bracket '['" => "did not find expected ',' or ']'".to_string(),
        "unclosed bracket '{'" => "did not find expected ',' or '}'".to_string(),
        _ => info,
    };
    YamlError::Syntax(format!("yaml: line {}: {problem}", err.marker().line()))
}

/// Builds the node tree of the first document.
fn parse(text: &str) -> Result<Option<Node>, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    // Open collections: the node being built, its anchor, and for maps a pending key.
    enum Open {
        Seq(Vec<Node>, usize, usize),
        Map(Vec<(Node, Node, usize)>, usize, Option<Node>, usize),
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;

    // Places a finished node into its parent (or as the root).
    fn place(stack: &mut [Open], root: &mut Option<Node>, node: Node, line: usize) {
        match stack.last_mut() {
            Some(Open::Seq(items, _, _)) => items.push(node),
            Some(Open::Map(entries, _, pending, _)) => match pending.take() {
                Some(key) => entries.push((key, node, line)),
                None => *pending = Some(node),
            },
            None => *root = Some(node),
        }
    }

    for event in parser.by_ref() {
        let (event, span): (Event<'_>, Span) = event.map_err(|e| syntax_error(&e))?;
        let line = span.start.line().saturating_sub(1);
        match event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    break;
                }
            }
            Event::DocumentEnd if documents >= 1 && stack.is_empty() => break,
            Event::Scalar(text, style, anchor, tag) => {
                let node = resolve_scalar(&text, style, tag.as_deref());
                if anchor != 0 {
                    anchors.insert(anchor, node.clone());
                }
                place(&mut stack, &mut root, node, line);
            }
            Event::Alias(id) => {
                let node = anchors.get(&id).cloned().unwrap_or(Node::Null);
                place(&mut stack, &mut root, node, line);
            }
            Event::SequenceStart(_, anchor, _) => stack.push(Open::Seq(Vec::new(), anchor, line)),
            Event::MappingStart(_, anchor, _) => {
                stack.push(Open::Map(Vec::new(), anchor, None, line))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                // A collection value's line is where it starts, as go-yaml marks it.
                let (node, anchor, start_line) = match stack.pop() {
                    Some(Open::Seq(items, anchor, start)) => (Node::Seq(items), anchor, start),
                    Some(Open::Map(entries, anchor, _, start)) => {
                        (Node::Map(entries), anchor, start)
                    }
                    None => continue,
                };
                if anchor != 0 {
                    anchors.insert(anchor, node.clone());
                }
                place(&mut stack, &mut root, node, start_line);
            }
            _ => {}
        }
    }
    Ok(root)
}

/// go-yaml v2's `resolve` for a scalar.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&granit_parser::Tag>) -> Node {
    let core = tag.and_then(|t| t.core_suffix());
    match core {
        Some("str") => return Node::Str(text.to_string()),
        Some("null") => return Node::Null,
        _ => {}
    }
    if style != ScalarStyle::Plain && core.is_none() {
        return Node::Str(text.to_string());
    }
    if tag.is_some() && core.is_none() {
        // A tag of its own: go-yaml keeps the text.
        return Node::Str(text.to_string());
    }
    let resolved = resolve_plain(text);
    match (core, &resolved) {
        (Some("float"), Node::Int(i)) => {
            // Integer text under !!float is a float.
            #[allow(clippy::cast_precision_loss)]
            Node::Float(*i as f64)
        }
        _ => resolved,
    }
}

/// Resolution of a plain scalar (go-yaml v2 `resolve` with no tag).
fn resolve_plain(text: &str) -> Node {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Node::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Node::Bool(false)
        }
        "" | "~" | "null" | "Null" | "NULL" => return Node::Null,
        ".nan" | ".NaN" | ".NAN" => return Node::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Node::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Node::Float(f64::NEG_INFINITY),
        _ => {}
    }
    let first = text.as_bytes()[0];
    match first {
        b'.' => {
            if let Some(f) = go_parse_float(text) {
                return Node::Float(f);
            }
        }
        b'0'..=b'9' | b'+' | b'-' => {
            if looks_like_timestamp(text) {
                return Node::Str(text.to_string());
            }
            let plain: String = text.chars().filter(|c| *c != '_').collect();
            if let Some(i) = go_parse_int(&plain) {
                return i;
            }
            if is_yaml_style_float(&plain) {
                if let Some(f) = go_parse_float(&plain) {
                    return Node::Float(f);
                }
            }
            if let Some(rest) = plain.strip_prefix("0b") {
                if let Ok(i) = i64::from_str_radix(rest, 2) {
                    return Node::Int(i);
                }
                if let Ok(u) = u64::from_str_radix(rest, 2) {
                    return Node::Uint(u);
                }
            } else if let Some(rest) = plain.strip_prefix("-0b") {
                if let Ok(i) = i64::from_str_radix(&format!("-{rest}"), 2) {
                    return Node::Int(i);
                }
            }
        }
        _ => {}
    }
    Node::Str(text.to_string())
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint(s, 0, 64)`: an optional sign, then
/// `0x`/`0o`/`0b` or a leading `0` (octal) prefix, else decimal.
fn go_parse_int(s: &str) -> Option<Node> {
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string())
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string())
    } else {
        (10, lower)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(&digits, radix).ok()?;
    if negative {
        let limit = u128::from(i64::MAX.unsigned_abs()) + 1;
        if magnitude > limit {
            return None;
        }
        if magnitude == limit {
            return Some(Node::Int(i64::MIN));
        }
        return i64::try_from(magnitude).ok().map(|m| Node::Int(-m));
    }
    if let Ok(i) = i64::try_from(magnitude) {
        return Some(Node::Int(i));
    }
    // Unsigned parsing takes no sign at all.
    if s.starts_with('+') {
        return None;
    }
    u64::try_from(magnitude).ok().map(Node::Uint)
}

/// go-yaml's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat(s, 64)` for the decimal forms YAML gives it (no hex floats, no
/// underscores, no `inf`/`nan` words, which the caller has handled).
fn go_parse_float(s: &str) -> Option<f64> {
    let body = s.trim_start_matches(['+', '-']);
    if body.is_empty()
        || !body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
    {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    // Out of range is an error in Go (ParseFloat returns ±Inf with ErrRange).
    f.is_finite().then_some(f)
}

/// Whether go-yaml would read the text as a timestamp (it then keeps it as a string when the
/// target is untyped): four digits and `-`, then one of its layouts.
fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits != 4 || b.get(4) != Some(&b'-') {
        return false;
    }
    // Date only, or date and time: ours is only to keep such text a string, which a
    // non-matching layout does too (it is a string either way unless it is a number).
    true
}

/// The JSON text of a map key, as `sigs.k8s.io/yaml` writes it.
fn key_string(key: &Node) -> Result<String, YamlError> {
    Ok(match key {
        Node::Str(s) => s.clone(),
        Node::Int(i) => i.to_string(),
        Node::Uint(u) => u.to_string(),
        Node::Float(f) => match calico_api::decode::go_format_float32_g(*f).as_str() {
            "+Inf" => ".inf".to_string(),
            "-Inf" => "-.inf".to_string(),
            "NaN" => ".nan".to_string(),
            other => other.to_string(),
        },
        Node::Bool(b) => b.to_string(),
        Node::Null => {
            return Err(YamlError::Convert(
                "unsupported map key of type: %!s(<nil>), key: <nil>".to_string(),
            ))
        }
        Node::Seq(_) | Node::Map(_) => {
            return Err(YamlError::Convert("invalid map key".to_string()));
        }
    })
}

/// Go's `%#v` of a resolved key, for duplicate-key messages.
fn key_go_syntax(key: &Node) -> String {
    match key {
        Node::Str(s) => serde_json::to_string(s).unwrap_or_default(),
        Node::Int(i) => i.to_string(),
        Node::Uint(u) => format!("0x{u:x}"),
        Node::Float(f) => calico_api::decode::go_format_float64_g(*f),
        Node::Bool(b) => b.to_string(),
        Node::Null => "<nil>".to_string(),
        Node::Seq(_) | Node::Map(_) => "<collection>".to_string(),
    }
}

/// Whether two resolved keys are the same map key in go-yaml's `map[interface{}]interface{}`.
fn same_key(a: &Node, b: &Node) -> bool {
    match (a, b) {
        (Node::Str(x), Node::Str(y)) => x == y,
        (Node::Int(x), Node::Int(y)) => x == y,
        (Node::Uint(x), Node::Uint(y)) => x == y,
        (Node::Float(x), Node::Float(y)) => x == y,
        (Node::Bool(x), Node::Bool(y)) => x == y,
        (Node::Null, Node::Null) => true,
        _ => false,
    }
}

fn to_json(node: Node, strict_errors: &mut Vec<String>) -> Result<Value, YamlError> {
    Ok(match node {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(b),
        Node::Int(i) => Value::Number(i.into()),
        Node::Uint(u) => Value::Number(u.into()),
        Node::Float(f) => match Number::from_f64(f) {
            Some(n) => Value::Number(n),
            None => {
                return Err(YamlError::Convert(format!(
                    "json: unsupported value: {}",
                    calico_api::decode::go_format_float64_g(f)
                )))
            }
        },
        Node::Str(s) => Value::String(s),
        Node::Seq(items) => Value::Array(
            items
                .into_iter()
                .map(|item| to_json(item, strict_errors))
                .collect::<Result<_, _>>()?,
        ),
        Node::Map(entries) => {
            let mut seen: Vec<Node> = Vec::with_capacity(entries.len());
            let mut map = Map::new();
            for (key, value, line) in entries {
                if seen.iter().any(|k| same_key(k, &key)) {
                    strict_errors.push(format!(
                        "line {}: key {} already set in map",
                        line + 1,
                        key_go_syntax(&key)
                    ));
                } else {
                    seen.push(key.clone());
                }
                let text = key_string(&key)?;
                let value = to_json(value, strict_errors)?;
                map.insert(text, value);
            }
            Value::Object(map)
        }
    })
}

#[cfg(test)]
mod tests;
