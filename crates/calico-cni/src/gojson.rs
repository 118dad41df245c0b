//! Reading JSON the way Go's `encoding/json` reads it, for the network configuration on stdin:
//! the same syntax errors, word for word (`invalid character 'x' looking for beginning of
//! value`, `unexpected end of JSON input`), a whole-input syntax check before anything is
//! decoded (so a syntax error anywhere wins over a type error), invalid UTF-8 and lone
//! surrogates read as U+FFFD, and values kept with their members in document order and their
//! numbers as written (Go's type errors quote a number's text).
//!
//! [`GoType`] then checks a value against a Go type as `json.Unmarshal` would, giving Go's
//! `UnmarshalTypeError` text for the first mismatch in document order, and [`fields`] finds the
//! members that fill a struct field (exact name, else case-insensitively; the last one wins).

/// Go's limit on nesting (`exceeded max depth`).
const MAX_DEPTH: usize = 10_000;

/// A JSON value: members in document order, numbers as written.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl Value {
    /// What Go's type errors call this kind of value.
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
}

/// A syntax error, with Go's text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SyntaxError(pub String);

/// Go's `quoteChar`: how its scanner names an offending byte.
fn quote_char(byte: u8) -> String {
    match byte {
        b'\'' => "'\\''".to_string(),
        b'"' => "'\"'".to_string(),
        _ => {
            let c = char::from(byte);
            let inner = match c {
                '\x07' => "\\a".to_string(),
                '\x08' => "\\b".to_string(),
                '\x0c' => "\\f".to_string(),
                '\n' => "\\n".to_string(),
                '\r' => "\\r".to_string(),
                '\t' => "\\t".to_string(),
                '\x0b' => "\\v".to_string(),
                '\\' => "\\\\".to_string(),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => format!("\\x{:02x}", c as u32),
                // Latin-1 controls, the no-break space and the soft hyphen are not printable.
                c if (0x80..0xa0).contains(&(c as u32)) || c as u32 == 0xa0 || c as u32 == 0xad => {
                    format!("\\u{:04x}", c as u32)
                }
                c => c.to_string(),
            };
            format!("'{inner}'")
        }
    }
}

