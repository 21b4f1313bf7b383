//! Opaque token strings in MAS's format (`<prefix>_<30 alphanumerics>_<CRC>`):
//! generating them, recognising their type from the string alone, their
//! SHA-256 digest for storage, and the random device IDs and strings that go
//! with them.
//!
//! The format matches MAS's so that tokens issued by MAS keep working after a
//! swap: the prefix names the type, and a CRC-32 over `<prefix>_<random>`
//! (base62, six characters) lets us reject mistyped or truncated tokens before
//! touching the database. The checksum is not a secret — anyone can compute it
//! — so it is compared with plain `==`; the secrecy lies in the 30 random
//! characters (about 178 bits), which we only ever compare as digests.

use std::fmt;

use base64::{
    alphabet,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
    Engine as _,
};
use rand::{
    distributions::{Alphanumeric, DistString},
    RngCore,
};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Length of the random part of a token.
const RANDOM_LEN: usize = 30;
/// Length of the base62 checksum at the end of a token.
const CHECKSUM_LEN: usize = 6;
/// Length of device IDs we generate; MAS generates 10 ASCII alphanumerics too.
pub const DEVICE_ID_LEN: usize = 10;

/// The kind of a token, told apart by its three-letter prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenType {
    /// An OAuth 2.0 access token (`mat_`).
    AccessToken,
    /// An OAuth 2.0 refresh token (`mar_`).
    RefreshToken,
    /// An access token of a compatibility (`/_matrix/client/*/login`) session
    /// (`mct_`); Synapse's `syt_` tokens and macaroons imported by syn2mas also
    /// count as these.
    CompatAccessToken,
    /// A refresh token of a compatibility session (`mcr_`, or Synapse's `syr_`).
    CompatRefreshToken,
    /// A personal access token issued through the admin API (`mpt_`).
    PersonalAccessToken,
}

impl TokenType {
    /// Every token type we issue, for tests and exhaustive checks.
    pub const ALL: [TokenType; 5] = [
        TokenType::AccessToken,
        TokenType::RefreshToken,
        TokenType::CompatAccessToken,
        TokenType::CompatRefreshToken,
        TokenType::PersonalAccessToken,
    ];

    /// The three-letter prefix of tokens of this type.
    pub fn prefix(self) -> &'static str {
        match self {
            TokenType::AccessToken => "mat",
            TokenType::RefreshToken => "mar",
            TokenType::CompatAccessToken => "mct",
            TokenType::CompatRefreshToken => "mcr",
            TokenType::PersonalAccessToken => "mpt",
        }
    }

    fn from_prefix(prefix: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.prefix() == prefix)
    }

    /// Whether a token of this type is presented as a bearer token to reach an
    /// API (RFC 7009 §2.1 `token_type_hint=access_token`), as opposed to a
    /// refresh token.
    pub fn is_access_token(self) -> bool {
        matches!(
            self,
            TokenType::AccessToken | TokenType::CompatAccessToken | TokenType::PersonalAccessToken
        )
    }

    /// Whether a token of this type belongs to a compatibility session.
    pub fn is_compat(self) -> bool {
        matches!(
            self,
            TokenType::CompatAccessToken | TokenType::CompatRefreshToken
        )
    }

    /// Generates a fresh token of this type. The random part is drawn with
    /// rand's `Alphanumeric` distribution, as MAS does, so a seeded RNG gives
    /// the same token in both.
    pub fn generate(&self, rng: &mut (impl RngCore + ?Sized)) -> String {
        let random = Alphanumeric.sample_string(rng, RANDOM_LEN);
        let base = format!("{}_{random}", self.prefix());
        let checksum = checksum(&base);
        format!("{base}_{checksum}")
    }

    /// Tells the type of `token` from the string alone and checks its
    /// checksum, so that a garbled token is refused without a database lookup.
    ///
    /// Tokens imported from Synapse are accepted as they are, without any
    /// check, because their format is Synapse's: `syt_…` access tokens,
    /// `syr_…` refresh tokens and (older) macaroons.
    pub fn check(token: &str) -> Result<TokenType, TokenFormatError> {
        if token.starts_with("syt_") || is_likely_synapse_macaroon(token) {
            return Ok(TokenType::CompatAccessToken);
        }
        if token.starts_with("syr_") {
            return Ok(TokenType::CompatRefreshToken);
        }

        let mut parts = token.split('_');
        let (Some(prefix), Some(random), Some(got), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenFormatError::InvalidFormat);
        };
        let well_formed = prefix.len() == 3
            && random.len() == RANDOM_LEN
            && random.bytes().all(|b| b.is_ascii_alphanumeric())
            && got.len() == CHECKSUM_LEN
            && got.bytes().all(|b| b.is_ascii_alphanumeric());
        if !well_formed {
            return Err(TokenFormatError::InvalidFormat);
        }

        let token_type =
            TokenType::from_prefix(prefix).ok_or_else(|| TokenFormatError::UnknownPrefix {
                prefix: prefix.to_owned(),
            })?;

        let expected = checksum(&format!("{prefix}_{random}"));
        if got != expected {
            return Err(TokenFormatError::InvalidChecksum {
                expected,
                got: got.to_owned(),
            });
        }
        Ok(token_type)
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenType::AccessToken => "access token",
            TokenType::RefreshToken => "refresh token",
            TokenType::CompatAccessToken => "compat access token",
            TokenType::CompatRefreshToken => "compat refresh token",
            TokenType::PersonalAccessToken => "personal access token",
        })
    }
}

