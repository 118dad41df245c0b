//! JSON output byte-identical to Go's `encoding/json`.
//!
//! Go escapes `<`, `>` and `&` (as `\u003c`, `\u003e`, `\u0026`) and U+2028/U+2029 in every
//! string, and writes control characters other than `\n`, `\r`, `\t` as `\u00XX`. Selectors are
//! full of `&&`, so a value Calico stores reads `a == 'b' \u0026\u0026 ...`; to write the same
//! bytes we escape the same way.

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
