//! The context of `pages/form_post.html`: the authorization response sent
//! as an auto-submitted form (OAuth 2.0 Form Post Response Mode §2).

use serde::Serialize;

use super::TemplateContext;

#[derive(Debug, Clone, Serialize)]
pub struct FormPostContext {
    pub redirect_uri: String,
    /// Each response parameter, as (name, value).
    pub params: Vec<(String, String)>,
}

impl TemplateContext for FormPostContext {
    const TEMPLATE: &'static str = "pages/form_post.html";

    fn samples() -> Vec<Self> {
        vec![Self {
            redirect_uri: "https://app.example.com/callback".into(),
            params: vec![
                ("code".into(), "sample-code".into()),
                ("state".into(), "a\"b".into()),
            ],
        }]
    }
}
