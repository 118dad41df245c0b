//! Calico's number-or-string types (`api/pkg/lib/numorstring`): ports and port ranges, protocols,
//! AS numbers, DSCP values, and Kubernetes' IntOrString. Each reads and writes JSON exactly as
//! the Go types do.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A port, a port range, or a named port.
///
/// JSON: a number is a single port; a string is `"80"`, `"1000:2000"` (min ≤ max) or a name
/// matching `[a-zA-Z0-9_.-]{1,128}`. Written back as a number for a single port, `"min:max"`
/// for a range and the name for a named port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Port {
    /// `min..=max`; a single port has `min == max`.
    Range {
        min: u16,
        max: u16,
    },
    Named(String),
}

impl Port {
    /// A single port number.
    pub fn single(port: u16) -> Port {
        Port::Range {
            min: port,
            max: port,
        }
    }

    /// Whether this is a named port.
    pub fn is_named(&self) -> bool {
        matches!(self, Port::Named(_))
    }

    /// Parses the string form, with Calico's error messages.
    pub fn parse(text: &str) -> Result<Port, String> {
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if all_digits(text) {
            return text
                .parse::<u16>()
                .map(Port::single)
                .map_err(|_| format!("invalid port format ({text})"));
        }
        if let Some((low, high)) = text.split_once(':') {
            if all_digits(low) && all_digits(high) {
                let min = low
                    .parse::<u16>()
                    .map_err(|_| format!("invalid minimum port number in range ({text})"))?;
                let max = high
                    .parse::<u16>()
                    .map_err(|_| format!("invalid maximum port number in range ({text})"))?;
                if min > max {
                    return Err(format!(
                        "minimum port number ({min}) is greater than maximum port number ({max}) in port range"
                    ));
                }
                return Ok(Port::Range { min, max });
            }
        }
        let valid_name = !text.is_empty()
            && text.len() <= 128
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if valid_name {
            Ok(Port::Named(text.to_string()))
        } else {
            Err(format!("invalid name for named port ({text})"))
        }
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Port::Named(name) => f.write_str(name),
            Port::Range { min, max } if min == max => write!(f, "{min}"),
            Port::Range { min, max } => write!(f, "{min}:{max}"),
        }
    }
}

impl Serialize for Port {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Port::Range { min, max } if min == max => serializer.serialize_u16(*min),
            other => serializer.collect_str(other),
        }
    }
}

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PortVisitor;
        impl Visitor<'_> for PortVisitor {
            type Value = Port;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port number, a \"min:max\" port range or a port name")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Port, E> {
                // Go reads the number as a uint16 and words the overflow so.
                u16::try_from(n)
                    .map(Port::single)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(n), &"uint16"))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Port, E> {
                u64::try_from(n)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(n), &"uint16"))
                    .and_then(|n| self.visit_u64(n))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Port, E> {
                // Go reads the number as a uint16 and words its error so.
                Err(E::invalid_type(de::Unexpected::Float(n), &"uint16"))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Port, E> {
                Port::parse(s).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(PortVisitor)
    }
}

/// A value that is either a small number or a string: protocols and DSCP values.
///
/// A JSON string holding a number (`"6"`) is read as the number, as Calico does.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Uint8OrString {
    Num(u8),
    Str(String),
}

/// A protocol: a number 1–255 or one of `TCP`, `UDP`, `ICMP`, `ICMPv6`, `SCTP`, `UDPLite`.
pub type Protocol = Uint8OrString;

/// A DSCP value: a number 0–63 or a well-known name (`DF`, `EF`, `AF11`…`AF43`, `CS0`…`CS6`).
pub type Dscp = Uint8OrString;

/// Protocol names Calico accepts (case-sensitive).
pub const PROTOCOL_NAMES: &[&str] = &["TCP", "UDP", "ICMP", "ICMPv6", "SCTP", "UDPLite"];

