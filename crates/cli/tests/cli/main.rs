//! End-to-end tests of the `mxauth` binary: configuration commands, user
//! management on SQLite and PostgreSQL, the server (development mode, path
//! prefix, shutdown), and migrating from Synapse.

// Tests may panic on failure; that is how they fail.
#![allow(clippy::unwrap_used)]

mod homeserver_stub;
mod pg_cluster;
mod support;
// The aiosmtpd harness of the server's email tests, shared: one way to run
// the SMTP peer and read what it received. Not every helper is used here.
#[allow(dead_code)]
#[path = "../../../server/src/email/smtp_peer.rs"]
mod smtp_peer;

mod account_pages;
mod admin_api;
mod admin_api_schema;
mod admin_console;
mod browser;
mod config_commands;
mod dev_mode;
mod email;
mod faults;
mod instances;
mod manage;
mod matrix_sdk;
mod oidc;
mod op_peer;
mod self_service;
mod server;
mod slow_homeserver;
mod syn2mas;
mod syn2mas_bulk;
mod synapse;
mod synapse_import;
mod synapse_peer;
mod sync;
mod telemetry;
mod templates;
mod upstream;
mod upstream_flow;
mod upstream_legacy;
mod upstream_syn2mas;
mod webdriver;
