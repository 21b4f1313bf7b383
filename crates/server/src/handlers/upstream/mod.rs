//! Signing in through an upstream OAuth 2.0 / OpenID Connect provider (the
//! relying-party side; the client logic is in `crate::upstream`):
//!
//! 1. `GET /upstream/authorize/{provider}` ([`authorize`]) stores a pending
//!    session, puts its PKCE verifier in the browser's cookie and sends the
//!    browser to the provider with `state` and `nonce`;
//! 2. `GET|POST /upstream/callback/{provider}` ([`callback`]) checks the
//!    answer against the cookie, exchanges the code, checks the ID token,
//!    fetches userinfo, finds or creates the link of the subject;
//! 3. `GET|POST /upstream/link/{link}` ([`link`]) signs in the linked user,
//!    links the account to the signed-in one or to the one the claims name,
//!    or registers a new user with the imported attributes;
//! 4. `POST /upstream/backchannel-logout/{provider}` ([`backchannel_logout`])
//!    ends the sessions a provider logs out (OIDC Back-Channel Logout 1.0).
//!
//! Nothing is created until the provider's answer checked out; the
//! network is never awaited inside a write transaction.

pub mod authorize;
pub mod backchannel_logout;
pub mod callback;
pub mod link;
mod pending;

use axum::{
    routing::{get, post},
    Router,
};
use chrono::Duration;
use mxauth_storage::StorageError;
use ulid::Ulid;

use crate::{
    state::AppState,
    upstream::{Provider, UpstreamError},
    urls::paths,
};

pub use pending::PendingSignIn;

/// How long a sign-in at a provider may take, from the redirect to the
/// link page.
pub const SIGN_IN_LIFETIME: Duration = Duration::minutes(10);

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::UPSTREAM_AUTHORIZE, get(authorize::start))
        .route(
            paths::UPSTREAM_CALLBACK,
            get(callback::from_query).post(callback::from_form_post),
        )
        .route(paths::UPSTREAM_LINK, get(link::show).post(link::submit))
        .route(
            paths::UPSTREAM_BACKCHANNEL_LOGOUT,
            post(backchannel_logout::receive),
        )
}

/// The enabled provider `id` names.
pub async fn load_provider(state: &AppState, id: &str) -> Result<Provider, UpstreamError> {
    let Ok(id) = id.parse::<Ulid>() else {
        return Err(UpstreamError::UnknownProvider);
    };
    let mut repo = state.db.read().await?;
    let stored = repo.upstream_providers().find(id).await?;
    drop(repo);
    let stored = stored
        .filter(|p| p.enabled)
        .ok_or(UpstreamError::UnknownProvider)?;
    Provider::from_stored(&stored, &state.encrypter)
}

/// The enabled providers, in the configuration's order, for the login
/// page and the legacy login API. A provider whose settings cannot be read
/// is left out (and logged) rather than breaking the page.
pub async fn enabled_providers(state: &AppState) -> Result<Vec<Provider>, StorageError> {
    let mut repo = state.db.read().await?;
    let stored = repo.upstream_providers().list().await?;
    drop(repo);
    Ok(stored
        .iter()
        .filter(|p| p.enabled)
        .filter_map(|p| match Provider::from_stored(p, &state.encrypter) {
            Ok(provider) => Some(provider),
            Err(e) => {
                tracing::warn!(provider = %p.id, "upstream provider left out: {}", e.describe());
                None
            }
        })
        .collect())
}

/// A "Continue with …" button per enabled provider, coming back to
/// `next`: the login and registration pages show them.
pub async fn provider_buttons(
    state: &AppState,
    next: &str,
) -> Result<Vec<crate::templates::ProviderButton>, StorageError> {
    Ok(enabled_providers(state)
        .await?
        .into_iter()
        .map(|p| crate::templates::ProviderButton {
            id: p.id.to_string(),
            name: p.display_name(),
            brand: p.config.brand_name.clone(),
            href: state.urls.upstream_authorize(&p.id.to_string(), next),
        })
        .collect())
}

/// The enabled provider legacy clients name `idp_id`: by its
/// `synapse_idp_id` (what Synapse advertised, e.g. `oidc-keycloak`), else
/// by its own id (what `GET /login` advertises for the others).
pub async fn provider_by_idp_id(
    state: &AppState,
    idp_id: &str,
) -> Result<Option<Provider>, StorageError> {
    Ok(enabled_providers(state)
        .await?
        .into_iter()
        .find(|p| advertised_idp_id(p) == idp_id))
}

/// The `id` of a provider in `GET /_matrix/client/v3/login`'s
/// `identity_providers`.
pub fn advertised_idp_id(provider: &Provider) -> String {
    provider
        .synapse_idp_id
        .clone()
        .unwrap_or_else(|| provider.id.to_string())
}

#[cfg(test)]
mod tests;
