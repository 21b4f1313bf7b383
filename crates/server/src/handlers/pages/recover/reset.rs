//! `GET|POST /account/password/recovery?ticket=…`: the mailed link's page.
//! A working ticket shows the new-password form (`new_password`,
//! `new_password_confirm`, `end_sessions`); setting it consumes the
//! recovery, so the link works once. A dead link says why and offers a new
//! one.

use axum::{
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde::Deserialize;

use super::recovery_on;
use crate::{
    errors::PageError,
    extract::{cookie_with_csrf, CsrfForm, CsrfProtected},
    handlers::pages::render,
    i18n::t,
    ops::recovery::{self, Ticket, TicketError},
    state::AppState,
    templates::RecoverPasswordContext,
    urls::paths,
};

#[derive(Deserialize)]
pub struct TicketQuery {
    #[serde(default)]
    ticket: String,
}

#[derive(Deserialize)]
pub struct NewPasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    ticket: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_confirm: String,
    /// A checkbox: `on`, or absent.
    #[serde(default)]
    end_sessions: Option<String>,
}

impl CsrfProtected for NewPasswordForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn page(
    state: &AppState,
    csrf: &str,
    ticket: &str,
    found: Option<&Ticket>,
    error: Option<String>,
) -> RecoverPasswordContext {
    RecoverPasswordContext {
        action: state.urls.relative(paths::ACCOUNT_PASSWORD_RECOVERY),
        csrf: csrf.to_owned(),
        ticket: ticket.to_owned(),
        mxid: found.map(|t| format!("@{}:{}", t.user.username, state.site.server_name)),
        error,
        done: false,
        recover_href: state.urls.relative(paths::RECOVER),
        login_href: state.urls.relative(paths::LOGIN),
    }
}

/// The page of a link that does not work, with why.
fn dead_link(state: &AppState, csrf: &str, e: TicketError) -> Result<Response, PageError> {
    let status = match e {
        TicketError::Storage(e) => return Err(e.into()),
        TicketError::Unknown => StatusCode::NOT_FOUND,
        TicketError::Expired | TicketError::AlreadyUsed => StatusCode::GONE,
        TicketError::UserUnavailable => StatusCode::FORBIDDEN,
    };
    let mut response = render(state, &page(state, csrf, "", None, Some(e.message())), None);
    *response.status_mut() = status;
    Ok(response)
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<TicketQuery>,
) -> Result<Response, PageError> {
    recovery_on(&state)?;
    let (_, csrf, set) = cookie_with_csrf(&state, &headers);
    match recovery::find_ticket(&state, &q.ticket).await {
        Ok(found) => Ok(render(
            &state,
            &page(&state, &csrf, &q.ticket, Some(&found), None),
            set,
        )),
        Err(e) => dead_link(&state, &csrf, e),
    }
}

pub async fn submit(
    State(state): State<AppState>,
    CsrfForm { form, .. }: CsrfForm<NewPasswordForm>,
) -> Result<Response, PageError> {
    recovery_on(&state)?;
    let found = match recovery::find_ticket(&state, &form.ticket).await {
        Ok(found) => found,
        Err(e) => return dead_link(&state, &form.csrf, e),
    };
    let again = |error: String| {
        let ctx = page(&state, &form.csrf, &form.ticket, Some(&found), Some(error));
        let mut response = render(&state, &ctx, None);
        *response.status_mut() = StatusCode::BAD_REQUEST;
        Ok(response)
    };
    let Some(passwords) = &state.passwords else {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            t!("Not found"),
            t!("Passwords are off."),
        ));
    };
    if form.new_password.is_empty() {
        return again(t!("Choose a password."));
    }
    if form.new_password != form.new_password_confirm {
        return again(t!("The two passwords are not the same."));
    }
    if !passwords.is_complex_enough(&form.new_password, &[&found.user.username]) {
        return again(t!(
            "This password is too easy to guess. Try a longer one, or a few unrelated words."
        ));
    }
    let hashed = passwords.hash(form.new_password.clone()).await?;
    let end_sessions = form.end_sessions.as_deref() == Some("on");
    match recovery::set_password(&state, &found, &hashed, end_sessions).await {
        Ok(()) => {
            let ctx = RecoverPasswordContext {
                done: true,
                ticket: String::new(),
                ..page(&state, &form.csrf, "", Some(&found), None)
            };
            Ok(render(&state, &ctx, None))
        }
        Err(e) => dead_link(&state, &form.csrf, e),
    }
}
