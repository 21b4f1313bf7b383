//! The sweep's hostile requests: generic ones sent with every method
//! (malformed and truncated bodies, wrong content types, 10 MB bodies,
//! deep JSON, invalid UTF-8, NUL, duplicate parameters, huge queries, bad
//! credentials and cookies), and targeted ones that spoil one field of an
//! otherwise valid query, form or JSON document at a time.

use axum::{
    body::{Body, Bytes},
    http::{HeaderName, HeaderValue, Method, Request},
};
use base64::Engine;
use serde_json::{json, Value};

use super::context::Context;
use crate::handlers::oauth2::tests::{CHALLENGE, VERIFIER};

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// One request of the sweep.
#[derive(Clone)]
pub struct Probe {
    pub label: String,
    method: Method,
    uri: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
}

impl Probe {
    pub fn new(label: &str, method: Method, uri: &str) -> Self {
        Self {
            label: label.to_owned(),
            method,
            uri: uri.to_owned(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    fn header(mut self, name: &'static str, value: impl AsRef<[u8]>) -> Self {
        let value = HeaderValue::from_bytes(value.as_ref()).unwrap();
        self.headers.push((HeaderName::from_static(name), value));
        self
    }

    fn body(self, content_type: &str, body: impl Into<Bytes>) -> Self {
        let mut probe = self.header("content-type", content_type);
        probe.body = body.into();
        probe
    }

    pub fn request(&self) -> Request<Body> {
        let mut request = Request::builder()
            .method(self.method.clone())
            .uri(&self.uri);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        request.body(Body::from(self.body.clone())).unwrap()
    }

    /// `METHOD uri`, the URI cut short, for the failure list.
    pub fn target(&self) -> String {
        let uri: String = self.uri.chars().take(160).collect();
        format!("{} {uri}", self.method)
    }
}

/// Anonymous, or with the logged-in cookie and a valid bearer token.
pub fn as_each_caller(ctx: &Context, route: &str, probe: Probe) -> [Probe; 2] {
    let mut session = probe
        .clone()
        .header("cookie", &ctx.cookie)
        .header("authorization", format!("Bearer {}", ctx.bearer_for(route)));
    session.label.push_str(", logged in");
    [probe, session]
}

/// A valid form for any route: every field some handler reads.
pub fn form_fields(ctx: &Context) -> Vec<(&'static str, String)> {
    [
        ("grant_type", "refresh_token"),
        ("code", "mct_notacode"),
        ("redirect_uri", "http://127.0.0.1:41234/callback"),
        ("code_verifier", VERIFIER),
        ("client_id", &ctx.client_id),
        ("client_secret", &ctx.client_secret),
        ("refresh_token", &ctx.oauth_refresh),
        ("token", &ctx.oauth_token),
        ("token_type_hint", "access_token"),
        ("scope", "openid urn:matrix:client:api:*"),
        ("response_type", "code"),
        ("response_mode", "query"),
        ("state", "st4te"),
        ("nonce", "n0nce"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("prompt", "consent"),
        ("login_hint", "alice"),
        ("username", "alice"),
        ("password", "wonderland"),
        ("csrf", &ctx.csrf),
        ("next", "/account/"),
        ("decision", "allow"),
        ("redirectUrl", "https://app.example.com/"),
        ("resource", "acct:alice@example.com"),
        ("rel", "http://openid.net/specs/connect/1.0/issuer"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

/// A valid JSON document for any JSON route: the compat login, refresh
/// and logout bodies and a client registration together.
pub fn json_document(ctx: &Context, route: &str) -> Value {
    let refresh = match route.ends_with("/refresh") {
        true => json!(ctx.compat_refresh),
        false => json!(true),
    };
    json!({
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": "alice"},
        "user": "alice",
        "password": "wonderland",
        "device_id": "SWEEPDEVICE",
        "initial_device_display_name": "Sweep",
        "refresh_token": refresh,
        "token": "syt_notatoken",
        "client_name": "Sweep",
        "client_uri": "https://app.example.com/",
        "logo_uri": "https://app.example.com/logo.png",
        "policy_uri": "https://app.example.com/policy",
        "tos_uri": "https://app.example.com/tos",
        "redirect_uris": ["https://app.example.com/callback"],
        "application_type": "web",
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "contacts": ["admin@example.com"],
    })
}

fn encode(pairs: &[(&str, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Requests sent with every method to every path of a route.
pub fn generic(ctx: &Context, route: &str, path: &str, method: &Method) -> Vec<Probe> {
    let form = encode(&form_fields(ctx));
    let document = json_document(ctx, route).to_string();
    let probe = |label: &str| Probe::new(label, method.clone(), path);
    let query =
        |label: &str, query: &str| Probe::new(label, method.clone(), &format!("{path}?{query}"));
    static TEN_MB: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();
    let ten_mb = TEN_MB.get_or_init(|| Bytes::from(vec![b'a'; 10 * 1024 * 1024]));
    let deep_arrays = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_objects = format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    let basic = |raw: &[u8]| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    };
    let cookie_name = ctx.cookie.split('=').next().unwrap_or("mxauth");
    vec![
        probe("empty"),
        probe("valid form").body(FORM, form.clone()),
        probe("valid JSON").body(JSON, document.clone()),
        probe("code grant").body(
            FORM,
            form.replace("grant_type=refresh_token", "grant_type=authorization_code"),
        ),
        probe("client credentials grant").body(
            FORM,
            form.replace("grant_type=refresh_token", "grant_type=client_credentials"),
        ),
        probe("malformed JSON").body(JSON, r#"{"type": "m.login.password", "user": "al"#),
        probe("truncated form").body(
            FORM,
            "grant_type=authorization_code&code=abc&client_id=%E2%8",
        ),
        probe("JSON as form").body(FORM, document.clone()),
        probe("form as JSON").body(JSON, form.clone()),
        probe("form as text/plain").body("text/plain", form.clone()),
        probe("multipart").body(
            "multipart/form-data; boundary=x",
            "--x\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice\r\n--x--\r\n",
        ),
        probe("form without content type").with_body(form.clone()),
        probe("unknown charset").body(
            "application/x-www-form-urlencoded; charset=ebcdic",
            form.clone(),
        ),
        probe("content type of bytes")
            .header("content-type", b"\xff/\xfe")
            .with_body(form.clone()),
        probe("10 MB body")
            .body(FORM, ten_mb.clone())
            .header("content-length", "10485760"),
        probe("10 MB body without length").body(JSON, ten_mb.clone()),
        probe("100k nested arrays").body(JSON, deep_arrays),
        probe("100k nested objects").body(JSON, deep_objects),
        probe("invalid UTF-8 JSON").body(
            JSON,
            &b"{\"user\": \"\xff\xfe\", \"password\": \"\xc3\x28\"}"[..],
        ),
        probe("invalid UTF-8 form").body(FORM, &b"username=\xff&password=%FF&client_id=%C3%28"[..]),
        probe("JSON lone surrogates").body(JSON, r#"{"user": "\ud800", "client_name": "\udfff"}"#),
        probe("JSON huge numbers").body(
            JSON,
            r#"{"refresh_token": 1e400, "user": 123456789012345678901234567890}"#,
        ),
        probe("JSON array").body(JSON, "[1, \"a\", null]"),
        probe("JSON string").body(JSON, "\"alice\""),
        probe("JSON null").body(JSON, "null"),
        probe("NUL in form").body(FORM, form.replace("alice", "al%00ice")),
        probe("NUL in JSON").body(JSON, document.replace("alice", "al\\u0000ice")),
        probe("duplicate form fields").body(FORM, format!("{form}&{form}")),
        query(
            "duplicate query parameters",
            &format!("{form}&client_id=other&next=/x"),
        ),
        query("NUL in query", &form.replace("alice", "al%00ice")),
        query(
            "invalid UTF-8 in query",
            "login_hint=%FF&next=%C3%28&client_id=%80",
        ),
        query(
            "invalid percent-encoding",
            "next=%&login_hint=%ZZ&client_id=%G0&redirectUrl=%",
        ),
        probe("invalid percent-encoding form").body(FORM, "next=%&username=%ZZ&client_id=%G0"),
        query("60 KB query", &format!("login_hint={}", "a".repeat(60_000))),
        probe("Basic garbage")
            .body(FORM, form.clone())
            .header("authorization", "Basic !!!"),
        probe("Basic without colon")
            .body(FORM, form.clone())
            .header("authorization", basic(b"nocolon")),
        probe("Basic not UTF-8")
            .body(FORM, form.clone())
            .header("authorization", basic(b"\xff:\xfe")),
        probe("Basic with NUL")
            .body(FORM, form.clone())
            .header("authorization", basic(b"a\0:b\0")),
        probe("empty Bearer").header("authorization", "Bearer "),
        probe("Bearer not UTF-8").header("authorization", b"Bearer \xff\xfe"),
        probe("Bearer 8 KB").header("authorization", format!("Bearer {}", "x".repeat(8192))),
        probe("garbage cookie")
            .body(FORM, form.clone())
            .header("cookie", format!("{cookie_name}=garbage")),
        probe("8 KB cookie").header("cookie", format!("{cookie_name}={}", "A".repeat(8192))),
        probe("garbage X-Forwarded-For")
            .body(FORM, form)
            .header("x-forwarded-for", "::::, 999.1.1.1, abc, "),
    ]
}

impl Probe {
    fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }
}

/// Ways to spoil one form or query value; `None` drops the field's value
/// in favour of a second copy of the field.
const FORM_SPOILERS: &[(&str, &str)] = &[
    ("NUL", "%00"),
    ("control character", "%01"),
    ("invalid UTF-8", "%FF%FE"),
    ("empty", ""),
    ("odd Unicode", "%F0%9F%99%82%EF%BF%BE%E2%80%AE%C2%85"),
    ("quote", "%27%20OR%20%271%27%3D%271"),
    ("bad escape", "%ZZ%"),
];

/// Requests that spoil one field of a valid form (POST) or query (GET).
pub fn targeted_form(ctx: &Context, path: &str, method: &Method) -> Vec<Probe> {
    let fields = form_fields(ctx);
    let long = "a".repeat(30_000);
    let mut probes = Vec::new();
    for (i, (name, _)) in fields.iter().enumerate() {
        let spoilers = FORM_SPOILERS
            .iter()
            .map(|(label, raw)| (label.to_string(), raw.to_string()))
            .chain([("30 KB".to_owned(), long.clone())]);
        for (label, raw) in spoilers {
            let mut encoded: Vec<String> = fields
                .iter()
                .map(|(k, v)| encode(&[(*k, v.clone())]))
                .collect();
            encoded[i] = format!("{name}={raw}");
            let text = encoded.join("&");
            probes.push(spoiled(path, method, &format!("{name}: {label}"), text));
        }
        let twice = format!("{}&{name}=other", encode(&fields));
        probes.push(spoiled(path, method, &format!("{name}: twice"), twice));
    }
    probes
}

fn spoiled(path: &str, method: &Method, label: &str, text: String) -> Probe {
    if *method == Method::GET {
        Probe::new(label, Method::GET, &format!("{path}?{text}"))
    } else {
        Probe::new(label, method.clone(), path).body(FORM, text)
    }
}

/// Requests that spoil one value of a valid JSON document.
pub fn targeted_json(ctx: &Context, route: &str, path: &str) -> Vec<Probe> {
    let document = json_document(ctx, route);
    let spoilers = [
        ("NUL", json!("a\u{0}b")),
        ("control character", json!("\u{1}\u{1b}[31m")),
        ("100 KB", json!("a".repeat(100_000))),
        ("odd Unicode", json!("🙂\u{fffe}\u{202e}\u{85}")),
        ("huge number", json!(1e300)),
        ("negative", json!(-1)),
        ("array", json!(["a", 1])),
        ("object", json!({"a": "b"})),
        ("null", Value::Null),
        ("bool", json!(false)),
    ];
    let mut keys: Vec<String> = document.as_object().unwrap().keys().cloned().collect();
    keys.push("identifier.user".to_owned());
    keys.push("identifier.type".to_owned());
    keys.push("redirect_uris.0".to_owned());
    let mut probes = Vec::new();
    for key in &keys {
        for (label, value) in &spoilers {
            let mut spoiled = document.clone();
            let pointer = format!("/{}", key.replace('.', "/"));
            *spoiled.pointer_mut(&pointer).unwrap() = value.clone();
            let probe = Probe::new(&format!("JSON {key}: {label}"), Method::POST, path);
            probes.push(probe.body(JSON, spoiled.to_string()));
        }
    }
    probes
}
