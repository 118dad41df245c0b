//! Kubernetes `metav1.Duration`: JSON strings in Go's duration syntax (`"1m30s"`, `"250ms"`).
//!
//! Go parses the string and writes it back with `time.Duration.String()`, so `"90s"` is stored as
//! `"1m30s"`. We do the same so that what we write matches what Calico writes.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A signed duration in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    nanos: i64,
}

const NANOSECOND: u128 = 1;
const MICROSECOND: u128 = 1_000 * NANOSECOND;
const MILLISECOND: u128 = 1_000 * MICROSECOND;
const SECOND: u128 = 1_000 * MILLISECOND;
const MINUTE: u128 = 60 * SECOND;
const HOUR: u128 = 60 * MINUTE;

impl Duration {
    pub const fn from_nanos(nanos: i64) -> Self {
        Duration { nanos }
    }

    pub const fn from_secs(secs: i64) -> Self {
        Duration {
            nanos: secs.saturating_mul(1_000_000_000),
        }
    }

    pub const fn as_nanos(&self) -> i64 {
        self.nanos
    }

    /// Parses Go's duration syntax: an optional sign and a sequence of decimal numbers, each
    /// with an optional fraction and a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`).
    /// `"0"` alone needs no unit.
    pub fn parse(text: &str) -> Result<Duration, String> {
        let invalid = || format!("time: invalid duration {text:?}");
        let mut rest = text;
        let negative = match rest.as_bytes().first() {
            Some(b'-') => {
                rest = &rest[1..];
                true
            }
            Some(b'+') => {
                rest = &rest[1..];
                false
            }
            _ => false,
        };
        if rest == "0" {
            return Ok(Duration::default());
        }
        if rest.is_empty() {
            return Err(invalid());
        }
        let mut total: u128 = 0;
        while !rest.is_empty() {
            let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            let (int_part, after) = rest.split_at(int_len);
            rest = after;
            let mut frac_part = "";
            if let Some(after_dot) = rest.strip_prefix('.') {
                let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
                frac_part = &after_dot[..frac_len];
                rest = &after_dot[frac_len..];
            }
            if int_part.is_empty() && frac_part.is_empty() {
                return Err(invalid());
            }
            let unit_len = rest
                .char_indices()
                .find(|(_, c)| *c == '.' || c.is_ascii_digit())
                .map_or(rest.len(), |(i, _)| i);
            let (unit, after_unit) = rest.split_at(unit_len);
            rest = after_unit;
            let scale = match unit {
                "ns" => NANOSECOND,
                "us" | "\u{00b5}s" | "\u{03bc}s" => MICROSECOND,
                "ms" => MILLISECOND,
                "s" => SECOND,
                "m" => MINUTE,
                "h" => HOUR,
                "" => return Err(format!("time: missing unit in duration {text:?}")),
                other => return Err(format!("time: unknown unit {other:?} in duration {text:?}")),
            };
            let whole: u128 = if int_part.is_empty() {
                0
            } else {
                int_part.parse::<u128>().map_err(|_| invalid())?
            };
            let mut value = whole.checked_mul(scale).ok_or_else(invalid)?;
            // Fraction digits beyond nanosecond resolution cannot change the result.
            let mut frac_scale = scale;
            for digit in frac_part.bytes().take(30) {
                frac_scale /= 10;
                value += u128::from(digit - b'0') * frac_scale;
            }
            total = total.checked_add(value).ok_or_else(invalid)?;
            if total > i64::MAX as u128 + 1 {
                return Err(invalid());
            }
        }
        let nanos = if negative {
            0i128 - total as i128
        } else {
            total as i128
        };
        i64::try_from(nanos)
            .map(Duration::from_nanos)
            .map_err(|_| invalid())
    }
}

/// Writes the fractional part of `value / 10^precision` with trailing zeros dropped, like Go's
/// `fmtFrac`, and returns the integer part.
fn push_fraction(out: &mut String, value: u64, precision: u32) -> u64 {
    let divisor = 10u64.pow(precision);
    let fraction = value % divisor;
    if fraction != 0 {
        let digits = format!("{fraction:0width$}", width = precision as usize);
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    value / divisor
}

impl fmt::Display for Duration {
    /// Go's `time.Duration.String()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0s");
        }
        let sign = if self.nanos < 0 { "-" } else { "" };
        let magnitude = self.nanos.unsigned_abs();
        if magnitude < 1_000_000_000 {
            let (precision, unit) = if magnitude < 1_000 {
                return write!(f, "{sign}{magnitude}ns");
            } else if magnitude < 1_000_000 {
                (3, "\u{00b5}s")
            } else {
                (6, "ms")
            };
            let mut fraction = String::new();
            let whole = push_fraction(&mut fraction, magnitude, precision);
            return write!(f, "{sign}{whole}{fraction}{unit}");
        }
        let mut fraction = String::new();
        let total_secs = push_fraction(&mut fraction, magnitude, 9);
        let secs = total_secs % 60;
        let total_mins = total_secs / 60;
        if total_mins == 0 {
            return write!(f, "{sign}{secs}{fraction}s");
        }
        let mins = total_mins % 60;
        let hours = total_mins / 60;
        if hours == 0 {
            write!(f, "{sign}{mins}m{secs}{fraction}s")
        } else {
            write!(f, "{sign}{hours}h{mins}m{secs}{fraction}s")
        }
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Duration::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(text: &str) -> Result<String, String> {
        Duration::parse(text).map(|d| d.to_string())
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(round("90s").as_deref(), Ok("1m30s"));
        assert_eq!(round("1h").as_deref(), Ok("1h0m0s"));
        assert_eq!(round("15m").as_deref(), Ok("15m0s"));
        assert_eq!(round("1.5s").as_deref(), Ok("1.5s"));
        assert_eq!(round("250ms").as_deref(), Ok("250ms"));
        assert_eq!(round("1500us").as_deref(), Ok("1.5ms"));
        assert_eq!(round("5ns").as_deref(), Ok("5ns"));
        assert_eq!(round("1µs").as_deref(), Ok("1\u{00b5}s"));
        assert_eq!(round("0").as_deref(), Ok("0s"));
        assert_eq!(round("-2m3.5s").as_deref(), Ok("-2m3.5s"));
        assert_eq!(round("2h45m").as_deref(), Ok("2h45m0s"));
        assert_eq!(round(".5s").as_deref(), Ok("500ms"));
        assert_eq!(round("1.000000001s").as_deref(), Ok("1.000000001s"));
    }

    #[test]
    fn rejects_like_go() {
        for bad in [
            "",
            "1",
            "s",
            "1x",
            "1.s.",
            "-",
            "++1s",
            "9999999999999h",
            ".",
        ] {
            assert!(Duration::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(Duration::parse("2562047h47m16.854775807s").is_ok());
        assert!(Duration::parse("2562047h47m16.854775808s").is_err());
        assert!(Duration::parse("-2562047h47m16.854775808s").is_ok());
    }
}
