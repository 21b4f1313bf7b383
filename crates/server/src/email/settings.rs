//! The mailer's settings from the `email` section: the sender addresses
//! parsed as mailboxes and the transport, with the SMTP password the CLI
//! read from `password_file`. Errors name the key at fault.

use std::fmt;

use mxauth_config::{EmailConfig, EmailSmtpMode, EmailTransport};

use super::Mailbox;

/// Where mail goes.
#[derive(Clone, PartialEq, Eq)]
pub enum TransportSettings {
    Blackhole,
    Smtp {
        mode: EmailSmtpMode,
        hostname: String,
        port: u16,
        /// Username and password.
        credentials: Option<(String, String)>,
    },
    Sendmail {
        command: String,
    },
}

// The SMTP password must not reach a log through `{:?}`.
impl fmt::Debug for TransportSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Blackhole => f.write_str("Blackhole"),
            Self::Smtp {
                mode,
                hostname,
                port,
                credentials,
            } => f
                .debug_struct("Smtp")
                .field("mode", mode)
                .field("hostname", hostname)
                .field("port", port)
                .field("username", &credentials.as_ref().map(|(user, _)| user))
                .finish_non_exhaustive(),
            Self::Sendmail { command } => f
                .debug_struct("Sendmail")
                .field("command", command)
                .finish(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailerSettings {
    pub from: Mailbox,
    pub reply_to: Mailbox,
    pub transport: TransportSettings,
    /// The name we give in `EHLO` (RFC 5321 §4.1.1.1): the host of
    /// `http.public_base`; lettre's address literal `[127.0.0.1]` when
    /// `None`.
    pub hello_name: Option<String>,
}

/// `value` as a mailbox (`"Name" <address>` or a bare address), or an error
/// naming `key` and the form expected.
pub fn parse_mailbox(key: &str, value: &str) -> Result<Mailbox, String> {
    value.parse().map_err(|e| {
        format!(
            "{key}: {value:?} is not an email address ({e}); write it as \"Name\" <address@example.com> or address@example.com"
        )
    })
}

impl MailerSettings {
    /// The settings of `config`. `password` is `email.password` or the
    /// contents of `email.password_file`, which only the CLI reads. Assumes
    /// `EmailConfig::validate` passed (mode and hostname given for smtp);
    /// the checks here repeat only what would otherwise build a broken
    /// mailer.
    pub fn from_config(
        config: &EmailConfig,
        password: Option<String>,
        hello_name: Option<String>,
    ) -> Result<Self, String> {
        let transport = match config.transport {
            EmailTransport::Blackhole => TransportSettings::Blackhole,
            EmailTransport::Sendmail => TransportSettings::Sendmail {
                command: config.sendmail_command().to_owned(),
            },
            EmailTransport::Smtp => {
                let mode = config
                    .mode
                    .ok_or("email.mode: missing: plain, starttls or tls")?;
                let hostname = config
                    .hostname
                    .clone()
                    .filter(|h| !h.is_empty())
                    .ok_or("email.hostname: missing: the SMTP server's name")?;
                let credentials = match (&config.username, password) {
                    (Some(user), Some(password)) => Some((user.clone(), password)),
                    (None, None) => None,
                    _ => {
                        return Err("email.username and email.password: give both or neither".into())
                    }
                };
                TransportSettings::Smtp {
                    mode,
                    hostname,
                    port: config.port.unwrap_or(mode.default_port()),
                    credentials,
                }
            }
        };
        // Nothing is sent through a blackhole, so its addresses do not
        // matter (MAS checks them only for the other transports).
        let address = |key: &str, value: &str| match &transport {
            TransportSettings::Blackhole => {
                Ok(parse_mailbox(key, value).unwrap_or_else(|_| default_mailbox()))
            }
            _ => parse_mailbox(key, value),
        };
        Ok(Self {
            from: address("email.from", &config.from)?,
            reply_to: address("email.reply_to", &config.reply_to)?,
            transport,
            hello_name,
        })
    }

    /// A blackhole with MAS's default sender, for tests and tools.
    pub fn blackhole() -> Self {
        Self {
            from: default_mailbox(),
            reply_to: default_mailbox(),
            transport: TransportSettings::Blackhole,
            hello_name: None,
        }
    }
}

/// MAS's default sender, `"Authentication Service" <root@localhost>`.
fn default_mailbox() -> Mailbox {
    // A constant address, valid by construction.
    let address = lettre::Address::new_dangerous("root", "localhost");
    Mailbox::new(Some("Authentication Service".into()), address)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> EmailConfig {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn smtp_settings_take_the_mode_port_and_credentials() {
        let settings = MailerSettings::from_config(
            &config("transport: smtp\nmode: tls\nhostname: mail.example.com\nusername: mxauth\nfrom: '\"Matrix\" <auth@example.com>'\nreply_to: support@example.com"),
            Some("s3cret".into()),
            Some("auth.example.com".into()),
        )
        .unwrap();
        assert_eq!(settings.from.to_string(), "Matrix <auth@example.com>");
        assert_eq!(settings.reply_to.email.to_string(), "support@example.com");
        assert_eq!(
            settings.transport,
            TransportSettings::Smtp {
                mode: EmailSmtpMode::Tls,
                hostname: "mail.example.com".into(),
                port: 465,
                credentials: Some(("mxauth".into(), "s3cret".into())),
            }
        );
        let shown = format!("{settings:?}");
        assert!(
            shown.contains("mxauth") && !shown.contains("s3cret"),
            "{shown}"
        );
    }

    #[test]
    fn a_bad_sender_is_named_unless_nothing_is_sent() {
        let bad = config("transport: sendmail\nfrom: 'Matrix auth@example.com'");
        let err = MailerSettings::from_config(&bad, None, None).unwrap_err();
        assert!(
            err.starts_with("email.from: \"Matrix auth@example.com\" is not an email address"),
            "{err}"
        );
        let bad = config("transport: smtp\nmode: plain\nhostname: h\nreply_to: 'nobody'");
        let err = MailerSettings::from_config(&bad, None, None).unwrap_err();
        assert!(err.starts_with("email.reply_to:"), "{err}");
        let ignored = config("transport: blackhole\nfrom: 'not an address'");
        let settings = MailerSettings::from_config(&ignored, None, None).unwrap();
        assert_eq!(settings.from, MailerSettings::blackhole().from);
        let sendmail = MailerSettings::from_config(&config("transport: sendmail"), None, None);
        assert_eq!(
            sendmail.unwrap().transport,
            TransportSettings::Sendmail {
                command: "sendmail".into()
            }
        );
    }
}
