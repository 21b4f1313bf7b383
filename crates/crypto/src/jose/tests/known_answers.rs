//! Known answers from the specifications: RFC 7515 Appendix A and the ID
//! token examples of OpenID Connect Core Appendix A.

use serde_json::json;

use super::super::{b64_decode, token_hash, verify_jws, JoseError, JwsAlgorithm, VerificationKey};

/// RFC 7515 Appendix A.1.1: the HS256 JWS and its key `k`.
const A1_KEY: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
const A1_HEADER: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9";
/// The payload shared by Appendix A.1 to A.3.
const A_PAYLOAD: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
const A1_SIGNATURE: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// RFC 7515 Appendix A.2: RS256 with the RSA key of A.2.1.
const A2_N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
const A2_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

/// RFC 7515 Appendix A.3: ES256 with the P-256 key of A.3.1.
const A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
const A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
const A3_TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

/// RFC 7515 Appendix A.5: the unsecured JWS.
const A5_TOKEN: &str = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.";

fn a_claims() -> serde_json::Value {
    json!({"iss": "joe", "exp": 1300819380, "http://example.com/is_root": true})
}

#[test]
fn rfc7515_a1_hs256_verifies() {
    let key = b64_decode(A1_KEY).unwrap();
    let token = format!("{A1_HEADER}.{A_PAYLOAD}.{A1_SIGNATURE}");
    let (header, claims) = verify_jws(&token, VerificationKey::SharedSecret(&key)).unwrap();
    assert_eq!(header.alg, JwsAlgorithm::Hs256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    assert_eq!(header.kid, None);
    assert_eq!(claims, a_claims());
}

#[test]
fn rfc7515_a1_hmac_is_reproduced() {
    use super::super::alg::Sha;
    use super::super::jws::hmac_sign;

    let key = b64_decode(A1_KEY).unwrap();
    let input = format!("{A1_HEADER}.{A_PAYLOAD}");
    let mac = hmac_sign(JwsAlgorithm::Hs256, Sha::Sha256, &key, input.as_bytes()).unwrap();
    assert_eq!(super::super::b64(&mac), A1_SIGNATURE);
}

#[test]
fn rfc7515_a1_with_another_secret_fails() {
    let token = format!("{A1_HEADER}.{A_PAYLOAD}.{A1_SIGNATURE}");
    let error = verify_jws(&token, VerificationKey::SharedSecret(b"not the key")).unwrap_err();
    assert!(matches!(error, JoseError::BadSignature), "{error}");
}

#[test]
fn rfc7515_a2_rs256_verifies() {
    let jwks = json!({"keys": [{"kty": "RSA", "n": A2_N, "e": "AQAB"}]});
    let (header, claims) = verify_jws(A2_TOKEN, VerificationKey::Jwks(&jwks)).unwrap();
    assert_eq!(header.alg, JwsAlgorithm::Rs256);
    assert_eq!(claims, a_claims());
}

#[test]
fn rfc7515_a3_es256_verifies() {
    let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": A3_X, "y": A3_Y}]});
    let (header, claims) = verify_jws(A3_TOKEN, VerificationKey::Jwks(&jwks)).unwrap();
    assert_eq!(header.alg, JwsAlgorithm::Es256);
    assert_eq!(claims, a_claims());
}

#[test]
fn rfc7515_a5_unsecured_is_refused() {
    let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": A3_X, "y": A3_Y}]});
    for key in [
        VerificationKey::Jwks(&jwks),
        VerificationKey::SharedSecret(b"secret"),
    ] {
        let error = verify_jws(A5_TOKEN, key).unwrap_err();
        assert!(matches!(error, JoseError::Unsecured), "{error}");
    }
}

/// OpenID Connect Core Appendix A.3 (`at_hash`) and A.4 (`c_hash`), both
/// from ID tokens signed with RS256.
#[test]
fn oidc_core_hash_examples() {
    assert_eq!(
        token_hash(
            JwsAlgorithm::Rs256,
            "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
        )
        .unwrap(),
        "77QmUPtjPfzWtF2AnpK9RQ"
    );
    assert_eq!(
        token_hash(
            JwsAlgorithm::Rs256,
            "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"
        )
        .unwrap(),
        "LDktKdoQak3Pk0cnXxCltA"
    );
}

#[test]
fn token_hash_follows_the_hash_size_of_the_algorithm() {
    use sha2::{Digest, Sha384, Sha512};

    let token = "an-access-token";
    for alg in [
        JwsAlgorithm::Hs256,
        JwsAlgorithm::Ps256,
        JwsAlgorithm::Es256,
        JwsAlgorithm::Es256K,
    ] {
        assert_eq!(
            token_hash(alg, token).unwrap(),
            token_hash(JwsAlgorithm::Rs256, token).unwrap()
        );
    }
    let sha384 = Sha384::digest(token);
    let sha512 = Sha512::digest(token);
    for alg in [
        JwsAlgorithm::Rs384,
        JwsAlgorithm::Es384,
        JwsAlgorithm::Hs384,
    ] {
        assert_eq!(token_hash(alg, token).unwrap(), super::b64(&sha384[..24]));
    }
    for alg in [
        JwsAlgorithm::Rs512,
        JwsAlgorithm::Ps512,
        JwsAlgorithm::Hs512,
    ] {
        assert_eq!(token_hash(alg, token).unwrap(), super::b64(&sha512[..32]));
    }
    assert!(matches!(
        token_hash(JwsAlgorithm::None, token),
        Err(JoseError::Unsecured)
    ));
    assert!(matches!(
        token_hash(JwsAlgorithm::EdDsa, token),
        Err(JoseError::UnsupportedAlgorithm(JwsAlgorithm::EdDsa))
    ));
}

/// RFC 7518 §3.1 and RFC 8812 §3.2 spell the names; serde, `FromStr` and
/// `Display` agree on them.
#[test]
fn algorithm_names() {
    let names = [
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
        "ES384", "ES256K", "EdDSA", "none",
    ];
    for (alg, name) in JwsAlgorithm::ALL.into_iter().zip(names) {
        assert_eq!(alg.to_string(), name);
        assert_eq!(name.parse::<JwsAlgorithm>().unwrap(), alg);
        assert_eq!(serde_json::to_value(alg).unwrap(), json!(name));
        assert_eq!(
            serde_json::from_value::<JwsAlgorithm>(json!(name)).unwrap(),
            alg
        );
    }
    // Names are case-sensitive (RFC 7515 §4.1.1).
    for unknown in ["hs256", "RS1", "ES512", "None", ""] {
        assert!(matches!(
            unknown.parse::<JwsAlgorithm>(),
            Err(JoseError::UnknownAlgorithm(name)) if name == unknown
        ));
    }
}
