//! JSON output byte-identical to Go's `encoding/json`.
//!
//! Go escapes `<`, `>` and `&` (as `\u003c`, `\u003e`, `\u0026`) and U+2028/U+2029 in every
//! string, and writes control characters other than `\n`, `\r`, `\t` as `\u00XX`. Selectors are
//! full of `&&`, so a value Calico stores reads `a == 'b' \u0026\u0026 ...`; to write the same
//! bytes we escape the same way.
//!
//! Numbers: Go writes a `float64` in its shortest round-trip form, as a plain decimal for
//! magnitudes in [1e-6, 1e21) and in exponent form (`1e+21`, `1e-7`) outside it. Every float
//! written through this module is laid out that way (serde_json would write `1.2345678901234567e19`
//! where Go writes `12345678901234567000`).

use std::io;

use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter, PrettyFormatter};

/// A formatter that escapes strings like Go and lays out values like `F`.
struct GoEscaping<F>(F);

const HEX: &[u8; 16] = b"0123456789abcdef";

fn write_unicode_escape<W: ?Sized + io::Write>(writer: &mut W, code: u32) -> io::Result<()> {
    let bytes = [
        b'\\',
        b'u',
        HEX[((code >> 12) & 0xf) as usize],
        HEX[((code >> 8) & 0xf) as usize],
        HEX[((code >> 4) & 0xf) as usize],
        HEX[(code & 0xf) as usize],
    ];
    writer.write_all(&bytes)
}

