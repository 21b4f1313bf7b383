//! `GET|POST /register/password`: the registration form, with MAS's field
//! names (`username`, `email`, `password`, `password_confirm`,
//! `accept_terms`, `csrf`, and the CAPTCHA service's answer field).
//!
//! The cheap checks come first (passwords equal, terms, address, strength),
//! then the ones that ask the network (the CAPTCHA service, the homeserver
//! about the username), then the registration limit per client IP
//! (`rate_limiting.registration`; counted only for a form that passed, so
//! a typo does not lock someone out for an hour), then the password is
//! hashed on the blocking pool, and only then does a transaction open.

use std::collections::HashMap;

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use mxauth_model::is_plausible_email;
use serde::Deserialize;

use super::{choose::with_next, password_registration_on, step_path, with_status};
use crate::{
    captcha::CaptchaError,
    errors::PageError,
    extract::{cookie_with_csrf, ClientIp, CsrfForm, CsrfProtected},
    handlers::pages::{render, safe_next},
    i18n::{self, t},
    ops::{
        self,
        email_codes::StartError,
        registration::{NewRegistration, Progress},
        username::UsernameRefusal,
    },
    rate_limit::RetryAfter,
    state::AppState,
    templates::{CaptchaWidget, RegisterPasswordContext},
    urls::paths,
};

#[derive(Deserialize)]
pub struct RegisterQuery {
    next: Option<String>,
}

/// What the form typed, kept to fill it again after an error.
#[derive(Default)]
struct Typed {
    username: String,
    email: String,
}

fn page(
    state: &AppState,
    csrf: &str,
    next: &str,
    typed: &Typed,
    error: Option<String>,
) -> RegisterPasswordContext {
    RegisterPasswordContext {
        action: state.urls.relative(paths::REGISTER_PASSWORD),
        csrf: csrf.to_owned(),
        next: next.to_owned(),
        server_name: state.site.server_name.clone(),
        username: typed.username.clone(),
        email: typed.email.clone(),
        email_required: state.site.account.password_registration_email_required,
        tos_uri: state.site.tos_uri.clone(),
        captcha: state.site.captcha.as_ref().map(|c| CaptchaWidget {
            script_url: c.service.script_url().to_owned(),
            widget_class: c.service.widget_class().to_owned(),
            site_key: c.site_key.clone(),
        }),
        error,
        login_href: with_next(state, paths::LOGIN, next),
    }
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RegisterQuery>,
) -> Result<Response, PageError> {
    password_registration_on(&state)?;
    let next = safe_next(&state, q.next.as_deref());
    let (_, csrf, set) = cookie_with_csrf(&state, &headers);
    let ctx = page(&state, &csrf, &next, &Typed::default(), None);
    Ok(render(&state, &ctx, set))
}

/// The form as a map: the CAPTCHA answer's field name depends on the
/// service, and unknown fields are ignored.
#[derive(Deserialize)]
#[serde(transparent)]
pub struct RegisterForm(HashMap<String, String>);

impl CsrfProtected for RegisterForm {
    fn csrf(&self) -> &str {
        self.0.get("csrf").map(String::as_str).unwrap_or_default()
    }
}

