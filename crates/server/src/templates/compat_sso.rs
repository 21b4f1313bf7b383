//! The context of `pages/compat_sso.html`: confirming a legacy SSO login.

use serde::Serialize;

use super::TemplateContext;

#[derive(Debug, Clone, Serialize)]
pub struct CompatSsoContext {
    /// Where the form posts.
    pub action: String,
    pub csrf: String,
    /// The host the login token will be sent to (the scheme for an app's
    /// custom URI scheme).
    pub host: String,
    /// The signed-in person's Matrix ID.
    pub mxid: String,
}

impl TemplateContext for CompatSsoContext {
    const TEMPLATE: &'static str = "pages/compat_sso.html";

    fn samples() -> Vec<Self> {
        vec![Self {
            action: "/complete-compat-sso/01J0000000000000000000000".into(),
            csrf: "sample-csrf-token".into(),
            host: "app.example.com".into(),
            mxid: "@alice:example.com".into(),
        }]
    }
}
