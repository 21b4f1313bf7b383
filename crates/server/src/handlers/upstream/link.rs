//! `GET|POST /upstream/link/{link}`: what happens once a provider vouched
//! for someone (MAS's form fields: `action`, `username`, `display_name`,
//! `import_display_name`, `import_email`, `csrf`).
//!
//! - The link already has a user: sign in as them, no page.
//! - Someone is signed in here: offer to link the upstream account to them.
//! - The forced localpart belongs to an existing user: per
//!   `localpart.on_conflict`, refuse (`fail`) or offer to link to that
//!   user (`add`; `replace` drops their other links to the provider; `set`
//!   only when they have none).
//! - Otherwise: the registration form with the imported attributes
//!   (suggested ones editable, forced ones not), checked with the
//!   homeserver before anything is written.
//!
//! Only the browser whose cookie holds the completed sign-in can use the
//! page, once ([`PendingSignIn::for_link`]).

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use mxauth_model::{browser_session::BrowserSession, upstream::UpstreamLink, User};
use mxauth_storage::{new_ulid, StorageError};
use serde::Deserialize;
use serde_json::{Map, Value};
use ulid::Ulid;

use super::{load_provider, PendingSignIn};
use crate::{
    cookies::CookieData,
    errors::PageError,
    extract::{cookie_with_csrf, current_user, CsrfForm, CsrfProtected},
    handlers::pages::render,
    i18n::t,
    metrics::{LoginMethod, LoginResult},
    ops::{self, username::UsernameRefusal, users::NewUser},
    state::AppState,
    templates::{UpstreamLinkContext, UpstreamRegisterContext},
    upstream::{
        claims::{self, ClaimsContext, Imports, OnConflict},
        Provider, UpstreamError,
    },
};

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    username: Option<String>,
    display_name: Option<String>,
    import_display_name: Option<String>,
    import_email: Option<String>,
}

impl CsrfProtected for LinkForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Everything the page works from.
struct Sign {
    pending: PendingSignIn,
    link: UpstreamLink,
    provider: Provider,
    imports: Imports,
    /// Who is signed in here, if anyone.
    current: Option<(BrowserSession, User)>,
}

/// What the page decided.
enum Next {
    SignIn(User),
    /// Link to this user; with `replace`, their other links to the
    /// provider go.
    Link {
        user: User,
        replace: bool,
    },
}

async fn load(state: &AppState, cookie: &CookieData, link_id: &str) -> Result<Sign, PageError> {
    let page = |e: UpstreamError| e.into_page(&t!("the provider"));
    let link_id: Ulid = link_id
        .parse()
        .map_err(|_| page(UpstreamError::NoPendingSignIn))?;
    let pending = PendingSignIn::for_link(state, cookie, link_id)
        .await
        .map_err(page)?;
    let mut repo = state.db.read().await?;
    let link = repo.upstream_links().find(link_id).await?;
    drop(repo);
    let link = link.ok_or_else(|| page(UpstreamError::NoPendingSignIn))?;
    let provider = load_provider(state, &link.provider_id.to_string())
        .await
        .map_err(page)?;
    let name = provider.display_name();
    let ctx = claims_context(&pending);
    let imports = claims::evaluate(&provider, &ctx).map_err(|e| e.into_page(&name))?;
    let current = current_user(state, cookie).await?;
    Ok(Sign {
        pending,
        link,
        provider,
        imports,
        current,
    })
}

/// The claims the callback stored, as the templates see them.
fn claims_context(pending: &PendingSignIn) -> ClaimsContext {
    let object = |text: &Option<String>| match text.as_deref().map(serde_json::from_str) {
        Some(Ok(Value::Object(map))) => map,
        _ => Map::new(),
    };
    let s = &pending.session;
    ClaimsContext::new(
        object(&s.id_token_claims),
        object(&s.userinfo_claims),
        object(&s.extra_callback_parameters),
    )
}

/// The decision that needs no input: sign in, or link to the user the
/// forced localpart names. `None`: ask (link to the current user, or
/// register).
async fn automatic(state: &AppState, sign: &Sign) -> Result<Option<Next>, PageError> {
    let name = sign.provider.display_name();
    if let Some(user_id) = sign.link.user_id {
        let mut repo = state.db.read().await?;
        let user = repo.users().find_by_id(user_id).await?;
        drop(repo);
        let user = user.ok_or_else(|| UpstreamError::NoPendingSignIn.into_page(&name))?;
        return Ok(Some(Next::SignIn(user)));
    }
    if sign.current.is_some() {
        return Ok(None);
    }
    conflicting_user(state, sign).await
}

