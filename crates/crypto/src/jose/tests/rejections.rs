//! Every way a token or a signing request is refused, each with its own
//! error.

use serde_json::{json, Value};

use super::super::{
    b64, b64_decode, sign_jwt_hmac, verify_jws, JoseError, JwsAlgorithm, Keystore, VerificationKey,
};
use super::{assemble, claims, edit_parts, keystore, p256_key, rsa_key, sign_without_kid};

const SECRET: &[u8] = b"a shared secret for the tests";

fn verify_with_jwks(token: &str, jwks: &Value) -> JoseError {
    verify_jws(token, VerificationKey::Jwks(jwks)).unwrap_err()
}

fn verify_with_secret(token: &str) -> JoseError {
    verify_jws(token, VerificationKey::SharedSecret(SECRET)).unwrap_err()
}

#[test]
fn tampered_payload_fails_for_every_family() {
    let keystore = keystore();
    let jwks = keystore.public_jwks();
    let forged = b64(json!({"sub": "01J0MALLORY"}).to_string().as_bytes());
    for alg in [
        JwsAlgorithm::Rs256,
        JwsAlgorithm::Ps256,
        JwsAlgorithm::Es256,
        JwsAlgorithm::Es384,
        JwsAlgorithm::Es256K,
    ] {
        let token = keystore.sign_jwt(alg, &claims()).unwrap();
        let tampered = edit_parts(&token, |parts| parts[1] = forged.clone());
        let error = verify_with_jwks(&tampered, &jwks);
        assert!(matches!(error, JoseError::BadSignature), "{alg}: {error}");
    }
    let token = sign_jwt_hmac(JwsAlgorithm::Hs256, SECRET, &claims()).unwrap();
    let tampered = edit_parts(&token, |parts| parts[1] = forged.clone());
    assert!(matches!(
        verify_with_secret(&tampered),
        JoseError::BadSignature
    ));
}

#[test]
fn tampered_signature_fails() {
    let keystore = keystore();
    let jwks = keystore.public_jwks();
    for alg in [
        JwsAlgorithm::Rs512,
        JwsAlgorithm::Ps384,
        JwsAlgorithm::Es256,
    ] {
        let token = keystore.sign_jwt(alg, &claims()).unwrap();
        let tampered = edit_parts(&token, |parts| {
            let mut signature = b64_decode(&parts[2]).unwrap();
            signature[10] ^= 1;
            parts[2] = b64(&signature);
        });
        assert!(matches!(
            verify_with_jwks(&tampered, &jwks),
            JoseError::BadSignature
        ));
    }
}

#[test]
fn key_of_another_server_fails() {
    let token = keystore().sign_jwt(JwsAlgorithm::Es256, &claims()).unwrap();
    let other = Keystore::new(vec![("p256".to_owned(), p256_key())]).public_jwks();
    assert!(matches!(
        verify_with_jwks(&token, &other),
        JoseError::BadSignature
    ));
}

#[test]
fn unknown_kid_fails() {
    let keystore = keystore();
    let token = keystore.sign_jwt(JwsAlgorithm::Rs256, &claims()).unwrap();
    let jwks = Keystore::new(vec![("rotated".to_owned(), rsa_key())]).public_jwks();
    let error = verify_with_jwks(&token, &jwks);
    assert!(
        matches!(&error, JoseError::UnknownKid(kid) if kid == "rsa"),
        "{error}"
    );
    assert!(error.to_string().contains("\"rsa\""));
}

