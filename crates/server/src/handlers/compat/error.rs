//! Matrix error answers (C-S API "Standard error response").

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use crate::errors::unavailable;

#[derive(Debug)]
pub struct MatrixError {
    pub status: StatusCode,
    pub errcode: &'static str,
    pub error: String,
    pub retry_after_ms: Option<i64>,
}

impl MatrixError {
    pub fn new(status: StatusCode, errcode: &'static str, error: impl Into<String>) -> Self {
        Self {
            status,
            errcode,
            error: error.into(),
            retry_after_ms: None,
        }
    }

    pub fn forbidden(error: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "M_FORBIDDEN", error)
    }

    pub fn bad_json(error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "M_BAD_JSON", error)
    }

    pub fn unknown_token(error: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "M_UNKNOWN_TOKEN", error)
    }

    /// An internal failure, or 503 `M_UNKNOWN` with `Retry-After` when the
    /// cause is the database being unavailable.
    pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
        if unavailable::is_unavailable(cause) {
            unavailable::log(cause);
            let mut e = Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "M_UNKNOWN",
                "The database is temporarily unavailable; try again in a few seconds",
            );
            e.retry_after_ms = Some(i64::from(unavailable::RETRY_AFTER_SECONDS) * 1000);
            return e;
        }
        tracing::error!(error = %cause, "internal error in the compatibility layer");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "M_UNKNOWN",
            "Internal server error",
        )
    }
}

impl<E: std::error::Error + 'static> From<E> for MatrixError {
    fn from(e: E) -> Self {
        Self::internal(&e)
    }
}

impl IntoResponse for MatrixError {
    fn into_response(self) -> Response {
        let mut body = json!({ "errcode": self.errcode, "error": self.error });
        if let Some(ms) = self.retry_after_ms {
            body["retry_after_ms"] = json!(ms);
        }
        if self.errcode == "M_UNKNOWN_TOKEN" {
            body["soft_logout"] = json!(false);
        }
        let mut response = (self.status, Json(body)).into_response();
        // The header too (C-S API: "Retry-After" on 429 and 503), rounded up
        // to whole seconds.
        if let Some(ms) = self.retry_after_ms.filter(|ms| *ms > 0) {
            let seconds = (ms + 999) / 1000;
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}
