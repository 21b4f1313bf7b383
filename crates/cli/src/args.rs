//! Command-line arguments: the same verbs and flags as `mas-cli`.

use std::{ffi::OsString, path::PathBuf};

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "mxauth",
    version,
    about = "Authentication service for Matrix homeservers (MAS-compatible)"
)]
pub struct Args {
    /// Configuration file; repeat to merge several, later ones winning.
    /// Without it: $MXAUTH_CONFIG (colon-separated), else ./config.yaml,
    /// else development mode.
    #[arg(short, long = "config", global = true, value_name = "FILE")]
    pub config: Vec<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (the default command).
    Server(ServerArgs),
    /// Configuration: generate, check, dump.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Database maintenance.
    #[command(subcommand)]
    Database(DatabaseCommand),
    /// Manage users.
    #[command(subcommand)]
    Manage(ManageCommand),
    /// Run only the job worker (provisioning on the homeserver, device sync).
    Worker,
    /// Check that mxauth, the homeserver and the reverse proxy fit together.
    Doctor,
    /// Import users, passwords, emails and sessions from a Synapse database.
    Syn2mas(Syn2masArgs),
    /// Page templates.
    #[command(subcommand)]
    Templates(TemplatesCommand),
}

#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// Render every template (with `templates.path` overrides) with its
    /// sample data; fails naming the file and line of the first error.
    Check,
}

#[derive(Debug, clap::Args)]
pub struct Syn2masArgs {
    /// Synapse's homeserver.yaml; repeat to merge several, as Synapse does.
    #[arg(long, global = true, value_name = "FILE")]
    pub synapse_config: Vec<PathBuf>,
    /// Synapse's database, instead of the one in its config
    /// (postgresql://… or the path of its SQLite file).
    #[arg(long, global = true, value_name = "URI")]
    pub synapse_database_uri: Option<String>,
    /// Import users linked to SSO providers missing from Synapse's config,
    /// without the link.
    #[arg(long, global = true)]
    pub ignore_missing_auth_providers: bool,
    /// Map a Synapse SSO provider to an mxauth upstream provider, e.g.
    /// oidc-keycloak:01HFVBY12TMNTYTBV8W921M5FA; repeatable.
    #[arg(
        long,
        global = true,
        alias = "upstreamProviderMapping",
        value_name = "SYNAPSE_IDP_ID:PROVIDER_ULID"
    )]
    pub upstream_provider_mapping: Vec<String>,
    /// Go ahead despite warnings.
    #[arg(long, global = true)]
    pub accept_warnings: bool,
    #[command(subcommand)]
    pub command: Syn2masCommand,
}

#[derive(Debug, Subcommand)]
pub enum Syn2masCommand {
    /// Run every check and write nothing (exit 10: errors, 11: warnings).
    Check,
    /// Check, then import.
    Migrate {
        /// Write every batch in a transaction that is rolled back.
        #[arg(long)]
        dry_run: bool,
        /// Batches written at the same time, each on its own connection
        /// (default 3; SQLite writes one at a time whatever this says).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=32))]
        writers: Option<u16>,
        /// Keep the target's indexes and foreign keys during the import
        /// (by default they are dropped and rebuilt when the target has no
        /// users yet).
        #[arg(long)]
        no_bulk_load: bool,
    },
}

