//! The connection `mxauth syn2mas` writes its batches through.
//!
//! On PostgreSQL it is the ordinary pool. On SQLite it is a pool of its
//! own: one connection (SQLite has one writer at a time anyway), sharing the
//! process's write lock, whose per-connection settings suit a bulk import.
//! Measured on the 100,000-user bench (`bench/syn2mas`), the default
//! settings spent most of the write time in the kernel:
//!
//! - `temp_store = MEMORY`: a multi-row INSERT inside a larger transaction
//!   keeps a statement journal (so a failing row can undo its statement
//!   alone) of every page it changes that the transaction had changed
//!   before. By default that journal spills to a temporary file past 64 KiB:
//!   almost half a million writes to `/var/tmp` per import.
//! - `cache_size`: the default 2 MB cache holds a small part of the token
//!   digest indexes, which take inserts in random order; every miss is a
//!   read from the OS, and a batch's dirty pages spill to the WAL before its
//!   commit and are written again at the commit.
//! - `wal_autocheckpoint`: SQLite copies the WAL into the database file
//!   (with an fsync at `synchronous = NORMAL`) once the WAL has 1,000
//!   pages, i.e. after nearly every batch; every 16,384 pages (64 MB) the
//!   same page, changed by several batches, is copied once.
//! - `synchronous = OFF`, only for the bulk load of an empty target (see
//!   [`ImportWriter::Bulk`]): no fsync at all. A stopped or killed run is
//!   unaffected (the writes are in the OS's hands); a power cut or an OS
//!   crash during the load can leave the file corrupt, and then the
//!   import starts again from a new, empty target.
//!
//! None of this outlives the import: the settings are those of the
//! connection, which [`Database::finish_import`] closes, and the
//! server's own connections never have them. `finish_import` then copies
//! the WAL into the database file on an ordinary connection, with its fsync,
//! so a finished import is durable whatever the settings were.
//! (See <https://www.sqlite.org/pragma.html> for each pragma, and
//! <https://www.sqlite.org/tempfiles.html#stmtjrnl> for statement journals.)

use sqlx::sqlite::{SqlitePoolOptions, SqliteSynchronous};

use crate::{availability, Database, StorageError};

/// Page cache of the import connection: 16 MiB (a negative `cache_size` is
/// in KiB). On the bench, 2, 8, 16 and 32 MiB gave 7.4, 6.8, 6.4 and 6.6 s
/// (SQLite → SQLite) and 67, 76, 81 and 119 MB peak memory.
const CACHE_KIB: u32 = 16 * 1024;

/// WAL pages (4 KiB) between automatic checkpoints: 64 MB.
const AUTOCHECKPOINT_PAGES: u32 = 16_384;

/// How the import writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportWriter {
    /// Every crash-safety setting of the target kept (a dry run, a target
    /// with users, `--no-bulk-load`).
    Safe,
    /// The bulk load of an empty target: on SQLite, no fsync until
    /// [`Database::finish_import`].
    Bulk,
}

impl Database {
    /// The database the import writes its batches to: `self` on
    /// PostgreSQL, a one-connection pool with the settings above on SQLite.
    /// Hand it back to [`Database::finish_import`] at the end.
    pub async fn import_writer(&self, kind: ImportWriter) -> Result<Database, StorageError> {
        let Database::Sqlite(pool, lock) = self else {
            return Ok(self.clone());
        };
        let mut options = (*pool.connect_options())
            .clone()
            .pragma("cache_size", format!("-{CACHE_KIB}"))
            .pragma("temp_store", "MEMORY")
            .pragma("wal_autocheckpoint", AUTOCHECKPOINT_PAGES.to_string());
        if kind == ImportWriter::Bulk {
            options = options.synchronous(SqliteSynchronous::Off);
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .after_release(availability::sqlite_release_check)
            .connect_with(options)
            .await?;
        Ok(Database::Sqlite(writer, lock.clone()))
    }

    /// Closes the import's `writer` (from [`Database::import_writer`]) and,
    /// on SQLite, checkpoints the WAL into the database file with this
    /// pool's settings (`synchronous = NORMAL`: with an fsync), truncating
    /// the WAL the import grew.
    pub async fn finish_import(&self, writer: Database) -> Result<(), StorageError> {
        let Database::Sqlite(pool, _) = self else {
            return Ok(());
        };
        writer.close().await;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(pool)
            .await?;
        Ok(())
    }
}
