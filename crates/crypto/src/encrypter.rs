//! Authenticated encryption with `secrets.encryption`: cookies and secrets
//! stored in the database (client secrets). ChaCha20-Poly1305 with a random
//! 96-bit nonce per message; the output is base64url(nonce || ciphertext).
//! Changing the key makes everything encrypted with it unreadable, which is
//! why MAS and mxauth both say the key must never change.
//!
//! The same key also keys [`Encrypter::keyed_digest`], for short secrets
//! stored only as digests (6-digit email codes): a plain hash of a 6-digit
//! code is reversed in a millisecond, a keyed one only with the key.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chacha20poly1305::{
    aead::{Aead, KeyInit},
    ChaCha20Poly1305, Key, Nonce,
};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecryptError {
    #[error("not base64url")]
    Encoding,
    #[error("too short to hold a nonce and a tag")]
    TooShort,
    #[error("the data was altered or encrypted with another key")]
    Forged,
}

#[derive(Clone)]
pub struct Encrypter {
    cipher: ChaCha20Poly1305,
    /// Derived from the encryption key, so a digest never equals anything
    /// the cipher produces.
    digest_key: [u8; 32],
}

impl std::fmt::Debug for Encrypter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Encrypter([redacted])")
    }
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes a key of any length.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        return [0; 32];
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

impl Encrypter {
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
            digest_key: hmac_sha256(key, &[b"mxauth keyed digest v1"]),
        }
    }

    /// HMAC-SHA-256 of `data` for `purpose` (which separates the uses of
    /// the key), base64url: deterministic, so a typed value can be
    /// compared with the stored digest.
    pub fn keyed_digest(&self, purpose: &str, data: &[u8]) -> String {
        let mac = hmac_sha256(&self.digest_key, &[purpose.as_bytes(), b"\0", data]);
        URL_SAFE_NO_PAD.encode(mac)
    }

    pub fn encrypt(&self, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // Encryption with a valid key and nonce size cannot fail.
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext)
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        URL_SAFE_NO_PAD.encode(out)
    }

    pub fn decrypt(&self, encoded: &str) -> Result<Vec<u8>, DecryptError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| DecryptError::Encoding)?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(DecryptError::TooShort);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| DecryptError::Forged)
    }

    pub fn encrypt_str(&self, plaintext: &str) -> String {
        self.encrypt(plaintext.as_bytes())
    }

    pub fn decrypt_str(&self, encoded: &str) -> Result<String, DecryptError> {
        String::from_utf8(self.decrypt(encoded)?).map_err(|_| DecryptError::Forged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_fresh_nonces() {
        let e = Encrypter::new(&[7; 32]);
        let a = e.encrypt_str("client secret");
        let b = e.encrypt_str("client secret");
        assert_ne!(a, b, "each message gets its own nonce");
        assert_eq!(e.decrypt_str(&a).unwrap(), "client secret");
    }

    #[test]
    fn tampering_and_other_keys_are_detected() {
        let e = Encrypter::new(&[7; 32]);
        let sealed = e.encrypt_str("x");
        let other = Encrypter::new(&[8; 32]);
        assert_eq!(other.decrypt_str(&sealed), Err(DecryptError::Forged));
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        bytes[13] ^= 1;
        assert_eq!(
            e.decrypt(&URL_SAFE_NO_PAD.encode(bytes)),
            Err(DecryptError::Forged)
        );
        assert_eq!(e.decrypt("!!"), Err(DecryptError::Encoding));
        assert_eq!(e.decrypt("AAAA"), Err(DecryptError::TooShort));
    }

    #[test]
    fn keyed_digests_are_stable_and_depend_on_key_and_purpose() {
        let e = Encrypter::new(&[7; 32]);
        let digest = e.keyed_digest("email-code", b"123456");
        assert_eq!(digest, e.keyed_digest("email-code", b"123456"));
        assert_eq!(digest.len(), 43, "32 bytes, base64url without padding");
        assert_ne!(digest, e.keyed_digest("email-code", b"123457"));
        assert_ne!(digest, e.keyed_digest("recovery", b"123456"));
        let other = Encrypter::new(&[8; 32]);
        assert_ne!(digest, other.keyed_digest("email-code", b"123456"));
    }
}
