//! A serde `Deserializer` over a parsed JSON value that decodes the way Go's `encoding/json`
//! decodes into Calico's types (hand-written because it must match Go's behaviour and its error
//! texts byte for byte):
//!
//! - object keys match struct fields exactly first, then case-insensitively with Go's folding
//!   (`Order`, `CIDR` and `EGRESS` all reach their fields); of several keys that reach the same
//!   field, the last one wins;
//! - an unknown key is, by [`UnknownPolicy`], an error (`json: unknown field "x"`, what
//!   `DisallowUnknownFields` reports) or collected with its path so it can be kept;
//! - `null` leaves a field at its zero value;
//! - type mismatches are reported as Go's `UnmarshalTypeError` text, `json: cannot unmarshal
//!   string into Go struct field IPPoolSpec.spec.blockSize of type int`;
//! - for manifests ([`DecodeOptions::manifest`]), what `sigs.k8s.io/yaml` does on the way from
//!   YAML to JSON: numbers and booleans become their text where the field is a string, and a
//!   float is passed on as Go's JSON encoding of it (so `26.0` fills an integer field).
//!
//! The input is walked in the order of the map (sorted keys, as Go's YAML-to-JSON conversion
//! writes them), so when there are several problems the first one reported is Go's.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Expected, IntoDeserializer, Visitor};
use serde_json::{Map, Number, Value};

/// What to do with an object member no field of the target type takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownPolicy {
    /// Fail, as calicoctl does for manifests (`UnmarshalStrict`).
    Reject,
    /// Skip it but remember it with its path (what a newer Calico stored).
    Keep,
}

/// How to decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeOptions {
    pub unknown: UnknownPolicy,
    /// Numbers and booleans given for a string field become their text (`sigs.k8s.io/yaml`
    /// does this for a single resource or a `<Kind>List`, not for a plain sequence).
    pub scalars_to_strings: bool,
    /// Floats stand for Go's JSON text of them (`26.0` is `26`), as after YAML-to-JSON.
    pub floats_as_go_text: bool,
    /// The value is an item of a `<Kind>List`: Go's error texts then name fields from the
    /// list (`IPPoolSpec.items.spec.blockSize`).
    pub list_item: bool,
}

impl DecodeOptions {
    /// Stored values: Go's `json.Unmarshal`, unknown members kept.
    pub const STORED: DecodeOptions = DecodeOptions {
        unknown: UnknownPolicy::Keep,
        scalars_to_strings: false,
        floats_as_go_text: false,
        list_item: false,
    };
    /// A resource in a manifest (`yaml.UnmarshalStrict` into the resource type).
    pub const MANIFEST: DecodeOptions = DecodeOptions {
        unknown: UnknownPolicy::Reject,
        scalars_to_strings: true,
        floats_as_go_text: true,
        list_item: false,
    };
    /// An item of a top-level sequence in a manifest (decoded through `[]runtime.Object`, so
    /// the YAML-to-JSON step does not know the field types and converts no scalar).
    pub const MANIFEST_SEQUENCE_ITEM: DecodeOptions = DecodeOptions {
        unknown: UnknownPolicy::Reject,
        scalars_to_strings: false,
        floats_as_go_text: true,
        list_item: false,
    };
    /// Strict JSON: unknown members rejected, nothing converted.
    pub const STRICT: DecodeOptions = DecodeOptions {
        unknown: UnknownPolicy::Reject,
        scalars_to_strings: false,
        floats_as_go_text: false,
        list_item: false,
    };
}

/// One step of a path into a document.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathSegment {
    /// A struct field (its canonical JSON name) or a map key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A member no field took, with the path of the object that held it.
#[derive(Clone, Debug, PartialEq)]
pub struct UnknownMember {
    pub parent: Vec<PathSegment>,
    pub key: String,
    pub value: Value,
}

/// Why decoding failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GoErrorKind {
    /// `json: unknown field "<key>"`.
    UnknownField(String),
    /// Go's own text (`json: cannot unmarshal ...`).
    Go,
    /// A check of ours (an enum, a number-or-string, a timestamp): the text says what is wrong
    /// and `path` where.
    Other,
    /// A Go type error whose field is not known yet (raised inside a visitor).
    PendingType { what: String, go_type: String },
}

/// A decoding error with Go's text where Go has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoError {
    pub kind: GoErrorKind,
    pub message: String,
    /// The dotted path of the field (with array indices), filled in on the way out.
    pub path: Option<String>,
}

