//! The contexts of the signed-in and signed-out pages:
//! `pages/account.html` and `pages/logged_out.html`.

use serde::Serialize;

use super::TemplateContext;

#[derive(Debug, Clone, Serialize)]
pub struct AccountContext {
    /// The signed-in person's Matrix ID.
    pub mxid: String,
    pub csrf: String,
    /// Where the sign-out form posts.
    pub logout_action: String,
}

impl TemplateContext for AccountContext {
    const TEMPLATE: &'static str = "pages/account.html";

    fn samples() -> Vec<Self> {
        vec![Self {
            mxid: "@alice:example.com".into(),
            csrf: "sample-csrf-token".into(),
            logout_action: "/logout".into(),
        }]
    }
}

/// The page after signing out shows only the site's name.
#[derive(Debug, Clone, Serialize)]
pub struct LoggedOutContext {}

impl TemplateContext for LoggedOutContext {
    const TEMPLATE: &'static str = "pages/logged_out.html";

    fn samples() -> Vec<Self> {
        vec![Self {}]
    }
}
