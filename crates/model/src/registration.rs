//! Self-service registration: the registration in progress (what the form
//! gave, then each step's result) and the registration tokens admins hand
//! out. The steps a registration still needs are decided here, without
//! I/O, so the order is unit-tested.

use chrono::{DateTime, Duration, Utc};
use ulid::Ulid;

/// How long a registration may take from the form to the account. MAS's
/// one hour: long enough to find a mailed code, short enough that a
/// username is not held by an abandoned form.
pub const REGISTRATION_LIFETIME: Duration = Duration::hours(1);

/// A registration in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRegistration {
    pub id: Ulid,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// Where the person goes once registered (a local path: the consent
    /// page of the OAuth authorization that asked for the account).
    pub post_auth_next: String,
    pub username: String,
    /// Set by the display-name step (skipping it sets the username).
    pub display_name: Option<String>,
    /// The terms of service accepted on the form.
    pub terms_url: Option<String>,
    /// The proof of the address given on the form, if one was given.
    pub email_authentication_id: Option<Ulid>,
    /// The registration token typed at the token step.
    pub registration_token_id: Option<Ulid>,
    /// `(version, hash)` of the chosen password.
    pub hashed_password: Option<(u16, String)>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// The next thing a registration needs before the user can be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationStep {
    /// Type the code mailed to the address of the form.
    VerifyEmail,
    /// Type a registration token.
    Token,
    /// Choose a display name (or skip).
    DisplayName,
    /// Nothing left: create the user.
    Finish,
}

impl UserRegistration {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.created_at + REGISTRATION_LIFETIME
    }

    /// The first step still to do, in MAS's order: email, token, display
    /// name. `email_verified` is whether the form's address is proven;
    /// `token_required` is `account.password_registration_token_required`.
    pub fn next_step(&self, email_verified: bool, token_required: bool) -> RegistrationStep {
        if self.email_authentication_id.is_some() && !email_verified {
            RegistrationStep::VerifyEmail
        } else if token_required && self.registration_token_id.is_none() {
            RegistrationStep::Token
        } else if self.display_name.is_none() {
            RegistrationStep::DisplayName
        } else {
            RegistrationStep::Finish
        }
    }
}

/// A registration token: lets its holders register while
/// `account.password_registration_token_required` is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationToken {
    pub id: Ulid,
    pub token: String,
    /// How many registrations it allows; `None`: unlimited.
    pub usage_limit: Option<u64>,
    pub times_used: u64,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Why a registration token cannot be used now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenUnusable {
    #[error("this registration token was revoked")]
    Revoked,
    #[error("this registration token has expired")]
    Expired,
    #[error("this registration token has been used as many times as it allows")]
    UsedUp,
}

impl RegistrationToken {
    /// Whether one more registration may use it at `now`.
    pub fn check_usable(&self, now: DateTime<Utc>) -> Result<(), TokenUnusable> {
        if self.revoked_at.is_some() {
            Err(TokenUnusable::Revoked)
        } else if self.expires_at.is_some_and(|at| now >= at) {
            Err(TokenUnusable::Expired)
        } else if self
            .usage_limit
            .is_some_and(|limit| self.times_used >= limit)
        {
            Err(TokenUnusable::UsedUp)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration() -> UserRegistration {
        UserRegistration {
            id: Ulid::nil(),
            ip_address: None,
            user_agent: None,
            post_auth_next: "/account/".into(),
            username: "alice".into(),
            display_name: None,
            terms_url: None,
            email_authentication_id: Some(Ulid::nil()),
            registration_token_id: None,
            hashed_password: None,
            created_at: DateTime::UNIX_EPOCH,
            completed_at: None,
        }
    }

    #[test]
    fn steps_come_in_order_email_token_display_name() {
        let mut r = registration();
        assert_eq!(r.next_step(false, true), RegistrationStep::VerifyEmail);
        assert_eq!(r.next_step(true, true), RegistrationStep::Token);
        r.registration_token_id = Some(Ulid::nil());
        assert_eq!(r.next_step(true, true), RegistrationStep::DisplayName);
        r.display_name = Some("Alice".into());
        assert_eq!(r.next_step(true, true), RegistrationStep::Finish);
    }

    #[test]
    fn no_email_and_no_token_required_goes_to_display_name() {
        let mut r = registration();
        r.email_authentication_id = None;
        assert_eq!(r.next_step(false, false), RegistrationStep::DisplayName);
    }

    #[test]
    fn a_registration_lasts_one_hour() {
        let r = registration();
        assert!(!r.is_expired(r.created_at + Duration::minutes(59)));
        assert!(r.is_expired(r.created_at + Duration::hours(1)));
    }

    #[test]
    fn token_usability() {
        let now = DateTime::UNIX_EPOCH + Duration::days(1);
        let mut t = RegistrationToken {
            id: Ulid::nil(),
            token: "t".into(),
            usage_limit: Some(1),
            times_used: 0,
            created_at: DateTime::UNIX_EPOCH,
            last_used_at: None,
            expires_at: None,
            revoked_at: None,
        };
        assert_eq!(t.check_usable(now), Ok(()));
        t.times_used = 1;
        assert_eq!(t.check_usable(now), Err(TokenUnusable::UsedUp));
        t.usage_limit = None;
        assert_eq!(t.check_usable(now), Ok(()));
        t.expires_at = Some(now);
        assert_eq!(t.check_usable(now), Err(TokenUnusable::Expired));
        t.revoked_at = Some(now);
        assert_eq!(t.check_usable(now), Err(TokenUnusable::Revoked));
    }
}