impl<F: Formatter> Formatter for GoEscaping<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Scans bytes, not chars (this is the hot loop of printing large lists): U+2028 and
        // U+2029 are the only escaped characters outside ASCII, E2 80 A8/A9 in UTF-8.
        let bytes = fragment.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let (code, len) = match bytes[i] {
                b'<' | b'>' | b'&' => (u32::from(bytes[i]), 1),
                0xe2 if bytes.get(i + 1) == Some(&0x80)
                    && matches!(bytes.get(i + 2), Some(0xa8 | 0xa9)) =>
                {
                    (0x2000 | u32::from(bytes[i + 2] - 0x80), 3)
                }
                _ => {
                    i += 1;
                    continue;
                }
            };
            writer.write_all(&bytes[start..i])?;
            write_unicode_escape(writer, code)?;
            i += len;
            start = i;
        }
        writer.write_all(&bytes[start..])
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        match escape {
            CharEscape::Quote => writer.write_all(b"\\\""),
            CharEscape::ReverseSolidus => writer.write_all(b"\\\\"),
            CharEscape::LineFeed => writer.write_all(b"\\n"),
            CharEscape::CarriageReturn => writer.write_all(b"\\r"),
            CharEscape::Tab => writer.write_all(b"\\t"),
            CharEscape::Backspace => write_unicode_escape(writer, 0x08),
            CharEscape::FormFeed => write_unicode_escape(writer, 0x0c),
            CharEscape::AsciiControl(byte) => write_unicode_escape(writer, u32::from(byte)),
            #[allow(unreachable_patterns)]
            _ => self.0.write_char_escape(writer, escape),
        }
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(format_float(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        writer.write_all(format_float32(value).as_bytes())
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// The shortest decimal digits that read back as the same float, and the decimal exponent of
/// the first digit (`1234.5` is `("12345", 3)`); `value` must be finite and non-zero.
/// Rust's `{:e}` prints the same shortest digits as Go's `strconv` shortest mode.
fn shortest_digits(text: &str) -> (String, i32) {
    let (mantissa, exponent) = text.split_once('e').unwrap_or((text, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exponent.parse().unwrap_or(0))
}

/// Lays out shortest `digits` with first-digit exponent `exp` as Go's `strconv.FormatFloat`
/// with precision -1 does for the formats `'f'` (`e_form == false`) and `'e'`.
/// Hand-written to match Go byte for byte.
fn layout(negative: bool, digits: &str, exp: i32, e_form: bool) -> String {
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    if e_form {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let magnitude = exp.unsigned_abs();
        if magnitude < 10 {
            out.push('0');
        }
        out.push_str(&magnitude.to_string());
        return out;
    }
    // 'f': integer part (at least one digit), then the fraction when there is one.
    let point = exp + 1; // digits before the decimal point
    if point <= 0 {
        out.push('0');
        out.push('.');
        for _ in 0..(-point) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let point = point as usize;
        if digits.len() <= point {
            out.push_str(digits);
            for _ in digits.len()..point {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

/// Go's `strconv.FormatFloat(value, format, -1, 64)` for `format` one of `'f'`, `'e'`, `'g'`
/// (Go's `%v` of a `float64` is `'g'`). Infinities and NaN read `+Inf`, `-Inf`, `NaN`.
pub fn format_go_float(value: f64, format: char) -> String {
    // Rust's `{:e}` gives the shortest digits that read back as the same float64.
    format_go_any(value, format!("{:e}", value.abs()), format)
}

/// Go's `strconv.FormatFloat(value, format, -1, 32)`: as [`format_go_float`], with the
/// shortest digits that read back as the same `float32`.
pub fn format_go_float32(value: f32, format: char) -> String {
    format_go_any(f64::from(value), format!("{:e}", value.abs()), format)
}

/// Shared by the two widths: `e_text` is the magnitude's shortest `{:e}` at that width.
fn format_go_any(value: f64, e_text: String, format: char) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let (digits, exp) = if value == 0.0 {
        ("0".to_string(), 0)
    } else {
        shortest_digits(&e_text)
    };
    format_go_digits(value.is_sign_negative(), &digits, exp, format)
}

/// Go's `strconv.FormatFloat(value, format, prec, 64)` with a precision, for `format` one of
/// `'f'`, `'e'`, `'g'`; also what `fmt.Sprintf("%.<prec><format>", value)` prints (calicoctl's
/// `ipam show` uses `%.5g` and `%.f`).
///
/// The digits are the exact value rounded half to even, as Go's; `'e'` keeps `prec` decimals
/// (`1.0000e+00`), `'g'` rounds to `prec` significant digits (0 counts as 1), drops trailing zeros
/// and takes the exponent form when the exponent is below -4 or at least `prec` (`1e+05` for
/// `%.5g` of 100000), `'f'` prints every integer digit (`%.f` of 1e21 is 22 digits). Infinities
/// and NaN read `+Inf`, `-Inf`, `NaN`; negative zero keeps its sign (`-0`).
pub fn format_go_float_prec(value: f64, format: char, prec: usize) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let negative = value.is_sign_negative();
    match format {
        'e' => {
            let (digits, exp) = shortest_digits(&format!("{:.*e}", prec, value.abs()));
            layout(negative, &digits, exp, true)
        }
        'g' => {
            let prec = prec.max(1);
            let (digits, exp) = shortest_digits(&format!("{:.*e}", prec - 1, value.abs()));
            let digits = digits.trim_end_matches('0');
            let digits = if digits.is_empty() { "0" } else { digits };
            let e_form = exp < -4 || i64::from(exp) >= prec as i64;
            layout(negative, digits, exp, e_form)
        }
        // Rust's `{:.N}` prints the same exact, half-to-even rounded digits, and `-0`.
        _ => format!("{value:.prec$}"),
    }
}

/// Lays out shortest `digits` with decimal exponent `exp` in Go's `format`.
fn format_go_digits(negative: bool, digits: &str, exp: i32, format: char) -> String {
    let e_form = match format {
        'e' => true,
        // Shortest 'g' chooses the exponent form below 1e-4 and from 1e6 up (Go uses
        // precision 6 for that choice when the precision is -1).
        'g' => !(-4..6).contains(&exp),
        _ => false,
    };
    layout(negative, digits, exp, e_form)
}

/// A `float64` as Go's `encoding/json` writes it: `'f'` for magnitudes in [1e-6, 1e21), `'e'`
/// otherwise with a one-digit negative exponent (`1e-7`, not `1e-07`). Non-finite values, which
/// Go refuses to encode, are written as `null` as serde_json does.
pub fn format_float(value: f64) -> String {
    if !value.is_finite() {
        return "null".into();
    }
    let abs = value.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let text = format_go_float(value, 'e');
        // Go turns e-07 into e-7 (but keeps e+21).
        return match text.split_once("e-0") {
            Some((mantissa, digit)) => format!("{mantissa}e-{digit}"),
            None => text,
        };
    }
    format_go_float(value, 'f')
}

/// A `float32` as Go's `encoding/json` writes it (shortest `float32` digits, bounds as for
/// `float64`).
pub fn format_float32(value: f32) -> String {
    if !value.is_finite() {
        return "null".into();
    }
    let abs = value.abs();
    let negative = value.is_sign_negative();
    let (digits, exp) = if value == 0.0 {
        ("0".to_string(), 0)
    } else {
        shortest_digits(&format!("{:e}", abs))
    };
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let text = layout(negative, &digits, exp, true);
        return match text.split_once("e-0") {
            Some((mantissa, digit)) => format!("{mantissa}e-{digit}"),
            None => text,
        };
    }
    layout(negative, &digits, exp, false)
}

/// Compact JSON as Go's `json.Marshal` writes it (what Calico stores in etcd).
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut out, GoEscaping(CompactFormatter));
    value.serialize(&mut serializer)?;
    Ok(out)
}

/// Indented JSON as Go's `json.MarshalIndent(v, "", "  ")` writes it (calicoctl `-o json`).
pub fn to_vec_pretty<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(512);
    let mut serializer = serde_json::Serializer::with_formatter(
        &mut out,
        GoEscaping(PrettyFormatter::with_indent(b"  ")),
    );
    value.serialize(&mut serializer)?;
    Ok(out)
}

