//! Several targets side by side: each is prepared (endpoints, client,
//! sessions), then the scenarios run in their order and, within a
//! scenario, on one target after the other. Interleaving by scenario
//! rather than by server puts the runs of one scenario minutes apart at
//! most, so a change in the machine's background load during a long run
//! touches every target's figure of a scenario alike; and a server's
//! later scenarios see the same history (sessions, devices) whichever
//! target it is.

use std::time::Duration;

use crate::{
    args::Args,
    error::{Context, Result},
    prepare::Prepared,
    procfs,
    report::TargetReport,
    scenarios::{self, Plan, Scenario},
    target::Target,
};

pub fn plan(args: &Args) -> Plan {
    Plan {
        connections: args.connections,
        login_connections: args.login_connections,
        burst: args.burst,
        warmup: Duration::from_secs(args.warmup),
        duration: Duration::from_secs(args.seconds),
        timeout: Duration::from_secs(args.timeout),
    }
}

/// Measures every target; `startups` gives the start time of the servers
/// the bench started (by target name).
pub async fn run(
    targets: Vec<Target>,
    args: &Args,
    startups: &[(String, Duration)],
) -> Result<Vec<TargetReport>> {
    let plan = plan(args);
    let mut prepared = Vec::with_capacity(targets.len());
    let mut reports = Vec::with_capacity(targets.len());
    for target in targets {
        let name = target.name.clone();
        let load_before = procfs::load_average();
        if target.credentials.user.is_some() {
            eprintln!("[{name}] setting up {} sessions", args.connections);
        }
        let ready = Prepared::new(target, args.connections)
            .await
            .with_context(|| format!("preparing {name}"))?;
        if let Err(reason) = &ready.setup {
            eprintln!("[{name}] no OAuth sessions: {reason}");
        }
        reports.push(TargetReport {
            name: name.clone(),
            url: ready.target.base.url(),
            database: ready.target.database,
            pid: ready.target.pid,
            load_before,
            startup: startups.iter().find(|(n, _)| *n == name).map(|(_, d)| *d),
            idle: ready.idle,
            setup_time: ready.setup_time,
            after_setup: ready.after_setup,
            setup_failed: ready.setup_failed,
            results: Vec::new(),
            skipped: Vec::new(),
            homeserver_calls: None,
        });
        prepared.push(ready);
    }
    for &scenario in &args.scenarios {
        for (ready, report) in prepared.iter().zip(reports.iter_mut()) {
            let name = &report.name;
            if let Some(reason) = ready.skip_reason(scenario) {
                eprintln!("[{name}] {}: skipped ({reason})", scenario.name());
                report.skipped.push((scenario, reason));
                continue;
            }
            announce(name, scenario, &plan, args);
            let result = scenarios::run(scenario, &plan, ready)
                .await
                .with_context(|| format!("{name}: scenario {}", scenario.name()))?;
            report.results.push(result);
        }
    }
    Ok(reports)
}

fn announce(name: &str, scenario: Scenario, plan: &Plan, args: &Args) {
    if scenario == Scenario::LoginBurst {
        eprintln!(
            "[{name}] {}: {} logins at once",
            scenario.name(),
            plan.burst
        );
    } else {
        eprintln!(
            "[{name}] {}: {} connections, {} s warm-up + {} s",
            scenario.name(),
            plan.connections_for(scenario),
            args.warmup,
            args.seconds
        );
    }
}
