//! Server-rendered pages and emails (minijinja): the environment, the typed
//! context of every template (one file per context, each with its samples;
//! the emails' in `emails.rs`, three templates each) and the check that
//! renders every template with every sample.
//!
//! The templates live in `templates/` at the top of the repository and are
//! compiled into the binary; a template is named by its path there
//! (`pages/login.html`). An operator's `templates.path` directory overrides
//! them by the same relative path; the CLI reads those files (only it reads
//! files) and hands their text over as [`TemplateOverride`]s. Undefined
//! variables are errors (`UndefinedBehavior::Strict`), so a template and its
//! context cannot drift apart unnoticed: the samples catch it in the tests,
//! in `mxauth templates check` and at start-up. HTML escaping is on for every
//! `.html` template.
//!
//! Every visible word goes through `_("English text")` (see
//! [`crate::i18n`]); the templates are rendered in the current language,
//! and the check renders every sample in every available language.

mod account;
mod account_security;
mod account_sessions;
mod admin;
mod admin_user;
mod compat_sso;
mod consent;
mod emails;
mod error;
mod form_post;
mod login;
mod recover;
mod register;
#[cfg(test)]
mod tests;
mod upstream;

use std::{collections::HashMap, sync::Arc};

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use thiserror::Error;

use crate::i18n::{self, Translations};

pub use self::{
    account::{
        AccountContext, AccountDeactivatedContext, AccountNav, AccountSection, EmailAddContext,
        EmailEntry, LoggedOutContext, ProfileError, ProfileNotice,
    },
    account_security::{
        CrossSigningContext, DeactivateConfirmation, DeactivateContext, DeactivateError,
        PasswordChangeContext, PasswordChangeError, PasswordPageMode,
    },
    account_sessions::{
        SessionContext, SessionKind, SessionSummary, SessionsContext, SessionsNotice,
    },
    admin::{
        AdminNav, AdminRegistrationTokenRow, AdminRegistrationTokensContext, AdminSection,
        AdminUserRow, AdminUserStatus, AdminUsersContext, RegistrationTokenError,
        RegistrationTokenState, RegistrationTokensNotice,
    },
    admin_user::{
        AdminLinkRow, AdminSessionRow, AdminTokenRow, AdminUserActions, AdminUserContext,
        AdminUserError, AdminUserNotice, AdminUserSummary, IssuedToken,
    },
    compat_sso::CompatSsoContext,
    consent::{ClientHomepage, ClientSummary, ConsentContext},
    emails::{
        EmailContext, EmailTemplates, NewEmailContext, RecoveryEmailContext,
        VerificationEmailContext,
    },
    error::ErrorContext,
    form_post::FormPostContext,
    login::{LoginContext, ProviderButton},
    recover::{RecoverContext, RecoverPasswordContext, RecoverProgressContext},
    register::{
        CaptchaWidget, RegisterContext, RegisterDisplayNameContext, RegisterPasswordContext,
        RegisterTokenContext, RegisterVerifyEmailContext,
    },
    upstream::{UpstreamLinkContext, UpstreamRegisterContext},
};

/// The typed context of one template.
pub trait TemplateContext: Serialize + Sized {
    /// The template this context renders: its path under `templates/`.
    const TEMPLATE: &'static str;

    /// Values covering every branch of the template, for the tests,
    /// `mxauth templates check` and the start-up check.
    fn samples() -> Vec<Self>;
}

/// Site-wide values every page may show, set once as globals of the
/// environment.
#[derive(Debug, Clone)]
pub struct Branding {
    /// `branding.service_name`, or the homeserver's name.
    pub service_name: String,
}

/// A template from the operator's `templates.path` directory.
#[derive(Debug, Clone)]
pub struct TemplateOverride {
    /// The path relative to `templates.path`, with `/` separators: the name
    /// of the embedded template it replaces (`pages/login.html`).
    pub name: String,
    pub source: String,
    /// Where it was read from, for error messages.
    pub origin: String,
}

/// A template that failed to compile or render, or an override that
/// replaces no template. The message names the file (the override's path
/// when it was overridden) and the line.
#[derive(Debug, Error)]
#[error("{location}: {message}")]
pub struct TemplateError {
    location: String,
    message: String,
}

