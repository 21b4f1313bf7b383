//! The OAuth error body, under the name the OAuth handlers import it by; it
//! lives in [`crate::errors::oauth`], below the extractors that answer with
//! it too.

pub use crate::errors::oauth::{no_store_json, OAuthError};
