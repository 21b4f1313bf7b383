//! `GET|POST /upstream/callback/{provider}`: the provider's answer
//! (RFC 6749 §4.1.2; `response_mode: form_post` posts it, OAuth 2.0 Form
//! Post Response Mode §2). Checked in this order, and nothing is written
//! until all of it holds: the browser started this sign-in (cookie) with
//! this `state`; the provider did not answer `error=`; the code exchange;
//! the ID token (OIDC Core §3.1.3.7); userinfo; the claims templates. Then
//! one short transaction finds or creates the link of the subject and
//! completes the session, and the browser goes to the link page.

use std::collections::BTreeMap;

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap},
    response::{IntoResponse, Redirect, Response},
    Form,
};
use mxauth_model::upstream::{CallbackOutcome, UpstreamLink};
use mxauth_storage::new_ulid;
use serde_json::{Map, Value};

use super::{load_provider, PendingSignIn};
use crate::{
    errors::PageError,
    handlers::pages::render,
    i18n::t,
    metrics::{LoginMethod, LoginResult},
    state::AppState,
    templates::FormPostContext,
    upstream::{
        claims::{self, ClaimsContext},
        exchange::exchange_code,
        id_token::{check_id_token_claims, verify_signed},
        userinfo::fetch_userinfo,
        Provider, UpstreamError,
    },
};

/// Set on our own re-post of a form_post answer (see [`from_form_post`]).
const REPOSTED: &str = "mxauth_reposted";
/// Parameters of the answer that are not "extra callback parameters".
const PROTOCOL_PARAMETERS: [&str; 6] = [
    "code",
    "state",
    "error",
    "error_description",
    "error_uri",
    REPOSTED,
];

pub async fn from_query(
    State(state): State<AppState>,
    Path(provider_id): Path<String>,
    headers: HeaderMap,
    Query(params): Query<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    handle(&state, &provider_id, &headers, params).await
}

/// The provider's cross-site POST does not carry our `SameSite=Lax`
/// cookie. Without it, the answer is posted again from our own page (same
/// site, so the browser sends the cookie), once.
pub async fn from_form_post(
    State(state): State<AppState>,
    Path(provider_id): Path<String>,
    headers: HeaderMap,
    Form(params): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let cookie = state.cookies.read(&headers);
    if cookie.upstream.is_empty() && !params.contains_key(REPOSTED) {
        let mut fields: Vec<(String, String)> = params.into_iter().collect();
        fields.push((REPOSTED.into(), "1".into()));
        let ctx = FormPostContext {
            redirect_uri: state.urls.upstream_callback(&provider_id),
            params: fields,
        };
        return Ok(render(&state, &ctx, None));
    }
    handle(&state, &provider_id, &headers, params).await
}

async fn handle(
    state: &AppState,
    provider_id: &str,
    headers: &HeaderMap,
    params: BTreeMap<String, String>,
) -> Result<Response, PageError> {
    let provider = load_provider(state, provider_id)
        .await
        .map_err(|e| e.into_page(&t!("the provider")))?;
    let name = provider.display_name();
    let mut cookie = state.cookies.read(headers);
    let result = complete(state, &provider, &cookie, &params).await;
    let (session_id, link_id) = match result {
        Ok(done) => done,
        Err((session, e)) => {
            // A refused or failed sign-in is over: forget it in the cookie.
            let mut response = e.into_page(&name).into_response();
            let result = LoginResult::from_status(response.status().as_u16());
            state.metrics.record_login(LoginMethod::Upstream, result);
            if let Some(session) = session {
                cookie.remove_upstream(session);
                response
                    .headers_mut()
                    .append(header::SET_COOKIE, state.cookies.header(&cookie));
            }
            return Ok(response);
        }
    };
    // The verifier served its purpose; the cookie keeps the session id,
    // which is what lets this browser (only) use the link page.
    if let Some(pending) = cookie.upstream.iter_mut().find(|p| p.session == session_id) {
        pending.verifier = None;
    }
    let mut response =
        Redirect::to(&state.urls.upstream_link(&link_id.to_string())).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, state.cookies.header(&cookie));
    Ok(response)
}

type Failure = (Option<ulid::Ulid>, UpstreamError);

