//! Proof Key for Code Exchange (RFC 7636): the challenge methods, the syntax
//! of verifiers and challenges, and the constant-time check that a verifier
//! answers a challenge.

use std::{fmt, str::FromStr};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// RFC 7636 §4.1: a verifier is 43 to 128 characters long.
const MIN_LEN: usize = 43;
const MAX_LEN: usize = 128;
/// An S256 challenge is base64url (no padding) of a 32-byte SHA-256 digest.
const S256_CHALLENGE_LEN: usize = 43;

/// How the client derived its `code_challenge` (RFC 7636 §4.2, §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeChallengeMethod {
    /// `S256`: `BASE64URL(SHA256(ASCII(code_verifier)))`.
    S256,
    /// `plain`: the challenge is the verifier itself. RFC 7636 §4.2 allows it
    /// only when a client cannot do S256; §4.3 makes it the default when
    /// `code_challenge_method` is absent.
    Plain,
}

impl CodeChallengeMethod {
    /// The registered name (RFC 7636 §6.2), case-sensitive.
    pub fn as_str(self) -> &'static str {
        match self {
            CodeChallengeMethod::S256 => "S256",
            CodeChallengeMethod::Plain => "plain",
        }
    }

    /// The challenge a verifier produces under this method (RFC 7636 §4.2).
    /// The verifier's syntax is not checked here: see [`validate_verifier`].
    pub fn compute_challenge(self, verifier: &str) -> String {
        match self {
            CodeChallengeMethod::S256 => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier)),
            CodeChallengeMethod::Plain => verifier.to_owned(),
        }
    }
}

impl FromStr for CodeChallengeMethod {
    type Err = PkceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "S256" => Ok(CodeChallengeMethod::S256),
            "plain" => Ok(CodeChallengeMethod::Plain),
            other => Err(PkceError::UnknownMethod(other.to_owned())),
        }
    }
}

