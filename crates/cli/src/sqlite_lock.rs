//! One server per SQLite file: `server` and `worker` hold an advisory lock
//! (flock(2)) on `<database>.lock` for the life of the process, so a second
//! one refuses to start instead of sharing the file with the first. The
//! operating system releases the lock when the process ends, crash included,
//! so a stale lock file never blocks a restart. One-shot commands (`manage`,
//! `config sync`…) take no lock: they must work while the server runs.

use std::{
    fs::File,
    io::{Read, Seek, Write},
    path::{Path, PathBuf},
};

use anyhow::{bail, Context, Result};
use mxauth_storage::DatabaseSettings;
use rustix::{
    fs::{flock, FlockOperation},
    io::Errno,
};

/// Held for as long as the process runs; dropping it releases the lock.
#[derive(Debug)]
pub struct SqliteLock {
    _file: File,
}

/// `<database>.lock`, next to the database file.
pub fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the lock of the SQLite file of `settings`; `None` for PostgreSQL
/// and in-memory SQLite, which need none.
pub fn lock(settings: &DatabaseSettings) -> Result<Option<SqliteLock>> {
    let Some(database) = settings.sqlite_file() else {
        return Ok(None);
    };
    let path = lock_path(&database);
    // Not truncated before the lock is ours: it names the holder.
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))?;
    match flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(Errno::WOULDBLOCK) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => String::new(),
                pid => format!(" (process {pid})"),
            };
            bail!(
                "another mxauth server{holder} is already running on the SQLite database {}: it holds {}. Stop it first; to run several servers, use PostgreSQL",
                database.display(),
                path.display()
            );
        }
        Err(e) => {
            return Err(std::io::Error::from(e))
                .with_context(|| format!("cannot lock {}", path.display()))
        }
    }
    // Ours now: record who holds it, for the message above.
    file.set_len(0)?;
    file.rewind()?;
    writeln!(file, "{}", std::process::id())?;
    Ok(Some(SqliteLock { _file: file }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_file_is_refused_until_the_first_is_dropped() {
        let dir = std::env::temp_dir().join(format!("mxauth-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let uri = format!("sqlite://{}", dir.join("mxauth.db").display());
        let settings = DatabaseSettings::from_uri(uri);
        let first = lock(&settings).unwrap().expect("SQLite is locked");
        // flock locks belong to the open file, so a second open in the same
        // process conflicts just like another process would.
        let second = lock(&settings).unwrap_err().to_string();
        assert!(second.contains("another mxauth server"), "{second}");
        assert!(
            second.contains(&format!("(process {})", std::process::id())),
            "{second}"
        );
        drop(first);
        assert!(lock(&settings).unwrap().is_some());
        assert!(
            lock(&DatabaseSettings::from_uri("postgresql://localhost/x"))
                .unwrap()
                .is_none()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