fn invalid(byte: u8, context: &str) -> SyntaxError {
    SyntaxError(format!("invalid character {} {context}", quote_char(byte)))
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    BeginValue,
    BeginValueOrEmpty,
    BeginStringOrEmpty,
    BeginString,
    EndValue,
    EndTop,
    InString,
    InStringEsc,
    InStringEscU(u8),
    Neg,
    One,
    Zero,
    Dot,
    Dot0,
    E,
    ESign,
    E0,
    Literal(&'static [u8], usize, &'static str),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Parse {
    ObjectKey,
    ObjectValue,
    ArrayValue,
}

/// Go's scanner over the whole input (`checkValid`).
fn check_valid(data: &[u8]) -> Result<(), SyntaxError> {
    let mut state = State::BeginValue;
    let mut stack: Vec<Parse> = Vec::new();
    for &byte in data {
        state = step(state, &mut stack, byte)?;
    }
    // Go's eof: a number at the very end is complete once a space follows it.
    if state == State::EndTop {
        return Ok(());
    }
    match step(state, &mut stack, b' ') {
        Ok(State::EndTop) => Ok(()),
        _ => Err(SyntaxError("unexpected end of JSON input".into())),
    }
}

fn push(stack: &mut Vec<Parse>, parse: Parse) -> Result<(), SyntaxError> {
    if stack.len() >= MAX_DEPTH {
        return Err(SyntaxError("exceeded max depth".into()));
    }
    stack.push(parse);
    Ok(())
}

fn end_value(stack: &mut Vec<Parse>, byte: u8) -> Result<State, SyntaxError> {
    let Some(top) = stack.last().copied() else {
        return end_top(byte);
    };
    if is_space(byte) {
        return Ok(State::EndValue);
    }
    match top {
        Parse::ObjectKey => {
            if byte == b':' {
                if let Some(last) = stack.last_mut() {
                    *last = Parse::ObjectValue;
                }
                Ok(State::BeginValue)
            } else {
                Err(invalid(byte, "after object key"))
            }
        }
        Parse::ObjectValue => match byte {
            b',' => {
                if let Some(last) = stack.last_mut() {
                    *last = Parse::ObjectKey;
                }
                Ok(State::BeginString)
            }
            b'}' => Ok(close(stack)),
            _ => Err(invalid(byte, "after object key:value pair")),
        },
        Parse::ArrayValue => match byte {
            b',' => Ok(State::BeginValue),
            b']' => Ok(close(stack)),
            _ => Err(invalid(byte, "after array element")),
        },
    }
}

/// Ends the innermost container: the state after it.
fn close(stack: &mut Vec<Parse>) -> State {
    stack.pop();
    if stack.is_empty() {
        State::EndTop
    } else {
        State::EndValue
    }
}

fn end_top(byte: u8) -> Result<State, SyntaxError> {
    if is_space(byte) {
        Ok(State::EndTop)
    } else {
        Err(invalid(byte, "after top-level value"))
    }
}

fn begin_value(stack: &mut Vec<Parse>, byte: u8) -> Result<State, SyntaxError> {
    match byte {
        b if is_space(b) => Ok(State::BeginValue),
        b'{' => {
            push(stack, Parse::ObjectKey)?;
            Ok(State::BeginStringOrEmpty)
        }
        b'[' => {
            push(stack, Parse::ArrayValue)?;
            Ok(State::BeginValueOrEmpty)
        }
        b'"' => Ok(State::InString),
        b'-' => Ok(State::Neg),
        b'0' => Ok(State::Zero),
        b't' => Ok(State::Literal(b"true", 1, "in literal true")),
        b'f' => Ok(State::Literal(b"false", 1, "in literal false")),
        b'n' => Ok(State::Literal(b"null", 1, "in literal null")),
        b'1'..=b'9' => Ok(State::One),
        _ => Err(invalid(byte, "looking for beginning of value")),
    }
}

fn step(state: State, stack: &mut Vec<Parse>, byte: u8) -> Result<State, SyntaxError> {
    match state {
        State::BeginValue => begin_value(stack, byte),
        State::BeginValueOrEmpty => {
            if is_space(byte) {
                Ok(state)
            } else if byte == b']' {
                end_value(stack, byte)
            } else {
                begin_value(stack, byte)
            }
        }
        State::BeginStringOrEmpty => {
            if is_space(byte) {
                Ok(state)
            } else if byte == b'}' {
                if let Some(last) = stack.last_mut() {
                    *last = Parse::ObjectValue;
                }
                end_value(stack, byte)
            } else {
                step(State::BeginString, stack, byte)
            }
        }
        State::BeginString => match byte {
            b if is_space(b) => Ok(state),
            b'"' => Ok(State::InString),
            _ => Err(invalid(byte, "looking for beginning of object key string")),
        },
        State::EndValue => end_value(stack, byte),
        State::EndTop => end_top(byte),
        State::InString => match byte {
            b'"' => Ok(State::EndValue),
            b'\\' => Ok(State::InStringEsc),
            b if b < 0x20 => Err(invalid(byte, "in string literal")),
            _ => Ok(state),
        },
        State::InStringEsc => match byte {
            b'b' | b'f' | b'n' | b'r' | b't' | b'\\' | b'/' | b'"' => Ok(State::InString),
            b'u' => Ok(State::InStringEscU(0)),
            _ => Err(invalid(byte, "in string escape code")),
        },
        State::InStringEscU(seen) => {
            if byte.is_ascii_hexdigit() {
                Ok(if seen == 3 {
                    State::InString
                } else {
                    State::InStringEscU(seen + 1)
                })
            } else {
                Err(invalid(byte, "in \\u hexadecimal character escape"))
            }
        }
        State::Neg => match byte {
            b'0' => Ok(State::Zero),
            b'1'..=b'9' => Ok(State::One),
            _ => Err(invalid(byte, "in numeric literal")),
        },
        State::One => {
            if byte.is_ascii_digit() {
                Ok(State::One)
            } else {
                step(State::Zero, stack, byte)
            }
        }
        State::Zero => match byte {
            b'.' => Ok(State::Dot),
            b'e' | b'E' => Ok(State::E),
            _ => end_value(stack, byte),
        },
        State::Dot => {
            if byte.is_ascii_digit() {
                Ok(State::Dot0)
            } else {
                Err(invalid(byte, "after decimal point in numeric literal"))
            }
        }
        State::Dot0 => match byte {
            b'0'..=b'9' => Ok(State::Dot0),
            b'e' | b'E' => Ok(State::E),
            _ => end_value(stack, byte),
        },
        State::E => match byte {
            b'+' | b'-' => Ok(State::ESign),
            _ => step(State::ESign, stack, byte),
        },
        State::ESign => {
            if byte.is_ascii_digit() {
                Ok(State::E0)
            } else {
                Err(invalid(byte, "in exponent of numeric literal"))
            }
        }
        State::E0 => {
            if byte.is_ascii_digit() {
                Ok(State::E0)
            } else {
                end_value(stack, byte)
            }
        }
        State::Literal(word, at, context) => {
            let expected = word.get(at).copied().unwrap_or(b' ');
            if byte != expected {
                return Err(invalid(
                    byte,
                    &format!("{context} (expecting {})", quote_char(expected)),
                ));
            }
            Ok(if at + 1 == word.len() {
                State::EndValue
            } else {
                State::Literal(word, at + 1, context)
            })
        }
    }
}

/// Parses `data` as Go's `json.Unmarshal` would see it.
pub fn parse(data: &[u8]) -> Result<Value, SyntaxError> {
    check_valid(data)?;
    Ok(Builder { data, at: 0 }.document())
}

/// Builds the value of input already known to be valid, without recursion.
struct Builder<'a> {
    data: &'a [u8],
    at: usize,
}

