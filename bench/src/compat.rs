//! The legacy login API under load: a password login
//! (`POST /_matrix/client/v3/login`, argon2id on the server), the job that
//! repeats it, and one login per connection for `compat-introspection`.

use std::{net::SocketAddr, time::Duration};

use serde_json::{json, Value};

use crate::{
    error::{Context, Result},
    http::{request, Conn},
    jobs::Fixed,
    server::{PASSWORD, USERNAME},
};

pub const LOGIN_PATH: &str = "/_matrix/client/v3/login";

/// `m.login.password` for the bench's user, a new device each time.
fn login_body() -> String {
    json!({
        "type": "m.login.password",
        "identifier": { "type": "m.id.user", "user": USERNAME },
        "password": PASSWORD,
    })
    .to_string()
}

/// A password login, answered 200 with a compat access token.
pub fn login_job(host: &str) -> Fixed {
    let body = login_body();
    Fixed {
        bytes: request(
            "POST",
            LOGIN_PATH,
            host,
            &[("Accept", "application/json")],
            Some(("application/json", body.as_bytes())),
        ),
        must_contain: Some(b"\"access_token\":\"mct_"),
    }
}

/// Logs in `count` times at once, each on its own connection; returns the
/// compat access tokens (`mct_…`).
pub async fn login_tokens(
    addr: SocketAddr,
    count: usize,
    timeout: Duration,
) -> Result<Vec<String>> {
    let bytes = login_job(&addr.to_string()).bytes;
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
