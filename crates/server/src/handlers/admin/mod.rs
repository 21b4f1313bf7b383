//! Resource `adminapi`: the admin REST API (`v1/`), its OpenAPI document
//! at `/api/spec.json` (with this server's URL) and an API browser at
//! `/api/doc/`, a page served from the binary (no CDN) that lists the
//! operations of the document.

pub mod v1;

use std::sync::LazyLock;

use axum::{
    extract::State,
    http::header,
    response::{Html, IntoResponse, Response},
    routing::get,
    Router,
};

use crate::{state::AppState, urls::paths};

/// The document, built once from the routes' annotations.
static OPENAPI: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(|| v1::routes().1);

pub fn router() -> Router<AppState> {
    let (api, _) = v1::routes();
    api.route(paths::API_SPEC, get(spec))
        .route(paths::API_DOC, get(doc))
}

/// The OpenAPI 3.1 document, its server being this one's public base.
async fn spec(State(state): State<AppState>) -> Response {
    let mut document = OPENAPI.clone();
    let base = state.urls.absolute("/");
    document.servers = Some(vec![utoipa::openapi::Server::new(
        base.trim_end_matches('/'),
    )]);
    let body = document.to_json().unwrap_or_else(|_| "{}".to_owned());
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The API browser: a page that reads `/api/spec.json` and lists every
/// operation with its parameters, body and answers.
async fn doc(State(state): State<AppState>) -> Html<String> {
    let spec_url = state.urls.relative(paths::API_SPEC);
    Html(include_str!("api_browser.html").replace("{{SPEC_URL}}", &spec_url))
}
