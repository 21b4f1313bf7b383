//! The results: a readable table per database, the comparison with MAS
//! 1.22 and with our targets (docs: performance-targets.md), and a JSON
//! summary in `bench/results/<timestamp>.json`.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde_json::{json, Map, Value};

use crate::{
    args::Args,
    database::DbKind,
    error::{Context, Result},
    procfs::Memory,
    scenarios::{Scenario, ScenarioResult},
};

/// MAS 1.22 on the reference machine, c=32.
const MAS_INTROSPECTION_RPS: (f64, f64) = (1_613.0, 1_768.0);
const MAS_INTROSPECTION_P99_MS: f64 = 44.9;
const MAS_DISCOVERY_RPS: f64 = 8_100.0;
const TARGET_VS_MAS: f64 = 4.0;
const TARGET_VS_CEILING: f64 = 0.80;
const TARGET_STARTUP_MS: f64 = 100.0;
const TARGET_IDLE_RSS_MB: f64 = 20.0;

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
}

impl RunReport {
    fn get(&self, scenario: Scenario) -> Option<&ScenarioResult> {
        self.results.iter().find(|r| r.scenario == scenario)
    }

    /// Introspection throughput over discovery throughput.
    fn vs_ceiling(&self) -> Option<f64> {
        let intro = self.get(Scenario::Introspection)?.measured.per_second;
        let ceiling = self.get(Scenario::Discovery)?.measured.per_second;
        (ceiling > 0.0).then(|| intro / ceiling)
    }