#[test]
fn algorithm_must_fit_the_key() {
    let jwks = keystore().public_jwks();
    // The header names the P-256 key but claims RSA.
    let token = assemble(
        &json!({"alg": "RS256", "kid": "p256"}),
        &claims(),
        &[0; 256],
    );
    let error = verify_with_jwks(&token, &jwks);
    assert!(
        matches!(
            error,
            JoseError::KeyTypeMismatch {
                alg: JwsAlgorithm::Rs256,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("kty EC"), "{error}");
    // ES384 on the P-256 key: the curve decides.
    let token = assemble(&json!({"alg": "ES384", "kid": "p256"}), &claims(), &[0; 96]);
    assert!(matches!(
        verify_with_jwks(&token, &jwks),
        JoseError::KeyTypeMismatch { .. }
    ));
    // An RSA token against a shared secret.
    let token = keystore().sign_jwt(JwsAlgorithm::Rs256, &claims()).unwrap();
    assert!(matches!(
        verify_with_secret(&token),
        JoseError::KeyTypeMismatch { .. }
    ));
    // Signing: HMAC needs a secret, the keystore holds no secrets.
    assert!(matches!(
        keystore().sign_jwt(JwsAlgorithm::Hs256, &claims()),
        Err(JoseError::NoSigningKey(JwsAlgorithm::Hs256))
    ));
    assert!(matches!(
        sign_jwt_hmac(JwsAlgorithm::Rs256, SECRET, &claims()),
        Err(JoseError::KeyTypeMismatch { .. })
    ));
}

/// The confusion attack: an HS256 token "signed" with the server's public
/// key as the HMAC secret must not pass against the JWK Set.
#[test]
fn hmac_against_public_keys_is_refused() {
    let jwks = keystore().public_jwks();
    let public_n = jwks["keys"][0]["n"].as_str().unwrap().as_bytes().to_vec();
    let token = sign_jwt_hmac(JwsAlgorithm::Hs256, &public_n, &claims()).unwrap();
    let error = verify_with_jwks(&token, &jwks);
    assert!(
        matches!(
            error,
            JoseError::KeyTypeMismatch {
                alg: JwsAlgorithm::Hs256,
                ..
            }
        ),
        "{error}"
    );
}

/// A JWK that names another algorithm or another use does not verify.
#[test]
fn jwk_alg_and_use_restrict_the_key() {
    let rsa = rsa_key();
    let mut jwk = rsa.public_jwk();
    jwk["kid"] = json!("k");
    jwk["alg"] = json!("RS256");
    let token = edit_parts(&sign_without_kid(&rsa, JwsAlgorithm::Ps256), |parts| {
        parts[0] = b64(br#"{"alg":"PS256","kid":"k"}"#);
    });
    let error = verify_with_jwks(&token, &json!({"keys": [jwk.clone()]}));
    assert!(error.to_string().contains("alg RS256"), "{error}");

    jwk["alg"] = json!("PS256");
    jwk["use"] = json!("enc");
    assert!(matches!(
        verify_with_jwks(&token, &json!({"keys": [jwk]})),
        JoseError::KeyTypeMismatch { .. }
    ));
}

#[test]
fn unsecured_and_unsupported_algorithms_are_refused() {
    let jwks = keystore().public_jwks();
    for signature in [&[][..], &[1, 2, 3][..]] {
        let token = assemble(&json!({"alg": "none"}), &claims(), signature);
        assert!(matches!(
            verify_with_jwks(&token, &jwks),
            JoseError::Unsecured
        ));
        assert!(matches!(verify_with_secret(&token), JoseError::Unsecured));
    }
    let token = assemble(&json!({"alg": "EdDSA"}), &claims(), &[0; 64]);
    let error = verify_with_jwks(&token, &jwks);
    assert!(
        matches!(error, JoseError::UnsupportedAlgorithm(JwsAlgorithm::EdDsa)),
        "{error}"
    );

    assert!(matches!(
        keystore().sign_jwt(JwsAlgorithm::None, &claims()),
        Err(JoseError::Unsecured)
    ));
    assert!(matches!(
        sign_jwt_hmac(JwsAlgorithm::None, SECRET, &claims()),
        Err(JoseError::Unsecured)
    ));
    assert!(matches!(
        keystore().sign_jwt(JwsAlgorithm::EdDsa, &claims()),
        Err(JoseError::UnsupportedAlgorithm(JwsAlgorithm::EdDsa))
    ));
}

#[test]
fn bad_headers_are_named() {
    let cases = [
        (json!({"alg": "RS1"}), "unknown algorithm \"RS1\""),
        (json!({"typ": "JWT"}), "no `alg`"),
        (json!({"alg": 256}), "`alg` must be a string"),
        (json!({"alg": "HS256", "kid": 1}), "`kid` must be a string"),
        (json!({"alg": "HS256", "crit": ["exp"]}), "critical"),
    ];
    for (header, message) in cases {
        let token = assemble(&header, &claims(), &[0; 32]);
        let error = verify_with_secret(&token);
        assert!(error.to_string().contains(message), "{header}: {error}");
    }
    let token = assemble(
        &json!({"alg": "HS256", "crit": ["b64"], "b64": false}),
        &claims(),
        &[0; 32],
    );
    assert!(matches!(
        verify_with_secret(&token),
        JoseError::CriticalHeader(_)
    ));
}

#[test]
fn malformed_tokens_are_named() {
    let good = sign_jwt_hmac(JwsAlgorithm::Hs256, SECRET, &claims()).unwrap();
    assert!(verify_jws(&good, VerificationKey::SharedSecret(SECRET)).is_ok());

    assert!(matches!(verify_with_secret(""), JoseError::NotCompact(1)));
    assert!(matches!(
        verify_with_secret("a.b"),
        JoseError::NotCompact(2)
    ));
    assert!(matches!(
        verify_with_secret(&format!("{good}.x.y")),
        JoseError::NotCompact(5)
    ));

    for (part, name) in [(0, "header"), (1, "payload"), (2, "signature")] {
        // A character outside the base64url alphabet.
        let token = edit_parts(&good, |parts| parts[part].insert(0, '+'));
        let error = verify_with_secret(&token);
        assert!(
            matches!(error, JoseError::Base64 { part } if part == name),
            "{name}: {error}"
        );
        // Padding is not allowed (RFC 7515 §2).
        let token = edit_parts(&good, |parts| parts[part].push('='));
        assert!(matches!(
            verify_with_secret(&token),
            JoseError::Base64 { .. }
        ));
    }

    let token = edit_parts(&good, |parts| parts[0] = b64(b"not json"));
    let error = verify_with_secret(&token);
    assert!(
        matches!(error, JoseError::Json { part: "header", .. }),
        "{error}"
    );
    let token = edit_parts(&good, |parts| parts[0] = b64(br#"["HS256"]"#));
    assert!(matches!(
        verify_with_secret(&token),
        JoseError::Json { part: "header", .. }
    ));
}

#[test]
fn signed_payload_that_is_not_an_object_is_refused() {
    use super::super::{alg::Sha, jws::hmac_sign};

    let header = b64(br#"{"alg":"HS256"}"#);
    for payload in [&b"[1,2]"[..], b"not json", b""] {
        let input = format!("{header}.{}", b64(payload));
        let mac = hmac_sign(JwsAlgorithm::Hs256, Sha::Sha256, SECRET, input.as_bytes()).unwrap();
        let error = verify_with_secret(&format!("{input}.{}", b64(&mac)));
        assert!(
            matches!(
                error,
                JoseError::Json {
                    part: "payload",
                    ..
                }
            ),
            "{error}"
        );
    }
}

/// The first `len` bytes of a base64url value, re-encoded.
fn truncated(part: &str, len: usize) -> String {
    b64(&b64_decode(part).unwrap()[..len])
}

#[test]
fn signature_lengths_are_checked() {
    let keystore = keystore();
    let jwks = keystore.public_jwks();
    // An ES256 signature in DER, as some libraries produce by mistake.
    let token = keystore.sign_jwt(JwsAlgorithm::Es256, &claims()).unwrap();
    let der = edit_parts(&token, |parts| {
        let raw = b64_decode(&parts[2]).unwrap();
        let signature = p256::ecdsa::Signature::from_slice(&raw).unwrap();
        parts[2] = b64(signature.to_der().as_bytes());
    });
    let error = verify_with_jwks(&der, &jwks);
    assert!(
        matches!(error, JoseError::SignatureLength { expected: 64, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("not DER"));

    let token = keystore.sign_jwt(JwsAlgorithm::Rs256, &claims()).unwrap();
    let short = edit_parts(&token, |parts| parts[2] = truncated(&parts[2], 75));
    assert!(matches!(
        verify_with_jwks(&short, &jwks),
        JoseError::SignatureLength {
            expected: 256,
            actual: 75,
            ..
        }
    ));

    let token = sign_jwt_hmac(JwsAlgorithm::Hs512, SECRET, &claims()).unwrap();
    let short = edit_parts(&token, |parts| parts[2] = truncated(&parts[2], 32));
    assert!(matches!(
        verify_with_secret(&short),
        JoseError::SignatureLength {
            expected: 64,
            actual: 32,
            ..
        }
    ));
}

#[test]
fn key_choice_without_kid_must_be_unique() {
    let two = Keystore::new(vec![
        ("a".to_owned(), p256_key()),
        ("b".to_owned(), p256_key()),
    ]);
    let key = p256_key();
    let token = sign_without_kid(&key, JwsAlgorithm::Es256);
    let error = verify_with_jwks(&token, &two.public_jwks());
    assert!(
        matches!(error, JoseError::AmbiguousKey { count: 2, .. }),
        "{error}"
    );

    let rsa_only = Keystore::new(vec![("r".to_owned(), rsa_key())]).public_jwks();
    let error = verify_with_jwks(&token, &rsa_only);
    assert!(
        matches!(error, JoseError::NoMatchingKey(JwsAlgorithm::Es256)),
        "{error}"
    );
}

#[test]
fn bad_jwks_and_jwks_are_named() {
    let token = sign_without_kid(&rsa_key(), JwsAlgorithm::Rs256);
    for jwks in [json!({}), json!([]), json!({"keys": {}})] {
        assert!(matches!(
            verify_with_jwks(&token, &jwks),
            JoseError::InvalidJwks(_)
        ));
    }
    let bad_n = json!({"keys": [{"kty": "RSA", "n": "not base64!", "e": "AQAB"}]});
    let error = verify_with_jwks(&token, &bad_n);
    assert!(
        error.to_string().contains("`n` is not base64url"),
        "{error}"
    );
    let no_e = json!({"keys": [{"kty": "RSA", "kid": "x", "n": "AQAB"}]});
    let error = verify_with_jwks(&token, &no_e);
    assert!(
        matches!(&error, JoseError::InvalidJwk { kid, .. } if kid == "\"x\""),
        "{error}"
    );

    let token = sign_without_kid(&p256_key(), JwsAlgorithm::Es256);
    let short_x = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "AQAB", "y": "AQAB"}]});
    let error = verify_with_jwks(&token, &short_x);
    assert!(error.to_string().contains("32 bytes"), "{error}");
    let zero = b64(&[0; 32]);
    let off_curve = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": zero, "y": zero}]});
    let error = verify_with_jwks(&token, &off_curve);
    assert!(
        error.to_string().contains("not a point on P-256"),
        "{error}"
    );
}

/// RFC 7518 §3.3: RSA keys under 2048 bits are refused.
#[test]
fn weak_rsa_keys_are_refused() {
    let small = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 1024).unwrap();
    let key = crate::keys::PrivateKey::Rsa(Box::new(small));
    let token = sign_without_kid(&key, JwsAlgorithm::Rs256);
    let error = verify_with_jwks(&token, &json!({"keys": [key.public_jwk()]}));
    assert!(
        matches!(error, JoseError::WeakRsaKey { bits: 1024, .. }),
        "{error}"
    );
}

#[test]
fn empty_secrets_are_refused() {
    assert!(matches!(
        sign_jwt_hmac(JwsAlgorithm::Hs256, b"", &claims()),
        Err(JoseError::EmptySecret)
    ));
    let token = sign_jwt_hmac(JwsAlgorithm::Hs256, SECRET, &claims()).unwrap();
    assert!(matches!(
        verify_jws(&token, VerificationKey::SharedSecret(b"")),
        Err(JoseError::EmptySecret)
    ));
}

#[test]
fn signing_needs_a_key_and_object_claims() {
    let p256_only = Keystore::new(vec![("p".to_owned(), p256_key())]);
    let error = p256_only
        .sign_jwt(JwsAlgorithm::Rs256, &claims())
        .unwrap_err();
    assert!(
        matches!(error, JoseError::NoSigningKey(JwsAlgorithm::Rs256)),
        "{error}"
    );
    for not_object in [json!("claims"), json!([1]), json!(null)] {
        assert!(matches!(
            p256_only.sign_jwt(JwsAlgorithm::Es256, &not_object),
            Err(JoseError::ClaimsNotObject)
        ));
        assert!(matches!(
            sign_jwt_hmac(JwsAlgorithm::Hs256, SECRET, &not_object),
            Err(JoseError::ClaimsNotObject)
        ));
    }
}

#[test]
fn shared_secret_is_not_printed() {
    let printed = format!("{:?}", VerificationKey::SharedSecret(SECRET));
    assert!(!printed.contains("shared secret for"), "{printed}");
}
