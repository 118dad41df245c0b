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

/// Go's `encoding/json` writes a float64 holding a whole number without a fraction (`100`,
/// `1000000`), where serde_json would write `100.0`. Policy and tier `order` values are such
/// floats, and stored values must match Go's bytes.
pub mod go_float {
    use serde::Serializer;

    /// Beyond this, whole numbers are no longer exactly representable as both i64 and f64 text
    /// in the same way, and Go switches to exponent notation at 1e21 anyway.
    const WHOLE_NUMBER_LIMIT: f64 = 1e15;

    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        if value.fract() == 0.0 && value.abs() < WHOLE_NUMBER_LIMIT {
            // Exact: the value is a whole number well inside i64's range.
            serializer.serialize_i64(*value as i64)
        } else {
            serializer.serialize_f64(*value)
        }
    }

    /// The same for `Option<f64>` (a Go `*float64`); use with `skip_serializing_if = "Option::is_none"`.
    pub mod option {
        use serde::Serializer;

        pub fn serialize<S: Serializer>(
            value: &Option<f64>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match value {
                Some(v) => super::serialize(v, serializer),
                None => serializer.serialize_none(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize)]
    struct Orders {
        #[serde(serialize_with = "super::go_float::serialize")]
        whole: f64,
        #[serde(serialize_with = "super::go_float::serialize")]
        fraction: f64,
        #[serde(serialize_with = "super::go_float::option::serialize")]
        maybe: Option<f64>,
    }

    #[test]
    fn floats_print_like_go() {
        let orders = Orders {
            whole: 1_000_000.0,
            fraction: 100.5,
            maybe: Some(-3.0),
        };
        assert_eq!(
            serde_json::to_string(&orders).ok().as_deref(),
            Some(r#"{"whole":1000000,"fraction":100.5,"maybe":-3}"#)
        );
    }
}
