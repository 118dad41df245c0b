//! Validation of resources, reporting every problem as Calico's validator reports it.
//!
//! Calico validates in two layers, and so do we: first its Go validator (struct tags and
//! struct-level checks), whose errors name the Go struct field (`CIDR`, `Nets[0]`, or a name the
//! check chose, such as `IPpool.CIDR`) and carry the value as Go's `%v` prints it; then the rules
//! that live in the CRD schemas (enums, patterns, ranges, CEL cross-field rules), whose errors name
//! the JSON path (`spec.ipipMode`) and carry no value. Errors of the first layer come first, in
//! the order Calico's validator finds them; each layer reports a problem it finds even when the
//! other reports it too, as Calico does. Errors render exactly like libcalico-go's
//! `ErrorValidation`.

pub mod checks;
pub mod client;
pub mod gofmt;
pub mod metadata;
pub mod names;
pub mod schema_defaults;

use std::fmt;

/// Kinds Calico has no CRD for, whose validation is its Go validator alone.
pub const KINDS_WITHOUT_CRD: &[&str] = &["Profile", "Node", "WorkloadEndpoint"];

/// One failed field: the name Calico prints for it (a Go field name such as `Ports[1]`, or for a
/// schema rule a JSON path such as `spec.ingress[0].action`), the offending value when Calico
/// prints one, and why it is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub value: Option<String>,
    pub reason: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{} = '{}'", self.field, value)?,
            None => f.write_str(&self.field)?,
        }
        if !self.reason.is_empty() {
            write!(f, " ({})", self.reason)?;
        }
        Ok(())
    }
}

/// A failed validation: one or more field errors, rendered as Calico renders them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    pub fields: Vec<FieldError>,
}

impl ValidationError {
    /// A single-field error.
    pub fn single(
        field: impl Into<String>,
        value: Option<String>,
        reason: impl Into<String>,
    ) -> Self {
        ValidationError {
            fields: vec![FieldError {
                field: field.into(),
                value,
                reason: reason.into(),
            }],
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.fields.as_slice() {
            [] => f.write_str("unknown validation error"),
            [only] => write!(f, "error with field {only}"),
            many => {
                f.write_str("error with the following fields:\n")?;
                for field in many {
                    writeln!(f, "-  {field}")?;
                }
                Ok(())
            }
        }
    }
}

#[derive(Clone, Debug)]
enum Segment {
    Field(&'static str),
    OwnedField(String),
    Index(usize),
}

/// Walks a resource, tracking the JSON path, and collects errors.
///
/// ```
/// use calico_api::validation::Validator;
/// let mut v = Validator::new();
/// v.field("spec", |v| v.field("ports", |v| v.index(1, |v| v.cel("bad port"))));
/// v.go("Port", 0, "port range invalid");
/// let err = v.finish().unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "error with the following fields:\n-  Port = '0' (port range invalid)\n-  spec.ports[1] (bad port)\n"
/// );
/// ```
#[derive(Debug, Default)]
pub struct Validator {
    path: Vec<Segment>,
    /// Errors of the Go validator layer.
    errors: Vec<FieldError>,
    /// Errors of the CRD's OpenAPI schema (enums, patterns, ranges, formats), reported after
    /// the Go layer's.
    schema: Vec<FieldError>,
    /// Errors of the CRD's CEL rules, reported last.
    cel: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `f` with `name` appended to the path.
    pub fn field<R>(&mut self, name: &'static str, f: impl FnOnce(&mut Self) -> R) -> R {
        self.path.push(Segment::Field(name));
        let result = f(self);
        self.path.pop();
        result
    }

    /// Runs `f` with a computed field name (e.g. a map key) appended to the path.
    pub fn field_owned<R>(&mut self, name: String, f: impl FnOnce(&mut Self) -> R) -> R {
        self.path.push(Segment::OwnedField(name));
        let result = f(self);
        self.path.pop();
        result
    }

    /// Runs `f` with `[index]` appended to the path.
    pub fn index<R>(&mut self, index: usize, f: impl FnOnce(&mut Self) -> R) -> R {
        self.path.push(Segment::Index(index));
        let result = f(self);
        self.path.pop();
        result
    }

    /// Runs `f` for every element of `items`, with the element's index on the path.
    pub fn each<T>(&mut self, name: &'static str, items: &[T], mut f: impl FnMut(&mut Self, &T)) {
        if items.is_empty() {
            return;
        }
        self.field(name, |v| {
            for (i, item) in items.iter().enumerate() {
                v.index(i, |v| f(v, item));
            }
        });
    }

