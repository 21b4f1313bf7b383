//! `mxauth-bench soak`: mixed traffic against one server for `--minutes`
//! (introspection, refresh, discovery and compat logins on their own
//! connections, see `mix`), with the server's RSS and each kind's p99
//! sampled every `--sample-seconds`; written as CSV and JSON and plotted
//! (`soak_chart.rs`). It passes when memory is flat (`flatness`).

use std::{
    fmt::Write as _,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use serde_json::json;

use crate::{
    args::Args,
    error::{Context, Result},
    http::Conn,
    load::{exchange, nearest_rank, Job},
    prepare::Prepared,
    procfs::memory,
    report::mib,
    scenarios::{self, Scenario},
    soak_chart,
    summary::{self, file_stamp},
    target::Target,
};

/// The kinds of traffic, in the order of the CSV's columns.
pub const KINDS: [Scenario; 4] = [
    Scenario::Introspection,
    Scenario::Refresh,
    Scenario::Discovery,
    Scenario::CompatLogin,
];

/// How `connections` are shared among the kinds: one connection logs in
/// over and over (argon2: about half a core), 15% fetch discovery, 25%
/// refresh, the rest introspect. A kind the target cannot do gets none.
pub fn mix(connections: usize, can: impl Fn(Scenario) -> bool) -> [usize; 4] {
    let login = usize::from(can(Scenario::CompatLogin));
    let discovery = if can(Scenario::Discovery) {
        (connections * 15 / 100).max(1)
    } else {
        0
    };
    let refresh = if can(Scenario::Refresh) {
        (connections * 25 / 100).max(1)
    } else {
        0
    };
    let rest = connections.saturating_sub(login + discovery + refresh);
    let introspection = if can(Scenario::Introspection) {
        rest.max(1)
    } else {
        0
    };
    [introspection, refresh, discovery, login]
}

/// Requests of one sampling period, per kind.
#[derive(Default)]
struct Period {
    latencies_us: [Vec<u32>; 4],
    errors: [u64; 4],
}

/// One sample: at `seconds` from the start, the server's RSS and each
/// kind's requests, p99 and errors over the period before.
#[derive(Debug, Clone)]
pub struct Sample {
    pub seconds: f64,
    pub rss_kb: u64,
    pub per_second: [f64; 4],
    pub p99_ms: [Option<f64>; 4],
    pub errors: [u64; 4],
}

/// Memory is flat when the highest RSS of the last third of the run (the
/// last 10 minutes of 30) stays within 10% of the RSS at a sixth of it
/// (the 5-minute mark: after warm-up, caches and pools have grown).
#[derive(Debug, Clone, PartialEq)]
pub struct Flatness {
    pub reference_seconds: f64,
    pub reference_kb: u64,
    pub late_from_seconds: f64,
    pub late_max_kb: u64,
    pub pass: bool,
}

pub const FLAT_TOLERANCE: f64 = 0.10;

/// The flatness of `(seconds, rss_kb)` samples over a run of
/// `total_seconds`; `None` when the run is too short to tell (no sample at
/// the reference mark before the last third, or none in the last third).
pub fn flatness(samples: &[(f64, u64)], total_seconds: f64) -> Option<Flatness> {
    let reference_at = total_seconds / 6.0;
    let late_from = total_seconds * 2.0 / 3.0;
    let &(reference_seconds, reference_kb) = samples.iter().find(|(t, _)| *t >= reference_at)?;
    if reference_seconds >= late_from {
        return None;
    }
    let late_max_kb = samples
        .iter()
        .filter(|(t, _)| *t >= late_from)
        .map(|(_, kb)| *kb)
        .max()?;
    Some(Flatness {
        reference_seconds,
        reference_kb,
        late_from_seconds: late_from,
        late_max_kb,
        pass: late_max_kb as f64 <= reference_kb as f64 * (1.0 + FLAT_TOLERANCE),
    })
}

pub async fn run(target: Target, args: &Args, started: SystemTime) -> Result<bool> {
    let name = target.name.clone();
    let pid = target.pid.with_context(|| {
        format!("{name}: the soak samples the server's memory: give --target-pid")
    })?;
    let total = Duration::from_secs_f64(args.minutes * 60.0);
    // Sessions for the introspection and the refresh connections, apart:
    // a refresh may end the access tokens of its session.
    let wanted = mix(args.connections, |_| true);
    let ready = Prepared::new(target, wanted[0] + wanted[1]).await?;
    let counts = mix(args.connections, |s| ready.skip_reason(s).is_none());
    for (kind, count) in KINDS.iter().zip(counts) {
        match ready.skip_reason(*kind) {
            Some(reason) => eprintln!("[{name}] soak: no {} ({reason})", kind.name()),
            None => eprintln!("[{name}] soak: {count} connections of {}", kind.name()),
        }
    }
    let period = Arc::new(Mutex::new(Period::default()));
    let start = Instant::now();
    let stop_at = start + total;
    let timeout = Duration::from_secs(args.timeout);
    let mut handles = Vec::new();
    for (k, (kind, count)) in KINDS.iter().zip(counts).enumerate() {
        // Refresh connections use the sessions after the introspection ones.
        let first_session = if *kind == Scenario::Refresh {
            counts[0]
        } else {
            0
        };
        for i in 0..count {
            let job = scenarios::job(*kind, &ready, first_session + i, &[])?;
            let period = period.clone();
            let addr = ready.target.base.addr;
            handles.push(tokio::spawn(soak_worker(
                addr, job, k, period, stop_at, timeout,
            )));
        }
    }
    eprintln!(
        "[{name}] soak: {:.1} minutes, sampling every {} s",
        args.minutes, args.sample_seconds
    );
    let samples = sample_until(pid, &period, start, stop_at, args.sample_seconds).await;
    for handle in handles {
        handle.await.context("a soak worker panicked")?;
    }
    let points: Vec<(f64, u64)> = samples.iter().map(|s| (s.seconds, s.rss_kb)).collect();
    // A sample without memory: the process was gone (it exited or crashed).
    let gone = samples.iter().any(|s| s.rss_kb == 0);
    let flat = flatness(&points, total.as_secs_f64()).map(|f| Flatness {
        pass: f.pass && !gone,
        ..f
    });
    if gone {
        eprintln!(
            "[{name}] soak: the server's memory could not be read at some samples: did it exit?"
        );
    }
    write_outputs(&samples, flat.as_ref(), &counts, args, started, &name)?;
    let errors: u64 = samples.iter().flat_map(|s| s.errors).sum();
    match &flat {
        Some(f) => println!(
            "{}: RSS {:.1} MiB at {:.0} s; highest from {:.0} s on: {:.1} MiB ({:+.1}%, limit +{:.0}%); {errors} errors",
            if f.pass { "PASS" } else { "FAIL" },
            mib(f.reference_kb),
            f.reference_seconds,
            f.late_from_seconds,
            mib(f.late_max_kb),
            100.0 * (f.late_max_kb as f64 / f.reference_kb.max(1) as f64 - 1.0),
            FLAT_TOLERANCE * 100.0,
        ),
        None => println!("INCONCLUSIVE: the run is too short to judge flatness ({} samples)", samples.len()),
    }
    Ok(flat.is_some_and(|f| f.pass) && errors == 0)
}

async fn soak_worker(
    addr: std::net::SocketAddr,
    mut job: Box<dyn Job>,
    kind: usize,
    period: Arc<Mutex<Period>>,
    stop_at: Instant,
    timeout: Duration,
) {
    let mut conn = Conn::new(addr);
    while Instant::now() < stop_at {
        let started = Instant::now();
        let (done, failure) = exchange(&mut conn, &mut job, timeout).await;
        let refused = failure.as_ref().is_some_and(|(k, _)| k == "connect");
        if let Ok(mut p) = period.lock() {
            match failure {
                None => {
                    let us = done.duration_since(started).as_micros();
                    p.latencies_us[kind].push(u32::try_from(us).unwrap_or(u32::MAX));
                }
                Some(_) => p.errors[kind] += 1,
            }
        }
        if refused {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Every `every` seconds until `stop_at`: the period's requests and the
/// server's RSS; a line per sample on stderr.
async fn sample_until(
    pid: u32,
    period: &Mutex<Period>,
    start: Instant,
    stop_at: Instant,
    every: u64,
) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut last = start;
    let mut next = start + Duration::from_secs(every);
    loop {
        let at = next.min(stop_at);
        tokio::time::sleep_until(at.into()).await;
        let taken = period
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        let rss_kb = memory(pid).map_or(0, |m| m.rss_kb);
        let seconds = at.duration_since(last).as_secs_f64().max(1e-9);
        let mut sample = Sample {
            seconds: at.duration_since(start).as_secs_f64(),
            rss_kb,
            per_second: [0.0; 4],
            p99_ms: [None; 4],
            errors: taken.errors,
        };
        for (k, mut latencies) in taken.latencies_us.into_iter().enumerate() {
            latencies.sort_unstable();
            sample.per_second[k] = latencies.len() as f64 / seconds;
            sample.p99_ms[k] = (!latencies.is_empty()).then(|| nearest_rank(&latencies, 0.99));
        }
        let mut line = format!("  {:>6.0} s  RSS {:>6.1} MiB", sample.seconds, mib(rss_kb));
        for (k, kind) in KINDS.iter().enumerate() {
            if let Some(p99) = sample.p99_ms[k] {
                let _ = write!(
                    line,
                    " | {} {:.0}/s p99 {p99:.2} ms",
                    kind.name(),
                    sample.per_second[k]
                );
            }
        }
        eprintln!("{line}");
        samples.push(sample);
        if at >= stop_at {
            return samples;
        }
        last = at;
        next += Duration::from_secs(every);
    }
}

/// `soak-<timestamp>.csv`, `.json` and `.png` in the results directory.
fn write_outputs(
    samples: &[Sample],
    flat: Option<&Flatness>,
    counts: &[usize; 4],
    args: &Args,
    started: SystemTime,
    name: &str,
) -> Result<()> {
    std::fs::create_dir_all(&args.results)
        .with_context(|| format!("creating {}", args.results.display()))?;
    let base = args.results.join(format!("soak-{}", file_stamp(started)));
    let mut csv = String::from("seconds,rss_kb");
    for kind in KINDS {
        let _ = write!(csv, ",{0}_per_second,{0}_p99_ms,{0}_errors", kind.name());
    }
    csv.push('\n');
    for s in samples {
        let _ = write!(csv, "{:.1},{}", s.seconds, s.rss_kb);
        for k in 0..KINDS.len() {
            let p99 = s.p99_ms[k].map_or_else(String::new, |p| format!("{p:.3}"));
            let _ = write!(csv, ",{:.1},{p99},{}", s.per_second[k], s.errors[k]);
        }
        csv.push('\n');
    }
    let csv_path = base.with_extension("csv");
    std::fs::write(&csv_path, csv).with_context(|| format!("writing {}", csv_path.display()))?;
    let connections: serde_json::Map<String, serde_json::Value> = KINDS
        .iter()
        .zip(counts)
        .map(|(k, n)| (k.name().to_owned(), json!(n)))
        .collect();
    let summary = json!({
        "timestamp": summary::timestamp(started),
        "git_commit": summary::git_commit(),
        "target": name,
        "minutes": args.minutes,
        "sample_seconds": args.sample_seconds,
        "connections": connections,
        "flatness": flat.map(|f| json!({
            "rule": "max RSS of the last third <= 1.10 x RSS at a sixth of the run",
            "reference_seconds": f.reference_seconds,
            "reference_rss_kb": f.reference_kb,
            "late_from_seconds": f.late_from_seconds,
            "late_max_rss_kb": f.late_max_kb,
            "pass": f.pass,
        })),
        "samples": samples.iter().map(|s| json!({
            "seconds": s.seconds,
            "rss_kb": s.rss_kb,
            "per_second": s.per_second,
            "p99_ms": s.p99_ms,
            "errors": s.errors,
        })).collect::<Vec<_>>(),
    });
    let json_path = base.with_extension("json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&summary)? + "\n")
        .with_context(|| format!("writing {}", json_path.display()))?;
    let png_path = base.with_extension("png");
    let title = format!("mxauth-bench soak: {name}, {}", summary::timestamp(started));
    soak_chart::write(samples, flat, &title, &png_path)?;
    println!(
        "soak samples: {}\nsoak summary: {}\nsoak chart: {}",
        csv_path.display(),
        json_path.display(),
        png_path.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(total: u64, rss: impl Fn(u64) -> u64) -> Vec<(f64, u64)> {
        (1..=total / 10)
            .map(|i| ((i * 10) as f64, rss(i * 10)))
            .collect()
    }

    #[test]
    fn flat_memory_passes() {
        // 30 minutes: reference at 5 min, the last 10 min within 10%.
        let samples = series(1800, |t| if t < 60 { 20_000 } else { 50_000 + t % 3 });
        let flat = flatness(&samples, 1800.0).unwrap();
        assert_eq!(flat.reference_seconds, 300.0);
        assert_eq!(flat.reference_kb, 50_000);
        assert_eq!(flat.late_from_seconds, 1200.0);
        assert!(flat.pass);
    }

    #[test]
    fn growing_memory_fails() {
        // 1 MiB a minute: +25 MiB between 5 min and the end of 30.
        let samples = series(1800, |t| 50_000 + t * 1024 / 60);
        let flat = flatness(&samples, 1800.0).unwrap();
        assert!(!flat.pass, "{flat:?}");
        // Exactly at the limit still passes.
        let edge = [(300.0, 100_000), (1200.0, 110_000)];
        assert!(flatness(&edge, 1800.0).unwrap().pass);
        let over = [(300.0, 100_000), (1200.0, 110_001)];
        assert!(!flatness(&over, 1800.0).unwrap().pass);
    }

    #[test]
    fn too_short_runs_are_inconclusive() {
        assert_eq!(flatness(&[], 180.0), None);
        // A single sample, after the reference mark but in the last third.
        assert_eq!(flatness(&[(170.0, 1)], 180.0), None);
        // Scales to short runs: reference at 30 s of 3 minutes.
        let samples = series(180, |_| 40_000);
        let flat = flatness(&samples, 180.0).unwrap();
        assert_eq!(
            (flat.reference_seconds, flat.late_from_seconds),
            (30.0, 120.0)
        );
    }

    #[test]
    fn mixes_connections() {
        assert_eq!(mix(16, |_| true), [9, 4, 2, 1]);
        assert_eq!(mix(4, |_| true), [1, 1, 1, 1]);
        // Without a user: no sessions and no logins, only discovery.
        let discovery_only = mix(16, |s| s == Scenario::Discovery);
        assert_eq!(discovery_only, [0, 0, 2, 0]);
    }
}
