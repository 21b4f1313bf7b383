//! mxauth's server: configuration schema, HTTP router, passwords, signing
//! keys. The CLI crate reads files and hands this crate resolved settings.

pub mod activity;
pub mod captcha;
pub mod cookies;
pub mod email;
pub mod errors;
pub mod extract;
pub mod handlers;
pub mod homeserver;
pub mod http;
pub mod i18n;
pub mod jobs;
pub mod metrics;
pub mod ops;
pub mod outbound;
pub mod passwords;
pub mod policy;
pub mod rate_limit;
pub mod state;
pub mod sync;
pub mod templates;
pub mod tracing_context;
pub mod upstream;
pub mod urls;

#[cfg(test)]
pub(crate) mod test_support;
