//! `http.limits` (mxauth only; MAS has no such keys): how long a client may
//! take to send a request and how long an idle connection is kept, and how
//! many connections each listener serves at once, and how long a handler may
//! run before the client gets a 503. Without these, a client
//! that sends half a request, or nothing, holds its socket forever.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Issues;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpLimits {
    /// Seconds a client has to send a complete request head (request line
    /// and headers), counted from the connection's start (after the TLS
    /// handshake, which has the same allowance).
    pub header_read_timeout: u64,
    /// Seconds a client has to send a request's whole body, counted from
    /// the end of its head.
    pub body_read_timeout: u64,
    /// Seconds a kept-alive connection may wait for its next request.
    /// Keep it longer than the reverse proxy's upstream keep-alive (nginx:
    /// 60 s), so the proxy, not mxauth, closes idle connections.
    pub idle_timeout: u64,
    /// Connections each listener serves at once; more wait in the kernel's
    /// accept queue until one closes.
    pub max_connections: u32,
    /// Seconds a request may spend in mxauth once it has arrived; past it
    /// the client gets 503 and the work is dropped. A backstop only: the
    /// database and the homeserver have shorter deadlines of their own.
    pub handler_timeout: u64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: 20,
            body_read_timeout: 30,
            idle_timeout: 90,
            max_connections: 1000,
            handler_timeout: 60,
        }
    }
}

impl HttpLimits {
    /// `config generate` leaves the block out while it holds the defaults,
    /// so the file stays one MAS can read.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    pub fn header_read(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout)
    }

    pub fn body_read(&self) -> Duration {
        Duration::from_secs(self.body_read_timeout)
    }

    pub fn handler(&self) -> Duration {
        Duration::from_secs(self.handler_timeout)
    }

    pub fn idle(&self) -> Duration {
        Duration::from_secs(self.idle_timeout)
    }

    pub(super) fn validate(&self, issues: &mut Issues) {
        for (key, value) in [
            ("header_read_timeout", self.header_read_timeout),
            ("body_read_timeout", self.body_read_timeout),
            ("idle_timeout", self.idle_timeout),
            ("max_connections", u64::from(self.max_connections)),
            ("handler_timeout", self.handler_timeout),
        ] {
            if value == 0 {
                issues.push(format!("http.limits.{key}"), "must be at least 1");
            }
        }
    }
}
