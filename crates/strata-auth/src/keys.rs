//! Ed25519 signing keys (SPEC §6, §14): generated on first start and kept in the database so every instance
//! shares them. New tokens use the newest key; tokens of a retired key stay valid until they expire, so a
//! rotation signs nobody out. Private keys never reach a log: `Debug` shows the kid only.

use std::collections::HashMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{DecodingKey, EncodingKey};

/// One key pair as stored.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    /// PKCS#8 DER of the private key.
    pub private_der: Vec<u8>,
    /// The raw 32-byte public key.
    pub public: Vec<u8>,
    pub created_at: DateTime<Utc>,
    /// When it stopped signing; it still verifies until every token it signed has expired.
    pub retired_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("retired_at", &self.retired_at)
            .finish()
    }
}

impl SigningKey {
    pub fn generate() -> SigningKey {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("the operating system's random source works");
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let private_der = key
            .to_pkcs8_der()
            .expect("an Ed25519 key encodes as PKCS#8")
            .as_bytes()
            .to_vec();
        SigningKey {
            kid: crate::secret::random_token(12),
            private_der,
            public: key.verifying_key().to_bytes().to_vec(),
            created_at: Utc::now(),
            retired_at: None,
        }
    }
}

/// The keys in use: one signs, all verify (by `kid`), and their public halves form the JWKS.
#[derive(Clone)]
pub struct KeyRing {
    signing_kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
    jwks: serde_json::Value,
}

impl KeyRing {
    /// Build from stored keys; the newest unretired key signs. `None` when there is none to sign with.
    pub fn new(keys: &[SigningKey]) -> Option<KeyRing> {
        let signer = keys
            .iter()
            .filter(|k| k.retired_at.is_none())
            .max_by_key(|k| k.created_at)?;
        let mut decoding = HashMap::new();
        let mut jwks = Vec::new();
        for key in keys {
            let x = URL_SAFE_NO_PAD.encode(&key.public);
            if let Ok(decoding_key) = DecodingKey::from_ed_components(&x) {
                decoding.insert(key.kid.clone(), decoding_key);
                jwks.push(serde_json::json!({
                    "kty": "OKP", "crv": "Ed25519", "x": x, "kid": key.kid, "alg": "EdDSA", "use": "sig",
                }));
            }
        }
        Some(KeyRing {
            signing_kid: signer.kid.clone(),
            encoding: EncodingKey::from_ed_der(&signer.private_der),
            decoding,
            jwks: serde_json::json!({ "keys": jwks }),
        })
    }

    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }

    pub(crate) fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    pub(crate) fn decoding(&self, kid: &str) -> Option<&DecodingKey> {
        self.decoding.get(kid)
    }

    /// `/.well-known/jwks.json`
    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("signing_kid", &self.signing_kid)
            .finish_non_exhaustive()
    }
}
