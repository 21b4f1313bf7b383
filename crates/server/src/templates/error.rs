//! The context of `pages/error.html`: a title and what went wrong.

use serde::Serialize;

use super::TemplateContext;

#[derive(Debug, Clone, Serialize)]
pub struct ErrorContext {
    pub title: String,
    pub message: String,
}

impl ErrorContext {
    pub fn new(title: &str, message: &str) -> Self {
        Self {
            title: title.to_owned(),
            message: message.to_owned(),
        }
    }
}

impl TemplateContext for ErrorContext {
    const TEMPLATE: &'static str = "pages/error.html";

    fn samples() -> Vec<Self> {
        vec![Self::new(
            "Request not found",
            "This sign-in request does not exist. Start again from the application.",
        )]
    }
}
