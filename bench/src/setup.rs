//! Setup over HTTP, as a client and a browser without JavaScript would do
//! it: register a public native client dynamically, then for each load
//! connection walk one authorization (authorize → consent → login → consent
//! → allow) with PKCE and exchange the code for an access and a refresh
//! token. The browser logs in once; its session cookie serves every later
//! consent.

use std::{net::SocketAddr, time::Duration};

use serde_json::{json, Value};

use crate::{
    error::{Context, Result},
    form::{encode, form, hidden_field, local_target, query_param},
    http::{request, Conn, Response},
    server::{PASSWORD, USERNAME},
};

pub const REDIRECT_URI: &str = "http://127.0.0.1/callback";
const SCOPE: &str = "openid urn:matrix:client:api:*";
/// The PKCE pair of RFC 7636 appendix B.
const CODE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const CODE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const COOKIE_NAME: &str = "mxauth-session";
const FORM: &str = "application/x-www-form-urlencoded";

/// The tokens of one OAuth session.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

pub struct Setup {
    pub client_id: String,
    /// One session per load connection.
    pub sessions: Vec<Tokens>,
}

/// A browser: one connection, one cookie.
struct Browser {
    conn: Conn,
    host: String,
    base: String,
    cookie: Option<String>,
}

impl Browser {
    async fn send(
        &mut self,
        method: &str,
        target: &str,
        body: Option<(&str, &[u8])>,
    ) -> Result<Response> {
        let cookie = self.cookie.clone();
        let mut headers = vec![("Accept", "text/html")];
        if let Some(cookie) = &cookie {
            headers.push(("Cookie", cookie.as_str()));
        }
        let bytes = request(method, target, &self.host, &headers, body);
        let response = tokio::time::timeout(Duration::from_secs(30), self.conn.send(&bytes))
            .await
            .with_context(|| format!("{method} {target}: no answer within 30 s"))?
            .with_context(|| format!("{method} {target}"))?;
        for set in response.headers("set-cookie") {
            let pair = set.split(';').next().unwrap_or_default().trim();
            if pair.starts_with(&format!("{COOKIE_NAME}=")) {
                self.cookie = Some(pair.to_owned());
            }
        }
        Ok(response)
    }

    async fn post_form(&mut self, target: &str, pairs: &[(&str, &str)]) -> Result<Response> {
        let body = form(pairs);
        self.send("POST", target, Some((FORM, body.as_bytes())))
            .await
    }
}

fn location(response: &Response, what: &str) -> Result<String> {
    response
        .header("location")
        .map(str::to_owned)
        .with_context(|| format!("{what}: a {} without Location", response.status))
}

fn unexpected(what: &str, response: &Response) -> crate::error::Error {
    let text = response.text();
    let snippet: String = text.chars().take(400).collect();
    crate::error::Error::msg(format!(
        "{what}: unexpected status {}: {snippet}",
        response.status
    ))
}

/// Registers the client and authorizes `sessions` sessions.
pub async fn run(addr: SocketAddr, sessions: usize) -> Result<Setup> {
    let host = addr.to_string();
    let mut browser = Browser {
        conn: Conn::new(addr),
        host: host.clone(),
        base: format!("http://{host}/"),
        cookie: None,
    };
    let client_id = register(&mut browser)
        .await
        .context("registering a client")?;
    let mut out = Vec::with_capacity(sessions);
    for i in 0..sessions {
        let code = authorize(&mut browser, &client_id)
            .await
            .with_context(|| format!("authorization {}", i + 1))?;
        out.push(
            exchange(&mut browser, &client_id, &code)
                .await
                .with_context(|| format!("code exchange {}", i + 1))?,
        );
    }
    Ok(Setup {
        client_id,
        sessions: out,
    })
}

