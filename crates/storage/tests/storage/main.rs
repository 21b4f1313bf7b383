//! The storage suite. Every test runs twice: on a fresh SQLite file always, and
//! on a fresh PostgreSQL schema when `DATABASE_URL` is set. Under `CI=true` a
//! missing `DATABASE_URL` fails the PostgreSQL half instead of skipping it.

// Tests may panic on failure; that is how they fail.
#![allow(clippy::unwrap_used)]

mod harness;

mod account;
mod client_removal;
mod compat;
mod email_authentications;
mod jobs;
mod migrations;
mod oauth2;
mod policy_data;
mod rotation;
mod stored_values;
mod syn2mas;
mod upstream;
mod users;
