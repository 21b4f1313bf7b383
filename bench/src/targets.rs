//! Our numbers next to MAS 1.22's and our targets
//! (`performance-targets.md` in the shared reference, the table "Side by
//! side in one run (2026-11-30)": MAS 1.22 and mxauth on one 2-core
//! machine, the same PostgreSQL 15 and stub homeserver, `wrk -t2`): the
//! lines under each table, and the ratios and reference figures of the
//! JSON summary.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::{
    report::{mb, ms, thousands, TargetReport},
    scenarios::Scenario,
};

/// MAS 1.22, side by side with mxauth (lowest and highest of two runs).
const MAS_DISCOVERY_RPS: (f64, f64) = (30_700.0, 30_800.0);
const MAS_INTROSPECTION_RPS: (f64, f64) = (5_500.0, 6_400.0);
const MAS_INTROSPECTION_P99_MS: (f64, f64) = (11.7, 14.2);
const MAS_COMPAT_INTROSPECTION_RPS: (f64, f64) = (6_000.0, 6_400.0);
const MAS_COMPAT_INTROSPECTION_P99_MS: (f64, f64) = (11.5, 13.6);
/// One rotation chain per connection, c=16.
const MAS_REFRESH_RPS: (f64, f64) = (1_285.0, 1_452.0);
/// Compat password login, argon2id m=19 MiB t=2 p=1, c=8.
const MAS_LOGIN_RPS: (f64, f64) = (95.0, 100.0);
const MAS_LOGIN_P99_MS: (f64, f64) = (131.0, 147.0);
/// RSS after 30 s of logins, MB.
const MAS_LOGIN_RSS_MB: (f64, f64) = (1_080.0, 1_460.0);
const MAS_IDLE_AFTER_SETUP_MB: f64 = 87.0;

/// Introspection (OAuth and compat tokens): 4x MAS.
const TARGET_INTROSPECTION_RPS: f64 = 25_000.0;
const TARGET_INTROSPECTION_P99_MS: f64 = 5.0;
const TARGET_REFRESH_VS_MAS: f64 = 3.0;
/// The argon2 CPU limit of logins: about 125/s on the reference's 2 cores
/// (16 ms of one core per hash), so 62.5/s per core.
const ARGON2_LOGINS_PER_CORE: f64 = 62.5;
const TARGET_LOGIN_VS_ARGON2_LIMIT: f64 = 0.90;
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

fn rps(report: &TargetReport, scenario: Scenario) -> Option<f64> {
    Some(report.get(scenario)?.measured.per_second)
}

fn ratio(report: &TargetReport, scenario: Scenario, mas_best: f64) -> Option<f64> {
    Some(rps(report, scenario)? / mas_best)
}

/// Logins per second this machine's cores allow at most.
fn argon2_limit() -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    ARGON2_LOGINS_PER_CORE * cores as f64
}

