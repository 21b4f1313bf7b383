//! The context of `pages/login.html`: the username and password form.

use serde::Serialize;

use super::TemplateContext;

#[derive(Debug, Clone, Serialize)]
pub struct LoginContext {
    /// Where the form posts.
    pub action: String,
    pub csrf: String,
    /// Where to go after signing in (a local path), carried by the form.
    pub next: String,
    /// Prefilled: from a login hint, or what was typed before an error.
    pub username: String,
    pub error: Option<String>,
    /// The application the person signs in for, when the login is a step
    /// of its request ("to continue to Element").
    pub client_name: Option<String>,
    /// Whether the password form is shown (`passwords.enabled`).
    pub password_login: bool,
    /// A button per enabled upstream provider, in the configuration's order.
    pub providers: Vec<ProviderButton>,
    /// "Create an account", when registration is on.
    pub register_href: Option<String>,
    /// "Forgot your password?", when recovery is on.
    pub recover_href: Option<String>,
}

/// "Continue with Keycloak".
#[derive(Debug, Clone, Serialize)]
pub struct ProviderButton {
    pub id: String,
    pub name: String,
    /// `brand_name` (google, github, apple…), for styling.
    pub brand: Option<String>,
    /// `/upstream/authorize/{id}?next=…`.
    pub href: String,
}

impl TemplateContext for LoginContext {
    const TEMPLATE: &'static str = "pages/login.html";

    fn samples() -> Vec<Self> {
        let first = Self {
            action: "/login".into(),
            csrf: "sample-csrf-token".into(),
            next: "/account/".into(),
            username: String::new(),
            error: None,
            client_name: None,
            password_login: true,
            providers: Vec::new(),
            register_href: None,
            recover_href: None,
        };
        let retry = Self {
            next: "/consent/01J0000000000000000000000".into(),
            username: "alice".into(),
            error: Some("Invalid username or password.".into()),
            client_name: Some("Element".into()),
            register_href: Some("/register?next=%2Fconsent%2F01J0000000000000000000000".into()),
            recover_href: Some("/recover".into()),
            ..first.clone()
        };
        let providers = vec![ProviderButton {
            id: "01H8PKNWKKRPCBW4YGH1RWV279".into(),
            name: "Keycloak".into(),
            brand: Some("keycloak".into()),
            href: "/upstream/authorize/01H8PKNWKKRPCBW4YGH1RWV279?next=%2Faccount%2F".into(),
        }];
        let with_providers = Self {
            providers: providers.clone(),
            ..first.clone()
        };
        let upstream_only = Self {
            password_login: false,
            providers,
            ..first.clone()
        };
        vec![first, retry, with_providers, upstream_only]
    }
}
