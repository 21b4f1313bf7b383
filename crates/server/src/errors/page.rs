//! The HTML error page: [`PageError`], what page handlers and their
//! extractors return when a request cannot go on, and [`render_error_pages`],
//! the layer that turns it into `error.html`. The error carries only what the
//! page says, already in the request's language (`t!`); the layer has the
//! templates, so a handler can write `?` on a storage error without passing
//! the state around.

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
};

use super::unavailable;
use crate::{i18n::t, state::AppState, templates::ErrorContext};

/// A request a page cannot serve: a page saying what was wrong, or an
/// internal failure (logged once, when the response is built, and shown only
/// as "something went wrong").
#[derive(Debug)]
pub enum PageError {
    Shown {
        status: StatusCode,
        title: String,
        message: String,
        /// Seconds to send as `Retry-After` (rate limits).
        retry_after: Option<i64>,
    },
    Internal(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl PageError {
    /// A page with `status` saying `title` and `message`.
    pub fn new(status: StatusCode, title: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Shown {
            status,
            title: title.into(),
            message: message.into(),
            retry_after: None,
        }
    }

    /// The answer to a form whose CSRF token does not match (expired, or not
    /// from our page).
    pub fn expired_form() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            t!("This form has expired"),
            t!("Go back, reload the page and try again (the form's CSRF token did not match)."),
        )
    }

    /// Adds `Retry-After: seconds` to the page.
    pub fn with_retry_after(mut self, seconds: i64) -> Self {
        if let Self::Shown { retry_after, .. } = &mut self {
            *retry_after = Some(seconds);
        }
        self
    }

    /// The page itself, for the few answers built outside the pages' layer
    /// (the text guard, the compat SSO redirect).
    pub fn render(self, state: &AppState) -> Response {
        render_page(state, self.into_response())
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for PageError {
    fn from(e: E) -> Self {
        Self::Internal(Box::new(e))
    }
}

/// What the error page says; travels from [`PageError::into_response`] to
/// [`render_error_pages`] in the response's extensions.
#[derive(Debug, Clone)]
struct ErrorPage {
    title: String,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message, retry_after) = match self {
            Self::Shown {
                status,
                title,
                message,
                retry_after,
            } => (status, title, message, retry_after),
            Self::Internal(cause) => internal(cause.as_ref()),
        };
        let mut response = status.into_response();
        response
            .extensions_mut()
            .insert(ErrorPage { title, message });
        if status == StatusCode::SERVICE_UNAVAILABLE {
            unavailable::set_retry_after(response.headers_mut());
        } else if let Some(value) =
            retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// Logs an internal failure once, with its cause, and says only that
/// something failed on our side; 503 when the cause is the database being
/// unavailable.
fn internal(
    cause: &(dyn std::error::Error + Send + Sync + 'static),
) -> (StatusCode, String, String, Option<i64>) {
    let (status, title, message) = if unavailable::is_unavailable(cause) {
        unavailable::log(cause);
        (
            StatusCode::SERVICE_UNAVAILABLE,
            t!("Temporarily unavailable"),
            t!("The service cannot reach its database right now. Please try again in a few seconds."),
        )
    } else {
        tracing::error!(error = %cause, "internal error while rendering a page");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            t!("Something went wrong"),
            t!("The server could not complete this request. Please try again later."),
        )
    };
    (status, title, message, None)
}

/// The layer (`map_response_with_state`) every resource's routes pass:
/// renders the page of a [`PageError`] and leaves other answers alone.
pub async fn render_error_pages(State(state): State<AppState>, response: Response) -> Response {
    render_page(&state, response)
}

fn render_page(state: &AppState, mut response: Response) -> Response {
    let Some(page) = response.extensions_mut().remove::<ErrorPage>() else {
        return response;
    };
    let html = match state
        .templates
        .render(&ErrorContext::new(&page.title, &page.message))
    {
        Ok(html) => html,
        Err(e) => {
            // The error template itself failed (an override): say so once
            // and send the built-in words with an empty page.
            let failed = PageError::Internal(Box::new(e)).into_response();
            return render_fallback(failed);
        }
    };
    let (mut parts, _) = response.into_parts();
    let mut page = Html(html).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.extend(page.headers_mut().drain());
    secure_headers(&mut parts.headers);
    Response::from_parts(parts, page.into_body())
}

/// The answer when not even the error page renders: the status with an
/// empty HTML body, as before this layer existed.
fn render_fallback(mut response: Response) -> Response {
    response.extensions_mut().remove::<ErrorPage>();
    let (mut parts, _) = response.into_parts();
    let page = Html(String::new()).into_response();
    let (page_parts, body) = page.into_parts();
    parts.headers.extend(page_parts.headers);
    secure_headers(&mut parts.headers);
    Response::from_parts(parts, body)
}

/// The headers of every page: no framing (clickjacking), no caching.
pub fn secure_headers(headers: &mut HeaderMap) {
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
}
