//! The results of one target: a readable table, the burst in detail, the
//! scenarios skipped and why, the stub homeserver's calls, and the
//! comparison with MAS 1.22 and our targets (`targets.rs`); with several
//! targets, one table of them side by side. The JSON summary is
//! `summary.rs`, the chart `chart.rs`.

use std::{fmt::Write as _, time::Duration};

use crate::{
    args::Args,
    database::DbKind,
    homeserver::Calls,
    procfs::Memory,
    sampling::ServerUse,
    scenarios::{Scenario, ScenarioResult},
    targets,
};

/// Everything measured on one target.
pub struct TargetReport {
    pub name: String,
    pub url: String,
    /// The database of a server the bench started.
    pub database: Option<DbKind>,
    pub pid: Option<u32>,
    /// The machine's 1-minute load average before the setup.
    pub load_before: Option<f64>,
    /// Spawn to first 200 on `/health`, for a server the bench started.
    pub startup: Option<Duration>,
    /// Before and after the setup, when the PID is known.
    pub idle: Option<Memory>,
    pub setup_time: Option<Duration>,
    pub after_setup: Option<Memory>,
    pub setup_failed: bool,
    pub results: Vec<ScenarioResult>,
    /// Scenarios the target could not run, and why.
    pub skipped: Vec<(Scenario, String)>,
    /// What the server asked its own stub homeserver, by method and path.
    pub homeserver_calls: Option<Calls>,
}

impl TargetReport {
    pub fn get(&self, scenario: Scenario) -> Option<&ScenarioResult> {
        self.results.iter().find(|r| r.scenario == scenario)
    }
}

