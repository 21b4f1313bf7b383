//! The bulk load of an empty target: syn2mas drops the secondary indexes
//! (and, on PostgreSQL, the foreign keys) of the tables it fills, writes
//! every batch, then builds them again, which is several times cheaper than
//! keeping them up to date row by row. Primary keys and unique indexes
//! stay: they are what keeps usernames and emails unique, against a server
//! that runs during the import too, and a duplicate fails its batch at once
//! instead of the rebuild at the end. (SQLite cannot drop a foreign key; it
//! keeps checking them.)
//!
//! One exception: the unique indexes of the token digests
//! ([`UNIQUE_DIGESTS`]) are suspended too. Filled in random order, they
//! were most of the cost of writing the token tables: on the 100,000-user
//! bench, on SQLite (which writes the batches one at a time, so all index
//! upkeep is on the critical path) a third of the write time and most of
//! the pages each commit wrote (5.3 instead of 6.4 s, SQLite → SQLite); on
//! PostgreSQL about 2.5 of the 4 s of server time that writing
//! `compat_access_tokens` took, against 0.35 s to build the index at the
//! end. They lose nothing in practice: each digest is the SHA-256 of a
//! Synapse token, and Synapse's own unique indexes on the tokens keep those
//! distinct; the rebuild still checks them.
//!
//! What was dropped is recorded, statement by statement, in the working
//! table `syn2mas_suspended_indexes`, in the same transaction as the drops;
//! each rebuild deletes its record in the same transaction as the rebuild,
//! and the table itself goes when the last one is rebuilt. A run that stops
//! half-way therefore leaves the record behind, and the next run (or
//! [`Syn2Mas::suspended_indexes`] and [`Syn2Mas::restore_index`]) finds and
//! rebuilds exactly what is missing; no definition is ever lost.

use super::Syn2Mas;
use crate::{
    repository::{on_conn, Mode, Tx, Write},
    StorageError,
};

/// The tables syn2mas fills in bulk, in the order their foreign keys allow.
const TABLES: &[&str] = &[
    "users",
    "syn2mas_imported_users",
    "user_passwords",
    "user_emails",
    "compat_sessions",
    "compat_access_tokens",
    "compat_refresh_tokens",
];

/// Indexes of [`TABLES`] that are neither unique nor part of a constraint,
/// and [`UNIQUE_DIGESTS`] (`$2`), with the statement that recreates them.
const PG_INDEXES: &str = "SELECT i.relname, pg_get_indexdef(i.oid)
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = current_schema() AND t.relname = ANY($1)
      AND NOT x.indisprimary AND (NOT x.indisunique OR i.relname = ANY($2))
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
    ORDER BY t.relname, i.relname";

/// Foreign keys declared on [`TABLES`], with their table and the statement
/// that adds them back.
const PG_FOREIGN_KEYS: &str = "SELECT c.conname, t.relname,
        format('ALTER TABLE %I ADD CONSTRAINT %I %s', t.relname, c.conname, pg_get_constraintdef(c.oid))
    FROM pg_constraint c
    JOIN pg_class t ON t.oid = c.conrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = current_schema() AND t.relname = ANY($1) AND c.contype = 'f'
    ORDER BY t.relname, c.conname";

/// The unique indexes suspended as well (see the module's comment).
const UNIQUE_DIGESTS: &[&str] = &[
    "compat_access_tokens_digest_unique",
    "compat_refresh_tokens_digest_unique",
];

/// Indexes of [`TABLES`] created by `CREATE INDEX` that are not unique,
/// and [`UNIQUE_DIGESTS`] (automatic indexes of PRIMARY KEY and
/// UNIQUE have no SQL).
const SQLITE_INDEXES: &str = "SELECT name, sql FROM sqlite_master
    WHERE type = 'index' AND sql IS NOT NULL
      AND (sql NOT LIKE 'CREATE UNIQUE%' OR name IN (SELECT value FROM json_each($2)))
      AND tbl_name IN (SELECT value FROM json_each($1))
    ORDER BY tbl_name, name";

const RECORD_TABLE: &str = "CREATE TABLE IF NOT EXISTS syn2mas_suspended_indexes (
    name TEXT PRIMARY KEY,
    statement TEXT NOT NULL,
    position INTEGER NOT NULL
)";

