//! Bulk writes for `mxauth syn2mas`: one batch of users imported from
//! Synapse with everything that belongs to them, a few statements per table
//! whatever the batch size (`COPY … FROM STDIN` in binary format on
//! PostgreSQL, [`copy`]; multi-row INSERTs on SQLite, [`rows`]), plus the lookups that
//! let a second run skip what the first already wrote, and the suspension of
//! secondary indexes and foreign keys while an empty target is bulk-loaded
//! ([`bulk_load`]).

// The importer runs from the CLI, not in a request: ids of imported rows
// take their randomness from the thread's generator.
#![allow(clippy::disallowed_methods)]

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use chrono::{DateTime, Utc};
use ulid::Ulid;
use uuid::Uuid;

use super::{accessor, on_conn, Mode, Table, Tx, Write};
use crate::{
    types::{to_ulid, to_uuid},
    StorageError,
};

mod bulk_load;
mod copy;
mod rows;

/// Told, after each table's statements of a batch, the table, the rows
/// written and the time they took (the importer prints the sums).
pub type TableTime<'a> = &'a mut (dyn FnMut(&'static str, usize, Duration) + Send);

/// Ids for the rows whose ids the caller does not choose, one per row of
/// the batch's `passwords`, `emails` and `upstream_links`.
struct NewIds {
    passwords: Vec<Ulid>,
    emails: Vec<Ulid>,
    links: Vec<Ulid>,
}

/// The tables a batch fills with the columns it writes, in the order both
/// writers ([`copy`], [`rows`]) give the values (`users` and `user_emails`
/// are written with all their columns: `USERS`, `USER_EMAILS`).
const fn written(name: &'static str, columns: &'static [&'static str]) -> Table {
    Table {
        name,
        alias: "",
        columns,
    }
}
const IMPORTED_USERS: Table = written("syn2mas_imported_users", &["user_id", "imported_at"]);
const PASSWORDS: Table = written(
    "user_passwords",
    &[
        "user_password_id",
        "user_id",
        "hashed_password",
        "version",
        "created_at",
    ],
);
const OTHER_THIRD_PARTY_IDS: Table = written(
    "user_unsupported_third_party_ids",
    &["user_id", "medium", "address", "created_at"],
);
const UPSTREAM_LINKS: Table = written(
    "upstream_oauth_links",
    &[
        "upstream_oauth_link_id",
        "upstream_oauth_provider_id",
        "user_id",
        "subject",
        "created_at",
    ],
);
const SESSIONS: Table = written(
    "compat_sessions",
    &[
        "compat_session_id",
        "user_id",
        "device_id",
        "is_synapse_admin",
        "user_agent",
        "last_active_at",
        "last_active_ip",
        "human_name",
        "created_at",
    ],
);
const ACCESS_TOKENS: Table = written(
    "compat_access_tokens",
    &[
        "compat_access_token_id",
        "compat_session_id",
        "access_token_sha256",
        "created_at",
        "expires_at",
    ],
);
const REFRESH_TOKENS: Table = written(
    "compat_refresh_tokens",
    &[
        "compat_refresh_token_id",
        "compat_session_id",
        "compat_access_token_id",
        "refresh_token_sha256",
        "created_at",
    ],
);

/// Bind parameters per lookup statement: below SQLite's 32,766 and
/// PostgreSQL's 65,535.
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
    /// Writes one batch (parents first, for the foreign keys).
    pub async fn write(
        &mut self,
        batch: &ImportBatch,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.write_timed(batch, now, &mut |_, _, _| {}).await
    }

    /// [`Self::write`], telling `timed` how long each table took.
    pub async fn write_timed(
        &mut self,
        batch: &ImportBatch,
        now: DateTime<Utc>,
        timed: TableTime<'_>,
    ) -> Result<(), StorageError> {
        let ids = {
            let mut rng = rand::thread_rng();
            let mut fresh = |n: usize| -> Vec<Ulid> {
                (0..n).map(|_| crate::new_ulid(now, &mut rng)).collect()
            };
            NewIds {
                passwords: fresh(batch.passwords.len()),
                emails: fresh(batch.emails.len()),
                links: fresh(batch.upstream_links.len()),
            }
        };
        match &mut *self.tx {
            Tx::Postgres(tx) => copy::write(tx, batch, &ids, now, timed).await?,
            Tx::PostgresConn(conn) => copy::write(conn, batch, &ids, now, timed).await?,
            Tx::Sqlite(tx) => rows::write(tx, batch, &ids, now, timed).await?,
            Tx::SqliteConn(conn) => rows::write(conn, batch, &ids, now, timed).await?,
        }
        Ok(())
    }
}