/// Every template shipped with mxauth, by name. `pages/base.html` is the
/// layout the pages extend, `pages/account_layout.html` the one the
/// account pages extend and `pages/admin_layout.html` the admin console's;
/// they are rendered through them.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "pages/base.html",
        include_str!("../../../../templates/pages/base.html"),
    ),
    (
        "pages/login.html",
        include_str!("../../../../templates/pages/login.html"),
    ),
    (
        "pages/consent.html",
        include_str!("../../../../templates/pages/consent.html"),
    ),
    (
        "pages/error.html",
        include_str!("../../../../templates/pages/error.html"),
    ),
    (
        "pages/form_post.html",
        include_str!("../../../../templates/pages/form_post.html"),
    ),
    (
        "pages/logged_out.html",
        include_str!("../../../../templates/pages/logged_out.html"),
    ),
    (
        "pages/account.html",
        include_str!("../../../../templates/pages/account.html"),
    ),
    (
        "pages/account_layout.html",
        include_str!("../../../../templates/pages/account_layout.html"),
    ),
    (
        "pages/account_password.html",
        include_str!("../../../../templates/pages/account_password.html"),
    ),
    (
        "pages/account_sessions.html",
        include_str!("../../../../templates/pages/account_sessions.html"),
    ),
    (
        "pages/account_session.html",
        include_str!("../../../../templates/pages/account_session.html"),
    ),
    (
        "pages/account_deactivate.html",
        include_str!("../../../../templates/pages/account_deactivate.html"),
    ),
    (
        "pages/account_deactivated.html",
        include_str!("../../../../templates/pages/account_deactivated.html"),
    ),
    (
        "pages/account_cross_signing.html",
        include_str!("../../../../templates/pages/account_cross_signing.html"),
    ),
    (
        "pages/compat_sso.html",
        include_str!("../../../../templates/pages/compat_sso.html"),
    ),
    (
        "pages/account_email_add.html",
        include_str!("../../../../templates/pages/account_email_add.html"),
    ),
    (
        "pages/upstream_register.html",
        include_str!("../../../../templates/pages/upstream_register.html"),
    ),
    (
        "pages/upstream_link.html",
        include_str!("../../../../templates/pages/upstream_link.html"),
    ),
    (
        "pages/register.html",
        include_str!("../../../../templates/pages/register.html"),
    ),
    (
        "pages/register_password.html",
        include_str!("../../../../templates/pages/register_password.html"),
    ),
    (
        "pages/register_verify_email.html",
        include_str!("../../../../templates/pages/register_verify_email.html"),
    ),
    (
        "pages/register_token.html",
        include_str!("../../../../templates/pages/register_token.html"),
    ),
    (
        "pages/register_display_name.html",
        include_str!("../../../../templates/pages/register_display_name.html"),
    ),
    (
        "pages/recover.html",
        include_str!("../../../../templates/pages/recover.html"),
    ),
    (
        "pages/recover_progress.html",
        include_str!("../../../../templates/pages/recover_progress.html"),
    ),
    (
        "pages/recover_password.html",
        include_str!("../../../../templates/pages/recover_password.html"),
    ),
    (
        "pages/admin_layout.html",
        include_str!("../../../../templates/pages/admin_layout.html"),
    ),
    (
        "pages/admin_users.html",
        include_str!("../../../../templates/pages/admin_users.html"),
    ),
    (
        "pages/admin_user.html",
        include_str!("../../../../templates/pages/admin_user.html"),
    ),
    (
        "pages/admin_registration_tokens.html",
        include_str!("../../../../templates/pages/admin_registration_tokens.html"),
    ),
    (
        "emails/verification.subject.txt",
        include_str!("../../../../templates/emails/verification.subject.txt"),
    ),
    (
        "emails/verification.txt",
        include_str!("../../../../templates/emails/verification.txt"),
    ),
    (
        "emails/verification.html",
        include_str!("../../../../templates/emails/verification.html"),
    ),
    (
        "emails/recovery.subject.txt",
        include_str!("../../../../templates/emails/recovery.subject.txt"),
    ),
    (
        "emails/recovery.txt",
        include_str!("../../../../templates/emails/recovery.txt"),
    ),
    (
        "emails/recovery.html",
        include_str!("../../../../templates/emails/recovery.html"),
    ),
    (
        "emails/new_email.subject.txt",
        include_str!("../../../../templates/emails/new_email.subject.txt"),
    ),
    (
        "emails/new_email.txt",
        include_str!("../../../../templates/emails/new_email.txt"),
    ),
    (
        "emails/new_email.html",
        include_str!("../../../../templates/emails/new_email.html"),
    ),
];