impl Syn2Mas<'_, Write> {
    /// True when the target has no user at all: only then may the import
    /// suspend indexes (a target with data keeps them, so every lookup of
    /// a resumed or repeated run stays fast and every check stays on).
    pub async fn target_is_empty(&mut self) -> Result<bool, StorageError> {
        const SQL: &str = "SELECT NOT EXISTS (SELECT 1 FROM users)";
        Ok(on_conn!(self, |conn| sqlx::query_scalar(SQL)
            .fetch_one(conn)
            .await)?)
    }

    /// Drops the secondary indexes (and foreign keys, on PostgreSQL) of the
    /// tables syn2mas fills, recording how to rebuild each; commit with the
    /// drops. Returns how many were dropped.
    pub async fn suspend_indexes(&mut self) -> Result<usize, StorageError> {
        let tables: Vec<String> = TABLES.iter().map(|t| (*t).to_owned()).collect();
        // (name, statement that rebuilds it, statement that drops it)
        let mut found: Vec<(String, String, String)> = Vec::new();
        if let Some(conn) = postgres(self.tx) {
            let digests: Vec<String> = UNIQUE_DIGESTS.iter().map(|t| (*t).to_owned()).collect();
            let indexes: Vec<(String, String)> = sqlx::query_as(PG_INDEXES)
                .bind(&tables)
                .bind(&digests)
                .fetch_all(&mut *conn)
                .await?;
            let keys: Vec<(String, String, String)> = sqlx::query_as(PG_FOREIGN_KEYS)
                .bind(&tables)
                .fetch_all(conn)
                .await?;
            for (name, statement) in indexes {
                let drop = format!("DROP INDEX \"{name}\"");
                found.push((name, statement, drop));
            }
            // Keys are rebuilt after the indexes (position order).
            for (name, table, statement) in keys {
                let drop = format!("ALTER TABLE \"{table}\" DROP CONSTRAINT \"{name}\"");
                found.push((name, statement, drop));
            }
        } else {
            let (list, digests) = (json_list(TABLES), json_list(UNIQUE_DIGESTS));
            let indexes: Vec<(String, String)> =
                on_conn!(self, |conn| sqlx::query_as(SQLITE_INDEXES)
                    .bind(&list)
                    .bind(&digests)
                    .fetch_all(conn)
                    .await)?;
            for (name, statement) in indexes {
                let drop = format!("DROP INDEX \"{name}\"");
                found.push((name, statement, drop));
            }
        }
        on_conn!(self, |conn| sqlx::query(RECORD_TABLE)
            .execute(conn)
            .await
            .map(|_| ()))?;
        for (position, (name, statement, drop)) in found.iter().enumerate() {
            on_conn!(self, |conn| {
                sqlx::query(
                    "INSERT INTO syn2mas_suspended_indexes (name, statement, position) VALUES ($1, $2, $3)",
                )
                .bind(name)
                .bind(statement)
                .bind(position as i64)
                .execute(&mut *conn)
                .await?;
                sqlx::raw_sql(drop).execute(conn).await.map(|_| ())
            })?;
        }
        Ok(found.len())
    }

    /// Rebuilds one suspended index or key and forgets it; commit with it.
    pub async fn restore_index(&mut self, name: &str, statement: &str) -> Result<(), StorageError> {
        let (name, statement) = (name.to_owned(), statement.to_owned());
        on_conn!(self, |conn| sqlx::query(&statement)
            .execute(conn)
            .await
            .map(|_| ()))?;
        on_conn!(self, |conn| sqlx::query(
            "DELETE FROM syn2mas_suspended_indexes WHERE name = $1"
        )
        .bind(&name)
        .execute(conn)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Drops the working table once nothing in it is left to rebuild.
    pub async fn finish_restoring(&mut self) -> Result<(), StorageError> {
        if self.suspended_indexes().await?.is_empty() {
            on_conn!(self, |conn| sqlx::query(
                "DROP TABLE IF EXISTS syn2mas_suspended_indexes"
            )
            .execute(conn)
            .await
            .map(|_| ()))?;
        }
        Ok(())
    }
}

impl<M: Mode> Syn2Mas<'_, M> {
    /// What an earlier [`Self::suspend_indexes`] dropped and is not yet
    /// rebuilt, `(name, statement)` in rebuild order; empty when nothing is.
    pub async fn suspended_indexes(&mut self) -> Result<Vec<(String, String)>, StorageError> {
        let exists = if self.tx.is_postgres() {
            "SELECT to_regclass('syn2mas_suspended_indexes') IS NOT NULL"
        } else {
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'syn2mas_suspended_indexes')"
        };
        let exists: bool = on_conn!(self, |conn| sqlx::query_scalar(exists)
            .fetch_one(conn)
            .await)?;
        if !exists {
            return Ok(Vec::new());
        }
        const SQL: &str = "SELECT name, statement FROM syn2mas_suspended_indexes ORDER BY position";
        Ok(on_conn!(self, |conn| sqlx::query_as(SQL)
            .fetch_all(conn)
            .await)?)
    }
}

/// The PostgreSQL connection of the handle, if that is its backend.
fn postgres(tx: &mut Tx) -> Option<&mut sqlx::PgConnection> {
    match tx {
        Tx::Postgres(tx) => Some(&mut **tx),
        Tx::PostgresConn(conn) => Some(&mut **conn),
        Tx::Sqlite(_) | Tx::SqliteConn(_) => None,
    }
}

/// `["a","b"]`: SQLite's `json_each` takes the list as one parameter.
fn json_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    format!("[{}]", quoted.join(","))
}
