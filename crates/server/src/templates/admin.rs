//! The contexts of the admin console: the navigation its pages share
//! (`pages/admin_layout.html`), the users (`pages/admin_users.html`) and
//! the registration tokens (`pages/admin_registration_tokens.html`). One
//! user's page is in `admin_user.rs`.
//!
//! As on the account pages, what succeeded or went wrong travels as a code
//! and the template holds the words; the one exception is a refused
//! username, whose sentence comes already translated from
//! `ops::username` (it may quote the homeserver).

use serde::{Deserialize, Serialize};

use super::TemplateContext;

/// Which console page is shown, for the navigation's highlight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminSection {
    Users,
    RegistrationTokens,
}

/// The navigation of every console page, and the sign-out form.
#[derive(Debug, Clone, Serialize)]
pub struct AdminNav {
    /// The signed-in admin's Matrix ID.
    pub mxid: String,
    pub current: AdminSection,
    pub users: String,
    pub registration_tokens: String,
    /// The admin's own account pages.
    pub account: String,
    pub logout_action: String,
    pub csrf: String,
}

impl AdminNav {
    pub fn sample(current: AdminSection) -> Self {
        Self {
            mxid: "@root:example.com".into(),
            current,
            users: "/admin".into(),
            registration_tokens: "/admin/registration-tokens".into(),
            account: "/account/".into(),
            logout_action: "/logout".into(),
            csrf: "sample-csrf-token".into(),
        }
    }
}

/// A user's state, as the console names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminUserStatus {
    Active,
    /// No new logins; their tokens stop working.
    Locked,
    Deactivated,
}

/// One user in the list.
#[derive(Debug, Clone, Serialize)]
pub struct AdminUserRow {
    pub username: String,
    pub mxid: String,
    /// The user's page.
    pub href: String,
    pub status: AdminUserStatus,
    /// May request admin rights.
    pub admin: bool,
    pub created_at: String,
}

/// `pages/admin_users.html`: search by part of the username, a page of
/// users, and the form that creates one.
#[derive(Debug, Clone, Serialize)]
pub struct AdminUsersContext {
    pub nav: AdminNav,
    pub csrf: String,
    /// Where the search form (GET) and the create form (POST) go.
    pub action: String,
    /// The text searched for (empty: every user).
    pub search: String,
    pub users: Vec<AdminUserRow>,
    /// The next page of the same search, when there are more users.
    pub next_page: Option<String>,
    /// The first page, when this is a later one.
    pub first_page: Option<String>,
    /// What was typed in the create form before it was refused.
    pub username: String,
    pub skip_homeserver_check: bool,
    /// Why the username was refused, in the page's language.
    pub create_error: Option<String>,
}

impl TemplateContext for AdminUsersContext {
    const TEMPLATE: &'static str = "pages/admin_users.html";

    fn samples() -> Vec<Self> {
        let row = |username: &str, status, admin| AdminUserRow {
            username: username.into(),
            mxid: format!("@{username}:example.com"),
            href: format!("/admin/users/01HZY3V1JQ4N8F1Y5T2C9X7W6{}", username.len()),
            status,
            admin,
            created_at: "2025-05-01 09:30 UTC".into(),
        };
        let full = Self {
            nav: AdminNav::sample(AdminSection::Users),
            csrf: "sample-csrf-token".into(),
            action: "/admin".into(),
            search: String::new(),
            users: vec![
                row("root", AdminUserStatus::Active, true),
                row("bob", AdminUserStatus::Locked, false),
                row("carol", AdminUserStatus::Deactivated, false),
            ],
            next_page: Some("/admin?after=01HZY3V1JQ4N8F1Y5T2C9X7W6D".into()),
            first_page: None,
            username: String::new(),
            skip_homeserver_check: false,
            create_error: None,
        };
        let searched_nothing = Self {
            search: "zed".into(),
            users: Vec::new(),
            next_page: None,
            first_page: Some("/admin?search=zed".into()),
            ..full.clone()
        };
        let refused = Self {
            username: "Bad Name".into(),
            skip_homeserver_check: true,
            create_error: Some("This username cannot be used: it has upper-case letters.".into()),
            ..full.clone()
        };
        vec![full, searched_nothing, refused]
    }
}

/// Why a registration token is not usable, or that it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationTokenState {
    Valid,
    Revoked,
    Expired,
    UsedUp,
}

