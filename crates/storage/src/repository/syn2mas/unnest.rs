//! PostgreSQL bulk writes for syn2mas: one `INSERT … SELECT … FROM
//! UNNEST($1::uuid[], $2::text[], …)` per table and batch. Each column
//! travels as one binary array parameter, so a batch of ten thousand users
//! is a few statements whatever its size, with no per-row parameters to
//! parse and one plan per table.

use std::time::Instant;

use chrono::{DateTime, Utc};
use sqlx::{postgres::PgArguments, query::Query, PgConnection, Postgres};
use uuid::Uuid;

use super::{ImportBatch, NewIds, TableTime};
use crate::types::to_uuid;

/// Runs one statement unless `rows` is zero, and tells `timed` how long it
/// took.
async fn run(
    conn: &mut PgConnection,
    table: &'static str,
    rows: usize,
    query: Query<'_, Postgres, PgArguments>,
    timed: TableTime<'_>,
) -> Result<(), sqlx::Error> {
    if rows == 0 {
        return Ok(());
    }
    let started = Instant::now();
    query.execute(conn).await?;
    timed(table, rows, started.elapsed());
    Ok(())
}

/// `when(flag)` for a column of optional timestamps.
fn flagged(flags: impl Iterator<Item = bool>, at: DateTime<Utc>) -> Vec<Option<DateTime<Utc>>> {
    flags.map(|flag| flag.then_some(at)).collect()
}

fn uuids<T>(rows: &[T], id: impl Fn(&T) -> ulid::Ulid) -> Vec<Uuid> {
    rows.iter().map(|row| to_uuid(id(row))).collect()
}

fn texts<T>(rows: &[T], text: impl Fn(&T) -> Option<&str>) -> Vec<Option<String>> {
    rows.iter()
        .map(|row| text(row).map(str::to_owned))
        .collect()
}

