//! Strata's credentials (SPEC §6, §14): Argon2id passwords on a bounded pool, Ed25519 signing keys with their
//! JWKS, access tokens (EdDSA JWTs), opaque secrets (refresh tokens, API keys) stored only as hashes, TOTP codes
//! (RFC 6238) and the sealing of secrets the server must read back. No HTTP and no SQL here: services and stores
//! use these.

pub mod jwt;
pub mod keys;
pub mod oidc;
pub mod password;
mod phc;
pub mod seal;
pub mod secret;
pub mod totp;

pub use jwt::{AccessClaims, TokenError};
pub use keys::{KeyRing, SigningKey};
pub use password::{Busy, PasswordHasher, PasswordPolicy};
pub use seal::{SealError, SealKey};
