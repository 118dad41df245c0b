//! YAML output as calicoctl prints it.
//!
//! calicoctl turns its JSON into YAML with sigs.k8s.io/yaml, i.e. go-yaml v2 (go.yaml.in/yaml/v2
//! v2.4.x): map keys sorted, two-space indentation, sequences not indented below their key,
//! strings plain unless go-yaml's resolver would read them back as another type, or libyaml's
//! scalar analysis forbids it, and long scalars folded at column 80 where they have spaces.
//! The scalar code below follows go-yaml's `stringv`, `resolve`, `yaml_emitter_analyze_scalar`,
//! `yaml_emitter_select_scalar_style` and its scalar writers rule for rule, because the output
//! must match byte for byte.

use std::fmt::Write;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

/// libyaml's preferred line width (go-yaml v2 leaves the default in place).
const BEST_WIDTH: usize = 80;

/// Renders a JSON value as go-yaml v2 would (keys sorted), ending with a newline.
pub fn to_yaml_string(value: &Value) -> String {
    let mut emitter = Emitter::default();
    match value {
        Value::Object(map) if !map.is_empty() => emitter.mapping(map, 0),
        Value::Array(items) if !items.is_empty() => emitter.sequence(items, 0),
        scalar => {
            // The root scalar: no space before it, continuation lines at column 0.
            emitter.whitespace = true;
            emitter.scalar(scalar, 0);
            emitter.end_line();
        }
    }
    emitter.out
}

