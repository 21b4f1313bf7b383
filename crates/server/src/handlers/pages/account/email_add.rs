//! `GET|POST /account/emails/add` and `/account/emails/verify/{id}`:
//! adding an email address, proven by the 6-digit code mailed to it
//! (`ops::email_codes`; when mail is broken the code is in the server's
//! log). Allowed with `account.email_change_allowed`. The address is added
//! (and the homeserver told) only once the code is typed back.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use mxauth_model::User;
use serde::Deserialize;
use ulid::Ulid;

use super::{log_in_first, nav, see_other};
use crate::{
    errors::PageError,
    extract::{current_user, ClientIp, CsrfForm, CsrfProtected, PageSession},
    handlers::pages::{code_refusal, render},
    i18n::{self, t},
    ops::{
        self,
        email_codes::{EmailCodes, StartError},
    },
    rate_limit::RetryAfter,
    state::AppState,
    templates::{AccountSection, EmailAddContext},
    urls::paths,
};

#[derive(Deserialize)]
pub struct AddressForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

impl CsrfProtected for AddressForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

impl CsrfProtected for CodeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn allowed(state: &AppState) -> Result<(), PageError> {
    if state.site.account.email_change_allowed {
        return Ok(());
    }
    Err(PageError::new(
        StatusCode::FORBIDDEN,
        t!("Not allowed"),
        t!("This server does not let you change your email addresses."),
    ))
}

fn verify_path(id: Ulid) -> String {
    paths::ACCOUNT_EMAIL_VERIFY.replace("{id}", &id.to_string())
}

fn page(
    state: &AppState,
    user: &User,
    csrf: &str,
    step: Option<(Ulid, &str)>,
    error: Option<String>,
) -> EmailAddContext {
    let action = match step {
        Some((id, _)) => verify_path(id),
        None => paths::ACCOUNT_EMAIL_ADD.to_owned(),
    };
    EmailAddContext {
        nav: nav(state, user, csrf, AccountSection::Profile),
        csrf: csrf.to_owned(),
        action: state.urls.relative(&action),
        email: step.map(|(_, email)| email.to_owned()),
        error,
    }
}

fn refused(state: &AppState, ctx: &EmailAddContext, status: StatusCode) -> Response {
    let mut response = render(state, ctx, None);
    *response.status_mut() = status;
    response
}

pub async fn show(
    State(state): State<AppState>,
    session: PageSession,
) -> Result<Response, PageError> {
    allowed(&state)?;
    let Some((_, user)) = &session.user else {
        return Ok(log_in_first(&state, paths::ACCOUNT_EMAIL_ADD, &[]));
    };
    let ctx = page(&state, user, &session.csrf, None, None);
    Ok(render(&state, &ctx, session.set_cookie))
}

/// Starts the proof and sends the code; then asks for it.
pub async fn start(
    State(state): State<AppState>,
    ip: ClientIp,
    CsrfForm { cookie, form }: CsrfForm<AddressForm>,
) -> Result<Response, PageError> {
    allowed(&state)?;
    let Some((_, user)) = current_user(&state, &cookie).await? else {
        return Ok(log_in_first(&state, paths::ACCOUNT_EMAIL_ADD, &[]));
    };
    let email = form.email.trim();
    let mut repo = state.db.begin().await?;
    if repo.user_emails().find(&user, email).await?.is_some() {
        let ctx = page(
            &state,
            &user,
            &form.csrf,
            None,
            Some(t!("You already have this address.")),
        );
        return Ok(refused(&state, &ctx, StatusCode::CONFLICT));
    }
    let codes = EmailCodes::from(&state);
    // The code is mailed in the language of this page.
    let language = i18n::current();
    match codes
        .start(&mut repo, &ip, Some(user.id), email, language.tag())
        .await
    {
        Ok(authentication) => {
            repo.commit().await?;
            Ok(Redirect::to(&state.urls.relative(&verify_path(authentication.id))).into_response())
        }
        Err(StartError::Storage(e)) => Err(e.into()),
        Err(StartError::RateLimited(RetryAfter(wait))) => {
            let error = t!(
                "Too many codes were asked. Try again in {seconds} seconds.",
                seconds = wait.num_seconds().max(1)
            );
            let ctx = page(&state, &user, &form.csrf, None, Some(error));
            Ok(refused(&state, &ctx, StatusCode::TOO_MANY_REQUESTS))
        }
        Err(StartError::InvalidAddress(address)) => {
            let error = t!("“{address}” is not an email address.", address = address);
            let ctx = page(&state, &user, &form.csrf, None, Some(error));
            Ok(refused(&state, &ctx, StatusCode::BAD_REQUEST))
        }
        Err(StartError::Policy(violation)) => {
            let ctx = page(&state, &user, &form.csrf, None, Some(violation.message()));
            Ok(refused(&state, &ctx, violation.status()))
        }
        Err(StartError::NotPending) => {
            let error = t!("This email confirmation does not exist or is finished.");
            let ctx = page(&state, &user, &form.csrf, None, Some(error));
            Ok(refused(&state, &ctx, StatusCode::BAD_REQUEST))
        }
    }
}

/// The pending proof `id` of `user`; anyone else's, or a finished one, is
/// not found.
async fn pending_of(state: &AppState, user: &User, id: &str) -> Result<(Ulid, String), PageError> {
    let not_found = || {
        PageError::new(
            StatusCode::NOT_FOUND,
            t!("Not found"),
            t!("This email confirmation does not exist or is finished."),
        )
    };
    let id: Ulid = id.parse().map_err(|_| not_found())?;
    let mut repo = state.db.read().await?;
    let authentication = repo.email_authentications().find(id).await?;
    drop(repo);
    match authentication {
        Some(a) if a.user_id == Some(user.id) && a.completed_at.is_none() => Ok((a.id, a.email)),
        _ => Err(not_found()),
    }
}

pub async fn show_code(
    State(state): State<AppState>,
    Path(id): Path<String>,
    session: PageSession,
) -> Result<Response, PageError> {
    allowed(&state)?;
    let Some((_, user)) = &session.user else {
        return Ok(log_in_first(&state, paths::ACCOUNT_EMAIL_ADD, &[]));
    };
    let (id, email) = pending_of(&state, user, &id).await?;
    let ctx = page(&state, user, &session.csrf, Some((id, &email)), None);
    Ok(render(&state, &ctx, session.set_cookie))
}

/// Checks the code; a right one adds the address in the same transaction.
pub async fn verify(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { cookie, form }: CsrfForm<CodeForm>,
) -> Result<Response, PageError> {
    allowed(&state)?;
    let Some((_, user)) = current_user(&state, &cookie).await? else {
        return Ok(log_in_first(&state, paths::ACCOUNT_EMAIL_ADD, &[]));
    };
    let (id, email) = pending_of(&state, &user, &id).await?;
    let mut repo = state.db.begin().await?;
    let codes = EmailCodes::from(&state);
    let (status, why) = match codes.verify(&mut repo, id, &form.code).await {
        Ok(authentication) => {
            ops::users::add_email(
                &mut repo,
                ops::Context::from(&state),
                &user,
                &authentication.email,
            )
            .await?;
            repo.commit().await?;
            tracing::info!(user = %user.username, "email address added");
            return Ok(see_other(&state, paths::ACCOUNT, "email_added"));
        }
        Err(e) => code_refusal(e)?,
    };
    drop(repo);
    let ctx = page(&state, &user, &form.csrf, Some((id, &email)), Some(why));
    Ok(refused(&state, &ctx, status))
}
