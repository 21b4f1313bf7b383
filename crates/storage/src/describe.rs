//! Which database a [`DatabaseSettings`] points at, said for people (the
//! SQLite file; PostgreSQL's host, port, database and user, never the
//! password), and the SQLite file itself for the single-server lock.

use std::{path::PathBuf, str::FromStr};

use sqlx::sqlite::SqliteConnectOptions;

use crate::{database::postgres_options, Backend, DatabaseSettings};

impl DatabaseSettings {
    /// The SQLite file these settings open; `None` for PostgreSQL and for an
    /// in-memory SQLite database.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        let uri = self.uri.as_deref()?;
        if self.backend() != Backend::Sqlite
            || uri.contains(":memory:")
            || uri.contains("mode=memory")
        {
            return None;
        }
        let options = SqliteConnectOptions::from_str(uri).ok()?;
        Some(options.get_filename().to_path_buf())
    }

    /// `SQLite file /var/lib/mxauth/mxauth.db` or `PostgreSQL database mxauth
    /// on db.example.com:5432 as user mxauth`, with what libpq's
    /// environment variables and defaults fill in.
    pub fn describe(&self) -> String {
        if self.backend() == Backend::Sqlite {
            return match self.sqlite_file() {
                Some(file) => format!("SQLite file {}", file.display()),
                None => "SQLite in memory".into(),
            };
        }
        let Ok(options) = postgres_options(self) else {
            return "PostgreSQL (invalid settings)".into();
        };
        let place = match options.get_socket() {
            Some(socket) => format!("socket {}", socket.display()),
            None => format!("{}:{}", options.get_host(), options.get_port()),
        };
        let user = options.get_username();
        // Like libpq, the database defaults to the user's name.
        let database = options.get_database().unwrap_or(user);
        format!("PostgreSQL database {database} on {place} as user {user}")
    }
}

#[cfg(test)]
mod tests {
    use crate::DatabaseSettings;

    #[test]
    fn postgres_is_named_without_its_password() {
        let settings =
            DatabaseSettings::from_uri("postgresql://mas:hunter2@db.example.com:5433/auth");
        let text = settings.describe();
        assert_eq!(
            text,
            "PostgreSQL database auth on db.example.com:5433 as user mas"
        );
        assert!(!text.contains("hunter2"));
        assert_eq!(settings.sqlite_file(), None);
    }

    #[test]
    fn separate_fields_are_described_too() {
        let mut settings = DatabaseSettings::from_uri(String::new());
        settings.uri = None;
        settings.host = Some("pg.internal".into());
        settings.username = Some("mxauth".into());
        settings.database = Some("auth".into());
        settings.password = Some("hunter2".into());
        let text = settings.describe();
        assert!(
            text.starts_with("PostgreSQL database auth on pg.internal:"),
            "{text}"
        );
        assert!(!text.contains("hunter2"));
    }

    #[test]
    fn sqlite_names_its_file() {
        let settings = DatabaseSettings::from_uri("sqlite://data/mxauth.db");
        assert_eq!(settings.describe(), "SQLite file data/mxauth.db");
        assert_eq!(
            settings.sqlite_file(),
            Some(std::path::PathBuf::from("data/mxauth.db"))
        );
        let memory = DatabaseSettings::from_uri("sqlite::memory:");
        assert_eq!(memory.sqlite_file(), None);
        assert_eq!(memory.describe(), "SQLite in memory");
    }
}