impl fmt::Display for CodeChallengeMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CodeChallengeMethod {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CodeChallengeMethod {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What is wrong with a PKCE parameter. The messages never include the
/// verifier: it is a secret until the code is redeemed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PkceError {
    #[error("code_challenge_method {0:?} is not supported; use \"S256\" (or \"plain\")")]
    UnknownMethod(String),
    #[error("code_verifier is {0} characters long; RFC 7636 §4.1 requires 43 to 128")]
    VerifierLength(usize),
    #[error("code_verifier contains {0:?}; RFC 7636 §4.1 allows only A-Z a-z 0-9 and - . _ ~")]
    VerifierCharacter(char),
    #[error("code_challenge is {0} characters long; RFC 7636 §4.2 requires 43 to 128")]
    ChallengeLength(usize),
    #[error("code_challenge contains {0:?}; RFC 7636 §4.2 allows only A-Z a-z 0-9 and - . _ ~")]
    ChallengeCharacter(char),
    #[error("an S256 code_challenge is the 43-character unpadded base64url of a SHA-256 digest (RFC 7636 §4.2); this one is not")]
    NotS256Digest,
    #[error("the code_verifier does not match the code_challenge")]
    Mismatch,
}

/// RFC 7636 §4.1 `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"`.
fn is_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// Checks a `code_verifier` (RFC 7636 §4.1: `43*128unreserved`).
pub fn validate_verifier(verifier: &str) -> Result<(), PkceError> {
    if let Some(c) = verifier.chars().find(|c| !is_unreserved(*c)) {
        return Err(PkceError::VerifierCharacter(c));
    }
    // All characters are ASCII now, so bytes are characters.
    if !(MIN_LEN..=MAX_LEN).contains(&verifier.len()) {
        return Err(PkceError::VerifierLength(verifier.len()));
    }
    Ok(())
}

/// Checks a `code_challenge` sent with `method` (RFC 7636 §4.2: the same
/// syntax as a verifier; for S256, exactly what base64url of a SHA-256 digest
/// looks like, so that a challenge no verifier could ever meet is refused when
/// the client sends it rather than when it redeems the code).
pub fn validate_challenge(method: CodeChallengeMethod, challenge: &str) -> Result<(), PkceError> {
    if let Some(c) = challenge.chars().find(|c| !is_unreserved(*c)) {
        return Err(PkceError::ChallengeCharacter(c));
    }
    if !(MIN_LEN..=MAX_LEN).contains(&challenge.len()) {
        return Err(PkceError::ChallengeLength(challenge.len()));
    }
    if method == CodeChallengeMethod::S256 {
        let decodes_to_digest = challenge.len() == S256_CHALLENGE_LEN
            && URL_SAFE_NO_PAD
                .decode(challenge)
                .is_ok_and(|bytes| bytes.len() == 32);
        if !decodes_to_digest {
            return Err(PkceError::NotS256Digest);
        }
    }
    Ok(())
}

/// Checks that `verifier` answers `challenge` (RFC 7636 §4.6), with a
/// specific error when the verifier is malformed. The comparison runs in
/// constant time over SHA-256 digests of both sides, so neither the content
/// nor the length of the expected value leaks through timing.
pub fn check(
    method: CodeChallengeMethod,
    challenge: &str,
    verifier: &str,
) -> Result<(), PkceError> {
    validate_verifier(verifier)?;
    let computed = method.compute_challenge(verifier);
    let expected = Sha256::digest(challenge.as_bytes());
    let actual = Sha256::digest(computed.as_bytes());
    if constant_time_eq(&expected, &actual) {
        Ok(())
    } else {
        Err(PkceError::Mismatch)
    }
}

/// Whether `verifier` answers `challenge` under `method` (RFC 7636 §4.6). A
/// malformed verifier never matches.
pub fn verify(method: CodeChallengeMethod, challenge: &str, verifier: &str) -> bool {
    check(method, challenge, verifier).is_ok()
}

/// Compares two byte strings in time that depends only on their lengths, not
/// on where they differ (house rule: constant time for every secret). Unequal
/// lengths return at once, so give it values of fixed length (digests) when
/// the length itself is secret.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // `black_box` keeps the optimiser from turning the fold back into an
    // early-exit comparison.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 appendix B.
    const RFC_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const RFC_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b() {
        // The verifier is base64url of these 32 octets...
        let octets: [u8; 32] = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212,
            37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
        ];
        assert_eq!(URL_SAFE_NO_PAD.encode(octets), RFC_VERIFIER);
        // ...and its SHA-256 is these, whose base64url is the challenge.
        let digest: [u8; 32] = [
            19, 211, 30, 150, 26, 26, 216, 236, 47, 22, 177, 12, 76, 152, 46, 8, 118, 168, 120,
            173, 109, 241, 68, 86, 110, 225, 137, 74, 203, 112, 249, 195,
        ];
        assert_eq!(Sha256::digest(RFC_VERIFIER).as_slice(), digest);
        assert_eq!(
            CodeChallengeMethod::S256.compute_challenge(RFC_VERIFIER),
            RFC_CHALLENGE
        );
        assert!(verify(
            CodeChallengeMethod::S256,
            RFC_CHALLENGE,
            RFC_VERIFIER
        ));
        assert_eq!(
            validate_challenge(CodeChallengeMethod::S256, RFC_CHALLENGE),
            Ok(())
        );
    }

    #[test]
    fn wrong_verifier_or_method_does_not_match() {
        let other = "x".repeat(43);
        assert!(!verify(CodeChallengeMethod::S256, RFC_CHALLENGE, &other));
        assert_eq!(
            check(CodeChallengeMethod::S256, RFC_CHALLENGE, &other),
            Err(PkceError::Mismatch)
        );
        // The verifier sent as a plain challenge does not satisfy S256, and
        // the S256 challenge does not satisfy plain with the verifier.
        assert!(!verify(
            CodeChallengeMethod::S256,
            RFC_VERIFIER,
            RFC_VERIFIER
        ));
        assert!(!verify(
            CodeChallengeMethod::Plain,
            RFC_CHALLENGE,
            RFC_VERIFIER
        ));
        // A challenge of another length is refused, not a panic.
        assert!(!verify(CodeChallengeMethod::S256, "", RFC_VERIFIER));
    }

    #[test]
    fn plain_compares_verbatim() {
        assert!(verify(
            CodeChallengeMethod::Plain,
            RFC_VERIFIER,
            RFC_VERIFIER
        ));
        let upper = RFC_VERIFIER.to_ascii_uppercase();
        assert!(!verify(CodeChallengeMethod::Plain, RFC_VERIFIER, &upper));
        let longer = format!("{RFC_VERIFIER}a");
        assert!(!verify(CodeChallengeMethod::Plain, RFC_VERIFIER, &longer));
    }

    #[test]
    fn verifier_syntax() {
        assert_eq!(validate_verifier(&"a".repeat(43)), Ok(()));
        assert_eq!(validate_verifier(&"~._-".repeat(32)), Ok(()));
        assert_eq!(
            validate_verifier(&"a".repeat(42)),
            Err(PkceError::VerifierLength(42))
        );
        assert_eq!(
            validate_verifier(&"a".repeat(129)),
            Err(PkceError::VerifierLength(129))
        );
        assert_eq!(validate_verifier(""), Err(PkceError::VerifierLength(0)));
        let spaced = format!("{} b", "a".repeat(43));
        assert_eq!(
            validate_verifier(&spaced),
            Err(PkceError::VerifierCharacter(' '))
        );
        let accented = format!("{}é", "a".repeat(43));
        assert_eq!(
            validate_verifier(&accented),
            Err(PkceError::VerifierCharacter('é'))
        );
        // A malformed verifier is reported as such, and never matches, even
        // under plain with an equal (equally malformed) challenge.
        let short = "tooshort";
        assert_eq!(
            check(CodeChallengeMethod::Plain, short, short),
            Err(PkceError::VerifierLength(8))
        );
        assert!(!verify(CodeChallengeMethod::Plain, short, short));
    }

    #[test]
    fn challenge_syntax() {
        use CodeChallengeMethod::{Plain, S256};
        assert_eq!(validate_challenge(Plain, RFC_VERIFIER), Ok(()));
        assert_eq!(validate_challenge(Plain, &"a.~".repeat(40)), Ok(()));
        assert_eq!(
            validate_challenge(Plain, "short"),
            Err(PkceError::ChallengeLength(5))
        );
        assert_eq!(
            validate_challenge(Plain, &"a".repeat(129)),
            Err(PkceError::ChallengeLength(129))
        );
        assert_eq!(
            validate_challenge(S256, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"),
            Err(PkceError::ChallengeCharacter('+'))
        );
        // Valid unreserved characters, but not what S256 can produce.
        assert_eq!(
            validate_challenge(S256, &"a".repeat(44)),
            Err(PkceError::NotS256Digest)
        );
        assert_eq!(
            validate_challenge(S256, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw.cM"),
            Err(PkceError::NotS256Digest)
        );
        // 43 base64url characters whose last one has bits set beyond the
        // 256th: no digest encodes to this.
        assert_eq!(
            validate_challenge(S256, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"),
            Err(PkceError::NotS256Digest)
        );
    }

    #[test]
    fn method_names() {
        assert_eq!("S256".parse(), Ok(CodeChallengeMethod::S256));
        assert_eq!("plain".parse(), Ok(CodeChallengeMethod::Plain));
        // Names are case-sensitive (RFC 7636 §4.3, §6.2).
        assert_eq!(
            "s256".parse::<CodeChallengeMethod>(),
            Err(PkceError::UnknownMethod("s256".to_owned()))
        );
        assert!("".parse::<CodeChallengeMethod>().is_err());
        assert_eq!(CodeChallengeMethod::S256.to_string(), "S256");
        assert_eq!(CodeChallengeMethod::Plain.as_str(), "plain");

        use serde::de::{value::Error, IntoDeserializer};
        let de = |s: &str| {
            CodeChallengeMethod::deserialize(IntoDeserializer::<Error>::into_deserializer(s))
        };
        assert_eq!(de("S256"), Ok(CodeChallengeMethod::S256));
        assert!(de("SHA256").is_err());
    }

    #[test]
    fn constant_time_eq_basics() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"bbc"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
