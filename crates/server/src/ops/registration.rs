//! Self-service registration with a password, step by step: the form
//! starts a registration (and the proof of its address), the token and
//! display-name steps fill it in, and finishing creates the user, once, in
//! one transaction with their password, address, accepted terms, the used
//! token and a browser session, and queues their provisioning on the
//! homeserver. The steps' order is `UserRegistration::next_step`.

use mxauth_model::{
    browser_session::BrowserSession, EmailAuthentication, RegistrationStep, TokenUnusable, User,
    UserRegistration,
};
use mxauth_storage::{Repository, StorageError};
use ulid::Ulid;

use super::{
    email_codes::{EmailCodes, StartError},
    username::{check_available, UsernameRefusal},
    users::{register, NewUser},
    Context,
};
use crate::{extract::ClientIp, i18n::t, state::AppState};

/// What the registration form gave, checked by the page.
pub struct NewRegistration<'a> {
    pub username: &'a str,
    /// The address to prove, if one was given.
    pub email: Option<&'a str>,
    /// `(version, hash)` of the password, computed before.
    pub hashed_password: (u16, String),
    pub terms_url: Option<&'a str>,
    pub next: &'a str,
    pub ip: &'a ClientIp,
    pub user_agent: Option<&'a str>,
    /// The language of the mailed code.
    pub language: &'a str,
}

/// Starts a registration and, with an address, mails its first code.
pub async fn start(
    state: &AppState,
    new: NewRegistration<'_>,
) -> Result<UserRegistration, StartError> {
    let ctx = Context::from(state);
    let mut repo = state.db.begin().await?;
    let authentication = match new.email {
        Some(email) => Some(
            EmailCodes::from(state)
                .start(&mut repo, new.ip, None, email, new.language)
                .await?,
        ),
        None => None,
    };
    let now = ctx.now();
    let registration = UserRegistration {
        id: ctx.new_id(now),
        ip_address: new.ip.0.map(|ip| ip.to_string()),
        user_agent: new.user_agent.map(str::to_owned),
        post_auth_next: new.next.to_owned(),
        username: new.username.to_owned(),
        display_name: None,
        terms_url: new.terms_url.map(str::to_owned),
        email_authentication_id: authentication.map(|a| a.id),
        registration_token_id: None,
        hashed_password: Some(new.hashed_password),
        created_at: now,
        completed_at: None,
    };
    repo.registrations().add(&registration).await?;
    repo.commit().await?;
    Ok(registration)
}

/// A registration with what its steps need to know.
pub struct Progress {
    pub registration: UserRegistration,
    pub email: Option<EmailAuthentication>,
}

impl Progress {
    pub async fn load(state: &AppState, id: Ulid) -> Result<Option<Self>, StorageError> {
        let mut repo = state.db.read().await?;
        let Some(registration) = repo.registrations().find(id).await? else {
            return Ok(None);
        };
        let email = match registration.email_authentication_id {
            Some(id) => repo.email_authentications().find(id).await?,
            None => None,
        };
        Ok(Some(Self {
            registration,
            email,
        }))
    }

    pub fn next_step(&self, token_required: bool) -> RegistrationStep {
        let verified = self.email.as_ref().is_some_and(|a| a.is_completed());
        self.registration.next_step(verified, token_required)
    }
}

/// Why a registration token typed at the token step was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("This registration token is not valid.")]
    Unknown,
    #[error("{}.", capitalised(.0))]
    Unusable(TokenUnusable),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why a token cannot be used, as the pages say it.
fn unusable_message(e: TokenUnusable) -> String {
    match e {
        TokenUnusable::Revoked => t!("This registration token was revoked."),
        TokenUnusable::Expired => t!("This registration token has expired."),
        TokenUnusable::UsedUp => {
            t!("This registration token has been used as many times as it allows.")
        }
    }
}

impl TokenError {
    /// The words of the token step, in the page's language.
    pub fn message(&self) -> String {
        match self {
            Self::Unknown => t!("This registration token is not valid."),
            Self::Unusable(e) => unusable_message(*e),
            Self::Storage(_) => t!("The database cannot be reached. Try again in a moment."),
        }
    }
}

impl FinishError {
    /// Why the account cannot be created, in the page's language.
    pub fn message(&self) -> String {
        match self {
            Self::Expired => t!("This registration took longer than an hour. Start again."),
            Self::AlreadyDone => t!("This registration is already finished."),
            Self::Token(e) => unusable_message(*e),
            Self::Username(refusal) => refusal.message(),
            Self::Storage(_) => t!("The database cannot be reached. Try again in a moment."),
        }
    }
}

