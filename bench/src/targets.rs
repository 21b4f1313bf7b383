//! Our numbers next to MAS 1.22's and our targets
//! (`performance-targets.md` in the shared reference): the lines under each
//! table, and the ratios and reference figures of the JSON summary.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::{
    report::{mb, ms, thousands, RunReport},
    scenarios::Scenario,
};

/// MAS 1.22 on the reference machine (2 cores, PostgreSQL 15, `wrk` on
/// the same machine).
const MAS_INTROSPECTION_RPS: (f64, f64) = (1_613.0, 1_768.0);
const MAS_INTROSPECTION_P99_MS: f64 = 44.9;
const MAS_DISCOVERY_RPS: f64 = 8_100.0;
/// Compat password login, argon2id m=19 MiB t=2 p=1, c=8.
const MAS_LOGIN_RPS: (f64, f64) = (42.0, 56.0);
const MAS_LOGIN_P99_MS: (f64, f64) = (252.0, 308.0);
const MAS_LOGIN_CPU_MS: (f64, f64) = (31.0, 41.0);
/// Peak RSS under login load: in a fresh process, and overall.
const MAS_LOGIN_PEAK_MB: (f64, f64) = (720.0, 1_130.0);

const TARGET_VS_MAS: f64 = 4.0;
const TARGET_VS_CEILING: f64 = 0.80;
const TARGET_LOGIN_VS_MAS: f64 = 1.2;
const TARGET_PEAK_RSS_MB: f64 = 100.0;
const TARGET_BURST: usize = 200;
const TARGET_STARTUP_MS: f64 = 100.0;
const TARGET_IDLE_RSS_MB: f64 = 20.0;

