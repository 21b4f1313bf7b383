//! The error answers of the admin API, as MAS gives them:
//! `{"errors": [{"title": "…"}]}` with the status that says what went
//! wrong. A database failure is a 503 that says to retry, never a 500.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use mxauth_storage::StorageError;
use serde::Serialize;
use utoipa::ToSchema;

/// One error of an answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// What went wrong, in words.
    pub title: String,
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub errors: Vec<ErrorDetail>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub title: String,
}

impl ApiError {
    pub fn new(status: StatusCode, title: impl Into<String>) -> Self {
        Self {
            status,
            title: title.into(),
        }
    }

    pub fn bad_request(title: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, title)
    }

    pub fn not_found(what: &str, id: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} {id} not found"))
    }

    pub fn conflict(title: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, title)
    }

    pub fn unauthorized(title: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, title)
    }

    pub fn forbidden(title: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, title)
    }
}

/// The id of a path, which must be a ULID.
pub fn parse_id(id: &str) -> Result<ulid::Ulid, ApiError> {
    parse_ulid(id).ok_or_else(|| ApiError::bad_request(format!("{id:?} is not a ULID")))
}

/// A ULID, in either case. 26 base32 digits hold 130 bits and a ULID 128,
/// so one above `7ZZZZZZZZZZZZZZZZZZZZZZZZZ` is refused, as the ULID spec
/// ("Overflow Errors when Parsing Base32 Strings") requires; the `ulid`
/// crate alone would drop the top bits and read another id.
pub fn parse_ulid(text: &str) -> Option<ulid::Ulid> {
    if !matches!(text.as_bytes().first(), Some(b'0'..=b'7')) {
        return None;
    }
    text.parse().ok()
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        tracing::warn!("admin API: database error: {e}");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the database cannot be reached; try again in a moment",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            errors: vec![ErrorDetail { title: self.title }],
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                "5".parse().expect("a number"),
            );
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// A JSON body whose refusal (not JSON, wrong fields, an unknown field) is
/// an [`ApiError`] with the API's error shape, not axum's plain text.
/// Every body the document describes is an object: serde alone would also
/// read a struct from an array of its fields (`[true]` as `{"admin":
/// true}`), which is refused too.
pub struct ApiJson<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = match Json::<serde_json::Value>::from_request(req, state).await {
            Ok(Json(value)) => value,
            Err(rejection) => return Err(ApiError::bad_request(rejection.body_text())),
        };
        object_body(value).map(Self)
    }
}

/// `value` as a `T`, refused unless it is a JSON object.
pub fn object_body<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request(format!("the body is not a valid request: {e}")))
}
