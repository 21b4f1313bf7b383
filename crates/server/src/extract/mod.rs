//! Axum extractors: the preambles handlers share, each answering a refusal
//! in its surface's dialect. `client_ip.rs` (the client's address, behind
//! trusted proxies), `oauth_form.rs` (an OAuth form, no parameter twice),
//! `client_auth.rs` (the authenticated OAuth client), `csrf_form.rs` (a page
//! form whose CSRF token matched), `session.rs` (the browser's cookie and
//! who is logged in), `user_agent.rs` (the `User-Agent`, bounded).

pub mod client_auth;
pub mod client_ip;
pub mod csrf_form;
pub mod oauth_form;
pub mod session;
pub mod user_agent;

pub use client_auth::{authenticate, AuthenticatedClient, ClientAuthEndpoint};
pub use client_ip::ClientIp;
pub use csrf_form::{CsrfForm, CsrfProtected};
pub use oauth_form::{form_params, OAuthForm, OAuthParams};
pub use session::{cookie_with_csrf, current_user, PageSession};
pub use user_agent::user_agent;