/// When `claims_imports.localpart` is forced and names an existing user:
/// link to them per `on_conflict`, or refuse.
async fn conflicting_user(state: &AppState, sign: &Sign) -> Result<Option<Next>, PageError> {
    let name = sign.provider.display_name();
    let (Some(localpart), true) = (
        &sign.imports.localpart.value,
        sign.imports.localpart.action.is_fixed(),
    ) else {
        return Ok(None);
    };
    let mut repo = state.db.read().await?;
    let Some(user) = repo.users().find_by_username(localpart).await? else {
        return Ok(None);
    };
    let existing = repo.upstream_links().list_for_user(user.id).await?;
    drop(repo);
    let has_link = existing.iter().any(|l| l.provider_id == sign.provider.id);
    let refuse = |why: String| Err(UpstreamError::Claims(why).into_page(&name));
    let mxid = user.mxid(&state.site.server_name);
    match sign.imports.on_conflict {
        OnConflict::Fail => refuse(t!(
            "the account {mxid} already exists here and this server does not link {provider} accounts to existing ones",
            mxid = mxid,
            provider = name
        )),
        OnConflict::Set if has_link => refuse(t!(
            "the account {mxid} is already linked to another {provider} account",
            mxid = mxid,
            provider = name
        )),
        OnConflict::Replace => Ok(Some(Next::Link { user, replace: true })),
        OnConflict::Add | OnConflict::Set => Ok(Some(Next::Link { user, replace: false })),
    }
}

pub async fn show(
    State(state): State<AppState>,
    Path(link_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (cookie, csrf, set_cookie) = cookie_with_csrf(&state, &headers);
    let sign = load(&state, &cookie, &link_id).await?;
    let decision = automatic(&state, &sign).await?;
    let action = state.urls.upstream_link(&link_id);
    let ask_link = |mxid: String, signed_in: bool| UpstreamLinkContext {
        action: action.clone(),
        csrf: csrf.clone(),
        provider_name: sign.provider.display_name(),
        account_name: sign.link.human_account_name.clone(),
        mxid,
        signed_in,
    };
    match decision {
        Some(Next::SignIn(user)) => conclude(&state, cookie, &sign, Next::SignIn(user)).await,
        Some(next @ Next::Link { .. }) if sign.imports.skip_confirmation => {
            conclude(&state, cookie, &sign, next).await
        }
        Some(Next::Link { user, .. }) => {
            let ctx = ask_link(user.mxid(&state.site.server_name), false);
            Ok(render(&state, &ctx, set_cookie))
        }
        None => match &sign.current {
            Some((_, user)) => {
                let ctx = ask_link(user.mxid(&state.site.server_name), true);
                Ok(render(&state, &ctx, set_cookie))
            }
            None if sign.imports.skip_confirmation && sign.imports.localpart.action.is_fixed() => {
                let choice = Registration::from_imports(&sign.imports);
                register(&state, cookie, &sign, choice, &csrf, set_cookie).await
            }
            None => {
                let ctx = register_page(&state, &sign, &csrf, None, None);
                Ok(render(&state, &ctx, set_cookie))
            }
        },
    }
}

pub async fn submit(
    State(state): State<AppState>,
    Path(link_id): Path<String>,
    CsrfForm { cookie, form }: CsrfForm<LinkForm>,
) -> Result<Response, PageError> {
    let sign = load(&state, &cookie, &link_id).await?;
    let name = sign.provider.display_name();
    let csrf = cookie
        .csrf
        .as_ref()
        .map(|c| c.token.clone())
        .unwrap_or_default();
    match (automatic(&state, &sign).await?, form.action.as_str()) {
        (Some(next), _) => conclude(&state, cookie, &sign, next).await,
        (None, "link") => match &sign.current {
            Some((_, user)) => {
                let next = Next::Link {
                    user: user.clone(),
                    replace: false,
                };
                conclude(&state, cookie, &sign, next).await
            }
            None => Err(UpstreamError::NoPendingSignIn.into_page(&name)),
        },
        (None, "register") => {
            let choice = Registration::from_form(&sign.imports, &form);
            register(&state, cookie, &sign, choice, &csrf, None).await
        }
        (None, other) => Err(PageError::new(
            StatusCode::BAD_REQUEST,
            t!("Invalid request"),
            t!(
                "Unknown action “{action}”: expected link or register.",
                action = other
            ),
        )),
    }
}

/// What the person chose on the registration form (or the imports alone).
struct Registration {
    username: String,
    display_name: Option<String>,
    email: Option<String>,
}

impl Registration {
    fn from_imports(imports: &Imports) -> Self {
        Self {
            username: imports.localpart.value.clone().unwrap_or_default(),
            display_name: imports.displayname.value.clone(),
            email: imports.email.value.clone(),
        }
    }

    /// Forced values win over the form; suggested ones can be unticked
    /// or (the display name and username) edited.
    fn from_form(imports: &Imports, form: &LinkForm) -> Self {
        let ticked = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty() && v != "off");
        let username = match (
            &imports.localpart.value,
            imports.localpart.action.is_fixed(),
        ) {
            (Some(forced), true) => forced.clone(),
            _ => form.username.clone().unwrap_or_default().trim().to_owned(),
        };
        let display_name = if imports.displayname.action.is_fixed() {
            imports.displayname.value.clone()
        } else if ticked(&form.import_display_name) {
            form.display_name
                .clone()
                .filter(|d| !d.trim().is_empty())
                .or_else(|| imports.displayname.value.clone())
        } else {
            None
        };
        let email = if imports.email.action.is_fixed() || ticked(&form.import_email) {
            imports.email.value.clone()
        } else {
            None
        };
        Self {
            username,
            display_name,
            email,
        }
    }
}

