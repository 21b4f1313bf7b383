//! What the import has written so far, how long each table took, and how it
//! tells its caller after each batch (the caller decides how to show it).

use std::time::Duration;

/// What has been written so far.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub users: u64,
    pub users_skipped: u64,
    pub passwords: u64,
    pub emails: u64,
    pub other_third_party_ids: u64,
    pub upstream_links: u64,
    pub sessions: u64,
    pub access_tokens: u64,
    pub refresh_tokens: u64,
    /// Synapse users looked at (imported, already there, or skipped).
    pub users_seen: u64,
    pub timings: Timings,
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        self.users += other.users;
        self.users_skipped += other.users_skipped;
        self.passwords += other.passwords;
        self.emails += other.emails;
        self.other_third_party_ids += other.other_third_party_ids;
        self.upstream_links += other.upstream_links;
        self.sessions += other.sessions;
        self.access_tokens += other.access_tokens;
        self.refresh_tokens += other.refresh_tokens;
        self.users_seen += other.users_seen;
        self.timings.add(&other.timings);
    }
}

/// Rows and time of one step (a Synapse table read, an mxauth table
/// written, the indexes rebuilt), summed over batches.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// `read users`, `write compat_sessions`, `rebuild indexes`…
    pub name: String,
    pub rows: u64,
    pub time: Duration,
}

/// The steps in the order they first happened. Writes of several batches
/// overlap, so their times add up to more than the wall time.
#[derive(Debug, Default, Clone)]
pub struct Timings(pub Vec<Step>);

impl Timings {
    pub fn record(&mut self, name: &str, rows: u64, time: Duration) {
        match self.0.iter_mut().find(|s| s.name == name) {
            Some(step) => {
                step.rows += rows;
                step.time += time;
            }
            None => self.0.push(Step {
                name: name.to_owned(),
                rows,
                time,
            }),
        }
    }

    pub fn read(&mut self, table: &str, rows: usize, time: Duration) {
        self.record(&format!("read {table}"), rows as u64, time);
    }

    pub fn wrote(&mut self, table: &str, rows: usize, time: Duration) {
        self.record(&format!("write {table}"), rows as u64, time);
    }

    pub fn add(&mut self, other: &Timings) {
        for step in &other.0 {
            self.record(&step.name, step.rows, step.time);
        }
    }
}

/// Told of the import's progress; the caller shows it (the CLI prints a
/// line on standard error).
pub trait ImportProgress {
    /// After each batch, committed on a real run (or rolled back on a dry
    /// run); `tally` is the running total and `batches` counts the batches
    /// so far.
    fn batch_written(&mut self, tally: &Tally, batches: u64);
}
