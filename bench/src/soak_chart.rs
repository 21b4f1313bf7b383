//! The soak's PNG: three panels over time (minutes): the server's RSS with
//! the flatness reference and limit, the p99 of introspection, refresh
//! and discovery, and the p99 of compat logins (argon2: ten to a hundred
//! times slower, so on their own scale).

use std::path::Path;

use crate::{
    canvas::{y_grid, Canvas, Rgb, BLACK, DARK_GREY, PALETTE},
    error::Result,
    report::mib,
    soak::{Flatness, Sample, FLAT_TOLERANCE, KINDS},
};

const WIDTH: i64 = 900;
const LEFT: i64 = 80;
const RIGHT: i64 = 20;
const PANEL: i64 = 200;
const GAP: i64 = 50;
const TOP: i64 = 40;

/// A named series of (minutes, value) points.
struct Series {
    name: String,
    color: Rgb,
    points: Vec<(f64, f64)>,
}

/// A horizontal line across a panel.
struct Mark {
    value: f64,
    label: String,
    color: Rgb,
}

pub fn write(samples: &[Sample], flat: Option<&Flatness>, title: &str, path: &Path) -> Result<()> {
    let minutes = samples.last().map_or(1.0, |s| s.seconds / 60.0).max(1e-3);
    let rss = Series {
        name: "RSS MiB".to_owned(),
        color: PALETTE[0],
        points: samples
            .iter()
            .map(|s| (s.seconds / 60.0, mib(s.rss_kb)))
            .collect(),
    };
    let marks: Vec<Mark> = flat
        .map(|f| {
            let reference = mib(f.reference_kb);
            vec![
                Mark {
                    value: reference,
                    label: format!("at {:.1} min", f.reference_seconds / 60.0),
                    color: DARK_GREY,
                },
                Mark {
                    value: reference * (1.0 + FLAT_TOLERANCE),
                    label: format!(
                        "+{:.0}%: {}",
                        FLAT_TOLERANCE * 100.0,
                        if f.pass { "PASS" } else { "FAIL" }
                    ),
                    color: PALETTE[5],
                },
            ]
        })
        .unwrap_or_default();
    let p99 = |k: usize| Series {
        name: format!("{} p99 ms", KINDS[k].name()),
        color: PALETTE[(k + 1) % PALETTE.len()],
        points: samples
            .iter()
            .filter_map(|s| Some((s.seconds / 60.0, s.p99_ms[k]?)))
            .collect(),
    };
    let mut canvas = Canvas::new(WIDTH as usize, (TOP + 3 * (PANEL + GAP)) as usize);
    canvas.text(10, 10, title, BLACK, 2);
    let panels = [
        (vec![rss], marks),
        (vec![p99(0), p99(1), p99(2)], Vec::new()),
        (vec![p99(3)], Vec::new()),
    ];
    for (i, (series, marks)) in panels.iter().enumerate() {
        panel(
            &mut canvas,
            TOP + i as i64 * (PANEL + GAP),
            series,
            marks,
            minutes,
        );
    }
    canvas.save(path)
}

fn panel(canvas: &mut Canvas, top: i64, series: &[Series], marks: &[Mark], minutes: f64) {
    let max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .chain(marks.iter().map(|m| m.value))
        .fold(0.0_f64, f64::max)
        * 1.1;
    let max = if max > 0.0 { max } else { 1.0 };
    let mut x_legend = LEFT;
    for s in series {
        canvas.rect(x_legend, top, 12, 12, s.color);
        canvas.text(x_legend + 16, top + 2, &s.name, BLACK, 1);
        x_legend += 16 + Canvas::text_width(&s.name, 1) + 20;
    }
    let (plot_top, bottom) = (top + 20, top + PANEL);
    let height = bottom - plot_top;
    let plot_width = WIDTH - LEFT - RIGHT;
    let x_of = |m: f64| LEFT + (m / minutes * plot_width as f64).round() as i64;
    let y_of = |v: f64| bottom - (v / max * height as f64).round() as i64;
    y_grid(canvas, LEFT, plot_width, (bottom, height), max);
    // Minutes along the bottom, at fifths of the run.
    for fifth in 0..=5 {
        let m = minutes * f64::from(fifth) / 5.0;
        let label = format!("{m:.1} min");
        let x = x_of(m) - Canvas::text_width(&label, 1) / 2;
        canvas.text(
            x.clamp(0, WIDTH - Canvas::text_width(&label, 1)),
            bottom + 6,
            &label,
            DARK_GREY,
            1,
        );
    }
    for mark in marks {
        let y = y_of(mark.value);
        let mut x = LEFT;
        while x < LEFT + plot_width {
            canvas.rect(x, y, 6, 1, mark.color);
            x += 10;
        }
        let label = &mark.label;
        canvas.text(
            LEFT + plot_width - Canvas::text_width(label, 1),
            y - 10,
            label,
            mark.color,
            1,
        );
    }
    for s in series {
        let points: Vec<(i64, i64)> = s.points.iter().map(|&(m, v)| (x_of(m), y_of(v))).collect();
        for pair in points.windows(2) {
            canvas.line(pair[0], pair[1], s.color, 2);
        }
        if let [only] = points.as_slice() {
            canvas.rect(only.0 - 1, only.1 - 1, 3, 3, s.color);
        }
    }
}
