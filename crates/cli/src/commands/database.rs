//! `database migrate`.

use std::process::ExitCode;

use anyhow::Result;
use mxauth_storage::{migrate, Database};

use super::Context;
use crate::{args::DatabaseCommand, resolve};

pub async fn run(ctx: &Context, command: &DatabaseCommand) -> Result<ExitCode> {
    match command {
        DatabaseCommand::Migrate => {
            let settings = resolve::database_settings(&ctx.config.database)?;
            eprintln!("Database: {}", settings.describe());
            let db = Database::connect(&settings).await?;
            let applied = apply(&db).await?;
            if applied == 0 {
                eprintln!("The database is up to date.");
            } else {
                eprintln!("Applied {applied} migration(s); the database is up to date.");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Applies pending migrations, printing each before it runs.
pub async fn apply(db: &Database) -> Result<usize> {
    let pending = migrate::pending(db).await?.len();
    let mut done = 0;
    let applied = migrate::run(db, |m| {
        done += 1;
        eprintln!(
            "Applying migration {done}/{pending}: {:04} {}",
            m.version, m.name
        );
    })
    .await?;
    Ok(applied)
}
