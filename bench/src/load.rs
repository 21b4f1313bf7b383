//! The load loop: N workers, each on its own keep-alive connection, send
//! requests back to back until the deadline. Requests started during the
//! warm-up are not recorded; every recorded request has a timeout, and each
//! answer is checked by the scenario. Latencies are kept per request (in
//! microseconds) and merged into percentiles at the end.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    time::{Duration, Instant},
};

use crate::http::{Conn, Response};

/// What a worker sends and how it judges the answer.
pub trait Job: Send + 'static {
    /// The bytes of the next request.
    fn request(&mut self) -> &[u8];
    /// `Err(kind)` when the answer is not the expected one; may update the
    /// job (the next refresh token).
    fn check(&mut self, response: &Response) -> Result<(), String>;
}

/// Scenarios pick their job at run time.
impl<J: Job + ?Sized> Job for Box<J> {
    fn request(&mut self) -> &[u8] {
        (**self).request()
    }

    fn check(&mut self, response: &Response) -> Result<(), String> {
        (**self).check(response)
    }
}

/// When recording starts and when workers stop sending.
#[derive(Clone, Copy)]
pub struct Window {
    pub record_from: Instant,
    pub stop_at: Instant,
    pub timeout: Duration,
}

/// Errors by kind, with one example message each.
#[derive(Debug, Default, Clone)]
pub struct Errors {
    pub count: u64,
    pub by_kind: BTreeMap<String, (u64, String)>,
}

impl Errors {
    fn add(&mut self, kind: &str, example: impl FnOnce() -> String) {
        self.count += 1;
        self.by_kind
            .entry(kind.to_owned())
            .or_insert_with(|| (0, example()))
            .0 += 1;
    }

    fn merge(&mut self, other: Errors) {
        self.count += other.count;
        for (kind, (n, example)) in other.by_kind {
            self.by_kind.entry(kind).or_insert((0, example)).0 += n;
        }
    }
}

pub struct WorkerResult {
    latencies_us: Vec<u32>,
    errors: Errors,
    last_done: Instant,
}

/// Why an answer did not count: a kind for the error table and an example.
pub type Failure = (String, String);

impl WorkerResult {
    /// The outcome of a single request (a burst).
    pub fn single(started: Instant, done: Instant, failure: Option<Failure>) -> Self {
        let mut result = Self {
            latencies_us: Vec::with_capacity(1),
            errors: Errors::default(),
            last_done: done,
        };
        result.record(started, done, failure);
        result
    }

    fn record(&mut self, started: Instant, done: Instant, failure: Option<Failure>) {
        self.last_done = done;
        match failure {
            None => {
                let us = done.duration_since(started).as_micros();
                self.latencies_us
                    .push(u32::try_from(us).unwrap_or(u32::MAX));
            }
            Some((kind, example)) => self.errors.add(&kind, || example),
        }
    }
}

/// Sends one request of `job` on `conn`: when the exchange ended, and why
/// it failed if it did.
pub async fn exchange<J: Job>(
    conn: &mut Conn,
    job: &mut J,
    timeout: Duration,
) -> (Instant, Option<Failure>) {
    let outcome = tokio::time::timeout(timeout, conn.send(job.request())).await;
    let done = Instant::now();
    let failure = match outcome {
        Err(_) => {
            conn.reset();
            Some((
                "timeout".to_owned(),
                "no answer within the timeout".to_owned(),
            ))
        }
        Ok(Err(e)) => Some((e.kind().to_owned(), e.to_string())),
        Ok(Ok(response)) => job
            .check(&response)
            .err()
            .map(|kind| (kind, describe(&response))),
    };
    (done, failure)
}

/// Sends requests from `job` on one connection until `window.stop_at`.
pub async fn worker<J: Job>(addr: SocketAddr, mut job: J, window: Window) -> WorkerResult {
    let mut conn = Conn::new(addr);
    let mut result = WorkerResult {
        latencies_us: Vec::with_capacity(64 * 1024),
        errors: Errors::default(),
        last_done: window.record_from,
    };
    loop {
        let started = Instant::now();
        if started >= window.stop_at {
            break;
        }
        let (done, failure) = exchange(&mut conn, &mut job, window.timeout).await;
        if started < window.record_from {
            continue;
        }
        // Do not spin on a refused connection.
        let refused = failure.as_ref().is_some_and(|(kind, _)| kind == "connect");
        result.record(started, done, failure);
        if refused {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    result
}

fn describe(response: &Response) -> String {
    let text = response.text();
    let snippet: String = text.chars().take(300).collect();
    format!("{}: {snippet}", response.status)
}

/// What a scenario measured, before memory is added.
#[derive(Debug, Clone)]
pub struct Measured {
    pub ok: u64,
    pub elapsed: Duration,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
    pub errors: Errors,
}

/// The `q` quantile (0 to 1) of sorted latencies in microseconds, in
/// milliseconds, by nearest rank; 0 when there are none.
pub fn nearest_rank(sorted_us: &[u32], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted_us.len() as f64).ceil() as usize).clamp(1, sorted_us.len());
    f64::from(sorted_us[rank - 1]) / 1000.0
}

pub fn summarize(results: Vec<WorkerResult>, record_from: Instant) -> Measured {
    let mut all = Vec::with_capacity(results.iter().map(|r| r.latencies_us.len()).sum());
    let mut errors = Errors::default();
    let mut last = record_from;
    for result in results {
        all.extend_from_slice(&result.latencies_us);
        errors.merge(result.errors);
        last = last.max(result.last_done);
    }
    all.sort_unstable();
    let elapsed = last.duration_since(record_from);
    let ok = all.len() as u64;
    let ms = |us: u32| f64::from(us) / 1000.0;
    let percentile = |q: f64| nearest_rank(&all, q);
    let mean_ms = if all.is_empty() {
        0.0
    } else {
        all.iter().map(|&us| f64::from(us)).sum::<f64>() / all.len() as f64 / 1000.0
    };
    Measured {
        ok,
        elapsed,
        per_second: if elapsed.is_zero() {
            0.0
        } else {
            ok as f64 / elapsed.as_secs_f64()
        },
        p50_ms: percentile(0.50),
        p90_ms: percentile(0.90),
        p99_ms: percentile(0.99),
        max_ms: all.last().copied().map_or(0.0, ms),
        mean_ms,
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let start = Instant::now();
        let result = WorkerResult {
            latencies_us: (1..=100).map(|i| i * 1000).collect(),
            errors: Errors::default(),
            last_done: start + Duration::from_secs(2),
        };
        let m = summarize(vec![result], start);
        assert_eq!(m.ok, 100);
        assert!((m.per_second - 50.0).abs() < 1e-9);
        assert!((m.p50_ms - 50.0).abs() < 1e-9);
        assert!((m.p99_ms - 99.0).abs() < 1e-9);
        assert!((m.max_ms - 100.0).abs() < 1e-9);
    }
}
