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