fn capitalised(e: &TokenUnusable) -> String {
    let text = e.to_string();
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

/// Records a registration token that can be used now. It is counted as
/// used only when the user is created ([`finish`]).
pub async fn set_token(
    state: &AppState,
    registration: &UserRegistration,
    typed: &str,
) -> Result<(), TokenError> {
    let mut repo = state.db.begin().await?;
    let token = repo
        .registration_tokens()
        .find_by_token(typed.trim())
        .await?
        .ok_or(TokenError::Unknown)?;
    token
        .check_usable(state.clock.now())
        .map_err(TokenError::Unusable)?;
    repo.registrations()
        .set_token(registration.id, token.id)
        .await?;
    repo.commit().await?;
    Ok(())
}

/// Why a registration could not finish.
#[derive(Debug, thiserror::Error)]
pub enum FinishError {
    #[error("This registration took longer than an hour. Start again.")]
    Expired,
    #[error("This registration is already finished.")]
    AlreadyDone,
    #[error("{}.", capitalised(.0))]
    Token(TokenUnusable),
    #[error(transparent)]
    Username(UsernameRefusal),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Creates the user of a registration whose steps are all done, signs them
/// in (a new browser session) and queues their provisioning. The username
/// is asked of the homeserver again first (it may have been taken in the
/// meantime), before the transaction opens.
pub async fn finish(
    state: &AppState,
    progress: &Progress,
    user_agent: Option<&str>,
) -> Result<(User, BrowserSession), FinishError> {
    let registration = &progress.registration;
    let ctx = Context::from(state);
    if registration.completed_at.is_some() {
        return Err(FinishError::AlreadyDone);
    }
    if registration.is_expired(ctx.now()) {
        return Err(FinishError::Expired);
    }
    match check_available(state, &registration.username).await {
        Ok(()) => {}
        Err(UsernameRefusal::Storage(e)) => return Err(e.into()),
        Err(refusal) => return Err(FinishError::Username(refusal)),
    }
    let mut repo = state.db.begin().await?;
    let done = write(&mut repo, ctx, progress, user_agent).await?;
    repo.commit().await?;
    tracing::info!(user = %done.0.username, "user registered");
    Ok(done)
}

async fn write(
    repo: &mut Repository,
    ctx: Context<'_>,
    progress: &Progress,
    user_agent: Option<&str>,
) -> Result<(User, BrowserSession), FinishError> {
    let registration = &progress.registration;
    let now = ctx.now();
    // Once: a second tab finishing the same registration stops here.
    if !repo.registrations().complete(registration.id, now).await? {
        return Err(FinishError::AlreadyDone);
    }
    if let Some(token_id) = registration.registration_token_id {
        if !repo.registration_tokens().use_once(token_id, now).await? {
            let token = repo.registration_tokens().find(token_id).await?;
            let why = token
                .and_then(|t| t.check_usable(now).err())
                .unwrap_or(TokenUnusable::UsedUp);
            return Err(FinishError::Token(why));
        }
    }
    let emails: Vec<String> = progress
        .email
        .iter()
        .filter(|a| a.is_completed())
        .map(|a| a.email.clone())
        .collect();
    let new = NewUser {
        username: &registration.username,
        display_name: registration.display_name.as_deref(),
        emails: &emails,
        hashed_password: registration.hashed_password.as_ref(),
        admin: false,
    };
    let user = match register(repo, ctx, new).await {
        Ok(user) => user,
        Err(StorageError::Conflict(_)) => {
            return Err(FinishError::Username(UsernameRefusal::Taken))
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(terms_url) = &registration.terms_url {
        repo.registrations()
            .accept_terms(ctx.new_id(now), &user, terms_url, now)
            .await?;
    }
    let session = super::sessions::start_browser(repo, ctx, &user, user_agent, None).await?;
    Ok((user, session))
}

/// Why a registration token could not be created.
#[derive(Debug, thiserror::Error)]
pub enum IssueTokenError {
    #[error("a registration token must be 1 to 64 letters, digits, `-`, `_` or `.`")]
    Invalid,
    #[error("this registration token exists already")]
    Exists,
    #[error(transparent)]
    Storage(StorageError),
}

/// The length of a generated registration token.
const TOKEN_LEN: usize = 20;

/// Creates a registration token (`token`, or a random one) allowing
/// `usage_limit` registrations (`None`: any number), expiring after
/// `expires_in` seconds. The CLI and the admin API create them here.
pub async fn issue_token(
    repo: &mut Repository,
    ctx: Context<'_>,
    token: Option<&str>,
    usage_limit: Option<u64>,
    expires_in: Option<u64>,
) -> Result<mxauth_model::RegistrationToken, IssueTokenError> {
    let text = match token {
        Some(text) => {
            let fine = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
            if text.is_empty() || text.len() > 64 || !text.chars().all(fine) {
                return Err(IssueTokenError::Invalid);
            }
            text.to_owned()
        }
        None => mxauth_model::tokens::generate_alphanumeric(&mut ctx.random.rng(), TOKEN_LEN),
    };
    let now = ctx.now();
    let expires_at = expires_in
        .and_then(|s| i64::try_from(s).ok())
        .and_then(chrono::Duration::try_seconds)
        .and_then(|d| now.checked_add_signed(d));
    let issued = mxauth_model::RegistrationToken {
        id: ctx.new_id(now),
        token: text,
        usage_limit,
        times_used: 0,
        created_at: now,
        last_used_at: None,
        expires_at,
        revoked_at: None,
    };
    match repo.registration_tokens().add(&issued).await {
        Ok(()) => Ok(issued),
        Err(StorageError::Conflict(_)) => Err(IssueTokenError::Exists),
        Err(e) => Err(IssueTokenError::Storage(e)),
    }
}