/// Why a string is not a token we could have issued. The token itself is never
/// part of the message: it may be a live secret with one character wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TokenFormatError {
    #[error("the token is not of the form <prefix>_<30 letters or digits>_<6 letters or digits>")]
    InvalidFormat,
    #[error("the token prefix {prefix:?} is not one we issue (mat, mar, mct, mcr, mpt)")]
    UnknownPrefix { prefix: String },
    #[error("the token checksum {got:?} does not match the token (expected {expected:?}); it was probably mistyped or cut short")]
    InvalidChecksum { expected: String, got: String },
}

/// The base62 CRC-32 checksum MAS appends to a token: CRC-32/ISO-HDLC (the
/// common zlib/PNG CRC, which is what crc32fast computes) of `<prefix>_<random>`.
fn checksum(base: &str) -> String {
    base62_checksum(crc32fast::hash(base.as_bytes()))
}

/// Base62 with the alphabet `0-9A-Z a-z`, written the way MAS writes it: least
/// significant digit first, then left-padded with `0` to six characters. The
/// digit order is unusual (it is not a positional number read left to right),
/// but it is what every existing MAS token carries, so we keep it exactly.
/// `u32::MAX` < 62^6, so six characters always suffice.
fn base62_checksum(mut n: u32) -> String {
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut digits = String::with_capacity(CHECKSUM_LEN);
    while n > 0 {
        digits.push(char::from(DIGITS[(n % 62) as usize]));
        n /= 62;
    }
    format!("{digits:0>width$}", width = CHECKSUM_LEN)
}

/// Whether `token` looks like a Synapse macaroon: base64url whose decoded bytes
/// 4..13 read `location ` (a macaroon starts with a 4-hex-digit packet length,
/// then its `location` caveat). Like MAS we do not parse further.
///
/// Better than MAS: pymacaroons serialises without `=` padding, so we accept
/// base64url with or without padding (MAS requires padding and so misses
/// macaroons whose length is not a multiple of four).
fn is_likely_synapse_macaroon(token: &str) -> bool {
    const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
        &alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    match LENIENT_URL_SAFE.decode(token) {
        Ok(bytes) => bytes.get(4..13) == Some(b"location ".as_slice()),
        Err(_) => false,
    }
}

