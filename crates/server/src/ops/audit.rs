//! The admin audit trail: every change an admin makes (admin API,
//! console) is recorded here, in the change's own transaction, and logged
//! at INFO with who, what and to whom.

use mxauth_storage::{AuditEvent, Repository, StorageError};

use super::Context;

/// Records that `actor` (`user alice`, `client 01H…`) did `action` to the
/// resource `target_type`/`target_id`, in `repo`'s transaction.
pub async fn record(
    repo: &mut Repository,
    ctx: Context<'_>,
    actor: &str,
    action: &str,
    target_type: &str,
    target_id: &str,
) -> Result<(), StorageError> {
    let now = ctx.now();
    tracing::info!(admin = %actor, action, target_type, target = %target_id, "admin action");
    repo.audit_events()
        .add(&AuditEvent {
            id: ctx.new_id(now),
            actor: actor.to_owned(),
            action: action.to_owned(),
            target_type: target_type.to_owned(),
            target_id: target_id.to_owned(),
            created_at: now,
        })
        .await
}