enum Frame {
    Array(Vec<Value>),
    Object(Vec<(String, Value)>, String),
}

impl Builder<'_> {
    fn peek(&self) -> u8 {
        self.data.get(self.at).copied().unwrap_or(b' ')
    }

    fn skip_space(&mut self) {
        while self.at < self.data.len() && is_space(self.data[self.at]) {
            self.at += 1;
        }
    }

    fn document(mut self) -> Value {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            self.skip_space();
            // Start a value.
            let mut value = match self.peek() {
                b'{' => {
                    self.at += 1;
                    self.skip_space();
                    if self.peek() == b'}' {
                        self.at += 1;
                        Value::Object(Vec::new())
                    } else {
                        let key = self.string();
                        self.skip_space();
                        self.at += 1; // ':'
                        stack.push(Frame::Object(Vec::new(), key));
                        continue;
                    }
                }
                b'[' => {
                    self.at += 1;
                    self.skip_space();
                    if self.peek() == b']' {
                        self.at += 1;
                        Value::Array(Vec::new())
                    } else {
                        stack.push(Frame::Array(Vec::new()));
                        continue;
                    }
                }
                b'"' => Value::String(self.string()),
                b't' => {
                    self.at += 4;
                    Value::Bool(true)
                }
                b'f' => {
                    self.at += 5;
                    Value::Bool(false)
                }
                b'n' => {
                    self.at += 4;
                    Value::Null
                }
                _ => self.number(),
            };
            // Finish containers.
            loop {
                let Some(frame) = stack.last_mut() else {
                    return value;
                };
                self.skip_space();
                let separator = self.peek();
                self.at += 1;
                match frame {
                    Frame::Array(items) => {
                        items.push(value);
                        if separator == b',' {
                            break;
                        }
                        let items = std::mem::take(items);
                        stack.pop();
                        value = Value::Array(items);
                    }
                    Frame::Object(members, key) => {
                        members.push((std::mem::take(key), value));
                        if separator == b',' {
                            self.skip_space();
                            *key = self.string();
                            self.skip_space();
                            self.at += 1; // ':'
                            break;
                        }
                        let members = std::mem::take(members);
                        stack.pop();
                        value = Value::Object(members);
                    }
                }
            }
        }
    }

    fn number(&mut self) -> Value {
        let start = self.at;
        while self.at < self.data.len()
            && matches!(
                self.data[self.at],
                b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'
            )
        {
            self.at += 1;
        }
        Value::Number(String::from_utf8_lossy(&self.data[start..self.at]).into_owned())
    }

    fn hex4(&mut self) -> u32 {
        let mut value = 0;
        for _ in 0..4 {
            let digit = char::from(self.peek()).to_digit(16).unwrap_or(0);
            value = value * 16 + digit;
            self.at += 1;
        }
        value
    }

    /// A string literal at `at` (the opening quote), decoded as Go decodes it.
    fn string(&mut self) -> String {
        self.at += 1;
        let mut raw: Vec<u8> = Vec::new();
        let mut out = String::new();
        loop {
            let byte = self.peek();
            if self.at >= self.data.len() || byte == b'"' {
                self.at += 1;
                break;
            }
            if byte != b'\\' {
                raw.push(byte);
                self.at += 1;
                continue;
            }
            flush_utf8(&mut raw, &mut out);
            self.at += 1;
            let escape = self.peek();
            self.at += 1;
            match escape {
                b'b' => out.push('\x08'),
                b'f' => out.push('\x0c'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let first = self.hex4();
                    if (0xd800..0xdc00).contains(&first)
                        && self.data.get(self.at..self.at + 2) == Some(b"\\u")
                    {
                        let save = self.at;
                        self.at += 2;
                        let second = self.hex4();
                        if (0xdc00..0xe000).contains(&second) {
                            let code = 0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00);
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                            continue;
                        }
                        self.at = save;
                    }
                    out.push(char::from_u32(first).unwrap_or('\u{fffd}'));
                }
                other => out.push(char::from(other)),
            }
        }
        flush_utf8(&mut raw, &mut out);
        out
    }
}

