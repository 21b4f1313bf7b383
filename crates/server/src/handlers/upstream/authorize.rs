//! `GET /upstream/authorize/{provider}?next=…`: sends the browser to the
//! provider's authorization endpoint (OIDC Core §3.1.2.1) with a fresh
//! `state`, a `nonce` when signing in with OpenID Connect, and a PKCE
//! challenge (RFC 7636) per `pkce_method`. The pending session is stored
//! and named in the browser's cookie, with the verifier.

use std::collections::BTreeMap;

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap},
    response::{IntoResponse, Redirect, Response},
};
use minijinja::{Environment, UndefinedBehavior};
use mxauth_model::{tokens::generate_alphanumeric, upstream::UpstreamSession, CodeChallengeMethod};
use mxauth_storage::new_ulid;
use serde_json::json;

use super::load_provider;
use crate::{
    cookies::PendingUpstream,
    errors::PageError,
    handlers::pages::safe_next,
    i18n::t,
    state::AppState,
    upstream::{
        metadata::Endpoints,
        provider::{PkceMethod, Provider},
        UpstreamError,
    },
};

pub async fn start(
    State(state): State<AppState>,
    Path(provider_id): Path<String>,
    headers: HeaderMap,
    Query(params): Query<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let provider = match load_provider(&state, &provider_id).await {
        Ok(provider) => provider,
        Err(e) => return Err(e.into_page(&t!("the provider"))),
    };
    let name = provider.display_name();
    redirect(&state, &provider, &headers, &params)
        .await
        .map_err(|e| e.into_page(&name))
}

async fn redirect(
    state: &AppState,
    provider: &Provider,
    headers: &HeaderMap,
    params: &BTreeMap<String, String>,
) -> Result<Response, UpstreamError> {
    let now = state.clock.now();
    let endpoints = state
        .upstream_metadata
        .endpoints(&state.outbound, provider, now)
        .await?;
    let next = safe_next(state, params.get("next").map(String::as_str));
    let random = || generate_alphanumeric(&mut state.random.rng(), 32);
    let session = UpstreamSession {
        id: new_ulid(now, &mut state.random.rng()),
        provider_id: provider.id,
        state: random(),
        nonce: provider.is_openid().then(random),
        next,
        link_id: None,
        subject: None,
        sid: None,
        id_token_claims: None,
        userinfo_claims: None,
        extra_callback_parameters: None,
        browser_session_id: None,
        created_at: now,
        completed_at: None,
        consumed_at: None,
    };
    let use_pkce = match provider.pkce_method() {
        PkceMethod::Always => true,
        PkceMethod::Never => false,
        PkceMethod::Auto => endpoints.supports_s256,
    };
    // RFC 7636 §4.1: 43 to 128 characters of the unreserved set.
    let verifier = use_pkce.then(|| generate_alphanumeric(&mut state.random.rng(), 64));

    let mut cookie = state.cookies.read(headers);
    let logged_out = cookie.browser_session.is_none();
    let url = authorization_url(
        state,
        provider,
        &endpoints,
        &session,
        verifier.as_deref(),
        params,
        logged_out,
    )?;

    let mut repo = state.db.begin().await?;
    repo.upstream_sessions().add(&session).await?;
    repo.commit().await?;

    cookie.add_upstream(PendingUpstream {
        session: session.id,
        verifier,
    });
    let mut response = Redirect::to(&url).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, state.cookies.header(&cookie));
    Ok(response)
}

/// The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1): the
/// endpoint's own query kept, ours added.
fn authorization_url(
    state: &AppState,
    provider: &Provider,
    endpoints: &Endpoints,
    session: &UpstreamSession,
    verifier: Option<&str>,
    params: &BTreeMap<String, String>,
    logged_out: bool,
) -> Result<String, UpstreamError> {
    let mut url = endpoints.authorization_endpoint.clone();
    let extra = additional_parameters(provider, params, logged_out)?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &provider.config.client_id)
            .append_pair(
                "redirect_uri",
                &state.urls.upstream_callback(&provider.id.to_string()),
            )
            .append_pair("scope", provider.scope())
            .append_pair("state", &session.state);
        if let Some(nonce) = &session.nonce {
            query.append_pair("nonce", nonce);
        }
        if let Some(verifier) = verifier {
            query
                .append_pair(
                    "code_challenge",
                    &CodeChallengeMethod::S256.compute_challenge(verifier),
                )
                .append_pair("code_challenge_method", "S256");
        }
        if provider.form_post() {
            query.append_pair("response_mode", "form_post");
        }
        for (name, value) in &extra {
            query.append_pair(name, value);
        }
    }
    Ok(url.into())
}

/// `additional_authorization_parameters`, each a template over `params`
/// (this request's query) and `logged_out`; empty results are dropped.
/// `forward_login_hint` (deprecated in MAS for a templated `login_hint`)
/// forwards the `login_hint` of the request.
fn additional_parameters(
    provider: &Provider,
    params: &BTreeMap<String, String>,
    logged_out: bool,
) -> Result<Vec<(String, String)>, UpstreamError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    let ctx = json!({ "params": params, "logged_out": logged_out });
    let mut out = Vec::new();
    for (name, template) in provider.additional_parameters() {
        let value = env.render_str(template, &ctx).map_err(|e| {
            UpstreamError::Misconfigured(format!(
                "its additional_authorization_parameters.{name} template fails: {e}"
            ))
        })?;
        if !value.trim().is_empty() {
            out.push((name.clone(), value));
        }
    }
    if provider.config.forward_login_hint && !out.iter().any(|(n, _)| n == "login_hint") {
        if let Some(hint) = params.get("login_hint").filter(|h| !h.is_empty()) {
            out.push(("login_hint".into(), hint.clone()));
        }
    }
    Ok(out)
}
