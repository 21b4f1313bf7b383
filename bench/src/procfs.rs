//! What `/proc` says about a process: resident memory (`VmRSS` now, `VmHWM`
//! the peak) from `status`, CPU time (user + system) from `stat`, and how
//! busy the whole machine is (`/proc/stat`, `/proc/loadavg`).

use std::{collections::HashMap, time::Duration};

use crate::error::{Context, Result};

/// Resident memory of a process, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// `VmRSS`: now.
    pub rss_kb: u64,
    /// `VmHWM`: the peak since the process started.
    pub hwm_kb: u64,
}

pub fn memory(pid: u32) -> Result<Memory> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no {name} in {path}"))
    };
    Ok(Memory {
        rss_kb: field("VmRSS:")?,
        hwm_kb: field("VmHWM:")?,
    })
}

/// Clock ticks per second in `/proc/*/stat` (`USER_HZ`, 100 on every
/// mainstream Linux; reading it properly needs `sysconf`).
const TICKS_PER_SECOND: u64 = 100;

/// User plus system CPU time consumed so far by `pid` (`None`: this
/// process).
pub fn cpu_time(pid: Option<u32>) -> Result<Duration> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // The command name (field 2) is in parentheses and may hold spaces;
    // after it come state (3), ..., utime (14), stime (15).
    let after = stat
        .rsplit_once(')')
        .with_context(|| format!("unexpected {path}"))?
        .1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .with_context(|| format!("unexpected {path}"))
    };
    let ticks = tick(11)? + tick(12)?;
    Ok(Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND))
}

/// CPU time so far of every process named `name` (its `comm`), by pid:
/// the PostgreSQL server's processes are all called `postgres`.
pub fn cpu_times_named(name: &str) -> HashMap<u32, Duration> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == name)
        })
        .filter_map(|pid| Some((pid, cpu_time(Some(pid)).ok()?)))
        .collect()
}

/// CPU time used between two `cpu_times_named` readings (processes that
/// started in between count from zero; those that ended are missed).
pub fn cpu_delta(before: &HashMap<u32, Duration>, after: &HashMap<u32, Duration>) -> Duration {
    after
        .iter()
        .map(|(pid, t)| t.saturating_sub(before.get(pid).copied().unwrap_or_default()))
        .sum()
}

/// CPU time all processes spent busy so far, summed over cores (the
/// `cpu` line of `/proc/stat`: everything but idle and iowait).
pub fn system_busy() -> Result<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let line = stat
        .lines()
        .find(|l| l.starts_with("cpu "))
        .context("no cpu line in /proc/stat")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is
    // already inside user and nice).
    let busy: u64 = ticks
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, t)| t)
        .sum();
    Ok(Duration::from_millis(busy * 1000 / TICKS_PER_SECOND))
}

/// The 1-minute load average.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let m = memory(std::process::id()).unwrap();
        assert!(m.rss_kb > 0 && m.hwm_kb >= m.rss_kb);
        assert!(cpu_time(None).is_ok());
        assert!(cpu_time(Some(std::process::id())).is_ok());
        assert!(system_busy().is_ok());
        assert!(load_average().is_some());
    }
}
