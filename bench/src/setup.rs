//! Setup over HTTP, as a client and a browser without JavaScript would do
//! it: read the discovery document for the endpoints, register a public
//! native client dynamically, then for each load connection walk one
//! authorization with PKCE (follow redirects; fill in whatever login form
//! has a password field; press the "allow" button of a consent form) and
//! exchange the code for an access and a refresh token. The browser logs
//! in once; its cookies serve every later consent. Nothing assumes fixed
//! markup or paths beyond OAuth's: MAS's pages work as mxauth's do.

use std::{collections::BTreeMap, time::Duration};

use serde_json::{json, Value};

use crate::{
    error::{Context, Result},
    form::{encode, form, query_param},
    html::{self, Form},
    http::{request, Conn, Response},
    target::BaseUrl,
};

pub const REDIRECT_URI: &str = "http://127.0.0.1/callback";
const SCOPE: &str = "openid urn:matrix:client:api:*";
/// The PKCE pair of RFC 7636 appendix B.
const CODE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const CODE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const FORM: &str = "application/x-www-form-urlencoded";
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// The tokens of one OAuth session.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

/// The OAuth endpoints of a target, as paths on it.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub authorization: String,
    pub token: String,
    pub registration: String,
    pub introspection: String,
}

impl Endpoints {
    /// The discovery document's endpoints; MAS's paths where it has none
    /// (or cannot be read).
    pub async fn discover(base: &BaseUrl) -> Self {
        let document = get_json(base, &base.path(DISCOVERY_PATH))
            .await
            .unwrap_or(Value::Null);
        let endpoint = |key: &str, default: &str| {
            document[key]
                .as_str()
                .map_or_else(|| base.path(default), path_of)
        };
        Self {
            authorization: endpoint("authorization_endpoint", "/authorize"),
            token: endpoint("token_endpoint", "/oauth2/token"),
            registration: endpoint("registration_endpoint", "/oauth2/registration"),
            introspection: endpoint("introspection_endpoint", "/oauth2/introspect"),
        }
    }
}

async fn get_json(base: &BaseUrl, path: &str) -> Result<Value> {
    let bytes = request(
        "GET",
        path,
        &base.host,
        &[("Accept", "application/json")],
        None,
    );
    let response = tokio::time::timeout(Duration::from_secs(10), Conn::new(base.addr).send(&bytes))
        .await
        .context("no answer within 10 s")??;
    Ok(serde_json::from_slice(&response.body)?)
}

/// The path and query of an absolute or rooted URL: the bench reaches the
/// server at its own address even when its public base names another host
/// (a reverse proxy in front).
pub fn path_of(url: &str) -> String {
    let rest = match url.split_once("://") {
        Some((_, after)) => after.find('/').map_or("/", |i| &after[i..]),
        None => url,
    };
    rest.to_owned()
}

/// `location` resolved against the path `current` (RFC 3986 5.2, for the
/// forms servers send: absolute, rooted, or relative to the directory).
fn resolve(location: &str, current: &str) -> String {
    if location.contains("://") || location.starts_with('/') {
        return path_of(location);
    }
    let path = current.split('?').next().unwrap_or_default();
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    format!("{dir}{location}")
}

pub struct Setup {
    pub client_id: String,
    /// One session per load connection.
    pub sessions: Vec<Tokens>,
}

