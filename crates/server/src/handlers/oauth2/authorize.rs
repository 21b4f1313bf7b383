//! `GET /authorize` (RFC 6749 §4.1.1, OIDC Core §3.1.2): checks the request,
//! stores it as a pending grant and sends the browser to the consent page,
//! which asks the person to log in first when needed.
//!
//! Until the client and redirect URI are known to be valid, errors are shown
//! on an error page; after that they go back to the client (RFC 6749
//! §4.1.2.1), never to an unregistered URI.

use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use mxauth_model::{
    oauth2::{AuthorizationGrant, Client},
    pkce::{self, CodeChallengeMethod},
    Scope,
};
use mxauth_storage::new_ulid;
use ulid::Ulid;

use crate::handlers::authorization_response::{self as redirect, ResponseMode};
use crate::{
    errors::PageError,
    extract::{form_params, OAuthParams},
    i18n::t,
    state::AppState,
};

/// A request that can be answered at the client's redirect URI.
struct Answerable<'a> {
    state: &'a AppState,
    redirect_uri: String,
    mode: ResponseMode,
    client_state: Option<String>,
}

impl Answerable<'_> {
    fn error(&self, code: &str, description: impl AsRef<str>) -> Response {
        redirect::error(
            &self.state.templates,
            &self.redirect_uri,
            self.mode,
            self.client_state.as_deref(),
            code,
            description.as_ref(),
        )
    }
}

pub async fn handler(
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let (params, client, redirect_uri) = match client_and_redirect(&state, params).await {
        Ok(found) => found,
        Err(page) => return page.into_response(),
    };
    let get = |name: &str| non_empty(&params, name);

    // 2. Everything else is answered at the redirect URI.
    let mode_param = get("response_mode");
    let mode = mode_param.map(|m| m.parse::<ResponseMode>().ok());
    let answer = Answerable {
        state: &state,
        redirect_uri: redirect_uri.clone(),
        mode: mode.flatten().unwrap_or(ResponseMode::Query),
        client_state: get("state").map(str::to_owned),
    };
    if matches!(mode, Some(None)) {
        return answer.error(
            "invalid_request",
            "response_mode must be query, fragment or form_post",
        );
    }
    for (param, code) in [
        ("request", "request_not_supported"),
        ("request_uri", "request_uri_not_supported"),
        ("registration", "registration_not_supported"),
    ] {
        if params.contains_key(param) {
            return answer.error(code, format!("the {param} parameter is not supported"));
        }
    }
    match get("response_type") {
        Some("code") => {}
        Some(other) => {
            return answer.error(
                "unsupported_response_type",
                format!("response_type {other:?} is not supported; use code"),
            )
        }
        None => return answer.error("invalid_request", "response_type is missing"),
    }
    if !client.grant_types.authorization_code {
        return answer.error(
            "unauthorized_client",
            "this client may not use the authorization code grant",
        );
    }
    let scope: Scope = match get("scope").unwrap_or("").parse() {
        Ok(scope) => scope,
        Err(e) => return answer.error("invalid_scope", format!("the scope is invalid: {e}")),
    };
    if let Err(e) = scope.validate_authorization_request() {
        return answer.error("invalid_scope", e.to_string());
    }

    // PKCE, S256 only; required for public clients (RFC 9700 §2.1.1).
    let challenge = get("code_challenge");
    let method = match (challenge, get("code_challenge_method")) {
        (None, Some(_)) => {
            return answer.error(
                "invalid_request",
                "code_challenge_method without code_challenge",
            )
        }
        (None, None) if client.is_public() => {
            return answer.error(
                "invalid_request",
                "public clients must use PKCE: code_challenge is missing",
            )
        }
        (None, None) => None,
        (Some(_), None | Some("plain")) => {
            return answer.error(
                "invalid_request",
                "only the S256 code_challenge_method is supported",
            )
        }
        (Some(c), Some(m)) => match m.parse::<CodeChallengeMethod>() {
            Ok(CodeChallengeMethod::S256) => {
                match pkce::validate_challenge(CodeChallengeMethod::S256, c) {
                    Ok(()) => Some(CodeChallengeMethod::S256),
                    Err(e) => {
                        return answer.error("invalid_request", format!("code_challenge: {e}"))
                    }
                }
            }
            _ => {
                return answer.error(
                    "invalid_request",
                    "only the S256 code_challenge_method is supported",
                )
            }
        },
    };

    // OIDC Core §3.1.2.1: prompt=none would need a session with consent
    // already given; every grant here asks for consent, so it cannot pass.
    let prompt = get("prompt");
    if prompt.is_some_and(|p| p.split(' ').any(|v| v == "none")) {
        return answer.error(
            "login_required",
            "this server always asks for consent; prompt=none cannot be satisfied",
        );
    }

    let now = state.clock.now();
    let grant = AuthorizationGrant {
        id: new_ulid(now, &mut state.random.rng()),
        client_id: client.id,
        redirect_uri,
        redirect_uri_sent: get("redirect_uri").is_some(),
        scope,
        state: answer.client_state.clone(),
        nonce: get("nonce").map(str::to_owned),
        response_mode: answer.mode,
        response_type_code: true,
        response_type_id_token: false,
        code_challenge: challenge.map(str::to_owned),
        code_challenge_method: method,
        login_hint: get("login_hint").map(str::to_owned),
        prompt: prompt.map(str::to_owned),
        locale: get("ui_locales").map(str::to_owned),
        created_at: now,
        fulfilled_at: None,
        cancelled_at: None,
        exchanged_at: None,
        browser_session_id: None,
        session_id: None,
    };
    if let Err(e) = store(&state, &grant).await {
        // RFC 6749 §4.1.2.1: temporarily_unavailable when the cause passes.
        if crate::errors::unavailable::is_unavailable(&e) {
            crate::errors::unavailable::log(&e);
            return answer.error(
                "temporarily_unavailable",
                "the database is unavailable; try again in a few seconds",
            );
        }
        tracing::error!(error = %e, "storing an authorization grant");
        return answer.error("server_error", "the server could not store the request");
    }
    Redirect::to(&state.urls.consent(&grant.id.to_string())).into_response()
}

