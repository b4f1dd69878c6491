//! The baseline's bearer tokens: Strata's EdDSA access tokens, checked against the public keys Strata publishes
//! at `/.well-known/jwks.json` (SPEC §6; the driver saves them from the seeding server), with the issuer, the
//! audience (`strata`) and `exp` checked as Strata checks them. A verified token is remembered until its `exp`
//! in a bounded cache keyed by the whole token, as SPEC §13 describes a careful server doing (Envoy's
//! `jwt_cache_config`), so the ~34 µs signature check is paid once per token, as it is in Strata.

use std::collections::HashMap;
use std::sync::Mutex;

use anyhow::Context as _;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use uuid::Uuid;

/// The audience of every Strata access token.
const AUDIENCE: &str = "strata";
/// Tokens remembered at most; past it the expired ones go, and if none has, the cache starts over.
const MAX_ENTRIES: usize = 20_000;

/// Who a verified token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user_id: Uuid,
    /// The token's `exp`, in seconds since the epoch.
    pub exp: i64,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
}

/// Verifies bearer tokens against a key set, remembering the verified ones.
pub struct Verifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
    /// foldhash rather than SipHash: only tokens whose signature verified go in, so no client picks the keys.
    verified: Mutex<HashMap<Box<str>, Caller, foldhash::fast::RandomState>>,
}

impl Verifier {
    /// A verifier of tokens signed by one of `jwks`'s keys (by `kid`) and issued by `issuer`.
    pub fn new(jwks: &JwkSet, issuer: &str) -> anyhow::Result<Verifier> {
        let mut keys = HashMap::new();
        for jwk in &jwks.keys {
            let kid = jwk.common.key_id.clone().context("a JWK without a kid")?;
            let key = DecodingKey::from_jwk(jwk).with_context(|| format!("the JWK {kid}"))?;
            keys.insert(kid, key);
        }
        anyhow::ensure!(!keys.is_empty(), "the key set has no key");
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[issuer]);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iat", "sub", "aud", "iss"]);
        Ok(Verifier {
            keys,
            validation,
            verified: Mutex::default(),
        })
    }

    /// The caller `token` speaks for at `now` (seconds since the epoch), or `None` when it is not a valid,
    /// unexpired token of ours.
    pub fn verify(&self, token: &str, now: i64) -> Option<Caller> {
        if let Some(caller) = self.lock().get(token).filter(|c| c.exp > now) {
            return Some(*caller);
        }
        let caller = self.check(token)?;
        if caller.exp <= now {
            return None;
        }
        let mut verified = self.lock();
        if verified.len() >= MAX_ENTRIES {
            verified.retain(|_, c| c.exp > now);
            if verified.len() >= MAX_ENTRIES {
                verified.clear();
            }
        }
        verified.insert(token.into(), caller);
        Some(caller)
    }

    /// The signature (EdDSA only, so `alg: none` and algorithm confusion fail), issuer, audience and expiry.
    fn check(&self, token: &str) -> Option<Caller> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::EdDSA {
            return None;
        }
        let key = self.keys.get(header.kid.as_deref()?)?;
        let claims = jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .ok()?
            .claims;
        Some(Caller {
            user_id: Uuid::try_parse(&claims.sub).ok()?,
            exp: claims.exp,
        })
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Caller, foldhash::fast::RandomState>> {
        self.verified.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ed25519 key pair (RFC 8032 §7.1, test 1) as PKCS#8 DER and as a JWK.
    const SECRET: [u8; 32] = [
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c,
        0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae,
        0x7f, 0x60,
    ];
    const PUBLIC_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn jwks() -> JwkSet {
        serde_json::from_value(serde_json::json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": PUBLIC_X, "kid": "k1", "alg": "EdDSA", "use": "sig"}
        ]}))
        .unwrap()
    }

    fn sign(claims: serde_json::Value, kid: &str) -> String {
        // PKCS#8 v1 wrapping of an Ed25519 secret (RFC 8410 §7).
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        der.extend_from_slice(&SECRET);
        let mut header = jsonwebtoken::Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_ed_der(&der),
        )
        .unwrap()
    }

    fn claims(iss: &str, exp: i64) -> serde_json::Value {
        serde_json::json!({
            "iss": iss, "aud": "strata", "sub": "01a21302-bd51-7179-b199-60e368cd2100",
            "exp": exp, "iat": 0, "jti": "j", "sid": "s", "kind": "user"
        })
    }

    #[test]
    fn a_token_of_the_key_set_and_issuer_names_its_user_until_it_expires() {
        let verifier = Verifier::new(&jwks(), "strata-bench").unwrap();
        let exp = now() + 60;
        let token = sign(claims("strata-bench", exp), "k1");
        let caller = verifier.verify(&token, now()).expect("valid");
        assert_eq!(
            caller.user_id.to_string(),
            "01a21302-bd51-7179-b199-60e368cd2100"
        );
        assert_eq!(
            verifier.verify(&token, now()),
            Some(caller),
            "from the cache"
        );
        assert_eq!(verifier.verify(&token, exp), None, "expired, even cached");
    }

    #[test]
    fn other_issuers_unknown_keys_expired_and_tampered_tokens_are_refused() {
        let verifier = Verifier::new(&jwks(), "strata-bench").unwrap();
        let later = now() + 60;
        assert_eq!(
            verifier.verify(&sign(claims("other", later), "k1"), now()),
            None
        );
        assert_eq!(
            verifier.verify(&sign(claims("strata-bench", later), "k2"), now()),
            None
        );
        assert_eq!(
            verifier.verify(&sign(claims("strata-bench", now() - 1), "k1"), now()),
            None
        );
        let token = sign(claims("strata-bench", later), "k1");
        let tampered = format!("{}x", token);
        assert_eq!(verifier.verify(&tampered, now()), None);
        assert_eq!(verifier.verify("not a token", now()), None);
    }
}