    /// Introspection throughput over MAS's best.
    fn vs_mas(&self) -> Option<f64> {
        Some(self.get(Scenario::Introspection)?.measured.per_second / MAS_INTROSPECTION_RPS.1)
    }
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// 12345.6 → "12,346".
fn thousands(x: f64) -> String {
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

fn mark(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

/// The table and comparisons for one database.
pub fn table(report: &RunReport, args: &Args) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n== mxauth on {}: {} connections, {} s per scenario (after {} s warm-up), {} CPUs, load average before {} ==",
        report.database,
        args.connections,
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
        "{:<14} {:>9} {:>7} {:>7} {:>7} {:>7} {:>6} {:>8} {:>8} {:>8} {:>10} {:>8} {:>7} {:>7}",
        "scenario",
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
            "{:<14} {:>9} {:>7.2} {:>7.2} {:>7.2} {:>7.1} {:>6} {:>8.1} {:>8.1} {:>8} {:>10} {:>8} {:>7} {:>7}",
            r.scenario.name(),
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
    let _ = writeln!(
        out,
        "(RSS: highest VmRSS sampled during the run; peak: VmHWM since start. CPU over the recorded\n window, 100% = one core: the server, this load generator, PostgreSQL, everything else)"
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
    let _ = writeln!(out, "\nagainst the targets (performance-targets.md):");
    if let (Some(vs_mas), Some(intro)) = (report.vs_mas(), report.get(Scenario::Introspection)) {
        let _ = writeln!(
            out,
            "  introspection {} req/s = {:.1}x MAS 1.22 (1,613-1,768 req/s; target >= {TARGET_VS_MAS}x: {}); p99 {:.1} ms vs MAS {MAS_INTROSPECTION_P99_MS} ms",
            thousands(intro.measured.per_second),
            vs_mas,
            mark(vs_mas >= TARGET_VS_MAS),
            intro.measured.p99_ms,
        );
    }
    if let Some(ratio) = report.vs_ceiling() {
        let _ = writeln!(
            out,
            "  introspection = {:.0}% of our discovery in this run (target >= {:.0}%: {})",
            ratio * 100.0,
            TARGET_VS_CEILING * 100.0,
            mark(ratio >= TARGET_VS_CEILING),
        );
    }
    if let Some(d) = report.get(Scenario::Discovery) {
        let _ = writeln!(
            out,
            "  discovery {} req/s (MAS 1.22: {} req/s, p99 9.1 ms)",
            thousands(d.measured.per_second),
            thousands(MAS_DISCOVERY_RPS),
        );
    }
    let _ = writeln!(
        out,
        "  start to first 200: {:.0} ms (target <= {TARGET_STARTUP_MS:.0} ms: {}; MAS 560-623 ms)",
        ms(report.startup),
        mark(ms(report.startup) <= TARGET_STARTUP_MS),
    );
    let idle_mb = report.idle.rss_kb as f64 * 1024.0 / 1e6;
    let _ = writeln!(
        out,
        "  idle RSS: {idle_mb:.1} MB (target <= {TARGET_IDLE_RSS_MB:.0} MB: {}; MAS 70-74 MB)",
        mark(idle_mb <= TARGET_IDLE_RSS_MB),
    );
    out
}

fn memory_json(m: Memory) -> Value {
    json!({ "rss_kb": m.rss_kb, "hwm_kb": m.hwm_kb })
}

fn scenario_json(r: &ScenarioResult) -> Value {
    let m = &r.measured;
    let errors: Map<String, Value> = m
        .errors
        .by_kind
        .iter()
        .map(|(kind, (n, example))| (kind.clone(), json!({ "count": n, "example": example })))
        .collect();
    json!({
        "requests": m.ok,
        "seconds": m.elapsed.as_secs_f64(),
        "requests_per_second": m.per_second,
        "latency_ms": {
            "mean": m.mean_ms, "p50": m.p50_ms, "p90": m.p90_ms, "p99": m.p99_ms, "max": m.max_ms,
        },
        "errors": m.errors.count,
        "errors_by_kind": errors,
        "rss_max_kb": r.rss_max_kb,
        "rss_end_kb": r.after.rss_kb,
        "hwm_kb": r.after.hwm_kb,
        "cpu": r.cpu.map(|cpu| json!({
            "server_seconds": cpu.server.as_secs_f64(),
            "load_generator_seconds": cpu.client.as_secs_f64(),
            "postgres_seconds": cpu.database.as_secs_f64(),
            "other_processes_seconds": cpu.others.as_secs_f64(),
            "wall_seconds": cpu.wall.as_secs_f64(),
        })),
    })
}

fn run_json(report: &RunReport) -> Value {
    let scenarios: Map<String, Value> = report
        .results
        .iter()
        .map(|r| (r.scenario.name().to_owned(), scenario_json(r)))
        .collect();
    json!({
        "database": report.database.name(),
        "load_average_before": report.load_before,
        "startup_ms": ms(report.startup),
        "idle": memory_json(report.idle),
        "setup_ms": ms(report.setup_time),
        "after_setup": memory_json(report.after_setup),
        "scenarios": scenarios,
        "introspection_vs_discovery": report.vs_ceiling(),
        "introspection_vs_mas_best": report.vs_mas(),
    })
}

/// Writes the summary of every run; returns its path.
pub fn write_json(reports: &[RunReport], args: &Args, started: SystemTime) -> Result<PathBuf> {
    let dir = &args.results;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let stamp = timestamp(started);
    let summary = json!({
        "timestamp": stamp,
        "mxauth": args.mxauth.display().to_string(),
        "git_commit": git_commit(),
        "cpus": std::thread::available_parallelism().map_or(0, usize::from),
        "connections": args.connections,
        "seconds": args.seconds,
        "warmup_seconds": args.warmup,
        "rust_log": args.rust_log,
        "reference_mas_1_22": {
            "introspection_rps": [MAS_INTROSPECTION_RPS.0, MAS_INTROSPECTION_RPS.1],
            "introspection_p99_ms": MAS_INTROSPECTION_P99_MS,
            "discovery_rps": MAS_DISCOVERY_RPS,
        },
        "runs": reports.iter().map(run_json).collect::<Vec<_>>(),
    });
    let path = dir.join(format!("{}.json", stamp.replace(':', "-")));
    let text = serde_json::to_string_pretty(&summary)?;
    std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn git_commit() -> Option<String> {
    let output = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// `2026-05-01T12:30:05Z` (UTC).
pub fn timestamp(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let at = UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        assert_eq!(timestamp(at), "2024-02-29T12:34:56Z");
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.6), "1,000");
        assert_eq!(thousands(12.0), "12");
    }
}