fn mark(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

fn rps(report: &RunReport, scenario: Scenario) -> Option<f64> {
    Some(report.get(scenario)?.measured.per_second)
}

/// Introspection throughput over discovery throughput.
fn vs_ceiling(report: &RunReport) -> Option<f64> {
    let ceiling = rps(report, Scenario::Discovery)?;
    (ceiling > 0.0).then_some(rps(report, Scenario::Introspection)? / ceiling)
}

/// Introspection throughput over MAS's best.
fn vs_mas(report: &RunReport) -> Option<f64> {
    Some(rps(report, Scenario::Introspection)? / MAS_INTROSPECTION_RPS.1)
}

/// Compat logins per second over MAS's best.
fn login_vs_mas(report: &RunReport) -> Option<f64> {
    Some(rps(report, Scenario::CompatLogin)? / MAS_LOGIN_RPS.1)
}

/// The comparison lines under a table.
pub fn lines(out: &mut String, report: &RunReport) {
    let _ = writeln!(out, "\nagainst the targets (performance-targets.md):");
    if let (Some(ratio), Some(intro)) = (vs_mas(report), report.get(Scenario::Introspection)) {
        let _ = writeln!(
            out,
            "  introspection {} req/s = {ratio:.1}x MAS 1.22 (1,613-1,768 req/s; target >= {TARGET_VS_MAS}x: {}); p99 {:.1} ms vs MAS {MAS_INTROSPECTION_P99_MS} ms",
            thousands(intro.measured.per_second),
            mark(ratio >= TARGET_VS_MAS),
            intro.measured.p99_ms,
        );
    }
    if let Some(ratio) = vs_ceiling(report) {
        let _ = writeln!(
            out,
            "  introspection = {:.0}% of our discovery in this run (target >= {:.0}%: {})",
            ratio * 100.0,
            TARGET_VS_CEILING * 100.0,
            mark(ratio >= TARGET_VS_CEILING),
        );
    }
    if let (Some(compat), Some(oauth)) = (
        rps(report, Scenario::CompatIntrospection),
        rps(report, Scenario::Introspection),
    ) {
        let _ = writeln!(
            out,
            "  compat-introspection {} req/s = {:.0}% of OAuth introspection in this run",
            thousands(compat),
            100.0 * compat / oauth.max(f64::MIN_POSITIVE),
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
    login_lines(out, report);
    let _ = writeln!(
        out,
        "  start to first 200: {:.0} ms (target <= {TARGET_STARTUP_MS:.0} ms: {}; MAS 560-623 ms)",
        ms(report.startup),
        mark(ms(report.startup) <= TARGET_STARTUP_MS),
    );
    let idle_mb = mb(report.idle.rss_kb);
    let _ = writeln!(
        out,
        "  idle RSS: {idle_mb:.1} MB (target <= {TARGET_IDLE_RSS_MB:.0} MB: {}; MAS 70-74 MB)",
        mark(idle_mb <= TARGET_IDLE_RSS_MB),
    );
}

fn login_lines(out: &mut String, report: &RunReport) {
    let (mas_low, mas_best) = MAS_LOGIN_RPS;
    let (peak_fresh, peak_all) = MAS_LOGIN_PEAK_MB;
    if let (Some(ratio), Some(login)) = (login_vs_mas(report), report.get(Scenario::CompatLogin)) {
        let m = &login.measured;
        let cpu_ms = login.cpu.filter(|_| m.ok > 0).map_or_else(
            || "-".to_owned(),
            |cpu| format!("{:.1}", ms(cpu.server) / m.ok as f64),
        );
        let _ = writeln!(
            out,
            "  compat login {:.1} logins/s at c={} = {ratio:.2}x MAS 1.22's best ({mas_low:.0}-{mas_best:.0} logins/s at c=8; target >= {TARGET_LOGIN_VS_MAS}x: {}); p99 {:.0} ms vs MAS {:.0}-{:.0} ms; server CPU {cpu_ms} ms per login vs MAS {:.0}-{:.0} ms",
            m.per_second,
            login.connections,
            mark(ratio >= TARGET_LOGIN_VS_MAS),
            m.p99_ms,
            MAS_LOGIN_P99_MS.0,
            MAS_LOGIN_P99_MS.1,
            MAS_LOGIN_CPU_MS.0,
            MAS_LOGIN_CPU_MS.1,
        );
        let peak = mb(login.peak_kb());
        let _ = writeln!(
            out,
            "  peak RSS during compat-login: {peak:.1} MB (target <= {TARGET_PEAK_RSS_MB:.0} MB: {}; MAS {peak_fresh:.0} MB fresh, {:.2} GB)",
            mark(peak <= TARGET_PEAK_RSS_MB),
            peak_all / 1000.0,
        );
    }
    if let Some(burst) = report.get(Scenario::LoginBurst) {
        let peak = mb(burst.peak_kb());
        let size = if burst.connections == TARGET_BURST {
            String::new()
        } else {
            format!(" (the target is for {TARGET_BURST})")
        };
        let _ = writeln!(
            out,
            "  peak RSS during a burst of {} logins{size}: {peak:.1} MB (target <= {TARGET_PEAK_RSS_MB:.0} MB: {}; MAS {peak_fresh:.0} MB-{:.2} GB); all answered in {:.2} s, {} errors",
            burst.connections,
            mark(peak <= TARGET_PEAK_RSS_MB && burst.measured.errors.count == 0),
            peak_all / 1000.0,
            burst.measured.elapsed.as_secs_f64(),
            burst.measured.errors.count,
        );
    }
}

/// The ratios of one run, for the JSON summary.
pub fn ratios(report: &RunReport) -> Value {
    json!({
        "introspection_vs_discovery": vs_ceiling(report),
        "introspection_vs_mas_best": vs_mas(report),
        "compat_login_vs_mas_best": login_vs_mas(report),
        "compat_login_peak_rss_kb": report.get(Scenario::CompatLogin).map(|r| r.peak_kb()),
        "login_burst_peak_rss_kb": report.get(Scenario::LoginBurst).map(|r| r.peak_kb()),
    })
}

/// MAS 1.22's figures, for the JSON summary.
pub fn reference() -> Value {
    json!({
        "introspection_rps": [MAS_INTROSPECTION_RPS.0, MAS_INTROSPECTION_RPS.1],
        "introspection_p99_ms": MAS_INTROSPECTION_P99_MS,
        "discovery_rps": MAS_DISCOVERY_RPS,
        "compat_login_rps": [MAS_LOGIN_RPS.0, MAS_LOGIN_RPS.1],
        "compat_login_p99_ms": [MAS_LOGIN_P99_MS.0, MAS_LOGIN_P99_MS.1],
        "compat_login_cpu_ms": [MAS_LOGIN_CPU_MS.0, MAS_LOGIN_CPU_MS.1],
        "login_peak_rss_mb": [MAS_LOGIN_PEAK_MB.0, MAS_LOGIN_PEAK_MB.1],
    })
}