/// Indented JSON as Go's `json.MarshalIndent(v, "", indent)` writes it (the CNI library
/// indents its results and errors with four spaces).
pub fn to_vec_indented<T: Serialize + ?Sized>(
    value: &T,
    indent: &[u8],
) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::with_formatter(
        &mut out,
        GoEscaping(PrettyFormatter::with_indent(indent)),
    );
    value.serialize(&mut serializer)?;
    Ok(out)
}

/// Appends `value` as [`to_vec_pretty`] writes it, but as if nested `depth` levels deep: every
/// line after the first is indented by `depth` more steps of two spaces (an item of a list
/// printed one item at a time).
pub fn write_pretty_at<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
    depth: usize,
) -> Result<(), serde_json::Error> {
    let formatter = GoEscaping(NestedPretty {
        depth,
        has_value: false,
    });
    let mut serializer = serde_json::Serializer::with_formatter(out, formatter);
    value.serialize(&mut serializer)
}

/// serde_json's `PrettyFormatter` (two-space steps) starting at a given depth.
struct NestedPretty {
    depth: usize,
    has_value: bool,
}

impl NestedPretty {
    fn newline<W: ?Sized + io::Write>(&self, writer: &mut W, first: bool) -> io::Result<()> {
        const SPACES: &[u8; 64] = &[b' '; 64];
        writer.write_all(if first { b"\n" } else { b",\n" })?;
        let mut width = self.depth * 2;
        while width > 0 {
            let step = width.min(SPACES.len());
            writer.write_all(&SPACES[..step])?;
            width -= step;
        }
        Ok(())
    }

    fn close<W: ?Sized + io::Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline(writer, true)?;
        }
        writer.write_all(bracket)
    }
}

