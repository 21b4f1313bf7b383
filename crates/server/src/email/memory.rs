//! A mailer that keeps messages in memory, for tests: what was sent, to
//! whom, and a switch that makes delivery fail like an SMTP server that is
//! down. Each message is still built as lettre would send it, so a message
//! the real transports could not build fails here too.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Mutex,
};

use super::{build_message, EmailContent, MailError, MailFuture, Mailbox, Mailer, MailerSettings};

/// One message the memory mailer accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentEmail {
    pub from: Mailbox,
    pub reply_to: Mailbox,
    pub to: Mailbox,
    pub content: EmailContent,
    /// The message as it would go on the wire.
    pub raw: String,
}

pub struct MemoryMailer {
    from: Mailbox,
    reply_to: Mailbox,
    sent: Mutex<Vec<SentEmail>>,
    failing: AtomicBool,
}

impl Default for MemoryMailer {
    fn default() -> Self {
        let settings = MailerSettings::blackhole();
        Self::new(settings.from, settings.reply_to)
    }
}

impl MemoryMailer {
    pub fn new(from: Mailbox, reply_to: Mailbox) -> Self {
        Self {
            from,
            reply_to,
            sent: Mutex::default(),
            failing: AtomicBool::new(false),
        }
    }

    /// Every message accepted so far, oldest first.
    pub fn sent(&self) -> Vec<SentEmail> {
        self.lock().clone()
    }

    /// Makes every send fail (`true`) or work again (`false`).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<SentEmail>> {
        // A poisoned lock only means another test thread panicked.
        self.sent.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Mailer for MemoryMailer {
    fn send<'a>(&'a self, to: &'a Mailbox, content: &'a EmailContent) -> MailFuture<'a, ()> {
        Box::pin(async move {
            let message = build_message(&self.from, &self.reply_to, to, content)?;
            if self.failing.load(Ordering::SeqCst) {
                return Err(MailError::Transport {
                    transport: self.describe(),
                    reason: "connection refused (the test made delivery fail)".into(),
                });
            }
            self.lock().push(SentEmail {
                from: self.from.clone(),
                reply_to: self.reply_to.clone(),
                to: to.clone(),
                content: content.clone(),
                raw: String::from_utf8_lossy(&message.formatted()).into_owned(),
            });
            Ok(())
        })
    }

    fn probe(&self) -> MailFuture<'_, ()> {
        Box::pin(async move {
            if self.failing.load(Ordering::SeqCst) {
                return Err(MailError::Transport {
                    transport: self.describe(),
                    reason: "connection refused (the test made delivery fail)".into(),
                });
            }
            Ok(())
        })
    }

    fn describe(&self) -> String {
        "in-memory test mailer".into()
    }

    fn delivers(&self) -> bool {
        true
    }
}
