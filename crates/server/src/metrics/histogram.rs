//! A histogram of durations made of atomics: one counter per bucket, a
//! count and a sum, so recording takes no lock. Buckets are stored
//! non-cumulative and summed when rendered (Prometheus' `le` buckets are
//! cumulative).

use std::{
    sync::atomic::{AtomicU64, Ordering::Relaxed},
    time::Duration,
};

/// Upper bounds in seconds: from a cached lookup (a few ms) to a slow
/// homeserver or a queue of password hashes (seconds).
pub const BOUNDS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default)]
pub struct Histogram {
    /// `buckets[i]` counts observations in (BOUNDS[i-1], BOUNDS[i]]; the
    /// last one those above every bound.
    buckets: [AtomicU64; BOUNDS.len() + 1],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

/// A histogram's values at one moment, cumulative like Prometheus'.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// `(upper bound, observations at or below it)`, then `+Inf`.
    pub cumulative: Vec<u64>,
    pub count: u64,
    pub sum_seconds: f64,
}

impl Histogram {
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let index = BOUNDS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BOUNDS.len());
        self.buckets[index].fetch_add(1, Relaxed);
        self.count.fetch_add(1, Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Relaxed);
    }

    /// Adds this histogram's values into `into` (several series of one
    /// route are shown as one).
    pub fn add_to(&self, into: &mut Snapshot) {
        if into.cumulative.is_empty() {
            into.cumulative = vec![0; BOUNDS.len() + 1];
        }
        let mut running = 0;
        for (i, bucket) in self.buckets.iter().enumerate() {
            running += bucket.load(Relaxed);
            into.cumulative[i] += running;
        }
        into.count += self.count.load(Relaxed);
        into.sum_seconds += Duration::from_nanos(self.sum_nanos.load(Relaxed)).as_secs_f64();
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut snapshot = Snapshot::default();
        self.add_to(&mut snapshot);
        snapshot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_bounds_inclusive() {
        let histogram = Histogram::default();
        histogram.observe(Duration::from_millis(1));
        histogram.observe(Duration::from_millis(7));
        histogram.observe(Duration::from_secs(60));
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.count, 3);
        assert_eq!(snapshot.cumulative[0], 1, "1 ms is within le=0.001");
        assert_eq!(snapshot.cumulative[2], 1, "le=0.005");
        assert_eq!(snapshot.cumulative[3], 2, "le=0.01");
        assert_eq!(snapshot.cumulative[BOUNDS.len() - 1], 2, "le=10");
        assert_eq!(snapshot.cumulative[BOUNDS.len()], 3, "+Inf");
        assert!((snapshot.sum_seconds - 60.008).abs() < 1e-9);
    }
}
