//! CORS for the resources browser clients call with `fetch`: the legacy
//! Matrix API (the C-S spec's "Web Browser Clients" section asks any origin
//! to be allowed), discovery, the key set and the OAuth endpoints (Element
//! Web and other single-page apps run the whole OAuth flow from the
//! browser: RFC 8252 §8.x does not apply to them, but the token, revocation
//! and registration endpoints must still answer their preflights). No
//! credentials are allowed: these endpoints authenticate with headers and
//! bodies, never with cookies, and the pages (which use the cookie) get no
//! CORS at all.

use axum::http::{header, Method};
use tower_http::cors::{Any, CorsLayer};

pub fn layer() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::HeaderName::from_static("x-requested-with"),
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
        ])
}
