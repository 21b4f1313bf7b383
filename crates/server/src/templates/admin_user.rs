//! The context of one user's page in the admin console
//! (`pages/admin_user.html`): who they are, their email addresses,
//! sessions, upstream links and personal access tokens, and the forms that
//! change them.

use serde::{Deserialize, Serialize};

use super::{
    admin::{AdminNav, AdminSection, AdminUserStatus},
    EmailEntry, SessionKind, TemplateContext,
};

/// The user the page is about.
#[derive(Debug, Clone, Serialize)]
pub struct AdminUserSummary {
    pub id: String,
    pub username: String,
    pub mxid: String,
    pub status: AdminUserStatus,
    /// May request admin rights.
    pub admin: bool,
    pub created_at: String,
    pub locked_at: Option<String>,
    pub deactivated_at: Option<String>,
    /// The signed-in admin themself: the page offers nothing that would
    /// lock them out (lock, deactivate, forbid admin rights).
    pub is_self: bool,
}

/// Where each form of the page posts.
#[derive(Debug, Clone, Serialize)]
pub struct AdminUserActions {
    pub lock: String,
    pub unlock: String,
    pub deactivate: String,
    pub reactivate: String,
    pub password: String,
    pub admin_rights: String,
    pub email_add: String,
    pub email_remove: String,
    pub session_end: String,
    pub sessions_end_all: String,
    pub token_issue: String,
    pub token_revoke: String,
}

impl AdminUserActions {
    fn sample() -> Self {
        let base = "/admin/users/01HZY3V1JQ4N8F1Y5T2C9X7W6B";
        Self {
            lock: format!("{base}/lock"),
            unlock: format!("{base}/unlock"),
            deactivate: format!("{base}/deactivate"),
            reactivate: format!("{base}/reactivate"),
            password: format!("{base}/password"),
            admin_rights: format!("{base}/admin-rights"),
            email_add: format!("{base}/emails"),
            email_remove: format!("{base}/emails/remove"),
            session_end: format!("{base}/sessions/end"),
            sessions_end_all: format!("{base}/sessions/end-all"),
            token_issue: format!("{base}/personal-tokens"),
            token_revoke: format!("{base}/personal-tokens/revoke"),
        }
    }
}

/// One active session of the user.
#[derive(Debug, Clone, Serialize)]
pub struct AdminSessionRow {
    pub id: String,
    pub kind: SessionKind,
    /// The application's name (OAuth), or the device's.
    pub name: Option<String>,
    pub device_id: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: String,
    pub last_active_at: Option<String>,
    pub last_active_ip: Option<String>,
}

/// One account of the user at an upstream provider.
#[derive(Debug, Clone, Serialize)]
pub struct AdminLinkRow {
    pub provider: String,
    pub subject: String,
    pub account_name: Option<String>,
    pub created_at: String,
}

/// One personal access token (its session) acting as the user.
#[derive(Debug, Clone, Serialize)]
pub struct AdminTokenRow {
    pub id: String,
    pub name: String,
    pub scope: String,
    pub created_at: String,
    /// When its current token expires.
    pub expires_at: Option<String>,
    pub last_active_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A token just issued: its text is shown this once.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedToken {
    pub name: String,
    pub token: String,
}

/// What just succeeded on the user's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminUserNotice {
    Created,
    Locked,
    Unlocked,
    Deactivated,
    Reactivated,
    PasswordSet,
    AdminAllowed,
    AdminForbidden,
    EmailAdded,
    EmailRemoved,
    SessionEnded,
    SessionsEnded,
    TokenRevoked,
}

/// Why a form of the user's page was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminUserError {
    EmailInvalid,
    EmailExists,
    PasswordEmpty,
    PasswordTooWeak,
    TokenName,
    TokenScope,
    TokenDeviceScope,
    TokenAdminScope,
    TokenInactiveUser,
    TokenExpiry,
}

/// `pages/admin_user.html`.
#[derive(Debug, Clone, Serialize)]
pub struct AdminUserContext {
    pub nav: AdminNav,
    pub csrf: String,
    pub user: AdminUserSummary,
    pub actions: AdminUserActions,
    pub emails: Vec<EmailEntry>,
    pub sessions: Vec<AdminSessionRow>,
    pub links: Vec<AdminLinkRow>,
    /// Newest first.
    pub tokens: Vec<AdminTokenRow>,
    /// Older tokens exist than those listed.
    pub more_tokens: bool,
    /// Passwords are on: the page offers to set one.
    pub passwords_enabled: bool,
    pub notice: Option<AdminUserNotice>,
    pub error: Option<AdminUserError>,
    /// What was typed before a refusal (never a password).
    pub email: String,
    pub token_name: String,
    pub token_scope: String,
    pub token_expires_in_days: String,
    pub issued: Option<IssuedToken>,
}

impl TemplateContext for AdminUserContext {
    const TEMPLATE: &'static str = "pages/admin_user.html";

