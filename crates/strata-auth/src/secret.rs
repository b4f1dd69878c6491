//! Random secrets and their stored forms: refresh tokens, session ids, API keys (`sk_<id>_<secret>`), one-time
//! tokens. Only SHA-256 hashes are ever stored; comparisons of secrets are constant-time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// `n` bytes from the operating system's CSPRNG, URL-safe base64.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // The OS random source failing is not something to recover from.
    getrandom::fill(&mut buf).expect("the operating system's random source works");
    URL_SAFE_NO_PAD.encode(buf)
}

/// A 256-bit opaque token (refresh tokens, session ids, one-time codes).
pub fn opaque_token() -> String {
    random_token(32)
}

/// The stored form of a secret: lowercase hex SHA-256.
pub fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compare two secrets (or their hashes) in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An API key as shown to its owner once: `sk_<id>_<secret>` with a 256-bit secret (SPEC §14).
pub fn api_key(id: uuid::Uuid) -> String {
    format!("sk_{}_{}", id.simple(), random_token(32))
}

/// The id and secret of an `sk_…` key, when it has that shape.
pub fn parse_api_key(key: &str) -> Option<(uuid::Uuid, &str)> {
    let rest = key.strip_prefix("sk_")?;
    let (id, secret) = rest.split_once('_')?;
    let id = uuid::Uuid::try_parse(id).ok()?;
    (secret.len() >= 43).then_some((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let a = opaque_token();
        let b = opaque_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn an_api_key_parses_back_to_its_id() {
        let id = uuid::Uuid::now_v7();
        let key = api_key(id);
        let (parsed, secret) = parse_api_key(&key).expect("parses");
        assert_eq!(parsed, id);
        assert_eq!(secret.len(), 43);
        assert!(parse_api_key("sk_nope_short").is_none());
        assert!(parse_api_key("pk_x").is_none());
    }

    #[test]
    fn hashes_are_hex_sha256_and_compare_in_constant_time() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(constant_time_eq(b"same", b"same"));
        assert!(!constant_time_eq(b"same", b"sane"));
        assert!(!constant_time_eq(b"same", b"same!"));
    }
}
