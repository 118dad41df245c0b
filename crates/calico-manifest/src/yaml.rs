//! YAML output as calicoctl prints it.
//!
//! calicoctl turns its JSON into YAML with sigs.k8s.io/yaml (go-yaml v2 underneath): map keys
//! sorted, two-space indentation, sequences not indented below their key, and strings left
//! plain unless YAML 1.1 would read them as something else (`"true"`, `"123"`, timestamps,
//! `"10:30"`) or they cannot be written plain (`'!has(x)'`, `''`), in which case go-yaml
//! picks single quotes where it can and double quotes otherwise. This module reproduces that.

use std::fmt::Write;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

/// Renders a JSON value as go-yaml v2 would (keys sorted), ending with a newline.
pub fn to_yaml_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_mapping(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_sequence(&mut out, items, 0),
        scalar => {
            out.push_str(&scalar_text(scalar, 0));
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push(' ');
    }
}

fn sorted(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

fn write_mapping(out: &mut String, map: &Map<String, Value>, level: usize) {
    for (i, (key, value)) in sorted(map).into_iter().enumerate() {
        if i > 0 {
            indent(out, level);
        }
        out.push_str(&string_scalar(key, level));
        out.push(':');
        write_value_after_key(out, value, level);
    }
}

fn write_value_after_key(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            indent(out, level + 2);
            write_mapping(out, map, level + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            // go-yaml writes block sequences at the same indentation as their key.
            out.push('\n');
            indent(out, level);
            write_sequence(out, items, level);
        }
        scalar => {
            out.push(' ');
            out.push_str(&scalar_text(scalar, level + 2));
            out.push('\n');
        }
    }
}

fn write_sequence(out: &mut String, items: &[Value], level: usize) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            indent(out, level);
        }
        out.push('-');
        match item {
            Value::Object(map) if !map.is_empty() => {
                out.push(' ');
                write_mapping(out, map, level + 2);
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push(' ');
                write_sequence(out, inner, level + 2);
            }
            scalar => {
                out.push(' ');
                out.push_str(&scalar_text(scalar, level + 2));
                out.push('\n');
            }
        }
    }
}

fn scalar_text(value: &Value, level: usize) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number_text(n),
        Value::String(s) => string_scalar(s, level),
        Value::Object(_) => "{}".to_string(),
        Value::Array(_) => "[]".to_string(),
    }
}

/// go-yaml reads JSON numbers back as int64 when they are whole and as float64 otherwise, and
/// writes floats with Go's `%g`-like shortest form (`1e+06`).
fn number_text(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    go_float_g(f)
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`.
pub fn go_float_g(f: f64) -> String {
    calico_api::json::format_go_float(f, 'g')
}

static YAML_FLOAT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
        .unwrap_or_else(|_| unreachable!())
});
static BASE60_FLOAT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
        .unwrap_or_else(|_| unreachable!())
});
static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(([Tt]| )[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\.[0-9]*)?(Z|[-+][0-9]{1,2}(:[0-9]{2})?)?)?$",
    )
    .unwrap_or_else(|_| unreachable!())
});

const YAML11_SPECIAL: &[&str] = &[
    "", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
    "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
    ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf",
    "-.INF", "<<",
];

/// Whether go-yaml's resolver would read the plain text as something other than a string.
fn resolves_to_non_string(s: &str) -> bool {
    if YAML11_SPECIAL.contains(&s) {
        return true;
    }
    let Some(first) = s.chars().next() else {
        return true;
    };
    if !(first.is_ascii_digit() || matches!(first, '+' | '-' | '.')) {
        return false;
    }
    let plain = s.replace('_', "");
    TIMESTAMP.is_match(s)
        || parses_as_go_int(&plain)
        || YAML_FLOAT.is_match(&plain)
        || plain.starts_with("0b")
        || plain.starts_with("-0b")
        || BASE60_FLOAT.is_match(s)
}

/// Go's `strconv.ParseInt(s, 0, 64)` / `ParseUint` acceptance: decimal, `0x`, `0o`, `0b`, or a
/// leading-zero octal, with an optional sign.
fn parses_as_go_int(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() {
        return false;
    }
    let lower = body.to_ascii_lowercase();
    let (digits, radix) = if let Some(hex) = lower.strip_prefix("0x") {
        (hex, 16)
    } else if let Some(oct) = lower.strip_prefix("0o") {
        (oct, 8)
    } else if let Some(bin) = lower.strip_prefix("0b") {
        (bin, 2)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (&lower[1..], 8)
    } else {
        (lower.as_str(), 10)
    };
    !digits.is_empty() && u128::from_str_radix(digits, radix).is_ok_and(|v| v <= u64::MAX as u128)
}

/// What libyaml's analysis allows for a scalar in block context.
struct Analysis {
    plain: bool,
    single_quoted: bool,
}

fn analyse(s: &str) -> Analysis {
    let mut plain = true;
    let mut single_quoted = true;
    if s.starts_with("---") || s.starts_with("...") {
        plain = false;
    }
    let chars: Vec<char> = s.chars().collect();
    let mut previous_space = false;
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        let followed_by_blank = next.is_none_or(|n| n == ' ' || n == '\t');
        if i == 0 {
            if matches!(
                c,
                '#' | ','
                    | '['
                    | ']'
                    | '{'
                    | '}'
                    | '&'
                    | '*'
                    | '!'
                    | '|'
                    | '>'
                    | '\''
                    | '"'
                    | '%'
                    | '@'
                    | '`'
            ) {
                plain = false;
            }
            if matches!(c, '?' | ':' | '-') && followed_by_blank {
                plain = false;
            }
        } else {
            if c == ':' && followed_by_blank {
                plain = false;
            }
            if c == '#' && previous_space {
                plain = false;
            }
        }
        if c == '\n' || c == '\r' || (c.is_control() && c != '\t') || c == '\u{feff}' {
            plain = false;
            single_quoted = false;
        }
        previous_space = c == ' ' || c == '\t';
    }
    if s.starts_with(' ') || s.ends_with(' ') || s.starts_with('\t') || s.ends_with('\t') {
        plain = false;
    }
    Analysis {
        plain,
        single_quoted,
    }
}

