//! Sign-then-verify for every algorithm, and what the keystore publishes.

use serde_json::json;

use super::super::{
    b64_decode, sign_jwt_hmac, verify_jws, JwsAlgorithm, Keystore, VerificationKey,
};
use super::{claims, k256_key, keystore, p256_key, p384_key, rsa_key, sign_without_kid};

const ASYMMETRIC: [JwsAlgorithm; 9] = [
    JwsAlgorithm::Rs256,
    JwsAlgorithm::Rs384,
    JwsAlgorithm::Rs512,
    JwsAlgorithm::Ps256,
    JwsAlgorithm::Ps384,
    JwsAlgorithm::Ps512,
    JwsAlgorithm::Es256,
    JwsAlgorithm::Es384,
    JwsAlgorithm::Es256K,
];

#[test]
fn every_asymmetric_algorithm_round_trips() {
    let keystore = keystore();
    let jwks = keystore.public_jwks();
    for alg in ASYMMETRIC {
        let token = keystore.sign_jwt(alg, &claims()).unwrap();
        let (header, verified) = verify_jws(&token, VerificationKey::Jwks(&jwks))
            .unwrap_or_else(|error| panic!("{alg}: {error}"));
        assert_eq!(header.alg, alg);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert!(header.other.is_empty());
        assert_eq!(verified, claims());
    }
}

#[test]
fn header_names_the_key_that_signed() {
    let keystore = keystore();
    for (alg, kid) in [
        (JwsAlgorithm::Rs256, "rsa"),
        (JwsAlgorithm::Ps512, "rsa"),
        (JwsAlgorithm::Es256, "p256"),
        (JwsAlgorithm::Es384, "p384"),
        (JwsAlgorithm::Es256K, "k256"),
    ] {
        let token = keystore.sign_jwt(alg, &claims()).unwrap();
        let header = b64_decode(token.split('.').next().unwrap()).unwrap();
        let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
        assert_eq!(header, json!({"alg": alg, "kid": kid, "typ": "JWT"}));
    }
}

/// The first key that supports the algorithm signs, whatever follows.
#[test]
fn first_fitting_key_signs() {
    let keystore = Keystore::new(vec![
        ("old".to_owned(), p256_key()),
        ("new".to_owned(), p256_key()),
    ]);
    let token = keystore.sign_jwt(JwsAlgorithm::Es256, &claims()).unwrap();
    let (header, _) = verify_jws(&token, VerificationKey::Jwks(&keystore.public_jwks())).unwrap();
    assert_eq!(header.kid.as_deref(), Some("old"));
}

/// RFC 7518 §3.4: R || S at the curve's width, never DER.
#[test]
fn ecdsa_signatures_are_fixed_width() {
    let keystore = keystore();
    for (alg, width) in [
        (JwsAlgorithm::Es256, 64),
        (JwsAlgorithm::Es384, 96),
        (JwsAlgorithm::Es256K, 64),
    ] {
        for _ in 0..8 {
            let token = keystore.sign_jwt(alg, &claims()).unwrap();
            let signature = b64_decode(token.rsplit('.').next().unwrap()).unwrap();
            assert_eq!(signature.len(), width, "{alg}");
        }
    }
    let token = keystore.sign_jwt(JwsAlgorithm::Rs256, &claims()).unwrap();
    let signature = b64_decode(token.rsplit('.').next().unwrap()).unwrap();
    assert_eq!(signature.len(), 256);
}

#[test]
fn every_hmac_algorithm_round_trips() {
    let secret = b"a client secret of some length, shared with the server";
    for alg in [
        JwsAlgorithm::Hs256,
        JwsAlgorithm::Hs384,
        JwsAlgorithm::Hs512,
    ] {
        let token = sign_jwt_hmac(alg, secret, &claims()).unwrap();
        let (header, verified) = verify_jws(&token, VerificationKey::SharedSecret(secret)).unwrap();
        assert_eq!(header.alg, alg);
        assert_eq!(header.kid, None);
        assert_eq!(verified, claims());
    }
}

/// Unknown header members survive verification for the caller to read.
#[test]
fn extra_header_members_are_kept() {
    use super::super::jws::sign_compact;
    use super::super::{alg::Sha, jws::hmac_sign};

    let header = json!({"alg": "HS256", "typ": "client-authentication+jwt", "x-trace": 7});
    let token = sign_compact(&header, &claims(), |input| {
        hmac_sign(JwsAlgorithm::Hs256, Sha::Sha256, b"secret", input)
    })
    .unwrap();
    let (header, _) = verify_jws(&token, VerificationKey::SharedSecret(b"secret")).unwrap();
    assert_eq!(header.typ.as_deref(), Some("client-authentication+jwt"));
    assert_eq!(header.other.get("x-trace"), Some(&json!(7)));
}

