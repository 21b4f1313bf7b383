//! `personal_sessions` and `personal_access_tokens`: personal access
//! tokens, looked up by digest.

use chrono::{DateTime, Utc};
use mxauth_model::{PersonalAccessToken, PersonalOwner, PersonalSession};
use ulid::Ulid;
use uuid::Uuid;

use super::{
    accessor, on_conn,
    pagination::{self, Bind, Conditions, Page, Pagination},
    Mode, Table, Write,
};
use crate::{
    types::{parse_scope, to_ulid, to_uuid, Timestamp},
    StorageError,
};

#[derive(sqlx::FromRow)]
struct SessionRow {
    personal_session_id: Uuid,
    owner_user_id: Option<Uuid>,
    owner_oauth2_client_id: Option<Uuid>,
    actor_user_id: Uuid,
    human_name: String,
    scope_list: String,
    created_at: Timestamp,
    revoked_at: Option<Timestamp>,
    last_active_at: Option<Timestamp>,
    last_active_ip: Option<String>,
}

const SESSIONS: Table = Table {
    name: "personal_sessions",
    alias: "",
    columns: &[
        "personal_session_id",
        "owner_user_id",
        "owner_oauth2_client_id",
        "actor_user_id",
        "human_name",
        "scope_list",
        "created_at",
        "revoked_at",
        "last_active_at",
        "last_active_ip",
    ],
};

impl TryFrom<SessionRow> for PersonalSession {
    type Error = StorageError;

    fn try_from(row: SessionRow) -> Result<Self, StorageError> {
        let owner = match (row.owner_user_id, row.owner_oauth2_client_id) {
            (Some(user), _) => PersonalOwner::User(to_ulid(user)),
            (None, Some(client)) => PersonalOwner::Client(to_ulid(client)),
            (None, None) => {
                return Err(StorageError::Malformed {
                    table: "personal_sessions",
                    column: "owner_user_id",
                    reason: "a personal session without an owner".into(),
                })
            }
        };
        Ok(Self {
            id: to_ulid(row.personal_session_id),
            owner,
            actor_user_id: to_ulid(row.actor_user_id),
            human_name: row.human_name,
            scope: parse_scope("personal_sessions", "scope_list", &row.scope_list)?,
            created_at: row.created_at.0,
            revoked_at: row.revoked_at.map(|t| t.0),
            last_active_at: row.last_active_at.map(|t| t.0),
            last_active_ip: row.last_active_ip,
        })
    }
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    personal_access_token_id: Uuid,
    personal_session_id: Uuid,
    created_at: Timestamp,
    expires_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
}

const TOKENS: Table = Table {
    name: "personal_access_tokens",
    alias: "",
    columns: &[
        "personal_access_token_id",
        "personal_session_id",
        "created_at",
        "expires_at",
        "revoked_at",
    ],
};

impl From<TokenRow> for PersonalAccessToken {
    fn from(row: TokenRow) -> Self {
        Self {
            id: to_ulid(row.personal_access_token_id),
            session_id: to_ulid(row.personal_session_id),
            created_at: row.created_at.0,
            expires_at: row.expires_at.map(|t| t.0),
            revoked_at: row.revoked_at.map(|t| t.0),
        }
    }
}

/// Which personal sessions a list shows.
#[derive(Debug, Clone, Default)]
pub struct PersonalSessionFilter {
    pub actor_user: Option<Ulid>,
    pub owner_user: Option<Ulid>,
    pub owner_client: Option<Ulid>,
    /// Not revoked (or revoked).
    pub active: Option<bool>,
}

impl PersonalSessionFilter {
    fn conditions(&self) -> Conditions {
        let mut c = Conditions::default();
        let id = |u: Ulid| Bind::Id(to_uuid(u));
        if let Some(user) = self.actor_user {
            c.add_bind("actor_user_id = ?", id(user));
        }
        if let Some(user) = self.owner_user {
            c.add_bind("owner_user_id = ?", id(user));
        }
        if let Some(client) = self.owner_client {
            c.add_bind("owner_oauth2_client_id = ?", id(client));
        }
        match self.active {
            Some(true) => c.add("revoked_at IS NULL"),
            Some(false) => c.add("revoked_at IS NOT NULL"),
            None => {}
        }
        c
    }
}

