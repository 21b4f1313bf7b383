//! The context of `pages/consent.html`: which application asks for what.

use serde::Serialize;

use super::TemplateContext;

#[derive(Debug, Clone, Serialize)]
pub struct ConsentContext {
    /// Where the allow/cancel form posts.
    pub action: String,
    /// Where the sign-out form posts.
    pub logout_action: String,
    pub csrf: String,
    pub client: ClientSummary,
    /// What each requested scope lets the application do, in plain words.
    pub scopes: Vec<String>,
    /// The signed-in person's Matrix ID and username.
    pub mxid: String,
    pub username: String,
    /// The host the browser is sent back to (the scheme for an app's custom
    /// URI scheme).
    pub redirect_host: String,
}

/// What the consent page shows of an OAuth client (its registration
/// metadata, RFC 7591 §2).
#[derive(Debug, Clone, Serialize)]
pub struct ClientSummary {
    /// `client_name`, or the client id when it has none.
    pub name: String,
    pub homepage: Option<ClientHomepage>,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
}

/// The client's `client_uri`, and what the link shows of it.
#[derive(Debug, Clone, Serialize)]
pub struct ClientHomepage {
    pub url: String,
    /// The host of `url`, or `url` itself when it has none.
    pub host: String,
}

impl TemplateContext for ConsentContext {
    const TEMPLATE: &'static str = "pages/consent.html";

    fn samples() -> Vec<Self> {
        let full = Self {
            action: "/consent/01J0000000000000000000000".into(),
            logout_action: "/logout".into(),
            csrf: "sample-csrf-token".into(),
            client: ClientSummary {
                name: "Element".into(),
                homepage: Some(ClientHomepage {
                    url: "https://element.io/".into(),
                    host: "element.io".into(),
                }),
                logo_uri: Some("https://element.io/logo.png".into()),
                policy_uri: Some("https://element.io/privacy".into()),
                tos_uri: Some("https://element.io/terms".into()),
            },
            scopes: vec![
                "Know who you are (your Matrix ID)".into(),
                "Read and send messages, join rooms and act for you in Matrix".into(),
            ],
            mxid: "@alice:example.com".into(),
            username: "alice".into(),
            redirect_host: "app.element.io".into(),
        };
        let bare = Self {
            client: ClientSummary {
                name: "01J0000000000000000000000".into(),
                homepage: None,
                logo_uri: None,
                policy_uri: None,
                tos_uri: None,
            },
            scopes: Vec::new(),
            redirect_host: "io.element.app".into(),
            ..full.clone()
        };
        vec![full, bare]
    }
}