impl Uint8OrString {
    /// Builds from text: a decimal 0–255 becomes a number.
    pub fn from_text(text: &str) -> Self {
        match text.parse::<u8>() {
            Ok(n) if text.bytes().all(|b| b.is_ascii_digit()) => Uint8OrString::Num(n),
            _ => Uint8OrString::Str(text.to_string()),
        }
    }

    /// A protocol from a name, canonicalising the case of known names (`tcp` → `TCP`), like
    /// Calico's `ProtocolFromString`.
    pub fn protocol_from_name(name: &str) -> Self {
        let known = PROTOCOL_NAMES
            .iter()
            .find(|known| known.eq_ignore_ascii_case(name));
        Uint8OrString::Str(known.map_or_else(|| name.to_string(), |k| k.to_string()))
    }

    /// The numeric value, if it is one.
    pub fn number(&self) -> Option<u8> {
        match self {
            Uint8OrString::Num(n) => Some(*n),
            Uint8OrString::Str(s) => s.parse().ok(),
        }
    }

    /// Whether the protocol carries ports: TCP, UDP or SCTP (6, 17, 132), as Calico decides.
    pub fn supports_ports(&self) -> bool {
        match self.number() {
            Some(n) => matches!(n, 6 | 17 | 132),
            None => matches!(
                self.to_string().as_str(),
                "TCP" | "UDP" | "SCTP" | "tcp" | "udp" | "sctp"
            ),
        }
    }

    /// Whether the protocol is ICMP (by name or number 1).
    pub fn is_icmp(&self) -> bool {
        match self {
            Uint8OrString::Num(n) => *n == 1,
            Uint8OrString::Str(s) => s == "ICMP",
        }
    }

    /// Whether the protocol is ICMPv6 (by name or number 58).
    pub fn is_icmpv6(&self) -> bool {
        match self {
            Uint8OrString::Num(n) => *n == 58,
            Uint8OrString::Str(s) => s == "ICMPv6",
        }
    }
}

impl fmt::Display for Uint8OrString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uint8OrString::Num(n) => write!(f, "{n}"),
            Uint8OrString::Str(s) => f.write_str(s),
        }
    }
}

impl Serialize for Uint8OrString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.number() {
            Some(n) => serializer.serialize_u8(n),
            None => serializer.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Uint8OrString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct U8OrStrVisitor;
        impl Visitor<'_> for U8OrStrVisitor {
            type Value = Uint8OrString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number from 0 to 255 or a string")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
                // Go reads the number as a uint8 and words the overflow so.
                u8::try_from(n)
                    .map(Uint8OrString::Num)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(n), &"uint8"))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
                u64::try_from(n)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(n), &"uint8"))
                    .and_then(|n| self.visit_u64(n))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
                // Go reads the number as a uint8 and words its error so.
                Err(E::invalid_type(de::Unexpected::Float(n), &"uint8"))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Uint8OrString::from_text(s))
            }
        }
        deserializer.deserialize_any(U8OrStrVisitor)
    }
}

/// A BGP AS number. Reads a JSON number, a decimal string, or AS-dot notation `"X.Y"`
/// (X·65536 + Y); always written as a plain number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AsNumber(pub u32);

impl AsNumber {
    /// Parses decimal or AS-dot notation, with Calico's error message.
    pub fn parse(text: &str) -> Result<AsNumber, String> {
        let invalid = || format!("invalid AS Number format ({text})");
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if digits(text) {
            if let Ok(n) = text.parse::<u32>() {
                return Ok(AsNumber(n));
            }
        }
        let (high, low) = text.split_once('.').ok_or_else(invalid)?;
        if !digits(high) || !digits(low) {
            return Err(invalid());
        }
        let high = high.parse::<u16>().map_err(|_| invalid())?;
        let low = low.parse::<u16>().map_err(|_| invalid())?;
        Ok(AsNumber((u32::from(high) << 16) + u32::from(low)))
    }
}

impl fmt::Display for AsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for AsNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(self.0)
    }
}