/// The comparison lines under a table.
pub fn lines(out: &mut String, report: &TargetReport) {
    let _ = writeln!(
        out,
        "\nagainst MAS 1.22 side by side (2026-11-30 reference machine) and the targets:"
    );
    for (scenario, mas, mas_p99) in [
        (
            Scenario::Introspection,
            MAS_INTROSPECTION_RPS,
            MAS_INTROSPECTION_P99_MS,
        ),
        (
            Scenario::CompatIntrospection,
            MAS_COMPAT_INTROSPECTION_RPS,
            MAS_COMPAT_INTROSPECTION_P99_MS,
        ),
    ] {
        if let Some(r) = report.get(scenario) {
            let m = &r.measured;
            let _ = writeln!(
                out,
                "  {} {} req/s = {:.1}x MAS's best ({}-{}; target >= {} = 4x: {}); p99 {:.1} ms (MAS {}-{} ms; target <= {TARGET_INTROSPECTION_P99_MS} ms: {})",
                scenario.name(),
                thousands(m.per_second),
                m.per_second / mas.1,
                thousands(mas.0),
                thousands(mas.1),
                thousands(TARGET_INTROSPECTION_RPS),
                mark(m.per_second >= TARGET_INTROSPECTION_RPS),
                m.p99_ms,
                mas_p99.0,
                mas_p99.1,
                mark(m.p99_ms <= TARGET_INTROSPECTION_P99_MS),
            );
        }
    }
    if let (Some(intro), Some(ceiling)) = (
        rps(report, Scenario::Introspection),
        rps(report, Scenario::Discovery).filter(|c| *c > 0.0),
    ) {
        let _ = writeln!(
            out,
            "  introspection = {:.0}% of discovery in this run",
            100.0 * intro / ceiling
        );
    }
    if let Some(d) = report.get(Scenario::Discovery) {
        let _ = writeln!(
            out,
            "  discovery {} req/s, p99 {:.2} ms (MAS {}-{} req/s: the ceiling)",
            thousands(d.measured.per_second),
            d.measured.p99_ms,
            thousands(MAS_DISCOVERY_RPS.0),
            thousands(MAS_DISCOVERY_RPS.1),
        );
    }
    if let Some(r) = report.get(Scenario::Refresh) {
        let ratio = r.measured.per_second / MAS_REFRESH_RPS.1;
        let _ = writeln!(
            out,
            "  refresh {}/s at c={} = {ratio:.1}x MAS's best ({}-{}/s at c=16; target >= {TARGET_REFRESH_VS_MAS}x: {})",
            thousands(r.measured.per_second),
            r.connections,
            thousands(MAS_REFRESH_RPS.0),
            thousands(MAS_REFRESH_RPS.1),
            mark(ratio >= TARGET_REFRESH_VS_MAS),
        );
    }
    login_lines(out, report);
    if let Some(startup) = report.startup {
        let _ = writeln!(
            out,
            "  start to first 200: {:.0} ms (target <= {TARGET_STARTUP_MS:.0} ms: {})",
            ms(startup),
            mark(ms(startup) <= TARGET_STARTUP_MS),
        );
    }
    if let Some(idle) = report.idle {
        let idle_mb = mb(idle.rss_kb);
        let _ = writeln!(
            out,
            "  RSS before the setup: {idle_mb:.1} MB (target <= {TARGET_IDLE_RSS_MB:.0} MB at start: {})",
            mark(idle_mb <= TARGET_IDLE_RSS_MB),
        );
    }
    if let Some(after) = report.after_setup {
        let _ = writeln!(
            out,
            "  RSS after the setup: {:.1} MB (MAS {MAS_IDLE_AFTER_SETUP_MB:.0} MB)",
            mb(after.rss_kb),
        );
    }
}

fn login_lines(out: &mut String, report: &TargetReport) {
    let (rss_low, rss_high) = MAS_LOGIN_RSS_MB;
    if let Some(login) = report.get(Scenario::CompatLogin) {
        let m = &login.measured;
        let limit = argon2_limit();
        let cpu_ms = login
            .server
            .and_then(|s| s.cpu)
            .filter(|_| m.ok > 0)
            .map_or_else(
                || "n/a".to_owned(),
                |cpu| format!("{:.1}", ms(cpu.server) / m.ok as f64),
            );
        let _ = writeln!(
            out,
            "  compat login {:.1} logins/s at c={} = {:.0}% of the argon2 limit here ({limit:.0}/s; target >= {:.0}%: {}); MAS {:.0}-{:.0}/s at c=8 on the reference machine; p99 {:.0} ms (MAS {:.0}-{:.0} ms); server CPU {cpu_ms} ms per login",
            m.per_second,
            login.connections,
            100.0 * m.per_second / limit,
            TARGET_LOGIN_VS_ARGON2_LIMIT * 100.0,
            mark(m.per_second >= TARGET_LOGIN_VS_ARGON2_LIMIT * limit),
            MAS_LOGIN_RPS.0,
            MAS_LOGIN_RPS.1,
            m.p99_ms,
            MAS_LOGIN_P99_MS.0,
            MAS_LOGIN_P99_MS.1,
        );
        if let Some(server) = login.server {
            let peak = mb(server.peak_kb());
            let _ = writeln!(
                out,
                "  peak RSS during compat-login: {peak:.1} MB (target <= {TARGET_PEAK_RSS_MB:.0} MB: {}; MAS {:.2}-{:.2} GB after 30 s of logins)",
                mark(peak <= TARGET_PEAK_RSS_MB),
                rss_low / 1000.0,
                rss_high / 1000.0,
            );
        }
    }
    if let Some(burst) = report.get(Scenario::LoginBurst) {
        let size = if burst.connections == TARGET_BURST {
            String::new()
        } else {
            format!(" (the target is for {TARGET_BURST})")
        };
        let peak = burst.server.map(|s| mb(s.peak_kb()));
        let _ = writeln!(
            out,
            "  burst of {} logins{size}: all answered in {:.2} s, {} errors; peak RSS {} (target <= {TARGET_PEAK_RSS_MB:.0} MB: {})",
            burst.connections,
            burst.measured.elapsed.as_secs_f64(),
            burst.measured.errors.count,
            peak.map_or_else(|| "n/a".to_owned(), |p| format!("{p:.1} MB")),
            peak.map_or("n/a", |p| mark(
                p <= TARGET_PEAK_RSS_MB && burst.measured.errors.count == 0
            )),
        );
    }
}

