//! Moving an existing Synapse homeserver's accounts and sessions into mxauth
//! (MAS's `syn2mas`): Synapse's config ([`synapse_config`], given as text),
//! a read-only reader of its database on SQLite or PostgreSQL ([`source`]),
//! the checks that run before anything is written ([`checks`]), and the
//! batched, resumable import ([`import`]) that writes through mxauth's
//! `Repository`.
//!
//! Besides storage, this is the one crate that uses sqlx: Synapse's schema
//! is not ours, so its reader lives here rather than in mxauth's repository,
//! and so does the PostgreSQL advisory lock that keeps two runs apart
//! ([`lock`]). The CLI reads the files, prints findings and progress, and
//! turns the outcome into exit codes.

pub mod checks;
mod error;
pub mod import;
pub mod lock;
pub mod progress;
pub mod source;
pub mod synapse_config;

pub use self::{
    checks::{check_configs, check_data, CheckOptions, Finding, Findings, Severity},
    error::Syn2masError,
    import::{ImportSettings, DEFAULT_BATCH_USERS, DEFAULT_WRITERS},
    lock::{lock_target, TargetLock},
    progress::{ImportProgress, Step, Tally, Timings},
    source::{SourceCounts, SynapseSource},
    synapse_config::{SynapseConfig, SynapseConfigError, SynapseConfigFile, SynapseDatabase},
};
