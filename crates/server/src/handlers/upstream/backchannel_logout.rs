//! `POST /upstream/backchannel-logout/{provider}`: a provider tells us a
//! person logged out there (OIDC Back-Channel Logout 1.0). The logout
//! token is checked as §2.6 asks (signature, `iss`, `aud`, `iat`, `exp`,
//! the logout event, `sub` and/or `sid`, no `nonce`); then, per the
//! provider's `on_backchannel_logout`, nothing happens, the browser
//! sessions signed in through it end, or those and every session started
//! from them. Answers are §2.8's: 200 when done, 400 with a JSON error.

use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Form, Json,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::load_provider;
use crate::{
    ops,
    state::AppState,
    upstream::{
        id_token::{check_issuer_and_audience, verify_signed},
        provider::BackchannelLogout,
        UpstreamError,
    },
};

/// The event a logout token must carry (§2.4).
const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

#[derive(Deserialize)]
pub struct LogoutRequest {
    #[serde(default)]
    logout_token: String,
}

fn bad_request(description: impl Into<String>) -> Response {
    let body = json!({"error": "invalid_request", "error_description": description.into()});
    let mut response = (StatusCode::BAD_REQUEST, Json(body)).into_response();
    // §2.8: the answer must not be cached.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

pub async fn receive(
    State(state): State<AppState>,
    Path(provider_id): Path<String>,
    Form(request): Form<LogoutRequest>,
) -> Response {
    match logout(&state, &provider_id, &request.logout_token).await {
        Ok(ended) => {
            tracing::info!(provider = %provider_id, ended, "back-channel logout");
            let mut response = StatusCode::OK.into_response();
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            response
        }
        Err(Refusal::Invalid(why)) => {
            tracing::warn!(provider = %provider_id, "back-channel logout refused: {why}");
            bad_request(why)
        }
        Err(Refusal::Unavailable(why)) => {
            tracing::warn!(provider = %provider_id, "back-channel logout failed: {why}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "temporarily_unavailable", "error_description": why})),
            )
                .into_response()
        }
    }
}

enum Refusal {
    Invalid(String),
    Unavailable(String),
}

impl From<UpstreamError> for Refusal {
    fn from(e: UpstreamError) -> Self {
        match e {
            UpstreamError::Storage(e) => Self::Unavailable(e.to_string()),
            UpstreamError::Unreachable(why) => Self::Unavailable(why),
            UpstreamError::UnknownProvider => Self::Invalid("unknown provider".into()),
            other => Self::Invalid(other.describe()),
        }
    }
}

impl From<mxauth_storage::StorageError> for Refusal {
    fn from(e: mxauth_storage::StorageError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

/// Checks the token and ends the sessions; returns how many browser
/// sessions it ended.
async fn logout(state: &AppState, provider_id: &str, token: &str) -> Result<usize, Refusal> {
    if token.is_empty() {
        return Err(Refusal::Invalid("logout_token is missing".into()));
    }
    let provider = load_provider(state, provider_id).await?;
    let now = state.clock.now();
    let endpoints = state
        .upstream_metadata
        .endpoints(&state.outbound, &provider, now)
        .await?;
    let alg = provider.id_token_alg()?;
    let claims = verify_signed(state, &provider, &endpoints, token, alg, "logout token")
        .await
        .map_err(Refusal::Invalid)?;
    check_logout_claims(
        &claims,
        endpoints.issuer.as_deref(),
        &provider.config.client_id,
        now.timestamp(),
    )
    .map_err(Refusal::Invalid)?;
    let sub = claims.get("sub").and_then(Value::as_str);
    let sid = claims.get("sid").and_then(Value::as_str);
    let mode = provider.backchannel_logout();
    if mode == BackchannelLogout::DoNothing {
        return Ok(0);
    }
    let mut repo = state.db.begin().await?;
    let sessions = repo
        .upstream_sessions()
        .browser_sessions_of(provider.id, sub, sid)
        .await?;
    let ctx = ops::Context::from(state);
    for id in &sessions {
        match mode {
            BackchannelLogout::LogoutAll => {
                ops::sessions::end_browser_and_children(&mut repo, ctx, *id).await?
            }
            _ => ops::sessions::end_browser(&mut repo, ctx, *id).await?,
        }
    }
    repo.commit().await?;
    Ok(sessions.len())
}

/// §2.6 steps 3 to 6 (the signature is step 2).
fn check_logout_claims(
    claims: &Map<String, Value>,
    issuer: Option<&str>,
    client_id: &str,
    now: i64,
) -> Result<(), String> {
    check_issuer_and_audience(claims, issuer, client_id)?;
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or("it has no iat")?;
    if iat > now + 60 {
        return Err("it was issued in the future (iat)".into());
    }
    if claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_some_and(|exp| exp + 60 < now)
    {
        return Err("it expired (exp)".into());
    }
    let has_event = claims
        .get("events")
        .and_then(Value::as_object)
        .is_some_and(|events| events.get(LOGOUT_EVENT).is_some_and(Value::is_object));
    if !has_event {
        return Err(format!("its events do not include {LOGOUT_EVENT}"));
    }
    let named = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty())
    };
    if !named("sub") && !named("sid") {
        return Err("it names neither sub nor sid".into());
    }
    // §2.4: a nonce would make it usable as an ID token.
    if claims.contains_key("nonce") {
        return Err("it carries a nonce, which logout tokens must not".into());
    }
    Ok(())
}
