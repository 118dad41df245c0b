//! JSON schemas (feature `schema`) for the types whose serde encoding is hand-written, so
//! that the schemas derived for the kinds describe what we actually read and write. The
//! shapes follow Calico's CRDs (controller-gen output).

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

use crate::duration::Duration;
use crate::meta::Time;
use crate::numorstring::{AsNumber, IntOrString, Port, Uint8OrString};

/// What controller-gen writes for Go's number-or-string types; Kubernetes accepts no `type`
/// next to `x-kubernetes-int-or-string`, only this `anyOf`.
fn int_or_string() -> Schema {
    json_schema!({
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "x-kubernetes-int-or-string": true
    })
}

macro_rules! inline_schema {
    ($ty:ty, $name:literal, $body:expr) => {
        impl JsonSchema for $ty {
            // Inlined: these are leaves, and a definition per leaf type would only add `$ref`s
            // for the generator to resolve.
            fn inline_schema() -> bool {
                true
            }
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                $body
            }
        }
    };
}

inline_schema!(Port, "Port", int_or_string());
inline_schema!(Uint8OrString, "Uint8OrString", int_or_string());
inline_schema!(IntOrString, "IntOrString", int_or_string());
inline_schema!(
    AsNumber,
    "ASNumber",
    json_schema!({"type": "integer", "format": "int32"})
);
inline_schema!(Duration, "Duration", json_schema!({"type": "string"}));
inline_schema!(
    Time,
    "Time",
    json_schema!({"type": "string", "format": "date-time"})
);