/// A browser: one connection, a cookie jar.
struct Browser {
    conn: Conn,
    host: String,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    async fn send(
        &mut self,
        method: &str,
        target: &str,
        body: Option<(&str, &[u8])>,
    ) -> Result<Response> {
        let cookie = (!self.cookies.is_empty()).then(|| {
            let pairs: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            pairs.join("; ")
        });
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
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.insert(name.to_owned(), value.to_owned());
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

fn unexpected(what: &str, response: &Response) -> crate::error::Error {
    // One line, white space squeezed: it ends up in a table's skip reason.
    let text = response.text();
    let squeezed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let snippet: String = squeezed.chars().take(200).collect();
    crate::error::Error::msg(format!(
        "{what}: unexpected status {}: {snippet}",
        response.status
    ))
}

/// Registers the client and authorizes `sessions` sessions as `user`.
pub async fn run(
    base: &BaseUrl,
    endpoints: &Endpoints,
    sessions: usize,
    user: (&str, &str),
) -> Result<Setup> {
    let mut browser = Browser {
        conn: Conn::new(base.addr),
        host: base.host.clone(),
        cookies: BTreeMap::new(),
    };
    let client_id = register(&mut browser, &endpoints.registration)
        .await
        .context("registering a client")?;
    let mut out = Vec::with_capacity(sessions);
    for i in 0..sessions {
        let code = authorize(&mut browser, &endpoints.authorization, &client_id, user)
            .await
            .with_context(|| format!("authorization {}", i + 1))?;
        out.push(
            exchange(&mut browser, &endpoints.token, &client_id, &code)
                .await
                .with_context(|| format!("code exchange {}", i + 1))?,
        );
    }
    Ok(Setup {
        client_id,
        sessions: out,
    })
}

async fn register(browser: &mut Browser, path: &str) -> Result<String> {
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
        .send("POST", path, Some(("application/json", &body)))
        .await?;
    if !matches!(response.status, 200 | 201) {
        return Err(unexpected(&format!("POST {path}"), &response));
    }
    let answer: Value = serde_json::from_slice(&response.body)?;
    answer["client_id"]
        .as_str()
        .map(str::to_owned)
        .context("no client_id in the registration answer")
}

/// What to send for a page's form: the login form (the one with a password
/// field) or the consent form (the one with an "allow" button).
fn fill_in(forms: &[Form], user: (&str, &str)) -> Option<(Form, Vec<(String, String)>)> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(login) = forms.iter().find(|f| f.has_password()) {
        pairs.extend(login.hidden().map(|f| (f.name.clone(), f.value.clone())));
        // The user's name goes in the first visible text field.
        let name_field = login
            .fields
            .iter()
            .find(|f| matches!(f.kind.as_str(), "text" | "email"))
            .map_or("username", |f| f.name.as_str());
        pairs.push((name_field.to_owned(), user.0.to_owned()));
        for field in login.fields.iter().filter(|f| f.kind == "password") {
            pairs.push((field.name.clone(), user.1.to_owned()));
        }
        return Some((login.clone(), pairs));
    }
    let consent = forms.iter().find(|f| f.yes_button().is_some())?;
    pairs.extend(consent.hidden().map(|f| (f.name.clone(), f.value.clone())));
    let yes = consent.yes_button()?;
    pairs.push((yes.name.clone(), yes.value.clone()));
    Some((consent.clone(), pairs))
}

/// Follows redirects and forms from the authorization endpoint to the
/// redirect back to the client; returns its `code`.
async fn authorize(
    browser: &mut Browser,
    endpoint: &str,
    client_id: &str,
    user: (&str, &str),
) -> Result<String> {
    let query = form(&[
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT_URI),
        ("scope", SCOPE),
        ("code_challenge", CODE_CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    let separator = if endpoint.contains('?') { '&' } else { '?' };
    let mut target = format!("{endpoint}{separator}{query}");
    let mut response = browser.send("GET", &target, None).await?;
    let mut logged_in = false;
    for _ in 0..16 {
        match response.status {
            301 | 302 | 303 | 307 | 308 => {
                let to = response
                    .header("location")
                    .map(str::to_owned)
                    .with_context(|| format!("{target}: a {} without Location", response.status))?;
                if to.starts_with(REDIRECT_URI) {
                    return code_of(&to);
                }
                target = resolve(&to, &target);
                response = browser.send("GET", &target, None).await?;
            }
            200 => {
                let page = response.text();
                let Some((form, pairs)) = fill_in(&html::forms(&page), user) else {
                    return Err(unexpected(
                        &format!("GET {target} (no login or consent form)"),
                        &response,
                    ));
                };
                if form.has_password() {
                    if logged_in {
                        return crate::fail!(
                            "the login form came back: wrong --username or --password?"
                        );
                    }
                    logged_in = true;
                }
                target = form
                    .action
                    .as_deref()
                    .map_or_else(|| target.clone(), |a| resolve(a, &target));
                let pairs: Vec<(&str, &str)> = pairs
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                response = browser.post_form(&target, &pairs).await?;
            }
            400..=499
                if logged_in && html::forms(&response.text()).iter().any(Form::has_password) =>
            {
                return crate::fail!(
                    "the login was refused ({} with the login form again): wrong --username or --password?",
                    response.status
                );
            }
            _ => return Err(unexpected(&target, &response)),
        }
    }
    crate::fail!("too many steps, last at {target}")
}

fn code_of(redirect: &str) -> Result<String> {
    if let Some(error) = query_param(redirect, "error") {
        return crate::fail!("the server refused the authorization: {error} ({redirect})");
    }
    query_param(redirect, "code").with_context(|| format!("no code in the redirect {redirect}"))
}

async fn exchange(
    browser: &mut Browser,
    path: &str,
    client_id: &str,
    code: &str,
) -> Result<Tokens> {
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", CODE_VERIFIER),
    ]);
    let response = browser
        .send("POST", path, Some((FORM, body.as_bytes())))
        .await?;
    if response.status != 200 {
        return Err(unexpected(&format!("POST {path}"), &response));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_locations() {
        assert_eq!(
            path_of("https://auth.example.com/consent/1?x=y"),
            "/consent/1?x=y"
        );
        assert_eq!(path_of("http://h:1"), "/");
        assert_eq!(resolve("/login?next=a", "/authorize?x"), "/login?next=a");
        assert_eq!(resolve("http://other/a", "/b"), "/a");
        assert_eq!(resolve("consent", "/auth/login?next=x"), "/auth/consent");
    }

    #[test]
    fn fills_in_a_login_form_whatever_its_field_names() {
        let page = r#"<form method="post" action="/login"><input type="hidden" name="csrf" value="c">
<input type="hidden" name="next" value="/consent/1"><input name="user" type="text">
<input name="pass" type="password"></form>"#;
        let (form, pairs) = fill_in(&html::forms(page), ("alice", "pw")).unwrap();
        assert_eq!(form.action.as_deref(), Some("/login"));
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("csrf", "c"),
                ("next", "/consent/1"),
                ("user", "alice"),
                ("pass", "pw")
            ]
        );
        let consent = r#"<form method="post"><input type="hidden" name="csrf" value="c">
<button name="decision" value="deny">No</button><button name="decision" value="allow">Yes</button></form>"#;
        let (_, pairs) = fill_in(&html::forms(consent), ("alice", "pw")).unwrap();
        assert_eq!(pairs[1], ("decision".to_owned(), "allow".to_owned()));
        assert!(fill_in(&html::forms("<p>no form</p>"), ("a", "b")).is_none());
    }
}
