//! `~` and `!~` (SPEC §14): a substring test after Unicode simple case folding, with no character special. Two
//! characters are equal here when they share a simple case-fold class (`k`, `K` and the Kelvin sign `K`; `ß` and
//! `ẞ`; but not `ss` and `ß`, nor `i` and `İ`, which need full or Turkic folding). The classes are the `regex`
//! crate's own (`regex_syntax`'s simple case folding), so the in-memory test, SQLite's registered function and
//! the patterns sent to PostgreSQL and MySQL/MariaDB agree.

use std::fmt::Write;

use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};

/// How a regex dialect writes a character by its code point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternSyntax {
    /// `\x{HHHH}`: Rust's `regex` (SQLite's function), ICU (MySQL 8) and PCRE2 (MariaDB).
    Braced,
    /// `\UHHHHHHHH`: PostgreSQL's advanced regular expressions.
    Postgres,
}

/// Every character in `c`'s simple case-fold class, `c` included, in code point order.
fn fold_class(c: char) -> Vec<char> {
    let mut class = ClassUnicode::new([ClassUnicodeRange::new(c, c)]);
    if class.try_case_fold_simple().is_err() {
        return vec![c];
    }
    class
        .ranges()
        .iter()
        .flat_map(|r| (r.start() as u32..=r.end() as u32).filter_map(char::from_u32))
        .collect()
}

/// One representative of `c`'s case-fold class (its smallest member), so two characters fold alike exactly when
/// their representatives are equal.
pub fn fold_char(c: char) -> char {
    if c.is_ascii() {
        // The classes of ASCII letters hold their two cases (and for k and s, a non-ASCII third above them).
        return c.to_ascii_uppercase();
    }
    fold_class(c).first().copied().unwrap_or(c)
}

/// Whether `haystack` contains `needle` after simple case folding; the empty needle is in every text.
pub fn contains(haystack: &str, needle: &str) -> bool {
    let needle: String = needle.chars().map(fold_char).collect();
    if needle.is_empty() {
        return true;
    }
    let haystack: String = haystack.chars().map(fold_char).collect();
    haystack.contains(&needle)
}

/// A regular expression that finds `needle` in a text after simple case folding: each character becomes the
/// class of its case-fold equivalents. Only ASCII letters and digits are written as themselves; every other
/// character is escaped by code point, so no character is special and the pattern is plain ASCII whatever the
/// connection's character set. The empty needle gives `^`, which matches every text.
pub fn contains_pattern(needle: &str, syntax: PatternSyntax) -> String {
    if needle.is_empty() {
        return "^".into();
    }
    let mut pattern = String::with_capacity(needle.len() * 4);
    for c in needle.chars() {
        let class = fold_class(c);
        if class.len() > 1 {
            pattern.push('[');
        }
        for member in &class {
            if member.is_ascii_alphanumeric() {
                pattern.push(*member);
            } else {
                let code = *member as u32;
                let _ = match syntax {
                    PatternSyntax::Braced => write!(pattern, "\\x{{{code:X}}}"),
                    PatternSyntax::Postgres => write!(pattern, "\\U{code:08X}"),
                };
            }
        }
        if class.len() > 1 {
            pattern.push(']');
        }
    }
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_case_folding_matches_cases_but_not_expansions() {
        assert!(contains("Straße", "STRAẞE"));
        assert!(contains("ÉCOLE normale", "école"));
        assert!(contains("Kelvin", "\u{212A}ELVIN"));
        assert!(!contains("Straße", "strasse"));
        assert!(!contains("İstanbul", "istanbul"));
        assert!(contains("İstanbul", "İST"));
        assert!(contains("anything", ""));
        assert!(!contains("", "a"));
    }

    #[test]
    fn no_character_is_special() {
        assert!(contains("100% sure", "0%"));
        assert!(!contains("100 sure", "0%"));
        assert!(contains("a_b", "_"));
        assert!(!contains("ab", "a_b"));
        assert!(contains("C:\\dir", "\\D"));
    }

    #[test]
    fn a_pattern_is_ascii_with_classes_of_case_equivalents() {
        assert_eq!(
            contains_pattern("k1.", PatternSyntax::Braced),
            "[Kk\\x{212A}]1\\x{2E}"
        );
        assert_eq!(
            contains_pattern("é", PatternSyntax::Postgres),
            "[\\U000000C9\\U000000E9]"
        );
        assert_eq!(contains_pattern("", PatternSyntax::Braced), "^");
    }

    #[test]
    fn the_rust_pattern_agrees_with_the_folding_test() {
        let cases = [
            ("Straße", "STRAẞE"),
            ("Straße", "strasse"),
            ("ÉCOLE", "école"),
            ("İ", "i"),
            ("x.y", "."),
            ("xay", "."),
            ("[a]", "[A]"),
            ("a\\b", "\\"),
            ("$^*+?()|{}", "^*+?()|{"),
            ("ǅ", "ǆ"),
            ("ΣΑΣ", "σας"),
        ];
        for (haystack, needle) in cases {
            let re = regex::Regex::new(&contains_pattern(needle, PatternSyntax::Braced))
                .expect("valid pattern");
            assert_eq!(
                re.is_match(haystack),
                contains(haystack, needle),
                "{haystack} ~ {needle}"
            );
        }
    }
}
