//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA-1, 30-second steps, 6 digits, which
//! is what authenticator apps expect. Also the recovery codes that stand in for a lost authenticator.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// Seconds per time step (RFC 6238 §4.1, X).
pub const PERIOD: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Bytes of a secret: 160 bits, the length RFC 4226 §4 recommends for HMAC-SHA-1.
pub const SECRET_LEN: usize = 20;

/// A new random secret.
pub fn generate_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_LEN];
    getrandom::fill(&mut secret).expect("the operating system's random source works");
    secret
}

/// The secret as authenticator apps take it: RFC 4648 base32 without padding.
pub fn encode_secret(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

/// A base32 secret back to bytes (case and spaces ignored).
pub fn decode_secret(text: &str) -> Option<Vec<u8>> {
    let clean: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    data_encoding::BASE32_NOPAD.decode(clean.as_bytes()).ok()
}

/// The `otpauth://` URI an authenticator app scans (Google Authenticator's key URI format), labelled
/// `ISSUER:ACCOUNT`.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={PERIOD}",
        percent_encode(issuer),
        percent_encode(account),
        encode_secret(secret),
        percent_encode(issuer),
    )
}

/// Percent-encode all but RFC 3986's unreserved characters and `@`, which a path segment may hold.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The time step of a Unix time in seconds.
pub fn step_at(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(PERIOD)
}

/// The code of `step` (RFC 4226 §5.3: HMAC, dynamic truncation, modulo 10^digits).
pub fn code_at(secret: &[u8], step: i64) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 10u32.pow(DIGITS)
}

/// The code of `step` as typed: zero-padded to six digits.
pub fn format_code(code: u32) -> String {
    format!("{code:0width$}", width = DIGITS as usize)
}

/// The step within one step of `now_step` (RFC 6238 §5.2: allow for clock drift and transmission delay) whose
/// code is `code`. Comparisons take the same time whatever the code. The caller must still refuse a step at or
/// before the last one used, so that no code is accepted twice.
pub fn matching_step(secret: &[u8], code: &str, now_step: i64) -> Option<i64> {
    let typed = code.as_bytes();
    let mut found = None;
    for step in [now_step - 1, now_step, now_step + 1] {
        let expected = format_code(code_at(secret, step));
        if crate::secret::constant_time_eq(expected.as_bytes(), typed) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// Whether `text` has the shape of a TOTP code (six ASCII digits).
pub fn is_code(text: &str) -> bool {
    text.len() == DIGITS as usize && text.bytes().all(|b| b.is_ascii_digit())
}

/// Recovery codes per enrolment.
pub const RECOVERY_CODES: usize = 10;

/// The letters of recovery codes: lowercase RFC 4648 base32, 5 bits each.
const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A new recovery code: 16 characters (80 bits), shown as `xxxx-xxxx-xxxx-xxxx`. 80 random bits make the
/// stored SHA-256 as safe as a slow hash would make a password.
pub fn recovery_code() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    let letters: Vec<char> = bytes
        .iter()
        .map(|b| char::from(RECOVERY_ALPHABET[usize::from(b & 31)]))
        .collect();
    letters
        .chunks(4)
        .map(|chunk| chunk.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A recovery code as typed (any case, with or without dashes and spaces) in the form its hash is taken of;
/// `None` when it cannot be one.
pub fn normalize_recovery_code(text: &str) -> Option<String> {
    let clean: String = text
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (clean.len() == 16 && clean.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))).then_some(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows: the 8-digit codes, of which a 6-digit code is the last six.
    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, eight_digits) in [
            (59, 94287082),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(
                code_at(secret, step_at(time)),
                eight_digits % 1_000_000,
                "T = {time}"
            );
        }
    }

    #[test]
    fn a_code_matches_its_own_step_and_its_neighbours_only() {
        let secret = generate_secret();
        let now = step_at(1_700_000_000);
        let code = format_code(code_at(&secret, now));
        assert_eq!(matching_step(&secret, &code, now), Some(now));
        assert_eq!(matching_step(&secret, &code, now + 1), Some(now));
        assert_eq!(matching_step(&secret, &code, now - 1), Some(now));
        assert_eq!(matching_step(&secret, &code, now + 2), None);
        assert_eq!(matching_step(&secret, "12345", now), None);
    }

    #[test]
    fn secrets_round_trip_through_base32_and_the_uri_names_everything() {
        let secret = generate_secret();
        let text = encode_secret(&secret);
        assert_eq!(text.len(), 32);
        assert_eq!(decode_secret(&text.to_lowercase()), Some(secret.clone()));
        let uri = otpauth_uri("Strata", "ada+x@example.com", &secret);
        assert_eq!(
            uri,
            format!(
                "otpauth://totp/Strata:ada%2Bx@example.com?secret={text}&issuer=Strata&algorithm=SHA1&digits=6&period=30"
            )
        );
    }

    #[test]
    fn recovery_codes_are_random_and_normalize_as_typed() {
        let code = recovery_code();
        assert_eq!(code.len(), 19);
        assert_ne!(code, recovery_code());
        let normal = normalize_recovery_code(&code).expect("its own shape");
        assert_eq!(
            normalize_recovery_code(&format!(" {} ", code.to_uppercase().replace('-', " "))),
            Some(normal)
        );
        assert_eq!(normalize_recovery_code("123456"), None);
        assert_eq!(normalize_recovery_code("abcd-abcd-abcd-abc1"), None);
    }
}
