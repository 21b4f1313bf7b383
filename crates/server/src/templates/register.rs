//! The contexts of the registration pages: the choice of method
//! (`pages/register.html`), the password form, and its steps (email code,
//! registration token, display name).

use serde::Serialize;

use super::{ProviderButton, TemplateContext};

/// `/register`: a username and password, or an upstream provider.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterContext {
    /// The password form, when password registration is on.
    pub password_href: Option<String>,
    pub providers: Vec<ProviderButton>,
    pub login_href: String,
}

impl TemplateContext for RegisterContext {
    const TEMPLATE: &'static str = "pages/register.html";

    fn samples() -> Vec<Self> {
        let both = Self {
            password_href: Some("/register/password?next=%2Faccount%2F".into()),
            providers: vec![ProviderButton {
                id: "01H8PKNWKKRPCBW4YGH1RWV279".into(),
                name: "Keycloak".into(),
                brand: None,
                href: "/upstream/authorize/01H8PKNWKKRPCBW4YGH1RWV279".into(),
            }],
            login_href: "/login".into(),
        };
        let upstream_only = Self {
            password_href: None,
            ..both.clone()
        };
        vec![both, upstream_only]
    }
}

/// The CAPTCHA widget of the form.
#[derive(Debug, Clone, Serialize)]
pub struct CaptchaWidget {
    pub script_url: String,
    pub widget_class: String,
    pub site_key: String,
}

/// `/register/password`: MAS's field names.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterPasswordContext {
    pub action: String,
    pub csrf: String,
    pub next: String,
    pub server_name: String,
    /// What was typed before an error (never the password).
    pub username: String,
    pub email: String,
    /// `account.password_registration_email_required`.
    pub email_required: bool,
    /// `branding.tos_uri`: a checkbox to accept them.
    pub tos_uri: Option<String>,
    pub captcha: Option<CaptchaWidget>,
    pub error: Option<String>,
    pub login_href: String,
}

impl TemplateContext for RegisterPasswordContext {
    const TEMPLATE: &'static str = "pages/register_password.html";

    fn samples() -> Vec<Self> {
        let plain = Self {
            action: "/register/password".into(),
            csrf: "sample-csrf-token".into(),
            next: "/account/".into(),
            server_name: "example.com".into(),
            username: String::new(),
            email: String::new(),
            email_required: true,
            tos_uri: None,
            captcha: None,
            error: None,
            login_href: "/login".into(),
        };
        let everything = Self {
            username: "alice".into(),
            email: "alice@example.com".into(),
            email_required: false,
            tos_uri: Some("https://example.com/terms".into()),
            captcha: Some(CaptchaWidget {
                script_url: "https://js.hcaptcha.com/1/api.js".into(),
                widget_class: "h-captcha".into(),
                site_key: "10000000-ffff-ffff-ffff-000000000001".into(),
            }),
            error: Some("This username is taken.".into()),
            ..plain.clone()
        };
        vec![plain, everything]
    }
}

/// `/register/steps/{id}/verify-email`.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterVerifyEmailContext {
    pub action: String,
    pub csrf: String,
    pub email: String,
    pub error: Option<String>,
    /// "We sent another code".
    pub notice: Option<String>,
}

impl TemplateContext for RegisterVerifyEmailContext {
    const TEMPLATE: &'static str = "pages/register_verify_email.html";

    fn samples() -> Vec<Self> {
        let first = Self {
            action: "/register/steps/01J0000000000000000000000/verify-email".into(),
            csrf: "sample-csrf-token".into(),
            email: "alice@example.com".into(),
            error: None,
            notice: None,
        };
        let wrong = Self {
            error: Some("Wrong code: check the email and type it again.".into()),
            notice: Some("We sent another code.".into()),
            ..first.clone()
        };
        vec![first, wrong]
    }
}

/// `/register/steps/{id}/token`.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterTokenContext {
    pub action: String,
    pub csrf: String,
    pub error: Option<String>,
}

impl TemplateContext for RegisterTokenContext {
    const TEMPLATE: &'static str = "pages/register_token.html";

    fn samples() -> Vec<Self> {
        let first = Self {
            action: "/register/steps/01J0000000000000000000000/token".into(),
            csrf: "sample-csrf-token".into(),
            error: None,
        };
        let refused = Self {
            error: Some("This registration token is not valid.".into()),
            ..first.clone()
        };
        vec![first, refused]
    }
}

/// `/register/steps/{id}/display-name`.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterDisplayNameContext {
    pub action: String,
    pub csrf: String,
    /// Prefilled: what was typed, else the username.
    pub display_name: String,
    pub max_length: usize,
    pub error: Option<String>,
}

impl TemplateContext for RegisterDisplayNameContext {
    const TEMPLATE: &'static str = "pages/register_display_name.html";

    fn samples() -> Vec<Self> {
        let first = Self {
            action: "/register/steps/01J0000000000000000000000/display-name".into(),
            csrf: "sample-csrf-token".into(),
            display_name: "alice".into(),
            max_length: 256,
            error: None,
        };
        let refused = Self {
            error: Some("The display name is longer than 256 characters.".into()),
            ..first.clone()
        };
        vec![first, refused]
    }
}
