//! Tests of password hashing: every algorithm round-trips, Synapse's bcrypt
//! hashes verify, older schemes upgrade, and the concurrency bound holds.

use super::*;

fn argon2_scheme(version: u16) -> Scheme {
    Scheme {
        version,
        algorithm: Algorithm::Argon2id,
        cost: None,
        pepper: None,
        unicode_normalization: false,
    }
}

/// How Synapse hashes: NFKC, then the pepper appended, then bcrypt.
fn synapse_scheme() -> Scheme {
    Scheme {
        version: 1,
        algorithm: Algorithm::Bcrypt,
        cost: Some(4),
        pepper: Some(b"s3cretpepper".to_vec()),
        unicode_normalization: true,
    }
}

/// Made by Python's `bcrypt` 4.2.1 exactly as Synapse does:
/// `hashpw(normalize("NFKC", pw).encode() + pepper, gensalt(4))` for
/// `pw = "Ｐäss\u{301}wörd"`, whose NFKC form differs from it.
const SYNAPSE_HASH: &str = "$2b$04$XAundDRkt5d1OdixF0jHC.7ERZ1Rg9HtfbPni31FcNlLUWC19qkVS";
const SYNAPSE_PASSWORD: &str = "Ｐäss\u{301}wörd";

#[tokio::test]
async fn argon2id_is_the_default_and_uses_mas_parameters() {
    let manager = PasswordManager::new(vec![argon2_scheme(1)], 3, 2);
    let (version, hash) = manager.hash("correct horse".into()).await.unwrap();
    assert_eq!(version, 1);
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert_eq!(
        manager
            .verify(1, "correct horse".into(), hash.clone())
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        manager.verify(1, "wrong".into(), hash).await,
        Err(PasswordError::Mismatch)
    ));
}

#[tokio::test]
async fn argon2_pepper_is_part_of_the_hash() {
    let mut peppered = argon2_scheme(1);
    peppered.pepper = Some(b"pepper".to_vec());
    let with = PasswordManager::new(vec![peppered], 0, 1);
    let without = PasswordManager::new(vec![argon2_scheme(1)], 0, 1);
    let (_, hash) = with.hash("pw".into()).await.unwrap();
    assert!(with.verify(1, "pw".into(), hash.clone()).await.is_ok());
    assert!(matches!(
        without.verify(1, "pw".into(), hash).await,
        Err(PasswordError::Mismatch)
    ));
}

#[tokio::test]
async fn synapse_bcrypt_hashes_verify_with_pepper_and_nfkc() {
    let manager = PasswordManager::new(vec![synapse_scheme()], 0, 1);
    let ok = manager
        .verify(1, SYNAPSE_PASSWORD.into(), SYNAPSE_HASH.into())
        .await;
    assert!(matches!(ok, Ok(None)), "{ok:?}");

    let mut no_pepper = synapse_scheme();
    no_pepper.pepper = None;
    let manager = PasswordManager::new(vec![no_pepper], 0, 1);
    assert!(matches!(
        manager
            .verify(1, SYNAPSE_PASSWORD.into(), SYNAPSE_HASH.into())
            .await,
        Err(PasswordError::Mismatch)
    ));

    let mut no_nfkc = synapse_scheme();
    no_nfkc.unicode_normalization = false;
    let manager = PasswordManager::new(vec![no_nfkc], 0, 1);
    assert!(matches!(
        manager
            .verify(1, SYNAPSE_PASSWORD.into(), SYNAPSE_HASH.into())
            .await,
        Err(PasswordError::Mismatch)
    ));
}