    fn samples() -> Vec<Self> {
        let user = AdminUserSummary {
            id: "01HZY3V1JQ4N8F1Y5T2C9X7W6B".into(),
            username: "bob".into(),
            mxid: "@bob:example.com".into(),
            status: AdminUserStatus::Active,
            admin: false,
            created_at: "2025-05-01 09:30 UTC".into(),
            locked_at: None,
            deactivated_at: None,
            is_self: false,
        };
        let session = |kind, name: Option<&str>, device: Option<&str>| AdminSessionRow {
            id: "01HZY3V1JQ4N8F1Y5T2C9X7W6C".into(),
            kind,
            name: name.map(str::to_owned),
            device_id: device.map(str::to_owned),
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".into()),
            created_at: "2025-05-02 10:00 UTC".into(),
            last_active_at: Some("2025-05-03 11:00 UTC".into()),
            last_active_ip: Some("192.0.2.7".into()),
        };
        let full = Self {
            nav: AdminNav::sample(AdminSection::Users),
            csrf: "sample-csrf-token".into(),
            user: user.clone(),
            actions: AdminUserActions::sample(),
            emails: vec![EmailEntry {
                id: "01HZY3V1JQ4N8F1Y5T2C9X7W6D".into(),
                email: "bob@example.com".into(),
            }],
            sessions: vec![
                session(SessionKind::Browser, None, None),
                session(SessionKind::Oauth2, Some("Element X"), Some("ABCDEFGHIJ")),
                AdminSessionRow {
                    user_agent: None,
                    last_active_at: None,
                    last_active_ip: None,
                    ..session(SessionKind::Compat, None, Some("BOTDEVICE"))
                },
                AdminSessionRow {
                    last_active_ip: None,
                    ..session(SessionKind::Oauth2, None, None)
                },
            ],
            links: vec![
                AdminLinkRow {
                    provider: "Keycloak".into(),
                    subject: "f4c1e2a0-0000-4000-8000-000000000001".into(),
                    account_name: Some("bob@keycloak".into()),
                    created_at: "2025-05-01 09:30 UTC".into(),
                },
                AdminLinkRow {
                    provider: "accounts.example.org".into(),
                    subject: "12345".into(),
                    account_name: None,
                    created_at: "2025-05-01 09:30 UTC".into(),
                },
            ],
            tokens: vec![
                AdminTokenRow {
                    id: "01HZY3V1JQ4N8F1Y5T2C9X7W6E".into(),
                    name: "Backup bot".into(),
                    scope: "urn:matrix:client:api:*".into(),
                    created_at: "2025-05-01 09:30 UTC".into(),
                    expires_at: Some("2025-06-01 09:30 UTC".into()),
                    last_active_at: Some("2025-05-03 11:00 UTC".into()),
                    revoked_at: None,
                },
                AdminTokenRow {
                    id: "01HZY3V1JQ4N8F1Y5T2C9X7W6F".into(),
                    name: "Old script".into(),
                    scope: "urn:matrix:client:api:*".into(),
                    created_at: "2025-04-01 09:30 UTC".into(),
                    expires_at: None,
                    last_active_at: None,
                    revoked_at: Some("2025-04-02 09:30 UTC".into()),
                },
            ],
            more_tokens: true,
            passwords_enabled: true,
            notice: Some(AdminUserNotice::Created),
            error: None,
            email: String::new(),
            token_name: String::new(),
            token_scope: "urn:matrix:client:api:*".into(),
            token_expires_in_days: String::new(),
            issued: Some(IssuedToken {
                name: "Backup bot".into(),
                token: "mpt_sample0token0text0000000000_0abcde".into(),
            }),
        };
        let bare = Self {
            emails: Vec::new(),
            sessions: Vec::new(),
            links: Vec::new(),
            tokens: Vec::new(),
            more_tokens: false,
            passwords_enabled: false,
            notice: None,
            issued: None,
            ..full.clone()
        };
        let locked = Self {
            user: AdminUserSummary {
                status: AdminUserStatus::Locked,
                locked_at: Some("2025-05-04 09:30 UTC".into()),
                admin: true,
                ..user.clone()
            },
            ..bare.clone()
        };
        let deactivated = Self {
            user: AdminUserSummary {
                status: AdminUserStatus::Deactivated,
                locked_at: Some("2025-05-04 09:30 UTC".into()),
                deactivated_at: Some("2025-05-04 09:30 UTC".into()),
                ..user.clone()
            },
            ..bare.clone()
        };
        let own = Self {
            user: AdminUserSummary {
                is_self: true,
                admin: true,
                ..user
            },
            ..bare.clone()
        };
        let mut out = vec![full.clone(), bare.clone(), locked, deactivated, own];
        for notice in [
            AdminUserNotice::Locked,
            AdminUserNotice::Unlocked,
            AdminUserNotice::Deactivated,
            AdminUserNotice::Reactivated,
            AdminUserNotice::PasswordSet,
            AdminUserNotice::AdminAllowed,
            AdminUserNotice::AdminForbidden,
            AdminUserNotice::EmailAdded,
            AdminUserNotice::EmailRemoved,
            AdminUserNotice::SessionEnded,
            AdminUserNotice::SessionsEnded,
            AdminUserNotice::TokenRevoked,
        ] {
            out.push(Self {
                notice: Some(notice),
                issued: None,
                ..full.clone()
            });
        }
        for error in [
            AdminUserError::EmailInvalid,
            AdminUserError::EmailExists,
            AdminUserError::PasswordEmpty,
            AdminUserError::PasswordTooWeak,
            AdminUserError::TokenName,
            AdminUserError::TokenScope,
            AdminUserError::TokenDeviceScope,
            AdminUserError::TokenAdminScope,
            AdminUserError::TokenInactiveUser,
            AdminUserError::TokenExpiry,
        ] {
            out.push(Self {
                error: Some(error),
                email: "not an address".into(),
                token_name: "x".into(),
                token_expires_in_days: "0".into(),
                ..bare.clone()
            });
        }
        out
    }
}
