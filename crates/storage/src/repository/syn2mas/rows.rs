//! SQLite bulk writes for syn2mas: multi-row INSERTs of up to
//! [`MAX_PARAMS`] parameters each. Every full chunk of a table has the same
//! statement text, so sqlx prepares it once per connection and reuses it.

use std::time::Instant;

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use super::{
    ImportBatch, NewIds, TableTime, ACCESS_TOKENS, IMPORTED_USERS, OTHER_THIRD_PARTY_IDS,
    PASSWORDS, REFRESH_TOKENS, SESSIONS, UPSTREAM_LINKS,
};
use crate::repository::{emails::USER_EMAILS, users::USERS};
use crate::types::{to_uuid, Timestamp};

/// Bind parameters per statement. Past a few hundred rows a longer
/// statement saves nothing measurable (the statements run in-process), but
/// each cached one holds memory in proportion: on the 100,000-user bench,
/// 16,000, 2,000 and 500 parameters gave the same time and 101, 97 and
/// 91 MB peak memory (with a 32 MiB page cache).
const MAX_PARAMS: usize = 2_000;

/// Writes `$rows` into `$table` with multi-row INSERTs of `$columns`;
/// `$push` binds one row's columns in that order; the time taken goes to
/// `$timed` under `$table`.
macro_rules! insert_rows {
    ($conn:expr, $timed:expr, $table:expr, $columns:expr, $rows:expr, |$b:ident, $row:ident| $push:block) => {
        if !$rows.is_empty() {
            let started = Instant::now();
            let columns: &[&str] = $columns;
            let head = format!("INSERT INTO {} ({}) ", $table, columns.join(", "));
            let per_statement = MAX_PARAMS / columns.len();
            for chunk in $rows.chunks(per_statement) {
                let mut query = sqlx::QueryBuilder::new(head.as_str());
                query.push_values(chunk, |mut $b, $row| $push);
                // Only full chunks repeat: a prepared statement of thousands
                // of parameters is large, and each batch's last chunk has a
                // size of its own, so it is not kept in the cache.
                let full = chunk.len() == per_statement;
                query.build().persistent(full).execute(&mut *$conn).await?;
            }
            $timed($table, $rows.len(), started.elapsed());
        }
    };
}

/// Writes one batch. Parents go first (users, then sessions, then access
/// tokens, then refresh tokens) for the foreign keys.
pub(super) async fn write(
    conn: &mut SqliteConnection,
    batch: &ImportBatch,
    ids: &NewIds,
    now: DateTime<Utc>,
    timed: TableTime<'_>,
) -> Result<(), sqlx::Error> {
    let at = Timestamp(now);
    let when = |flag: bool| flag.then_some(at);
    insert_rows!(
        conn,
        timed,
        USERS.name,
        USERS.columns,
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
        conn,
        timed,
        IMPORTED_USERS.name,
        IMPORTED_USERS.columns,
        batch.users,
        |b, u| {
            b.push_bind(to_uuid(u.id)).push_bind(at);
        }
    );
    let passwords: Vec<_> = batch.passwords.iter().zip(&ids.passwords).collect();
    insert_rows!(
        conn,
        timed,
        PASSWORDS.name,
        PASSWORDS.columns,
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
    let emails: Vec<_> = batch.emails.iter().zip(&ids.emails).collect();
    insert_rows!(
        conn,
        timed,
        USER_EMAILS.name,
        USER_EMAILS.columns,
        emails,
        |b, row| {
            let ((user, email), id) = row;
            b.push_bind(to_uuid(**id))
                .push_bind(to_uuid(*user))
                .push_bind(email.as_str())
                .push_bind(at);
        }
    );
    insert_rows!(
        conn,
        timed,
        OTHER_THIRD_PARTY_IDS.name,
        OTHER_THIRD_PARTY_IDS.columns,
        batch.other_third_party_ids,
        |b, row| {
            let (user, medium, address) = row;
            b.push_bind(to_uuid(*user))
                .push_bind(medium.as_str())
                .push_bind(address.as_str())
                .push_bind(at);
        }
    );
    let links: Vec<_> = batch.upstream_links.iter().zip(&ids.links).collect();
    insert_rows!(
        conn,
        timed,
        UPSTREAM_LINKS.name,
        UPSTREAM_LINKS.columns,
        links,
        |b, row| {
            let ((provider, user, subject), id) = row;
            b.push_bind(to_uuid(**id))
                .push_bind(to_uuid(*provider))
                .push_bind(to_uuid(*user))
                .push_bind(subject.as_str())
                .push_bind(at);
        }
    );
    insert_rows!(
        conn,
        timed,
        SESSIONS.name,
        SESSIONS.columns,
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
        conn,
        timed,
        ACCESS_TOKENS.name,
        ACCESS_TOKENS.columns,
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
        conn,
        timed,
        REFRESH_TOKENS.name,
        REFRESH_TOKENS.columns,
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