#[tokio::test]
async fn an_older_scheme_verifies_and_hands_back_an_upgraded_hash() {
    let manager = PasswordManager::new(vec![synapse_scheme(), argon2_scheme(2)], 0, 1);
    assert_eq!(manager.current_version(), Some(2));
    let upgraded = manager
        .verify(1, SYNAPSE_PASSWORD.into(), SYNAPSE_HASH.into())
        .await
        .unwrap()
        .expect("an upgrade");
    assert_eq!(upgraded.0, 2);
    assert!(upgraded.1.starts_with("$argon2id$"));
    // The upgraded hash verifies with the new scheme, and needs no upgrade.
    assert_eq!(
        manager
            .verify(2, SYNAPSE_PASSWORD.into(), upgraded.1)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn bcrypt_and_pbkdf2_round_trip() {
    let pbkdf2 = Scheme {
        version: 3,
        algorithm: Algorithm::Pbkdf2,
        cost: None,
        pepper: Some(b"p".to_vec()),
        unicode_normalization: false,
    };
    for scheme in [synapse_scheme(), pbkdf2] {
        let manager = PasswordManager::new(vec![scheme.clone()], 0, 1);
        let (version, hash) = manager.hash("hunter2".into()).await.unwrap();
        assert_eq!(version, scheme.version);
        assert!(manager
            .verify(version, "hunter2".into(), hash.clone())
            .await
            .is_ok());
        assert!(matches!(
            manager.verify(version, "hunter3".into(), hash).await,
            Err(PasswordError::Mismatch)
        ));
    }
}

#[tokio::test]
async fn unknown_version_and_malformed_hash_are_clear_errors() {
    let manager = PasswordManager::new(vec![argon2_scheme(1)], 0, 1);
    assert!(matches!(
        manager.verify(7, "x".into(), "y".into()).await,
        Err(PasswordError::UnknownVersion(7))
    ));
    assert!(matches!(
        manager.verify(1, "x".into(), "not a hash".into()).await,
        Err(PasswordError::Malformed(_))
    ));
}

#[test]
fn complexity_uses_zxcvbn_scores_and_user_inputs() {
    let manager = PasswordManager::new(vec![argon2_scheme(1)], 3, 1);
    assert!(!manager.is_complex_enough("password", &[]));
    assert!(manager.is_complex_enough("correct horse battery staple", &[]));
    // Strong on its own, worthless when it is the user's own name.
    assert!(manager.is_complex_enough("x7Kq9mZp2vRw", &[]));
    assert!(!manager.is_complex_enough("x7Kq9mZp2vRw", &["x7Kq9mZp2vRw"]));
}

/// Many concurrent hashes never run more than `max_concurrent` at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrency_is_bounded() {
    let manager = PasswordManager::new(vec![argon2_scheme(1)], 0, 2);
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let manager = manager.clone();
            tokio::spawn(async move { manager.hash(format!("pw{i}")).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(manager.peak_concurrency(), 2);
}

/// Our reused-memory argon2id agrees with the argon2 crate's own hasher,
/// both ways, so MAS's stored hashes keep verifying.
#[test]
fn reused_memory_argon2_matches_the_standard_implementation() {
    #[allow(clippy::disallowed_types)]
    use argon2::{password_hash::rand_core::OsRng, Argon2, PasswordHasher, PasswordVerifier};
    let mut blocks = Vec::new();
    let standard = Argon2::default()
        .hash_password(
            b"pw",
            &argon2::password_hash::SaltString::generate(&mut OsRng),
        )
        .unwrap()
        .to_string();
    assert!(argon2_reuse::verify(b"pw", &standard, None, &mut blocks).is_ok());
    assert!(matches!(
        argon2_reuse::verify(b"px", &standard, None, &mut blocks),
        Err(PasswordError::Mismatch)
    ));
    let ours = argon2_reuse::hash(b"pw", None, &mut blocks).unwrap();
    let parsed = argon2::PasswordHash::new(&ours).unwrap();
    assert!(Argon2::default().verify_password(b"pw", &parsed).is_ok());
    // The buffer was sized once and kept: 19456 blocks of 1 KiB.
    assert_eq!(blocks.len(), 19456);
    // Peppered hashes need the same pepper.
    let peppered = argon2_reuse::hash(b"pw", Some(b"pepper"), &mut blocks).unwrap();
    assert!(argon2_reuse::verify(b"pw", &peppered, Some(b"pepper"), &mut blocks).is_ok());
    assert!(argon2_reuse::verify(b"pw", &peppered, None, &mut blocks).is_err());
}
