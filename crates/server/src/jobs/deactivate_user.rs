//! `deactivate-user`: deactivates the user on the homeserver, erasing
//! their data there when asked (`hs_erase`).

use mxauth_model::User;
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use super::{JobContext, JobError};

/// The payload, as MAS stores it. Fields are in alphabetical order so the
/// stored text stays what earlier versions wrote (a sorted `json!` map).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeactivateUser {
    /// Missing in a payload means no erasure.
    #[serde(default)]
    pub hs_erase: bool,
    pub user_id: Ulid,
}

impl DeactivateUser {
    pub const QUEUE: &'static str = "deactivate-user";

    /// Idempotent on the homeserver's side: deactivating twice is a no-op.
    pub(super) async fn run(&self, ctx: &JobContext, user: &User) -> Result<(), JobError> {
        Ok(ctx
            .homeserver
            .delete_user(&user.username, self.hs_erase)
            .await?)
    }
}
