//! JSON text written directly into a buffer: string escaping that skips eight plain bytes at a time. Record
//! answers are mostly text, and escaping byte by byte (serde_json's way) was a fifth of a list's instructions.

use std::fmt::Write as _;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any of the eight bytes is a control character, `"` or `\` (the bytes JSON must escape).
fn any_special(word: u64) -> bool {
    let below_space = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let is_quote = quote.wrapping_sub(ONES) & !quote;
    let is_backslash = backslash.wrapping_sub(ONES) & !backslash;
    (below_space | is_quote | is_backslash) & HIGHS != 0
}

fn special(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Append `s` JSON-escaped, without quotes.
pub fn escape_into(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(chunk) = bytes.get(i..i + 8) {
            let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
            if !any_special(word) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        if special(b) {
            // `b` is ASCII, so both slices end on character boundaries.
            out.push_str(&s[start..i]);
            match b {
                b'"' => out.push_str("\\\""),
                b'\\' => out.push_str("\\\\"),
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                b'\t' => out.push_str("\\t"),
                _ => {
                    let _ = write!(out, "\\u{b:04x}");
                }
            }
            start = i + 1;
        }
        i += 1;
    }
    out.push_str(&s[start..]);
}

/// Append `s` as a JSON string literal.
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    escape_into(out, s);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literal(s: &str) -> String {
        let mut out = String::new();
        push_str(&mut out, s);
        out
    }

    #[test]
    fn escapes_what_json_requires_and_nothing_else() {
        for s in [
            "",
            "plain text longer than eight bytes",
            "a\"b\\c\nd\re\tf\u{1}g\u{1f}",
            "ünïcödé and 😀 emoji with \" quote",
            "\u{7f}\u{80}\u{ff} high bytes are left alone",
            "ends with a quote\"",
            "\"starts with one",
            "exactly8",
            "1234567\"",
        ] {
            let out = literal(s);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
            assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s);
        }
    }

    #[test]
    fn every_byte_position_of_a_special_character_is_found() {
        for at in 0..20 {
            for special in ['"', '\\', '\n', '\u{0}', '\u{1f}'] {
                let mut s = "x".repeat(20);
                s.replace_range(at..at + 1, &special.to_string());
                assert_eq!(literal(&s), serde_json::to_string(&s).unwrap(), "{s:?}");
            }
        }
    }
}