pub fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// KiB to (decimal) megabytes, the unit of the targets.
pub fn mb(kb: u64) -> f64 {
    kb as f64 * 1024.0 / 1e6
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// 12345.6 → "12,346".
pub fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `part` as a percentage of one core over `wall`.
fn percent(part: Duration, wall: Duration) -> String {
    format!("{:.0}%", 100.0 * part.as_secs_f64() / wall.as_secs_f64())
}

/// A KiB figure in MiB, or `n/a` without the server's PID.
fn mib_or_na(kb: Option<u64>) -> String {
    kb.map_or_else(|| "n/a".to_owned(), |kb| format!("{:.1}", mib(kb)))
}

/// `12.3 MiB`, or `n/a` as it is.
fn with_unit(figure: String) -> String {
    if figure == "n/a" {
        figure
    } else {
        format!("{figure} MiB")
    }
}

/// The table and comparisons for one target.
pub fn table(report: &TargetReport, args: &Args) -> String {
    let mut out = String::new();
    let what = match report.database {
        Some(db) => format!("mxauth on {db}"),
        None => format!("{} ({})", report.name, report.url),
    };
    let _ = writeln!(
        out,
        "\n== {what}: {} s per scenario (after {} s warm-up), {} CPUs, load average before {} ==",
        args.seconds,
        args.warmup,
        std::thread::available_parallelism().map_or(0, usize::from),
        report
            .load_before
            .map_or_else(|| "?".to_owned(), |l| format!("{l:.2}")),
    );
    let startup = report.startup.map_or_else(
        || "n/a (started elsewhere)".to_owned(),
        |d| format!("{:.0} ms", ms(d)),
    );
    let setup = report.setup_time.map_or_else(
        || "none".to_owned(),
        |d| {
            format!(
                "{} authorizations, {:.1} s",
                args.connections,
                d.as_secs_f64()
            )
        },
    );
    let _ = writeln!(
        out,
        "start to first 200 on /health: {startup} | idle RSS {} | setup ({setup}), then RSS {}, peak {}{}\n",
        with_unit(mib_or_na(report.idle.map(|m| m.rss_kb))),
        with_unit(mib_or_na(report.after_setup.map(|m| m.rss_kb))),
        with_unit(mib_or_na(report.after_setup.map(|m| m.hwm_kb))),
        if report.pid.is_none() { " (memory and CPU: n/a without --target-pid)" } else { "" },
    );
    let _ = writeln!(
        out,
        "{:<20} {:>5} {:>9} {:>7} {:>7} {:>7} {:>7} {:>6} {:>8} {:>8} {:>8} {:>10} {:>8} {:>7} {:>7}",
        "scenario",
        "conns",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "errors",
        "RSS MiB",
        "peak MiB",
        "srv CPU",
        "CPU us/req",
        "load CPU",
        "db CPU",
        "others"
    );
    for r in &report.results {
        row(&mut out, r);
    }
    let _ = writeln!(
        out,
        "(RSS: highest VmRSS sampled during the run; peak: VmHWM since start. CPU over the recorded\n window, 100% = one core: the server, this load generator and stub homeserver, PostgreSQL,\n everything else)"
    );
    for (scenario, reason) in &report.skipped {
        let _ = writeln!(out, "{:<20} skipped: {reason}", scenario.name());
    }
    let busy: Vec<&str> = report
        .results
        .iter()
        .filter(|r| {
            r.server
                .and_then(|s| s.cpu)
                .is_some_and(|c| c.others.as_secs_f64() > 0.25 * c.wall.as_secs_f64())
        })
        .map(|r| r.scenario.name())
        .collect();
    if !busy.is_empty() {
        let _ = writeln!(
            out,
            "warning: other processes used more than a quarter of a core during {}: those numbers are noisy",
            busy.join(", ")
        );
    }
    for r in &report.results {
        for (kind, (n, example)) in &r.measured.errors.by_kind {
            let _ = writeln!(
                out,
                "  {} errors, {kind} x{n}: {example}",
                r.scenario.name()
            );
        }
    }
    if let Some(b) = report.get(Scenario::LoginBurst) {
        burst_line(&mut out, b);
    }
    if let Some(calls) = &report.homeserver_calls {
        let _ = writeln!(out, "stub homeserver answered: {}", calls_line(calls));
    }
    targets::lines(&mut out, report);
    out
}

/// `POST /_synapse/mas/upsert_device x12, …`.
pub fn calls_line(calls: &Calls) -> String {
    if calls.is_empty() {
        return "nothing".to_owned();
    }
    let calls: Vec<String> = calls
        .iter()
        .map(|(call, n)| format!("{call} x{n}"))
        .collect();
    calls.join(", ")
}

/// Every target's req/s and p99 per scenario, and each one's throughput
/// over the first target's.
pub fn side_by_side(reports: &[TargetReport]) -> String {
    let mut out = String::new();
    let Some(first) = reports.first() else {
        return out;
    };
    let _ = writeln!(
        out,
        "\n== side by side (ratio: req/s over {}'s) ==",
        first.name
    );
    let _ = write!(out, "{:<20}", "scenario");
    for report in reports {
        let _ = write!(out, " {:>26}", format!("{} req/s, p99 ms", report.name));
    }
    let _ = writeln!(out);
    for scenario in Scenario::ALL {
        if reports.iter().all(|r| r.get(scenario).is_none()) {
            continue;
        }
        let _ = write!(out, "{:<20}", scenario.name());
        let base = first.get(scenario).map(|r| r.measured.per_second);
        for report in reports {
            let cell = match report.get(scenario) {
                None => "skipped".to_owned(),
                Some(r) => {
                    let m = &r.measured;
                    let ratio = base
                        .filter(|b| *b > 0.0)
                        .map_or_else(String::new, |b| format!(" ({:.2}x)", m.per_second / b));
                    format!("{}, {:.2}{ratio}", thousands(m.per_second), m.p99_ms)
                }
            };
            let _ = write!(out, " {cell:>26}");
        }
        let _ = writeln!(out);
    }
    out
}

fn row(out: &mut String, r: &ScenarioResult) {
    let m = &r.measured;
    let cpu = r.server.and_then(|s| s.cpu);
    let (server_cpu, per_request, client_cpu, db_cpu, others) = match cpu {
        Some(cpu) if !cpu.wall.is_zero() => (
            percent(cpu.server, cpu.wall),
            if m.ok > 0 {
                format!("{:.0}", cpu.server.as_secs_f64() * 1e6 / m.ok as f64)
            } else {
                "-".to_owned()
            },
            percent(cpu.client, cpu.wall),
            percent(cpu.database, cpu.wall),
            percent(cpu.others, cpu.wall),
        ),
        _ => {
            let na = || "n/a".to_owned();
            (na(), na(), na(), na(), na())
        }
    };
    let _ = writeln!(
        out,
        "{:<20} {:>5} {:>9} {:>7.2} {:>7.2} {:>7.2} {:>7.1} {:>6} {:>8} {:>8} {:>8} {:>10} {:>8} {:>7} {:>7}",
        r.scenario.name(),
        r.connections,
        thousands(m.per_second),
        m.p50_ms,
        m.p90_ms,
        m.p99_ms,
        m.max_ms,
        m.errors.count,
        mib_or_na(r.server.map(|s| s.rss_max_kb)),
        mib_or_na(r.server.map(|s| s.after.hwm_kb)),
        server_cpu,
        per_request,
        client_cpu,
        db_cpu,
        others,
    );
}

fn burst_line(out: &mut String, b: &ScenarioResult) {
    let m = &b.measured;
    let _ = writeln!(
        out,
        "login-burst: {} logins sent at once, the last answered after {:.2} s ({} ok, {} errors); latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        b.connections,
        m.elapsed.as_secs_f64(),
        m.ok,
        m.errors.count,
        m.p50_ms,
        m.p99_ms,
        m.max_ms,
    );
    if let Some(s) = b.server {
        memory_line(out, &s);
    }
}

fn memory_line(out: &mut String, s: &ServerUse) {
    let _ = writeln!(
        out,
        "  server memory: VmHWM {:.1} MiB before -> {:.1} MiB after; VmRSS {:.1} MiB before, sampled max {:.1} MiB during, {:.1} MiB after",
        mib(s.before.hwm_kb),
        mib(s.after.hwm_kb),
        mib(s.before.rss_kb),
        mib(s.rss_max_kb),
        mib(s.after.rss_kb),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.6), "1,000");
        assert_eq!(thousands(12.0), "12");
        assert!((mb(1_000_000) - 1_024.0).abs() < 1e-9);
    }
}
