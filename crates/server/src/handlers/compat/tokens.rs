//! Issuing compat tokens (`mct_…`, `mcr_…`), stored as digests. With a
//! refresh token the access token expires after `compat_token_ttl`;
//! without, it never expires (as Synapse's did).

use mxauth_model::{token_digest, TokenType};
use mxauth_storage::{new_ulid, Repository, StorageError};

use crate::state::AppState;

pub struct CompatPair {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in_ms: Option<i64>,
}

pub async fn issue(
    repo: &mut Repository,
    state: &AppState,
    session_id: ulid::Ulid,
    with_refresh: bool,
) -> Result<CompatPair, StorageError> {
    let now = state.clock.now();
    let access_token = TokenType::CompatAccessToken.generate(&mut state.random.rng());
    let ttl = state.site.compat_token_ttl;
    let expires_at = with_refresh.then(|| now + ttl);
    let access = repo
        .compat_access_tokens()
        .add(
            new_ulid(now, &mut state.random.rng()),
            session_id,
            &token_digest(&access_token),
            now,
            expires_at,
        )
        .await?;
    let refresh_token = if with_refresh {
        let token = TokenType::CompatRefreshToken.generate(&mut state.random.rng());
        repo.compat_refresh_tokens()
            .add(
                new_ulid(now, &mut state.random.rng()),
                session_id,
                access.id,
                &token_digest(&token),
                now,
            )
            .await?;
        Some(token)
    } else {
        None
    };
    Ok(CompatPair {
        access_token,
        refresh_token,
        expires_in_ms: with_refresh.then(|| ttl.num_milliseconds()),
    })
}
