//! The legacy login API under load: a password login
//! (`POST /_matrix/client/v3/login`, argon2id on the server), the job that
//! repeats it, and one login per connection for `compat-introspection`.

use std::{net::SocketAddr, time::Duration};

use serde_json::{json, Value};

use crate::{
    error::{Context, Result},
    http::{request, Conn},
    jobs::Fixed,
    target::BaseUrl,
};

pub const LOGIN_PATH: &str = "/_matrix/client/v3/login";

/// `m.login.password` for `user`, a new device each time.
fn login_body(username: &str, password: &str) -> String {
    json!({
        "type": "m.login.password",
        "identifier": { "type": "m.id.user", "user": username },
        "password": password,
    })
    .to_string()
}

/// A password login, answered 200 with a compat access token.
pub fn login_job(base: &BaseUrl, (username, password): (&str, &str)) -> Fixed {
    let body = login_body(username, password);
    Fixed {
        bytes: request(
            "POST",
            &base.path(LOGIN_PATH),
            &base.host,
            &[("Accept", "application/json")],
            Some(("application/json", body.as_bytes())),
        ),
        must_contain: Some(b"\"access_token\":\"mct_"),
    }
}

/// Logs in `count` times at once, each on its own connection; returns the
/// compat access tokens (`mct_…`).
pub async fn login_tokens(
    base: &BaseUrl,
    user: (&str, &str),
    count: usize,
    timeout: Duration,
) -> Result<Vec<String>> {
    let bytes = login_job(base, user).bytes;
    let addr: SocketAddr = base.addr;
    let mut handles = Vec::with_capacity(count);
    for _ in 0..count {
        let bytes = bytes.clone();
        handles.push(tokio::spawn(async move {
            let mut conn = Conn::new(addr);
            let response = tokio::time::timeout(timeout, conn.send(&bytes))
                .await
                .context("no answer within the timeout")?
                .context("sending")?;
            if response.status != 200 {
                return crate::fail!("status {}: {}", response.status, response.text());
            }
            let answer: Value = serde_json::from_slice(&response.body)?;
            answer["access_token"]
                .as_str()
                .filter(|token| token.starts_with("mct_"))
                .map(str::to_owned)
                .with_context(|| format!("no mct_ access token in {}", response.text()))
        }));
    }
    let mut tokens = Vec::with_capacity(count);
    for (i, handle) in handles.into_iter().enumerate() {
        let token = handle
            .await
            .context("a login task panicked")?
            .with_context(|| format!("{LOGIN_PATH} {}", i + 1))?;
        tokens.push(token);
    }
    Ok(tokens)
}
