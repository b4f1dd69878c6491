//! The pure parts of OAuth2/OIDC sign-in: PKCE S256 challenges (RFC 7636 §4.2) and ID-token validation
//! (OpenID Connect Core §3.1.3.7): the signature by a key of the provider's JWKS (RS256, ES256 or EdDSA), `iss`,
//! `aud` = our client id, `exp`, and the `nonce` of the request that started the flow.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

/// The algorithms an ID token may be signed with. `none` and HMAC (the client secret as key) are refused.
const ALGORITHMS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

/// Clock skew allowed on `exp`, in seconds.
const LEEWAY: u64 = 60;

/// The PKCE S256 `code_challenge` of a verifier: BASE64URL(SHA256(verifier)).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// What Strata reads from a valid ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdClaims {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
}

/// Why an ID token was refused.
#[derive(Debug, thiserror::Error)]
pub enum IdTokenError {
    #[error("the ID token is malformed or its algorithm is not accepted")]
    Malformed,
    #[error("no key of the provider's JWKS matches the ID token")]
    UnknownKey,
    #[error("the ID token is refused: {0}")]
    Invalid(jsonwebtoken::errors::Error),
    #[error("the ID token's nonce does not match the request's")]
    Nonce,
}

#[derive(Deserialize)]
struct RawClaims {
    sub: String,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    email: Option<String>,
    /// A boolean, though some providers send the string `"true"`.
    #[serde(default)]
    email_verified: Option<Json>,
}

/// What an ID token must match.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
}

/// Validate an ID token against the provider's JWKS (`{"keys": [...]}`) and what the flow expects.
pub fn verify_id_token(
    jwks: &Json,
    token: &str,
    expected: Expected<'_>,
) -> Result<IdClaims, IdTokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| IdTokenError::Malformed)?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(IdTokenError::Malformed);
    }
    let key = find_key(jwks, header.kid.as_deref(), header.alg).ok_or(IdTokenError::UnknownKey)?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[expected.issuer]);
    validation.set_audience(&[expected.client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = LEEWAY;
    let claims = jsonwebtoken::decode::<RawClaims>(token, &key, &validation)
        .map_err(IdTokenError::Invalid)?
        .claims;
    let nonce_ok = claims.nonce.as_deref().is_some_and(|nonce| {
        crate::secret::constant_time_eq(nonce.as_bytes(), expected.nonce.as_bytes())
    });
    if !nonce_ok {
        return Err(IdTokenError::Nonce);
    }
    let email_verified = match claims.email_verified {
        Some(Json::Bool(b)) => b,
        Some(Json::String(s)) => s == "true",
        _ => false,
    };
    Ok(IdClaims {
        subject: claims.sub,
        email: claims.email,
        email_verified,
    })
}

/// The key of `kid` (or, without one, the only key fit for `alg`). Keys Strata cannot read are skipped.
fn find_key(jwks: &Json, kid: Option<&str>, alg: Algorithm) -> Option<DecodingKey> {
    let keys = jwks.get("keys")?.as_array()?;
    let mut fit = keys
        .iter()
        .filter_map(|raw| serde_json::from_value::<Jwk>(raw.clone()).ok())
        .filter(|jwk| match (kid, jwk.common.key_id.as_deref()) {
            (Some(kid), Some(id)) => kid == id,
            (Some(_), None) => false,
            (None, _) => true,
        })
        .filter(|jwk| {
            use jsonwebtoken::jwk::AlgorithmParameters as P;
            matches!(
                (&jwk.algorithm, alg),
                (P::RSA(_), Algorithm::RS256)
                    | (P::EllipticCurve(_), Algorithm::ES256)
                    | (P::OctetKeyPair(_), Algorithm::EdDSA)
            )
        });
    let first = fit.next()?;
    if kid.is_none() && fit.next().is_some() {
        return None;
    }
    DecodingKey::from_jwk(&first).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn an_unsigned_id_token_is_refused() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let body = URL_SAFE_NO_PAD.encode(br#"{"sub":"x"}"#);
        let expected = Expected {
            issuer: "i",
            client_id: "c",
            nonce: "n",
        };
        let jwks = serde_json::json!({"keys": []});
        assert!(verify_id_token(&jwks, &format!("{header}.{body}."), expected).is_err());
    }
}
