//! Access tokens (SPEC §14 "Tokens"): JWTs signed with EdDSA, `kid` in the header, claims `iss`, `aud`
//! ("strata"), `sub`, `exp`, `iat`, `jti`, `sid` (the refresh family or session), `kind`, and `roles` for
//! clients' information only. Verification accepts EdDSA alone, so `alg: none` and HS256-with-the-public-key
//! (algorithm confusion) fail like any forgery.

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::keys::KeyRing;

pub const AUDIENCE: &str = "strata";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub sid: String,
    /// `user` or `admin`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

/// Why a presented token is refused: 401 `token_expired` or 401 `invalid_token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid")]
    Invalid,
}

/// Sign `claims` with the ring's signing key.
pub fn issue(ring: &KeyRing, claims: &AccessClaims) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(ring.signing_kid().to_owned());
    jsonwebtoken::encode(&header, claims, ring.encoding()).expect("an Ed25519 key signs")
}

/// Verify signature (by `kid`, EdDSA only), audience, issuer and expiry.
pub fn verify(ring: &KeyRing, token: &str, issuer: &str) -> Result<AccessClaims, TokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
    if header.alg != Algorithm::EdDSA {
        return Err(TokenError::Invalid);
    }
    let key = header
        .kid
        .as_deref()
        .and_then(|kid| ring.decoding(kid))
        .ok_or(TokenError::Invalid)?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[issuer]);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "iat", "sub", "aud", "iss"]);
    jsonwebtoken::decode::<AccessClaims>(token, key, &validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
            _ => TokenError::Invalid,
        })
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;
    use crate::keys::SigningKey;

    fn claims(exp_in: i64) -> AccessClaims {
        let now = chrono::Utc::now().timestamp();
        AccessClaims {
            iss: "http://localhost".into(),
            aud: AUDIENCE.into(),
            sub: "u1".into(),
            exp: now + exp_in,
            iat: now,
            jti: "j".into(),
            sid: "s".into(),
            kind: "user".into(),
            roles: vec![],
        }
    }

    #[test]
    fn a_token_verifies_with_its_ring_and_issuer_only() {
        let ring = KeyRing::new(&[SigningKey::generate()]).expect("ring");
        let token = issue(&ring, &claims(60));
        assert_eq!(
            verify(&ring, &token, "http://localhost")
                .expect("valid")
                .sub,
            "u1"
        );
        assert_eq!(
            verify(&ring, &token, "http://other"),
            Err(TokenError::Invalid)
        );
        let other = KeyRing::new(&[SigningKey::generate()]).expect("ring");
        assert_eq!(
            verify(&other, &token, "http://localhost"),
            Err(TokenError::Invalid),
            "unknown kid"
        );
        assert_eq!(
            verify(&ring, &issue(&ring, &claims(-1)), "http://localhost"),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn alg_none_and_a_tampered_payload_are_refused() {
        let ring = KeyRing::new(&[SigningKey::generate()]).expect("ring");
        let token = issue(&ring, &claims(60));
        let parts: Vec<&str> = token.split('.').collect();
        let mut forged = claims(60);
        forged.sub = "admin".into();
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).expect("json"));
        let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
        assert_eq!(
            verify(&ring, &tampered, "http://localhost"),
            Err(TokenError::Invalid)
        );
        let none_header = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"alg":"none","kid":"{}"}}"#,
            ring.signing_kid()
        ));
        assert_eq!(
            verify(
                &ring,
                &format!("{none_header}.{payload}."),
                "http://localhost"
            ),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn retired_keys_still_verify_but_no_longer_sign() {
        let old = SigningKey::generate();
        let ring = KeyRing::new(std::slice::from_ref(&old)).expect("ring");
        let token = issue(&ring, &claims(60));
        let mut retired = old.clone();
        retired.retired_at = Some(chrono::Utc::now());
        let rotated = KeyRing::new(&[retired, SigningKey::generate()]).expect("ring");
        assert_ne!(rotated.signing_kid(), old.kid);
        assert!(verify(&rotated, &token, "http://localhost").is_ok());
        assert_eq!(rotated.jwks()["keys"].as_array().map(Vec::len), Some(2));
    }
}