#[test]
fn available_algorithms_follow_the_keys() {
    assert_eq!(
        keystore().available_algorithms(),
        ASYMMETRIC.to_vec(),
        "RSA gives RS* and PS*, then one algorithm per curve"
    );
    let ec_only = Keystore::new(vec![
        ("a".to_owned(), k256_key()),
        ("b".to_owned(), p256_key()),
        ("c".to_owned(), p256_key()),
    ]);
    assert_eq!(
        ec_only.available_algorithms(),
        vec![JwsAlgorithm::Es256K, JwsAlgorithm::Es256]
    );
    assert!(Keystore::new(Vec::new()).available_algorithms().is_empty());
}

#[test]
fn jwks_lists_each_public_key() {
    let (p256, p384, k256) = (p256_key(), p384_key(), k256_key());
    let points: Vec<Vec<u8>> = [&p256, &p384, &k256].map(uncompressed_point).to_vec();
    let rsa = rsa_key();
    let rsa_public = rsa.public_jwk();
    let keystore = Keystore::new(vec![
        ("rsa".to_owned(), rsa),
        ("p256".to_owned(), p256),
        ("p384".to_owned(), p384),
        ("k256".to_owned(), k256),
    ]);
    let jwks = keystore.public_jwks();
    let published = jwks["keys"].as_array().unwrap();
    assert_eq!(published.len(), 4);

    let rsa = &published[0];
    assert_eq!(rsa["kty"], "RSA");
    assert_eq!(rsa["kid"], "rsa");
    assert_eq!(rsa["use"], "sig");
    assert_eq!(rsa["e"], "AQAB");
    assert_eq!(rsa["n"], rsa_public["n"]);
    assert_eq!(b64_decode(rsa["n"].as_str().unwrap()).unwrap().len(), 256);
    assert!(rsa.get("alg").is_none(), "an RSA key serves RS* and PS*");

    for ((jwk, point), (kid, crv, alg)) in published[1..].iter().zip(points).zip([
        ("p256", "P-256", "ES256"),
        ("p384", "P-384", "ES384"),
        ("k256", "secp256k1", "ES256K"),
    ]) {
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["kid"], kid);
        assert_eq!(jwk["crv"], crv);
        assert_eq!(jwk["alg"], alg);
        assert_eq!(jwk["use"], "sig");
        // x and y are the full coordinates of the uncompressed point.
        let x = b64_decode(jwk["x"].as_str().unwrap()).unwrap();
        let y = b64_decode(jwk["y"].as_str().unwrap()).unwrap();
        assert_eq!([&[4][..], &x, &y].concat(), point, "{kid}");
    }
    // Nothing private is published.
    for jwk in published {
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(jwk.get(private).is_none(), "{private} published");
        }
    }
}

/// The SEC1 uncompressed public point of an EC key.
fn uncompressed_point(key: &crate::keys::PrivateKey) -> Vec<u8> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;

    let point = match key {
        crate::keys::PrivateKey::P256(key) => key.public_key().to_encoded_point(false).to_bytes(),
        crate::keys::PrivateKey::P384(key) => key.public_key().to_encoded_point(false).to_bytes(),
        crate::keys::PrivateKey::K256(key) => key.public_key().to_encoded_point(false).to_bytes(),
        crate::keys::PrivateKey::Rsa(_) => panic!("not an EC key"),
    };
    point.to_vec()
}

/// A JWK Set of only some keys still verifies the tokens of those keys,
/// and a token without `kid` is checked with the one key that fits.
#[test]
fn verifies_with_a_partial_jwks_and_without_kid() {
    let keystore = keystore();
    let jwks = keystore.public_jwks();
    let p384 = json!({"keys": [jwks["keys"][2].clone()]});
    let token = keystore.sign_jwt(JwsAlgorithm::Es384, &claims()).unwrap();
    assert!(verify_jws(&token, VerificationKey::Jwks(&p384)).is_ok());

    let rsa = rsa_key();
    let jwks = Keystore::new(vec![
        ("rsa".to_owned(), rsa_key()),
        ("p256".to_owned(), p256_key()),
    ])
    .public_jwks();
    for alg in [JwsAlgorithm::Rs256, JwsAlgorithm::Ps384] {
        let token = sign_without_kid(&rsa, alg);
        let (header, _) = verify_jws(&token, VerificationKey::Jwks(&jwks)).unwrap();
        assert_eq!(header.kid, None);
    }
}

/// ES256K signers that do not normalise S (RFC 8812 does not ask them to)
/// are accepted.
#[test]
fn es256k_accepts_high_s() {
    let keystore = Keystore::new(vec![("k".to_owned(), k256_key())]);
    let jwks = keystore.public_jwks();
    let token = keystore.sign_jwt(JwsAlgorithm::Es256K, &claims()).unwrap();
    let high_s = super::edit_parts(&token, |parts| {
        let bytes = b64_decode(&parts[2]).unwrap();
        let low = k256::ecdsa::Signature::from_slice(&bytes).unwrap();
        let high = k256::ecdsa::Signature::from_scalars(low.r(), -low.s()).unwrap();
        assert_ne!(high, low);
        parts[2] = super::super::b64(&high.to_bytes());
    });
    assert!(verify_jws(&high_s, VerificationKey::Jwks(&jwks)).is_ok());
}
