//! Sealing secrets the server must read back but the database must not reveal (TOTP secrets): XChaCha20-Poly1305
//! under a key kept outside the database (`auth.totp_key`, else a key file in the data directory), so a copy of
//! the database or a backup alone yields nothing. A caller-given context (the user id) is bound in as associated
//! data: a sealed secret copied onto another account does not open.

use std::fmt;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

const VERSION: &str = "v1";
const NONCE_LEN: usize = 24;

/// Why a key could not be had or a sealed value not opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("a sealing key is 32 bytes of base64")]
    InvalidKey,
    #[error(
        "the value was sealed with another key (key id {0}); every instance must use the same auth.totp_key"
    )]
    WrongKey(String),
    #[error("the sealed value is damaged or belongs to another context")]
    Corrupt,
    #[error("the key file: {0}")]
    Io(#[from] std::io::Error),
}

/// A 256-bit sealing key. `Debug` shows its id, never the key.
#[derive(Clone)]
pub struct SealKey {
    key: [u8; 32],
    id: String,
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealKey").field("id", &self.id).finish()
    }
}

impl SealKey {
    fn new(key: [u8; 32]) -> SealKey {
        let digest = Sha256::new()
            .chain_update(b"strata seal key id\0")
            .chain_update(key)
            .finalize();
        let id = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        SealKey { key, id }
    }

    /// A new random key.
    pub fn generate() -> SealKey {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the operating system's random source works");
        SealKey::new(key)
    }

    /// A key from its base64 form (standard or URL-safe, padding optional).
    pub fn from_base64(text: &str) -> Result<SealKey, SealError> {
        let text = text.trim();
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .or_else(|_| STANDARD.decode(text))
            .map_err(|_| SealError::InvalidKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SealError::InvalidKey)?;
        Ok(SealKey::new(key))
    }

    /// The key's base64 form, as a key file holds it.
    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key)
    }

    /// A short fingerprint naming the key in sealed values and logs.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key in `path`, created (readable by its owner only) when there is none.
    pub fn load_or_create(path: &Path) -> Result<SealKey, SealError> {
        if let Ok(text) = std::fs::read_to_string(path) {
            return SealKey::from_base64(&text);
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let key = SealKey::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                writeln!(file, "{}", key.to_base64())?;
                file.sync_all()?;
                Ok(key)
            }
            // Another process made it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                SealKey::from_base64(&std::fs::read_to_string(path)?)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&Key::from(self.key))
    }

    /// `plaintext` sealed for `context`: `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`, with a random
    /// 192-bit nonce.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the operating system's random source works");
        let sealed = self
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .expect("XChaCha20-Poly1305 seals any message that fits in memory");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{VERSION}.{}.{}", self.id, URL_SAFE_NO_PAD.encode(out))
    }

    /// Open a value sealed by [`SealKey::seal`] with this key and the same context.
    pub fn open(&self, sealed: &str, context: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(VERSION), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(SealError::Corrupt);
        };
        if id != self.id {
            return Err(SealError::WrongKey(id.to_owned()));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SealError::Corrupt)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError::Corrupt);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError::Corrupt)?;
        self.cipher()
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| SealError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_with_its_key_and_context_only() {
        let key = SealKey::generate();
        let sealed = key.seal(b"totp secret", b"user-1");
        assert!(!sealed.contains("totp"));
        assert_eq!(key.open(&sealed, b"user-1").expect("opens"), b"totp secret");
        assert!(matches!(
            key.open(&sealed, b"user-2"),
            Err(SealError::Corrupt)
        ));
        assert!(matches!(
            SealKey::generate().open(&sealed, b"user-1"),
            Err(SealError::WrongKey(_))
        ));
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(key.open(&tampered, b"user-1").is_err());
        assert_ne!(sealed, key.seal(b"totp secret", b"user-1"), "random nonce");
    }

    #[test]
    fn a_key_file_is_created_once_and_read_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("keys").join("totp.key");
        let made = SealKey::load_or_create(&path).expect("created");
        let read = SealKey::load_or_create(&path).expect("read");
        assert_eq!(made.id(), read.id());
        assert_eq!(
            SealKey::from_base64(&made.to_base64())
                .expect("parses")
                .id(),
            made.id()
        );
        assert!(!format!("{made:?}").contains(&made.to_base64()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(
            SealKey::from_base64("too short"),
            Err(SealError::InvalidKey)
        ));
    }
}
