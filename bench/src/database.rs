//! The database a benchmark run uses: an SQLite file in the run's directory,
//! or a fresh PostgreSQL database created with `psql` next to
//! `$DATABASE_URL` and dropped again when the run ends.

use std::{fmt, path::Path, process::Command};

use crate::error::{Context, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

impl DbKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

impl fmt::Display for DbKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A database for one run; a PostgreSQL one is dropped on drop.
pub struct BenchDatabase {
    pub uri: String,
    /// The admin URL and the name of the database to drop.
    postgres: Option<(String, String)>,
}

impl BenchDatabase {
    pub fn sqlite(dir: &Path) -> Self {
        Self {
            uri: format!("sqlite://{}", dir.join("mxauth.db").display()),
            postgres: None,
        }
    }

    /// Creates `name` on the server of `admin_url`.
    pub fn postgres(admin_url: &str, name: &str) -> Result<Self> {
        let uri = with_database(admin_url, name)?;
        psql(admin_url, &format!("CREATE DATABASE {name}"))
            .with_context(|| format!("creating the PostgreSQL database {name}"))?;
        Ok(Self {
            uri,
            postgres: Some((admin_url.to_owned(), name.to_owned())),
        })
    }

    /// Drops a PostgreSQL database (once); reports but survives failure.
    pub fn drop_now(&mut self) {
        if let Some((admin, name)) = self.postgres.take() {
            if let Err(e) = psql(
                &admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            ) {
                eprintln!("warning: could not drop the PostgreSQL database {name}: {e}");
            }
        }
    }
}

impl Drop for BenchDatabase {
    fn drop(&mut self) {
        self.drop_now();
    }
}

fn psql(url: &str, sql: &str) -> Result<()> {
    let output = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .output()
        .context("running psql (is it installed and on PATH?)")?;
    if output.status.success() {
        Ok(())
    } else {
        crate::fail!(
            "psql failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
    }
}

/// `url` with its database (the path) replaced by `name`, query kept.
fn with_database(url: &str, name: &str) -> Result<String> {
    let scheme_end = url
        .find("://")
        .with_context(|| format!("DATABASE_URL {url:?} is not a URL"))?
        + 3;
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let after = &rest[authority_end..];
    let query = after.find('?').map_or("", |at| &after[at..]);
    Ok(format!(
        "{}{}/{name}{query}",
        &url[..scheme_end],
        &rest[..authority_end]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_of_a_url() {
        let uri = |u| with_database(u, "b").unwrap();
        assert_eq!(
            uri("postgresql://postgres@127.0.0.1:5432/test"),
            "postgresql://postgres@127.0.0.1:5432/b"
        );
        assert_eq!(uri("postgres://h"), "postgres://h/b");
        assert_eq!(
            uri("postgres://u:p@h/x?sslmode=disable"),
            "postgres://u:p@h/b?sslmode=disable"
        );
        assert_eq!(uri("postgres://h?x=1"), "postgres://h/b?x=1");
    }
}
