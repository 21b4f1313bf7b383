//! Rate limits on password checks (and later other costly or guessable
//! actions): keyed token buckets in memory, per process, as in MAS. A bucket
//! holds `burst` tokens and refills at `per_second`; a check takes one.
//! Buckets that are full again are dropped, so memory follows the number of
//! recently active keys, not all keys ever seen.

use std::{collections::HashMap, sync::Mutex};

use chrono::{DateTime, Duration, Utc};

use mxauth_config::RateLimit;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: DateTime<Utc>,
}

/// When an action is refused: how long until it would be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

#[derive(Debug, Default)]
pub struct Limiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// Past this many keys, full buckets are swept out on the next check.
const SWEEP_THRESHOLD: usize = 10_000;

impl Limiter {
    /// Takes one token from the bucket of `key`, or says how long to wait.
    pub fn check(&self, key: &str, limit: RateLimit, now: DateTime<Utc>) -> Result<(), RetryAfter> {
        let burst = f64::from(limit.burst.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > SWEEP_THRESHOLD {
            buckets.retain(|_, b| refill(b, limit, now) < burst);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let tokens = refill(bucket, limit, now);
        if tokens >= 1.0 {
            *bucket = Bucket {
                tokens: tokens - 1.0,
                updated: now,
            };
            Ok(())
        } else {
            *bucket = Bucket {
                tokens,
                updated: now,
            };
            let missing = 1.0 - tokens;
            let seconds = if limit.per_second > 0.0 {
                missing / limit.per_second
            } else {
                3600.0
            };
            Err(RetryAfter(Duration::milliseconds(
                (seconds * 1000.0).ceil() as i64,
            )))
        }
    }
}

/// The tokens a bucket holds at `now`.
fn refill(bucket: &Bucket, limit: RateLimit, now: DateTime<Utc>) -> f64 {
    let elapsed = (now - bucket.updated).num_milliseconds().max(0) as f64 / 1000.0;
    (bucket.tokens + elapsed * limit.per_second).min(f64::from(limit.burst.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let limiter = Limiter::default();
        let limit = RateLimit {
            burst: 3,
            per_second: 0.5,
        };
        let t = mxauth_model::Clock::now(&mxauth_model::MockClock::default());
        for _ in 0..3 {
            assert!(limiter.check("ip:1", limit, t).is_ok());
        }
        let refused = limiter.check("ip:1", limit, t).unwrap_err();
        assert_eq!(refused, RetryAfter(Duration::seconds(2)));
        // Other keys are independent.
        assert!(limiter.check("ip:2", limit, t).is_ok());
        assert!(limiter
            .check("ip:1", limit, t + Duration::seconds(2))
            .is_ok());
        assert!(limiter
            .check("ip:1", limit, t + Duration::seconds(2))
            .is_err());
    }

    #[test]
    fn full_buckets_are_swept() {
        let limiter = Limiter::default();
        let limit = RateLimit {
            burst: 1,
            per_second: 1.0,
        };
        let t = mxauth_model::Clock::now(&mxauth_model::MockClock::default());
        for i in 0..=SWEEP_THRESHOLD {
            limiter.check(&format!("k{i}"), limit, t).unwrap();
        }
        limiter
            .check("late", limit, t + Duration::seconds(5))
            .unwrap();
        assert_eq!(limiter.buckets.lock().unwrap().len(), 1);
    }
}