pub async fn submit(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    CsrfForm {
        mut cookie,
        form: RegisterForm(form),
    }: CsrfForm<RegisterForm>,
) -> Result<Response, PageError> {
    password_registration_on(&state)?;
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let next = safe_next(&state, form.get("next").map(String::as_str));
    let typed = Typed {
        username: field("username").trim().to_owned(),
        email: field("email").trim().to_owned(),
    };
    let csrf = field("csrf");
    let again = |error: String, status: StatusCode| {
        let ctx = page(&state, csrf, &next, &typed, Some(error));
        Ok(with_status(render(&state, &ctx, None), status))
    };
    if let Some(error) = form_error(
        &state,
        &typed,
        field("password"),
        field("password_confirm"),
        field("accept_terms"),
    ) {
        return again(error, StatusCode::BAD_REQUEST);
    }
    let user_agent = crate::extract::user_agent(&headers);
    // The policy data: who may register, and with which address (the
    // username's rules are asked with its other checks below).
    let policy = state.policy.current();
    let allowed =
        policy
            .check_requester(ip.0, user_agent)
            .and_then(|()| match typed.email.is_empty() {
                true => Ok(()),
                false => policy.check_email(&typed.email),
            });
    if let Err(violation) = allowed {
        return again(violation.message(), violation.status());
    }
    if let Some(captcha) = &state.site.captcha {
        let answer = field(captcha.service.response_field());
        let host = state.urls.public_host();
        let remote = ip.0.map(|ip| ip.to_string());
        match captcha
            .verify(&state.outbound, answer, remote.as_deref(), &host)
            .await
        {
            Ok(()) => {}
            Err(e @ CaptchaError::Unreachable(_)) => {
                tracing::warn!("CAPTCHA check failed: {e}");
                return again(
                    t!("The CAPTCHA cannot be checked right now. Try again in a moment."),
                    StatusCode::SERVICE_UNAVAILABLE,
                );
            }
            Err(e) => {
                return again(
                    t!("Solve the CAPTCHA to continue ({why}).", why = e),
                    StatusCode::BAD_REQUEST,
                )
            }
        }
    }
    match ops::username::check_available(&state, &typed.username).await {
        Ok(()) => {}
        Err(UsernameRefusal::Storage(e)) => return Err(e.into()),
        Err(refusal) => return again(refusal.message(), refusal.status()),
    }
    let limit = state.site.registration_per_ip;
    if let Err(wait) = state.limiter.check(
        &format!("registration-ip:{}", ip.key()),
        limit,
        state.clock.now(),
    ) {
        let seconds = wait.0.num_seconds().max(1);
        return again(
            t!(
                "Too many accounts were created from your network. Try again in {seconds} seconds.",
                seconds = seconds
            ),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    // `password_registration_on` checked that passwords are on.
    let Some(passwords) = &state.passwords else {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            t!("Registration is closed"),
            t!("This server does not accept passwords."),
        ));
    };
    let hashed = passwords.hash(field("password").to_owned()).await?;
    let language = i18n::current();
    let new = NewRegistration {
        username: &typed.username,
        email: (!typed.email.is_empty()).then_some(typed.email.as_str()),
        hashed_password: hashed,
        terms_url: state.site.tos_uri.as_deref(),
        next: &next,
        ip: &ip,
        user_agent,
        language: language.tag(),
    };
    let registration = match ops::registration::start(&state, new).await {
        Ok(registration) => registration,
        Err(StartError::Storage(e)) => return Err(e.into()),
        Err(StartError::RateLimited(RetryAfter(wait))) => {
            return again(
                t!(
                    "Too many codes were asked for this address. Try again in {seconds} seconds.",
                    seconds = wait.num_seconds().max(1)
                ),
                StatusCode::TOO_MANY_REQUESTS,
            )
        }
        Err(StartError::Policy(violation)) => {
            return again(violation.message(), violation.status())
        }
        Err(_) => return again(t!("This is not an email address."), StatusCode::BAD_REQUEST),
    };
    tracing::info!(username = %registration.username, "registration started");
    cookie.add_registration(registration.id);
    let progress = Progress {
        email: None,
        registration,
    };
    // With an address, its code is next; otherwise the later steps.
    let step = match progress.registration.email_authentication_id {
        Some(_) => mxauth_model::RegistrationStep::VerifyEmail,
        None => progress.next_step(state.site.account.password_registration_token_required),
    };
    let mut response =
        Redirect::to(&step_path(&state, step, progress.registration.id)).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, state.cookies.header(&cookie));
    Ok(response)
}

/// The checks that need no network, in the order people fix them.
fn form_error(
    state: &AppState,
    typed: &Typed,
    password: &str,
    confirm: &str,
    accept_terms: &str,
) -> Option<String> {
    if typed.username.is_empty() {
        return Some(t!("Choose a username."));
    }
    if typed.email.is_empty() && state.site.account.password_registration_email_required {
        return Some(t!("An email address is needed to create an account here."));
    }
    if !typed.email.is_empty() && !is_plausible_email(&typed.email) {
        return Some(t!("This is not an email address."));
    }
    if password.is_empty() {
        return Some(t!("Choose a password."));
    }
    if password != confirm {
        return Some(t!("The two passwords are not the same."));
    }
    if state.site.tos_uri.is_some() && accept_terms != "on" {
        return Some(t!("Accept the terms of service to create an account."));
    }
    let inputs = [typed.username.as_str(), typed.email.as_str()];
    let strong = state
        .passwords
        .as_ref()
        .is_some_and(|p| p.is_complex_enough(password, &inputs));
    if !strong {
        return Some(t!(
            "This password is too easy to guess. Try a longer one, or a few unrelated words."
        ));
    }
    None
}
