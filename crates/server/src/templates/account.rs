//! The contexts of the account pages' profile (`pages/account.html`), the
//! navigation they share (`pages/account_layout.html`), and the pages after
//! signing out and after deactivating (`pages/logged_out.html`,
//! `pages/account_deactivated.html`).
//!
//! What a page says when something went wrong or succeeded travels as a
//! code ([`ProfileNotice`], [`ProfileError`]…), and the template holds the
//! words (through `_()`, in the request's language): every sentence a
//! person reads is in `templates/`.

use serde::Serialize;

use super::TemplateContext;

/// Which account page is shown, for the navigation's highlight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountSection {
    Profile,
    Sessions,
    Password,
    Deactivate,
    CrossSigning,
}

/// The navigation every account page shows: links to the other pages (only
/// those the configuration allows) and the sign-out form.
#[derive(Debug, Clone, Serialize)]
pub struct AccountNav {
    /// The signed-in person's Matrix ID.
    pub mxid: String,
    pub current: AccountSection,
    pub profile: String,
    pub sessions: String,
    /// `None` when passwords cannot be changed here.
    pub password: Option<String>,
    /// `None` when `account.account_deactivation_allowed` is off.
    pub deactivate: Option<String>,
    /// Where the sign-out form posts, with the page's CSRF token.
    pub logout_action: String,
    pub csrf: String,
}

impl AccountNav {
    pub fn sample(current: AccountSection) -> Self {
        Self {
            mxid: "@alice:example.com".into(),
            current,
            profile: "/account/".into(),
            sessions: "/account/sessions".into(),
            password: Some("/account/password/change".into()),
            deactivate: Some("/account/deactivate".into()),
            logout_action: "/logout".into(),
            csrf: "sample-csrf-token".into(),
        }
    }
}

/// What just succeeded, shown once after the redirect that follows a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileNotice {
    DisplayNameSaved,
    DisplayNameRemoved,
    EmailRemoved,
    EmailAdded,
    PasswordChanged,
}

/// Why the display name form was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileError {
    /// Longer than the homeserver accepts.
    DisplayNameTooLong,
}

/// One of the person's email addresses.
#[derive(Debug, Clone, Serialize)]
pub struct EmailEntry {
    /// The address's id, posted by its "Remove" button.
    pub id: String,
    pub email: String,
}

/// `pages/account.html`: who is signed in, their display name and email
/// addresses, and the links to the other account pages.
#[derive(Debug, Clone, Serialize)]
pub struct AccountContext {
    pub nav: AccountNav,
    pub csrf: String,
    /// The display name as the homeserver has it (`None`: none set).
    pub display_name: Option<String>,
    /// `false` when the homeserver could not be asked for the name.
    pub display_name_known: bool,
    /// Where the display name form posts; `None` when
    /// `account.displayname_change_allowed` is off.
    pub display_name_action: Option<String>,
    /// The longest display name the form accepts.
    pub display_name_max: usize,
    pub emails: Vec<EmailEntry>,
    /// Where the "Remove" buttons post; `None` when
    /// `account.email_change_allowed` is off.
    pub email_remove_action: Option<String>,
    /// Where adding an address starts. `None` until email verification by
    /// code exists (issue 12, item 2): an address is only added once its
    /// owner typed the code sent to it.
    pub email_add_action: Option<String>,
    pub notice: Option<ProfileNotice>,
    pub error: Option<ProfileError>,
}

impl TemplateContext for AccountContext {
    const TEMPLATE: &'static str = "pages/account.html";

    fn samples() -> Vec<Self> {
        let full = Self {
            nav: AccountNav::sample(AccountSection::Profile),
            csrf: "sample-csrf-token".into(),
            display_name: Some("Alice".into()),
            display_name_known: true,
            display_name_action: Some("/account/".into()),
            display_name_max: 256,
            emails: vec![EmailEntry {
                id: "01HZY3V1JQ4N8F1Y5T2C9X7W6B".into(),
                email: "alice@example.com".into(),
            }],
            email_remove_action: Some("/account/emails".into()),
            email_add_action: Some("/account/emails/add".into()),
            notice: Some(ProfileNotice::DisplayNameSaved),
            error: None,
        };
        let mut restricted = Self {
            display_name: None,
            display_name_known: false,
            display_name_action: None,
            emails: Vec::new(),
            email_remove_action: None,
            email_add_action: None,
            notice: None,
            error: Some(ProfileError::DisplayNameTooLong),
            ..full.clone()
        };
        restricted.nav.password = None;
        restricted.nav.deactivate = None;
        let notices = [
            ProfileNotice::DisplayNameRemoved,
            ProfileNotice::EmailRemoved,
            ProfileNotice::EmailAdded,
            ProfileNotice::PasswordChanged,
        ]
        .map(|notice| Self {
            notice: Some(notice),
            ..full.clone()
        });
        [full, restricted].into_iter().chain(notices).collect()
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

/// `pages/account_deactivated.html`: the account is gone, and signed out.
#[derive(Debug, Clone, Serialize)]
pub struct AccountDeactivatedContext {
    pub mxid: String,
}

impl TemplateContext for AccountDeactivatedContext {
    const TEMPLATE: &'static str = "pages/account_deactivated.html";

    fn samples() -> Vec<Self> {
        vec![Self {
            mxid: "@alice:example.com".into(),
        }]
    }
}

/// `pages/account_email_add.html`: the address to add, then the code that
/// was mailed to it.
#[derive(Debug, Clone, Serialize)]
pub struct EmailAddContext {
    pub nav: AccountNav,
    pub csrf: String,
    pub action: String,
    /// The address a code was sent to; `None` while asking for it.
    pub email: Option<String>,
    /// What was wrong with the last submit, in words.
    pub error: Option<String>,
}

impl TemplateContext for EmailAddContext {
    const TEMPLATE: &'static str = "pages/account_email_add.html";

    fn samples() -> Vec<Self> {
        let ask = Self {
            nav: AccountNav::sample(AccountSection::Profile),
            csrf: "sample-csrf-token".into(),
            action: "/account/emails/add".into(),
            email: None,
            error: Some("\"x\" is not an email address.".into()),
        };
        let code = Self {
            action: "/account/emails/verify/01J0000000000000000000000".into(),
            email: Some("alice@example.com".into()),
            error: Some("Wrong code.".into()),
            ..ask.clone()
        };
        vec![ask, code]
    }
}
