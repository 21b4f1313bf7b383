//! The text guard: one middleware in front of every route that reads the
//! request body (up to [`BODY_LIMIT`]) and refuses text no handler can use
//! before any handler or the database sees it: NUL anywhere (PostgreSQL's
//! `text` cannot hold it), other control characters in URL paths, query
//! parameters and form fields, and invalid UTF-8. The answer is a 400 (413
//! for a body over the limit) naming the field, in the dialect of the route:
//! Matrix JSON under `/_matrix/`, an OAuth error under `/oauth2/` and
//! `/.well-known/`, the admin API's `{"errors": [{"title"}]}` under
//! `/api/admin/` (the shape its OpenAPI document promises), an HTML page
//! elsewhere. The plain-text refusals of
//! axum's extractors are said again in the same dialect.
//!
//! What is not refused: JSON strings keep every character but NUL (JSON
//! escapes make any control character valid JSON, and a password may hold
//! unusual characters); tab, CR and LF stay allowed everywhere. A `%` not
//! followed by two hex digits stays a literal `%`, as the WHATWG URL
//! standard (§5.1 `application/x-www-form-urlencoded` parsing) and every
//! handler's form parser read it.

use std::pin::Pin;

use axum::{
    body::{Body, Bytes, HttpBody},
    extract::{Request, State},
    http::{header, request::Parts, HeaderMap, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::Value;

use crate::state::AppState;
use crate::{
    errors::{OAuthError, PageError},
    handlers::{admin::v1::error::ApiError, compat},
    i18n::t,
    urls::paths,
};

/// The largest request body read: far above any form or JSON document a
/// client sends here (a client registration with inline keys is a few KiB).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Why a request is refused.
#[derive(Debug, PartialEq, Eq)]
enum Problem {
    /// 400: `what` names the field, `flaw` says what is wrong with it.
    Invalid { what: String, flaw: Flaw },
    /// 413: the body is larger than [`BODY_LIMIT`].
    TooLarge,
    /// 400: the body could not be read (the client went away mid-body).
    Unreadable,
    /// An extractor's plain-text refusal (wrong content type, a duplicate
    /// or malformed field), to be said again in the route's dialect.
    Rejected { status: StatusCode, message: String },
}

#[derive(Debug, PartialEq, Eq)]
enum Flaw {
    Nul,
    Control(char),
    NotUtf8,
}

impl Problem {
    fn status(&self) -> StatusCode {
        match self {
            Problem::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Problem::Rejected { status, .. } => *status,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn message(&self) -> String {
        match self {
            Problem::Invalid { what, flaw } => match flaw {
                Flaw::Nul => format!("{what} contains a NUL character"),
                Flaw::Control(c) => {
                    format!("{what} contains the control character U+{:04X}", *c as u32)
                }
                Flaw::NotUtf8 => format!("{what} is not valid UTF-8"),
            },
            Problem::TooLarge => format!("the request body is larger than {BODY_LIMIT} bytes"),
            Problem::Unreadable => "the request body could not be read".to_owned(),
            Problem::Rejected { message, .. } => message.clone(),
        }
    }
}

/// Where the admin API's operations live (its document and browser, under
/// `/api/` too, take no input to refuse).
const ADMIN_API_PREFIX: &str = "/api/admin/";

/// Whose error format a route speaks, decided by its path (relative to the
/// listener's prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Matrix,
    OAuth,
    Admin,
    Html,
}

impl Dialect {
    fn of(path: &str) -> Self {
        if path.starts_with(paths::MATRIX_API_PREFIX) {
            Dialect::Matrix
        } else if path.starts_with("/oauth2/") || path.starts_with("/.well-known/") {
            Dialect::OAuth
        } else if path.starts_with(ADMIN_API_PREFIX) {
            Dialect::Admin
        } else {
            Dialect::Html
        }
    }

    fn answer(self, state: &AppState, problem: &Problem) -> Response {
        let status = problem.status();
        let message = problem.message();
        match self {
            Dialect::Matrix => {
                let errcode = match problem {
                    Problem::TooLarge => "M_TOO_LARGE",
                    _ => "M_INVALID_PARAM",
                };
                compat::MatrixError::new(status, errcode, message).into_response()
            }
            Dialect::OAuth => {
                let mut error = OAuthError::invalid_request(message);
                error.status = status;
                error.into_response()
            }
            Dialect::Admin => ApiError::new(status, message).into_response(),
            Dialect::Html => {
                // The title in the request's language; the message names
                // the field in the words every dialect shares.
                let title = match problem {
                    Problem::TooLarge => t!("Request too large"),
                    _ => t!("Invalid request"),
                };
                PageError::new(status, title, message).render(state)
            }
        }
    }
}

/// The middleware: checks the path, the query and the body, then hands the
/// request on with its body buffered.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let dialect = Dialect::of(request.uri().path());
    let (parts, body) = request.into_parts();
    let checked = match check_url(&parts) {
        Ok(()) => read_body(&parts.headers, body).await,
        Err(problem) => Err(problem),
    };
    let bytes = match checked.and_then(|bytes| check_body(&parts.headers, bytes)) {
        Ok(bytes) => bytes,
        Err(problem) => return dialect.answer(&state, &problem),
    };
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    in_dialect(&state, dialect, response).await
}

/// axum's extractors refuse in plain text (415 for a wrong content type,
/// 400 or 422 for a query or form that does not fit); clients of the OAuth
/// and Matrix APIs expect their JSON errors (RFC 6749 §5.2, C-S API
/// "Standard error response"), people a page. 422 becomes 400, the status
/// RFC 6749 §5.2 gives `invalid_request`.
async fn in_dialect(state: &AppState, dialect: Dialect, response: Response) -> Response {
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    let status = match response.status() {
        StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
        s @ (StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE) => s,
        _ => return response,
    };
    if !plain {
        return response;
    }
    let Ok(text) = axum::body::to_bytes(response.into_body(), 64 * 1024).await else {
        return dialect.answer(state, &Problem::Unreadable);
    };
    let message = String::from_utf8_lossy(&text).trim().to_owned();
    dialect.answer(state, &Problem::Rejected { status, message })
}

fn check_url(parts: &Parts) -> Result<(), Problem> {
    let path = percent_decode(parts.uri.path().as_bytes(), false);
    check_text(&path, || "the URL path".to_owned())?;
    if let Some(query) = parts.uri.query() {
        check_pairs(query.as_bytes(), "query parameter")?;
    }
    Ok(())
}

/// Reads the whole body, refusing one over the limit as soon as its
/// `Content-Length` or its running size says so.
async fn read_body(headers: &HeaderMap, mut body: Body) -> Result<Bytes, Problem> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return Err(Problem::TooLarge);
    }
    if body.size_hint().exact() == Some(0) {
        return Ok(Bytes::new());
    }
    let mut buffer = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let Ok(data) = frame.map_err(|_| Problem::Unreadable)?.into_data() else {
            continue; // trailers carry no text a handler reads
        };
        if buffer.len() + data.len() > BODY_LIMIT {
            return Err(Problem::TooLarge);
        }
        buffer.extend_from_slice(&data);
    }
    Ok(Bytes::from(buffer))
}

