//! `GET|POST /_matrix/client/{v}/login` (C-S API "Login"), with
//! `m.login.password`. The user may be a localpart or a full Matrix ID, in
//! `identifier` (`m.id.user`) or the deprecated top-level `user`. A login
//! with a `device_id` the user already has ends the earlier session on that
//! device but keeps the device, and its end-to-end keys, on the homeserver:
//! bots and bridges log in again with the same device across restarts.

use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use mxauth_model::{compat::CompatSession, localpart_of, tokens::generate_device_id, User};
use mxauth_storage::new_ulid;
use serde_json::{json, Value};

use super::{tokens, MatrixError};
use crate::{
    extract::ClientIp, homeserver, password_check::password_login, rate_limit::RetryAfter,
    state::AppState,
};

/// The login types offered (C-S API `GET /login`).
pub async fn flows(State(state): State<AppState>) -> Json<Value> {
    let mut flows = Vec::new();
    if state.passwords.is_some() {
        flows.push(json!({ "type": "m.login.password" }));
    }
    // MSC3824: clients that speak OAuth should use it; the SSO redirect
    // leads to mxauth's own login page.
    flows.push(json!({
        "type": "m.login.sso",
        "identity_providers": [],
        "oauth_aware_preferred": true,
        "org.matrix.msc3824.delegated_oidc_compatibility": true,
    }));
    flows.push(json!({ "type": "m.login.token" }));
    Json(json!({ "flows": flows }))
}

