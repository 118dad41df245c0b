//! Calico's `ConvertUID`: objects derived from a backing object must not share its UID (the
//! garbage collector would confuse them), so Calico reverses the bits of every byte except the
//! version and variant bytes (6 and 8). The transformation is its own inverse.

/// Converts a UID between a Calico v3 object and its backing Kubernetes object. `None` when the
/// text is not a UUID.
pub fn convert_uid(uid: &str) -> Option<String> {
    let parsed = uuid::Uuid::parse_str(uid).ok()?;
    let mut bytes = *parsed.as_bytes();
    for (index, byte) in bytes.iter_mut().enumerate() {
        if index != 6 && index != 8 {
            *byte = byte.reverse_bits();
        }
    }
    Some(uuid::Uuid::from_bytes(bytes).hyphenated().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverses_bits_except_version_and_variant() {
        let converted = convert_uid("01234567-89ab-4def-8123-456789abcdef").unwrap_or_default();
        // 0x01 -> 0x80, 0x23 -> 0xc4, ...; byte 6 (0x4d) and byte 8 (0x81) are kept.
        assert_eq!(converted, "80c4a2e6-91d5-4df7-81c4-a2e691d5b3f7");
        assert_eq!(
            convert_uid(&converted).as_deref(),
            Some("01234567-89ab-4def-8123-456789abcdef")
        );
    }

    #[test]
    fn rejects_non_uuids() {
        assert_eq!(convert_uid("not-a-uid"), None);
        assert_eq!(convert_uid(""), None);
    }
}