impl fmt::Display for GoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for GoError {}

impl de::Error for GoError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        GoError {
            kind: GoErrorKind::Other,
            message: msg.to_string(),
            path: None,
        }
    }

    /// A number a visitor could not fit in the Go integer type named by `expected` (`uint16`,
    /// `uint8`, …): Go's `UnmarshalTypeError` for an overflow, `number <N>`, once its path is
    /// known (see [`at_path`]).
    fn invalid_value(unexpected: de::Unexpected<'_>, expected: &dyn Expected) -> Self {
        let go_type = expected.to_string();
        let number = match unexpected {
            de::Unexpected::Unsigned(n) => Some(n.to_string()),
            de::Unexpected::Signed(n) => Some(n.to_string()),
            _ => None,
        };
        match number {
            Some(n) if go_type.starts_with("int") || go_type.starts_with("uint") => {
                let what = format!("number {n}");
                GoError {
                    message: format!(
                        "json: cannot unmarshal {what} into Go value of type {go_type}"
                    ),
                    kind: GoErrorKind::PendingType { what, go_type },
                    path: None,
                }
            }
            _ => de::Error::custom(format_args!(
                "invalid value: {unexpected}, expected {go_type}"
            )),
        }
    }

    /// A visitor refused a value: when it expects a Go type by name (`uint16`, `string`), the
    /// error becomes Go's `UnmarshalTypeError` once its path is known (see [`at_path`]).
    fn invalid_type(unexpected: de::Unexpected<'_>, expected: &dyn Expected) -> Self {
        let expected = expected.to_string();
        let go_type = match expected.as_str() {
            "a string" => "string".to_string(),
            "a boolean" => "bool".to_string(),
            "i64" => "int".to_string(),
            "i8" | "i16" | "i32" | "u8" | "u16" | "u32" | "u64" | "f32" | "f64" => expected
                .replace('i', "int")
                .replace('u', "uint")
                .replace('f', "float"),
            "string" | "bool" | "int" | "int32" | "int64" | "uint8" | "uint16" | "uint32"
            | "uint64" | "float64" => expected.clone(),
            _ => {
                return GoError {
                    kind: GoErrorKind::Other,
                    message: format!("invalid type: {unexpected}, expected {expected}"),
                    path: None,
                }
            }
        };
        let integer_target = go_type.starts_with("int") || go_type.starts_with("uint");
        let what = match unexpected {
            de::Unexpected::Bool(_) => "bool".to_string(),
            de::Unexpected::Float(f) if integer_target => format!("number {}", go_json_float(f)),
            de::Unexpected::Unsigned(_) | de::Unexpected::Signed(_) | de::Unexpected::Float(_) => {
                "number".to_string()
            }
            de::Unexpected::Str(_) | de::Unexpected::Char(_) => "string".to_string(),
            de::Unexpected::Seq => "array".to_string(),
            de::Unexpected::Map => "object".to_string(),
            other => other.to_string(),
        };
        GoError {
            message: format!("json: cannot unmarshal {what} into Go value of type {go_type}"),
            kind: GoErrorKind::PendingType { what, go_type },
            path: None,
        }
    }
}

impl GoError {
    fn go(message: String) -> Self {
        GoError {
            kind: GoErrorKind::Go,
            message,
            path: None,
        }
    }
}

/// The path of the value being decoded, as a linked list on the stack (no allocation unless an
/// error or an unknown member needs it).
#[derive(Clone, Copy)]
struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    segment: Segment<'a>,
    /// Go's name of the innermost struct type, for error texts.
    go_struct: &'static str,
}