/// Checks a form body's fields and any JSON document's strings. A body
/// that is neither is left to the handler, which refuses it in its own
/// words (malformed JSON, wrong content type).
fn check_body(headers: &HeaderMap, bytes: Bytes) -> Result<Bytes, Problem> {
    if bytes.is_empty() {
        return Ok(bytes);
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if is_form {
        check_pairs(&bytes, "form field")?;
    }
    // Whatever the content type: the compat and registration handlers
    // parse their body as JSON without looking at it. In valid JSON a NUL
    // can only be written as the escape `\u0000` (RFC 8259 §7: raw control
    // characters are not allowed in strings), so only a body holding that
    // escape is parsed here; the handlers' own parse is not repeated on
    // every login. serde_json refuses documents nested deeper than 128
    // levels, so the walk below is shallow.
    let may_hold_nul = bytes.windows(6).any(|w| w == b"\\u0000");
    if let Some(document) = may_hold_nul
        .then(|| serde_json::from_slice::<Value>(&bytes).ok())
        .flatten()
    {
        let mut path = String::new();
        check_json(&document, &mut path)?;
    }
    Ok(bytes)
}

/// `application/x-www-form-urlencoded` pairs (a query string or a form).
fn check_pairs(input: &[u8], kind: &str) -> Result<(), Problem> {
    for pair in input.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let name = percent_decode(name, true);
        check_text(&name, || format!("a {kind} name"))?;
        check_text(&percent_decode(value, true), || {
            format!("the {kind} {}", quoted(&String::from_utf8_lossy(&name)))
        })?;
    }
    Ok(())
}

/// JSON string values and object keys: only NUL is refused.
fn check_json(value: &Value, path: &mut String) -> Result<(), Problem> {
    let nul = |what: String| Problem::Invalid {
        what,
        flaw: Flaw::Nul,
    };
    let here = |path: &str| match path {
        "" => "the JSON body".to_owned(),
        p => format!("the JSON field {}", quoted(p)),
    };
    match value {
        Value::String(s) if s.contains('\0') => Err(nul(here(path))),
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let result = check_json(item, path);
            path.truncate(len);
            result
        }),
        Value::Object(map) => map.iter().try_for_each(|(key, item)| {
            if key.contains('\0') {
                return Err(nul(format!("a key of {}", here(path))));
            }
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key);
            let result = check_json(item, path);
            path.truncate(len);
            result
        }),
        _ => Ok(()),
    }
}

/// Valid UTF-8 without NUL or control characters other than tab, CR and LF.
/// `what` names the field, built only when there is something to refuse.
fn check_text(bytes: &[u8], what: impl FnOnce() -> String) -> Result<(), Problem> {
    let flaw = match std::str::from_utf8(bytes) {
        Err(_) => Flaw::NotUtf8,
        Ok(text) => match text.chars().find(|c| is_refused_control(*c)) {
            None => return Ok(()),
            Some('\0') => Flaw::Nul,
            Some(c) => Flaw::Control(c),
        },
    };
    Err(Problem::Invalid { what: what(), flaw })
}

/// NUL, the other C0 controls and DEL, except tab, LF and CR: no URL, identifier, token or
/// typed form value holds one (RFC 6749 Appendix A allows none of them in
/// any parameter, not even `password`, which is UNICODECHARNOCRLF).
fn is_refused_control(c: char) -> bool {
    c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// A field name for a message: quoted, escaped, and cut at 64 characters.
fn quoted(name: &str) -> String {
    let cut: String = name.chars().take(64).collect();
    let more = if cut.len() < name.len() { "…" } else { "" };
    format!("{:?}{more}", cut)
}

/// Percent-decoding to bytes (`+` is a space in forms); a `%` without two
/// hex digits stays as it is.
fn percent_decode(input: &[u8], plus_is_space: bool) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let byte = input[i];
        let escaped = (byte == b'%')
            .then(|| Some((hex(*input.get(i + 1)?)?, hex(*input.get(i + 2)?)?)))
            .flatten();
        match (byte, escaped) {
            (_, Some((high, low))) => {
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
            (b'+', None) if plus_is_space => out.push(b' '),
            (other, None) => out.push(other),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests;
