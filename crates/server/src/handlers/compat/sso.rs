//! The legacy SSO login (C-S API "Client login via SSO"):
//! `GET /_matrix/client/{v}/login/sso/redirect?redirectUrl=…` sends the
//! browser to mxauth's confirmation page (`/complete-compat-sso/{id}`, after
//! logging in), which sends it back to the client with a `loginToken`; the
//! client exchanges that token once, within 30 seconds, with
//! `m.login.token`. With an identity provider in the path
//! (`/login/sso/redirect/oidc-keycloak`), the login goes through that
//! upstream provider.

use std::collections::HashMap;

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::Duration;
use mxauth_model::{token_digest, tokens::generate_alphanumeric};
use mxauth_storage::new_ulid;
use serde::Deserialize;
use serde_json::Value;
use ulid::Ulid;
use url::Url;

use super::{
    login::{check_account, finish_login, LoginOrigin, NewSession},
    MatrixError,
};
use crate::{errors::PageError, handlers::upstream, i18n::t, state::AppState, urls::paths};

/// How long a confirmed login token can be exchanged.
const TOKEN_LIFETIME_SECONDS: i64 = 30;

#[derive(Deserialize)]
pub struct RedirectQuery {
    #[serde(rename = "redirectUrl")]
    redirect_url: Option<String>,
}

/// Schemes a browser runs or reads locally instead of navigating to an
/// application: never a place to hand a login token to.
const REFUSED_SCHEMES: [&str; 8] = [
    "javascript",
    "data",
    "vbscript",
    "file",
    "blob",
    "about",
    "filesystem",
    "view-source",
];

/// Only absolute URLs without credentials; http(s) ones need a host.
/// Besides http(s), an application's own scheme (`io.element.app:/sso`,
/// RFC 8252 §7.1) is allowed, because mobile clients of the legacy SSO
/// flow use one; script and local schemes are refused.
fn acceptable_redirect(url: &str) -> Option<Url> {
    let parsed = Url::parse(url).ok()?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return None;
    }
    if REFUSED_SCHEMES.contains(&parsed.scheme()) {
        return None;
    }
    if matches!(parsed.scheme(), "http" | "https") && parsed.host_str().is_none_or(str::is_empty) {
        return None;
    }
    Some(parsed)
}

pub async fn redirect(State(state): State<AppState>, Query(q): Query<RedirectQuery>) -> Response {
    start(&state, q, None).await
}

/// `/login/sso/redirect/{idp_id}`: straight to the upstream provider whose
/// `synapse_idp_id` (or id) is `idp_id`, so the "Sign in with …" buttons
/// old clients show from `GET /login` keep working after syn2mas. An
/// unknown one leads to the login page, which lists every provider.
pub async fn redirect_to_provider(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
    Query(q): Query<RedirectQuery>,
) -> Response {
    let idp = path.get("idp").map(String::as_str).unwrap_or_default();
    let provider = match upstream::provider_by_idp_id(&state, idp).await {
        Ok(provider) => provider,
        Err(e) => return PageError::from(e).render(&state),
    };
    start(&state, q, provider.map(|p| p.id)).await
}

/// Records the login and sends the browser to the confirmation page,
/// through the upstream provider when one was named.
async fn start(state: &AppState, q: RedirectQuery, provider: Option<Ulid>) -> Response {
    let Some(target) = q.redirect_url.as_deref().and_then(acceptable_redirect) else {
        return PageError::new(
            StatusCode::BAD_REQUEST,
            t!("Invalid request"),
            t!("The application sent a missing or invalid redirectUrl."),
        )
        .render(state);
    };
    let now = state.clock.now();
    let placeholder = token_digest(&generate_alphanumeric(&mut state.random.rng(), 32));
    let result = async {
        let mut repo = state.db.begin().await?;
        let login = repo
            .compat_sso_logins()
            .add(
                new_ulid(now, &mut state.random.rng()),
                target.as_str(),
                &placeholder,
                now,
            )
            .await?;
        repo.commit().await?;
        Ok::<_, mxauth_storage::StorageError>(login)
    }
    .await;
    let login = match result {
        Ok(login) => login,
        Err(e) => return PageError::from(e).render(state),
    };
    let id = login.id.to_string();
    match provider {
        Some(provider) => {
            let next = state
                .urls
                .relative(&paths::COMPLETE_COMPAT_SSO.replace("{id}", &id));
            Redirect::to(&state.urls.upstream_authorize(&provider.to_string(), &next))
                .into_response()
        }
        None => Redirect::to(&state.urls.complete_compat_sso(&id)).into_response(),
    }
}

/// `m.login.token`: the login token from the confirmation page, once.
pub async fn exchange_login_token(
    state: &AppState,
    token: &str,
    new: NewSession,
) -> Result<Value, MatrixError> {
    let invalid = || MatrixError::forbidden("Invalid login token");
    let now = state.clock.now();
    let mut repo = state.db.read().await?;
    let login = repo
        .compat_sso_logins()
        .find_by_token_digest(&token_digest(token))
        .await?
        .ok_or_else(invalid)?;
    let fresh = login
        .fulfilled_at
        .is_some_and(|at| now - at <= Duration::seconds(TOKEN_LIFETIME_SECONDS));
    if login.exchanged_at.is_some() || !fresh {
        return Err(invalid());
    }
    let browser_session_id = login.browser_session_id.ok_or_else(invalid)?;
    let session = repo
        .browser_sessions()
        .find(browser_session_id)
        .await?
        .filter(|s| s.is_active())
        .ok_or_else(invalid)?;
    let user = repo
        .users()
        .find_by_id(session.user_id)
        .await?
        .ok_or_else(invalid)?;
    check_account(&user)?;
    finish_login(
        state,
        &user,
        new,
        LoginOrigin::Sso {
            login_id: login.id,
            browser_session_id,
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::acceptable_redirect;

    #[test]
    fn redirect_urls_need_a_host_and_no_credentials() {
        assert!(acceptable_redirect("https://app.example.com/done").is_some());
        assert!(acceptable_redirect("io.element.app:/sso").is_some());
        assert!(acceptable_redirect("https://user:pw@evil.example.com/").is_none());
        assert!(acceptable_redirect("not a url").is_none());
        assert!(acceptable_redirect("/relative").is_none());
        for hostile in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox",
            "file:///etc/passwd",
        ] {
            assert!(acceptable_redirect(hostile).is_none(), "{hostile}");
        }
    }
}
