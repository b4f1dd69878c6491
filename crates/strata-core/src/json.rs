//! JSON text written directly into a buffer: string escaping that skips sixteen plain bytes at a time. Record
//! answers are mostly text, and escaping byte by byte (serde_json's way) was a fifth of a list's instructions.

use std::fmt::Write as _;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each of the eight bytes that is a control character, `"` or `\` (the bytes JSON must
/// escape), and possibly of bytes after such a byte; zero when there is none.
fn specials(word: u64) -> u64 {
    let below_space = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let is_quote = quote.wrapping_sub(ONES) & !quote;
    let is_backslash = backslash.wrapping_sub(ONES) & !backslash;
    (below_space | is_quote | is_backslash) & HIGHS
}

fn special(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// How many bytes at the start of `bytes` JSON takes as they are: sixteen at a time while none needs escaping,
/// then one at a time up to the first that does.
fn plain_run(bytes: &[u8]) -> usize {
    let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
    let mut n = 0;
    for chunk in bytes.chunks_exact(16) {
        let (low, high) = chunk.split_at(8);
        if specials(word(low)) | specials(word(high)) != 0 {
            break;
        }
        n += 16;
    }
    n + bytes[n..].iter().take_while(|&&b| !special(b)).count()
}

/// Append `s` JSON-escaped, without quotes.
pub fn escape_into(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut i = 0;
    loop {
        let run = plain_run(&bytes[i..]);
        // The run ends at the end or before an ASCII byte, so on a character boundary.
        out.push_str(&s[i..i + run]);
        i += run;
        let Some(&b) = bytes.get(i) else {
            return;
        };
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
        i += 1;
    }
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
        for at in 0..40 {
            for special in ['"', '\\', '\n', '\u{0}', '\u{1f}'] {
                let mut s = "x".repeat(40);
                s.replace_range(at..at + 1, &special.to_string());
                assert_eq!(literal(&s), serde_json::to_string(&s).unwrap(), "{s:?}");
            }
        }
    }
}
