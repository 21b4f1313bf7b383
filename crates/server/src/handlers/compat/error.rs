//! Matrix error answers (C-S API "Standard error response").

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

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

    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error in the compatibility layer");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "M_UNKNOWN",
            "Internal server error",
        )
    }
}

impl<E: std::error::Error> From<E> for MatrixError {
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
        (self.status, Json(body)).into_response()
    }
}
