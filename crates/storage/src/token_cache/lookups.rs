//! The two access-token lookups of introspection and the client lookup of
//! client authentication, through the token cache when it is on: a hit
//! costs no database round trip; a miss reads the database (one query) and
//! stores what it found.

use std::future::Future;

use mxauth_model::{
    compat::{CompatAccessToken, CompatSession},
    oauth2::{AccessToken, Client, Session},
    User,
};
use ulid::Ulid;

use super::{client_key, CachedLookup};
use crate::{Database, ReadHandle, StorageError};

type OAuth2Lookup = (AccessToken, Session, Option<User>);
type CompatLookup = (CompatAccessToken, CompatSession, User);

impl Database {
    /// The OAuth 2.0 access token with this digest, its session and user.
    /// The caller decides whether it is active (expiry against its clock).
    pub async fn lookup_access_token(
        &self,
        digest: &str,
    ) -> Result<Option<OAuth2Lookup>, StorageError> {
        self.cached(
            digest,
            |hit| match hit {
                CachedLookup::OAuth2(t, s, u) => Some((t, s, u)),
                _ => None,
            },
            |(t, s, u)| CachedLookup::OAuth2(t.clone(), s.clone(), u.clone()),
            |mut repo, digest| async move { repo.oauth2_access_tokens().lookup(&digest).await },
        )
        .await
    }

    /// The compat access token with this digest, its session and user.
    pub async fn lookup_compat_access_token(
        &self,
        digest: &str,
    ) -> Result<Option<CompatLookup>, StorageError> {
        self.cached(
            digest,
            |hit| match hit {
                CachedLookup::Compat(t, s, u) => Some((t, s, u)),
                _ => None,
            },
            |(t, s, u)| CachedLookup::Compat(t.clone(), s.clone(), u.clone()),
            |mut repo, digest| async move { repo.compat_access_tokens().lookup(&digest).await },
        )
        .await
    }

    /// The client with this id. Every write that changes a client names it
    /// (`upsert_static`) or everything (`delete_static`), so a held client
    /// is never served after a change, as with tokens.
    pub async fn find_client(&self, id: Ulid) -> Result<Option<Client>, StorageError> {
        self.cached(
            &client_key(id),
            |hit| match hit {
                CachedLookup::Client(client) => Some(*client),
                _ => None,
            },
            |client| CachedLookup::Client(Box::new(client.clone())),
            |mut repo, _| async move { repo.oauth2_clients().find(id).await },
        )
        .await
    }

    /// A hit when the cache serves and holds `digest`; otherwise `read`,
    /// storing what it found unless an invalidation raced with it.
    async fn cached<T, Fut>(
        &self,
        digest: &str,
        from_hit: fn(CachedLookup) -> Option<T>,
        to_entry: fn(&T) -> CachedLookup,
        read: impl FnOnce(ReadHandle, String) -> Fut,
    ) -> Result<Option<T>, StorageError>
    where
        Fut: Future<Output = Result<Option<T>, StorageError>>,
    {
        let cache = self.token_cache().filter(|c| c.is_live());
        if let Some(hit) = cache.and_then(|c| c.get(digest)).and_then(from_hit) {
            return Ok(Some(hit));
        }
        let ticket = cache.map(|c| c.ticket());
        let found = read(self.read().await?, digest.to_owned()).await?;
        if let (Some(cache), Some(ticket), Some(found)) = (cache, ticket, &found) {
            cache.insert(digest, to_entry(found), ticket);
        }
        Ok(found)
    }
}
