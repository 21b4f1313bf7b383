//! The real transports, with lettre: SMTP (plain, STARTTLS, implicit TLS;
//! rustls with the system's roots), a sendmail command, and the blackhole.
//! Connecting has a timeout (lettre's, which in its async client covers
//! only the TCP connect), and every send and probe a deadline over the
//! whole exchange, so a server that accepts the connection and then says
//! nothing cannot hold a job forever.

use std::time::Duration;

use lettre::{
    transport::smtp::{authentication::Credentials, extension::ClientId},
    AsyncSendmailTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
};
use mxauth_config::EmailSmtpMode;

use super::{
    build_message, EmailContent, MailError, MailFuture, Mailbox, Mailer, MailerSettings,
    TransportSettings,
};

/// How long connecting to the SMTP server may take.
const SMTP_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a whole send or probe may take, below the job's 60 s.
const DEADLINE: Duration = Duration::from_secs(45);

enum Transport {
    Blackhole,
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Sendmail(AsyncSendmailTransport<Tokio1Executor>),
}

/// The mailer of the configuration. No `Debug`: lettre's SMTP transport
/// holds the password.
pub struct LettreMailer {
    from: Mailbox,
    reply_to: Mailbox,
    transport: Transport,
    description: String,
    deadline: Duration,
}

impl LettreMailer {
    /// Builds the transport; for TLS this loads the system's root
    /// certificates. Nothing is connected yet.
    pub fn new(settings: MailerSettings) -> Result<Self, String> {
        Self::with_timeouts(settings, SMTP_CONNECT_TIMEOUT, DEADLINE)
    }

    /// [`LettreMailer::new`] with other timeouts, for tests.
    pub(crate) fn with_timeouts(
        settings: MailerSettings,
        connect_timeout: Duration,
        deadline: Duration,
    ) -> Result<Self, String> {
        let (transport, description) = match settings.transport {
            TransportSettings::Blackhole => (
                Transport::Blackhole,
                "blackhole (email is not sent)".to_owned(),
            ),
            TransportSettings::Sendmail { command } => (
                Transport::Sendmail(AsyncSendmailTransport::new_with_command(&command)),
                format!("sendmail command {command:?}"),
            ),
            TransportSettings::Smtp {
                mode,
                hostname,
                port,
                credentials,
            } => {
                let builder = match mode {
                    EmailSmtpMode::Plain => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&hostname)
                    }
                    EmailSmtpMode::StartTls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&hostname)
                            .map_err(|e| format!("email.hostname: {hostname:?}: {e}"))?
                    }
                    EmailSmtpMode::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&hostname)
                        .map_err(|e| format!("email.hostname: {hostname:?}: {e}"))?,
                };
                let mut builder = builder.port(port).timeout(Some(connect_timeout));
                if let Some(name) = settings.hello_name {
                    builder = builder.hello_name(ClientId::Domain(name));
                }
                let authenticated = credentials.is_some();
                if let Some((username, password)) = credentials {
                    builder = builder.credentials(Credentials::new(username, password));
                }
                let mode = match mode {
                    EmailSmtpMode::Plain => "plain, no TLS",
                    EmailSmtpMode::StartTls => "STARTTLS",
                    EmailSmtpMode::Tls => "TLS",
                };
                let auth = if authenticated { ", with AUTH" } else { "" };
                (
                    Transport::Smtp(builder.build()),
                    format!("SMTP {hostname}:{port} ({mode}{auth})"),
                )
            }
        };
        Ok(Self {
            from: settings.from,
            reply_to: settings.reply_to,
            transport,
            description,
            deadline,
        })
    }

    fn failed(&self, e: impl std::fmt::Display) -> MailError {
        MailError::Transport {
            transport: self.description.clone(),
            reason: e.to_string(),
        }
    }

    /// `work` within the deadline.
    async fn bounded<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, MailError>>,
    ) -> Result<T, MailError> {
        tokio::time::timeout(self.deadline, work)
            .await
            .unwrap_or_else(|_| {
                Err(MailError::Timeout {
                    transport: self.description.clone(),
                    seconds: self.deadline.as_secs(),
                })
            })
    }
}

impl Mailer for LettreMailer {
    fn send<'a>(&'a self, to: &'a Mailbox, content: &'a EmailContent) -> MailFuture<'a, ()> {
        Box::pin(async move {
            let message = build_message(&self.from, &self.reply_to, to, content)?;
            self.bounded(async {
                match &self.transport {
                    Transport::Blackhole => Ok(()),
                    Transport::Smtp(smtp) => smtp
                        .send(message)
                        .await
                        .map(drop)
                        .map_err(|e| self.failed(e)),
                    // The child is killed when the deadline drops the future.
                    Transport::Sendmail(sendmail) => {
                        sendmail.send(message).await.map_err(|e| self.failed(e))
                    }
                }
            })
            .await
        })
    }

    fn probe(&self) -> MailFuture<'_, ()> {
        Box::pin(async move {
            match &self.transport {
                Transport::Smtp(smtp) => {
                    self.bounded(async {
                        match smtp.test_connection().await {
                            Ok(true) => Ok(()),
                            Ok(false) => Err(self.failed("the server did not answer NOOP")),
                            Err(e) => Err(self.failed(e)),
                        }
                    })
                    .await
                }
                // Nothing to connect to; `doctor` checks the command's file.
                Transport::Blackhole | Transport::Sendmail(_) => Ok(()),
            }
        })
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn delivers(&self) -> bool {
        !matches!(self.transport, Transport::Blackhole)
    }
}
