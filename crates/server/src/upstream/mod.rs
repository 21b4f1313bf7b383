//! The OpenID Connect / OAuth 2.0 client side: signing people in through
//! the upstream providers of `upstream_oauth2.providers`.
//!
//! - `provider`: a stored provider read back, with effective settings;
//! - `metadata`: discovery and JWK Sets, cached;
//! - `exchange`: the code exchange with client authentication;
//! - `id_token`: signature and claims checks of what the provider signs;
//! - `userinfo`: the userinfo request;
//! - `claims`: `claims_imports`;
//! - `error`: every failure, as a page.
//!
//! The HTTP handlers of the flow are in `handlers/upstream/`.

pub mod claims;
pub mod error;
pub mod exchange;
pub mod id_token;
pub mod metadata;
pub mod provider;
pub mod userinfo;

pub use error::UpstreamError;
pub use metadata::MetadataCache;
pub use provider::Provider;