fn register_page(
    state: &AppState,
    sign: &Sign,
    csrf: &str,
    chosen: Option<&Registration>,
    error: Option<String>,
) -> UpstreamRegisterContext {
    let imports = &sign.imports;
    UpstreamRegisterContext {
        action: state.urls.upstream_link(&sign.link.id.to_string()),
        csrf: csrf.to_owned(),
        provider_name: sign.provider.display_name(),
        account_name: sign.link.human_account_name.clone(),
        server_name: state.site.server_name.clone(),
        username: chosen
            .map(|c| c.username.clone())
            .or_else(|| imports.localpart.value.clone())
            .unwrap_or_default(),
        username_fixed: imports.localpart.action.is_fixed() && imports.localpart.value.is_some(),
        display_name: imports.displayname.value.clone(),
        display_name_fixed: imports.displayname.action.is_fixed(),
        email: imports
            .email
            .value
            .clone()
            .filter(|_| imports.email_verified),
        email_fixed: imports.email.action.is_fixed(),
        error,
    }
}

/// Checks the chosen username (rules, this server, the homeserver), then
/// creates the user, links and signs in, in one transaction. A refusal
/// shows the form again with the reason.
async fn register(
    state: &AppState,
    cookie: CookieData,
    sign: &Sign,
    choice: Registration,
    csrf: &str,
    set_cookie: Option<axum::http::HeaderValue>,
) -> Result<Response, PageError> {
    let again = |error: String, status: StatusCode| {
        let ctx = register_page(state, sign, csrf, Some(&choice), Some(error));
        let mut response = render(state, &ctx, set_cookie.clone());
        *response.status_mut() = status;
        response
    };
    // The form's, or the provider's, display name goes to the homeserver.
    let too_long = |name: &String| name.chars().count() > mxauth_model::user::DISPLAY_NAME_MAX;
    if choice.display_name.as_ref().is_some_and(too_long) {
        let error = t!(
            "The display name is longer than {max} characters.",
            max = mxauth_model::user::DISPLAY_NAME_MAX
        );
        return Ok(again(error, StatusCode::BAD_REQUEST));
    }
    match ops::username::check_available(state, &choice.username).await {
        Ok(()) => {}
        Err(UsernameRefusal::Storage(e)) => return Err(e.into()),
        Err(refusal) => return Ok(again(refusal.message(), refusal.status())),
    }
    // An email counts only when verified (`set_email_verification`).
    let emails: Vec<String> = choice
        .email
        .clone()
        .filter(|_| sign.imports.email_verified)
        .into_iter()
        .collect();
    let new = NewUser {
        username: &choice.username,
        display_name: choice.display_name.as_deref(),
        emails: &emails,
        hashed_password: None,
        admin: false,
    };
    match write(state, cookie, sign, Write::Register(new)).await {
        Err(WriteError::Taken) => Ok(again(t!("This username is taken."), StatusCode::CONFLICT)),
        other => other.map_err(|e| e.into_page(sign)),
    }
}

