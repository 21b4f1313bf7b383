//! The PNG chart of a run: two panels, req/s and p99 latency, with a group
//! of bars per scenario and one bar per target (a colour each, named in the
//! legend), each bar labelled with its value. A scenario a target skipped
//! gets "skip" where its bar would be.

use std::path::Path;

use crate::{
    canvas::{short, Canvas, Rgb, BLACK, DARK_GREY, GLYPH, GREY, PALETTE},
    error::Result,
    report::TargetReport,
    scenarios::Scenario,
};

const BAR: i64 = 48;
const GAP: i64 = 28;
const MARGIN_LEFT: i64 = 80;
const MARGIN_RIGHT: i64 = 20;
const PANEL_HEIGHT: i64 = 220;
const TITLE: i64 = 40;
const LABELS: i64 = 44;

/// One bar: its value, or `None` when the target skipped the scenario.
type Bars = Vec<(Scenario, Vec<Option<f64>>)>;

/// The scenarios any target ran, with each target's value.
fn bars(reports: &[TargetReport], value: impl Fn(&TargetReport, Scenario) -> Option<f64>) -> Bars {
    Scenario::ALL
        .into_iter()
        .filter(|s| reports.iter().any(|r| r.get(*s).is_some()))
        .map(|s| (s, reports.iter().map(|r| value(r, s)).collect()))
        .collect()
}

fn group_width(targets: usize) -> i64 {
    (targets as i64 * BAR).max(13 * GLYPH as i64) + GAP
}

/// Draws the chart of `reports` into `path`.
pub fn write(reports: &[TargetReport], title: &str, path: &Path) -> Result<()> {
    let throughput = bars(reports, |r, s| Some(r.get(s)?.measured.per_second));
    let p99 = bars(reports, |r, s| Some(r.get(s)?.measured.p99_ms));
    let groups = throughput.len().max(1) as i64;
    let width = (MARGIN_LEFT + groups * group_width(reports.len()) + MARGIN_RIGHT).max(480);
    let legend = 20 * reports.len() as i64;
    let height = TITLE + legend + 2 * (PANEL_HEIGHT + LABELS) + 20;
    let mut canvas = Canvas::new(width as usize, height as usize);
    canvas.text(10, 10, title, BLACK, 2);
    for (i, report) in reports.iter().enumerate() {
        let y = TITLE + 20 * i as i64;
        canvas.rect(MARGIN_LEFT, y, 14, 14, color(i));
        canvas.text(MARGIN_LEFT + 22, y + 3, &report.name, BLACK, 1);
    }
    let top = TITLE + legend + 10;
    panel(&mut canvas, top, "req/s", &throughput, reports.len());
    panel(
        &mut canvas,
        top + PANEL_HEIGHT + LABELS,
        "p99 ms",
        &p99,
        reports.len(),
    );
    canvas.save(path)
}

fn color(i: usize) -> Rgb {
    PALETTE[i % PALETTE.len()]
}

