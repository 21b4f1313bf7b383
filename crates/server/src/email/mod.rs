//! Sending email: the [`Mailer`] trait, its transports built with lettre
//! (SMTP in MAS's three modes, a sendmail command, the blackhole that sends
//! nothing) and an in-memory mailer for tests.
//!
//! A mailer knows where mail goes and who it is from (`email.from`,
//! `email.reply_to`); what a message says comes from the email templates
//! (`templates::emails`) as an [`EmailContent`]. Mail is sent by jobs
//! (`jobs/send_email_code.rs`), never while a request holds a transaction:
//! an SMTP server can take seconds to answer, or not answer at all.

mod memory;
mod settings;
#[cfg(test)]
pub(crate) mod smtp_peer;
mod transport;

use std::{future::Future, pin::Pin};

use lettre::message::{header::ContentType, MultiPart, SinglePart};
use thiserror::Error;

pub use lettre::message::Mailbox;
pub use memory::{MemoryMailer, SentEmail};
pub use settings::{parse_mailbox, MailerSettings, TransportSettings};
pub use transport::LettreMailer;

/// A boxed future, so the trait can be used as `dyn Mailer`.
pub type MailFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, MailError>> + Send + 'a>>;

/// What one message says: its subject and its two bodies, rendered from
/// the templates of one kind of message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailContent {
    /// One line: the template's output with its white space collapsed.
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, Error)]
pub enum MailError {
    /// The message could not be put together (an address lettre refuses).
    #[error("cannot build the message: {0}")]
    Build(String),
    /// The transport failed: the server refused, the connection broke, the
    /// command failed. Never holds the SMTP password.
    #[error("{transport}: {reason}")]
    Transport { transport: String, reason: String },
    #[error("{transport}: no answer within {seconds} s")]
    Timeout { transport: String, seconds: u64 },
}

/// Where mail goes.
pub trait Mailer: Send + Sync {
    /// Sends `content` to `to`, from the configured sender.
    fn send<'a>(&'a self, to: &'a Mailbox, content: &'a EmailContent) -> MailFuture<'a, ()>;

    /// Checks the transport without sending anything: for SMTP, connect,
    /// `EHLO`, `STARTTLS` or TLS as configured, `AUTH` when credentials are
    /// set, `NOOP`, `QUIT`. For `mxauth doctor`.
    fn probe(&self) -> MailFuture<'_, ()>;

    /// The transport in a few words, for logs and `doctor`
    /// ("SMTP mail.example.com:587 (STARTTLS)"). Never the password.
    fn describe(&self) -> String;

    /// False when messages go nowhere (`transport: blackhole`): whoever
    /// waits for a code must then read it from the log.
    fn delivers(&self) -> bool;
}

/// The message as it goes on the wire: `multipart/alternative` with the
/// text first and the HTML last (RFC 2046 §5.1.4: the last part is the
/// preferred one), so mail readers without HTML show the text.
pub(crate) fn build_message(
    from: &Mailbox,
    reply_to: &Mailbox,
    to: &Mailbox,
    content: &EmailContent,
) -> Result<lettre::Message, MailError> {
    let body = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(content.text.clone()),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(content.html.clone()),
        );
    lettre::Message::builder()
        .from(from.clone())
        .reply_to(reply_to.clone())
        .to(to.clone())
        .subject(content.subject.clone())
        .multipart(body)
        .map_err(|e| MailError::Build(e.to_string()))
}

#[cfg(test)]
mod tests;