#[derive(Clone, Copy)]
enum Segment<'a> {
    Root,
    /// A struct field (shown in Go's error texts).
    Field(&'a str),
    /// A map key (not shown by Go).
    Key(&'a str),
    /// An array index (not shown by Go).
    Index(usize),
}

impl<'a> Path<'a> {
    const ROOT: Path<'static> = Path {
        parent: None,
        segment: Segment::Root,
        go_struct: "",
    };

    fn child(&'a self, segment: Segment<'a>) -> Path<'a> {
        Path {
            parent: Some(self),
            segment,
            go_struct: self.go_struct,
        }
    }

    fn segments(&self) -> Vec<Segment<'a>> {
        let mut out = Vec::new();
        let mut at = Some(self);
        while let Some(p) = at {
            if !matches!(p.segment, Segment::Root) {
                out.push(p.segment);
            }
            at = p.parent;
        }
        out.reverse();
        out
    }

    /// Go's field stack: struct field names joined by dots.
    fn go_fields(&self) -> String {
        let names: Vec<&str> = self
            .segments()
            .into_iter()
            .filter_map(|s| match s {
                Segment::Field(name) => Some(name),
                _ => None,
            })
            .collect();
        names.join(".")
    }

    /// Our path: `spec.ingress[0].action`.
    fn display(&self) -> String {
        let mut out = String::new();
        for segment in self.segments() {
            match segment {
                Segment::Field(name) | Segment::Key(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                Segment::Index(i) => out.push_str(&format!("[{i}]")),
                Segment::Root => {}
            }
        }
        out
    }

    fn owned(&self) -> Vec<PathSegment> {
        self.segments()
            .into_iter()
            .filter_map(|s| match s {
                Segment::Field(n) | Segment::Key(n) => Some(PathSegment::Key(n.to_string())),
                Segment::Index(i) => Some(PathSegment::Index(i)),
                Segment::Root => None,
            })
            .collect()
    }

    /// Go's `UnmarshalTypeError` text for `what` (`string`, `number 1.5`, ...) found where a
    /// value of Go type `go_type` was expected.
    fn type_error(&self, what: &str, go_type: &str) -> GoError {
        let fields = self.go_fields();
        if self.go_struct.is_empty() && fields.is_empty() {
            GoError::go(format!(
                "json: cannot unmarshal {what} into Go value of type {go_type}"
            ))
        } else {
            GoError::go(format!(
                "json: cannot unmarshal {what} into Go struct field {}.{fields} of type {go_type}",
                self.go_struct
            ))
        }
    }
}

/// Decoding state shared by every level.
struct State {
    options: DecodeOptions,
    unknown: RefCell<Vec<UnknownMember>>,
}

/// Decodes `value` into `T` with Go's semantics; returns the members no field took when
/// `options.unknown` is [`UnknownPolicy::Keep`].
pub fn from_value<'de, T: de::Deserialize<'de>>(
    value: &'de Value,
    options: DecodeOptions,
) -> Result<(T, Vec<UnknownMember>), GoError> {
    let state = State {
        options,
        unknown: RefCell::new(Vec::new()),
    };
    let items = Path::ROOT.child(Segment::Field("items"));
    let root = if options.list_item {
        &items
    } else {
        &Path::ROOT
    };
    let result = T::deserialize(GoDeserializer {
        value,
        state: &state,
        path: root,
    });
    result.map(|decoded| (decoded, state.unknown.into_inner()))
}

struct GoDeserializer<'de, 's, 'p> {
    value: &'de Value,
    state: &'s State,
    path: &'p Path<'p>,
}

/// Attaches the path of the innermost value to an error that has none yet.
fn at_path(mut err: GoError, path: &Path<'_>) -> GoError {
    if let GoErrorKind::PendingType { what, go_type } = &err.kind {
        let mut typed = path.type_error(what, go_type);
        typed.path = Some(path.display());
        return typed;
    }
    if err.path.is_none() {
        err.path = Some(path.display());
    }
    err
}

