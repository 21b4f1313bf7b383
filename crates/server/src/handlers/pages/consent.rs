//! `GET|POST /consent/{grant_id}`: shows which application asks for what, in
//! plain words, and on "Allow" issues the authorization code (RFC 6749
//! §4.1.2). Consent is asked every time, as MAS does.

use axum::{
    extract::{Path, State},
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
    Form,
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

use super::{
    client_display_name, cookie_with_csrf, current_user, display_host, error_page,
    expired_form_page, internal_error, render, DecisionForm,
};
use crate::{
    handlers::authorization_response::{self as redirect, ResponseMode},
    state::AppState,
    templates::{ClientHomepage, ClientSummary, ConsentContext},
    urls::paths,
};

/// What a scope lets the application do, in words a person understands.
pub fn describe(scope: &ScopeToken) -> String {
    if let Some(device) = scope.device_id() {
        return format!("Sign in as a device with the ID {device}");
    }
    match scope.as_str() {
        "openid" => "Know who you are (your Matrix ID)".into(),
        "email" => "See your email addresses".into(),
        s if scope.is_api() || s.ends_with("client:api:*") => {
            "Read and send messages, join rooms and act for you in Matrix".into()
        }
        "urn:synapse:admin:*" => "Administer the homeserver with the Synapse admin API".into(),
        "urn:mas:admin" => "Administer this authentication service".into(),
        "urn:mas:graphql:*" => "Manage your account".into(),
        other => format!("Use the permission {other}"),
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

struct Loaded {
    grant: AuthorizationGrant,
    client: Client,
}

async fn load(state: &AppState, grant_id: &str) -> Result<Result<Loaded, Response>, Response> {
    let not_found = || {
        error_page(
            state,
            404,
            "Request not found",
            "This sign-in request does not exist. Start again from the application.",
        )
    };
    let Ok(id) = grant_id.parse::<Ulid>() else {
        return Ok(Err(not_found()));
    };
    let loaded = async {
        let mut repo = state.db.read().await?;
        let grant = repo.oauth2_grants().find(id).await?;
        let client = match &grant {
            Some(g) => repo.oauth2_clients().find(g.client_id).await?,
            None => None,
        };
        drop(repo);
        Ok::<_, mxauth_storage::StorageError>(grant.zip(client))
    }
    .await
    .map_err(|e| internal_error(state, &e))?;
    let Some((grant, client)) = loaded else {
        return Ok(Err(not_found()));
    };
    if grant.state() != GrantState::Pending {
        return Ok(Err(error_page(
            state,
            400,
            "Request already completed",
            "This sign-in request was already used. Start again from the application.",
        )));
    }
    Ok(Ok(Loaded { grant, client }))
}

fn login_redirect(state: &AppState, grant: &AuthorizationGrant, force: bool) -> Response {
    let next = state.urls.consent(&grant.id.to_string());
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
/// `can_request_admin`).
fn admin_refused(scope: &Scope, user: &User) -> bool {
    (scope.requests_synapse_admin() || scope.requests_mas_admin()) && !user.can_request_admin
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

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(grant_id): Path<String>,
) -> Response {
    let Loaded { grant, client } = match load(&state, &grant_id).await {
        Ok(Ok(loaded)) => loaded,
        Ok(Err(page)) | Err(page) => return page,
    };
    let (cookie, csrf, set) = cookie_with_csrf(&state, &headers);
    let (session, user) = match current_user(&state, &cookie).await {
        Ok(Some(found)) => found,
        Ok(None) => return login_redirect(&state, &grant, false),
        Err(e) => return internal_error(&state, &e),
    };
    // OIDC Core §3.1.2.1 prompt=login: authenticate again for this request.
    if grant
        .prompt
        .as_deref()
        .is_some_and(|p| p.split(' ').any(|v| v == "login"))
    {
        let last = async {
            let mut repo = state.db.read().await?;
            let last = repo
                .browser_sessions()
                .last_authentication_at(session.id)
                .await?;
            drop(repo);
            Ok::<_, mxauth_storage::StorageError>(last)
        }
        .await;
        match last {
            Ok(Some(at)) if at >= grant.created_at => {}
            Ok(_) => return login_redirect(&state, &grant, true),
            Err(e) => return internal_error(&state, &e),
        }
    }
    let scope = &grant.scope;
    if admin_refused(scope, &user) {
        if let Err(e) = cancel(&state, &grant).await {
            return internal_error(&state, &e);
        }
        return deny(
            &state,
            &grant,
            "this account may not request administrator rights",
        );
    }
    let ctx = ConsentContext {
        action: state.urls.consent(&grant.id.to_string()),
        logout_action: state.urls.relative(paths::LOGOUT),
        csrf,
        client: summary(client),
        scopes: descriptions(scope),
        mxid: user.mxid(&state.site.server_name),
        username: user.username,
        redirect_host: display_host(&grant.redirect_uri),
    };
    render(&state, &ctx, set)
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(grant_id): Path<String>,
    Form(input): Form<DecisionForm>,
) -> Response {
    let now = state.clock.now();
    let cookie = state.cookies.read(&headers);
    if !cookie.check_csrf(&input.csrf, now) {
        return expired_form_page(&state);
    }
    let Loaded { grant, .. } = match load(&state, &grant_id).await {
        Ok(Ok(loaded)) => loaded,
        Ok(Err(page)) | Err(page) => return page,
    };
    let (session, user) = match current_user(&state, &cookie).await {
        Ok(Some(found)) => found,
        Ok(None) => return login_redirect(&state, &grant, false),
        Err(e) => return internal_error(&state, &e),
    };
    let scope = &grant.scope;
    if input.decision != "allow" || admin_refused(scope, &user) {
        if let Err(e) = cancel(&state, &grant).await {
            return internal_error(&state, &e);
        }
        return deny(&state, &grant, "the user did not allow access");
    }
    let code = generate_alphanumeric(&mut state.random.rng(), 32);
    let fulfilled = async {
        let mut repo = state.db.begin().await?;
        let ok = repo
            .oauth2_grants()
            .fulfill(grant.id, session.id, &token_digest(&code), now)
            .await?;
        repo.commit().await?;
        Ok::<_, mxauth_storage::StorageError>(ok)
    }
    .await;
    match fulfilled {
        Ok(true) => {}
        Ok(false) => {
            return error_page(
                &state,
                400,
                "Request already completed",
                "This sign-in request was already used.",
            )
        }
        Err(e) => return internal_error(&state, &e),
    }
    let mut params = vec![("code", code)];
    if let Some(client_state) = &grant.state {
        params.push(("state", client_state.clone()));
    }
    // RFC 9207: name the issuer, so clients talking to several servers can
    // tell which one answered.
    params.push(("iss", state.urls.issuer().to_owned()));
    redirect::respond(&state.templates, &grant.redirect_uri, mode(&grant), &params)
}
