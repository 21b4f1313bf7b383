//! The contexts of the pages after an upstream provider signed someone in:
//! `pages/upstream_register.html` (create an account with the imported
//! attributes) and `pages/upstream_link.html` (link the upstream account to
//! an existing one).

use serde::Serialize;

use super::TemplateContext;

#[derive(Debug, Clone, Serialize)]
pub struct UpstreamRegisterContext {
    pub action: String,
    pub csrf: String,
    pub provider_name: String,
    /// How the provider names the account (`claims_imports.account_name`).
    pub account_name: Option<String>,
    pub server_name: String,
    pub username: String,
    /// Forced or required by `claims_imports.localpart`: read-only.
    pub username_fixed: bool,
    pub display_name: Option<String>,
    pub display_name_fixed: bool,
    pub email: Option<String>,
    pub email_fixed: bool,
    pub error: Option<String>,
}

impl TemplateContext for UpstreamRegisterContext {
    const TEMPLATE: &'static str = "pages/upstream_register.html";

    fn samples() -> Vec<Self> {
        let suggested = Self {
            action: "/upstream/link/01J0000000000000000000000".into(),
            csrf: "sample-csrf-token".into(),
            provider_name: "Keycloak".into(),
            account_name: Some("alice@example.com".into()),
            server_name: "example.com".into(),
            username: "alice".into(),
            username_fixed: false,
            display_name: Some("Alice".into()),
            display_name_fixed: false,
            email: Some("alice@example.com".into()),
            email_fixed: false,
            error: None,
        };
        let forced = Self {
            account_name: None,
            username_fixed: true,
            display_name_fixed: true,
            email: None,
            error: Some("This username is taken.".into()),
            ..suggested.clone()
        };
        vec![suggested, forced]
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct UpstreamLinkContext {
    pub action: String,
    pub csrf: String,
    pub provider_name: String,
    pub account_name: Option<String>,
    /// The local account the upstream one would sign in to.
    pub mxid: String,
    /// Whether that account is the one signed in here (else it is the one
    /// whose name the provider's claims import).
    pub signed_in: bool,
}

impl TemplateContext for UpstreamLinkContext {
    const TEMPLATE: &'static str = "pages/upstream_link.html";

    fn samples() -> Vec<Self> {
        let signed_in = Self {
            action: "/upstream/link/01J0000000000000000000000".into(),
            csrf: "sample-csrf-token".into(),
            provider_name: "Keycloak".into(),
            account_name: Some("alice@example.com".into()),
            mxid: "@alice:example.com".into(),
            signed_in: true,
        };
        let matching = Self {
            account_name: None,
            signed_in: false,
            ..signed_in.clone()
        };
        vec![signed_in, matching]
    }
}
