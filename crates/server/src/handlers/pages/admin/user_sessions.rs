//! The session forms of a user's page: end one session of any kind
//! (`ops::sessions::end_browser`, `end_oauth2`, `end_compat`) or all of
//! them (`ops::sessions::end_all_of_user`). An OAuth or compat session's
//! tokens stop at once and the device sync job removes its device from
//! the homeserver. Ending all of one's own sessions keeps the browser
//! doing it signed in.

use axum::{
    extract::{Path, State},
    response::Response,
};
use serde::Deserialize;
use ulid::Ulid;

use super::{admin_and_target, commit_audited, refusals, see_other, user_page, ButtonForm, Target};
use crate::{
    errors::PageError,
    extract::{CsrfForm, CsrfProtected},
    handlers::pages::account::sessions::{find, AnySession},
    ops,
    state::AppState,
};

#[derive(Deserialize)]
pub struct EndForm {
    #[serde(default)]
    csrf: String,
    session_id: Option<String>,
}

impl CsrfProtected for EndForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn end(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { cookie, form }: CsrfForm<EndForm>,
) -> Result<Response, PageError> {
    let (_, admin, user) = match admin_and_target(&state, &cookie, &id).await? {
        Ok(found) => found,
        Err(log_in) => return Ok(log_in),
    };
    let session_id = form
        .session_id
        .ok_or_else(|| refusals::bad_form("session_id"))?;
    // Not an id, someone else's, or ended: the same answer.
    let session_id: Ulid = session_id
        .parse()
        .map_err(|_| refusals::session_not_found())?;
    let session = find(&state, &user, session_id)
        .await?
        .ok_or_else(refusals::session_not_found)?;
    let ctx = (&state).into();
    let mut repo = state.db.begin().await?;
    // The admin API's resource types, so the trail reads the same.
    let kind = match &session {
        AnySession::Browser(s) => {
            ops::sessions::end_browser(&mut repo, ctx, s.id).await?;
            "user-session"
        }
        AnySession::OAuth2(s) => {
            ops::sessions::end_oauth2(&mut repo, ctx, s).await?;
            "oauth2-session"
        }
        AnySession::Compat(s) => {
            ops::sessions::end_compat(&mut repo, ctx, s).await?;
            "compat-session"
        }
    };
    let target = Target {
        kind,
        id: session_id,
        name: &user.username,
    };
    commit_audited(repo, &state, &admin, "finish_session", target).await?;
    let page = user_page(&state, &user);
    Ok(see_other(&page, "session_ended"))
}

pub async fn end_all(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { cookie, .. }: CsrfForm<ButtonForm>,
) -> Result<Response, PageError> {
    let (current, admin, user) = match admin_and_target(&state, &cookie, &id).await? {
        Ok(found) => found,
        Err(log_in) => return Ok(log_in),
    };
    // An admin signing themself out everywhere keeps this browser.
    let keep = (user.id == admin.id).then_some(current.id);
    let mut repo = state.db.begin().await?;
    let ended = ops::sessions::end_all_of_user(&mut repo, (&state).into(), &user, keep).await?;
    let target = Target::user(&user);
    commit_audited(repo, &state, &admin, "finish_all_sessions", target).await?;
    tracing::info!(ended = ended.total(), "sessions ended");
    let page = user_page(&state, &user);
    Ok(see_other(&page, "sessions_ended"))
}
