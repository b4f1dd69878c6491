//! Strata's credentials (SPEC §6, §14): Argon2id passwords on a bounded pool, Ed25519 signing keys with their
//! JWKS, access tokens (EdDSA JWTs) and opaque secrets (refresh tokens, API keys) stored only as hashes. No
//! HTTP and no SQL here: services and stores use these.

pub mod jwt;
pub mod keys;
pub mod password;
pub mod secret;

pub use jwt::{AccessClaims, TokenError};
pub use keys::{KeyRing, SigningKey};
pub use password::{Busy, PasswordHasher, PasswordPolicy};
