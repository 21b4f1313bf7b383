//! The Matrix localpart rules a username must follow (Matrix spec, appendix
//! "User Identifiers"): lowercase `a-z`, digits and `._=-/+`, not empty, and a
//! full `@localpart:server` of at most 255 bytes. Like MAS, a localpart of
//! digits only is refused too: Synapse reserves those for guests.

use thiserror::Error;

/// Why a username is not a valid Matrix localpart. Each variant names the rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UsernameError {
    #[error("the username is empty")]
    Empty,
    #[error(
        "the username contains {0:?}; usernames are lowercase: use only a-z, 0-9 and . _ = - / +"
    )]
    Uppercase(char),
    #[error("the username contains {0:?}; use only a-z, 0-9 and . _ = - / +")]
    InvalidCharacter(char),
    #[error("the username is made of digits only, which Matrix reserves for guest accounts")]
    OnlyDigits,
    #[error("the full Matrix ID {mxid:?} is {len} bytes long; at most 255 are allowed")]
    TooLong { mxid: String, len: usize },
}

fn is_allowed(c: char) -> bool {
    matches!(c, 'a'..='z' | '0'..='9' | '.' | '_' | '=' | '-' | '/' | '+')
}

/// The localpart a person means by `input`: `alice` as typed, or the
/// localpart of `@alice:example.com` when `example.com` is `server_name`.
/// `None` for a Matrix ID of another server. Surrounding white space is
/// ignored (people paste names).
pub fn localpart_of<'a>(input: &'a str, server_name: &str) -> Option<&'a str> {
    let input = input.trim();
    if input.starts_with('@') {
        user_id_localpart(input, server_name)
    } else {
        Some(input)
    }
}

/// The localpart of a full Matrix user ID as a homeserver stores it
/// (`@alice:example.com`), only when `server_name` is its server: `None` for
/// anything else, a bare name or surrounding white space included. The
/// localpart ends at the first `:` (the spec allows none inside one), so a
/// server name with a port (`example.com:8448`) matches as a whole.
pub fn user_id_localpart<'a>(user_id: &'a str, server_name: &str) -> Option<&'a str> {
    match user_id.strip_prefix('@')?.split_once(':') {
        Some((localpart, server)) if server == server_name => Some(localpart),
        _ => None,
    }
}

/// Checks `localpart` against the rules, for a homeserver named `server_name`.
pub fn validate_localpart(localpart: &str, server_name: &str) -> Result<(), UsernameError> {
    if localpart.is_empty() {
        return Err(UsernameError::Empty);
    }
    if let Some(c) = localpart.chars().find(|c| !is_allowed(*c)) {
        return Err(if c.is_uppercase() {
            UsernameError::Uppercase(c)
        } else {
            UsernameError::InvalidCharacter(c)
        });
    }
    if localpart.chars().all(|c| c.is_ascii_digit()) {
        return Err(UsernameError::OnlyDigits);
    }
    let mxid = format!("@{localpart}:{server_name}");
    if mxid.len() > 255 {
        let len = mxid.len();
        return Err(UsernameError::TooLong { mxid, len });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localparts_of_names_and_matrix_ids() {
        assert_eq!(localpart_of("alice", "example.com"), Some("alice"));
        assert_eq!(localpart_of(" Alice ", "example.com"), Some("Alice"));
        assert_eq!(
            localpart_of("@alice:example.com", "example.com"),
            Some("alice")
        );
        assert_eq!(localpart_of("@alice:other.org", "example.com"), None);
        assert_eq!(localpart_of("@alice", "example.com"), None);
    }

    #[test]
    fn user_ids_only_of_this_server() {
        assert_eq!(
            user_id_localpart("@alice:example.com", "example.com"),
            Some("alice")
        );
        assert_eq!(
            user_id_localpart("@alice:example.com:8448", "example.com:8448"),
            Some("alice")
        );
        assert_eq!(user_id_localpart("@alice:other.org", "example.com"), None);
        assert_eq!(
            user_id_localpart("@alice:badexample.com", "example.com"),
            None
        );
        assert_eq!(
            user_id_localpart("@alice:example.com:8448", "example.com"),
            None
        );
        // Strict: a stored user ID, never a typed name.
        assert_eq!(user_id_localpart("alice", "example.com"), None);
        assert_eq!(
            user_id_localpart(" @alice:example.com", "example.com"),
            None
        );
        assert_eq!(user_id_localpart("@alice", "example.com"), None);
    }

    #[test]
    fn accepts_every_allowed_character() {
        assert_eq!(validate_localpart("a.b_c=d-e/f+g9", "example.com"), Ok(()));
    }

    #[test]
    fn each_rule_is_named() {
        let s = "example.com";
        assert_eq!(validate_localpart("", s), Err(UsernameError::Empty));
        assert_eq!(
            validate_localpart("Alice", s),
            Err(UsernameError::Uppercase('A'))
        );
        assert_eq!(
            validate_localpart("al ice", s),
            Err(UsernameError::InvalidCharacter(' '))
        );
        assert_eq!(
            validate_localpart("al:ice", s),
            Err(UsernameError::InvalidCharacter(':'))
        );
        assert_eq!(
            validate_localpart("élise", s),
            Err(UsernameError::InvalidCharacter('é'))
        );
        assert_eq!(
            validate_localpart("1234", s),
            Err(UsernameError::OnlyDigits)
        );
        let long = "a".repeat(250);
        assert!(matches!(
            validate_localpart(&long, s),
            Err(UsernameError::TooLong { len: 263, .. })
        ));
    }

    #[test]
    fn error_messages_say_what_to_do() {
        let err = validate_localpart("Bob", "x").unwrap_err().to_string();
        assert!(err.contains("lowercase"), "{err}");
    }
}