/// The emitter's output and the state libyaml's writers consult.
#[derive(Default)]
struct Emitter {
    out: String,
    /// Characters since the last line break.
    column: usize,
    /// Whether the last thing written was whitespace (no separating space needed).
    whitespace: bool,
    /// Whether only indentation has been written on the current line.
    indention: bool,
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_str(&mut self, s: &str) {
        for c in s.chars() {
            self.put(c);
        }
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    /// `write_break`: a line feed becomes a newline; other breaks are copied.
    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn spaces(&mut self, n: usize) {
        for _ in 0..n {
            self.put(' ');
        }
    }

    /// `yaml_emitter_write_indent`.
    fn write_indent(&mut self, indent: usize) {
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    /// Ends the current line unless a block scalar already did.
    fn end_line(&mut self) {
        if self.column > 0 {
            self.put_break();
        }
    }

    /// `yaml_emitter_write_indicator`.
    fn indicator(&mut self, text: &str, need_whitespace: bool, is_whitespace: bool) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        self.put_str(text);
        self.whitespace = is_whitespace;
        self.indention = false;
    }

    fn mapping(&mut self, map: &Map<String, Value>, level: usize) {
        for (i, (key, value)) in sorted(map).into_iter().enumerate() {
            if i > 0 {
                self.spaces(level);
            }
            self.whitespace = true;
            self.string(key, level + 2, true);
            self.out.push(':');
            self.column += 1;
            self.whitespace = false;
            match value {
                Value::Object(map) if !map.is_empty() => {
                    self.put_break();
                    self.spaces(level + 2);
                    self.mapping(map, level + 2);
                }
                Value::Array(items) if !items.is_empty() => {
                    // go-yaml writes block sequences at the same indentation as their key.
                    self.put_break();
                    self.spaces(level);
                    self.sequence(items, level);
                }
                scalar => {
                    self.scalar(scalar, level + 2);
                    self.end_line();
                }
            }
        }
    }

    fn sequence(&mut self, items: &[Value], level: usize) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.spaces(level);
            }
            self.put('-');
            self.whitespace = false;
            match item {
                Value::Object(map) if !map.is_empty() => {
                    self.put(' ');
                    self.mapping(map, level + 2);
                }
                Value::Array(inner) if !inner.is_empty() => {
                    self.put(' ');
                    self.sequence(inner, level + 2);
                }
                scalar => {
                    self.scalar(scalar, level + 2);
                    self.end_line();
                }
            }
        }
    }

    /// A scalar value; `indent` is where its continuation lines start.
    fn scalar(&mut self, value: &Value, indent: usize) {
        let text = match value {
            Value::String(s) => return self.string(s, indent, false),
            Value::Null => "null".to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => number_text(n),
            Value::Object(_) => "{}".to_string(),
            Value::Array(_) => "[]".to_string(),
        };
        if !self.whitespace {
            self.put(' ');
        }
        self.put_str(&text);
        self.whitespace = false;
        self.indention = false;
    }

    /// A string, as go-yaml's `stringv` and libyaml's style selection write it; `simple_key`
    /// for map keys (never folded; multi-line or empty keys are quoted).
    fn string(&mut self, s: &str, indent: usize, simple_key: bool) {
        // Fast path for the common case (names, keys, modes): a word that starts with a letter
        // and has no space, quote or indicator is plain whatever its length, unless it is one
        // of YAML 1.1's special words.
        if s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'/' | b'_'))
            && !YAML11_SPECIAL.contains(&s)
        {
            if !self.whitespace {
                self.put(' ');
            }
            self.out.push_str(s);
            self.column += s.len();
            self.whitespace = false;
            self.indention = false;
            return;
        }
        let can_use_plain = !resolves_to_non_string(s) && !is_base60_float(s);
        let mut style = if s.contains('\n') {
            Style::Literal
        } else if can_use_plain {
            Style::Plain
        } else {
            Style::DoubleQuoted
        };
        let analysis = analyse(s);
        if simple_key && analysis.multiline {
            style = Style::DoubleQuoted;
        }
        if style == Style::Plain && (!analysis.block_plain_allowed || (s.is_empty() && simple_key))
        {
            style = Style::SingleQuoted;
        }
        if style == Style::SingleQuoted && !analysis.single_quoted_allowed {
            style = Style::DoubleQuoted;
        }
        if style == Style::Literal && (!analysis.block_allowed || simple_key) {
            style = Style::DoubleQuoted;
        }
        let allow_breaks = !simple_key;
        match style {
            Style::Plain => self.plain(s, indent, allow_breaks),
            Style::SingleQuoted => self.single_quoted(s, indent, allow_breaks),
            Style::DoubleQuoted => self.double_quoted(s, indent, allow_breaks),
            Style::Literal => self.literal(s, indent),
        }
    }

    /// `yaml_emitter_write_plain_scalar`.
    fn plain(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(indent);
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    /// `yaml_emitter_write_single_quoted_scalar`.
    fn single_quoted(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        self.indicator("'", true, false);
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i + 1 < chars.len()
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(indent);
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.indicator("'", false, false);
        self.whitespace = false;
        self.indention = false;
    }

    /// `yaml_emitter_write_double_quoted_scalar`.
    fn double_quoted(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        self.indicator("\"", true, false);
        // libyaml's BOM test looks at the start of the value, whichever character it checks.
        let bom = s.starts_with('\u{feff}');
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || bom || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\u{07}' => self.put('a'),
                    '\u{08}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{0b}' => self.put('v'),
                    '\u{0c}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1b}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{a0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    other => {
                        let code = other as u32;
                        let mut text = String::new();
                        let _ = if code <= 0xff {
                            write!(text, "x{code:02X}")
                        } else if code <= 0xffff {
                            write!(text, "u{code:04X}")
                        } else {
                            write!(text, "U{code:08X}")
                        };
                        self.put_str(&text);
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i + 1 < chars.len()
                {
                    self.write_indent(indent);
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.indicator("\"", false, false);
        self.whitespace = false;
        self.indention = false;
    }

    /// `yaml_emitter_write_literal_scalar` with its indentation and chomping hints.
    fn literal(&mut self, s: &str, indent: usize) {
        self.indicator("|", true, false);
        let chars: Vec<char> = s.chars().collect();
        if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
            self.indicator("2", false, false);
        }
        let chomp = match chars.as_slice() {
            [] => Some("-"),
            [.., last] if !is_break(*last) => Some("-"),
            [_] => Some("+"),
            [.., before, _] if is_break(*before) => Some("+"),
            _ => None,
        };
        if let Some(chomp) = chomp {
            self.indicator(chomp, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in chars {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(indent);
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

fn sorted(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// libyaml's `is_printable` (for a whole character): what may appear unescaped.
fn is_printable(c: char) -> bool {
    matches!(c as u32,
        0x0a | 0x20..=0x7e | 0xa0..=0xd7ff | 0xe000..=0xfefe | 0xff00..=0xfffd)
}

/// libyaml's `is_break`.
fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
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
/// go-yaml's timestamp layouts as Go's `time.Parse` reads them: `2006-1-2T15:4:5.999999999Z07:00`
/// (also with `t`), `2006-1-2 15:4:5.999999999` and `2006-1-2`.
static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:[Tt]([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[.,][0-9]+)?(?:Z|[-+]([0-9]{2}):([0-9]{2})))|(?: ([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[.,][0-9]+)?))?$",
    )
    .unwrap_or_else(|_| unreachable!())
});

/// The values go-yaml's resolver looks up by their exact text (booleans, nulls, infinities).
const YAML11_SPECIAL: &[&str] = &[
    "", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
    "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
    ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf",
    "-.INF", "<<",
];

/// Whether go-yaml's `resolve` would read the plain text as something other than a string.
fn resolves_to_non_string(s: &str) -> bool {
    if YAML11_SPECIAL.contains(&s) {
        return true;
    }
    let Some(first) = s.chars().next() else {
        return true;
    };
    if first == '.' {
        // Go's ParseFloat of the text as it is; out of range is an error, hence a string.
        return s.parse::<f64>().is_ok_and(f64::is_finite);
    }
    if !(first.is_ascii_digit() || matches!(first, '+' | '-')) {
        return false;
    }
    if is_go_timestamp(s) {
        return true;
    }
    let plain = s.replace('_', "");
    if parses_as_go_int(&plain) {
        return true;
    }
    if YAML_FLOAT.is_match(&plain) && plain.parse::<f64>().is_ok_and(f64::is_finite) {
        return true;
    }
    // `0b` followed by what ParseInt/ParseUint accept in base 2 (a sign included).
    plain.strip_prefix("0b").is_some_and(|rest| {
        let (negative, digits) = match rest.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, rest.strip_prefix('+').unwrap_or(rest)),
        };
        fits(digits, 2, negative, rest.starts_with(['+', '-']))
    })
}

/// `parseTimestamp`: a layout match and a valid date and time.
fn is_go_timestamp(s: &str) -> bool {
    let Some(caps) = TIMESTAMP.captures(s) else {
        return false;
    };
    let num = |i: usize| caps.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let (Some(year), Some(month), Some(day)) = (num(1), num(2), num(3)) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if day < 1 || day > days {
        return false;
    }
    let time_ok = |h: usize| match (num(h), num(h + 1), num(h + 2)) {
        (Some(hour), Some(minute), Some(second)) => hour < 24 && minute < 60 && second < 60,
        _ => true,
    };
    let zone_ok = match (num(7), num(8)) {
        (Some(hours), Some(minutes)) => hours <= 24 && minutes <= 60,
        _ => true,
    };
    time_ok(4) && time_ok(9) && zone_ok
}

/// Go's `strconv.ParseInt(s, 0, 64)` or `ParseUint(s, 0, 64)` acceptance: decimal, `0x`,
/// `0o`, `0b`, or a leading-zero octal; a sign only for ParseInt, within int64.
fn parses_as_go_int(s: &str) -> bool {
    let (negative, body) = match s.strip_prefix('-') {
        Some(body) => (true, body),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let signed = s.starts_with(['+', '-']);
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
    fits(digits, radix, negative, signed)
}

/// Whether unsigned `digits` in `radix` fit int64 (when signed) or uint64 (when not).
fn fits(digits: &str, radix: u32, negative: bool, signed: bool) -> bool {
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return false;
    }
    let Ok(value) = u128::from_str_radix(digits, radix) else {
        return false;
    };
    match (signed, negative) {
        (false, _) => value <= u64::MAX as u128,
        (true, true) => value <= 1u128 << 63,
        (true, false) => value < 1u128 << 63,
    }
}

/// go-yaml's `isBase60Float`: quoted on the way out although it is read back as a string.
fn is_base60_float(s: &str) -> bool {
    s.starts_with(|c: char| c == '+' || c == '-' || c.is_ascii_digit())
        && s.contains(':')
        && BASE60_FLOAT.is_match(s)
}

/// What libyaml's `yaml_emitter_analyze_scalar` allows for a scalar.
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn analyse(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = s.starts_with("---") || s.starts_with("...");
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut preceded_by_whitespace = true;
    let mut previous_space = false;
    let mut previous_break = false;
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_whitespace = chars.get(i + 1).is_none_or(|&n| n == ' ' || n == '\t');
        let last = i + 1 == chars.len();
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' | '-' if followed_by_whitespace => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_whitespace => block_indicators = true,
                '#' if preceded_by_whitespace => block_indicators = true,
                _ => {}
            }
        }
        if !is_printable(c) {
            special_characters = true;
        }
        if c == ' ' {
            leading_space |= i == 0;
            trailing_space |= last;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= i == 0;
            trailing_break |= last;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = matches!(c, ' ' | '\t' | '\0') || is_break(c);
    }
    let mut analysis = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        analysis.block_plain_allowed = false;
    }
    if trailing_space {
        analysis.block_allowed = false;
    }
    if break_space {
        analysis.block_plain_allowed = false;
        analysis.single_quoted_allowed = false;
    }
    if space_break || special_characters {
        analysis.block_plain_allowed = false;
        analysis.single_quoted_allowed = false;
        analysis.block_allowed = false;
    }
    if line_breaks || block_indicators {
        analysis.block_plain_allowed = false;
    }
    analysis
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

    /// The text go-yaml writes for a string value of a top-level key.
    fn value_text(s: &str) -> String {
        let text = to_yaml_string(&json!({ "k": s }));
        text.strip_prefix("k: ")
            .and_then(|t| t.strip_suffix('\n'))
            .unwrap_or(&text)
            .to_string()
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
            ("a\tb", "\"a\\tb\""),
            ("0b5e0a1c", "0b5e0a1c"),
            ("0b101", "\"0b101\""),
            ("0b-101", "\"0b-101\""),
            ("1e400", "1e400"),
            ("2026-02-30", "2026-02-30"),
            ("2026-02-28", "\"2026-02-28\""),
            ("2026-1-2T3:04:05Z", "\"2026-1-2T3:04:05Z\""),
            ("2026-1-2T3:04:05", "2026-1-2T3:04:05"),
            ("-0x8000000000000000", "\"-0x8000000000000000\""),
            ("-0x8000000000000001", "-0x8000000000000001"),
            ("0xFFFFFFFFFFFFFFFF", "\"0xFFFFFFFFFFFFFFFF\""),
            ("1:20", "\"1:20\""),
            ("---x", "'---x'"),
            ("\u{1F600}", "\"\\U0001F600\""),
            ("caf\u{e9}", "caf\u{e9}"),
            ("\u{85}", "\"\\N\""),
            ("trailing \nspace", "\"trailing \\nspace\""),
        ];
        for (input, expected) in cases {
            assert_eq!(value_text(input), expected, "for {input:?}");
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