#[derive(Debug, Default, clap::Args)]
pub struct ServerArgs {
    /// Do not apply pending database migrations at start-up.
    #[arg(long)]
    pub no_migrate: bool,
    /// Do not run the job worker inside the server.
    #[arg(long)]
    pub no_worker: bool,
    /// Do not sync clients and providers from the config into the database.
    #[arg(long)]
    pub no_sync: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check the configuration; warnings name keys mxauth does not act on yet.
    Check,
    /// Print the merged configuration, defaults included.
    Dump {
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Write the static clients of the configuration into the database.
    Sync {
        /// Also delete static clients that are no longer in the configuration.
        #[arg(long)]
        prune: bool,
        /// Show what would change without changing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print a new configuration with fresh secrets and keys.
    Generate {
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Take over settings and OIDC providers from Synapse's
        /// homeserver.yaml; repeat to merge several, as Synapse does.
        #[arg(short = 's', long, value_name = "FILE")]
        synapse_config: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DatabaseCommand {
    /// Apply pending migrations.
    Migrate,
}

#[derive(Debug, Subcommand)]
pub enum ManageCommand {
    /// Create a user, asking for whatever is missing unless --yes.
    RegisterUser {
        /// The username: a localpart (`alice`) or a full Matrix ID
        /// (`@alice:example.com`).
        username: Option<String>,
        /// The password.
        #[arg(short, long)]
        password: Option<String>,
        /// An email address, already confirmed; repeat for several.
        #[arg(short, long = "email")]
        emails: Vec<String>,
        /// Allow the user to request admin rights.
        #[arg(short = 'a', long, conflicts_with = "no_admin")]
        admin: bool,
        /// Do not allow the user to request admin rights (the default).
        #[arg(short = 'A', long)]
        no_admin: bool,
        /// Display name, set on the homeserver when the user is provisioned.
        #[arg(short = 'd', long = "display-name")]
        display_name: Option<String>,
        /// Do not ask anything; fail if something required is missing.
        #[arg(short = 'y', long)]
        yes: bool,
        /// Accept a password weaker than passwords.minimum_complexity.
        #[arg(long)]
        ignore_password_complexity: bool,
        /// Do not ask the homeserver whether it accepts the username (for
        /// a user it already has, or while it is down).
        #[arg(long)]
        ignore_homeserver_check: bool,
        /// Link the new user to their account at an upstream provider
        /// (its id in upstream_oauth2.providers, then the subject there);
        /// repeatable.
        #[arg(
            long = "upstream-provider-mapping",
            value_name = "PROVIDER_ULID:SUBJECT"
        )]
        upstream_provider_mappings: Vec<String>,
    },
    /// Add a confirmed email address to a user.
    AddEmail { username: String, email: String },
    /// Make sure a user has this email address, confirmed.
    VerifyEmail { username: String, email: String },
    /// Set a user's password.
    SetPassword {
        username: String,
        password: String,
        /// Accept a password weaker than passwords.minimum_complexity.
        #[arg(long)]
        ignore_complexity: bool,
    },
    /// Lock a user: their sessions stop working until unlocked.
    LockUser {
        username: String,
        /// Also deactivate the account.
        #[arg(long)]
        deactivate: bool,
    },
    /// Unlock a user.
    UnlockUser {
        username: String,
        /// Also reactivate a deactivated account.
        #[arg(long)]
        reactivate: bool,
    },
    /// Deactivate a user (like the admin API's deactivate): locked,
    /// deactivated on the homeserver (data kept), every session ended.
    DeactivateUser { username: String },
    /// Reverse a deactivation (like the admin API's reactivate); a locked
    /// user stays locked until unlock-user.
    ReactivateUser { username: String },
    /// End every OAuth, compat and browser session of a user.
    KillSessions {
        username: String,
        /// List what would end, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Create a compat session (as a legacy Matrix login does) and print
    /// its access token.
    IssueCompatibilityToken {
        username: String,
        /// The device; 10 random letters and digits when not given.
        device_id: Option<String>,
        /// Let the token use Synapse's admin API (`urn:synapse:admin:*`).
        #[arg(long = "yes-i-want-to-grant-synapse-admin-privileges")]
        admin: bool,
    },
    /// Set a user's display name on the homeserver.
    #[command(alias = "set-display-name")]
    SetDisplayname {
        username: String,
        #[arg(allow_hyphen_values = true)]
        name: String,
    },
    /// Remove an email address from a user.
    RemoveEmail { username: String, email: String },
    /// Allow a user to request admin rights.
    PromoteAdmin { username: String },
    /// Stop a user from requesting admin rights.
    DemoteAdmin { username: String },
    /// List the users allowed to request admin rights.
    ListAdminUsers,
    /// Queue a provisioning job for every user (re-creates them on the homeserver).
    ProvisionAllUsers,
    /// Create a registration token (for
    /// account.password_registration_token_required) and print it.
    IssueUserRegistrationToken {
        /// The token's text; random when not given.
        #[arg(long)]
        token: Option<String>,
        /// How many registrations it allows (default: one).
        #[arg(long, conflicts_with = "unlimited")]
        usage_limit: Option<u64>,
        /// Allow any number of registrations.
        #[arg(long)]
        unlimited: bool,
        /// Seconds until it expires (default: never).
        #[arg(long)]
        expires_in: Option<u64>,
    },
}

/// The playbook documents `--upstreamProviderMapping oidc-x:ULID` as one list
/// item, which wrappers may hand over as a single argument; split such an
/// argument at its first space so it parses like the two words it means.
pub fn split_joined_flags(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    for arg in args {
        let joined = arg.to_str().and_then(|text| {
            let (flag, value) = text.split_once(' ')?;
            matches!(
                flag,
                "--upstreamProviderMapping" | "--upstream-provider-mapping"
            )
            .then(|| (flag.to_owned(), value.trim().to_owned()))
        });
        match joined {
            Some((flag, value)) => out.extend([flag.into(), value.into()]),
            None => out.push(arg),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_flag_joined_with_its_value_is_split() {
        let args = [
            "mxauth",
            "syn2mas",
            "--upstreamProviderMapping oidc-k:01HFVBY12TMNTYTBV8W921M5FA",
            "--synapse-config",
            "a b.yaml",
            "check",
        ]
        .map(OsString::from);
        let parsed = Args::parse_from(split_joined_flags(args));
        let Some(Command::Syn2mas(syn2mas)) = parsed.command else {
            panic!("not syn2mas")
        };
        assert_eq!(
            syn2mas.upstream_provider_mapping,
            ["oidc-k:01HFVBY12TMNTYTBV8W921M5FA"]
        );
        // Other arguments with spaces (a path here) are left alone.
        assert_eq!(syn2mas.synapse_config, [PathBuf::from("a b.yaml")]);
    }
}
