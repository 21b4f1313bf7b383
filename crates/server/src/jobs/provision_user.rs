//! `provision-user`: creates or updates the user on the homeserver (name,
//! email addresses, locked flag), after registration and every change the
//! homeserver must know about.

use mxauth_model::User;
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use super::{JobContext, JobError};
use crate::homeserver::ProvisionRequest;

/// The payload, as MAS stores it. Fields are in alphabetical order so the
/// stored text stays byte for byte what earlier versions wrote (they built
/// it as a `json!` map, whose keys are sorted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionUser {
    /// Set at registration and by `manage set-displayname`; other
    /// provisioning leaves the name alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_display_name: Option<String>,
    pub user_id: Ulid,
}

impl ProvisionUser {
    pub const QUEUE: &'static str = "provision-user";

    /// Provisioning only, leaving the display name as the homeserver has it.
    pub fn new(user_id: Ulid) -> Self {
        Self {
            set_display_name: None,
            user_id,
        }
    }

    /// Idempotent: provisioning twice sends the same state twice.
    pub(super) async fn run(&self, ctx: &JobContext, user: &User) -> Result<(), JobError> {
        let mut repo = ctx.db.read().await?;
        let emails = repo.user_emails().list(user).await?;
        drop(repo);
        let request = ProvisionRequest {
            localpart: user.username.clone(),
            display_name: self.set_display_name.clone().map(Some),
            emails: Some(emails.into_iter().map(|e| e.email).collect()),
            locked: user.locked_at.is_some(),
        };
        let created = ctx.homeserver.provision_user(&request).await?;
        tracing::info!(user = %user.username, created, "user provisioned on the homeserver");
        Ok(())
    }
}
