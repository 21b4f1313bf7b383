//! Progress of the import on standard error: a line redrawn in place on a
//! terminal, a plain line every few seconds otherwise (logs, CI, Ansible).

use std::{
    io::{IsTerminal, Write},
    time::{Duration, Instant},
};

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

    /// The end-of-run summary, one line per table.
    pub fn summary(&self) -> String {
        format!(
            "  users:                 {}\n  passwords:             {}\n  emails:                {}\n  other third-party ids: {}\n  upstream links:        {}\n  sessions (devices):    {}\n  access tokens:         {}\n  refresh tokens:        {}\n  users skipped:         {} (appservice, guest, or already imported)",
            self.users,
            self.passwords,
            self.emails,
            self.other_third_party_ids,
            self.upstream_links,
            self.sessions,
            self.access_tokens,
            self.refresh_tokens,
            self.users_skipped
        )
    }
}

pub struct Progress {
    total_users: u64,
    started: Instant,
    last: Instant,
    terminal: bool,
}

impl Progress {
    pub fn new(total_users: u64) -> Self {
        let now = Instant::now();
        Self {
            total_users,
            started: now,
            last: now,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn line(&self, tally: &Tally) -> String {
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        let percent = if self.total_users == 0 {
            100.0
        } else {
            tally.users_seen as f64 * 100.0 / self.total_users as f64
        };
        format!(
            "users {}/{} ({percent:.0}%) · {:.0} users/s · sessions {} · access tokens {} · refresh tokens {} · emails {}",
            tally.users_seen,
            self.total_users,
            tally.users_seen as f64 / seconds,
            tally.sessions,
            tally.access_tokens,
            tally.refresh_tokens,
            tally.emails
        )
    }

    pub fn update(&mut self, tally: &Tally) {
        let every = if self.terminal {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(5)
        };
        if self.last.elapsed() < every {
            return;
        }
        self.last = Instant::now();
        let line = self.line(tally);
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[2K{line}");
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }

    pub fn finish(&self, tally: &Tally) -> Duration {
        let line = self.line(tally);
        if self.terminal {
            eprintln!("\r\x1b[2K{line}");
        } else {
            eprintln!("{line}");
        }
        self.started.elapsed()
    }
}
