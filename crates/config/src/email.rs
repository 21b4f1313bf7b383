//! `email`: sender addresses and the transport.

use serde::{Deserialize, Serialize};

use super::{one_of, Issues};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailTransport {
    /// Send nothing.
    #[default]
    Blackhole,
    Smtp,
    Sendmail,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    pub from: String,
    pub reply_to: String,
    pub transport: EmailTransport,
    /// smtp: `plain`, `starttls` or `tls`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_file: Option<String>,
    /// sendmail: the command to run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

impl Default for EmailConfig {
    fn default() -> Self {
        let address = "\"Authentication Service\" <root@localhost>".to_owned();
        Self {
            from: address.clone(),
            reply_to: address,
            transport: EmailTransport::Blackhole,
            mode: None,
            hostname: None,
            port: None,
            username: None,
            password: None,
            password_file: None,
            command: None,
        }
    }
}

impl EmailConfig {
    pub(super) fn unbuilt(&self, issues: &mut Issues) {
        if self.transport != EmailTransport::Blackhole {
            issues.unbuilt("email.transport", "sending email");
        }
    }

    pub(super) fn validate(&self, issues: &mut Issues) {
        one_of(
            issues,
            "email",
            "password",
            &self.password,
            &self.password_file,
            false,
        );
        if let Some(mode) = &self.mode {
            if !matches!(mode.as_str(), "plain" | "starttls" | "tls") {
                issues.push("email.mode", "must be plain, starttls or tls");
            }
        }
    }
}