/// Everything the callback checks and does; returns the session and the
/// link, or the error with the session it ended (if one was found).
async fn complete(
    state: &AppState,
    provider: &Provider,
    cookie: &crate::cookies::CookieData,
    params: &BTreeMap<String, String>,
) -> Result<(ulid::Ulid, ulid::Ulid), Failure> {
    let returned_state = params.get("state").map(String::as_str);
    let pending = PendingSignIn::for_callback(state, cookie, provider.id, returned_state)
        .await
        .map_err(|e| (None, e))?;
    let session = &pending.session;
    let fail = |e: UpstreamError| (Some(session.id), e);
    if let Some(error) = params.get("error") {
        return Err(fail(UpstreamError::Refused {
            error: error.clone(),
            description: params.get("error_description").cloned(),
        }));
    }
    let code = params
        .get("code")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| fail(UpstreamError::MissingCode))?;
    let now = state.clock.now();
    let endpoints = state
        .upstream_metadata
        .endpoints(&state.outbound, provider, now)
        .await
        .map_err(fail)?;
    let redirect_uri = state.urls.upstream_callback(&provider.id.to_string());
    let tokens = exchange_code(
        state,
        provider,
        &endpoints,
        code,
        pending.verifier.as_deref(),
        &redirect_uri,
    )
    .await
    .map_err(fail)?;

    let id_token_claims = match (&tokens.id_token, provider.is_openid()) {
        (Some(id_token), _) => {
            let alg = provider.id_token_alg().map_err(fail)?;
            let claims = verify_signed(state, provider, &endpoints, id_token, alg, "ID token")
                .await
                .map_err(|why| fail(UpstreamError::IdToken(why)))?;
            check_id_token_claims(
                &claims,
                endpoints.issuer.as_deref(),
                &provider.config.client_id,
                session.nonce.as_deref(),
                now,
                Some((&tokens.access_token, alg)),
            )
            .map_err(|why| fail(UpstreamError::IdToken(why)))?;
            claims
        }
        (None, true) => {
            return Err(fail(UpstreamError::IdToken(
                "the token response has no ID token although the scope asks for openid".into(),
            )))
        }
        (None, false) => Map::new(),
    };
    let id_token_subject = id_token_claims.get("sub").and_then(Value::as_str);
    let userinfo_claims = if provider.config.fetch_userinfo {
        fetch_userinfo(
            state,
            provider,
            &endpoints,
            &tokens.access_token,
            id_token_subject,
        )
        .await
        .map_err(fail)?
    } else {
        Map::new()
    };
    if id_token_claims.is_empty() && userinfo_claims.is_empty() {
        return Err(fail(UpstreamError::Misconfigured(
            "without openid in the scope, fetch_userinfo must be on to learn who signed in".into(),
        )));
    }
    let extra: Map<String, Value> = params
        .iter()
        .filter(|(k, _)| !PROTOCOL_PARAMETERS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let ctx = ClaimsContext::new(
        id_token_claims.clone(),
        userinfo_claims.clone(),
        extra.clone(),
    );
    let subject = claims::subject(provider, &ctx).map_err(fail)?;
    // Checked now, so a sign-in that cannot be used fails here, before
    // any link exists.
    let imports = claims::evaluate(provider, &ctx).map_err(fail)?;
    let raw_sub = id_token_subject.map(str::to_owned);
    let sid = id_token_claims
        .get("sid")
        .and_then(Value::as_str)
        .map(str::to_owned);

    let store = async {
        let mut repo = state.db.begin().await?;
        let candidate = UpstreamLink {
            id: new_ulid(now, &mut state.random.rng()),
            provider_id: provider.id,
            user_id: None,
            subject: subject.clone(),
            human_account_name: imports.account_name.clone(),
            created_at: now,
        };
        let link = repo.upstream_links().find_or_add(&candidate).await?;
        // The account name can change at the provider.
        if imports.account_name.is_some() && imports.account_name != link.human_account_name {
            repo.upstream_links()
                .set_human_account_name(link.id, imports.account_name.as_deref())
                .await?;
        }
        let outcome = CallbackOutcome {
            link_id: link.id,
            // The provider's own `sub` (back-channel logout names it), not
            // the templated subject of the link.
            subject: raw_sub.clone().unwrap_or_else(|| subject.clone()),
            sid,
            id_token_claims: Some(Value::Object(id_token_claims).to_string()),
            userinfo_claims: (!userinfo_claims.is_empty())
                .then(|| Value::Object(userinfo_claims).to_string()),
            extra_callback_parameters: Some(Value::Object(extra).to_string()),
        };
        if !repo
            .upstream_sessions()
            .complete(session.id, &outcome, now)
            .await?
        {
            return Ok(Err(UpstreamError::AlreadyUsed));
        }
        repo.commit().await?;
        Ok::<_, mxauth_storage::StorageError>(Ok(link.id))
    };
    match store.await {
        Ok(Ok(link_id)) => Ok((session.id, link_id)),
        Ok(Err(e)) => Err(fail(e)),
        Err(e) => Err(fail(UpstreamError::Storage(e))),
    }
}
