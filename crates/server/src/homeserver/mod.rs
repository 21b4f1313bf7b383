//! The homeserver connection: what mxauth asks the homeserver to do
//! (create and update users, create and delete devices). One trait, with the
//! Synapse implementation (its `/_synapse/mas/*` API, Synapse ≥ 1.136) and an
//! in-process fake for tests.

mod fake;
mod synapse;

use std::{future::Future, pin::Pin};

pub use fake::FakeHomeserver;
pub use synapse::SynapseConnection;
use thiserror::Error;

/// A boxed future, so the trait can be used as `dyn Homeserver`.
pub type HsFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, HomeserverError>> + Send + 'a>>;

/// Create or update a user on the homeserver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvisionRequest {
    pub localpart: String,
    /// `Some(Some(name))` sets, `Some(None)` clears, `None` leaves it.
    pub display_name: Option<Option<String>>,
    /// The user's email addresses, replacing the homeserver's list.
    pub emails: Option<Vec<String>>,
    pub locked: bool,
}

#[derive(Debug, Error)]
pub enum HomeserverError {
    #[error("{call}: cannot reach the homeserver: {reason}")]
    Unreachable { call: &'static str, reason: String },
    #[error("{call}: the homeserver answered {status}{}: {message}", errcode.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Refused {
        call: &'static str,
        status: u16,
        errcode: Option<String>,
        message: String,
    },
    #[error("{call}: this homeserver connection is read-only (matrix.kind: synapse_read_only)")]
    ReadOnly { call: &'static str },
}

impl HomeserverError {
    /// Whether the homeserver will refuse the same request whenever it is
    /// sent: a 4xx about the request itself (`M_INVALID_USERNAME`,
    /// `M_INVALID_PARAM`…) or a read-only connection. Not permanent, because
    /// the same request may work later without anyone changing it: network
    /// errors, 5xx and 429 (the homeserver is down or busy), 408, 404 (the
    /// user is not provisioned yet; its provisioning job may still run) and
    /// 401/403 (the shared secret, which an admin fixes in the configuration).
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Unreachable { .. } => false,
            Self::ReadOnly { .. } => true,
            Self::Refused { status, .. } => {
                (400..500).contains(status) && !matches!(status, 401 | 403 | 404 | 408 | 429)
            }
        }
    }
}

/// The homeserver's answer to "may this localpart be registered?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    Available,
    /// Refused, with the homeserver's `errcode` (`M_USER_IN_USE`,
    /// `M_INVALID_USERNAME`, `M_EXCLUSIVE`) and message.
    Unavailable {
        errcode: String,
        message: String,
    },
}

impl Availability {
    pub fn is_available(&self) -> bool {
        matches!(self, Self::Available)
    }
}

/// What the homeserver knows of a user (`query_user`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HomeserverUser {
    pub user_id: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub is_suspended: bool,
    pub is_deactivated: bool,
}

/// What mxauth needs from a homeserver.
pub trait Homeserver: Send + Sync {
    /// The server name: the part after `:` in user IDs.
    fn server_name(&self) -> &str;

    /// The user as the homeserver sees it; `None` when unknown.
    fn query_user<'a>(&'a self, localpart: &'a str) -> HsFuture<'a, Option<HomeserverUser>>;

    fn set_display_name<'a>(
        &'a self,
        localpart: &'a str,
        display_name: &'a str,
    ) -> HsFuture<'a, ()>;

    fn unset_display_name<'a>(&'a self, localpart: &'a str) -> HsFuture<'a, ()>;

    fn update_device_display_name<'a>(
        &'a self,
        localpart: &'a str,
        device_id: &'a str,
        display_name: &'a str,
    ) -> HsFuture<'a, ()>;

    /// Creates or updates a user. Returns whether it was created.
    fn provision_user<'a>(&'a self, request: &'a ProvisionRequest) -> HsFuture<'a, bool>;

    /// Whether the homeserver would register this localpart, and if not why
    /// (taken, reserved for an application service, against its rules).
    fn localpart_availability<'a>(&'a self, localpart: &'a str) -> HsFuture<'a, Availability>;

    /// Creates a device if missing (and sets its name).
    fn upsert_device<'a>(
        &'a self,
        localpart: &'a str,
        device_id: &'a str,
        display_name: Option<&'a str>,
    ) -> HsFuture<'a, ()>;

    fn delete_device<'a>(&'a self, localpart: &'a str, device_id: &'a str) -> HsFuture<'a, ()>;

    /// Makes the user's devices exactly `devices`: missing ones are created,
    /// others deleted.
    fn sync_devices<'a>(&'a self, localpart: &'a str, devices: &'a [String]) -> HsFuture<'a, ()>;

    /// Deactivates the user (and erases their data when `erase`).
    fn delete_user<'a>(&'a self, localpart: &'a str, erase: bool) -> HsFuture<'a, ()>;

    fn reactivate_user<'a>(&'a self, localpart: &'a str) -> HsFuture<'a, ()>;

    /// Lets the user replace their cross-signing keys without interactive
    /// authentication for a while.
    fn allow_cross_signing_reset<'a>(&'a self, localpart: &'a str) -> HsFuture<'a, ()>;
}

#[cfg(test)]
mod tests {
    use super::HomeserverError;

    fn refused(status: u16) -> HomeserverError {
        HomeserverError::Refused {
            call: "provision_user",
            status,
            errcode: None,
            message: String::new(),
        }
    }

    #[test]
    fn only_refusals_about_the_request_itself_are_permanent() {
        for status in [400, 409, 410, 422] {
            assert!(refused(status).is_permanent(), "{status}");
        }
        for status in [401, 403, 404, 408, 429, 500, 502, 503, 504] {
            assert!(!refused(status).is_permanent(), "{status}");
        }
        let down = HomeserverError::Unreachable {
            call: "provision_user",
            reason: "connection refused".into(),
        };
        assert!(!down.is_permanent());
        let read_only = HomeserverError::ReadOnly {
            call: "provision_user",
        };
        assert!(read_only.is_permanent());
    }
}
