//! "The database is unavailable": how every surface recognises it and the
//! `Retry-After` it sends with its 503 (RFC 9110 §10.2.3), so clients and
//! load balancers back off and retry instead of treating it as a failure of
//! the request.

use axum::http::{header, HeaderMap, HeaderValue};
use mxauth_storage::StorageError;

/// Seconds a client is asked to wait before retrying.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// Whether `error` (or what caused it) is the database being unavailable:
/// unreachable, out of connections, or unable to write.
pub fn is_unavailable(error: &(dyn std::error::Error + 'static)) -> bool {
    StorageError::is_unavailable_cause(error)
}

/// Adds `Retry-After: 5`.
pub fn set_retry_after(headers: &mut HeaderMap) {
    headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
}

/// Logs the cause once, as a warning: an outage is not a bug of ours.
pub fn log(cause: &dyn std::fmt::Display) {
    tracing::warn!(error = %cause, "answering 503: the database is unavailable");
}