/// One registration token in the list.
#[derive(Debug, Clone, Serialize)]
pub struct AdminRegistrationTokenRow {
    pub id: String,
    /// The text people type.
    pub token: String,
    pub state: RegistrationTokenState,
    pub times_used: u64,
    pub usage_limit: Option<u64>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    /// Where "Revoke" posts (not revoked yet) or "Allow again" (revoked).
    pub revoke_action: Option<String>,
    pub unrevoke_action: Option<String>,
}

/// What just succeeded on the tokens page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationTokensNotice {
    Issued,
    Revoked,
    Unrevoked,
}

/// Why the form that issues a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationTokenError {
    /// Not 1 to 64 letters, digits, `-`, `_` or `.`.
    InvalidText,
    Exists,
    /// Not a whole number of at least 1.
    BadLimit,
    BadExpiry,
}

/// `pages/admin_registration_tokens.html`: the tokens, newest first, and
/// the form that issues one.
#[derive(Debug, Clone, Serialize)]
pub struct AdminRegistrationTokensContext {
    pub nav: AdminNav,
    pub csrf: String,
    pub tokens: Vec<AdminRegistrationTokenRow>,
    /// Older tokens, when this page does not reach the oldest.
    pub older_page: Option<String>,
    /// The newest tokens, when this is an older page.
    pub first_page: Option<String>,
    pub issue_action: String,
    /// What was typed before a refusal.
    pub token_text: String,
    pub usage_limit: String,
    pub expires_in_days: String,
    pub notice: Option<RegistrationTokensNotice>,
    pub error: Option<RegistrationTokenError>,
}

impl TemplateContext for AdminRegistrationTokensContext {
    const TEMPLATE: &'static str = "pages/admin_registration_tokens.html";

    fn samples() -> Vec<Self> {
        let id = "01HZY3V1JQ4N8F1Y5T2C9X7W6B";
        let valid = AdminRegistrationTokenRow {
            id: id.into(),
            token: "Xf3kq9LmT2wZ8aPb1RcV".into(),
            state: RegistrationTokenState::Valid,
            times_used: 1,
            usage_limit: Some(5),
            created_at: "2025-05-01 09:30 UTC".into(),
            expires_at: Some("2025-06-01 09:30 UTC".into()),
            last_used_at: Some("2025-05-02 10:00 UTC".into()),
            revoke_action: Some(format!("/admin/registration-tokens/{id}/revoke")),
            unrevoke_action: None,
        };
        let revoked = AdminRegistrationTokenRow {
            token: "spring-meetup".into(),
            state: RegistrationTokenState::Revoked,
            times_used: 0,
            usage_limit: None,
            expires_at: None,
            last_used_at: None,
            revoke_action: None,
            unrevoke_action: Some(format!("/admin/registration-tokens/{id}/unrevoke")),
            ..valid.clone()
        };
        let expired = AdminRegistrationTokenRow {
            state: RegistrationTokenState::Expired,
            ..valid.clone()
        };
        let used_up = AdminRegistrationTokenRow {
            state: RegistrationTokenState::UsedUp,
            times_used: 5,
            ..valid.clone()
        };
        let full = Self {
            nav: AdminNav::sample(AdminSection::RegistrationTokens),
            csrf: "sample-csrf-token".into(),
            tokens: vec![valid, revoked, expired, used_up],
            older_page: Some(format!("/admin/registration-tokens?before={id}")),
            first_page: None,
            issue_action: "/admin/registration-tokens".into(),
            token_text: String::new(),
            usage_limit: String::new(),
            expires_in_days: String::new(),
            notice: Some(RegistrationTokensNotice::Issued),
            error: None,
        };
        let mut out = vec![full.clone()];
        for notice in [
            RegistrationTokensNotice::Revoked,
            RegistrationTokensNotice::Unrevoked,
        ] {
            out.push(Self {
                notice: Some(notice),
                ..full.clone()
            });
        }
        for error in [
            RegistrationTokenError::InvalidText,
            RegistrationTokenError::Exists,
            RegistrationTokenError::BadLimit,
            RegistrationTokenError::BadExpiry,
        ] {
            out.push(Self {
                tokens: Vec::new(),
                older_page: None,
                first_page: Some("/admin/registration-tokens".into()),
                token_text: "a b".into(),
                usage_limit: "0".into(),
                expires_in_days: "x".into(),
                notice: None,
                error: Some(error),
                ..full.clone()
            });
        }
        out
    }
}