/// Writes one batch, parents first for the foreign keys.
pub(super) async fn write(
    conn: &mut PgConnection,
    batch: &ImportBatch,
    ids: &NewIds,
    at: DateTime<Utc>,
    timed: TableTime<'_>,
) -> Result<(), sqlx::Error> {
    let users = &batch.users;
    let user_ids = uuids(users, |u| u.id);
    run(
        conn,
        "users",
        users.len(),
        sqlx::query(
            "INSERT INTO users (user_id, username, created_at, locked_at, deactivated_at, can_request_admin, is_guest)
             SELECT id, name, created, locked, deactivated, admin, FALSE
             FROM UNNEST($1::uuid[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[], $6::bool[])
               AS t (id, name, created, locked, deactivated, admin)",
        )
        .bind(&user_ids)
        .bind(users.iter().map(|u| u.username.clone()).collect::<Vec<_>>())
        .bind(users.iter().map(|u| u.created_at).collect::<Vec<_>>())
        .bind(flagged(users.iter().map(|u| u.locked), at))
        .bind(flagged(users.iter().map(|u| u.deactivated), at))
        .bind(users.iter().map(|u| u.can_request_admin).collect::<Vec<_>>()),
        timed,
    )
    .await?;
    run(
        conn,
        "syn2mas_imported_users",
        users.len(),
        sqlx::query(
            "INSERT INTO syn2mas_imported_users (user_id, imported_at)
             SELECT id, $2 FROM UNNEST($1::uuid[]) AS t (id)",
        )
        .bind(&user_ids)
        .bind(at),
        timed,
    )
    .await?;
    let passwords = &batch.passwords;
    run(
        conn,
        "user_passwords",
        passwords.len(),
        sqlx::query(
            "INSERT INTO user_passwords (user_password_id, user_id, hashed_password, version, created_at)
             SELECT id, owner, hash, version, $5
             FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::int8[]) AS t (id, owner, hash, version)",
        )
        .bind(ids.passwords.iter().map(|id| to_uuid(*id)).collect::<Vec<_>>())
        .bind(uuids(passwords, |p| p.0))
        .bind(passwords.iter().map(|p| p.1.clone()).collect::<Vec<_>>())
        .bind(passwords.iter().map(|p| p.2).collect::<Vec<_>>())
        .bind(at),
        timed,
    )
    .await?;
    let emails = &batch.emails;
    run(
        conn,
        "user_emails",
        emails.len(),
        sqlx::query(
            "INSERT INTO user_emails (user_email_id, user_id, email, created_at)
             SELECT id, owner, email, $4 FROM UNNEST($1::uuid[], $2::uuid[], $3::text[]) AS t (id, owner, email)",
        )
        .bind(ids.emails.iter().map(|id| to_uuid(*id)).collect::<Vec<_>>())
        .bind(uuids(emails, |e| e.0))
        .bind(emails.iter().map(|e| e.1.clone()).collect::<Vec<_>>())
        .bind(at),
        timed,
    )
    .await?;
    let others = &batch.other_third_party_ids;
    run(
        conn,
        "user_unsupported_third_party_ids",
        others.len(),
        sqlx::query(
            "INSERT INTO user_unsupported_third_party_ids (user_id, medium, address, created_at)
             SELECT owner, medium, address, $4 FROM UNNEST($1::uuid[], $2::text[], $3::text[]) AS t (owner, medium, address)",
        )
        .bind(uuids(others, |o| o.0))
        .bind(others.iter().map(|o| o.1.clone()).collect::<Vec<_>>())
        .bind(others.iter().map(|o| o.2.clone()).collect::<Vec<_>>())
        .bind(at),
        timed,
    )
    .await?;
    let links = &batch.upstream_links;
    run(
        conn,
        "upstream_oauth_links",
        links.len(),
        sqlx::query(
            "INSERT INTO upstream_oauth_links (upstream_oauth_link_id, upstream_oauth_provider_id, user_id, subject, created_at)
             SELECT id, provider, owner, subject, $5
             FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[]) AS t (id, provider, owner, subject)",
        )
        .bind(ids.links.iter().map(|id| to_uuid(*id)).collect::<Vec<_>>())
        .bind(uuids(links, |l| l.0))
        .bind(uuids(links, |l| l.1))
        .bind(links.iter().map(|l| l.2.clone()).collect::<Vec<_>>())
        .bind(at),
        timed,
    )
    .await?;
    let sessions = &batch.sessions;
    run(
        conn,
        "compat_sessions",
        sessions.len(),
        sqlx::query(
            "INSERT INTO compat_sessions (compat_session_id, user_id, device_id, is_synapse_admin, user_agent, last_active_at, last_active_ip, human_name, created_at)
             SELECT id, owner, device, admin, agent, active, ip, name, $9
             FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::bool[], $5::text[], $6::timestamptz[], $7::text[], $8::text[])
               AS t (id, owner, device, admin, agent, active, ip, name)",
        )
        .bind(uuids(sessions, |s| s.id))
        .bind(uuids(sessions, |s| s.user_id))
        .bind(texts(sessions, |s| s.device_id.as_deref()))
        .bind(sessions.iter().map(|s| s.is_synapse_admin).collect::<Vec<_>>())
        .bind(texts(sessions, |s| s.user_agent.as_deref()))
        .bind(sessions.iter().map(|s| s.last_active_at).collect::<Vec<_>>())
        .bind(texts(sessions, |s| s.last_active_ip.as_deref()))
        .bind(texts(sessions, |s| s.human_name.as_deref()))
        .bind(at),
        timed,
    )
    .await?;
    let access = &batch.access_tokens;
    run(
        conn,
        "compat_access_tokens",
        access.len(),
        sqlx::query(
            "INSERT INTO compat_access_tokens (compat_access_token_id, compat_session_id, access_token_sha256, created_at, expires_at)
             SELECT id, session, digest, $5, expires
             FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[]) AS t (id, session, digest, expires)",
        )
        .bind(uuids(access, |t| t.id))
        .bind(uuids(access, |t| t.session_id))
        .bind(access.iter().map(|t| t.digest.clone()).collect::<Vec<_>>())
        .bind(access.iter().map(|t| t.expires_at).collect::<Vec<_>>())
        .bind(at),
        timed,
    )
    .await?;
    let refresh = &batch.refresh_tokens;
    run(
        conn,
        "compat_refresh_tokens",
        refresh.len(),
        sqlx::query(
            "INSERT INTO compat_refresh_tokens (compat_refresh_token_id, compat_session_id, compat_access_token_id, refresh_token_sha256, created_at)
             SELECT id, session, access, digest, $5
             FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[]) AS t (id, session, access, digest)",
        )
        .bind(uuids(refresh, |t| t.id))
        .bind(uuids(refresh, |t| t.session_id))
        .bind(refresh.iter().map(|t| t.access_token_id.map(to_uuid)).collect::<Vec<_>>())
        .bind(refresh.iter().map(|t| t.digest.clone()).collect::<Vec<_>>())
        .bind(at),
        timed,
    )
    .await?;
    Ok(())
}
