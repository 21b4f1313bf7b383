//! A password login, the way every surface does it (login page, legacy
//! `/login`): the rate limit on the client IP and the account, the rule
//! that finds the account from what was typed, the same work and time for
//! unknown users, wrong passwords and accounts without one; then the
//! password is verified off the async threads (no transaction held while
//! hashing) and, if an older scheme verified, stored re-hashed with the
//! newest. Callers refuse locked and deactivated accounts after, each in
//! its surface's words.

use mxauth_model::{Clock, User};
use mxauth_storage::{new_ulid, Database, NewPassword, StorageError};
use rand::RngCore;
use thiserror::Error;

use crate::{
    extract::ClientIp,
    passwords::{PasswordError, PasswordManager},
    rate_limit::RetryAfter,
    state::AppState,
};

/// Takes one password check from the budgets of the client IP and of the
/// account (`rate_limiting.login`). Every path that checks a password calls
/// this first.
pub fn check_rate(state: &AppState, ip: &ClientIp, account: &str) -> Result<(), RetryAfter> {
    let now = state.clock.now();
    let account = account.to_lowercase();
    state
        .limiter
        .check(
            &format!("login-ip:{}", ip.key()),
            state.site.login_per_ip,
            now,
        )
        .and_then(|()| {
            let key = format!("login-account:{account}");
            state.limiter.check(&key, state.site.login_per_account, now)
        })
}

/// The outcome of a password check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    Valid,
    /// Wrong password. Callers show the same message as for an unknown user.
    Invalid,
    /// The user has no password (they log in through an upstream provider).
    NoPassword,
}

#[derive(Debug, Error)]
pub enum PasswordCheckError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Password(PasswordError),
}

/// The account a person means by `input` on a login form, the same rule
/// for every surface (login page, compat `/login`): the localpart of a
/// name or of one of our Matrix IDs; an exact match first, else the one
/// account whose name differs only in case (Synapse's rule: imported users
/// may have upper-case localparts, people type names either way). Two
/// accounts differing only in case need the exact name.
pub async fn find_login_user(
    db: &Database,
    input: &str,
    server_name: &str,
) -> Result<Option<User>, StorageError> {
    let Some(localpart) = mxauth_model::localpart_of(input, server_name) else {
        return Ok(None);
    };
    let mut repo = db.read().await?;
    let mut user = repo.users().find_by_username(localpart).await?;
    if user.is_none() {
        let mut found = repo
            .users()
            .find_by_username_ignoring_case(localpart)
            .await?;
        if found.len() == 1 {
            user = found.pop();
        }
    }
    drop(repo);
    Ok(user)
}

/// A password login: the user named by `input` if `password` is theirs.
/// An unknown user, a wrong password and a user without a password all
/// answer `None` after the same work (one hash), so neither the answer nor
/// its timing tells which accounts exist or have a password. Callers check
/// the rate limit before, and lock and deactivation after.
pub async fn password_login(
    state: &AppState,
    input: &str,
    password: String,
) -> Result<Option<User>, PasswordCheckError> {
    let Some(passwords) = &state.passwords else {
        return Ok(None);
    };
    let Some(user) = find_login_user(&state.db, input, &state.site.server_name).await? else {
        spend_one_hash(passwords, password).await;
        return Ok(None);
    };
    let check = check_user_password(
        &state.db,
        passwords,
        state.clock.as_ref(),
        &mut state.random.rng(),
        &user,
        password,
    )
    .await?;
    Ok((check == PasswordCheck::Valid).then_some(user))
}

/// Hashes and throws away: the cost of a real check, for the paths that
/// have nothing to check against.
async fn spend_one_hash(passwords: &PasswordManager, password: String) {
    let _ = passwords.hash(password).await;
}

