//! `GET|POST /login`: username (localpart or full Matrix ID) and password.
//! A wrong password, an unknown user and a user without a password get the
//! same message, so the form does not reveal who has an account.

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use mxauth_model::localpart_of;
use mxauth_storage::StorageError;
use serde::Deserialize;
use ulid::Ulid;

use super::{client_display_name, display_host, render, safe_next};
use crate::{
    errors::PageError,
    extract::{cookie_with_csrf, current_user, ClientIp, CsrfForm, CsrfProtected},
    handlers::upstream,
    i18n::t,
    metrics::{LoginMethod, LoginResult},
    ops::{self, login::password_login},
    rate_limit::RetryAfter,
    state::AppState,
    templates::LoginContext,
    urls::paths,
};

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    login_hint: Option<String>,
    /// `login` to ask for the password even with a valid session.
    prompt: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

impl CsrfProtected for LoginForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

async fn form(
    state: &AppState,
    headers: &HeaderMap,
    next: &str,
    username: &str,
    error: Option<String>,
) -> Result<Response, PageError> {
    let client_name = continuing_to(state, next).await?;
    let (_, csrf, set) = cookie_with_csrf(state, headers);
    let providers = upstream::provider_buttons(state, next).await?;
    let account = &state.site.account;
    let passwords_on = state.passwords.is_some();
    let with_next = |path: &str| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", next)
            .finish();
        format!("{}?{query}", state.urls.relative(path))
    };
    let ctx = LoginContext {
        action: state.urls.relative(paths::LOGIN),
        csrf,
        next: next.to_owned(),
        username: username.to_owned(),
        error,
        client_name,
        password_login: passwords_on,
        register_href: (account.password_registration_enabled && passwords_on)
            .then(|| with_next(paths::REGISTER)),
        recover_href: (account.password_recovery_enabled && passwords_on)
            .then(|| state.urls.relative(paths::RECOVER)),
        providers,
    };
    let failed = ctx.error.is_some();
    let mut response = render(state, &ctx, set);
    if failed {
        *response.status_mut() = StatusCode::UNAUTHORIZED;
    }
    Ok(response)
}

/// The application this login continues to, named on the form so people
/// see why they are asked to sign in: the client of the authorization
/// request when `next` is its consent page, or the host a legacy SSO login
/// returns to when `next` is its confirmation page.
async fn continuing_to(state: &AppState, next: &str) -> Result<Option<String>, StorageError> {
    let id_after = |prefix: String| {
        next.strip_prefix(&prefix)
            .and_then(|id| id.parse::<Ulid>().ok())
    };
    let sso_prefix = state
        .urls
        .relative(&paths::COMPLETE_COMPAT_SSO.replace("{id}", ""));
    if let Some(grant_id) = id_after(state.urls.consent("")) {
        let mut repo = state.db.read().await?;
        let client = match repo.oauth2_grants().find(grant_id).await? {
            Some(grant) => repo.oauth2_clients().find(grant.client_id).await?,
            None => None,
        };
        Ok(client.as_ref().map(client_display_name))
    } else if let Some(login_id) = id_after(sso_prefix) {
        let mut repo = state.db.read().await?;
        let login = repo.compat_sso_logins().find(login_id).await?;
        Ok(login.map(|login| display_host(&login.redirect_uri)))
    } else {
        Ok(None)
    }
}

/// `mxid:@alice:example.com` (MSC2964 login hints) or a plain username.
fn username_from_hint(hint: Option<&str>, server_name: &str) -> String {
    let hint = hint.unwrap_or_default();
    let mxid = hint.strip_prefix("mxid:").unwrap_or(hint);
    localpart_of(mxid, server_name)
        .unwrap_or_default()
        .to_owned()
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Result<Response, PageError> {
    let next = safe_next(&state, q.next.as_deref());
    let cookie = state.cookies.read(&headers);
    let logged_in = current_user(&state, &cookie).await?.is_some();
    // Already logged in, and not asked to log in again: carry on.
    if logged_in && q.prompt.as_deref() != Some("login") {
        return Ok(Redirect::to(&next).into_response());
    }
    let username = username_from_hint(q.login_hint.as_deref(), &state.site.server_name);
    form(&state, &headers, &next, &username, None).await
}

pub async fn submit(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    CsrfForm {
        mut cookie,
        form: input,
    }: CsrfForm<LoginForm>,
) -> Result<Response, PageError> {
    // Every password check is rate limited, per client IP and per account.
    let account = localpart_of(&input.username, &state.site.server_name).unwrap_or(&input.username);
    if let Err(RetryAfter(wait)) = ops::login::check_rate(&state, &ip, account) {
        let seconds = wait.num_seconds().max(1);
        let message = t!(
            "Too many sign-in attempts. Try again in {seconds} seconds.",
            seconds = seconds
        );
        return Err(PageError::new(
            StatusCode::TOO_MANY_REQUESTS,
            t!("Too many attempts"),
            message,
        )
        .with_retry_after(seconds));
    }
    let next = safe_next(&state, input.next.as_deref());
    if state.passwords.is_none() {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            t!("Password login is disabled"),
            t!("This server does not accept passwords."),
        ));
    }
    let login = |result| state.metrics.record_login(LoginMethod::Password, result);
    let checked = password_login(&state, &input.username, input.password).await;
    let Some(user) = checked.inspect_err(|_| login(LoginResult::Error))? else {
        login(LoginResult::Failure);
        // The same words for every reason, so the form reveals nothing.
        let bad = Some(t!("Invalid username or password."));
        return form(&state, &headers, &next, &input.username, bad).await;
    };
    if !user.is_valid() {
        login(LoginResult::Failure);
    }
    if user.deactivated_at.is_some() {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            t!("Account deactivated"),
            t!("This account has been deactivated."),
        ));
    }
    if user.locked_at.is_some() {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            t!("Account locked"),
            t!("This account is locked. Contact the server's administrator."),
        ));
    }
    let user_agent = crate::extract::user_agent(&headers);
    let mut repo = state.db.begin().await?;
    let ctx = ops::Context::from(&state);
    let session = ops::sessions::start_browser(&mut repo, ctx, &user, user_agent, None).await?;
    repo.commit().await?;
    login(LoginResult::Success);
    tracing::info!(user = %user.username, "logged in");
    cookie.browser_session = Some(session.id);
    let mut response = Redirect::to(&next).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, state.cookies.header(&cookie));
    Ok(response)
}
