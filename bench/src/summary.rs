//! The JSON summary of a run, `bench/results/<timestamp>.json`: every
//! number of every target (skipped scenarios with their reason), the git
//! commit, the machine's CPU count, MAS 1.22's side-by-side figures and
//! our targets.

use std::{
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use serde_json::{json, Map, Value};

use crate::{
    args::Args,
    error::{Context, Result},
    homeserver::Calls,
    procfs::Memory,
    report::{ms, TargetReport},
    scenarios::ScenarioResult,
    targets,
};

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
        "connections": r.connections,
        "requests": m.ok,
        "seconds": m.elapsed.as_secs_f64(),
        "requests_per_second": m.per_second,
        "latency_ms": {
            "mean": m.mean_ms, "p50": m.p50_ms, "p90": m.p90_ms, "p99": m.p99_ms, "max": m.max_ms,
        },
        "errors": m.errors.count,
        "errors_by_kind": errors,
        "server": r.server.map(|s| json!({
            "before": memory_json(s.before),
            "rss_max_kb": s.rss_max_kb,
            "peak_rss_kb": s.peak_kb(),
            "rss_end_kb": s.after.rss_kb,
            "hwm_kb": s.after.hwm_kb,
        })),
        "cpu": r.server.and_then(|s| s.cpu).map(|cpu| json!({
            "server_seconds": cpu.server.as_secs_f64(),
            "load_generator_seconds": cpu.client.as_secs_f64(),
            "postgres_seconds": cpu.database.as_secs_f64(),
            "other_processes_seconds": cpu.others.as_secs_f64(),
            "wall_seconds": cpu.wall.as_secs_f64(),
        })),
    })
}

fn target_json(report: &TargetReport) -> Value {
    let scenarios: Map<String, Value> = report
        .results
        .iter()
        .map(|r| (r.scenario.name().to_owned(), scenario_json(r)))
        .collect();
    let skipped: Map<String, Value> = report
        .skipped
        .iter()
        .map(|(s, reason)| (s.name().to_owned(), json!(reason)))
        .collect();
    json!({
        "target": report.name,
        "url": report.url,
        "database": report.database.map(|d| d.name()),
        "pid_known": report.pid.is_some(),
        "load_average_before": report.load_before,
        "startup_ms": report.startup.map(ms),
        "idle": report.idle.map(memory_json),
        "setup_ms": report.setup_time.map(ms),
        "setup_failed": report.setup_failed,
        "after_setup": report.after_setup.map(memory_json),
        "scenarios": scenarios,
        "skipped": skipped,
        "homeserver_calls": report.homeserver_calls,
        "against_targets": targets::ratios(report),
    })
}

/// Writes the summary of every target (one file per run); returns its
/// path. `shared_stub` holds the calls of a `--stub-homeserver`.
pub fn write_json(
    reports: &[TargetReport],
    args: &Args,
    started: SystemTime,
    shared_stub: Option<&Calls>,
) -> Result<PathBuf> {
    let dir = &args.results;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let stamp = timestamp(started);
    let summary = json!({
        "timestamp": stamp,
        "mxauth": args.mxauth.display().to_string(),
        "git_commit": git_commit(),
        "cpus": std::thread::available_parallelism().map_or(0, usize::from),
        "connections": args.connections,
        "login_connections": args.login_connections,
        "burst": args.burst,
        "seconds": args.seconds,
        "warmup_seconds": args.warmup,
        "rust_log": args.rust_log,
        "scenario_order": "by scenario: each scenario on every target, one after the other",
        "reference": targets::reference(),
        "stub_homeserver_calls": shared_stub,
        "targets": reports.iter().map(target_json).collect::<Vec<_>>(),
    });
    let path = dir.join(format!("{}.json", file_stamp(started)));
    let text = serde_json::to_string_pretty(&summary)?;
    std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The timestamp as part of a file name (no colons).
pub fn file_stamp(at: SystemTime) -> String {
    timestamp(at).replace(':', "-")
}

pub fn git_commit() -> Option<String> {
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
    use std::time::Duration;

    use super::*;

    #[test]
    fn formats_timestamps() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let at = UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        assert_eq!(timestamp(at), "2024-02-29T12:34:56Z");
    }
}
