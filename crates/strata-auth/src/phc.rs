//! Argon2 password hashes as PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`, the Password Hashing
//! Competition's format), made and checked in memory the caller owns: one [`Memory`] serves every hash a thread
//! computes, so no 19 MiB block is allocated and freed per sign-in.

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// The most memory a stored hash may ask of a verifier (1 GiB): a corrupt or hostile string must not make the
/// server allocate without bound.
const MAX_MEMORY_KIB: u32 = 1024 * 1024;

/// Bytes of salt in a new hash (RFC 9106 §3.1 recommends 16).
const SALT_LEN: usize = 16;

/// Argon2's working memory, kept between hashes. It grows when a hash asks for more than it holds (an older
/// hash made under a larger policy) and never shrinks.
#[derive(Default)]
pub(crate) struct Memory {
    blocks: Vec<Block>,
}

impl Memory {
    /// The first `params.block_count()` blocks, allocated on first use. Argon2 writes every block before it
    /// reads it, so what an earlier hash left there does not matter.
    fn blocks_for(&mut self, params: &Params) -> &mut [Block] {
        let needed = params.block_count();
        if self.blocks.len() < needed {
            // Free the smaller block before taking the larger one, so both are never held at once.
            self.blocks = Vec::new();
            self.blocks = vec![Block::new(); needed];
        }
        &mut self.blocks[..needed]
    }

    /// How many bytes it holds.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.blocks.len() * Block::SIZE
    }
}

/// The PHC string of `password`: Argon2id, version 0x13, `params`, a fresh random salt.
pub(crate) fn hash(
    params: &Params,
    password: &[u8],
    memory: &mut Memory,
) -> Result<String, argon2::password_hash::Error> {
    let salt = random::<SALT_LEN>()?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let out = &mut out[..params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    argon.hash_password_into_with_memory(password, &salt, out, memory.blocks_for(params))?;
    argon2id_string(params, &salt, out)
}

/// A PHC string that no password matches but that costs what `params` cost to check: random salt and output.
pub(crate) fn unmatchable(params: &Params) -> Result<String, argon2::password_hash::Error> {
    let (salt, out) = (
        random::<SALT_LEN>()?,
        random::<{ Params::DEFAULT_OUTPUT_LEN }>()?,
    );
    argon2id_string(params, &salt, &out)
}

fn argon2id_string(
    params: &Params,
    salt: &[u8],
    out: &[u8],
) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::encode_b64(salt)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(out)?),
    };
    Ok(phc.to_string())
}

fn random<const N: usize>() -> Result<[u8; N], argon2::password_hash::Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| argon2::password_hash::Error::Crypto)?;
    Ok(bytes)
}

/// Whether `password` matches `phc`. The hash is recomputed with the algorithm, version and parameters the string
/// names, so hashes made under an earlier policy keep verifying; the outputs are compared in constant time
/// ([`Output`]'s equality). A string that does not parse, or asks for more than [`MAX_MEMORY_KIB`], matches
/// nothing.
pub(crate) fn verify(phc: &str, password: &[u8], memory: &mut Memory) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let Ok(version) = parsed
        .version
        .map_or(Ok(Version::default()), Version::try_from)
    else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if params.m_cost() > MAX_MEMORY_KIB {
        return false;
    }
    let mut salt_bytes = [0u8; argon2::password_hash::Salt::MAX_LENGTH];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = &mut out[..expected.len()];
    if argon
        .hash_password_into_with_memory(password, salt, out, memory.blocks_for(&params))
        .is_err()
    {
        return false;
    }
    Output::new(out).is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::PasswordHasher as _;

    use super::*;

    fn params(memory_kib: u32, iterations: u32) -> Params {
        Params::new(memory_kib, iterations, 1, None).expect("params")
    }

    #[test]
    fn a_hash_is_a_phc_string_the_argon2_crate_accepts_and_vice_versa() {
        let mut memory = Memory::default();
        let ours = hash(&params(64, 1), b"correct horse", &mut memory).expect("hash");
        assert!(ours.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{ours}");
        let parsed = PasswordHash::new(&ours).expect("parses");
        assert!(
            parsed
                .verify_password(&[&Argon2::default()], "correct horse")
                .is_ok()
        );
        let theirs = Argon2::default()
            .hash_password(
                b"battery staple",
                &SaltString::encode_b64(b"0123456789abcdef").expect("salt"),
            )
            .expect("hash")
            .to_string();
        assert!(verify(&theirs, b"battery staple", &mut memory));
        assert!(!verify(&theirs, b"battery stapler", &mut memory));
    }

    #[test]
    fn hashes_under_other_parameters_and_variants_keep_verifying() {
        let mut memory = Memory::default();
        let current = hash(&params(256, 2), b"pw-current", &mut memory).expect("hash");
        let salt = SaltString::encode_b64(b"saltsaltsaltsalt").expect("salt");
        let older = [
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params(128, 3)),
            Argon2::new(Algorithm::Argon2i, Version::V0x13, params(64, 2)),
            Argon2::new(Algorithm::Argon2d, Version::V0x10, params(64, 1)),
        ];
        for argon in older {
            let phc = argon
                .hash_password(b"pw-older", &salt)
                .expect("hash")
                .to_string();
            assert!(verify(&phc, b"pw-older", &mut memory), "{phc}");
            assert!(!verify(&phc, b"pw-current", &mut memory), "{phc}");
        }
        assert!(verify(&current, b"pw-current", &mut memory));
    }

    #[test]
    fn memory_grows_for_a_larger_hash_and_is_kept() {
        let mut memory = Memory::default();
        hash(&params(64, 1), b"pw", &mut memory).expect("hash");
        assert_eq!(memory.bytes(), 64 * 1024);
        let larger = hash(&params(512, 1), b"pw", &mut Memory::default()).expect("hash");
        assert!(verify(&larger, b"pw", &mut memory));
        assert_eq!(memory.bytes(), 512 * 1024);
        let smaller = hash(&params(64, 1), b"pw", &mut memory).expect("hash");
        assert!(verify(&smaller, b"pw", &mut memory), "a prefix serves");
        assert_eq!(memory.bytes(), 512 * 1024);
    }

    #[test]
    fn strings_that_are_not_argon2_hashes_or_ask_too_much_match_nothing() {
        let mut memory = Memory::default();
        let huge = "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$\
                    AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        for phc in [
            "",
            "plaintext",
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA",
            "$scrypt$ln=16,r=8,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            huge,
        ] {
            assert!(!verify(phc, b"pw", &mut memory), "{phc}");
        }
        assert_eq!(memory.bytes(), 0, "nothing was allocated for them");
        let dummy = unmatchable(&params(64, 1)).expect("dummy");
        assert!(!verify(&dummy, b"", &mut memory));
        assert!(!verify(&dummy, b"pw", &mut memory));
    }
}
