//! The results of one database: a readable table, the burst in detail, the
//! stub homeserver's calls, and the comparison with MAS 1.22 and our
//! targets (`targets.rs`). The JSON summary is `summary.rs`.

use std::{fmt::Write as _, time::Duration};

use crate::{
    args::Args,
    database::DbKind,
    homeserver::Calls,
    procfs::Memory,
    scenarios::{Scenario, ScenarioResult},
    targets,
};

/// Everything measured on one database.
pub struct RunReport {
    pub database: DbKind,
    /// The machine's 1-minute load average before the server started.
    pub load_before: Option<f64>,
    pub startup: Duration,
    /// Half a second after the first 200 on `/health`.
    pub idle: Memory,
    pub setup_time: Duration,
    pub after_setup: Memory,
    pub results: Vec<ScenarioResult>,
    /// What the server asked the stub homeserver, by method and path.
    pub homeserver_calls: Calls,
}

impl RunReport {
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

/// The table and comparisons for one database.
pub fn table(report: &RunReport, args: &Args) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n== mxauth on {}: {} s per scenario (after {} s warm-up), {} CPUs, load average before {} ==",
        report.database,
        args.seconds,
        args.warmup,
        std::thread::available_parallelism().map_or(0, usize::from),
        report
            .load_before
            .map_or_else(|| "?".to_owned(), |l| format!("{l:.2}")),
    );
    let _ = writeln!(
        out,
        "start to first 200 on /health: {:.0} ms | idle RSS {:.1} MiB | setup ({} authorizations) {:.1} s, then RSS {:.1} MiB, peak {:.1} MiB\n",
        ms(report.startup),
        mib(report.idle.rss_kb),
        args.connections,
        report.setup_time.as_secs_f64(),
        mib(report.after_setup.rss_kb),
        mib(report.after_setup.hwm_kb),
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
    let busy: Vec<&str> = report
        .results
        .iter()
        .filter(|r| {
            r.cpu
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
    let calls: Vec<String> = report
        .homeserver_calls
        .iter()
        .map(|(call, n)| format!("{call} x{n}"))
        .collect();
    let _ = writeln!(
        out,
        "stub homeserver answered: {}",
        if calls.is_empty() {
            "nothing".to_owned()
        } else {
            calls.join(", ")
        }
    );
    targets::lines(&mut out, report);
    out
}

fn row(out: &mut String, r: &ScenarioResult) {
    let m = &r.measured;
    let (server_cpu, per_request, client_cpu, db_cpu, others) = match r.cpu {
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
        _ => ("-".into(), "-".into(), "-".into(), "-".into(), "-".into()),
    };
    let _ = writeln!(
        out,
        "{:<20} {:>5} {:>9} {:>7.2} {:>7.2} {:>7.2} {:>7.1} {:>6} {:>8.1} {:>8.1} {:>8} {:>10} {:>8} {:>7} {:>7}",
        r.scenario.name(),
        r.connections,
        thousands(m.per_second),
        m.p50_ms,
        m.p90_ms,
        m.p99_ms,
        m.max_ms,
        m.errors.count,
        mib(r.rss_max_kb),
        mib(r.after.hwm_kb),
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
        "login-burst: {} logins sent at once, the last answered after {:.2} s ({} ok, {} errors); latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms\n  server memory: VmHWM {:.1} MiB before -> {:.1} MiB after; VmRSS {:.1} MiB before, sampled max {:.1} MiB during, {:.1} MiB after",
        b.connections,
        m.elapsed.as_secs_f64(),
        m.ok,
        m.errors.count,
        m.p50_ms,
        m.p99_ms,
        m.max_ms,
        mib(b.before.hwm_kb),
        mib(b.after.hwm_kb),
        mib(b.before.rss_kb),
        mib(b.rss_max_kb),
        mib(b.after.rss_kb),
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
