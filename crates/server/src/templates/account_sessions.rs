//! The contexts of the sessions pages: the list (`pages/account_sessions.html`)
//! and one session (`pages/account_session.html`).

use serde::Serialize;

use super::{
    account::{AccountNav, AccountSection},
    TemplateContext,
};

/// Where a session comes from; the template names each kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// Signed in to these pages in a browser.
    Browser,
    /// An application signed in through OAuth 2.0 (Element X, …).
    Oauth2,
    /// An application signed in through the legacy Matrix login API (bots,
    /// older clients, sessions imported from Synapse).
    Compat,
}

/// One session as the pages show it. Times are already formatted; absent
/// facts are `None` and the template says "unknown".
#[derive(Debug, Clone, Serialize)]
pub struct SessionSummary {
    pub id: String,
    pub kind: SessionKind,
    /// The application's name (OAuth), or the name the device was given.
    pub name: Option<String>,
    pub device_id: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: String,
    pub last_active_at: Option<String>,
    pub last_active_ip: Option<String>,
    /// The browser showing the page.
    pub current: bool,
    /// The session's own page.
    pub href: String,
}

impl SessionSummary {
    fn samples() -> Vec<Self> {
        vec![
            Self {
                id: "01HZY3V1JQ4N8F1Y5T2C9X7W6B".into(),
                kind: SessionKind::Browser,
                name: None,
                device_id: None,
                user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".into()),
                created_at: "2025-05-01 09:30 UTC".into(),
                last_active_at: None,
                last_active_ip: None,
                current: true,
                href: "/account/sessions/01HZY3V1JQ4N8F1Y5T2C9X7W6B".into(),
            },
            Self {
                id: "01HZY3V1JQ4N8F1Y5T2C9X7W6C".into(),
                kind: SessionKind::Oauth2,
                name: Some("Element X".into()),
                device_id: Some("ABCDEFGHIJ".into()),
                user_agent: None,
                created_at: "2025-05-02 10:00 UTC".into(),
                last_active_at: Some("2025-05-03 11:00 UTC".into()),
                last_active_ip: Some("192.0.2.7".into()),
                current: false,
                href: "/account/sessions/01HZY3V1JQ4N8F1Y5T2C9X7W6C".into(),
            },
            Self {
                id: "01HZY3V1JQ4N8F1Y5T2C9X7W6D".into(),
                kind: SessionKind::Compat,
                name: None,
                device_id: None,
                user_agent: None,
                created_at: "2025-05-02 10:00 UTC".into(),
                last_active_at: None,
                last_active_ip: None,
                current: false,
                href: "/account/sessions/01HZY3V1JQ4N8F1Y5T2C9X7W6D".into(),
            },
        ]
    }
}

/// What just happened on the sessions list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionsNotice {
    SessionEnded,
    OthersEnded,
}

/// `pages/account_sessions.html`: every session of the person, each with a
/// link to its page, and "sign out everywhere else".
#[derive(Debug, Clone, Serialize)]
pub struct SessionsContext {
    pub nav: AccountNav,
    pub csrf: String,
    pub sessions: Vec<SessionSummary>,
    /// Where "Sign out of all other sessions" posts.
    pub end_others_action: String,
    /// How many other sessions there are.
    pub others: usize,
    pub notice: Option<SessionsNotice>,
}

impl TemplateContext for SessionsContext {
    const TEMPLATE: &'static str = "pages/account_sessions.html";

    fn samples() -> Vec<Self> {
        let sessions = SessionSummary::samples();
        let full = Self {
            nav: AccountNav::sample(AccountSection::Sessions),
            csrf: "sample-csrf-token".into(),
            others: sessions.len() - 1,
            sessions,
            end_others_action: "/account/sessions".into(),
            notice: Some(SessionsNotice::SessionEnded),
        };
        let alone = Self {
            sessions: full.sessions[..1].to_vec(),
            others: 0,
            notice: Some(SessionsNotice::OthersEnded),
            ..full.clone()
        };
        let quiet = Self {
            notice: None,
            ..full.clone()
        };
        vec![full, alone, quiet]
    }
}

/// `pages/account_session.html`: one session and the button that ends it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionContext {
    pub nav: AccountNav,
    pub csrf: String,
    pub session: SessionSummary,
    /// Where "Sign out this session" posts.
    pub end_action: String,
    /// The page was opened to end the session (`org.matrix.session_end`):
    /// the template asks to confirm.
    pub confirm_end: bool,
}

impl TemplateContext for SessionContext {
    const TEMPLATE: &'static str = "pages/account_session.html";

    fn samples() -> Vec<Self> {
        SessionSummary::samples()
            .into_iter()
            .enumerate()
            .map(|(i, session)| Self {
                nav: AccountNav::sample(AccountSection::Sessions),
                csrf: "sample-csrf-token".into(),
                end_action: session.href.clone(),
                session,
                confirm_end: i == 1,
            })
            .collect()
    }
}