accessor! {
    /// Personal sessions and their access tokens.
    PersonalSessions, personal_sessions
}

impl<M: Mode> PersonalSessions<'_, M> {
    pub async fn find(&mut self, id: Ulid) -> Result<Option<PersonalSession>, StorageError> {
        let row: Option<SessionRow> = SESSIONS
            .find_where(self.tx, "personal_session_id = $1", to_uuid(id))
            .await?;
        row.map(PersonalSession::try_from).transpose()
    }

    /// The token whose digest is `digest`, with its session.
    pub async fn lookup(
        &mut self,
        digest: &str,
    ) -> Result<Option<(PersonalAccessToken, PersonalSession)>, StorageError> {
        let token: Option<TokenRow> = TOKENS
            .find_where(self.tx, "access_token_digest = $1", digest.to_owned())
            .await?;
        let Some(token) = token.map(PersonalAccessToken::from) else {
            return Ok(None);
        };
        Ok(self.find(token.session_id).await?.map(|s| (token, s)))
    }

    /// The session's token that is not revoked, if any.
    pub async fn current_token(
        &mut self,
        session_id: Ulid,
    ) -> Result<Option<PersonalAccessToken>, StorageError> {
        let row: Option<TokenRow> = TOKENS
            .find_where(
                self.tx,
                "personal_session_id = $1 AND revoked_at IS NULL",
                to_uuid(session_id),
            )
            .await?;
        Ok(row.map(PersonalAccessToken::from))
    }

    pub async fn page(
        &mut self,
        filter: &PersonalSessionFilter,
        pagination: Pagination,
    ) -> Result<Page<PersonalSession>, StorageError> {
        let page: Page<SessionRow> = pagination::page(
            self.tx,
            &SESSIONS,
            "personal_session_id",
            &filter.conditions(),
            pagination,
        )
        .await?;
        let items: Result<Vec<_>, _> = page
            .items
            .into_iter()
            .map(PersonalSession::try_from)
            .collect();
        Ok(Page {
            items: items?,
            has_more: page.has_more,
        })
    }

    pub async fn count_matching(
        &mut self,
        filter: &PersonalSessionFilter,
    ) -> Result<u64, StorageError> {
        pagination::count(self.tx, &SESSIONS, &filter.conditions()).await
    }
}

impl PersonalSessions<'_, Write> {
    pub async fn add(&mut self, session: &PersonalSession) -> Result<(), StorageError> {
        let (owner_user, owner_client) = match session.owner {
            PersonalOwner::User(id) => (Some(to_uuid(id)), None),
            PersonalOwner::Client(id) => (None, Some(to_uuid(id))),
        };
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO personal_sessions
                   (personal_session_id, owner_user_id, owner_oauth2_client_id, actor_user_id,
                    human_name, scope_list, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(to_uuid(session.id))
            .bind(owner_user)
            .bind(owner_client)
            .bind(to_uuid(session.actor_user_id))
            .bind(session.human_name.as_str())
            .bind(session.scope.to_string())
            .bind(Timestamp(session.created_at))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Stores a token by its digest.
    pub async fn add_token(
        &mut self,
        token: &PersonalAccessToken,
        digest: &str,
    ) -> Result<(), StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO personal_access_tokens
                   (personal_access_token_id, personal_session_id, access_token_digest,
                    created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(to_uuid(token.id))
            .bind(to_uuid(token.session_id))
            .bind(digest)
            .bind(Timestamp(token.created_at))
            .bind(token.expires_at.map(Timestamp))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Revokes every token of the session that is not revoked yet.
    pub async fn revoke_tokens(
        &mut self,
        session_id: Ulid,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.tx
            .exec_at(
                "UPDATE personal_access_tokens SET revoked_at = $1
                 WHERE personal_session_id = $2 AND revoked_at IS NULL",
                now,
                session_id,
            )
            .await?;
        Ok(())
    }

    /// Revokes the session (and its tokens); `false` when it already was.
    pub async fn revoke(
        &mut self,
        session_id: Ulid,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        self.revoke_tokens(session_id, now).await?;
        let changed = self
            .tx
            .exec_at(
                "UPDATE personal_sessions SET revoked_at = $1
                 WHERE personal_session_id = $2 AND revoked_at IS NULL",
                now,
                session_id,
            )
            .await?;
        Ok(changed == 1)
    }
}