/// Signs in as the linked user, or links and signs in.
async fn conclude(
    state: &AppState,
    cookie: CookieData,
    sign: &Sign,
    next: Next,
) -> Result<Response, PageError> {
    let write_as = match next {
        Next::SignIn(user) => Write::SignIn(user),
        Next::Link { user, replace } => Write::Link { user, replace },
    };
    write(state, cookie, sign, write_as)
        .await
        .map_err(|e| e.into_page(sign))
}

enum Write<'a> {
    SignIn(User),
    Link { user: User, replace: bool },
    Register(NewUser<'a>),
}

enum WriteError {
    Taken,
    Page(PageError),
}

impl From<StorageError> for WriteError {
    fn from(e: StorageError) -> Self {
        Self::Page(PageError::from(e))
    }
}

impl WriteError {
    fn into_page(self, sign: &Sign) -> PageError {
        match self {
            Self::Page(page) => page,
            Self::Taken => UpstreamError::Claims(t!("this username is taken"))
                .into_page(&sign.provider.display_name()),
        }
    }
}

/// The one transaction that ends a sign-in: the user (created or found),
/// the link pointing at them, the browser session (the current one if it
/// is theirs), its authentication, and the upstream session consumed.
async fn write(
    state: &AppState,
    mut cookie: CookieData,
    sign: &Sign,
    what: Write<'_>,
) -> Result<Response, WriteError> {
    let name = sign.provider.display_name();
    let shown = |e: UpstreamError| WriteError::Page(e.into_page(&name));
    let ctx = ops::Context::from(state);
    let now = state.clock.now();
    let mut repo = state.db.begin().await?;
    let user = match what {
        Write::SignIn(user) => user,
        Write::Link { user, replace } => {
            if !repo
                .upstream_links()
                .associate(sign.link.id, user.id)
                .await?
            {
                return Err(shown(UpstreamError::AlreadyUsed));
            }
            if replace {
                repo.upstream_links()
                    .remove_others_for_user(sign.provider.id, user.id, sign.link.id)
                    .await?;
            }
            tracing::info!(user = %user.username, provider = %sign.provider.id, "upstream account linked");
            user
        }
        Write::Register(new) => {
            let user = match ops::users::register(&mut repo, ctx, new).await {
                Ok(user) => user,
                Err(StorageError::Conflict(_)) => return Err(WriteError::Taken),
                Err(e) => return Err(e.into()),
            };
            if !repo
                .upstream_links()
                .associate(sign.link.id, user.id)
                .await?
            {
                return Err(shown(UpstreamError::AlreadyUsed));
            }
            tracing::info!(user = %user.username, provider = %sign.provider.id, "user registered through an upstream provider");
            user
        }
    };
    if !user.is_valid() {
        return Err(WriteError::Page(PageError::new(
            StatusCode::FORBIDDEN,
            t!("Account unavailable"),
            t!("This account is locked or deactivated. Contact the server's administrator."),
        )));
    }
    let session = match &sign.current {
        Some((session, current)) if current.id == user.id => session.clone(),
        _ => {
            repo.browser_sessions()
                .add(new_ulid(now, &mut state.random.rng()), &user, None, now)
                .await?
        }
    };
    repo.browser_sessions()
        .add_authentication(new_ulid(now, &mut state.random.rng()), &session, None, now)
        .await?;
    if !repo
        .upstream_sessions()
        .consume(sign.pending.session.id, session.id, now)
        .await?
    {
        return Err(shown(UpstreamError::AlreadyUsed));
    }
    repo.commit().await?;
    state
        .metrics
        .record_login(LoginMethod::Upstream, LoginResult::Success);
    cookie.browser_session = Some(session.id);
    cookie.remove_upstream(sign.pending.session.id);
    let mut response = Redirect::to(&sign.pending.session.next).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, state.cookies.header(&cookie));
    Ok(response)
}