/// A string scalar as go-yaml writes it.
fn string_scalar(s: &str, level: usize) -> String {
    if s.contains('\n') && !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return literal_block(s, level);
    }
    // go-yaml asks for double quotes when the text would read back as another type; when it
    // asks for plain but the emitter cannot write it plain, the emitter falls back to single
    // quotes, and to double quotes when single ones cannot hold the text either.
    if resolves_to_non_string(s) {
        return double_quoted(s);
    }
    let analysis = analyse(s);
    if analysis.plain {
        return s.to_string();
    }
    if analysis.single_quoted {
        return format!("'{}'", s.replace('\'', "''"));
    }
    double_quoted(s)
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() || c == '\u{feff}' => {
                let code = c as u32;
                if code <= 0xff {
                    let _ = write!(out, "\\x{code:02X}");
                } else {
                    let _ = write!(out, "\\u{code:04X}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `|`-style block for multi-line strings, with go-yaml's chomping indicator.
fn literal_block(s: &str, level: usize) -> String {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let indicator = if s.starts_with(' ') { "2" } else { "" };
    let mut out = format!("|{indicator}{chomp}");
    let body = if trailing == 1 {
        &s[..s.len() - 1]
    } else if trailing == 0 {
        s
    } else {
        &s[..s.len() - 1]
    };
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            indent(&mut out, level);
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lays_out_like_go_yaml() {
        let value = json!({
            "kind": "IPPool",
            "apiVersion": "projectcalico.org/v3",
            "metadata": {"name": "pool", "resourceVersion": "123",
                         "creationTimestamp": "2026-01-01T00:00:00Z", "labels": {}},
            "spec": {"cidr": "10.0.0.0/16", "blockSize": 26, "natOutgoing": true,
                     "nodeSelector": "all()", "allowedUses": ["Workload", "Tunnel"],
                     "empty": [], "rules": [{"action": "Allow", "ports": [80, "1000:2000"]}]}
        });
        assert_eq!(
            to_yaml_string(&value),
            "\
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  creationTimestamp: \"2026-01-01T00:00:00Z\"
  labels: {}
  name: pool
  resourceVersion: \"123\"
spec:
  allowedUses:
  - Workload
  - Tunnel
  blockSize: 26
  cidr: 10.0.0.0/16
  empty: []
  natOutgoing: true
  nodeSelector: all()
  rules:
  - action: Allow
    ports:
    - 80
    - 1000:2000
"
        );
    }

    #[test]
    fn quotes_like_go_yaml() {
        let cases = [
            ("plain", "plain"),
            ("", "\"\""),
            ("true", "\"true\""),
            ("yes", "\"yes\""),
            ("123", "\"123\""),
            ("0x1f", "\"0x1f\""),
            ("1.5", "\"1.5\""),
            ("1e3", "\"1e3\""),
            ("10:30", "\"10:30\""),
            ("2026-01-01", "\"2026-01-01\""),
            ("null", "\"null\""),
            ("!has(x)", "'!has(x)'"),
            ("app == 'web'", "app == 'web'"),
            ("'quoted'", "'''quoted'''"),
            ("a: b", "'a: b'"),
            ("x #y", "'x #y'"),
            (" lead", "' lead'"),
            ("- item", "'- item'"),
            ("*", "'*'"),
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("192.168.1.1", "192.168.1.1"),
            ("a\tb", "a\tb"),
        ];
        for (input, expected) in cases {
            assert_eq!(string_scalar(input, 0), expected, "for {input:?}");
        }
    }

    #[test]
    fn numbers_and_multiline() {
        assert_eq!(to_yaml_string(&json!({"order": 1e6})), "order: 1e+06\n");
        assert_eq!(to_yaml_string(&json!({"order": 100.5})), "order: 100.5\n");
        assert_eq!(to_yaml_string(&json!({"order": 1000})), "order: 1000\n");
        assert_eq!(
            to_yaml_string(&json!({"a": {"b": "line1\nline2\n"}})),
            "a:\n  b: |\n    line1\n    line2\n"
        );
        assert_eq!(to_yaml_string(&json!(null)), "null\n");
        assert_eq!(to_yaml_string(&json!([])), "[]\n");
        assert_eq!(
            to_yaml_string(&json!([{"a": 1}, [1, 2]])),
            "- a: 1\n- - 1\n  - 2\n"
        );
    }
}