impl Formatter for NestedPretty {
    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(b"[")
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"]")
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.newline(writer, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(b"{")
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"}")
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.newline(writer, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_pretty_is_pretty_indented() {
        let value = json!({"a": [], "b": {}, "c": [1, {"d": "x\ny", "e": [[]]}], "f": {"g": null}});
        let pretty = String::from_utf8(to_vec_pretty(&value).unwrap()).unwrap();
        for depth in 0..3 {
            let mut nested = Vec::new();
            write_pretty_at(&mut nested, &value, depth).unwrap();
            let indent = format!("\n{}", "  ".repeat(depth));
            assert_eq!(
                String::from_utf8(nested).unwrap(),
                pretty.replace('\n', &indent)
            );
        }
    }

    #[test]
    fn escapes_like_go() {
        let value = json!({"selector": "a == 'x' && b != \"<y>\"", "c": "\u{8}\u{1}\n\u{2028}"});
        let text = String::from_utf8(to_vec(&value).unwrap()).unwrap();
        assert_eq!(
            text,
            r#"{"c":"\u0008\u0001\n\u2028","selector":"a == 'x' \u0026\u0026 b != \"\u003cy\u003e\""}"#
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn floats_like_go_encoding_json() {
        // Expected texts are what Go's json.Marshal writes for the same float64 values.
        let cases: &[(f64, &str)] = &[
            (12345678901234567890.0, "12345678901234567000"),
            (1234567890123456789.0, "1234567890123456800"),
            (100.0, "100"),
            (0.0, "0"),
            (-0.0, "-0"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (0.000001, "0.000001"),
            (0.0000001, "1e-7"),
            (1.5e-10, "1.5e-10"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.2345e300, "1.2345e+300"),
            (123456.789, "123456.789"),
            (0.1, "0.1"),
            (1e-5, "0.00001"),
        ];
        for (value, text) in cases {
            assert_eq!(format_float(*value), *text, "{value:e}");
            let json =
                String::from_utf8(to_vec(&serde_json::json!({"n": value})).unwrap()).unwrap();
            assert_eq!(json, format!("{{\"n\":{text}}}"));
        }
        assert_eq!(format_float32(0.1), "0.1");
        assert_eq!(format_float32(1e-7), "1e-7");
    }

    #[test]
    fn float32s_like_go_strconv_g() {
        // Go's strconv.FormatFloat(float64(float32(x)), 'g', -1, 32).
        for (value, text) in [
            (0.1f32, "0.1"),
            (123456789.0, "1.2345679e+08"),
            (1e-5, "1e-05"),
            (26.0, "26"),
            (-2.5, "-2.5"),
            (0.0, "0"),
        ] {
            assert_eq!(format_go_float32(value, 'g'), text);
        }
    }

    #[test]
    fn floats_like_go_strconv_g() {
        let cases: &[(f64, &str)] = &[
            (1000000.0, "1e+06"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (12345678901234567890.0, "1.2345678901234567e+19"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (100.5, "100.5"),
            (0.0, "0"),
            (f64::INFINITY, "+Inf"),
        ];
        for (value, text) in cases {
            assert_eq!(format_go_float(*value, 'g'), *text);
        }
    }

    #[test]
    fn floats_with_a_precision_like_go_fmt() {
        // Expected: Go 1.26's fmt.Sprintf("%.5g", v), ("%.f", v) of the same float64 values.
        let cases: &[(f64, &str, &str)] = &[
            (0.0, "0", "0"),
            (-0.0, "-0", "-0"),
            (1.0, "1", "1"),
            (-1.0, "-1", "-1"),
            (63.0, "63", "63"),
            (9999.0, "9999", "9999"),
            (10000.0, "10000", "10000"),
            (12344.5, "12344", "12344"),
            (12345.5, "12346", "12346"),
            (65536.0, "65536", "65536"),
            (99995.0, "99995", "99995"),
            (99999.0, "99999", "99999"),
            (99999.5, "1e+05", "100000"),
            (100000.0, "1e+05", "100000"),
            (100001.0, "1e+05", "100001"),
            (123456.0, "1.2346e+05", "123456"),
            (131072.0, "1.3107e+05", "131072"),
            (999949.0, "9.9995e+05", "999949"),
            (999950.0, "9.9995e+05", "999950"),
            (999999.0, "1e+06", "999999"),
            (1e6, "1e+06", "1000000"),
            (1048576.0, "1.0486e+06", "1048576"),
            (16777216.0, "1.6777e+07", "16777216"),
            (16711679.0, "1.6712e+07", "16711679"),
            (4294967296.0, "4.295e+09", "4294967296"),
            (1e21, "1e+21", "1000000000000000000000"),
            (
                1.2089258196146292e24,
                "1.2089e+24",
                "1208925819614629174706176",
            ),
            // i64::MAX (Calico clamps an oversized pool's count to it) and its negation.
            (i64::MAX as f64, "9.2234e+18", "9223372036854775808"),
            (-(i64::MAX as f64), "-9.2234e+18", "-9223372036854775808"),
            (2f64.powi(64), "1.8447e+19", "18446744073709551616"),
            (
                2f64.powi(128),
                "3.4028e+38",
                "340282366920938463463374607431768211456",
            ),
            (0.5, "0.5", "0"),
            (1.5, "1.5", "2"),
            (2.5, "2.5", "2"),
            (0.1, "0.1", "0"),
            (0.0001, "0.0001", "0"),
            (0.00012345678, "0.00012346", "0"),
            (0.00001, "1e-05", "0"),
            (0.000099999, "9.9999e-05", "0"),
            (1.00005, "1.0001", "1"),
            (1.00015, "1.0002", "1"),
            (123.456, "123.46", "123"),
            (-0.001, "-0.001", "-0"),
            (1e-300, "1e-300", "0"),
            (5e-324, "4.9407e-324", "0"),
            (f64::NAN, "NaN", "NaN"),
            (f64::INFINITY, "+Inf", "+Inf"),
            (f64::NEG_INFINITY, "-Inf", "-Inf"),
        ];
        for (value, g5, f0) in cases {
            assert_eq!(format_go_float_prec(*value, 'g', 5), *g5, "%.5g of {value}");
            assert_eq!(format_go_float_prec(*value, 'f', 0), *f0, "%.f of {value}");
        }
        let max = format_go_float_prec(f64::MAX, 'f', 0);
        assert_eq!((max.len(), &max[..6]), (309, "179769"));
        // Other precisions: "%.4e", "%.2f", "%.0e", "%.3g", "%.0g".
        let cases: &[(f64, [&str; 5])] = &[
            (0.0, ["0.0000e+00", "0.00", "0e+00", "0", "0"]),
            (1.0, ["1.0000e+00", "1.00", "1e+00", "1", "1"]),
            (0.125, ["1.2500e-01", "0.12", "1e-01", "0.125", "0.1"]),
            (0.375, ["3.7500e-01", "0.38", "4e-01", "0.375", "0.4"]),
            (2.5e-7, ["2.5000e-07", "0.00", "2e-07", "2.5e-07", "2e-07"]),
            (
                123456.789,
                ["1.2346e+05", "123456.79", "1e+05", "1.23e+05", "1e+05"],
            ),
            (
                -1e21,
                [
                    "-1.0000e+21",
                    "-1000000000000000000000.00",
                    "-1e+21",
                    "-1e+21",
                    "-1e+21",
                ],
            ),
            (
                5e-324,
                ["4.9407e-324", "0.00", "5e-324", "4.94e-324", "5e-324"],
            ),
        ];
        for (value, [e4, f2, e0, g3, g0]) in cases {
            assert_eq!(format_go_float_prec(*value, 'e', 4), *e4, "%.4e of {value}");
            assert_eq!(format_go_float_prec(*value, 'f', 2), *f2, "%.2f of {value}");
            assert_eq!(format_go_float_prec(*value, 'e', 0), *e0, "%.0e of {value}");
            assert_eq!(format_go_float_prec(*value, 'g', 3), *g3, "%.3g of {value}");
            assert_eq!(format_go_float_prec(*value, 'g', 0), *g0, "%.0g of {value}");
        }
    }

    #[test]
    fn escapes_line_separators_but_no_other_non_ascii() {
        // E2 80 A8/A9 are U+2028/U+2029; other characters starting E2 (…, €) stay as they are.
        let value = json!("\u{2029}…€\u{2028}x&\u{e9}\u{2027}\u{202a}");
        let text = String::from_utf8(to_vec(&value).unwrap()).unwrap();
        assert_eq!(text, "\"\\u2029…€\\u2028x\\u0026\u{e9}\u{2027}\u{202a}\"");
    }

    #[test]
    fn indents_like_go() {
        let value = json!({"a": [1, 2], "b": {}, "c": []});
        let text = String::from_utf8(to_vec_pretty(&value).unwrap()).unwrap();
        assert_eq!(
            text,
            "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {},\n  \"c\": []\n}"
        );
    }
}
