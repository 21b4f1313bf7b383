//! What the import has written so far, and how it tells its caller after
//! each batch (the caller decides how to show it).

/// What has been written so far.
#[derive(Debug, Default, Clone, Copy)]
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
    }
}

/// Told of the import's progress; the caller shows it (the CLI prints a
/// line on standard error).
pub trait ImportProgress {
    /// After each batch, committed on a real run (or written into the
    /// transaction a dry run rolls back); `tally` is the running total and
    /// `batches` counts the batches so far.
    fn batch_written(&mut self, tally: &Tally, batches: u64);
}
