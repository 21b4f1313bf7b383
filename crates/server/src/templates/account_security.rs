//! The contexts of the account pages that guard the account itself:
//! changing the password (`pages/account_password.html`), deactivating
//! (`pages/account_deactivate.html`) and approving a cross-signing reset
//! (`pages/account_cross_signing.html`).

use serde::Serialize;

use super::{
    account::{AccountNav, AccountSection},
    TemplateContext,
};

/// Why a password change was refused; the template says it in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordChangeError {
    /// A field was left empty.
    Missing,
    /// The current password is wrong.
    WrongCurrent,
    /// The two new passwords differ.
    Mismatch,
    /// Below `passwords.minimum_complexity`.
    TooWeak,
}

/// What the password page can offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordPageMode {
    /// The form: current password, new password twice.
    Form,
    /// The account has no password (it signs in through a provider).
    NoPassword,
}

/// `pages/account_password.html`.
#[derive(Debug, Clone, Serialize)]
pub struct PasswordChangeContext {
    pub nav: AccountNav,
    pub csrf: String,
    pub action: String,
    pub mode: PasswordPageMode,
    pub error: Option<PasswordChangeError>,
    /// `passwords.minimum_complexity`, the zxcvbn score (0 to 4) a new
    /// password needs.
    pub minimum_complexity: u8,
}

impl TemplateContext for PasswordChangeContext {
    const TEMPLATE: &'static str = "pages/account_password.html";

    fn samples() -> Vec<Self> {
        let form = Self {
            nav: AccountNav::sample(AccountSection::Password),
            csrf: "sample-csrf-token".into(),
            action: "/account/password/change".into(),
            mode: PasswordPageMode::Form,
            error: None,
            minimum_complexity: 3,
        };
        let errors = [
            PasswordChangeError::Missing,
            PasswordChangeError::WrongCurrent,
            PasswordChangeError::Mismatch,
            PasswordChangeError::TooWeak,
        ]
        .map(|error| Self {
            error: Some(error),
            ..form.clone()
        });
        let none = Self {
            mode: PasswordPageMode::NoPassword,
            ..form.clone()
        };
        [form, none].into_iter().chain(errors).collect()
    }
}

/// How the person confirms deactivation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeactivateConfirmation {
    /// By entering their password.
    Password,
    /// By typing their username (accounts without a password).
    Username,
}

/// Why deactivation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeactivateError {
    WrongPassword,
    WrongUsername,
}

/// `pages/account_deactivate.html`.
#[derive(Debug, Clone, Serialize)]
pub struct DeactivateContext {
    pub nav: AccountNav,
    pub csrf: String,
    pub action: String,
    pub confirm_with: DeactivateConfirmation,
    /// The username to type, for [`DeactivateConfirmation::Username`].
    pub username: String,
    pub error: Option<DeactivateError>,
}

impl TemplateContext for DeactivateContext {
    const TEMPLATE: &'static str = "pages/account_deactivate.html";

    fn samples() -> Vec<Self> {
        let password = Self {
            nav: AccountNav::sample(AccountSection::Deactivate),
            csrf: "sample-csrf-token".into(),
            action: "/account/deactivate".into(),
            confirm_with: DeactivateConfirmation::Password,
            username: "alice".into(),
            error: Some(DeactivateError::WrongPassword),
        };
        let username = Self {
            confirm_with: DeactivateConfirmation::Username,
            error: Some(DeactivateError::WrongUsername),
            ..password.clone()
        };
        let plain = Self {
            error: None,
            ..password.clone()
        };
        vec![password, username, plain]
    }
}

/// `pages/account_cross_signing.html`: the approval button, then the
/// confirmation that the client may now reset.
#[derive(Debug, Clone, Serialize)]
pub struct CrossSigningContext {
    pub nav: AccountNav,
    pub csrf: String,
    pub action: String,
    /// The homeserver allowed the reset.
    pub approved: bool,
    /// How long the client has to replace its keys, in minutes (Synapse
    /// allows 10).
    pub minutes: u32,
}

impl TemplateContext for CrossSigningContext {
    const TEMPLATE: &'static str = "pages/account_cross_signing.html";

    fn samples() -> Vec<Self> {
        let ask = Self {
            nav: AccountNav::sample(AccountSection::CrossSigning),
            csrf: "sample-csrf-token".into(),
            action: "/account/reset-cross-signing".into(),
            approved: false,
            minutes: 10,
        };
        let done = Self {
            approved: true,
            ..ask.clone()
        };
        vec![ask, done]
    }
}
