//! mxauth's cryptography, apart from password hashing: JOSE (`jose`: JWS
//! signing and verification, JWK Sets, `at_hash`), the signing keys of
//! `secrets.keys` (`keys`), and the encrypter for secrets stored at rest
//! with `secrets.encryption` (`encrypter`). A crate of its own because its
//! dependencies (RSA, three elliptic curves, ChaCha20-Poly1305) are heavy and
//! its API is stable; the server and the coming upstream OIDC client share it.

pub mod encrypter;
pub mod jose;
pub mod keys;
