//! The contexts of the password recovery pages: asking by address
//! (`pages/recover.html`), "check your email" with a resend, and the page
//! of the mailed link that sets the new password.

use serde::Serialize;

use super::TemplateContext;

/// `/recover`.
#[derive(Debug, Clone, Serialize)]
pub struct RecoverContext {
    pub action: String,
    pub csrf: String,
    pub email: String,
    pub error: Option<String>,
    pub login_href: String,
}

impl TemplateContext for RecoverContext {
    const TEMPLATE: &'static str = "pages/recover.html";

    fn samples() -> Vec<Self> {
        let first = Self {
            action: "/recover".into(),
            csrf: "sample-csrf-token".into(),
            email: String::new(),
            error: None,
            login_href: "/login".into(),
        };
        let refused = Self {
            email: "alice@".into(),
            error: Some("This is not an email address.".into()),
            ..first.clone()
        };
        vec![first, refused]
    }
}

/// `/recover/progress/{id}`: the same words whether or not an account has
/// the address.
#[derive(Debug, Clone, Serialize)]
pub struct RecoverProgressContext {
    /// Where the resend button posts.
    pub action: String,
    pub csrf: String,
    pub email: String,
    pub error: Option<String>,
    pub notice: Option<String>,
    pub login_href: String,
}

impl TemplateContext for RecoverProgressContext {
    const TEMPLATE: &'static str = "pages/recover_progress.html";

    fn samples() -> Vec<Self> {
        let first = Self {
            action: "/recover/progress/01J0000000000000000000000".into(),
            csrf: "sample-csrf-token".into(),
            email: "alice@example.com".into(),
            error: None,
            notice: None,
            login_href: "/login".into(),
        };
        let resent = Self {
            notice: Some("We sent the link again.".into()),
            error: Some("Too many recovery emails were asked. Try again in 60 seconds.".into()),
            ..first.clone()
        };
        vec![first, resent]
    }
}

/// `/account/password/recovery?ticket=…`: the new password, or why the
/// link does not work.
#[derive(Debug, Clone, Serialize)]
pub struct RecoverPasswordContext {
    pub action: String,
    pub csrf: String,
    pub ticket: String,
    /// The account the link recovers; `None` when the link does not work.
    pub mxid: Option<String>,
    pub error: Option<String>,
    /// The password was set: the page says so and links to sign in.
    pub done: bool,
    pub recover_href: String,
    pub login_href: String,
}

impl TemplateContext for RecoverPasswordContext {
    const TEMPLATE: &'static str = "pages/recover_password.html";

    fn samples() -> Vec<Self> {
        let working = Self {
            action: "/account/password/recovery".into(),
            csrf: "sample-csrf-token".into(),
            ticket: "sampleticketsampleticketsampleti".into(),
            mxid: Some("@alice:example.com".into()),
            error: None,
            done: false,
            recover_href: "/recover".into(),
            login_href: "/login".into(),
        };
        let weak = Self {
            error: Some("This password is too easy to guess.".into()),
            ..working.clone()
        };
        let expired = Self {
            mxid: None,
            error: Some("This recovery link has expired. Ask for a new one.".into()),
            ..working.clone()
        };
        let done = Self {
            done: true,
            ..working.clone()
        };
        vec![working, weak, expired, done]
    }
}
