//! Everything that can go wrong signing in through an upstream provider,
//! each a page that names what went wrong. Provider faults (down, wrong
//! metadata, bad signature) are 502/503 and the person can retry; a
//! tampered, replayed or stale callback is 400 and changes nothing.

use axum::http::StatusCode;
use mxauth_storage::StorageError;

use crate::{errors::PageError, i18n::t};

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

    /// What the person reads (in the request's language), for the provider
    /// named `provider`. The reasons quoted from the provider or from our
    /// checks stay as they are: they are details for whoever helps.
    pub fn into_page(self, provider: &str) -> PageError {
        let logged = self.describe();
        let (status, message) = match self {
            Self::Storage(e) => return PageError::from(e),
            Self::UnknownProvider => {
                return PageError::new(
                    StatusCode::NOT_FOUND,
                    t!("Unknown sign-in provider"),
                    t!("This server has no such enabled sign-in provider."),
                )
            }
            Self::Misconfigured(why) => (
                StatusCode::SERVICE_UNAVAILABLE,
                t!(
                    "Signing in with {provider} is not set up correctly on this server: {why}. Tell the server's administrator.",
                    provider = provider,
                    why = why
                ),
            ),
            Self::Unreachable(why) => (
                StatusCode::SERVICE_UNAVAILABLE,
                t!(
                    "{provider} cannot be reached right now ({why}). Try again in a moment.",
                    provider = provider,
                    why = why
                ),
            ),
            Self::Metadata(why) => (
                StatusCode::BAD_GATEWAY,
                t!(
                    "The configuration of {provider} was refused: {why}.",
                    provider = provider,
                    why = why
                ),
            ),
            Self::Refused { error, description } => (
                StatusCode::BAD_REQUEST,
                match description {
                    Some(description) => t!(
                        "{provider} did not sign you in: {error} ({description}).",
                        provider = provider,
                        error = error,
                        description = description
                    ),
                    None => t!(
                        "{provider} did not sign you in: {error}.",
                        provider = provider,
                        error = error
                    ),
                },
            ),
            Self::NoPendingSignIn => (
                StatusCode::BAD_REQUEST,
                t!(
                    "No sign-in with {provider} is in progress in this browser: it expired or was started in another browser. Start again from the sign-in page.",
                    provider = provider
                ),
            ),
            Self::StateMismatch => (
                StatusCode::BAD_REQUEST,
                t!(
                    "The answer from {provider} does not belong to the sign-in started in this browser (the state does not match). Start again from the sign-in page.",
                    provider = provider
                ),
            ),
            Self::AlreadyUsed => (
                StatusCode::BAD_REQUEST,
                t!("This sign-in was already used. Start again from the sign-in page."),
            ),
            Self::MissingCode => (
                StatusCode::BAD_REQUEST,
                t!(
                    "{provider} sent you back without an authorization code.",
                    provider = provider
                ),
            ),
            Self::TokenExchange(why) => (
                StatusCode::BAD_GATEWAY,
                t!(
                    "{provider} did not accept the sign-in: {why}.",
                    provider = provider,
                    why = why
                ),
            ),
            Self::IdToken(why) => (
                StatusCode::BAD_GATEWAY,
                t!(
                    "The identity token from {provider} was refused: {why}.",
                    provider = provider,
                    why = why
                ),
            ),
            Self::Userinfo(why) => (
                StatusCode::BAD_GATEWAY,
                t!(
                    "The user information from {provider} was refused: {why}.",
                    provider = provider,
                    why = why
                ),
            ),
            Self::Claims(why) => (
                StatusCode::BAD_REQUEST,
                t!(
                    "Your account at {provider} cannot be used here: {why}.",
                    provider = provider,
                    why = why
                ),
            ),
        };
        if status.is_server_error() {
            // Logged in English, whatever the page's language.
            tracing::warn!(%provider, %status, "upstream sign-in failed: {logged}");
        }
        PageError::new(status, t!("Sign-in failed"), message)
    }
}
