//! `reactivate-user`: reactivates a deactivated user on the homeserver.

use mxauth_model::User;
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use super::{JobContext, JobError};

/// The payload, as MAS stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactivateUser {
    pub user_id: Ulid,
}

impl ReactivateUser {
    pub const QUEUE: &'static str = "reactivate-user";

    /// Idempotent on the homeserver's side: reactivating twice is a no-op.
    pub(super) async fn run(&self, ctx: &JobContext, user: &User) -> Result<(), JobError> {
        Ok(ctx.homeserver.reactivate_user(&user.username).await?)
    }
}
