//! `GET|POST /consent/{grant_id}`: shows which application asks for what, in
//! plain words, and on "Allow" issues the authorization code (RFC 6749
//! §4.1.2). Consent is asked every time, as MAS does.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use mxauth_model::{
    oauth2::{AuthorizationGrant, Client, GrantState},
    scope::ScopeToken,
    token_digest,
    tokens::generate_alphanumeric,
    Scope, User,
};
use ulid::Ulid;
use url::Url;

use super::{client_display_name, display_host, render, DecisionForm};
use crate::{
    errors::PageError,
    extract::{current_user, ClientIp, CsrfForm, PageSession},
    handlers::authorization_response::{self as redirect, ResponseMode},
    i18n::t,
    state::AppState,
    templates::{ClientHomepage, ClientSummary, ConsentContext},
    urls::paths,
};

/// What a scope lets the application do, in words a person understands
/// (in the request's language).
pub fn describe(scope: &ScopeToken) -> String {
    if let Some(device) = scope.device_id() {
        return t!("Sign in as a device with the ID {device}", device = device);
    }
    match scope.as_str() {
        "openid" => t!("Know who you are (your Matrix ID)"),
        "email" => t!("See your email addresses"),
        s if scope.is_api() || s.ends_with("client:api:*") => {
            t!("Read and send messages, join rooms and act for you in Matrix")
        }
        "urn:synapse:admin:*" => t!("Administer the homeserver with the Synapse admin API"),
        "urn:mas:admin" => t!("Administer this authentication service"),
        "urn:mas:graphql:*" => t!("Manage your account"),
        other => t!("Use the permission {scope}", scope = other),
    }
}

fn descriptions(scope: &Scope) -> Vec<String> {
    let mut out: Vec<String> = scope.iter().map(describe).collect();
    out.dedup();
    out
}

/// What the page shows of the client.
fn summary(client: Client) -> ClientSummary {
    let name = client_display_name(&client);
    let homepage = client.client_uri.map(|url| ClientHomepage {
        host: Url::parse(&url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| url.clone()),
        url,
    });
    ClientSummary {
        name,
        homepage,
        logo_uri: client.logo_uri,
        policy_uri: client.policy_uri,
        tos_uri: client.tos_uri,
    }
}

/// The pending grant of the page and its client; a page saying why when
/// there is none.
async fn load(state: &AppState, grant_id: &str) -> Result<(AuthorizationGrant, Client), PageError> {
    let not_found = || {
        PageError::new(
            StatusCode::NOT_FOUND,
            t!("Request not found"),
            t!("This sign-in request does not exist. Start again from the application."),
        )
    };
    let id = grant_id.parse::<Ulid>().map_err(|_| not_found())?;
    let mut repo = state.db.read().await?;
    let grant = repo.oauth2_grants().find(id).await?;
    let client = match &grant {
        Some(g) => repo.oauth2_clients().find(g.client_id).await?,
        None => None,
    };
    drop(repo);
    let (grant, client) = grant.zip(client).ok_or_else(not_found)?;
    if grant.state() != GrantState::Pending {
        return Err(PageError::new(
            StatusCode::BAD_REQUEST,
            t!("Request already completed"),
            t!("This sign-in request was already used. Start again from the application."),
        ));
    }
    Ok((grant, client))
}

fn login_redirect(state: &AppState, grant: &AuthorizationGrant, force: bool) -> Response {
    let next = state.urls.consent(&grant.id.to_string());
    // OIDC `prompt=create` (Initiating User Registration via OpenID
    // Connect 1.0, §4): the registration page instead, back to consent.
    let asks_create = grant
        .prompt
        .as_deref()
        .is_some_and(|p| p.split(' ').any(|v| v == "create"));
    if asks_create && !force {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", &next)
            .finish();
        let url = format!("{}?{query}", state.urls.relative(paths::REGISTER));
        return Redirect::to(&url).into_response();
    }
    let url = state
        .urls
        .login_redirect(&next, grant.login_hint.as_deref(), force);
    Redirect::to(&url).into_response()
}

fn mode(grant: &AuthorizationGrant) -> ResponseMode {
    grant.response_mode
}

fn deny(state: &AppState, grant: &AuthorizationGrant, description: &str) -> Response {
    redirect::error(
        &state.templates,
        &grant.redirect_uri,
        mode(grant),
        grant.state.as_deref(),
        "access_denied",
        description,
    )
}

/// Admin scopes may only be requested by users allowed to (MAS's
/// `can_request_admin`, or `admin_users` of the policy data).
fn admin_refused(state: &AppState, scope: &Scope, user: &User) -> bool {
    (scope.requests_synapse_admin() || scope.requests_mas_admin())
        && !state.policy.current().may_request_admin(user)
}

