//! Bulk writes for `mxauth syn2mas`: one batch of users imported from
//! Synapse with everything that belongs to them, written with multi-row
//! INSERTs (a few statements per table instead of one per row), plus the
//! lookups that let a second run skip what the first already wrote.

// The importer runs from the CLI, not in a request: ids of imported rows
// take their randomness from the thread's generator.
#![allow(clippy::disallowed_methods)]

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use ulid::Ulid;
use uuid::Uuid;

use super::{accessor, on_conn, Mode, Write};
use crate::{
    types::{to_ulid, to_uuid, Timestamp},
    StorageError,
};

/// Bind parameters per statement: below SQLite's 32,766 and PostgreSQL's
/// 65,535.
const MAX_PARAMS: usize = 16_000;

/// A Synapse user as written into `users`.
#[derive(Debug, Clone)]
pub struct ImportUser {
    pub id: Ulid,
    pub username: String,
    pub created_at: DateTime<Utc>,
    pub locked: bool,
    pub deactivated: bool,
    pub can_request_admin: bool,
}

/// A Synapse device (or a device-less token) as a compat session.
#[derive(Debug, Clone)]
pub struct ImportSession {
    pub id: Ulid,
    pub user_id: Ulid,
    pub device_id: Option<String>,
    pub is_synapse_admin: bool,
    pub human_name: Option<String>,
    pub user_agent: Option<String>,
    pub last_active_at: Option<DateTime<Utc>>,
    pub last_active_ip: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ImportAccessToken {
    pub id: Ulid,
    pub session_id: Ulid,
    pub digest: String,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct ImportRefreshToken {
    pub id: Ulid,
    pub session_id: Ulid,
    pub access_token_id: Option<Ulid>,
    pub digest: String,
}

/// Everything one batch writes; ids are chosen by the caller.
#[derive(Debug, Default)]
pub struct ImportBatch {
    pub users: Vec<ImportUser>,
    /// `(user, hash, scheme version)`.
    pub passwords: Vec<(Ulid, String, i64)>,
    pub emails: Vec<(Ulid, String)>,
    /// `(user, medium, address)` of third-party ids other than email.
    pub other_third_party_ids: Vec<(Ulid, String, String)>,
    /// `(provider, user, subject)`.
    pub upstream_links: Vec<(Ulid, Ulid, String)>,
    pub sessions: Vec<ImportSession>,
    pub access_tokens: Vec<ImportAccessToken>,
    pub refresh_tokens: Vec<ImportRefreshToken>,
}

/// A user the target already has: its id, and whether syn2mas wrote it.
#[derive(Debug, Clone, Copy)]
pub struct ExistingUser {
    pub id: Ulid,
    pub imported: bool,
}

/// Writes `rows` into a table with multi-row INSERTs: `$head` is
/// `INSERT INTO t (a, b) `, `$push` binds one row's columns in order.
macro_rules! insert_rows {
    ($repo:expr, $head:expr, $columns:expr, $rows:expr, |$b:ident, $row:ident| $push:block) => {
        for chunk in $rows.chunks(MAX_PARAMS / $columns) {
            on_conn!($repo, |conn| {
                let mut query = sqlx::QueryBuilder::new($head);
                query.push_values(chunk, |mut $b, $row| $push);
                query.build().execute(conn).await.map(|r| r.rows_affected())
            })?;
        }
    };
}

accessor! {
    /// The bulk reads and writes of `mxauth syn2mas`.
    Syn2Mas, syn2mas
}

impl<M: Mode> Syn2Mas<'_, M> {
    /// Which of `usernames` the target has already, by username.
    pub async fn existing_users(
        &mut self,
        usernames: &[String],
    ) -> Result<HashMap<String, ExistingUser>, StorageError> {
        let mut found = HashMap::new();
        for chunk in usernames.chunks(MAX_PARAMS) {
            let rows: Vec<(String, Uuid, Option<Uuid>)> = on_conn!(self, |conn| {
                let mut query = sqlx::QueryBuilder::new(
                    "SELECT u.username, u.user_id, i.user_id FROM users u
                     LEFT JOIN syn2mas_imported_users i ON i.user_id = u.user_id
                     WHERE u.username IN (",
                );
                let mut list = query.separated(", ");
                for name in chunk {
                    list.push_bind(name.as_str());
                }
                query.push(")");
                query.build_query_as().fetch_all(conn).await
            })?;
            for (username, id, imported) in rows {
                let id = to_ulid(id);
                found.insert(
                    username,
                    ExistingUser {
                        id,
                        imported: imported.is_some(),
                    },
                );
            }
        }
        Ok(found)
    }

    /// The usernames of users syn2mas did not write, in order.
    pub async fn foreign_usernames(&mut self) -> Result<Vec<String>, StorageError> {
        const SQL: &str = "SELECT u.username FROM users u
             WHERE NOT EXISTS (SELECT 1 FROM syn2mas_imported_users i WHERE i.user_id = u.user_id)
             ORDER BY u.username";
        Ok(on_conn!(self, |conn| sqlx::query_scalar(SQL)
            .fetch_all(conn)
            .await)?)
    }

    /// The active compat session of each device of these users that has
    /// one, keyed by `(user, device)`.
    pub async fn existing_devices(
        &mut self,
        users: &[Ulid],
    ) -> Result<HashMap<(Ulid, String), Ulid>, StorageError> {
        let mut found = HashMap::new();
        for chunk in users.chunks(MAX_PARAMS) {
            let rows: Vec<(Uuid, String, Uuid)> = on_conn!(self, |conn| {
                let mut query = sqlx::QueryBuilder::new(
                    "SELECT user_id, device_id, compat_session_id FROM compat_sessions
                     WHERE finished_at IS NULL AND device_id IS NOT NULL AND user_id IN (",
                );
                let mut list = query.separated(", ");
                for id in chunk {
                    list.push_bind(to_uuid(*id));
                }
                query.push(")");
                query.build_query_as().fetch_all(conn).await
            })?;
            found.extend(
                rows.into_iter()
                    .map(|(u, d, s)| ((to_ulid(u), d), to_ulid(s))),
            );
        }
        Ok(found)
    }

    /// Which of these token digests are stored already (access tokens, or
    /// refresh tokens when `refresh`).
    pub async fn existing_token_digests(
        &mut self,
        digests: &[String],
        refresh: bool,
    ) -> Result<HashSet<String>, StorageError> {
        let head = if refresh {
            "SELECT refresh_token_sha256 FROM compat_refresh_tokens WHERE refresh_token_sha256 IN ("
        } else {
            "SELECT access_token_sha256 FROM compat_access_tokens WHERE access_token_sha256 IN ("
        };
        let mut found = HashSet::new();
        for chunk in digests.chunks(MAX_PARAMS) {
            let rows: Vec<(String,)> = on_conn!(self, |conn| {
                let mut query = sqlx::QueryBuilder::new(head);
                let mut list = query.separated(", ");
                for digest in chunk {
                    list.push_bind(digest.as_str());
                }
                query.push(")");
                query.build_query_as().fetch_all(conn).await
            })?;
            found.extend(rows.into_iter().map(|(d,)| d));
        }
        Ok(found)
    }
}

impl Syn2Mas<'_, Write> {
    /// Writes one batch. Parents go first (users, then sessions, then
    /// access tokens, then refresh tokens) for the foreign keys.
    pub async fn write(
        &mut self,
        batch: &ImportBatch,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let at = Timestamp(now);
        let when = |flag: bool| flag.then_some(at);
        insert_rows!(
            self,
            "INSERT INTO users (user_id, username, created_at, locked_at, deactivated_at, can_request_admin, is_guest) ",
            7,
            batch.users,
            |b, u| {
                b.push_bind(to_uuid(u.id))
                    .push_bind(u.username.as_str())
                    .push_bind(Timestamp(u.created_at))
                    .push_bind(when(u.locked))
                    .push_bind(when(u.deactivated))
                    .push_bind(u.can_request_admin)
                    .push_bind(false);
            }
        );
        insert_rows!(
            self,
            "INSERT INTO syn2mas_imported_users (user_id, imported_at) ",
            2,
            batch.users,
            |b, u| {
                b.push_bind(to_uuid(u.id)).push_bind(at);
            }
        );
        let password_ids: Vec<Ulid> = batch
            .passwords
            .iter()
            .map(|_| crate::new_ulid(now, &mut rand::thread_rng()))
            .collect();
        let passwords: Vec<_> = batch.passwords.iter().zip(&password_ids).collect();
        insert_rows!(
            self,
            "INSERT INTO user_passwords (user_password_id, user_id, hashed_password, version, created_at) ",
            5,
            passwords,
            |b, row| {
                let ((user, hash, version), id) = row;
                b.push_bind(to_uuid(**id))
                    .push_bind(to_uuid(*user))
                    .push_bind(hash.as_str())
                    .push_bind(*version)
                    .push_bind(at);
            }
        );
        let emails: Vec<_> = batch
            .emails
            .iter()
            .map(|e| (e, crate::new_ulid(now, &mut rand::thread_rng())))
            .collect();
        insert_rows!(
            self,
            "INSERT INTO user_emails (user_email_id, user_id, email, created_at) ",
            4,
            emails,
            |b, row| {
                let ((user, email), id) = row;
                b.push_bind(to_uuid(*id))
                    .push_bind(to_uuid(*user))
                    .push_bind(email.as_str())
                    .push_bind(at);
            }
        );
        insert_rows!(
            self,
            "INSERT INTO user_unsupported_third_party_ids (user_id, medium, address, created_at) ",
            4,
            batch.other_third_party_ids,
            |b, row| {
                let (user, medium, address) = row;
                b.push_bind(to_uuid(*user))
                    .push_bind(medium.as_str())
                    .push_bind(address.as_str())
                    .push_bind(at);
            }
        );
        let links: Vec<_> = batch
            .upstream_links
            .iter()
            .map(|l| (l, crate::new_ulid(now, &mut rand::thread_rng())))
            .collect();
        insert_rows!(
            self,
            "INSERT INTO upstream_oauth_links (upstream_oauth_link_id, upstream_oauth_provider_id, user_id, subject, created_at) ",
            5,
            links,
            |b, row| {
                let ((provider, user, subject), id) = row;
                b.push_bind(to_uuid(*id))
                    .push_bind(to_uuid(*provider))
                    .push_bind(to_uuid(*user))
                    .push_bind(subject.as_str())
                    .push_bind(at);
            }
        );
        insert_rows!(
            self,
            "INSERT INTO compat_sessions (compat_session_id, user_id, device_id, is_synapse_admin, user_agent, last_active_at, last_active_ip, human_name, created_at) ",
            9,
            batch.sessions,
            |b, s| {
                b.push_bind(to_uuid(s.id))
                    .push_bind(to_uuid(s.user_id))
                    .push_bind(s.device_id.as_deref())
                    .push_bind(s.is_synapse_admin)
                    .push_bind(s.user_agent.as_deref())
                    .push_bind(s.last_active_at.map(Timestamp))
                    .push_bind(s.last_active_ip.as_deref())
                    .push_bind(s.human_name.as_deref())
                    .push_bind(at);
            }
        );
        insert_rows!(
            self,
            "INSERT INTO compat_access_tokens (compat_access_token_id, compat_session_id, access_token_sha256, created_at, expires_at) ",
            5,
            batch.access_tokens,
            |b, t| {
                b.push_bind(to_uuid(t.id))
                    .push_bind(to_uuid(t.session_id))
                    .push_bind(t.digest.as_str())
                    .push_bind(at)
                    .push_bind(t.expires_at.map(Timestamp));
            }
        );
        insert_rows!(
            self,
            "INSERT INTO compat_refresh_tokens (compat_refresh_token_id, compat_session_id, compat_access_token_id, refresh_token_sha256, created_at) ",
            5,
            batch.refresh_tokens,
            |b, t| {
                b.push_bind(to_uuid(t.id))
                    .push_bind(to_uuid(t.session_id))
                    .push_bind(t.access_token_id.map(to_uuid))
                    .push_bind(t.digest.as_str())
                    .push_bind(at);
            }
        );
        Ok(())
    }
}
