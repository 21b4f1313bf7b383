//! How a job fails: for now (retried with backoff) or for good.

use crate::homeserver::HomeserverError;

#[derive(Debug)]
pub enum JobError {
    /// Try again later.
    Retry(String),
    /// Will never work (bad payload, unknown queue, unknown user).
    Permanent(String),
}

/// A refusal the homeserver will repeat (`M_INVALID_USERNAME`, a read-only
/// connection…) fails the job at once: retrying it for an hour changes
/// nothing and hides the reason. Everything else is retried with backoff,
/// including 404 (the user's provisioning job may not have run yet); see
/// [`HomeserverError::is_permanent`].
impl From<HomeserverError> for JobError {
    fn from(e: HomeserverError) -> Self {
        if e.is_permanent() {
            JobError::Permanent(format!("{e} (the homeserver refuses this for good)"))
        } else {
            JobError::Retry(e.to_string())
        }
    }
}

impl JobError {
    /// What went wrong, without saying whether it is retried.
    pub(super) fn reason(&self) -> &str {
        match self {
            Self::Retry(reason) | Self::Permanent(reason) => reason,
        }
    }

    /// The same error, its message prefixed with the user it is about.
    pub(super) fn about(self, username: &str) -> Self {
        match self {
            Self::Retry(reason) => Self::Retry(format!("user {username}: {reason}")),
            Self::Permanent(reason) => Self::Permanent(format!("user {username}: {reason}")),
        }
    }
}

impl From<mxauth_storage::StorageError> for JobError {
    fn from(e: mxauth_storage::StorageError) -> Self {
        JobError::Retry(format!("database: {e}"))
    }
}
