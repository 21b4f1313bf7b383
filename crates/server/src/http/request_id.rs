//! Request ids: every request carries one, as `X-Request-Id` on the request
//! (for the handler and the logs) and on the response (for the client and
//! the admin reading a bug report). The reverse proxy's id is kept when the
//! proxy is one of `http.trusted_proxies`, so one id follows a request
//! through nginx and mxauth; anyone else's is replaced by a fresh ULID, so a
//! client cannot forge log lines that look like another request's.

use axum::{
    extract::{Request, State},
    http::HeaderValue,
    middleware::Next,
    response::Response,
};
use mxauth_model::{Clock, RandomSource};
use std::sync::Arc;
use tower_http::request_id::{MakeRequestId, RequestId};

use crate::{extract::client_ip, state::AppState};

pub const HEADER: &str = "x-request-id";

/// A proxy's id longer than this is replaced: it goes into every log line.
const MAX_LEN: usize = 128;

/// Drops an incoming `X-Request-Id` unless a trusted proxy sent it (and it
/// is of a sane length); [`MakeUlid`] then gives the request a fresh one.
pub async fn keep_only_trusted(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = client_ip::peer_of(request.extensions());
    let trusted = client_ip::peer_is_trusted(peer, &state.site.trusted_proxies);
    let sane = request
        .headers()
        .get(HEADER)
        .is_some_and(|id| !id.is_empty() && id.len() <= MAX_LEN);
    if !(trusted && sane) {
        request.headers_mut().remove(HEADER);
    }
    next.run(request).await
}

/// Makes ULIDs from the state's clock and random source.
#[derive(Clone)]
pub struct MakeUlid {
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
}

impl MakeUlid {
    pub fn new(state: &AppState) -> Self {
        Self {
            clock: state.clock.clone(),
            random: state.random.clone(),
        }
    }
}

impl MakeRequestId for MakeUlid {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let id = mxauth_storage::new_ulid(self.clock.now(), &mut self.random.rng());
        HeaderValue::from_str(&id.to_string())
            .ok()
            .map(RequestId::new)
    }
}

/// The request's id, as set by the layers above (`-` if there is none,
/// which only a test calling a handler directly sees).
pub fn of(request: &Request) -> String {
    request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-")
        .to_owned()
}
