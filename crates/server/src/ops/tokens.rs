//! Issuing token pairs, stored only as digests. OAuth: an access token
//! (`mat_…`) that expires after `experimental.access_token_ttl`, and a
//! refresh token (`mar_…`) when the client may refresh. Compat: an access
//! token (`mct_…`) and, when the client asked for one, a refresh token
//! (`mcr_…`), the access token then expiring after `compat_token_ttl`;
//! without one it never expires (as Synapse's did).

use chrono::{DateTime, Duration, Utc};
use mxauth_model::{oauth2::Session, token_digest, TokenType};
use mxauth_storage::{new_ulid, Repository, StorageError, Successor};

use super::Context;
use crate::state::AppState;

/// The raw tokens and their database ids, after storing the digests.
pub struct NewPair {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub refresh_token_id: Option<ulid::Ulid>,
}

/// Stores a new access token (and refresh token if `with_refresh`) for
/// `session` inside `repo`.
pub async fn oauth2_pair(
    repo: &mut Repository,
    state: &AppState,
    session: &Session,
    with_refresh: bool,
    now: DateTime<Utc>,
) -> Result<NewPair, StorageError> {
    let (access_token, access) = new_access_token(state, now);
    repo.oauth2_access_tokens()
        .add(access.0, session.id, &access.1, now, Some(access.2))
        .await?;
    let (refresh_token, refresh_token_id) = if with_refresh {
        let (token, (id, digest)) = new_refresh_token(state, now);
        repo.oauth2_refresh_tokens()
            .add(id, session.id, access.0, &digest, now)
            .await?;
        (Some(token), Some(id))
    } else {
        (None, None)
    };
    Ok(NewPair {
        access_token,
        refresh_token,
        refresh_token_id,
    })
}

/// A fresh pair for a refresh-token rotation, not stored yet: the raw
/// tokens for the client and the rows for
/// [`mxauth_storage::Database::lookup_and_rotate`].
pub fn successor_pair(state: &AppState, now: DateTime<Utc>) -> (NewPair, Successor) {
    let (access_token, (access_token_id, access_token_digest, expires_at)) =
        new_access_token(state, now);
    let (refresh_token, (refresh_token_id, refresh_token_digest)) = new_refresh_token(state, now);
    let pair = NewPair {
        access_token,
        refresh_token: Some(refresh_token),
        refresh_token_id: Some(refresh_token_id),
    };
    let successor = Successor {
        access_token_id,
        access_token_digest,
        access_token_expires_at: Some(expires_at),
        refresh_token_id,
        refresh_token_digest,
    };
    (pair, successor)
}

/// An access token: the raw `mat_…` string, and its id, digest and expiry.
fn new_access_token(
    state: &AppState,
    now: DateTime<Utc>,
) -> (String, (ulid::Ulid, String, DateTime<Utc>)) {
    let token = TokenType::AccessToken.generate(&mut state.random.rng());
    let id = new_ulid(now, &mut state.random.rng());
    let digest = token_digest(&token);
    (token, (id, digest, now + state.site.access_token_ttl))
}

/// A refresh token: the raw `mar_…` string, and its id and digest.
fn new_refresh_token(state: &AppState, now: DateTime<Utc>) -> (String, (ulid::Ulid, String)) {
    let token = TokenType::RefreshToken.generate(&mut state.random.rng());
    let id = new_ulid(now, &mut state.random.rng());
    let digest = token_digest(&token);
    (token, (id, digest))
}

pub struct CompatPair {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in_ms: Option<i64>,
}

/// Stores a new compat access token for the session `session_id` inside
/// `repo`. With `refresh_ttl` (the client asked for a refresh token;
/// `compat_token_ttl`) a refresh token comes with it and the access token
/// expires after that long; without, the access token never expires.
pub async fn compat_pair(
    repo: &mut Repository,
    ctx: Context<'_>,
    session_id: ulid::Ulid,
    refresh_ttl: Option<Duration>,
) -> Result<CompatPair, StorageError> {
    let now = ctx.now();
    let access_token = TokenType::CompatAccessToken.generate(&mut ctx.random.rng());
    let access = repo
        .compat_access_tokens()
        .add(
            ctx.new_id(now),
            session_id,
            &token_digest(&access_token),
            now,
            refresh_ttl.map(|ttl| now + ttl),
        )
        .await?;
    let refresh_token = match refresh_ttl {
        Some(_) => {
            let token = TokenType::CompatRefreshToken.generate(&mut ctx.random.rng());
            repo.compat_refresh_tokens()
                .add(
                    ctx.new_id(now),
                    session_id,
                    access.id,
                    &token_digest(&token),
                    now,
                )
                .await?;
            Some(token)
        }
        None => None,
    };
    Ok(CompatPair {
        access_token,
        refresh_token,
        expires_in_ms: refresh_ttl.map(|ttl| ttl.num_milliseconds()),
    })
}