impl<'de> Deserialize<'de> for AsNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AsnVisitor;
        impl Visitor<'_> for AsnVisitor {
            type Value = AsNumber;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an AS number (a 32-bit number or \"X.Y\")")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<AsNumber, E> {
                // Go fails to read the number as a uint32, then reads it as a string and
                // reports that.
                u32::try_from(n)
                    .map(AsNumber)
                    .map_err(|_| E::invalid_type(de::Unexpected::Unsigned(n), &"string"))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<AsNumber, E> {
                u64::try_from(n)
                    .map_err(|_| E::invalid_type(de::Unexpected::Signed(n), &"string"))
                    .and_then(|n| self.visit_u64(n))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<AsNumber, E> {
                // Go reads the number as a uint32 and words its error so.
                Err(E::invalid_type(de::Unexpected::Float(n), &"uint32"))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<AsNumber, E> {
                AsNumber::parse(s).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(AsnVisitor)
    }
}

/// Kubernetes `IntOrString` (used by the Kubernetes network policy types): kept as written,
/// a number stays a number and a string stays a string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntOrString {
    Int(i32),
    String(String),
}

impl fmt::Display for IntOrString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntOrString::Int(n) => write!(f, "{n}"),
            IntOrString::String(s) => f.write_str(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn port(v: serde_json::Value) -> Result<Port, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    #[test]
    fn ports_read_and_write_like_go() {
        assert_eq!(port(json!(80)), Ok(Port::single(80)));
        assert_eq!(port(json!("80")), Ok(Port::single(80)));
        assert_eq!(
            port(json!("1000:2000")),
            Ok(Port::Range {
                min: 1000,
                max: 2000
            })
        );
        assert_eq!(port(json!("http-alt")), Ok(Port::Named("http-alt".into())));
        assert!(port(json!("2000:1000"))
            .unwrap_err()
            .contains("minimum port number (2000) is greater than maximum port number (1000)"));
        assert!(port(json!("70000"))
            .unwrap_err()
            .contains("invalid port format (70000)"));
        assert!(port(json!(70000)).is_err());
        assert!(port(json!(-1)).is_err());
        assert!(port(json!("bad port"))
            .unwrap_err()
            .contains("invalid name for named port"));
        assert!(port(json!("")).is_err());

        let ports = vec![
            Port::single(80),
            Port::Range {
                min: 8000,
                max: 8080,
            },
            Port::Named("http".into()),
        ];
        assert_eq!(
            serde_json::to_string(&ports).ok(),
            Some(r#"[80,"8000:8080","http"]"#.to_string())
        );
    }

    #[test]
    fn protocols() {
        let p: Uint8OrString = serde_json::from_value(json!("6")).unwrap_or(Uint8OrString::Num(0));
        assert_eq!(p, Uint8OrString::Num(6));
        assert_eq!(serde_json::to_string(&p).ok(), Some("6".into()));
        let p: Uint8OrString =
            serde_json::from_value(json!("TCP")).unwrap_or(Uint8OrString::Num(0));
        assert!(p.supports_ports());
        assert!(serde_json::from_value::<Uint8OrString>(json!(256)).is_err());
        assert_eq!(
            Uint8OrString::protocol_from_name("icmpv6"),
            Uint8OrString::Str("ICMPv6".into())
        );
        assert!(!Uint8OrString::Str("ICMP".into()).supports_ports());
        assert!(Uint8OrString::Num(132).supports_ports());
    }

    #[test]
    fn as_numbers() {
        assert_eq!(AsNumber::parse("64512"), Ok(AsNumber(64512)));
        assert_eq!(AsNumber::parse("1.10"), Ok(AsNumber(65546)));
        assert!(AsNumber::parse("1.70000").is_err());
        assert!(AsNumber::parse("1.2.3").is_err());
        assert!(AsNumber::parse("").is_err());
        let a: Result<AsNumber, _> = serde_json::from_value(json!("2.5"));
        assert_eq!(a.ok(), Some(AsNumber(131077)));
        assert_eq!(
            serde_json::to_string(&AsNumber(131077)).ok(),
            Some("131077".into())
        );
        assert!(serde_json::from_value::<AsNumber>(json!(4294967296u64)).is_err());
    }
}
