//! Passwords (SPEC §6, §14): Argon2id, 8 to 256 characters, hashed and verified on a pool of at most one thread
//! per core. When the pool is full the caller gets [`Busy`] (503 with `Retry-After`), so a burst of sign-ins
//! cannot exhaust memory.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 256;

/// The hashing pool is full.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the password hashing pool is busy")]
pub struct Busy;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy)]
pub struct PasswordPolicy {
    /// Memory in KiB.
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for PasswordPolicy {
    /// OWASP's recommendation for Argon2id: 19 MiB, 2 iterations, 1 lane.
    fn default() -> Self {
        PasswordPolicy {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Why a password is refused before hashing.
pub fn check_length(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_LENGTH {
        Err(format!("must be at least {MIN_LENGTH} characters"))
    } else if n > MAX_LENGTH {
        Err(format!("must be at most {MAX_LENGTH} characters"))
    } else {
        Ok(())
    }
}

/// Hashes and verifies passwords off the async runtime, a bounded number at a time.
#[derive(Clone)]
pub struct PasswordHasher {
    argon: Arc<Argon2<'static>>,
    slots: Arc<Semaphore>,
    /// A hash of a random password, verified against when the account does not exist, so that an unknown email
    /// costs what a wrong password costs.
    dummy: Arc<String>,
}

impl PasswordHasher {
    pub fn new(policy: PasswordPolicy) -> Result<PasswordHasher, argon2::Error> {
        let params = Params::new(
            policy.memory_kib,
            policy.iterations,
            policy.parallelism,
            None,
        )?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let slots = std::thread::available_parallelism().map_or(1, |n| n.get());
        let dummy = hash_with(&argon, &crate::secret::opaque_token())
            .map_err(|_| argon2::Error::AlgorithmInvalid)?;
        Ok(PasswordHasher {
            argon: Arc::new(argon),
            slots: Arc::new(Semaphore::new(slots)),
            dummy: Arc::new(dummy),
        })
    }

    /// The PHC string of `password`.
    pub async fn hash(&self, password: &str) -> Result<String, Busy> {
        let permit = self.slots.clone().try_acquire_owned().map_err(|_| Busy)?;
        let (argon, password) = (self.argon.clone(), password.to_owned());
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            hash_with(&argon, &password)
        })
        .await
        .map_err(|_| Busy)?;
        result.map_err(|_| Busy)
    }

    /// Whether `password` matches `hash`; with `None` (no such account) the same work is done and `false` is
    /// the answer.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, Busy> {
        let permit = self.slots.clone().try_acquire_owned().map_err(|_| Busy)?;
        let known = hash.is_some();
        let hash = hash.map_or_else(|| self.dummy.as_str().to_owned(), str::to_owned);
        let (argon, password) = (self.argon.clone(), password.to_owned());
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let ok = PasswordHash::new(&hash)
                .is_ok_and(|parsed| argon.verify_password(password.as_bytes(), &parsed).is_ok());
            ok && known
        })
        .await
        .map_err(|_| Busy)
    }
}

fn hash_with(argon: &Argon2<'_>, password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| argon2::password_hash::Error::Crypto)?;
    let salt = SaltString::encode_b64(&salt)?;
    Ok(argon.hash_password(password.as_bytes(), &salt)?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordHasher {
        PasswordHasher::new(PasswordPolicy {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .expect("params")
    }

    #[tokio::test]
    async fn a_password_verifies_against_its_own_hash_only() {
        let hasher = cheap();
        let hash = hasher.hash("correct horse").await.expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            hasher
                .verify("correct horse", Some(&hash))
                .await
                .expect("verify")
        );
        assert!(
            !hasher
                .verify("wrong horse", Some(&hash))
                .await
                .expect("verify")
        );
        assert!(
            !hasher.verify("correct horse", None).await.expect("verify"),
            "no account: no match"
        );
        assert_ne!(
            hash,
            hasher.hash("correct horse").await.expect("hash"),
            "salted"
        );
    }

    #[test]
    fn lengths_are_8_to_256_characters() {
        assert!(check_length("1234567").is_err());
        assert!(check_length("12345678").is_ok());
        assert!(check_length(&"é".repeat(256)).is_ok());
        assert!(check_length(&"x".repeat(257)).is_err());
    }
}
