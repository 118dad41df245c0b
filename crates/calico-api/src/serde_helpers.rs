//! Predicates for `skip_serializing_if` that reproduce Go's `omitempty` on plain values.
//!
//! Go omits `false`, `0` and `""` when a field is tagged `omitempty`; pointers are omitted only
//! when nil, which is what `Option::is_none` gives us.

/// `omitempty` on a Go `bool`.
pub fn is_false(value: &bool) -> bool {
    !*value
}

/// `omitempty` on a Go integer.
pub fn is_zero_i64(value: &i64) -> bool {
    *value == 0
}

/// `omitempty` on a Go integer.
pub fn is_zero_i32(value: &i32) -> bool {
    *value == 0
}

/// `omitempty` on a Go integer.
pub fn is_zero_u32(value: &u32) -> bool {
    *value == 0
}

/// `omitempty` on a Go integer.
pub fn is_zero_u64(value: &u64) -> bool {
    *value == 0
}

/// `omitempty` on a Go integer.
pub fn is_zero_u16(value: &u16) -> bool {
    *value == 0
}

/// `omitempty` on a Go integer.
pub fn is_zero_u8(value: &u8) -> bool {
    *value == 0
}

/// `omitempty` on a Go `float64`.
pub fn is_zero_f64(value: &f64) -> bool {
    *value == 0.0
}

/// Writes an optional `float64` the way Go's `encoding/json` does: integral values without a
/// fraction (`100`, not `100.0`). Use with `skip_serializing_if = "Option::is_none"`.
pub fn go_float_opt<S: serde::Serializer>(
    value: &Option<f64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => go_float(v, serializer),
        None => serializer.serialize_none(),
    }
}

/// Writes a `float64` the way Go's `encoding/json` does (see [`crate::json::format_float`]).
/// A value Go writes as a whole number (`100`, `12345678901234567000`) is handed on as an
/// integer with exactly Go's digits, so that a JSON value built from it, and YAML made from
/// that (go-yaml reads such a number back as an integer), print what Calico prints; other
/// values go on as floats, which [`crate::json`] lays out as Go does.
pub fn go_float<S: serde::Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    let text = crate::json::format_float(*value);
    if !text.contains(['.', 'e']) && text != "-0" {
        if let Ok(n) = text.parse::<i64>() {
            return serializer.serialize_i64(n);
        }
        if let Ok(n) = text.parse::<u64>() {
            return serializer.serialize_u64(n);
        }
    }
    serializer.serialize_f64(*value)
}
