//! argon2id with reused working memory. Each hash needs 19 MiB; allocating
//! it fresh every time lets the system allocator keep those blocks around
//! per thread, and a login burst left the process at 500 MB that it never
//! gave back. Instead every hashing slot owns one buffer for the process's
//! lifetime: memory stays at (slots × 19 MiB) however many logins arrive.

use argon2::{
    password_hash::{Output, PasswordHash, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};
use subtle::ConstantTimeEq;

use super::PasswordError;

fn failed(e: impl std::fmt::Display) -> PasswordError {
    PasswordError::Hashing(e.to_string())
}

fn context<'k>(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    pepper: Option<&'k [u8]>,
) -> Result<Argon2<'k>, PasswordError> {
    match pepper {
        Some(pepper) => Argon2::new_with_secret(pepper, algorithm, version, params).map_err(failed),
        None => Ok(Argon2::new(algorithm, version, params)),
    }
}

/// Runs argon2 into `out` using `blocks` as working memory (grown if the
/// parameters need more).
fn compute(
    argon: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    blocks: &mut Vec<Block>,
) -> Result<(), PasswordError> {
    let needed = params.block_count();
    if blocks.len() < needed {
        blocks.resize(needed, Block::default());
    }
    argon
        .hash_password_into_with_memory(password, salt, out, &mut blocks[..needed])
        .map_err(failed)
}

/// A new PHC-format argon2id hash (MAS's parameters: m=19456, t=2, p=1).
pub fn hash(
    password: &[u8],
    pepper: Option<&[u8]>,
    blocks: &mut Vec<Block>,
) -> Result<String, PasswordError> {
    let params = Params::default();
    let argon = context(Algorithm::Argon2id, Version::V0x13, params.clone(), pepper)?;
    // A salt: unique, never reproducible (see `passwords.rs`).
    #[allow(clippy::disallowed_types)]
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(failed)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(&argon, &params, password, salt_bytes, &mut out, blocks)?;
    let output = Output::new(&out).map_err(failed)?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        salt.as_str(),
        output
    ))
}

/// Checks `password` against a PHC argon2 hash (any variant and parameters
/// the hash names), in constant time.
pub fn verify(
    password: &[u8],
    stored: &str,
    pepper: Option<&[u8]>,
    blocks: &mut Vec<Block>,
) -> Result<(), PasswordError> {
    let malformed = |e: &dyn std::fmt::Display| PasswordError::Malformed(e.to_string());
    let parsed = PasswordHash::new(stored).map_err(|e| malformed(&e))?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| malformed(&e))?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| malformed(&e))?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(|e| malformed(&e))?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(PasswordError::Malformed(
            "the hash has no salt or no output".into(),
        ));
    };
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(|e| malformed(&e))?;
    let argon = context(algorithm, version, params.clone(), pepper)?;
    let mut out = vec![0u8; expected.len()];
    compute(&argon, &params, password, salt_bytes, &mut out, blocks)?;
    if bool::from(out.as_slice().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(PasswordError::Mismatch)
    }
}
