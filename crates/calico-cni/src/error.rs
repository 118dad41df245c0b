//! The CNI error a plugin prints on stdout (`code`, `msg`, `details`), with the CNI library's
//! codes.

use serde::Serialize;

/// The CNI spec's error codes the library and Calico use.
pub mod code {
    pub const INCOMPATIBLE_CNI_VERSION: u32 = 1;
    pub const UNKNOWN_CONTAINER: u32 = 3;
    pub const INVALID_ENVIRONMENT_VARIABLES: u32 = 4;
    pub const IO_FAILURE: u32 = 5;
    pub const DECODING_FAILURE: u32 = 6;
    pub const INVALID_NETWORK_CONFIG: u32 = 7;
    pub const INVALID_NET_NS: u32 = 8;
    /// Every error of Calico's own code (a plain Go error the library wraps).
    pub const INTERNAL: u32 = 999;
}

/// A CNI error as printed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{msg}")]
pub struct CniError {
    pub code: u32,
    pub msg: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub details: String,
}

impl CniError {
    pub fn new(code: u32, msg: impl Into<String>, details: impl Into<String>) -> CniError {
        CniError {
            code,
            msg: msg.into(),
            details: details.into(),
        }
    }

    /// An error of the plugin's own (code 999).
    pub fn internal(msg: impl Into<String>) -> CniError {
        CniError::new(code::INTERNAL, msg, "")
    }

    /// The JSON printed on stdout (`json.MarshalIndent` with four spaces, no final newline).
    pub fn to_json(&self) -> Vec<u8> {
        calico_api::json::to_vec_indented(self, b"    ").unwrap_or_else(|_| {
            format!("{{\n    \"code\": {},\n    \"msg\": \"\"\n}}", self.code).into_bytes()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_as_the_cni_library_does() {
        assert_eq!(
            String::from_utf8_lossy(&CniError::new(7, "invalid characters found in network name", "n<>&").to_json()),
            "{\n    \"code\": 7,\n    \"msg\": \"invalid characters found in network name\",\n    \"details\": \"n\\u003c\\u003e\\u0026\"\n}"
        );
        assert_eq!(
            String::from_utf8_lossy(&CniError::internal("x").to_json()),
            "{\n    \"code\": 999,\n    \"msg\": \"x\"\n}"
        );
    }
}
