//! Validation of resources, reporting every problem with its JSON field path.
//!
//! Calico validates in two layers (its Go validator and the rules that now live in the CRD
//! schemas: enums, ranges, CEL cross-field rules); both are applied here to whole resources.
//! Errors render exactly like libcalico-go's `ErrorValidation`.

pub mod checks;
pub mod metadata;
pub mod names;

use std::fmt;

/// One failed field: its JSON path (e.g. `spec.ingress[0].destination.ports[1]`), the offending
/// value when there is one, and why it is wrong.
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
/// v.field("spec", |v| v.field("ports", |v| v.index(1, |v| v.error("0", "bad port"))));
/// let err = v.finish().unwrap_err();
/// assert_eq!(err.to_string(), "error with field spec.ports[1] = '0' (bad port)");
/// ```
#[derive(Debug, Default)]
pub struct Validator {
    path: Vec<Segment>,
    errors: Vec<FieldError>,
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

    /// Records an error at the current path with the offending value.
    pub fn error(&mut self, value: impl fmt::Display, reason: impl Into<String>) {
        let field = self.path();
        self.errors.push(FieldError {
            field,
            value: Some(value.to_string()),
            reason: reason.into(),
        });
    }

    /// Records an error at the current path without a value (cross-field rules).
    pub fn error_no_value(&mut self, reason: impl Into<String>) {
        let field = self.path();
        self.errors.push(FieldError {
            field,
            value: None,
            reason: reason.into(),
        });
    }

    /// Records an error at a child of the current path.
    pub fn error_at(
        &mut self,
        child: &'static str,
        value: impl fmt::Display,
        reason: impl Into<String>,
    ) {
        self.field(child, |v| v.error(value, reason));
    }

    /// Whether any error was recorded so far.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Errors recorded so far.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// `Ok` when nothing was recorded.
    pub fn finish(self) -> Result<(), ValidationError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationError {
                fields: self.errors,
            })
        }
    }
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
        v.field("spec", |v| {
            v.error_at("cidr", "10.0.0.1/8", "IPPool CIDR is not strictly masked");
        });
        let one = v.finish().unwrap_err();
        assert_eq!(
            one.to_string(),
            "error with field spec.cidr = '10.0.0.1/8' (IPPool CIDR is not strictly masked)"
        );

        let mut v = Validator::new();
        v.field("spec", |v| {
            v.error_no_value("ipipMode and vxlanMode cannot both be enabled");
            v.each("ports", &[1, 2], |v, p| v.error(p, "bad"));
        });
        let many = v.finish().unwrap_err();
        assert_eq!(
            many.to_string(),
            "error with the following fields:\n\
             -  spec (ipipMode and vxlanMode cannot both be enabled)\n\
             -  spec.ports[0] = '1' (bad)\n\
             -  spec.ports[1] = '2' (bad)\n"
        );
    }
}
