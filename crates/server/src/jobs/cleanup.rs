//! Removing what is only kept for a while: email proofs and their codes,
//! registrations, password recovery requests and their tickets, a week
//! after they started (MAS keeps email authentications 7 days). None of
//! them works after an hour; the week leaves time to look into abuse.
//! Also the admin-set policy data's history beyond its newest versions.
//! The worker runs this once an hour; several workers may, harmlessly.

use chrono::Duration;
use mxauth_storage::StorageError;

use super::JobContext;

/// How long the rows are kept.
pub const KEEP_FOR: Duration = Duration::days(7);

/// How many rows of each kind went.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub registrations: u64,
    pub email_authentications: u64,
    pub recovery_sessions: u64,
    /// Old versions of the admin-set policy data, past the newest
    /// [`crate::policy::VERSIONS_KEPT`].
    pub policy_data_versions: u64,
}

/// Removes everything older than [`KEEP_FOR`], in one transaction.
pub async fn cleanup(ctx: &JobContext) -> Result<Removed, StorageError> {
    let cutoff = ctx.clock.now() - KEEP_FOR;
    let mut repo = ctx.db.begin().await?;
    // Registrations first: they point at email authentications.
    let removed = Removed {
        registrations: repo.registrations().remove_created_before(cutoff).await?,
        email_authentications: repo
            .email_authentications()
            .remove_created_before(cutoff)
            .await?,
        recovery_sessions: repo.recovery().remove_created_before(cutoff).await?,
        policy_data_versions: repo
            .policy_data()
            .prune(crate::policy::VERSIONS_KEPT)
            .await?,
    };
    repo.commit().await?;
    if removed != Removed::default() {
        tracing::info!(
            ?removed,
            "removed expired registrations, email proofs and recovery requests"
        );
    }
    Ok(removed)
}
