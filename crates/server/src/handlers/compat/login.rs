//! `GET|POST /_matrix/client/{v}/login` (C-S API "Login"), with
//! `m.login.password`. The user may be a localpart or a full Matrix ID, in
//! `identifier` (`m.id.user`) or the deprecated top-level `user`. A login
//! with a `device_id` the user already has ends the earlier session on that
//! device but keeps the device, and its end-to-end keys, on the homeserver:
//! bots and bridges log in again with the same device across restarts.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use mxauth_model::{localpart_of, tokens::generate_device_id, User};
use serde::Deserialize;
use serde_json::{json, Value};

use super::MatrixError;
use crate::{
    extract::ClientIp,
    handlers::upstream,
    metrics::{LoginMethod, LoginResult},
    ops::{
        self,
        compat::{valid_device_id, NewCompatSession},
        login::password_login,
    },
    rate_limit::RetryAfter,
    state::AppState,
};

/// The login types offered (C-S API `GET /login`); `m.login.sso` lists
/// the upstream providers, so legacy clients show a button for each.
pub async fn flows(State(state): State<AppState>) -> Response {
    let providers = match upstream::enabled_providers(&state).await {
        Ok(providers) => providers,
        Err(e) => return MatrixError::from(e).into_response(),
    };
    let identity_providers: Vec<Value> = providers
        .iter()
        .map(|p| {
            let mut idp = json!({"id": upstream::advertised_idp_id(p), "name": p.display_name()});
            if let Some(brand) = &p.config.brand_name {
                idp["brand"] = json!(brand);
            }
            idp
        })
        .collect();
    let mut flows = Vec::new();
    if state.passwords.is_some() {
        flows.push(json!({ "type": "m.login.password" }));
    }
    // MSC3824: clients that speak OAuth should use it; the SSO redirect
    // leads to mxauth's own login page.
    flows.push(json!({
        "type": "m.login.sso",
        "identity_providers": identity_providers,
        "oauth_aware_preferred": true,
        "org.matrix.msc3824.delegated_oidc_compatibility": true,
    }));
    flows.push(json!({ "type": "m.login.token" }));
    Json(json!({ "flows": flows })).into_response()
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

/// The body of `POST /login` (C-S API "Login"): the login type with its
/// fields. Fields of other types are ignored, as Synapse does; a field of
/// the wrong JSON type is `M_BAD_JSON`.
#[derive(Deserialize)]
#[serde(tag = "type")]
enum LoginRequest {
    #[serde(rename = "m.login.password")]
    Password {
        identifier: Option<Identifier>,
        /// Deprecated; wins over `identifier`, as in Synapse.
        user: Option<String>,
        password: Option<String>,
    },
    #[serde(rename = "m.login.token")]
    Token { token: Option<String> },
    /// Any other type (`m.login.dummy`, `m.login.sso` …): not a login.
    #[serde(other)]
    Unsupported,
}

/// Who is logging in (C-S API "Identifier types").
#[derive(Deserialize)]
#[serde(tag = "type")]
enum Identifier {
    #[serde(rename = "m.id.user")]
    User { user: Option<String> },
    /// `m.id.thirdparty`, `m.id.phone` and anything else: not supported.
    #[serde(other)]
    Unsupported,
}

/// The fields of the body about the new device and session, whatever the
/// login type; read before the type so a bad `device_id` is reported first.
#[derive(Deserialize)]
struct DeviceRequest {
    device_id: Option<String>,
    initial_device_display_name: Option<String>,
    /// `null` counts as absent, as it did when the body was read by hand.
    refresh_token: Option<bool>,
}

/// The `type` the body names, for the message about an unsupported one.
fn type_named(value: Option<&Value>) -> &str {
    value
        .and_then(|v| v.get("type"))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `body` as `T`, or `M_BAD_JSON` naming what does not fit.
fn parse<T: serde::de::DeserializeOwned>(body: &Value) -> Result<T, MatrixError> {
    T::deserialize(body).map_err(|e| MatrixError::bad_json(e.to_string()))
}

/// The user named by the request: top-level `user` wins, as in Synapse.
fn requested_user(
    user: Option<String>,
    identifier: Option<Identifier>,
    body: &Value,
) -> Result<String, MatrixError> {
    if let Some(user) = user {
        return Ok(user);
    }
    match identifier {
        None => Err(MatrixError::bad_json("identifier is missing")),
        Some(Identifier::User { user }) => {
            user.ok_or_else(|| MatrixError::bad_json("identifier.user is missing"))
        }
        Some(Identifier::Unsupported) => Err(MatrixError::new(
            StatusCode::BAD_REQUEST,
            "M_UNKNOWN",
            format!(
                "identifier type {} is not supported; use m.id.user",
                type_named(body.get("identifier"))
            ),
        )),
    }
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
    // Only an object: serde would also read a struct from an array.
    if !body.is_object() {
        return Err(MatrixError::bad_json("the body must be a JSON object"));
    }
    let device: DeviceRequest = parse(&body)?;
    let device_id = match device.device_id {
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
        ip: ip.0,
        device_id,
        display_name: device.initial_device_display_name,
        with_refresh: device.refresh_token.unwrap_or(false),
        user_agent: crate::extract::user_agent(headers).map(str::to_owned),
    };
    // The policy data's `requester` rules, for every login type (MAS's
    // `compat_login` policy): 403 `M_FORBIDDEN`.
    if let Err(violation) = state
        .policy
        .current()
        .check_requester(ip.0, new_session.user_agent.as_deref())
    {
        return Err(MatrixError::forbidden(violation.to_string()));
    }
    let (identifier, user, password) = match parse(&body)? {
        LoginRequest::Password { .. } if state.passwords.is_none() => {
            return Err(MatrixError::forbidden(
                "password login is disabled on this server",
            ))
        }
        LoginRequest::Password {
            identifier,
            user,
            password,
        } => (identifier, user, password),
        LoginRequest::Token { token } => {
            let token = token.ok_or_else(|| MatrixError::bad_json("token is missing"))?;
            let result = super::sso::exchange_login_token(state, &token, new_session).await;
            return counted(state, LoginMethod::CompatSso, result);
        }
        LoginRequest::Unsupported => {
            return Err(MatrixError::new(
                StatusCode::BAD_REQUEST,
                "M_UNKNOWN",
                format!("login type {} is not supported", type_named(Some(&body))),
            ))
        }
    };
    let requested = requested_user(user, identifier, &body)?;
    let password = password.ok_or_else(|| MatrixError::bad_json("password is missing"))?;
    let server_name = &state.site.server_name;
    let localpart = localpart_of(&requested, server_name).ok_or_else(|| {
        MatrixError::forbidden(format!("{requested} is not a user of {server_name}"))
    })?;

    if let Err(RetryAfter(wait)) = ops::login::check_rate(state, &ip, localpart) {
        let mut e = MatrixError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "M_LIMIT_EXCEEDED",
            "Too many login attempts",
        );
        e.retry_after_ms = Some(wait.num_milliseconds());
        return Err(e);
    }
    let result = async {
        let user = authenticate(state, &requested, password).await?;
        check_account(&user)?;
        finish_login(state, &user, new_session, LoginOrigin::Password).await
    }
    .await;
    counted(state, LoginMethod::CompatPassword, result)
}

/// Counts a login that reached its credential check in the metrics, by
/// how it ended: refusals with a 4xx status are failures, 5xx errors.
fn counted(
    state: &AppState,
    method: LoginMethod,
    result: Result<Value, MatrixError>,
) -> Result<Value, MatrixError> {
    let outcome = match &result {
        Ok(_) => LoginResult::Success,
        Err(e) => LoginResult::from_status(e.status.as_u16()),
    };
    state.metrics.record_login(method, outcome);
    result
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
    /// The client's address: the session's first "last active" IP.
    pub ip: Option<std::net::IpAddr>,
}

/// Creates the compat session of a login that proved who `user` is: the
/// device on the homeserver first, then the session and its tokens
/// ([`ops::compat::start`], which ends earlier sessions on the device).
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
    let server_name = &state.site.server_name;
    // The device must exist before the client uses the token. The upsert
    // is idempotent and runs before the transaction opens: no write
    // transaction (on SQLite, no write lock) waits on the homeserver, and
    // if the homeserver is down nothing is written.
    let created = ops::devices::ensure(
        state.homeserver.as_ref(),
        user,
        &new.device_id,
        new.display_name.as_deref(),
    )
    .await;
    if created.is_err() {
        return Err(MatrixError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "M_UNKNOWN",
            "The homeserver could not be reached to create the device; try again",
        ));
    }
    let mut repo = state.db.begin().await?;
    let started = ops::compat::start(
        &mut repo,
        state.into(),
        user,
        &NewCompatSession {
            device_id: &new.device_id,
            display_name: new.display_name.as_deref(),
            user_agent: new.user_agent.as_deref(),
            ip: new.ip,
            browser_session_id,
            is_synapse_admin: false,
            refresh_ttl: new.with_refresh.then_some(state.site.compat_token_ttl),
        },
    )
    .await?;
    if let LoginOrigin::Sso { login_id, .. } = origin {
        if !repo
            .compat_sso_logins()
            .exchange(login_id, started.session.id, started.session.created_at)
            .await?
        {
            return Err(MatrixError::forbidden("This login token was already used"));
        }
    }
    repo.commit().await?;
    tracing::info!(user = %user.username, device = %new.device_id, "compat login");

    let pair = started.tokens;
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn login_bodies_parse_by_type() {
        let body = json!({
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "alice"},
            "password": "wonderland",
            "token": "ignored: a field of another type",
        });
        let Ok(LoginRequest::Password {
            identifier: Some(Identifier::User { user }),
            password,
            ..
        }) = parse(&body)
        else {
            panic!("not a password login");
        };
        assert_eq!(
            (user.as_deref(), password.as_deref()),
            (Some("alice"), Some("wonderland"))
        );
        let third_party = json!({"type": "m.id.thirdparty", "medium": "email", "address": "a@b.c"});
        assert!(matches!(parse(&third_party), Ok(Identifier::Unsupported)));
        assert!(matches!(
            parse(&json!({"type": "m.login.dummy"})),
            Ok(LoginRequest::Unsupported)
        ));
        let device: DeviceRequest = parse(&json!({"refresh_token": null})).unwrap();
        assert_eq!(device.refresh_token, None);
    }

    #[test]
    fn fields_of_the_wrong_json_type_are_bad_json() {
        let wrong = [
            json!({"password": 7, "type": "m.login.password"}),
            json!({"type": 5}),
            json!({}),
        ];
        for body in wrong {
            let e = parse::<LoginRequest>(&body).err().expect("refused");
            assert_eq!(
                (e.status, e.errcode),
                (StatusCode::BAD_REQUEST, "M_BAD_JSON"),
                "{body}"
            );
        }
        let e = parse::<DeviceRequest>(&json!({"device_id": 5}))
            .err()
            .expect("refused");
        assert_eq!(e.errcode, "M_BAD_JSON");
    }
}