pub async fn check_user_password(
    db: &Database,
    passwords: &PasswordManager,
    clock: &dyn Clock,
    rng: &mut (dyn RngCore + Send),
    user: &User,
    password: String,
) -> Result<PasswordCheck, PasswordCheckError> {
    let mut repo = db.read().await?;
    let stored = repo.user_passwords().active(user).await?;
    drop(repo);
    let Some(stored) = stored else {
        // As long as a real check: the time must not tell who has one.
        spend_one_hash(passwords, password).await;
        return Ok(PasswordCheck::NoPassword);
    };
    let upgrade = match passwords
        .verify(stored.version, password, stored.hashed_password.clone())
        .await
    {
        Ok(upgrade) => upgrade,
        Err(PasswordError::Mismatch) => return Ok(PasswordCheck::Invalid),
        Err(e) => return Err(PasswordCheckError::Password(e)),
    };
    if let Some((version, hash)) = upgrade {
        let now = clock.now();
        let mut repo = db.begin().await?;
        repo.user_passwords()
            .add(
                user,
                NewPassword {
                    id: new_ulid(now, rng),
                    hashed_password: &hash,
                    version,
                    upgraded_from: Some(&stored),
                },
                now,
            )
            .await?;
        repo.commit().await?;
        tracing::info!(user = %user.username, from = stored.version, to = version, "password hash upgraded");
    }
    Ok(PasswordCheck::Valid)
}

#[cfg(test)]
mod tests {
    use mxauth_model::MockClock;
    use rand::{rngs::StdRng, SeedableRng};

    use super::*;
    use crate::passwords::{Algorithm, Scheme};

    fn scheme(version: u16, algorithm: Algorithm) -> Scheme {
        Scheme {
            version,
            algorithm,
            cost: Some(4),
            pepper: None,
            unicode_normalization: algorithm == Algorithm::Bcrypt,
        }
    }

    #[tokio::test]
    async fn an_older_hash_is_upgraded_on_success_only() {
        let db = crate::test_support::test_db().await;
        let clock = MockClock::default();
        let mut rng = StdRng::seed_from_u64(7);

        // A user whose hash was made by the old (bcrypt, version 1) scheme.
        let old_only = PasswordManager::new(vec![scheme(1, Algorithm::Bcrypt)], 0, 1);
        let (version, hash) = old_only
            .hash("hunter2 is my password".into())
            .await
            .unwrap();
        let mut repo = db.begin().await.unwrap();
        let user = repo
            .users()
            .add(new_ulid(clock.now(), &mut rng), "alice", clock.now())
            .await
            .unwrap();
        let old = repo
            .user_passwords()
            .add(
                &user,
                NewPassword {
                    id: new_ulid(clock.now(), &mut rng),
                    hashed_password: &hash,
                    version,
                    upgraded_from: None,
                },
                clock.now(),
            )
            .await
            .unwrap();
        repo.commit().await.unwrap();

        let both = PasswordManager::new(
            vec![scheme(1, Algorithm::Bcrypt), scheme(2, Algorithm::Argon2id)],
            0,
            1,
        );
        clock.advance(chrono::Duration::seconds(1));
        let wrong = check_user_password(&db, &both, &clock, &mut rng, &user, "nope".into())
            .await
            .unwrap();
        assert_eq!(wrong, PasswordCheck::Invalid);
        let mut repo = db.begin().await.unwrap();
        assert_eq!(
            repo.user_passwords().active(&user).await.unwrap().unwrap(),
            old
        );
        repo.rollback().await.unwrap();

        let right = check_user_password(
            &db,
            &both,
            &clock,
            &mut rng,
            &user,
            "hunter2 is my password".into(),
        )
        .await
        .unwrap();
        assert_eq!(right, PasswordCheck::Valid);
        let mut repo = db.begin().await.unwrap();
        let new = repo.user_passwords().active(&user).await.unwrap().unwrap();
        repo.rollback().await.unwrap();
        assert_eq!(new.version, 2);
        assert_eq!(new.upgraded_from_id, Some(old.id));
        assert!(new.hashed_password.starts_with("$argon2id$"));

        // The next login verifies with the new hash and needs no upgrade.
        clock.advance(chrono::Duration::seconds(1));
        let again = check_user_password(
            &db,
            &both,
            &clock,
            &mut rng,
            &user,
            "hunter2 is my password".into(),
        )
        .await
        .unwrap();
        assert_eq!(again, PasswordCheck::Valid);
        let mut repo = db.begin().await.unwrap();
        assert_eq!(
            repo.user_passwords().active(&user).await.unwrap().unwrap(),
            new
        );
        repo.rollback().await.unwrap();

        let mut repo = db.begin().await.unwrap();
        let nobody = repo
            .users()
            .add(new_ulid(clock.now(), &mut rng), "bob", clock.now())
            .await
            .unwrap();
        repo.commit().await.unwrap();
        let none = check_user_password(&db, &both, &clock, &mut rng, &nobody, "x".into())
            .await
            .unwrap();
        assert_eq!(none, PasswordCheck::NoPassword);
        db.close().await;
    }
}
