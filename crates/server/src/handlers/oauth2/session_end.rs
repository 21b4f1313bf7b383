//! Ending an OAuth session: its tokens are revoked, and a job makes the
//! homeserver forget its device (the device list is synced from the
//! sessions that remain).

use crate::{
    jobs::{self, SyncDevices},
    state::AppState,
};
use mxauth_model::oauth2::Session;
use mxauth_storage::{Repository, StorageError};

pub async fn end_session(
    repo: &mut Repository,
    state: &AppState,
    session: &Session,
) -> Result<(), StorageError> {
    let now = state.clock.now();
    if repo.oauth2_sessions().finish(session.id, now).await? {
        if let Some(user_id) = session.user_id {
            jobs::enqueue(
                repo,
                state.clock.as_ref(),
                state.random.as_ref(),
                &SyncDevices { user_id }.into(),
            )
            .await?;
        }
    }
    Ok(())
}
