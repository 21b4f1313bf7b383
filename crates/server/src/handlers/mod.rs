//! HTTP handlers, one file per endpoint, grouped by resource. Each resource
//! has a `router()` that the listener merges when it serves the resource.

pub mod admin;
pub mod authorization_response;
pub mod compat;
pub mod discovery;
pub mod oauth2;
pub mod pages;
pub mod upstream;

#[cfg(test)]
mod login_tests;
