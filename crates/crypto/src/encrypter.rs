//! Authenticated encryption with `secrets.encryption`: cookies and secrets
//! stored in the database (client secrets). ChaCha20-Poly1305 with a random
//! 96-bit nonce per message; the output is base64url(nonce || ciphertext).
//! Changing the key makes everything encrypted with it unreadable, which is
//! why MAS and mxauth both say the key must never change.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chacha20poly1305::{
    aead::{Aead, KeyInit},
    ChaCha20Poly1305, Key, Nonce,
};
use rand::RngCore;
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
}

impl std::fmt::Debug for Encrypter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Encrypter([redacted])")
    }
}

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

impl Encrypter {
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
        }
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
}
