//! `email`: sender addresses and the transport (MAS's keys: `transport`
//! blackhole | smtp | sendmail; smtp's `mode`, `hostname`, `port`,
//! `username`, `password`/`password_file`; sendmail's `command`). The
//! addresses are parsed as mailboxes by the server's mailer, which the CLI
//! builds while resolving the configuration, so `config check` names a bad
//! `from` too.

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

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailSmtpMode {
    /// No TLS at all: only for a relay on the same host or network.
    Plain,
    /// Plain text first, then `STARTTLS` (RFC 3207), which is required.
    StartTls,
    /// TLS from the first byte (RFC 8314 implicit TLS).
    Tls,
}

impl EmailSmtpMode {
    /// The port used when `email.port` is not set, as MAS (and lettre) do:
    /// 25 (SMTP) for plain, 587 (submission) for STARTTLS, 465
    /// (submissions, RFC 8314 §3.3) for TLS.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Plain => 25,
            Self::StartTls => 587,
            Self::Tls => 465,
        }
    }
}

/// The command of the sendmail transport when `email.command` is not set.
pub const DEFAULT_SENDMAIL_COMMAND: &str = "sendmail";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    pub from: String,
    pub reply_to: String,
    pub transport: EmailTransport,
    /// smtp: `plain`, `starttls` or `tls`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<EmailSmtpMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// smtp: defaults to [`EmailSmtpMode::default_port`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_file: Option<String>,
    /// sendmail: the command to run, [`DEFAULT_SENDMAIL_COMMAND`] when unset.
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
    /// The sendmail command in effect.
    pub fn sendmail_command(&self) -> &str {
        self.command.as_deref().unwrap_or(DEFAULT_SENDMAIL_COMMAND)
    }

    /// The SMTP port in effect (`None` without a mode).
    pub fn smtp_port(&self) -> Option<u16> {
        self.port.or(self.mode.map(EmailSmtpMode::default_port))
    }

    /// MAS's rules: smtp needs `mode` and `hostname`, a username goes with
    /// a password; keys of the other transport are refused, as MAS does,
    /// because they mean the file says something it does not do.
    pub(super) fn validate(&self, issues: &mut Issues) {
        one_of(
            issues,
            "email",
            "password",
            &self.password,
            &self.password_file,
            false,
        );
        let has_password = self.password.is_some() || self.password_file.is_some();
        match self.transport {
            EmailTransport::Blackhole => {}
            EmailTransport::Smtp => {
                if self.mode.is_none() {
                    issues.push(
                        "email.mode",
                        "missing: plain, starttls or tls (required with transport smtp)",
                    );
                }
                if self.hostname.as_deref().is_none_or(str::is_empty) {
                    issues.push(
                        "email.hostname",
                        "missing: the SMTP server's name (required with transport smtp)",
                    );
                }
                if self.port == Some(0) {
                    issues.push("email.port", "must be between 1 and 65535");
                }
                match (self.username.is_some(), has_password) {
                    (true, false) => issues.push(
                        "email.password",
                        "missing: email.username is set, so give password or password_file",
                    ),
                    (false, true) => issues.push(
                        "email.username",
                        "missing: a password is set, so give the username it belongs to",
                    ),
                    _ => {}
                }
                if self.command.is_some() {
                    issues.push("email.command", "only for transport sendmail");
                }
            }
            EmailTransport::Sendmail => {
                let smtp_keys = [
                    ("mode", self.mode.is_some()),
                    ("hostname", self.hostname.is_some()),
                    ("port", self.port.is_some()),
                    ("username", self.username.is_some()),
                    ("password", has_password),
                ];
                for (key, set) in smtp_keys {
                    if set {
                        issues.push(format!("email.{key}"), "only for transport smtp");
                    }
                }
                if self.command.as_deref() == Some("") {
                    issues.push("email.command", "must not be empty");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issues(yaml: &str) -> Vec<String> {
        let config: EmailConfig = serde_norway::from_str(yaml).unwrap();
        let mut issues = Issues::default();
        config.validate(&mut issues);
        issues.0.iter().map(|i| i.to_string()).collect()
    }

    #[test]
    fn smtp_needs_mode_and_hostname_and_whole_credentials() {
        assert!(issues("transport: smtp\nmode: starttls\nhostname: mail.example.com").is_empty());
        let missing = issues("transport: smtp\nusername: mxauth");
        assert_eq!(missing.len(), 3, "{missing:?}");
        assert!(missing[0].starts_with("email.mode: missing"), "{missing:?}");
        assert!(missing[1].starts_with("email.hostname: missing"));
        assert!(missing[2].starts_with("email.password: missing"));
        let lone_password = issues("transport: smtp\nmode: tls\nhostname: h\npassword_file: /p");
        assert_eq!(lone_password.len(), 1);
        assert!(lone_password[0].starts_with("email.username"));
        let both = issues(
            "transport: smtp\nmode: tls\nhostname: h\nusername: u\npassword: p\npassword_file: /p",
        );
        assert_eq!(both.len(), 1);
        assert!(both[0].contains("not both"));
    }

    #[test]
    fn keys_of_the_other_transport_are_refused() {
        let wrong = issues("transport: sendmail\nhostname: mail.example.com\npassword: x");
        assert_eq!(
            wrong,
            vec![
                "email.hostname: only for transport smtp",
                "email.password: only for transport smtp"
            ]
        );
        let wrong =
            issues("transport: smtp\nmode: plain\nhostname: h\ncommand: /usr/sbin/sendmail");
        assert_eq!(wrong, vec!["email.command: only for transport sendmail"]);
        // Switching to blackhole keeps the rest of the block valid.
        assert!(issues("transport: blackhole\nmode: tls\nhostname: h").is_empty());
    }

    #[test]
    fn modes_parse_by_name_and_give_their_port() {
        let config: EmailConfig =
            serde_norway::from_str("transport: smtp\nmode: starttls\nhostname: h").unwrap();
        assert_eq!(config.mode, Some(EmailSmtpMode::StartTls));
        assert_eq!(config.smtp_port(), Some(587));
        for (mode, port) in [("plain", 25), ("tls", 465)] {
            let config: EmailConfig = serde_norway::from_str(&format!("mode: {mode}")).unwrap();
            assert_eq!(config.smtp_port(), Some(port));
        }
        let config: EmailConfig = serde_norway::from_str("mode: tls\nport: 2465").unwrap();
        assert_eq!(config.smtp_port(), Some(2465));
        assert!(serde_norway::from_str::<EmailConfig>("mode: ssl").is_err());
        assert_eq!(EmailConfig::default().sendmail_command(), "sendmail");
    }
}