/// Renders every sample of one context type: one template for a page,
/// three for an email.
type SampleRenderer = fn(&Templates) -> Result<Vec<Rendered>, TemplateError>;

/// One renderer per context type: what `check` renders.
const CONTEXTS: &[SampleRenderer] = &[
    Templates::render_samples::<LoginContext>,
    Templates::render_samples::<ConsentContext>,
    Templates::render_samples::<ErrorContext>,
    Templates::render_samples::<FormPostContext>,
    Templates::render_samples::<LoggedOutContext>,
    Templates::render_samples::<AccountContext>,
    Templates::render_samples::<PasswordChangeContext>,
    Templates::render_samples::<SessionsContext>,
    Templates::render_samples::<SessionContext>,
    Templates::render_samples::<DeactivateContext>,
    Templates::render_samples::<AccountDeactivatedContext>,
    Templates::render_samples::<CrossSigningContext>,
    Templates::render_samples::<CompatSsoContext>,
    Templates::render_samples::<EmailAddContext>,
    Templates::render_samples::<UpstreamRegisterContext>,
    Templates::render_samples::<UpstreamLinkContext>,
    Templates::render_samples::<RegisterContext>,
    Templates::render_samples::<RegisterPasswordContext>,
    Templates::render_samples::<RegisterVerifyEmailContext>,
    Templates::render_samples::<RegisterTokenContext>,
    Templates::render_samples::<RegisterDisplayNameContext>,
    Templates::render_samples::<RecoverContext>,
    Templates::render_samples::<RecoverProgressContext>,
    Templates::render_samples::<RecoverPasswordContext>,
    Templates::render_samples::<AdminUsersContext>,
    Templates::render_samples::<AdminUserContext>,
    Templates::render_samples::<AdminRegistrationTokensContext>,
    Templates::render_email_samples::<VerificationEmailContext>,
    Templates::render_email_samples::<RecoveryEmailContext>,
    Templates::render_email_samples::<NewEmailContext>,
];

/// A template rendered by [`Templates::check`], and with how many samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub template: &'static str,
    pub samples: usize,
}

#[derive(Debug, Clone)]
pub struct Templates {
    env: Environment<'static>,
    /// Overridden template name → the file it came from.
    origins: HashMap<String, String>,
    /// The languages the templates render in (the request's is chosen by
    /// `i18n::negotiate`).
    translations: Arc<Translations>,
}

