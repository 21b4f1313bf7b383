//! Users and what belongs to them: password hashes and email addresses.

use chrono::{DateTime, Utc};
use serde::Serialize;
use ulid::Ulid;

/// A local account. `username` is the Matrix localpart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: Ulid,
    pub username: String,
    pub created_at: DateTime<Utc>,
    pub locked_at: Option<DateTime<Utc>>,
    pub deactivated_at: Option<DateTime<Utc>>,
    /// Whether this user may request `urn:synapse:admin:*` and `urn:mas:admin`.
    /// Admin rights themselves live on sessions, not on the user.
    pub can_request_admin: bool,
    pub is_guest: bool,
}

/// The longest display name Synapse accepts (`MAX_DISPLAYNAME_LEN`), in
/// characters: every page that sets one checks it.
pub const DISPLAY_NAME_MAX: usize = 256;

/// Why a display name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DisplayNameError {
    #[error("the display name is longer than {DISPLAY_NAME_MAX} characters")]
    TooLong,
    /// Newlines, tabs, escape sequences: they would garble every client's
    /// member list (the registration page refuses them too).
    #[error("the display name contains control characters")]
    ControlCharacter,
}

/// Whether `name` fits the rules of every surface that sets one: at most
/// [`DISPLAY_NAME_MAX`] characters, none a control character.
pub fn check_display_name(name: &str) -> Result<(), DisplayNameError> {
    if name.chars().count() > DISPLAY_NAME_MAX {
        return Err(DisplayNameError::TooLong);
    }
    if name.chars().any(char::is_control) {
        return Err(DisplayNameError::ControlCharacter);
    }
    Ok(())
}

impl User {
    /// The OIDC `sub` claim: the user's ULID, stable across renames.
    pub fn sub(&self) -> String {
        self.id.to_string()
    }

    /// A user can log in and use tokens only while neither locked nor deactivated.
    pub fn is_valid(&self) -> bool {
        self.locked_at.is_none() && self.deactivated_at.is_none()
    }

    pub fn mxid(&self, server_name: &str) -> String {
        format!("@{}:{}", self.username, server_name)
    }
}

/// One password hash of a user. Every hash ever set is kept; the newest one
/// counts. `version` names the entry of `passwords.schemes` that made it.
#[derive(Clone, PartialEq, Eq)]
pub struct UserPassword {
    pub id: Ulid,
    pub user_id: Ulid,
    pub hashed_password: String,
    pub version: u16,
    pub upgraded_from_id: Option<Ulid>,
    pub created_at: DateTime<Utc>,
}

// Hashes are secrets too: keep them out of logs.
impl std::fmt::Debug for UserPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserPassword")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("hashed_password", &"[redacted]")
            .field("version", &self.version)
            .field("upgraded_from_id", &self.upgraded_from_id)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A confirmed email address of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserEmail {
    pub id: Ulid,
    pub user_id: Ulid,
    pub email: String,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            id: Ulid::nil(),
            username: "alice".into(),
            created_at: DateTime::UNIX_EPOCH,
            locked_at: None,
            deactivated_at: None,
            can_request_admin: false,
            is_guest: false,
        }
    }

    #[test]
    fn locked_or_deactivated_users_are_not_valid() {
        let mut u = user();
        assert!(u.is_valid());
        u.locked_at = Some(DateTime::UNIX_EPOCH);
        assert!(!u.is_valid());
        u.locked_at = None;
        u.deactivated_at = Some(DateTime::UNIX_EPOCH);
        assert!(!u.is_valid());
    }

    #[test]
    fn display_names_are_bounded_in_characters_and_free_of_control_characters() {
        // Counted in characters, not bytes: 256 two-byte letters fit.
        assert_eq!(check_display_name(&"é".repeat(DISPLAY_NAME_MAX)), Ok(()));
        assert_eq!(check_display_name("Ünïcødé 🦀 name"), Ok(()));
        assert_eq!(
            check_display_name(&"a".repeat(DISPLAY_NAME_MAX + 1)),
            Err(DisplayNameError::TooLong)
        );
        for bad in ["line\nbreak", "tab\there", "esc\u{1b}[31m", "nul\0"] {
            assert_eq!(
                check_display_name(bad),
                Err(DisplayNameError::ControlCharacter),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn mxid_joins_localpart_and_server_name() {
        assert_eq!(user().mxid("example.com"), "@alice:example.com");
    }

    #[test]
    fn password_debug_hides_the_hash() {
        let p = UserPassword {
            id: Ulid::nil(),
            user_id: Ulid::nil(),
            hashed_password: "$argon2id$secret".into(),
            version: 1,
            upgraded_from_id: None,
            created_at: DateTime::UNIX_EPOCH,
        };
        assert!(!format!("{p:?}").contains("argon2id"));
    }
}