/// Appends raw string bytes, each byte of an invalid UTF-8 sequence as U+FFFD (as Go does).
fn flush_utf8(raw: &mut Vec<u8>, out: &mut String) {
    for chunk in raw.utf8_chunks() {
        out.push_str(chunk.valid());
        for _ in chunk.invalid() {
            out.push('\u{fffd}');
        }
    }
    raw.clear();
}

/// A Go type, as far as `json.Unmarshal` cares: enough to report Go's type errors.
#[derive(Clone, Copy, Debug)]
pub enum GoType {
    String,
    /// A named string type (`resources.BackingAPIGroup`).
    NamedString(&'static str),
    Bool,
    Int,
    Uint64,
    /// `[]T`: the element type and Go's name of the slice type.
    Slice(&'static GoType, &'static str),
    /// `map[string]interface {}`.
    MapAny,
    /// A pointer (`*string`): `null` is allowed, errors name the element type.
    Ptr(&'static GoType),
    Struct(&'static GoStruct),
}

/// A Go struct type: its name in errors (empty for an anonymous struct), the text of its type
/// (`reflect.Type.String()`), and its fields by JSON name.
#[derive(Debug)]
pub struct GoStruct {
    pub name: &'static str,
    pub type_string: &'static str,
    pub fields: &'static [(&'static str, GoType)],
}

/// Go's `UnmarshalTypeError` (a mismatch at the top level names no field).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeError {
    pub value: String,
    pub structure: String,
    pub path: String,
    pub go_type: String,
}

impl std::fmt::Display for TypeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(
                f,
                "json: cannot unmarshal {} into Go value of type {}",
                self.value, self.go_type
            )
        } else {
            write!(
                f,
                "json: cannot unmarshal {} into Go struct field {}.{} of type {}",
                self.value, self.structure, self.path, self.go_type
            )
        }
    }
}

impl std::error::Error for TypeError {}

/// Go's case folding for field names, close enough for ASCII and most of Unicode.
fn fold_eq(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// Which field of `fields` a member key fills: the exact name, else the first that matches
/// ignoring case.
fn field_for<'f>(
    fields: &'f [(&'static str, GoType)],
    key: &str,
) -> Option<&'f (&'static str, GoType)> {
    fields
        .iter()
        .find(|(name, _)| *name == key)
        .or_else(|| fields.iter().find(|(name, _)| fold_eq(name, key)))
}

/// The values that fill field `name` of a struct given as `objects` (a field given several
/// times, or a struct given several times, merges as Go merges), in document order.
pub fn fields<'v>(
    objects: &[&'v Value],
    all: &'static [(&'static str, GoType)],
    name: &str,
) -> Vec<&'v Value> {
    let mut found = Vec::new();
    for object in objects {
        if let Value::Object(members) = object {
            for (key, value) in members {
                if field_for(all, key).is_some_and(|(field, _)| *field == name) {
                    found.push(value);
                }
            }
        }
    }
    found
}

/// The string a `string` field ends up holding (`null` leaves it unchanged).
pub fn string_field(
    objects: &[&Value],
    all: &'static [(&'static str, GoType)],
    name: &str,
) -> String {
    fields(objects, all, name)
        .into_iter()
        .filter_map(|value| match value {
            Value::String(text) => Some(text.clone()),
            _ => None,
        })
        .next_back()
        .unwrap_or_default()
}

/// What a `*string` field ends up holding (`null` sets it back to nil).
pub fn optional_string_field(
    objects: &[&Value],
    all: &'static [(&'static str, GoType)],
    name: &str,
) -> Option<String> {
    match fields(objects, all, name).last() {
        Some(Value::String(text)) => Some(text.clone()),
        _ => None,
    }
}

