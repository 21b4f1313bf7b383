//! mxauth's server: configuration schema, HTTP router, passwords, signing
//! keys. The CLI crate reads files and hands this crate resolved settings.

pub mod config;
pub mod http;
pub mod keys;
pub mod password_check;
pub mod passwords;
