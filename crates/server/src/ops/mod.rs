//! Operations that more than one surface performs: the login page, the
//! legacy Matrix API, the OAuth endpoints, `mxauth manage` and the coming
//! admin API all call these, so a rule (how a password login is checked,
//! what ending a session queues, how a device is created) lives once. No
//! surface calls into another surface's handler.
//!
//! Each operation takes the transaction it writes in and queues the jobs
//! its change needs inside it, so the job exists exactly when the change is
//! committed. None awaits the network inside a transaction: a device is
//! created on the homeserver ([`devices`]) before the caller opens one.

pub mod audit;
pub mod compat;
pub mod devices;
pub mod email_codes;
pub mod login;
pub mod personal_tokens;
pub mod recovery;
pub mod registration;
pub mod sessions;
pub mod tokens;
pub mod username;
pub mod users;

use chrono::{DateTime, Utc};
use mxauth_model::{Clock, RandomSource};
use ulid::Ulid;

use crate::state::AppState;

/// Time and randomness for an operation: the state's in the server, the
/// system's in the CLI.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub clock: &'a dyn Clock,
    pub random: &'a dyn RandomSource,
}

impl<'a> From<&'a AppState> for Context<'a> {
    fn from(state: &'a AppState) -> Self {
        Self {
            clock: state.clock.as_ref(),
            random: state.random.as_ref(),
        }
    }
}

impl Context<'_> {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// A new row id, ordered by `now`.
    pub fn new_id(&self, now: DateTime<Utc>) -> Ulid {
        mxauth_storage::new_ulid(now, &mut self.random.rng())
    }
}
