//! The commands, and what they share: loading the configuration (or entering
//! development mode) and opening the database.

mod config;
mod database;
mod doctor;
mod manage;
mod server;
mod state;
mod syn2mas;
mod templates;

use std::process::ExitCode;

use anyhow::{bail, Result};
use mxauth_config::RootConfig;
use mxauth_storage::{migrate, Database};

use crate::{
    args::{Args, Command, ServerArgs},
    config_loader::{self, ConfigSource},
    dev_mode, resolve,
};

/// The loaded configuration and where it came from.
pub struct Context {
    pub config: RootConfig,
    pub dev_mode: bool,
}

impl Context {
    /// The configuration of `args`: the files [`preload`] already read, if
    /// it did, else read now.
    pub fn load(args: &Args, preloaded: Option<Result<RootConfig>>) -> Result<Self> {
        if let Some(config) = preloaded {
            return Ok(Self {
                config: config?,
                dev_mode: false,
            });
        }
        // Only the server starts development mode; other commands join one
        // that exists, and otherwise refuse rather than work on a throwaway
        // database.
        let is_server = matches!(args.command, None | Some(Command::Server(_)));
        let source = config_loader::find_sources(&args.config, |k| std::env::var(k).ok());
        match source {
            ConfigSource::Files(files) => Ok(Self {
                config: config_loader::load_files(&files)?,
                dev_mode: false,
            }),
            ConfigSource::None => {
                let dir = dev_mode::data_dir();
                if is_server {
                    dev_mode::announce(&dir);
                } else if dev_mode::has_data(&dir) {
                    dev_mode::note(&dir);
                } else {
                    bail!(
                        "no configuration: pass -c FILE or set MXAUTH_CONFIG (no ./config.yaml either, and no development server has run here: `mxauth server` without a configuration starts one in {}/)",
                        dir.display()
                    );
                }
                Ok(Self {
                    config: dev_mode::load(&dir)?,
                    dev_mode: true,
                })
            }
        }
    }

    /// Connects to the database. In development mode pending migrations are
    /// applied; otherwise they are an error pointing at `database migrate`.
    pub async fn database(&self) -> Result<Database> {
        let settings = resolve::database_settings(&self.config.database)?;
        let db = Database::connect(&settings).await?;
        if self.dev_mode {
            migrate::run(&db, |_| {}).await?;
        } else if !migrate::pending(&db).await?.is_empty() {
            bail!("the database schema is not up to date: run `mxauth database migrate` first");
        }
        Ok(db)
    }
}

/// The configuration files of a server or worker, loaded before the log
/// subscriber is built (its trace exporter comes from `telemetry.tracing`)
/// and then handed to the command, so they are read once. `None` for other
/// commands and for development mode (which exports nothing); a file that
/// does not load is reported by the command.
pub fn preload(args: &Args) -> Option<Result<RootConfig>> {
    let serves = matches!(
        args.command,
        None | Some(Command::Server(_)) | Some(Command::Worker)
    );
    if !serves {
        return None;
    }
    match config_loader::find_sources(&args.config, |k| std::env::var(k).ok()) {
        ConfigSource::Files(files) => Some(config_loader::load_files(&files)),
        ConfigSource::None => None,
    }
}

pub async fn run(args: Args, preloaded: Option<Result<RootConfig>>) -> Result<ExitCode> {
    let default_server = ServerArgs::default();
    let command = args
        .command
        .as_ref()
        .map_or(CommandRef::Server(&default_server), CommandRef::from);
    match command {
        CommandRef::Config(crate::args::ConfigCommand::Generate {
            output,
            synapse_config,
        }) => config::generate(output.as_deref(), synapse_config),
        CommandRef::Config(crate::args::ConfigCommand::Sync { prune, dry_run }) => {
            config::sync(&Context::load(&args, None)?, *prune, *dry_run).await
        }
        CommandRef::Config(command) => config::run(&Context::load(&args, None)?, command),
        CommandRef::Database(command) => database::run(&Context::load(&args, None)?, command).await,
        CommandRef::Manage(command) => manage::run(&Context::load(&args, None)?, command).await,
        CommandRef::Server(server_args) => {
            server::run(&Context::load(&args, preloaded)?, server_args).await
        }
        CommandRef::Worker => server::worker(&Context::load(&args, preloaded)?).await,
        CommandRef::Doctor => doctor::run(&Context::load(&args, None)?).await,
        CommandRef::Syn2mas(command) => syn2mas::run(&Context::load(&args, None)?, command).await,
        CommandRef::Templates(command) => templates::run(&Context::load(&args, None)?, command),
    }
}

/// A borrowed view of the command, with `server` as the default.
enum CommandRef<'a> {
    Server(&'a ServerArgs),
    Config(&'a crate::args::ConfigCommand),
    Database(&'a crate::args::DatabaseCommand),
    Manage(&'a crate::args::ManageCommand),
    Worker,
    Doctor,
    Syn2mas(&'a crate::args::Syn2masArgs),
    Templates(&'a crate::args::TemplatesCommand),
}

impl<'a> From<&'a Command> for CommandRef<'a> {
    fn from(command: &'a Command) -> Self {
        match command {
            Command::Server(a) => Self::Server(a),
            Command::Config(c) => Self::Config(c),
            Command::Database(c) => Self::Database(c),
            Command::Manage(c) => Self::Manage(c),
            Command::Worker => Self::Worker,
            Command::Doctor => Self::Doctor,
            Command::Syn2mas(a) => Self::Syn2mas(a),
            Command::Templates(c) => Self::Templates(c),
        }
    }
}