/// Go's name of a struct type, from ours (most are spelled the same).
fn go_struct_name(rust: &'static str) -> &'static str {
    match rust {
        "NodeBgpSpec" => "NodeBGPSpec",
        "NodeWireguardSpec" => "NodeWireguardSpec",
        "BgpDaemonStatus" => "BGPDaemonStatus",
        "CalicoNodeBgpStatus" => "CalicoNodeBGPStatus",
        "CalicoNodeBgpRouteStatus" => "CalicoNodeBGPRouteStatus",
        "IcmpFields" => "ICMPFields",
        "HttpMatch" => "HTTPMatch",
        "HttpPath" => "HTTPPath",
        "IpBlock" => "IPBlock",
        "K8sIngressRule" => "NetworkPolicyIngressRule",
        "K8sEgressRule" => "NetworkPolicyEgressRule",
        "K8sPolicyPort" => "NetworkPolicyPort",
        "K8sPolicyPeer" => "NetworkPolicyPeer",
        other => other,
    }
}

/// Go's package-qualified name of a struct type, as `reflect.Type.String()` prints it.
fn go_struct_type(rust: &'static str) -> String {
    let name = go_struct_name(rust);
    let package = match name {
        "ObjectMeta"
        | "OwnerReference"
        | "Condition"
        | "LabelSelector"
        | "LabelSelectorRequirement" => "v1",
        _ => "v3",
    };
    format!("{package}.{name}")
}

/// What Go calls a JSON value in its type errors.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)` for what `sigs.k8s.io/yaml` writes when a YAML
/// float fills a string field: the shortest text that reads back as the same float32.
pub fn go_format_float32_g(value: f64) -> String {
    // The narrowing is the point: Go formats with 32-bit precision.
    #[allow(clippy::cast_possible_truncation)]
    let f = value as f32;
    crate::json::format_go_float32(f, 'g')
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`.
pub fn go_format_float64_g(value: f64) -> String {
    crate::json::format_go_float(value, 'g')
}

/// Go's `json.Marshal` of a float64 (see [`crate::json::format_float`]).
pub fn go_json_float(value: f64) -> String {
    crate::json::format_float(value)
}

/// The text a number stands for when it fills a string field after YAML-to-JSON.
fn number_as_string(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        go_format_float32_g(n.as_f64().unwrap_or(0.0))
    }
}

/// Go's folding of a key for the case-insensitive match: ASCII letters fold to upper case;
/// the Kelvin sign and the long s fold to `K` and `S` (the only non-ASCII runes whose folding
/// orbit holds an ASCII letter, and our field names are ASCII).
fn fold_equal(field: &str, key: &str) -> bool {
    let mut key_chars = key.chars();
    for f in field.chars() {
        let Some(k) = key_chars.next() else {
            return false;
        };
        let k = match k {
            '\u{212A}' => 'K',
            '\u{017F}' => 'S',
            other => other,
        };
        if !f.eq_ignore_ascii_case(&k) {
            return false;
        }
    }
    key_chars.next().is_none()
}

macro_rules! int_method {
    ($method:ident, $ty:ty, $visit:ident, $go:literal) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoError> {
            match self.integer($go)? {
                Some(Int::Signed(i)) => match <$ty>::try_from(i) {
                    Ok(v) => visitor.$visit(v),
                    Err(_) => Err(self.path.type_error(&format!("number {i}"), $go)),
                },
                Some(Int::Unsigned(u)) => match <$ty>::try_from(u) {
                    Ok(v) => visitor.$visit(v),
                    Err(_) => Err(self.path.type_error(&format!("number {u}"), $go)),
                },
                None => visitor.$visit(0),
            }
        }
    };
}

enum Int {
    Signed(i64),
    Unsigned(u64),
}

impl<'de, 's, 'p> GoDeserializer<'de, 's, 'p> {
    /// An integer for a Go integer type; `None` for null (the zero value).
    fn integer(&self, go_type: &str) -> Result<Option<Int>, GoError> {
        let n = match self.value {
            Value::Null => return Ok(None),
            Value::Number(n) => n,
            other => return Err(self.path.type_error(json_kind(other), go_type)),
        };
        if let Some(i) = n.as_i64() {
            return Ok(Some(Int::Signed(i)));
        }
        if let Some(u) = n.as_u64() {
            return Ok(Some(Int::Unsigned(u)));
        }
        let f = n.as_f64().unwrap_or(0.0);
        let text = if self.state.options.floats_as_go_text {
            go_json_float(f)
        } else {
            n.to_string()
        };
        if self.state.options.floats_as_go_text {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Some(Int::Signed(i)));
            }
            if let Ok(u) = text.parse::<u64>() {
                return Ok(Some(Int::Unsigned(u)));
            }
        }
        Err(self.path.type_error(&format!("number {text}"), go_type))
    }

    fn float(&self, go_type: &str) -> Result<f64, GoError> {
        match self.value {
            Value::Null => Ok(0.0),
            Value::Number(n) => Ok(n.as_f64().unwrap_or(0.0)),
            other => Err(self.path.type_error(json_kind(other), go_type)),
        }
    }

    fn string(&self) -> Result<Option<std::borrow::Cow<'de, str>>, GoError> {
        match self.value {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(std::borrow::Cow::Borrowed(s.as_str()))),
            Value::Number(n) if self.state.options.scalars_to_strings => {
                Ok(Some(std::borrow::Cow::Owned(number_as_string(n))))
            }
            Value::Bool(b) if self.state.options.scalars_to_strings => Ok(Some(
                std::borrow::Cow::Owned(if *b { "true" } else { "false" }.to_string()),
            )),
            other => Err(self.path.type_error(json_kind(other), "string")),
        }
    }
}

impl<'de, 's, 'p> de::Deserializer<'de> for GoDeserializer<'de, 's, 'p> {
    type Error = GoError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoError> {
        let result = match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(0.0))
                }
            }
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => visitor.visit_seq(SeqAccess {
                items: items.iter().enumerate(),
                state: self.state,
                path: self.path,
            }),
            Value::Object(map) => visitor.visit_map(MapAccess::plain(map, self.state, self.path)),
        };
        result.map_err(|e| at_path(e, self.path))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoError> {
        match self.value {
            Value::Null => visitor.visit_bool(false),
            Value::Bool(b) => visitor.visit_bool(*b),
            other => Err(self.path.type_error(json_kind(other), "bool")),
        }
    }

    int_method!(deserialize_i8, i8, visit_i8, "int8");
    int_method!(deserialize_i16, i16, visit_i16, "int16");
    int_method!(deserialize_i32, i32, visit_i32, "int32");
    int_method!(deserialize_i64, i64, visit_i64, "int");
    int_method!(deserialize_u8, u8, visit_u8, "uint8");
    int_method!(deserialize_u16, u16, visit_u16, "uint16");
    int_method!(deserialize_u32, u32, visit_u32, "uint32");
    int_method!(deserialize_u64, u64, visit_u64, "uint64");

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoError> {
        // Go's float32 fields take the nearest float32.
        #[allow(clippy::cast_possible_truncation)]
        visitor.visit_f32(self.float("float32")? as f32)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoError> {
        visitor.visit_f64(self.float("float64")?)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoError> {
        let result = match self.string()? {
            None => visitor.visit_borrowed_str(""),
            Some(std::borrow::Cow::Borrowed(s)) => visitor.visit_borrowed_str(s),
            Some(std::borrow::Cow::Owned(s)) => visitor.visit_string(s),
        };
        result.map_err(|e| at_path(e, self.path))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoError> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, GoError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, GoError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoError> {
        let result = match self.value {
            Value::Null => visitor.visit_seq(SeqAccess {
                items: [].iter().enumerate(),
                state: self.state,
                path: self.path,
            }),
            Value::Array(items) => visitor.visit_seq(SeqAccess {
                items: items.iter().enumerate(),
                state: self.state,
                path: self.path,
            }),
            other => {
                return Err(self
                    .path
                    .type_error(json_kind(other), go_slice_type(self.path)));
            }
        };
        result.map_err(|e| at_path(e, self.path))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, GoError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, GoError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoError> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        let result = match self.value {
            Value::Null => visitor.visit_map(MapAccess::plain(
                EMPTY.get_or_init(Map::new),
                self.state,
                self.path,
            )),
            Value::Object(map) => visitor.visit_map(MapAccess::plain(map, self.state, self.path)),
            other => return Err(self.path.type_error(json_kind(other), "map[string]string")),
        };
        result.map_err(|e| at_path(e, self.path))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, GoError> {
        let map = match self.value {
            Value::Object(map) => Some(map),
            Value::Null => None,
            other => {
                return Err(self
                    .path
                    .type_error(json_kind(other), &go_struct_type(name)))
            }
        };
        let go_struct = go_struct_name(name);
        // Each key in document order, with the field it fills (`None`: no field takes it).
        let mut members: Vec<(Option<&'static str>, &'de str, &'de Value)> = Vec::new();
        if let Some(map) = map {
            members.reserve(map.len());
            for (key, value) in map {
                let field = fields
                    .iter()
                    .find(|f| **f == key.as_str())
                    .or_else(|| fields.iter().find(|f| fold_equal(f, key)))
                    .copied();
                if let Some(field) = field {
                    // Go decodes every key in turn into the same field: the last one wins.
                    members.retain(|(f, _, _)| *f != Some(field));
                }
                members.push((field, key.as_str(), value));
            }
        }
        let path = Path {
            go_struct,
            ..*self.path
        };
        let result = visitor.visit_map(StructAccess {
            members: members.into_iter(),
            pending: None,
            state: self.state,
            path: &path,
        });
        result.map_err(|e| at_path(e, self.path))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, GoError> {
        let text = match self.string()? {
            Some(text) => text.into_owned(),
            None => String::new(),
        };
        let deserializer: de::value::StringDeserializer<GoError> = text.into_deserializer();
        visitor
            .visit_enum(deserializer)
            .map_err(|e| at_path(e, self.path))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoError> {
        visitor.visit_unit()
    }
}

/// Go's slice type of a field, for error texts: serde does not tell element types, so the
/// lists Calico's types hold other than strings are named here.
fn go_slice_type(path: &Path<'_>) -> &'static str {
    let Segment::Field(field) = path.segment else {
        return "[]string";
    };
    match field {
        "ingress" | "egress" => "[]v3.Rule",
        "types" => "[]v3.PolicyType",
        "allowedUses" => "[]v3.IPPoolAllowedUse",
        "ports" | "notPorts" => "[]numorstring.Port",
        _ => "[]string",
    }
}

/// Go's `%q` of a key.
fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

struct SeqAccess<'de, 's, 'p> {
    items: std::iter::Enumerate<std::slice::Iter<'de, Value>>,
    state: &'s State,
    path: &'p Path<'p>,
}

impl<'de, 's, 'p> de::SeqAccess<'de> for SeqAccess<'de, 's, 'p> {
    type Error = GoError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, GoError> {
        let Some((index, value)) = self.items.next() else {
            return Ok(None);
        };
        let path = self.path.child(Segment::Index(index));
        seed.deserialize(GoDeserializer {
            value,
            state: self.state,
            path: &path,
        })
        .map(Some)
        .map_err(|e| at_path(e, &path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// A map's members: keys as written, values decoded in turn.
struct MapAccess<'de, 's, 'p> {
    members: serde_json::map::Iter<'de>,
    pending: Option<(&'de str, &'de Value)>,
    state: &'s State,
    path: &'p Path<'p>,
}

impl<'de, 's, 'p> MapAccess<'de, 's, 'p> {
    fn plain(map: &'de Map<String, Value>, state: &'s State, path: &'p Path<'p>) -> Self {
        MapAccess {
            members: map.iter(),
            pending: None,
            state,
            path,
        }
    }
}

impl<'de, 's, 'p> de::MapAccess<'de> for MapAccess<'de, 's, 'p> {
    type Error = GoError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, GoError> {
        let Some((key, value)) = self.members.next() else {
            return Ok(None);
        };
        self.pending = Some((key.as_str(), value));
        let key: de::value::BorrowedStrDeserializer<'de, GoError> =
            de::value::BorrowedStrDeserializer::new(key.as_str());
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, GoError> {
        let Some((key, value)) = self.pending.take() else {
            return Err(de::Error::custom("value requested before key"));
        };
        let path = self.path.child(Segment::Key(key));
        seed.deserialize(GoDeserializer {
            value,
            state: self.state,
            path: &path,
        })
        .map_err(|e| at_path(e, &path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.members.len())
    }
}

/// A struct's members, keys already mapped to the fields' names; a key no field takes is
/// refused or kept when its turn comes, so the first problem in document order is reported,
/// as Go reports it.
struct StructAccess<'de, 's, 'p> {
    members: std::vec::IntoIter<(Option<&'static str>, &'de str, &'de Value)>,
    pending: Option<(&'static str, &'de Value)>,
    state: &'s State,
    path: &'p Path<'p>,
}

impl<'de, 's, 'p> de::MapAccess<'de> for StructAccess<'de, 's, 'p> {
    type Error = GoError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, GoError> {
        let (field, value) = loop {
            let Some((field, key, value)) = self.members.next() else {
                return Ok(None);
            };
            if let Some(field) = field {
                break (field, value);
            }
            match self.state.options.unknown {
                UnknownPolicy::Reject => {
                    let here = self.path.child(Segment::Field(key));
                    return Err(GoError {
                        kind: GoErrorKind::UnknownField(key.to_string()),
                        message: format!("json: unknown field {}", go_quote(key)),
                        path: Some(here.display()),
                    });
                }
                UnknownPolicy::Keep => self.state.unknown.borrow_mut().push(UnknownMember {
                    parent: self.path.owned(),
                    key: key.to_string(),
                    value: value.clone(),
                }),
            }
        };
        self.pending = Some((field, value));
        let key: de::value::BorrowedStrDeserializer<'de, GoError> =
            de::value::BorrowedStrDeserializer::new(field);
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, GoError> {
        let Some((field, value)) = self.pending.take() else {
            return Err(de::Error::custom("value requested before key"));
        };
        let path = self.path.child(Segment::Field(field));
        seed.deserialize(GoDeserializer {
            value,
            state: self.state,
            path: &path,
        })
        .map_err(|e| at_path(e, &path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.members.len())
    }
}

#[cfg(test)]
mod tests;