pub async fn login(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    match handle(&state, ip, &headers, &body).await {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

fn string(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// The user named by the request: top-level `user` wins, as in Synapse.
fn requested_user(body: &Value) -> Result<String, MatrixError> {
    if let Some(user) = string(body, "user") {
        return Ok(user);
    }
    let Some(identifier) = body.get("identifier") else {
        return Err(MatrixError::bad_json("identifier is missing"));
    };
    match identifier.get("type").and_then(Value::as_str) {
        Some("m.id.user") => string(identifier, "user")
            .ok_or_else(|| MatrixError::bad_json("identifier.user is missing")),
        Some(other) => Err(MatrixError::new(
            StatusCode::BAD_REQUEST,
            "M_UNKNOWN",
            format!("identifier type {other} is not supported; use m.id.user"),
        )),
        None => Err(MatrixError::bad_json("identifier.type is missing")),
    }
}

/// A device id the homeserver accepts: 1 to 255 printable ASCII characters.
fn valid_device_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.chars().all(|c| c.is_ascii_graphic())
}

async fn handle(
    state: &AppState,
    ip: ClientIp,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, MatrixError> {
    let body: Value = serde_json::from_slice(body).map_err(|e| {
        MatrixError::new(
            StatusCode::BAD_REQUEST,
            "M_NOT_JSON",
            format!("the body is not JSON: {e}"),
        )
    })?;
    let device_id = match string(&body, "device_id") {
        Some(id) if valid_device_id(&id) => id,
        Some(_) => {
            return Err(MatrixError::new(
                StatusCode::BAD_REQUEST,
                "M_INVALID_PARAM",
                "device_id must be 1 to 255 printable ASCII characters",
            ))
        }
        None => generate_device_id(&mut state.random.rng()),
    };
    let new_session = NewSession {
        device_id,
        display_name: string(&body, "initial_device_display_name"),
        with_refresh: body
            .get("refresh_token")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    match body.get("type").and_then(Value::as_str) {
        Some("m.login.password") if state.passwords.is_some() => {}
        Some("m.login.password") => {
            return Err(MatrixError::forbidden(
                "password login is disabled on this server",
            ))
        }
        Some("m.login.token") => {
            return super::sso::exchange_login_token(state, &body, new_session).await
        }
        Some(other) => {
            return Err(MatrixError::new(
                StatusCode::BAD_REQUEST,
                "M_UNKNOWN",
                format!("login type {other} is not supported"),
            ))
        }
        None => return Err(MatrixError::bad_json("type is missing")),
    }
    let requested = requested_user(&body)?;
    let password =
        string(&body, "password").ok_or_else(|| MatrixError::bad_json("password is missing"))?;
    let server_name = &state.site.server_name;
    let localpart = localpart_of(&requested, server_name).ok_or_else(|| {
        MatrixError::forbidden(format!("{requested} is not a user of {server_name}"))
    })?;

    if let Err(RetryAfter(wait)) = state.check_password_rate(&ip, localpart) {
        let mut e = MatrixError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "M_LIMIT_EXCEEDED",
            "Too many login attempts",
        );
        e.retry_after_ms = Some(wait.num_milliseconds());
        return Err(e);
    }
    let user = authenticate(state, &requested, password).await?;
    check_account(&user)?;
    finish_login(state, &user, new_session, LoginOrigin::Password).await
}

/// How the person proved who they are.
pub enum LoginOrigin {
    Password,
    /// The SSO redirect flow: its login is marked used in the same
    /// transaction that creates the session, so a token works once.
    Sso {
        login_id: ulid::Ulid,
        browser_session_id: ulid::Ulid,
    },
}

/// Locked and deactivated accounts cannot log in.
pub fn check_account(user: &User) -> Result<(), MatrixError> {
    if user.deactivated_at.is_some() {
        return Err(MatrixError::new(
            StatusCode::FORBIDDEN,
            "M_USER_DEACTIVATED",
            "This account has been deactivated",
        ));
    }
    if user.locked_at.is_some() {
        return Err(MatrixError::new(
            StatusCode::UNAUTHORIZED,
            "M_USER_LOCKED",
            "This account has been locked",
        ));
    }
    Ok(())
}

/// What a login asks for its new session.
pub struct NewSession {
    pub device_id: String,
    pub display_name: Option<String>,
    pub with_refresh: bool,
    pub user_agent: Option<String>,
}

/// Creates the compat session of a login that proved who `user` is: ends
/// earlier sessions on the same device (keeping the device), issues the
/// tokens, and creates the device on the homeserver before answering.
pub async fn finish_login(
    state: &AppState,
    user: &User,
    new: NewSession,
    origin: LoginOrigin,
) -> Result<Value, MatrixError> {
    let browser_session_id = match origin {
        LoginOrigin::Password => None,
        LoginOrigin::Sso {
            browser_session_id, ..
        } => Some(browser_session_id),
    };
    let now = state.clock.now();
    let server_name = &state.site.server_name;
    // The device must exist before the client uses the token. The upsert
    // is idempotent and runs before the transaction opens: no write
    // transaction (on SQLite, no write lock) waits on the homeserver, and
    // if the homeserver is down nothing is written.
    let created = homeserver::ensure_device(
        state.homeserver.as_ref(),
        user,
        &new.device_id,
        new.display_name.as_deref(),
    )
    .await;
    if let Err(e) = created {
        tracing::error!(error = %e, user = %user.username, "compat login: creating the device");
        return Err(MatrixError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "M_UNKNOWN",
            "The homeserver could not be reached to create the device; try again",
        ));
    }
    let mut repo = state.db.begin().await?;
    // Replacing a device ends its earlier sessions, but not the device.
    for old in repo
        .compat_sessions()
        .active(user, Some(&new.device_id))
        .await?
    {
        repo.compat_sessions().finish(old.id, now).await?;
    }
    let session = CompatSession {
        id: new_ulid(now, &mut state.random.rng()),
        user_id: user.id,
        device_id: Some(new.device_id.clone()),
        browser_session_id,
        is_synapse_admin: false,
        user_agent: new.user_agent,
        human_name: new.display_name.clone(),
        created_at: now,
        finished_at: None,
    };
    repo.compat_sessions().add(&session).await?;
    if let LoginOrigin::Sso { login_id, .. } = origin {
        if !repo
            .compat_sso_logins()
            .exchange(login_id, session.id, now)
            .await?
        {
            return Err(MatrixError::forbidden("This login token was already used"));
        }
    }
    let pair = tokens::issue(&mut repo, state, session.id, new.with_refresh).await?;
    repo.commit().await?;
    tracing::info!(user = %user.username, device = %new.device_id, "compat login");

    let mut answer = json!({
        "user_id": user.mxid(server_name),
        "access_token": pair.access_token,
        "device_id": new.device_id,
        "home_server": server_name,
    });
    if let Some(refresh) = pair.refresh_token {
        answer["refresh_token"] = json!(refresh);
    }
    if let Some(ms) = pair.expires_in_ms {
        answer["expires_in_ms"] = json!(ms);
    }
    Ok(answer)
}

/// The user, if the password is right; the same error otherwise, whether the
/// user exists or not (and the same time spent). The lookup rule is the
/// login page's ([`password_login`]). `handle` has already answered when
/// password login is disabled.
async fn authenticate(
    state: &AppState,
    requested: &str,
    password: String,
) -> Result<User, MatrixError> {
    password_login(state, requested, password)
        .await
        .map_err(|e| MatrixError::internal(&e))?
        .ok_or_else(|| MatrixError::forbidden("Invalid username or password"))
}
