//! How each surface says that a request failed: the OAuth body of RFC 6749
//! §5.2 (`oauth.rs`), the HTML error page (`page.rs`), and the 503 every
//! surface sends while the database is unavailable (`unavailable.rs`). They
//! sit below handlers and extractors, which both answer with them. (The
//! Matrix `{"errcode","error"}` body is `handlers/compat/error.rs`.)

pub mod oauth;
pub mod page;
pub mod unavailable;

pub use oauth::{no_store_json, OAuthError};
pub use page::PageError;