/// What a `bool` field ends up holding.
pub fn bool_field(objects: &[&Value], all: &'static [(&'static str, GoType)], name: &str) -> bool {
    fields(objects, all, name)
        .into_iter()
        .filter_map(|value| match value {
            Value::Bool(flag) => Some(*flag),
            _ => None,
        })
        .next_back()
        .unwrap_or(false)
}

/// What an `int` field ends up holding.
pub fn int_field(objects: &[&Value], all: &'static [(&'static str, GoType)], name: &str) -> i64 {
    fields(objects, all, name)
        .into_iter()
        .filter_map(|value| match value {
            Value::Number(text) => text.parse::<i64>().ok(),
            _ => None,
        })
        .next_back()
        .unwrap_or(0)
}

/// What a `[]string` field ends up holding (`null` makes it nil; `null` items are "").
pub fn strings_field(
    objects: &[&Value],
    all: &'static [(&'static str, GoType)],
    name: &str,
) -> Vec<String> {
    match fields(objects, all, name).last() {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => text.clone(),
                _ => String::new(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The objects that fill a struct-typed field, in document order.
pub fn struct_field<'v>(
    objects: &[&'v Value],
    all: &'static [(&'static str, GoType)],
    name: &str,
) -> Vec<&'v Value> {
    fields(objects, all, name)
        .into_iter()
        .filter(|value| matches!(value, Value::Object(_)))
        .collect()
}

struct Checker {
    first: Option<TypeError>,
}

impl Checker {
    fn fail(&mut self, value: String, structure: &str, path: &[&str], go_type: &str) {
        if self.first.is_none() {
            self.first = Some(TypeError {
                value,
                structure: structure.to_string(),
                path: path.join("."),
                go_type: go_type.to_string(),
            });
        }
    }

    fn check(&mut self, value: &Value, ty: GoType, structure: &str, path: &mut Vec<&'static str>) {
        if matches!(value, Value::Null) {
            return;
        }
        match ty {
            GoType::String | GoType::NamedString(_) => {
                if !matches!(value, Value::String(_)) {
                    let name = match ty {
                        GoType::NamedString(name) => name,
                        _ => "string",
                    };
                    self.fail(value.kind().into(), structure, path, name);
                }
            }
            GoType::Bool => {
                if !matches!(value, Value::Bool(_)) {
                    self.fail(value.kind().into(), structure, path, "bool");
                }
            }
            GoType::Int | GoType::Uint64 => {
                let name = if matches!(ty, GoType::Int) {
                    "int"
                } else {
                    "uint64"
                };
                match value {
                    Value::Number(text) => {
                        let fits = match ty {
                            GoType::Int => text.parse::<i64>().is_ok(),
                            _ => text.parse::<u64>().is_ok() && !text.starts_with('+'),
                        };
                        if !fits {
                            self.fail(format!("number {text}"), structure, path, name);
                        }
                    }
                    other => self.fail(other.kind().into(), structure, path, name),
                }
            }
            GoType::Slice(element, name) => match value {
                Value::Array(items) => {
                    for item in items {
                        self.check(item, *element, structure, path);
                    }
                }
                other => self.fail(other.kind().into(), structure, path, name),
            },
            GoType::MapAny => {
                if !matches!(value, Value::Object(_)) {
                    self.fail(
                        value.kind().into(),
                        structure,
                        path,
                        "map[string]interface {}",
                    );
                }
            }
            GoType::Ptr(element) => self.check(value, *element, structure, path),
            GoType::Struct(go_struct) => match value {
                Value::Object(members) => {
                    for (key, member) in members {
                        if let Some((name, field_type)) = field_for(go_struct.fields, key) {
                            path.push(name);
                            self.check(member, *field_type, go_struct.name, path);
                            path.pop();
                        }
                    }
                }
                other => self.fail(other.kind().into(), structure, path, go_struct.type_string),
            },
        }
    }
}

/// Checks `value` against the struct type `ty` as `json.Unmarshal` does, returning its first
/// type error.
pub fn check_struct(value: &Value, ty: &'static GoStruct) -> Result<(), TypeError> {
    let mut checker = Checker { first: None };
    checker.check(value, GoType::Struct(ty), "", &mut Vec::new());
    match checker.first {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