/// The decades a log axis spans: from the one below the smallest value
/// to the one above the largest (at least one decade).
fn decades(values: impl Iterator<Item = f64>) -> (i32, i32) {
    let (min, max) = values
        .filter(|v| *v > 0.0)
        .fold((f64::MAX, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if max <= 0.0 {
        return (0, 1);
    }
    let low = min.log10().floor() as i32;
    let high = (max.log10().ceil() as i32).max(low + 1);
    (low, high)
}

/// 10^decade: "0.1", "1", "100", "10k".
fn decade_label(decade: i32) -> String {
    match decade {
        4.. => format!("{}k", 10_u64.pow(decade.unsigned_abs() - 3)),
        0.. => 10_u64.pow(decade.unsigned_abs()).to_string(),
        _ => 10f64.powi(decade).to_string(),
    }
}

/// One panel on a log scale (throughput and latency span four or five
/// decades from discovery to logins): a grid line per decade, the bars,
/// the values and the scenario names under the groups.
fn panel(canvas: &mut Canvas, top: i64, unit: &str, bars: &Bars, targets: usize) {
    let (low, high) = decades(
        bars.iter()
            .flat_map(|(_, values)| values.iter().flatten().copied()),
    );
    let plot_top = top + 20;
    let plot_height = PANEL_HEIGHT - 30;
    let bottom = plot_top + plot_height;
    let span = f64::from(high - low);
    let height_of = |v: f64| {
        let h = (v.log10() - f64::from(low)) / span * plot_height as f64;
        h.round().clamp(1.0, plot_height as f64) as i64
    };
    canvas.text(10, top, &format!("{unit} (log)"), BLACK, 1);
    let width = canvas.width as i64 - MARGIN_LEFT - MARGIN_RIGHT;
    for decade in low..=high {
        let y = bottom - (f64::from(decade - low) / span * plot_height as f64).round() as i64;
        canvas.rect(
            MARGIN_LEFT,
            y,
            width,
            1,
            if decade == low { DARK_GREY } else { GREY },
        );
        let label = decade_label(decade);
        canvas.text(
            MARGIN_LEFT - 8 - Canvas::text_width(&label, 1),
            y - 4,
            &label,
            DARK_GREY,
            1,
        );
    }
    let group = group_width(targets);
    for (g, (scenario, values)) in bars.iter().enumerate() {
        let left = MARGIN_LEFT + 10 + g as i64 * group;
        for (i, value) in values.iter().enumerate() {
            let x = left + i as i64 * BAR;
            let (label, bar_top) = match value {
                Some(v) if *v > 0.0 => {
                    let h = height_of(*v);
                    canvas.rect(x + 2, bottom - h, BAR - 4, h, color(i));
                    (short(*v), bottom - h)
                }
                Some(_) => ("0".to_owned(), bottom),
                None => ("skip".to_owned(), bottom),
            };
            let lx = x + (BAR - Canvas::text_width(&label, 1)) / 2;
            canvas.text(lx, bar_top - 10, &label, BLACK, 1);
        }
        // The name under the group, broken at dashes to fit.
        let mut y = bottom + 6;
        for part in scenario.name().split_inclusive('-') {
            canvas.text(left, y, part, BLACK, 1);
            y += 10;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::load::{Errors, Measured};

    fn report(name: &str, results: &[(Scenario, f64, f64)], skipped: &[Scenario]) -> TargetReport {
        TargetReport {
            name: name.to_owned(),
            url: "http://127.0.0.1:1/".to_owned(),
            database: None,
            pid: None,
            load_before: None,
            startup: None,
            idle: None,
            setup_time: None,
            after_setup: None,
            setup_failed: false,
            results: results
                .iter()
                .map(
                    |&(scenario, per_second, p99_ms)| crate::scenarios::ScenarioResult {
                        scenario,
                        connections: 1,
                        measured: Measured {
                            ok: 1,
                            elapsed: Duration::from_secs(1),
                            per_second,
                            p50_ms: 1.0,
                            p90_ms: 1.0,
                            p99_ms,
                            max_ms: 1.0,
                            mean_ms: 1.0,
                            errors: Errors::default(),
                        },
                        server: None,
                    },
                )
                .collect(),
            skipped: skipped.iter().map(|s| (*s, "no user".to_owned())).collect(),
            homeserver_calls: None,
        }
    }

    #[test]
    fn spans_whole_decades() {
        assert_eq!(decades([27.0, 4_790.0].into_iter()), (1, 4));
        assert_eq!(decades([1_000.0].into_iter()), (3, 4));
        assert_eq!(decades([0.4, 2.0].into_iter()), (-1, 1));
        assert_eq!(decades(std::iter::empty()), (0, 1));
        let labels: Vec<String> = (-1..=5).map(decade_label).collect();
        assert_eq!(labels, ["0.1", "1", "10", "100", "1000", "10k", "100k"]);
    }

    #[test]
    fn draws_a_bar_per_target_and_scenario() {
        let reports = [
            report(
                "a",
                &[
                    (Scenario::Discovery, 1000.0, 2.0),
                    (Scenario::Introspection, 500.0, 4.0),
                ],
                &[],
            ),
            report(
                "b",
                &[(Scenario::Discovery, 800.0, 3.0)],
                &[Scenario::Introspection],
            ),
        ];
        let bars = bars(&reports, |r, s| Some(r.get(s)?.measured.per_second));
        assert_eq!(
            bars,
            vec![
                (Scenario::Discovery, vec![Some(1000.0), Some(800.0)]),
                (Scenario::Introspection, vec![Some(500.0), None]),
            ]
        );
        let path =
            std::env::temp_dir().join(format!("mxauth-bench-chart-{}.png", std::process::id()));
        write(&reports, "test", &path).unwrap();
        let png = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let expected = MARGIN_LEFT + 2 * group_width(2) + MARGIN_RIGHT;
        assert_eq!(i64::from(width), expected.max(480));
    }
}