/// A parameter's value; an empty one counts as absent.
fn non_empty<'a>(params: &'a OAuthParams, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// Step 1: the parameters, the client and the redirect URI. Until they are
/// known to be valid, failures stay on our page (RFC 6749 §4.1.2.1: never
/// redirect to an unverified URI).
async fn client_and_redirect(
    state: &AppState,
    pairs: Vec<(String, String)>,
) -> Result<(OAuthParams, Client, String), PageError> {
    let invalid =
        |title: String, message: String| PageError::new(StatusCode::BAD_REQUEST, title, message);
    // The description names the parameter (protocol words, in English).
    let params = form_params(pairs).map_err(|e| invalid(t!("Invalid request"), e.description))?;
    let get = |name: &str| non_empty(&params, name);
    let client_id = get("client_id").ok_or_else(|| {
        invalid(
            t!("Invalid request"),
            t!("The client_id parameter is missing."),
        )
    })?;
    let client = match client_id.parse::<Ulid>() {
        Ok(id) => {
            let mut repo = state.db.read().await?;
            repo.oauth2_clients().find(id).await?
        }
        Err(_) => None,
    };
    let client = client.ok_or_else(|| {
        invalid(
            t!("Unknown application"),
            t!("No application is registered with this client_id."),
        )
    })?;
    let redirect_uri =
        redirect::resolve(&client.redirect_uris, get("redirect_uri")).map_err(|reason| {
            invalid(
                t!("Invalid redirect"),
                t!(
                    "The application sent an invalid redirect: {reason}.",
                    reason = reason
                ),
            )
        })?;
    Ok((params, client, redirect_uri))
}

async fn store(
    state: &AppState,
    grant: &AuthorizationGrant,
) -> Result<(), mxauth_storage::StorageError> {
    let mut repo = state.db.begin().await?;
    repo.oauth2_grants().add(grant).await?;
    repo.commit().await
}