/// Why the policy refuses this grant, if it does: admin scopes for a user
/// who may not request them, or a banned requester (the policy data's
/// `requester` rules). The words go to the client as `error_description`.
fn refusal(
    state: &AppState,
    scope: &Scope,
    user: &User,
    ip: &ClientIp,
    headers: &HeaderMap,
) -> Option<&'static str> {
    if admin_refused(state, scope, user) {
        return Some("this account may not request administrator rights");
    }
    let user_agent = crate::extract::user_agent(headers);
    match state.policy.current().check_requester(ip.0, user_agent) {
        Ok(()) => None,
        Err(_) => Some("requests from this address or client are not allowed"),
    }
}

async fn cancel(
    state: &AppState,
    grant: &AuthorizationGrant,
) -> Result<(), mxauth_storage::StorageError> {
    let mut repo = state.db.begin().await?;
    repo.oauth2_grants()
        .cancel(grant.id, state.clock.now())
        .await?;
    repo.commit().await
}

/// OIDC Core §3.1.2.1 `prompt=login`: the person must have entered their
/// password since the request was made.
async fn must_log_in_again(
    state: &AppState,
    grant: &AuthorizationGrant,
    session_id: Ulid,
) -> Result<bool, PageError> {
    let asks_login = grant
        .prompt
        .as_deref()
        .is_some_and(|p| p.split(' ').any(|v| v == "login"));
    if !asks_login {
        return Ok(false);
    }
    let mut repo = state.db.read().await?;
    let last = repo
        .browser_sessions()
        .last_authentication_at(session_id)
        .await?;
    drop(repo);
    Ok(last.is_none_or(|at| at < grant.created_at))
}

pub async fn show(
    State(state): State<AppState>,
    Path(grant_id): Path<String>,
    ip: ClientIp,
    headers: HeaderMap,
    page: PageSession,
) -> Result<Response, PageError> {
    let (grant, client) = load(&state, &grant_id).await?;
    let Some((session, user)) = page.user else {
        return Ok(login_redirect(&state, &grant, false));
    };
    if must_log_in_again(&state, &grant, session.id).await? {
        return Ok(login_redirect(&state, &grant, true));
    }
    let scope = &grant.scope;
    if let Some(why) = refusal(&state, scope, &user, &ip, &headers) {
        cancel(&state, &grant).await?;
        return Ok(deny(&state, &grant, why));
    }
    let ctx = ConsentContext {
        action: state.urls.consent(&grant.id.to_string()),
        logout_action: state.urls.relative(paths::LOGOUT),
        csrf: page.csrf,
        client: summary(client),
        scopes: descriptions(scope),
        mxid: user.mxid(&state.site.server_name),
        username: user.username,
        redirect_host: display_host(&grant.redirect_uri),
    };
    Ok(render(&state, &ctx, page.set_cookie))
}

pub async fn submit(
    State(state): State<AppState>,
    Path(grant_id): Path<String>,
    ip: ClientIp,
    headers: HeaderMap,
    CsrfForm { cookie, form }: CsrfForm<DecisionForm>,
) -> Result<Response, PageError> {
    let (grant, _) = load(&state, &grant_id).await?;
    let Some((session, user)) = current_user(&state, &cookie).await? else {
        return Ok(login_redirect(&state, &grant, false));
    };
    let scope = &grant.scope;
    if let Some(why) = refusal(&state, scope, &user, &ip, &headers) {
        cancel(&state, &grant).await?;
        return Ok(deny(&state, &grant, why));
    }
    if form.decision != "allow" {
        cancel(&state, &grant).await?;
        return Ok(deny(&state, &grant, "the user did not allow access"));
    }
    let code = generate_alphanumeric(&mut state.random.rng(), 32);
    let now = state.clock.now();
    let mut repo = state.db.begin().await?;
    let fulfilled = repo
        .oauth2_grants()
        .fulfill(grant.id, session.id, &token_digest(&code), now)
        .await?;
    repo.commit().await?;
    if !fulfilled {
        return Err(PageError::new(
            StatusCode::BAD_REQUEST,
            t!("Request already completed"),
            t!("This sign-in request was already used."),
        ));
    }
    let mut params = vec![("code", code)];
    if let Some(client_state) = &grant.state {
        params.push(("state", client_state.clone()));
    }
    // RFC 9207: name the issuer, so clients talking to several servers can
    // tell which one answered.
    params.push(("iss", state.urls.issuer().to_owned()));
    Ok(redirect::respond(
        &state.templates,
        &grant.redirect_uri,
        mode(&grant),
        &params,
    ))
}