/// The lowercase hex SHA-256 of a token: the only form in which tokens are
/// stored, so a leaked database holds nothing that can be presented.
pub fn token_digest(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A random device ID: 10 ASCII letters (both cases) and digits, as MAS
/// generates them. These are valid in a device scope (MSC2967) and in Synapse.
pub fn generate_device_id(rng: &mut (impl RngCore + ?Sized)) -> String {
    generate_alphanumeric(rng, DEVICE_ID_LEN)
}

/// A random string of `len` ASCII letters (both cases) and digits, each drawn
/// uniformly (about 5.95 bits per character).
pub fn generate_alphanumeric(rng: &mut (impl RngCore + ?Sized), len: usize) -> String {
    Alphanumeric.sample_string(rng, len)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rand::{rngs::StdRng, SeedableRng};

    use super::*;

    fn rng() -> StdRng {
        StdRng::seed_from_u64(42)
    }

    #[test]
    fn generated_tokens_have_the_mas_shape_and_check_back() {
        let mut rng = rng();
        for t in TokenType::ALL {
            let tokens: HashSet<String> = (0..200).map(|_| t.generate(&mut rng)).collect();
            assert_eq!(tokens.len(), 200, "tokens are unique");
            for token in tokens {
                let parts: Vec<&str> = token.split('_').collect();
                assert_eq!(parts.len(), 3, "{token}");
                assert_eq!(parts[0], t.prefix());
                assert_eq!(parts[1].len(), 30);
                assert!(parts[1].bytes().all(|b| b.is_ascii_alphanumeric()));
                assert_eq!(parts[2].len(), 6);
                assert_eq!(TokenType::check(&token), Ok(t));
            }
        }
    }

    #[test]
    fn tokens_generated_by_mas_validate() {
        // Known answers: tokens MAS itself issued, taken from its test
        // snapshots (compat login and admin API personal sessions).
        assert_eq!(
            TokenType::check("mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43"),
            Ok(TokenType::CompatAccessToken)
        );
        assert_eq!(
            TokenType::check("mpt_FM44zJN5qePGMLvvMXC4Ds1A3lCWc6_bJ9Wj1"),
            Ok(TokenType::PersonalAccessToken)
        );
        assert_eq!(
            TokenType::check("mpt_6cq7FqNSYoosbXl3bbpfh9yNy9NzuR_0vOV2O"),
            Ok(TokenType::PersonalAccessToken)
        );
    }

    #[test]
    fn checksum_follows_mas_algorithm_step_by_step() {
        // Built by hand following MAS: CRC-32/ISO-HDLC of "mat_<random>", then
        // base62 digits least significant first, left-padded to six.
        let base = "mat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let crc = crc32fast::hash(base.as_bytes());
        let mut n = crc;
        let mut expected = String::new();
        let digits: Vec<char> = ('0'..='9').chain('A'..='Z').chain('a'..='z').collect();
        while n > 0 {
            expected.push(digits[(n % 62) as usize]);
            n /= 62;
        }
        while expected.len() < 6 {
            expected.insert(0, '0');
        }
        assert_eq!(checksum(base), expected);
        let token = format!("{base}_{expected}");
        assert_eq!(TokenType::check(&token), Ok(TokenType::AccessToken));
    }

    #[test]
    fn crc32fast_is_crc32_iso_hdlc() {
        // The standard check value of CRC-32/ISO-HDLC over "123456789".
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn base62_digit_order_and_padding() {
        assert_eq!(base62_checksum(0), "000000");
        assert_eq!(base62_checksum(1), "000001");
        assert_eq!(base62_checksum(61), "00000z");
        // 62 = "10" in base62, written least significant digit first: "01".
        assert_eq!(base62_checksum(62), "000001");
        assert_eq!(base62_checksum(63), "000011");
        assert_eq!(base62_checksum(62 * 62 + 2), "000201");
        // u32::MAX = 4_294_967_295 needs exactly six base62 digits.
        assert_eq!(base62_checksum(u32::MAX).len(), 6);
    }

    #[test]
    fn rejects_wrong_checksum_with_both_values() {
        let token = "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz44";
        assert_eq!(
            TokenType::check(token),
            Err(TokenFormatError::InvalidChecksum {
                expected: "XvJz43".to_owned(),
                got: "XvJz44".to_owned(),
            })
        );
        // One changed character in the random part is caught too.
        let token = "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodF_XvJz43";
        assert!(matches!(
            TokenType::check(token),
            Err(TokenFormatError::InvalidChecksum { .. })
        ));
    }

    #[test]
    fn rejects_unknown_prefix() {
        // A well-formed token whose prefix is not ours; the checksum is not
        // even looked at.
        assert_eq!(
            TokenType::check("abc_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43"),
            Err(TokenFormatError::UnknownPrefix {
                prefix: "abc".to_owned()
            })
        );
    }

    #[test]
    fn rejects_malformed_tokens() {
        for bad in [
            "",
            "mat",
            "mat_",
            "mat__",
            "mat_cxG6gZXyvelQWW9XqfNbm5KAQovodf",
            "mat_cxG6gZXyvelQWW9XqfNbm5KAQovod_XvJz43",
            "mat_cxG6gZXyvelQWW9XqfNbm5KAQovodff_XvJz43",
            "mat_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz4",
            "mat_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43_",
            "matt_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43",
            "mat_cxG6gZXyvelQWW9XqfNbm5KAQovo-f_XvJz43",
            "mat_cxG6gZXyvelQWW9XqfNbm5KAQovodé_XvJz43",
            "Bearer mat_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43",
        ] {
            assert_eq!(
                TokenType::check(bad),
                Err(TokenFormatError::InvalidFormat),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn synapse_tokens_are_compat_tokens_without_checks() {
        assert_eq!(
            TokenType::check("syt_YWxpY2U_HIxLsBkFruLmIJeqoVGv_0ntChJ"),
            Ok(TokenType::CompatAccessToken)
        );
        assert_eq!(
            TokenType::check("syr_YWxpY2U_anything_at_all"),
            Ok(TokenType::CompatRefreshToken)
        );
    }

    #[test]
    fn macaroons_are_compat_access_tokens() {
        let engine = base64::engine::general_purpose::URL_SAFE;
        let unpadded = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let macaroon = b"0019location example.org\n0013identifier key\n";
        assert_eq!(
            TokenType::check(&engine.encode(macaroon)),
            Ok(TokenType::CompatAccessToken)
        );
        // pymacaroons leaves the padding off; we accept that too.
        assert_eq!(macaroon.len() % 3, 2, "the padded form would end in '='");
        assert_eq!(
            TokenType::check(&unpadded.encode(macaroon)),
            Ok(TokenType::CompatAccessToken)
        );
        // The prefix of a real Synapse macaroon.
        assert!(is_likely_synapse_macaroon(
            "MDAxYmxvY2F0aW9uIGxpYnJlcHVzaC5uZXQKMDAx"
        ));
        // A macaroon whose first caveat is not `location ` is not Synapse's.
        assert!(!is_likely_synapse_macaroon(
            &engine.encode(b"001cidentifier example.org\n")
        ));
        assert!(!is_likely_synapse_macaroon("...."));
        assert!(!is_likely_synapse_macaroon("aaa"));
        assert!(!is_likely_synapse_macaroon(""));
    }

    #[test]
    fn digest_is_lowercase_hex_sha256() {
        // SHA-256("abc") from FIPS 180-2, appendix B.1.
        assert_eq!(
            token_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            token_digest(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn device_ids_and_random_strings() {
        let mut rng = rng();
        let id = generate_device_id(&mut rng);
        assert_eq!(id.len(), 10);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(id, generate_device_id(&mut rng));

        let s = generate_alphanumeric(&mut rng, 64);
        assert_eq!(s.len(), 64);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(generate_alphanumeric(&mut rng, 0), "");

        // Works through a trait object too.
        let dyn_rng: &mut dyn RngCore = &mut rng;
        assert_eq!(generate_device_id(dyn_rng).len(), 10);
        assert!(TokenType::AccessToken.generate(dyn_rng).starts_with("mat_"));
    }

    #[test]
    fn seeded_generation_is_deterministic() {
        let a = TokenType::RefreshToken.generate(&mut rng());
        let b = TokenType::RefreshToken.generate(&mut rng());
        assert_eq!(a, b);
    }

    #[test]
    fn type_helpers() {
        assert!(TokenType::AccessToken.is_access_token());
        assert!(TokenType::PersonalAccessToken.is_access_token());
        assert!(TokenType::CompatAccessToken.is_access_token());
        assert!(!TokenType::RefreshToken.is_access_token());
        assert!(!TokenType::CompatRefreshToken.is_access_token());
        assert!(TokenType::CompatRefreshToken.is_compat());
        assert!(!TokenType::AccessToken.is_compat());
        assert_eq!(
            TokenType::CompatAccessToken.to_string(),
            "compat access token"
        );
        for t in TokenType::ALL {
            assert_eq!(TokenType::from_prefix(t.prefix()), Some(t));
        }
        assert_eq!(TokenType::from_prefix("syt"), None);
    }
}