    /// The index of the innermost list element being walked (0 outside lists).
    pub fn current_index(&self) -> usize {
        self.path
            .iter()
            .rev()
            .find_map(|s| match s {
                Segment::Index(i) => Some(*i),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// The Go struct field name Calico's validator reports for the current path: the innermost
    /// field, capitalised as the Go API spells it, with the list index when inside a list
    /// (`spec.nets[1]` gives `Nets[1]`).
    pub fn go_name(&self) -> String {
        let mut index = None;
        for segment in self.path.iter().rev() {
            match segment {
                Segment::Index(i) if index.is_none() => index = Some(*i),
                Segment::Index(_) => {}
                Segment::Field(name) => return go_field_name(name, index),
                Segment::OwnedField(name) => return go_field_name(name, index),
            }
        }
        String::new()
    }

    /// The current path, e.g. `spec.ingress[0].action`.
    pub fn path(&self) -> String {
        let mut out = String::new();
        for segment in &self.path {
            match segment {
                Segment::Field(name) => push_field(&mut out, name),
                Segment::OwnedField(name) => push_field(&mut out, name),
                Segment::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
            }
        }
        out
    }

    /// Records a Go validator error under the name Calico's validator gives it (the Go struct
    /// field, e.g. `CIDR` or `Nets[0]`, or the name a struct-level check reports), with the value
    /// as Go's `%v` prints it.
    pub fn go(
        &mut self,
        name: impl Into<String>,
        value: impl fmt::Display,
        reason: impl Into<String>,
    ) {
        self.errors.push(FieldError {
            field: name.into(),
            value: Some(value.to_string()),
            reason: reason.into(),
        });
    }

    /// Records an error Calico's client reports without a value (its pre-validation checks).
    pub fn go_no_value(&mut self, name: impl Into<String>, reason: impl Into<String>) {
        self.errors.push(FieldError {
            field: name.into(),
            value: None,
            reason: reason.into(),
        });
    }

    /// Records a Go struct-tag failure that has no reason of its own: Calico's validator then
    /// says which field failed which tag (its text, trailing space included).
    pub fn go_tag(&mut self, name: &str, value: impl fmt::Display, tag: &str) {
        let reason = format!("Reason: failed to validate Field: {name} because of Tag: {tag} ");
        self.go(name, value, reason);
    }

    /// Records a CRD schema or CEL rule failure at the current JSON path. Such errors carry no
    /// value; at the root of the object Calico names the kind instead of the empty path.
    pub fn schema(&mut self, reason: impl Into<String>) {
        let field = self.path();
        self.schema.push(FieldError {
            field,
            value: None,
            reason: reason.into(),
        });
    }

    /// Records a failure at the current JSON path with the offending value, among the schema
    /// errors. Calico prints no value for schema errors, so this is for the checks not yet
    /// expressed in Calico's own terms (see docs/compatibility.md).
    pub fn error(&mut self, value: impl fmt::Display, reason: impl Into<String>) {
        let field = self.path();
        self.schema.push(FieldError {
            field,
            value: Some(value.to_string()),
            reason: reason.into(),
        });
    }

    /// [`Validator::error`] at a child of the current path.
    pub fn error_at(
        &mut self,
        child: &'static str,
        value: impl fmt::Display,
        reason: impl Into<String>,
    ) {
        self.field(child, |v| v.error(value, reason));
    }

    /// A rule failure without a value at the current path: Calico's CEL rules report so.
    pub fn error_no_value(&mut self, reason: impl Into<String>) {
        self.cel(reason);
    }

    /// Records a CRD CEL rule failure (its message) at the current JSON path.
    pub fn cel(&mut self, reason: impl Into<String>) {
        let field = self.path();
        self.cel.push(FieldError {
            field,
            value: None,
            reason: reason.into(),
        });
    }

    /// Records a CRD schema failure at a child of the current path.
    pub fn schema_at(&mut self, child: &'static str, reason: impl Into<String>) {
        self.field(child, |v| v.schema(reason));
    }

    /// Records a failure of a schema `enum` (the apiserver's "supported values" text).
    pub fn schema_enum(&mut self, allowed: &[&str]) {
        let quoted: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
        self.schema(format!("supported values: {}", quoted.join(", ")));
    }

    /// Whether any error was recorded so far.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty() || !self.schema.is_empty() || !self.cel.is_empty()
    }

    /// Errors recorded so far: the Go layer's, then the schema layer's.
    pub fn errors(&self) -> Vec<FieldError> {
        self.errors
            .iter()
            .chain(&self.schema)
            .chain(&self.cel)
            .cloned()
            .collect()
    }

    /// Errors of the Go layer recorded so far.
    pub fn go_errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// Like [`Validator::finish`], naming root-level schema and CEL errors after `kind`, as
    /// Calico does when a rule's path is empty. Kinds that have no CRD in Calico (Profile, Node,
    /// WorkloadEndpoint) get only the Go validator's checks, as in Calico.
    pub fn finish_for_kind(mut self, kind: &str) -> Result<(), ValidationError> {
        if KINDS_WITHOUT_CRD.contains(&kind) {
            self.schema.clear();
            self.cel.clear();
        }
        for error in self.schema.iter_mut().chain(self.cel.iter_mut()) {
            if error.field.is_empty() {
                error.field = kind.to_string();
            }
        }
        self.finish()
    }

    /// `Ok` when nothing was recorded.
    pub fn finish(self) -> Result<(), ValidationError> {
        if !self.has_errors() {
            Ok(())
        } else {
            let mut fields = self.errors;
            fields.extend(self.schema);
            fields.extend(self.cel);
            Err(ValidationError { fields })
        }
    }
}

/// The Go spelling of a JSON field name of Calico's API, with an optional list index.
fn go_field_name(json: &str, index: Option<usize>) -> String {
    // Initialisms the Go API spells in capitals.
    const IRREGULAR: &[(&str, &str)] = &[
        ("cidr", "CIDR"),
        ("cidrs", "CIDRs"),
        ("peerIP", "PeerIP"),
        ("ipv4Address", "IPv4Address"),
        ("ipv6Address", "IPv6Address"),
        ("ipv4VXLANTunnelAddr", "IPv4VXLANTunnelAddr"),
        ("ipv6VXLANTunnelAddr", "IPv6VXLANTunnelAddr"),
        ("ipv4IPIPTunnelAddr", "IPv4IPIPTunnelAddr"),
        ("vxlanTunnelMACAddr", "VXLANTunnelMACAddr"),
        ("vxlanTunnelMACAddrV6", "VXLANTunnelMACAddrV6"),
        ("expectedIPs", "ExpectedIPs"),
        ("ipNetworks", "IPNetworks"),
        ("ipNATs", "IPNATs"),
        ("ipv4Gateway", "IPv4Gateway"),
        ("ipv6Gateway", "IPv6Gateway"),
        ("mac", "MAC"),
        ("asNumber", "ASNumber"),
        ("reservedCIDRs", "ReservedCIDRs"),
        ("routeReflectorClusterID", "RouteReflectorClusterID"),
        ("interfaceIPv4Address", "InterfaceIPv4Address"),
        ("interfaceIPv6Address", "InterfaceIPv6Address"),
        ("localWorkloadPeeringIPV4", "LocalWorkloadPeeringIPV4"),
        ("localWorkloadPeeringIPV6", "LocalWorkloadPeeringIPV6"),
        ("ttlSecurity", "TTLSecurity"),
        ("interfaceCIDRs", "InterfaceCIDRs"),
        ("nodeIP", "NodeIP"),
        ("http", "HTTP"),
        ("icmp", "ICMP"),
        ("notICMP", "NotICMP"),
        ("ipVersion", "IPVersion"),
    ];
    let mut name = match IRREGULAR.iter().find(|(j, _)| *j == json) {
        Some((_, go)) => go.to_string(),
        None => {
            let mut chars = json.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        }
    };
    if let Some(i) = index {
        name.push_str(&format!("[{i}]"));
    }
    name
}

fn push_field(out: &mut String, name: &str) {
    if !out.is_empty() {
        out.push('.');
    }
    out.push_str(name);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_calico() {
        let none = ValidationError { fields: vec![] };
        assert_eq!(none.to_string(), "unknown validation error");

        let mut v = Validator::new();
        v.go(
            "IPpool.CIDR",
            "10.0.0.1/8",
            "IP pool CIDR is not strictly masked",
        );
        let one = v.finish().unwrap_err();
        assert_eq!(
            one.to_string(),
            "error with field IPpool.CIDR = '10.0.0.1/8' (IP pool CIDR is not strictly masked)"
        );

        // CEL errors after schema errors after Go errors, whatever the order of discovery.
        let mut v = Validator::new();
        v.field("spec", |v| {
            v.cel("ipipMode and vxlanMode cannot both be enabled");
            v.field("ipipMode", |v| v.schema_enum(&["Never", "Always"]));
        });
        v.go_tag("CIDR", "x", "net");
        v.cel("at the root");
        let many = v.finish_for_kind("IPPool").unwrap_err();
        assert_eq!(
            many.to_string(),
            "error with the following fields:\n\
             -  CIDR = 'x' (Reason: failed to validate Field: CIDR because of Tag: net )\n\
             -  spec.ipipMode (supported values: \"Never\", \"Always\")\n\
             -  spec (ipipMode and vxlanMode cannot both be enabled)\n\
             -  IPPool (at the root)\n"
        );
    }
}