async fn register(browser: &mut Browser) -> Result<String> {
    let metadata = json!({
        "client_name": "mxauth-bench",
        "client_uri": "https://bench.example.com/",
        "application_type": "native",
        "token_endpoint_auth_method": "none",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
    });
    let body = serde_json::to_vec(&metadata)?;
    let response = browser
        .send(
            "POST",
            "/oauth2/registration",
            Some(("application/json", &body)),
        )
        .await?;
    if !matches!(response.status, 200 | 201) {
        return Err(unexpected("POST /oauth2/registration", &response));
    }
    let answer: Value = serde_json::from_slice(&response.body)?;
    answer["client_id"]
        .as_str()
        .map(str::to_owned)
        .context("no client_id in the registration answer")
}

/// Follows redirects and pages from `/authorize` to the redirect back to
/// the client; returns its `code`.
async fn authorize(browser: &mut Browser, client_id: &str) -> Result<String> {
    let query = form(&[
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT_URI),
        ("scope", SCOPE),
        ("code_challenge", CODE_CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    let mut target = format!("/authorize?{query}");
    // The consent page this flow is about, the `next` of the login.
    let mut consent = None::<String>;
    for _ in 0..12 {
        let response = browser.send("GET", &target, None).await?;
        match response.status {
            302 | 303 => {
                let to = location(&response, &format!("GET {target}"))?;
                if to.starts_with(REDIRECT_URI) {
                    return code_of(&to);
                }
                target = local_target(&to, &browser.base)
                    .with_context(|| format!("GET {target} redirected away to {to}"))?;
            }
            200 if target.starts_with("/login") => {
                let next = consent
                    .clone()
                    .context("the login page came before any consent page")?;
                let csrf = hidden_field(&response.text(), "csrf")
                    .context("no csrf field on the login page")?;
                let done = browser
                    .post_form(
                        "/login",
                        &[
                            ("csrf", &csrf),
                            ("username", USERNAME),
                            ("password", PASSWORD),
                            ("next", &next),
                        ],
                    )
                    .await?;
                if done.status != 303 {
                    return Err(unexpected("POST /login (wrong password?)", &done));
                }
                target = next;
            }
            200 if target.starts_with("/consent/") => {
                let csrf = hidden_field(&response.text(), "csrf")
                    .context("no csrf field on the consent page")?;
                let done = browser
                    .post_form(&target, &[("csrf", &csrf), ("decision", "allow")])
                    .await?;
                if !matches!(done.status, 302 | 303) {
                    return Err(unexpected(&format!("POST {target}"), &done));
                }
                let to = location(&done, &format!("POST {target}"))?;
                return code_of(&to);
            }
            _ => return Err(unexpected(&format!("GET {target}"), &response)),
        }
        if target.starts_with("/consent/") {
            consent = Some(target.clone());
        }
    }
    crate::fail!("too many redirects, last at {target}")
}

fn code_of(redirect: &str) -> Result<String> {
    if let Some(error) = query_param(redirect, "error") {
        return crate::fail!("the server refused the authorization: {error} ({redirect})");
    }
    query_param(redirect, "code").with_context(|| format!("no code in the redirect {redirect}"))
}

async fn exchange(browser: &mut Browser, client_id: &str, code: &str) -> Result<Tokens> {
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", CODE_VERIFIER),
    ]);
    let response = browser
        .send("POST", "/oauth2/token", Some((FORM, body.as_bytes())))
        .await?;
    if response.status != 200 {
        return Err(unexpected("POST /oauth2/token", &response));
    }
    let answer: Value = serde_json::from_slice(&response.body)?;
    let field = |name: &str| {
        answer[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("no {name} in the token answer"))
    };
    Ok(Tokens {
        access: field("access_token")?,
        refresh: field("refresh_token")?,
    })
}

/// The form body of one refresh.
pub fn refresh_body(client_id: &str, refresh_token: &str) -> String {
    form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", client_id),
    ])
}

/// The form body of one introspection.
pub fn introspect_body(access_token: &str) -> String {
    format!("token={}", encode(access_token))
}