impl Templates {
    /// Compiles the embedded templates, each replaced by its override when
    /// there is one. An override whose name is not an embedded template is
    /// refused: it would never be used (a typo, or MAS's own templates).
    pub fn new(
        branding: Branding,
        overrides: Vec<TemplateOverride>,
    ) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.add_global("service_name", branding.service_name);
        i18n::register(&mut env);
        let mut overrides: HashMap<String, TemplateOverride> =
            overrides.into_iter().map(|o| (o.name.clone(), o)).collect();
        let mut origins = HashMap::new();
        for (name, embedded) in EMBEDDED {
            match overrides.remove(*name) {
                Some(TemplateOverride { source, origin, .. }) => {
                    if let Err(e) = env.add_template_owned(*name, source.clone()) {
                        return Err(TemplateError::from_minijinja(&e, Some(&origin), &source));
                    }
                    origins.insert((*name).to_owned(), origin);
                }
                None => env
                    .add_template(name, embedded)
                    .map_err(|e| TemplateError::from_minijinja(&e, None, embedded))?,
            }
        }
        if let Some(unknown) = overrides.into_values().min_by(|a, b| a.name.cmp(&b.name)) {
            return Err(TemplateError::unknown_override(&unknown));
        }
        let translations = Translations::embedded().map_err(|e| TemplateError {
            location: "translations".into(),
            message: e.to_string(),
        })?;
        Ok(Self {
            env,
            origins,
            translations: Arc::new(translations),
        })
    }

    /// These templates in the languages of `translations` (the embedded
    /// ones with the operator's `templates.translations_path` files).
    pub fn with_translations(self, translations: Translations) -> Self {
        Self {
            translations: Arc::new(translations),
            ..self
        }
    }

    /// The languages these templates render in.
    pub fn translations(&self) -> &Arc<Translations> {
        &self.translations
    }

    /// The embedded templates for the site `example.com`, for tests.
    #[cfg(test)]
    pub(crate) fn sample() -> Self {
        let branding = Branding {
            service_name: "example.com".into(),
        };
        Self::new(branding, Vec::new()).unwrap()
    }

    /// Renders the template of `context`.
    pub fn render<T: TemplateContext>(&self, context: &T) -> Result<String, TemplateError> {
        self.env
            .get_template(T::TEMPLATE)
            .and_then(|t| t.render(context))
            .map_err(|e| self.error(&e))
    }

    /// Renders every template with every sample, in every language; the
    /// first failure is the error. Run at start-up and by `mxauth
    /// templates check`, so a broken override is found before a person
    /// meets it. The counts are per template, whatever the languages.
    pub fn check(&self) -> Result<Vec<Rendered>, TemplateError> {
        let mut rendered = Vec::new();
        for locale in self.translations.locales() {
            rendered = i18n::scope_sync(locale.clone(), || {
                CONTEXTS
                    .iter()
                    .map(|render| render(self))
                    .collect::<Result<Vec<Vec<Rendered>>, TemplateError>>()
            })
            .map_err(|mut e| {
                if locale.tag() != i18n::ENGLISH {
                    e.message.push_str(&format!(" (in {})", locale.tag()));
                }
                e
            })?;
        }
        Ok(rendered.into_iter().flatten().collect())
    }

    /// The files that replaced embedded templates.
    pub fn overridden(&self) -> impl Iterator<Item = &str> {
        self.origins.values().map(String::as_str)
    }

    /// The names of the embedded templates (the names an override may have).
    pub fn names() -> impl Iterator<Item = &'static str> {
        EMBEDDED.iter().map(|(name, _)| *name)
    }

    fn render_samples<T: TemplateContext>(&self) -> Result<Vec<Rendered>, TemplateError> {
        let samples = T::samples();
        for sample in &samples {
            self.render(sample)?;
        }
        Ok(vec![Rendered {
            template: T::TEMPLATE,
            samples: samples.len(),
        }])
    }

    /// A render error, located in the template it happened in (a page, or
    /// the layout it extends).
    pub(super) fn error(&self, e: &minijinja::Error) -> TemplateError {
        let name = e.name().unwrap_or_default();
        let source = self
            .env
            .get_template(name)
            .map(|t| t.source().to_owned())
            .unwrap_or_default();
        TemplateError::from_minijinja(e, self.origins.get(name).map(String::as_str), &source)
    }
}

impl TemplateError {
    /// `origin` is the override's path when the template was overridden;
    /// `source` is the template's text, to quote the failing line.
    fn from_minijinja(e: &minijinja::Error, origin: Option<&str>, source: &str) -> Self {
        let name = e.name().unwrap_or("a template");
        let mut location = match origin {
            Some(origin) => format!("{origin} (overriding {name})"),
            None => format!("template {name}"),
        };
        let mut message = match e.detail() {
            Some(detail) => format!("{}: {detail}", e.kind()),
            None => e.kind().to_string(),
        };
        if let Some(line) = e.line() {
            location.push_str(&format!(", line {line}"));
            let text = source
                .lines()
                .nth(line.saturating_sub(1))
                .unwrap_or_default();
            let text = text.trim();
            if !text.is_empty() {
                // One line of the template, enough to find the spot.
                let quoted: String = text.chars().take(120).collect();
                message.push_str(&format!(", in `{quoted}`"));
            }
        }
        Self { location, message }
    }

    fn unknown_override(unknown: &TemplateOverride) -> Self {
        let known: Vec<&str> = Templates::names().collect();
        Self {
            location: unknown.origin.clone(),
            message: format!(
                "`{}` overrides no template of mxauth (a template directory of MAS cannot be used as is); the templates are: {}",
                unknown.name,
                known.join(", ")
            ),
        }
    }
}
