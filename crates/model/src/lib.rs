//! Domain types of mxauth: users, usernames, time. Pure logic, no I/O, so that
//! every rule here is unit-tested without a database or a network.

pub mod clock;
pub mod email;
pub mod email_authentication;
pub mod personal;
pub mod random;
pub mod recovery;
pub mod registration;
pub mod user;
pub mod username;

pub use clock::{Clock, MockClock, SystemClock};
pub use email::is_plausible_email;
pub use email_authentication::{
    EmailAuthentication, EmailAuthenticationCode, EmailCode, EMAIL_CODE_LIFETIME,
};
pub use personal::{PersonalAccessToken, PersonalOwner, PersonalSession};
pub use random::{BoxRng, OsRandom, RandomSource, SeededRandom};
pub use recovery::{
    RecoverySession, RecoveryTicket, RECOVERY_TICKET_LEN, RECOVERY_TICKET_LIFETIME,
};
pub use registration::{
    RegistrationStep, RegistrationToken, TokenUnusable, UserRegistration, REGISTRATION_LIFETIME,
};
pub use user::{User, UserEmail, UserPassword};
pub use username::{localpart_of, user_id_localpart, validate_localpart, UsernameError};

pub mod browser_session;
pub mod oauth2;

pub mod pkce;
pub mod scope;
pub mod tokens;
pub mod upstream;

pub use pkce::CodeChallengeMethod;
pub use scope::{Scope, ScopeToken};
pub use tokens::{token_digest, TokenFormatError, TokenType};
pub mod compat;
