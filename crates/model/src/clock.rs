//! Time as a parameter: handlers and jobs read the time from a [`Clock`], so
//! tests can freeze it and travel forward instead of sleeping.

use std::sync::{
    atomic::{AtomicI64, Ordering},
    Arc,
};

use chrono::{DateTime, Duration, TimeZone, Utc};

/// Where the current time comes from.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        // The one place that reads the system's time.
        #[allow(clippy::disallowed_methods)]
        Utc::now()
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct MockClock {
    micros: Arc<AtomicI64>,
}

impl Default for MockClock {
    fn default() -> Self {
        // A fixed, recognisable instant keeps snapshots stable.
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).single();
        Self::at(start.unwrap_or_default())
    }
}

impl MockClock {
    pub fn at(time: DateTime<Utc>) -> Self {
        Self {
            micros: Arc::new(AtomicI64::new(time.timestamp_micros())),
        }
    }

    pub fn advance(&self, by: Duration) {
        let micros = by.num_microseconds().unwrap_or(i64::MAX);
        self.micros.fetch_add(micros, Ordering::SeqCst);
    }
}

impl Clock for MockClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.micros.load(Ordering::SeqCst)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mock_clock_moves_only_when_advanced_and_clones_share_time() {
        let clock = MockClock::default();
        let other = clock.clone();
        let start = clock.now();
        assert_eq!(clock.now(), start);
        other.advance(Duration::seconds(90));
        assert_eq!(clock.now() - start, Duration::seconds(90));
    }
}
