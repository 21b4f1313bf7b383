//! The contexts of the emails: each message is three templates under
//! `templates/emails/`, a one-line subject (`NAME.subject.txt`), a text
//! body (`NAME.txt`) and an HTML body (`NAME.html`, escaped like the
//! pages), rendered from one typed context by [`Templates::render_email`].

use serde::Serialize;

use super::{Rendered, TemplateError, Templates};
use crate::email::EmailContent;

/// The three templates of one message.
#[derive(Debug, Clone, Copy)]
pub struct EmailTemplates {
    pub subject: &'static str,
    pub text: &'static str,
    pub html: &'static str,
}

/// The typed context of one kind of message.
pub trait EmailContext: Serialize + Sized {
    const TEMPLATES: EmailTemplates;

    /// Values covering every branch of the three templates.
    fn samples() -> Vec<Self>;
}

impl Templates {
    /// Renders the three templates of `context`. The subject is one line:
    /// white space (line breaks included) collapses to single spaces, so a
    /// template cannot start a second header.
    pub fn render_email<T: EmailContext>(
        &self,
        context: &T,
    ) -> Result<EmailContent, TemplateError> {
        let render = |name| {
            self.env
                .get_template(name)
                .and_then(|t| t.render(context))
                .map_err(|e| self.error(&e))
        };
        let subject = render(T::TEMPLATES.subject)?;
        Ok(EmailContent {
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            text: render(T::TEMPLATES.text)?,
            html: render(T::TEMPLATES.html)?,
        })
    }

    pub(super) fn render_email_samples<T: EmailContext>(
        &self,
    ) -> Result<Vec<Rendered>, TemplateError> {
        let samples = T::samples();
        for sample in &samples {
            self.render_email(sample)?;
        }
        let templates = T::TEMPLATES;
        Ok([templates.subject, templates.text, templates.html]
            .into_iter()
            .map(|template| Rendered {
                template,
                samples: samples.len(),
            })
            .collect())
    }
}

/// `emails/verification.*`: the 6-digit code that proves an address.
#[derive(Debug, Clone, Serialize)]
pub struct VerificationEmailContext {
    pub code: String,
    /// The address being proven.
    pub email: String,
    /// The account's username, when the address is added to an existing
    /// account; `None` during registration.
    pub username: Option<String>,
    pub expires_in_minutes: i64,
}

impl EmailContext for VerificationEmailContext {
    const TEMPLATES: EmailTemplates = EmailTemplates {
        subject: "emails/verification.subject.txt",
        text: "emails/verification.txt",
        html: "emails/verification.html",
    };

    fn samples() -> Vec<Self> {
        let registering = Self {
            code: "012345".into(),
            email: "alice@example.com".into(),
            username: None,
            expires_in_minutes: 10,
        };
        let adding = Self {
            username: Some("alice".into()),
            ..registering.clone()
        };
        vec![registering, adding]
    }
}

/// `emails/recovery.*`: the link that lets a person set a new password.
#[derive(Debug, Clone, Serialize)]
pub struct RecoveryEmailContext {
    pub username: String,
    /// The account's Matrix ID.
    pub mxid: String,
    /// The recovery page, absolute (it opens from a mail reader).
    pub link: String,
    pub expires_in_minutes: i64,
}

impl EmailContext for RecoveryEmailContext {
    const TEMPLATES: EmailTemplates = EmailTemplates {
        subject: "emails/recovery.subject.txt",
        text: "emails/recovery.txt",
        html: "emails/recovery.html",
    };

    fn samples() -> Vec<Self> {
        vec![Self {
            username: "alice".into(),
            mxid: "@alice:example.com".into(),
            link:
                "https://auth.example.com/recover/progress/01J0000000000000000000000?ticket=sample"
                    .into(),
            expires_in_minutes: 10,
        }]
    }
}

/// `emails/new_email.*`: tells the account's other addresses that an
/// address was added, so a person whose account was taken over notices.
#[derive(Debug, Clone, Serialize)]
pub struct NewEmailContext {
    pub username: String,
    pub mxid: String,
    /// The address that was added.
    pub new_email: String,
    /// The account page, absolute.
    pub account_link: String,
}

impl EmailContext for NewEmailContext {
    const TEMPLATES: EmailTemplates = EmailTemplates {
        subject: "emails/new_email.subject.txt",
        text: "emails/new_email.txt",
        html: "emails/new_email.html",
    };

    fn samples() -> Vec<Self> {
        vec![Self {
            username: "alice".into(),
            mxid: "@alice:example.com".into(),
            new_email: "alice@work.example.org".into(),
            account_link: "https://auth.example.com/account/".into(),
        }]
    }
}
