//! Everything that can go wrong signing in through an upstream provider,
//! each a page that names what went wrong. Provider faults (down, wrong
//! metadata, bad signature) are 502/503 and the person can retry; a
//! tampered, replayed or stale callback is 400 and changes nothing.

use axum::http::StatusCode;
use mxauth_storage::StorageError;

use crate::errors::PageError;

#[derive(Debug)]
pub enum UpstreamError {
    /// No enabled provider with this id.
    UnknownProvider,
    /// The provider's configuration cannot work (a missing endpoint, a
    /// secret that cannot be opened…).
    Misconfigured(String),
    /// The provider could not be reached, or answered with an error status.
    Unreachable(String),
    /// Its discovery document or JWKS is not acceptable.
    Metadata(String),
    /// The provider sent the person back with `error=` (RFC 6749 §4.1.2.1).
    Refused {
        error: String,
        description: Option<String>,
    },
    /// No sign-in is in progress in this browser for this callback: the
    /// cookie is missing or expired, or the callback was opened elsewhere.
    NoPendingSignIn,
    /// The callback's `state` is not the one sent (RFC 6749 §10.12).
    StateMismatch,
    /// This sign-in was already completed or used (a replayed callback).
    AlreadyUsed,
    /// The callback has neither `code` nor `error`.
    MissingCode,
    /// The token endpoint refused the code or answered nonsense.
    TokenExchange(String),
    /// The ID token failed a check of OIDC Core §3.1.3.7.
    IdToken(String),
    /// The userinfo answer failed (OIDC Core §5.3).
    Userinfo(String),
    /// A claims template failed, or a required attribute is missing.
    Claims(String),
    Storage(StorageError),
}

impl From<StorageError> for UpstreamError {
    fn from(e: StorageError) -> Self {
        Self::Storage(e)
    }
}

impl UpstreamError {
    /// The reason alone, for an error that becomes part of another.
    pub fn describe(&self) -> String {
        match self {
            Self::Misconfigured(why)
            | Self::Unreachable(why)
            | Self::Metadata(why)
            | Self::TokenExchange(why)
            | Self::IdToken(why)
            | Self::Userinfo(why)
            | Self::Claims(why) => why.clone(),
            other => format!("{other:?}"),
        }
    }

    /// What the person reads, for the provider named `provider`.
    pub fn into_page(self, provider: &str) -> PageError {
        let failed = "Sign-in failed";
        let (status, message) = match self {
            Self::Storage(e) => return PageError::from(e),
            Self::UnknownProvider => {
                return PageError::new(
                    StatusCode::NOT_FOUND,
                    "Unknown sign-in provider",
                    "This server has no such enabled sign-in provider.",
                )
            }
            Self::Misconfigured(why) => (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("Signing in with {provider} is not set up correctly on this server: {why}. Tell the server's administrator."),
            ),
            Self::Unreachable(why) => (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{provider} cannot be reached right now ({why}). Try again in a moment."),
            ),
            Self::Metadata(why) => (
                StatusCode::BAD_GATEWAY,
                format!("{provider}'s configuration was refused: {why}."),
            ),
            Self::Refused { error, description } => (
                StatusCode::BAD_REQUEST,
                match description {
                    Some(description) => format!("{provider} did not sign you in: {error} ({description})."),
                    None => format!("{provider} did not sign you in: {error}."),
                },
            ),
            Self::NoPendingSignIn => (
                StatusCode::BAD_REQUEST,
                format!("No sign-in with {provider} is in progress in this browser: it expired or was started in another browser. Start again from the sign-in page."),
            ),
            Self::StateMismatch => (
                StatusCode::BAD_REQUEST,
                format!("The answer from {provider} does not belong to the sign-in started in this browser (the state does not match). Start again from the sign-in page."),
            ),
            Self::AlreadyUsed => (
                StatusCode::BAD_REQUEST,
                "This sign-in was already used. Start again from the sign-in page.".to_owned(),
            ),
            Self::MissingCode => (
                StatusCode::BAD_REQUEST,
                format!("{provider} sent you back without an authorization code."),
            ),
            Self::TokenExchange(why) => (
                StatusCode::BAD_GATEWAY,
                format!("{provider} did not accept the sign-in: {why}."),
            ),
            Self::IdToken(why) => (
                StatusCode::BAD_GATEWAY,
                format!("The identity token from {provider} was refused: {why}."),
            ),
            Self::Userinfo(why) => (
                StatusCode::BAD_GATEWAY,
                format!("The user information from {provider} was refused: {why}."),
            ),
            Self::Claims(why) => (
                StatusCode::BAD_REQUEST,
                format!("Your account at {provider} cannot be used here: {why}."),
            ),
        };
        if status.is_server_error() {
            tracing::warn!(%provider, %status, "upstream sign-in failed: {message}");
        }
        PageError::new(status, failed, message)
    }
}
