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

/// 2^63: every integral `f64` of smaller magnitude converts to `i64` exactly.
const I64_EXACT_LIMIT: f64 = 9_223_372_036_854_775_808.0;

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

/// Writes a `float64` the way Go's `encoding/json` does. Go prints the shortest decimal that
/// round-trips, without exponent for magnitudes in [1e-6, 1e21); serde_json agrees except that it
/// appends `.0` to integral values, so those are written as integers.
pub fn go_float<S: serde::Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    let v = *value;
    if v.is_finite() && v.fract() == 0.0 && v.abs() < I64_EXACT_LIMIT {
        // The range check above makes the conversion exact.
        #[allow(clippy::cast_possible_truncation)]
        serializer.serialize_i64(v as i64)
    } else {
        serializer.serialize_f64(v)
    }
}
