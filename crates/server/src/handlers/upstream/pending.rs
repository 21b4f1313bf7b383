//! The sign-in a request continues: the pending session named in the
//! browser's cookie, checked against the request. A callback or link page
//! opened in another browser, after ten minutes, or a second time, finds
//! nothing here, so it can neither complete nor hijack a sign-in.

use mxauth_model::upstream::UpstreamSession;
use subtle::ConstantTimeEq;
use ulid::Ulid;

use super::SIGN_IN_LIFETIME;
use crate::{cookies::CookieData, state::AppState, upstream::UpstreamError};

/// A session of this browser, with the PKCE verifier its cookie kept.
pub struct PendingSignIn {
    pub session: UpstreamSession,
    pub verifier: Option<String>,
}

impl PendingSignIn {
    /// The session of `provider_id` this browser started whose `state` is
    /// `state` (compared in constant time), not yet completed.
    pub async fn for_callback(
        state: &AppState,
        cookie: &CookieData,
        provider_id: Ulid,
        returned_state: Option<&str>,
    ) -> Result<Self, UpstreamError> {
        let now = state.clock.now();
        let mut repo = state.db.read().await?;
        let mut of_provider = false;
        for pending in cookie.upstream.iter().rev() {
            let Some(session) = repo.upstream_sessions().find(pending.session).await? else {
                continue;
            };
            if session.provider_id != provider_id || now - session.created_at > SIGN_IN_LIFETIME {
                continue;
            }
            of_provider = true;
            let matches = returned_state
                .is_some_and(|s| bool::from(s.as_bytes().ct_eq(session.state.as_bytes())));
            if matches {
                if session.completed_at.is_some() {
                    return Err(UpstreamError::AlreadyUsed);
                }
                return Ok(Self {
                    session,
                    verifier: pending.verifier.clone(),
                });
            }
        }
        Err(if of_provider {
            UpstreamError::StateMismatch
        } else {
            UpstreamError::NoPendingSignIn
        })
    }

    /// The completed, unused session of this browser that found `link_id`.
    pub async fn for_link(
        state: &AppState,
        cookie: &CookieData,
        link_id: Ulid,
    ) -> Result<Self, UpstreamError> {
        let now = state.clock.now();
        let mut repo = state.db.read().await?;
        for pending in cookie.upstream.iter().rev() {
            let Some(session) = repo.upstream_sessions().find(pending.session).await? else {
                continue;
            };
            if session.link_id != Some(link_id) || now - session.created_at > SIGN_IN_LIFETIME {
                continue;
            }
            if session.consumed_at.is_some() {
                return Err(UpstreamError::AlreadyUsed);
            }
            return Ok(Self {
                session,
                verifier: None,
            });
        }
        Err(UpstreamError::NoPendingSignIn)
    }
}
