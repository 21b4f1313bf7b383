//! The Prometheus text exposition format, version 0.0.4: `# HELP` and
//! `# TYPE` lines, then one `name{label="value"} number` line per series.
//! Label values are escaped (backslash, double quote, newline) as the
//! format requires.

use std::fmt::Write;

use super::{
    histogram::{Snapshot, BOUNDS},
    LoginMethod, LoginResult, Metrics,
};

/// The `Content-Type` of a scrape.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, Default)]
pub struct Exposition(String);

impl Exposition {
    /// Starts a metric family.
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{label}=\"{}\"", escape(value));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    /// The `_bucket`, `_sum` and `_count` lines of one histogram series.
    pub fn histogram(&mut self, name: &str, labels: &[(&str, &str)], snapshot: &Snapshot) {
        let bucket = format!("{name}_bucket");
        for (i, count) in snapshot.cumulative.iter().enumerate() {
            let le = BOUNDS
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), f64::to_string);
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            self.sample(&bucket, &with_le, count);
        }
        self.sample(&format!("{name}_sum"), labels, snapshot.sum_seconds);
        self.sample(&format!("{name}_count"), labels, snapshot.count);
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

fn escape(value: &str) -> std::borrow::Cow<'_, str> {
    if value.contains(['\\', '"', '\n']) {
        value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
            .into()
    } else {
        value.into()
    }
}

impl Metrics {
    /// Writes the counters and histograms kept here.
    pub fn render(&self, out: &mut Exposition) {
        self.render_http(out);
        out.family(
            "mxauth_logins_total",
            "counter",
            "Logins that reached a credential check, by method and result.",
        );
        for method in LoginMethod::ALL {
            for result in LoginResult::ALL {
                let labels = [("method", method.label()), ("result", result.label())];
                out.sample("mxauth_logins_total", &labels, self.logins(method, result));
            }
        }
        let calls = self.homeserver.sorted();
        out.family(
            "mxauth_homeserver_request_duration_seconds",
            "histogram",
            "Time of calls to the homeserver's /_synapse/mas API, by call.",
        );
        for (endpoint, series) in &calls {
            let snapshot = series.duration.snapshot();
            let labels = [("endpoint", endpoint.as_str())];
            out.histogram(
                "mxauth_homeserver_request_duration_seconds",
                &labels,
                &snapshot,
            );
        }
        out.family(
            "mxauth_homeserver_errors_total",
            "counter",
            "Calls to the homeserver that failed (unreachable or refused), by call.",
        );
        for (endpoint, series) in &calls {
            let errors = series.errors.load(std::sync::atomic::Ordering::Relaxed);
            out.sample(
                "mxauth_homeserver_errors_total",
                &[("endpoint", endpoint)],
                errors,
            );
        }
        out.family(
            "mxauth_jobs_failed_total",
            "counter",
            "Job attempts that failed (retried later or failed for good), by queue.",
        );
        for (queue, failed) in self.jobs_failed.sorted() {
            let failed = failed.load(std::sync::atomic::Ordering::Relaxed);
            out.sample("mxauth_jobs_failed_total", &[("queue", &queue)], failed);
        }
    }

    fn render_http(&self, out: &mut Exposition) {
        let routes = self.http.sorted();
        out.family(
            "mxauth_http_requests_total",
            "counter",
            "HTTP requests answered, by route template, method and status.",
        );
        for (route, series) in &routes {
            for (method, status, count) in series.responses.snapshot() {
                let status = status.to_string();
                let labels = [
                    ("route", route.as_str()),
                    ("method", method),
                    ("status", &status),
                ];
                out.sample("mxauth_http_requests_total", &labels, count);
            }
        }
        out.family(
            "mxauth_http_request_duration_seconds",
            "histogram",
            "Time from the request to its response head, by route template.",
        );
        for (route, series) in &routes {
            let snapshot = series.duration.snapshot();
            out.histogram(
                "mxauth_http_request_duration_seconds",
                &[("route", route)],
                &snapshot,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut out = Exposition::default();
        out.sample("m", &[("a", "x\"y\\z\nw")], 1);
        assert_eq!(out.into_string(), "m{a=\"x\\\"y\\\\z\\nw\"} 1\n");
    }
}