/// The ratios of one target, for the JSON summary.
pub fn ratios(report: &TargetReport) -> Value {
    let peak = |s: Scenario| report.get(s).and_then(|r| r.server).map(|s| s.peak_kb());
    json!({
        "introspection_vs_mas_best": ratio(report, Scenario::Introspection, MAS_INTROSPECTION_RPS.1),
        "compat_introspection_vs_mas_best":
            ratio(report, Scenario::CompatIntrospection, MAS_COMPAT_INTROSPECTION_RPS.1),
        "refresh_vs_mas_best": ratio(report, Scenario::Refresh, MAS_REFRESH_RPS.1),
        "compat_login_vs_argon2_limit": rps(report, Scenario::CompatLogin).map(|r| r / argon2_limit()),
        "introspection_vs_discovery": rps(report, Scenario::Discovery)
            .filter(|c| *c > 0.0)
            .and_then(|c| Some(rps(report, Scenario::Introspection)? / c)),
        "compat_login_peak_rss_kb": peak(Scenario::CompatLogin),
        "login_burst_peak_rss_kb": peak(Scenario::LoginBurst),
    })
}

/// MAS 1.22's side-by-side figures and the targets, for the JSON summary.
pub fn reference() -> Value {
    let pair = |(low, high): (f64, f64)| json!([low, high]);
    json!({
        "source": "performance-targets.md, side by side in one run (2026-11-30)",
        "mas_1_22": {
            "discovery_rps": pair(MAS_DISCOVERY_RPS),
            "introspection_rps": pair(MAS_INTROSPECTION_RPS),
            "introspection_p99_ms": pair(MAS_INTROSPECTION_P99_MS),
            "compat_introspection_rps": pair(MAS_COMPAT_INTROSPECTION_RPS),
            "compat_introspection_p99_ms": pair(MAS_COMPAT_INTROSPECTION_P99_MS),
            "refresh_rps_c16": pair(MAS_REFRESH_RPS),
            "compat_login_rps": pair(MAS_LOGIN_RPS),
            "compat_login_p99_ms": pair(MAS_LOGIN_P99_MS),
            "login_rss_mb": pair(MAS_LOGIN_RSS_MB),
            "idle_after_setup_mb": MAS_IDLE_AFTER_SETUP_MB,
        },
        "targets": {
            "introspection_rps": TARGET_INTROSPECTION_RPS,
            "introspection_p99_ms": TARGET_INTROSPECTION_P99_MS,
            "refresh_vs_mas": TARGET_REFRESH_VS_MAS,
            "compat_login_vs_argon2_limit": TARGET_LOGIN_VS_ARGON2_LIMIT,
            "argon2_limit_here": argon2_limit(),
            "peak_rss_mb": TARGET_PEAK_RSS_MB,
            "idle_rss_mb": TARGET_IDLE_RSS_MB,
            "startup_ms": TARGET_STARTUP_MS,
        },
    })
}
